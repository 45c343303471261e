"""The one exception type that means "the user gave us something we cannot use"."""


class NStyleError(Exception):
    """A user-facing error: printed as one line, exit status ``code`` (2 by default)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
