"""nstyle: the classic MXNet neural-style algorithm (Gatys et al. 2015), installable and faithful."""
import os

# MXNet prints a line per executor bind about its oneDNN subgraph backend unless told not to.
os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")

from .config import Config  # noqa: E402
from .errors import NStyleError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Config", "NStyleError", "run", "__version__"]


def run(cfg: Config):
    """Run one stylization described by ``cfg`` (see :func:`nstyle.api.run`)."""
    from .api import run as _run

    return _run(cfg)
