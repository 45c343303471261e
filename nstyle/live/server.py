"""The ``--web`` server: the standard library's ThreadingHTTPServer, one thread per client, updates as
server-sent events.

Why the standard library: the page needs a handful of fixed routes and a one-way stream of updates, which
``http.server`` and server-sent events (plain HTTP, reconnected by the browser itself) give with no dependency;
a WebSocket would need a package for nothing the page sends back beyond two buttons.

Security: it binds 127.0.0.1 unless a host is given; on any other host a random token is required on every
request; on loopback the ``Host`` header must name loopback (no DNS rebinding); POSTs from another origin are
refused; no request names a file (the routes are fixed, batch pictures are picked by run number). Every client has
its own thread and socket timeout: a slow, silent or vanished client holds only that thread, never the run.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
import sys
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from ..errors import NStyleError
from .page import PAGE
from .state import LiveState, jpeg
from .thumbs import run_thumbnail

#: Seconds a client may take to send its request, or to take what is sent to it, before its connection is dropped.
CLIENT_TIMEOUT = 20.0
#: Pages (event streams) served at once; more are told to come back later.
MAX_VIEWERS = 16
#: Seconds between keep-alive comments on an idle event stream (so a vanished client is noticed).
KEEPALIVE = 10.0
#: Seconds an event stream waits after sending, so a fast run's epochs go out a few at a time.
COALESCE = 0.2


def parse_address(text: str) -> Tuple[str, int]:
    """``[HOST:]PORT`` -> ``(host, port)``; host 127.0.0.1 when not given; ``[::1]:8000`` for IPv6."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535 or (sep and not host):
        raise NStyleError(f"--web {text!r}: give [HOST:]PORT, e.g. 8000 or 0.0.0.0:8000 (port 0: any free one)")
    return host, number


def is_loopback(host: str) -> bool:
    """True for 127.x.x.x, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(ThreadingHTTPServer):
    """The live page's server for one :class:`LiveState`."""

    daemon_threads = True

    def __init__(self, address: str, state: LiveState) -> None:
        host, port = parse_address(address)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            super().__init__((host, port), Handler)
        except OSError as exc:
            why = "the port is in use" if exc.errno == 98 else (exc.strerror or str(exc))
            raise NStyleError(f"--web {address}: cannot serve on {host}:{port}: {why}") from None
        self.state = state
        self.host, self.port = host, self.server_address[1]
        self.token = "" if is_loopback(host) else secrets.token_urlsafe(18)
        self.viewers = threading.BoundedSemaphore(MAX_VIEWERS)
        self.closing = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.opener: Optional[threading.Thread] = None  # --browser: opening the page

    @property
    def url(self) -> str:
        """The page's address (with the token when one is needed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = socket.gethostname()
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def start(self) -> "Server":
        """Serve in a background thread."""
        self.thread = threading.Thread(target=self.serve_forever, name="nstyle-web", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        """Tell the event streams the run is over, then stop serving."""
        self.closing.set()
        if self.opener:
            self.opener.join(timeout=5.0)  # a run shorter than the browser's start still hands it the address
        with self.state.changed:
            self.state.changed.notify_all()
        self.shutdown()
        self.server_close()

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """A client's broken request or vanished socket is its own business: nothing on the run's terminal."""


class Handler(BaseHTTPRequestHandler):
    """The routes: ``/`` the page, ``/state``, ``/events``, ``/image``, ``/runs/N/image``; POST ``/stop``,
    ``/snapshot``."""

    server: Server
    timeout = CLIENT_TIMEOUT
    protocol_version = "HTTP/1.1"
    server_version = "nstyle"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        """No access log: the run's terminal is for the run."""

    # ---- checks ------------------------------------------------------------------------------------------

    def allowed(self) -> bool:
        """Refuse (and answer) a request with a wrong token or, on loopback, a ``Host`` that is not loopback."""
        query = parse_qs(urlsplit(self.path).query)
        token = self.server.token
        if token and not hmac.compare_digest(query.get("token", [""])[0].encode(), token.encode()):
            self.reply(HTTPStatus.FORBIDDEN, b"a token is required: use the address the run printed\n")
            return False
        if not token:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if not is_loopback(host):
                self.reply(HTTPStatus.FORBIDDEN, b"wrong Host\n")
                return False
        return True

    def same_origin(self) -> bool:
        """A POST a browser sends from another site carries its ``Origin`` (or ``Sec-Fetch-Site``): refuse it."""
        origin = self.headers.get("Origin")
        site = self.headers.get("Sec-Fetch-Site")
        if site and site not in ("same-origin", "none"):
            return False
        return origin is None or origin == f"http://{self.headers.get('Host', '')}"

    # ---- replies -----------------------------------------------------------------------------------------

    def reply(self, status: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, data: object, status: int = HTTPStatus.OK) -> None:
        self.reply(status, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        if not self.allowed():
            return
        route = urlsplit(self.path).path
        state = self.server.state
        if route == "/":
            self.reply(HTTPStatus.OK, PAGE.encode(), "text/html; charset=utf-8")
        elif route == "/state":
            self.json(state.snapshot())
        elif route == "/image":
            data = state.picture(timeout=5.0)
            if data is None:
                self.reply(HTTPStatus.SERVICE_UNAVAILABLE, b"no picture yet\n")
            else:
                self.reply(HTTPStatus.OK, data, "image/jpeg")
        elif route == "/events":
            self.events()
        elif route.startswith("/runs/") and route.endswith("/image") and route[6:-6].isdigit():
            out = state.run_output(int(route[6:-6]))
            thumb = run_thumbnail(out) if out else None
            if thumb is None:
                self.reply(HTTPStatus.NOT_FOUND, b"no picture for this run\n")
            else:
                self.reply(HTTPStatus.OK, jpeg(thumb), "image/jpeg")
        else:
            self.reply(HTTPStatus.NOT_FOUND, b"not found\n")

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        self.close_connection = True  # the body (if any) is never read
        if not self.allowed():
            return
        if not self.same_origin():
            self.reply(HTTPStatus.FORBIDDEN, b"cross-origin requests are refused\n")
            return
        route = urlsplit(self.path).path
        if route == "/stop":
            self.server.state.ask_stop("stopped from the live page")
            self.json({"stopping": True}, HTTPStatus.ACCEPTED)
        elif route == "/snapshot":
            self.server.state.ask_snapshot()
            self.json({"snapshot": "after this epoch"}, HTTPStatus.ACCEPTED)
        else:
            self.reply(HTTPStatus.NOT_FOUND, b"not found\n")

    def events(self) -> None:
        """Server-sent events: the whole state first, then what changed, until the run ends or the client goes."""
        server, state = self.server, self.server.state
        if self.command == "HEAD":
            self.reply(HTTPStatus.OK, b"", "text/event-stream")
            return
        if not server.viewers.acquire(blocking=False):
            self.reply(HTTPStatus.SERVICE_UNAVAILABLE, b"too many pages open\n")
            return
        self.close_connection = True
        with state.changed:
            state.viewers += 1
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen, sent, serial = -1, 0, -1
            while True:
                version = state.wait(seen, KEEPALIVE)
                if version == seen and not server.closing.is_set():
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                data = state.snapshot(0)
                if data["run_serial"] != serial:
                    sent, serial = 0, data["run_serial"]
                data = state.snapshot(sent)
                if data["run_serial"] != serial:  # a new run began in between: send it whole next time
                    continue
                sent += len(data["losses"]["total"])
                seen = data["version"]
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()
                if server.closing.is_set() or data["status"] in ("done", "interrupted", "failed"):
                    return
                server.closing.wait(COALESCE)
        except (OSError, ValueError):
            return  # the client went away
        finally:
            with state.changed:
                state.viewers -= 1
                state.changed.notify_all()
            server.viewers.release()


def serve(address: str, state: LiveState, browser: bool = False) -> Server:
    """Bind ``address`` (``[HOST:]PORT``; an error before any work if it cannot), serve ``state`` in the
    background, print the address (and open it in a browser when asked)."""
    server = Server(address, state).start()
    print(f"nstyle: watch the run at {server.url}" + ("  (the token is required: keep it private)"
                                                        if server.token else ""), file=sys.stderr, flush=True)
    if browser:
        server.opener = threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True)
        server.opener.start()
    return server
