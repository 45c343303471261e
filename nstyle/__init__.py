"""nstyle: the classic MXNet neural-style algorithm (Gatys et al. 2015), installable and faithful."""
import os

# MXNet prints a line per executor bind about its oneDNN subgraph backend unless told not to.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
# Without this, MXNet's pip build runs oneDNN convolutions on fewer OpenMP threads than the machine has cores
# (measured: 3.55 s per epoch at 600x400 on 2 cores, 1.90 s with both in use). Users can still override it.
os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                             else os.cpu_count() or 1))

from .config import Config  # noqa: E402
from .errors import NStyleError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Config", "NStyleError", "run", "stylize", "__version__"]


def run(cfg: Config):
    """Run one stylization described by ``cfg`` (see :func:`nstyle.api.run`)."""
    from .api import run as _run

    return _run(cfg)


def stylize(content, style, **options):
    """Stylize ``content`` with ``style``; see :func:`nstyle.api.stylize`."""
    from .api import stylize as _stylize

    return _stylize(content, style, **options)
