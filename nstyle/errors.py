"""Exceptions that end a run with a one-line message instead of a traceback."""


def printable(text: str) -> str:
    """``text`` with control characters (newlines, escape sequences from hostile file names) shown as escapes."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class NStyleError(Exception):
    """A user-facing error: printed as one line, exit status ``code`` (2 by default).

    The message is kept on one line: a file name holding a newline or a terminal escape sequence is shown escaped.
    """

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(printable(str(message)))
        self.code = code


class Interrupted(NStyleError):
    """The run was stopped by SIGINT/SIGTERM after saving its image and checkpoint (status 128 + signal)."""


class NumericalFailure(NStyleError):
    """The loss or the image stopped being finite; the last finite image was kept (status 3)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=3)
