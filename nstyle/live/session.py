"""``--web`` around a command: serve the page while the block runs, then tell the page how it ended."""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

from ..errors import Interrupted, NStyleError
from .server import serve
from .state import LiveState

#: Seconds the server waits at the end for open pages to receive the last update.
FAREWELL = 2.0


@contextlib.contextmanager
def watching(address: Optional[str], browser: bool = False) -> Iterator[Optional[LiveState]]:
    """The :class:`LiveState` to hand the run (None when neither ``--web`` nor ``--browser`` is given).

    ``--browser`` alone serves on a free loopback port. The address is bound here, so a port in use is an error
    before any work. On leaving, the state is finished (``done``, ``interrupted`` or ``failed``, unless the block
    finished it itself) and the server stops once the open pages have the last update.
    """
    if address is None and not browser:
        yield None
        return
    state = LiveState()
    server = serve(address or "0", state, browser)
    status, message = "failed", ""
    try:
        yield state
        status = "done"
    except Interrupted as exc:
        status, message = "interrupted", str(exc)
        raise
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted"
        raise
    except NStyleError as exc:
        message = str(exc)
        raise
    finally:
        if state.status in ("starting", "running"):
            state.finish(status, message)
        with state.changed:
            state.changed.wait_for(lambda: state.viewers == 0, FAREWELL)
        server.close()
