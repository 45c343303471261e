"""A batch's output folder while the batch writes into it: held by one batch at a time, and still the same folder.

Two batches appending to one ``runs.jsonl`` would lose each other's records, so a batch holds an exclusive lock
on the folder itself (``flock`` on the directory; no lock file is left behind) and a second one is refused.
A folder that vanishes mid-batch (a network share unmounted, the folder removed, moved or replaced by a file) ends
the batch with one line instead of being created again empty and half-filled by the remaining runs.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import Optional, Tuple

from ..errors import NStyleError

try:
    import fcntl
except ImportError:  # not on Windows: no lock there
    fcntl = None  # type: ignore[assignment]


class BatchFolder:
    """The output folder of one batch, opened (and locked) by :meth:`claim`, let go by :meth:`release`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: Optional[int] = None
        self.identity: Optional[Tuple[int, int]] = None

    def claim(self) -> "BatchFolder":
        """Open the (existing) folder and lock it; one line if another batch holds it."""
        try:
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise NStyleError(f"cannot write into {self.path}: {exc.strerror or exc}") from None
        st = os.fstat(self.fd)
        self.identity = (st.st_dev, st.st_ino)
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    self.release()
                    raise NStyleError(f"another nstyle batch is writing into {self.path}; wait until it ends, or "
                                      "use another --output-dir") from None
                # a file system without locks (some network shares): go on unlocked
        return self

    def intact(self) -> bool:
        """Whether the path still names the folder claimed (not removed, moved, replaced or unmounted)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == self.identity

    def check(self) -> None:
        """One line, instead of writing into whatever the path names now, when the folder is no longer there."""
        if self.identity is not None and not self.intact():
            raise NStyleError(f"the output folder {self.path} vanished or was replaced during the batch (a share "
                              "unmounted, the folder moved or removed); the batch stopped there: when it is back, "
                              "run the same command again to do the rest")

    def release(self) -> None:
        """Let the folder go (the lock with it)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "BatchFolder":
        return self.claim()

    def __exit__(self, *exc: object) -> None:
        self.release()
