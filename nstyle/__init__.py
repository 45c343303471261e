"""nstyle: the classic MXNet neural-style algorithm (Gatys et al. 2015), installable and faithful.

Public, and kept stable: :func:`stylize`, :func:`stylize_video` and :func:`run` here, :class:`Config`
(:mod:`nstyle.config`), :class:`NStyleError` (:mod:`nstyle.errors`), :func:`nstyle.api.run`,
:class:`nstyle.engine.Engine`, the batch library :mod:`nstyle.batch` (``run_batch``, ``jobs_from_args``,
``jobs_from_manifest``, ``summary``, ...) and :func:`nstyle.cluster.connect`. Everything else is internal and may
move.

Layers, lowest first; a module imports only from its own layer or lower ones (``tests/test_layers.py``):
``version``, ``errors`` < ``model_zoo`` < ``config`` < ``process`` < ``files`` < ``algorithm`` < ``tiles`` <
``report`` < ``live`` < ``api`` (and the ``engine`` alias) < ``video`` < ``batch`` (and the ``cluster`` alias) <
``cli``.
"""
# Order matters: the numpy aliases, the environment MXNet reads when it loads (threads, oneDNN's instruction set
# in reproducible mode) and the CUDA libraries of a GPU build must all be in place before anything imports MXNet.
# Importing nstyle itself never imports MXNet, so the command line can still choose reproducible mode.
from .process import compat  # noqa: F401
from .process import cuda, runtime

runtime.prepare()
cuda.prepare()

from .config import Config  # noqa: E402
from .errors import NStyleError  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ["Config", "NStyleError", "run", "stylize", "stylize_video", "__version__"]


def run(cfg: Config):
    """Run one stylization described by ``cfg`` (see :func:`nstyle.api.run`)."""
    from .api import run as _run

    return _run(cfg)


def stylize(content, style, **options):
    """Stylize ``content`` with ``style``; see :func:`nstyle.api.stylize`."""
    from .api import stylize as _stylize

    return _stylize(content, style, **options)


def stylize_video(content_video, style, output=None, **options):
    """Stylize a clip with ``style`` into ``output``; see :func:`nstyle.video.clip.stylize_video`."""
    from .video.clip import stylize_video as _stylize_video

    return _stylize_video(content_video, style, output, **options)
