"""Atomic file writes: write beside the target, then rename into place."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

from ..errors import NStyleError


@contextlib.contextmanager
def atomic_path(target: str) -> Iterator[str]:
    """Yield a temporary path in ``target``'s directory; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left as it was; an ``OSError``
    (full disk, vanished directory, permissions) becomes a one-line :class:`NStyleError`.
    The temporary name keeps ``target``'s extension so that writers can pick a format from it.
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
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise NStyleError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
