"""Atomic file writes: write beside the target, then rename into place."""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Iterator

from ..errors import NStyleError


@contextlib.contextmanager
def atomic_path(target: str) -> Iterator[str]:
    """Yield a temporary path in ``target``'s directory; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left as it was; an ``OSError``
    (full disk, vanished directory, permissions) becomes a one-line :class:`NStyleError`.
    The temporary name keeps ``target``'s extension so that writers can pick a format from it. The file gets the
    mode a plain ``open`` would give it (``0o666`` less the umask), or the mode of the file it replaces, rather than
    the owner-only mode of a temporary file.
    """
    directory = os.path.dirname(os.path.abspath(target))
    base, ext = os.path.splitext(os.path.basename(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp" + ext, dir=directory)
    except OSError as exc:
        raise NStyleError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise NStyleError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise


def _mode_for(target: str) -> int:
    """The permission bits ``target`` should end with: those of the file it replaces, else 0o666 less the umask."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it (``/proc/self/status``)."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        with open("/proc/self/status") as f:
            return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
