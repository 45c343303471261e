"""A run with ``--web`` in a subprocess, and plain HTTP to its page (the live tests' helpers)."""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from helpers import ROOT

#: How long a test waits for something that must happen (against a hang, not a timing check).
PATIENCE = 300.0


def small_run(images, weights_file, out, *extra: str) -> List[str]:
    """Flags of a small run that never converges by itself (``--stop-eps 0``) and writes no periodic snapshot."""
    return ["--content-image", images["content"], "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "48", "--output-dir", str(out), "--stop-eps", "0", "--save-epochs", "100000", *extra]


class LiveRun:
    """``python -m nstyle ARGS`` in the background, its stderr lines collected, the page's address read from them."""

    def __init__(self, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
        self.proc = subprocess.Popen([sys.executable, "-m", "nstyle", *args], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        self.lines: List[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        line = self.wait_line("watch the run at ")
        self.url = re.search(r"(http://\S+)", line).group(1)
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, text: str) -> str:
        end = time.monotonic() + PATIENCE
        while time.monotonic() < end:
            found = [line for line in self.lines if text in line]
            if found:
                return found[0]
            if self.proc.poll() is not None and not self.reader.is_alive():
                raise AssertionError(f"the run ended without {text!r}:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r}")

    def request(self, method: str, path: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes, dict]:
        """One request: (status, body, headers)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, headers=headers or {})
            reply = conn.getresponse()
            return reply.status, reply.read(), dict(reply.getheaders())
        finally:
            conn.close()

    def state(self) -> dict:
        status, body, _ = self.request("GET", "/state")
        assert status == 200, body
        return json.loads(body)

    def wait_state(self, test, what: str) -> dict:  # noqa: ANN001
        """Poll ``/state`` until ``test(state)`` holds."""
        end = time.monotonic() + PATIENCE
        while time.monotonic() < end:
            state = self.state()
            if test(state):
                return state
            time.sleep(0.1)
        raise AssertionError(f"the state never showed {what}")

    def raw(self, data: bytes, read: bool = True) -> bytes:
        """Send bytes on a fresh connection; what comes back (until the server closes, or b"" if not ``read``)."""
        with socket.create_connection((self.host, self.port), timeout=60) as s:
            s.sendall(data)
            if not read:
                return b""
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)

    def wait(self) -> int:
        status = self.proc.wait(timeout=PATIENCE)
        self.reader.join(timeout=30)
        return status

    def stop(self) -> None:
        """End the run if a test failed before it did."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def logged_losses(lines: List[str]) -> Dict[int, Tuple[str, str]]:
    """``{epoch: (style, content)}`` as the run's log lines print them."""
    found = {}
    for line in lines:
        m = re.match(r"epoch\s+(\d+)\s+change \S+\s+style (\S+)\s+content (\S+)", line)
        if m:
            found[int(m.group(1))] = (m.group(2), m.group(3))
    return found
