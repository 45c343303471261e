"""nstyle: the classic MXNet neural-style algorithm (Gatys et al. 2015), installable and faithful."""
# Order matters: the numpy aliases, the environment MXNet reads when it loads (threads, oneDNN's instruction set
# in reproducible mode) and the CUDA libraries of a GPU build must all be in place before anything imports MXNet.
# Importing nstyle itself never imports MXNet, so the command line can still choose reproducible mode.
from . import compat  # noqa: F401
from . import cuda, runtime

runtime.prepare()
cuda.prepare()

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
