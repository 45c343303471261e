"""Helpers shared by test modules."""
import json
import os
import queue
import re
import subprocess
import threading
import time

import numpy as np

#: The project's folder (the checkout or the unpacked source), where ``nstyle/``, ``tests/`` and ``docs/`` are.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rgb(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    """A seeded HxWx3 uint8 noise picture."""
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8)


def log_records(folder) -> list:
    """Every record of ``<folder>/runs.jsonl``, in order (each line must be JSON)."""
    with open(os.path.join(folder, "runs.jsonl")) as f:
        return [json.loads(line) for line in f]


def one_error_line(err: str) -> str:
    """The one ``nstyle: error:`` line a command ended with, its last on stderr, after nstyle's own log lines only
    (no traceback, no log line of another library such as Dask's)."""
    lines = err.strip().splitlines()
    assert not [line for line in lines if "Traceback" in line or "Exception" in line or " - " in line], err
    errors = [line for line in lines if line.startswith("nstyle: error:")]
    assert errors == lines[-1:], err
    return errors[0]


class Running:
    """A command in a subprocess (its own session) whose stderr is read line by line, to act at a given moment."""

    def __init__(self, cmd, env):
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, start_new_session=True)
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.seen = []
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stderr], daemon=True).start()

    def wait_for(self, pattern, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "the command ended early:\n" + "".join(self.seen)
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(self.seen))

    def finish(self, timeout=300):
        status = self.proc.wait(timeout)
        time.sleep(0.2)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return status, "".join(self.seen)


def central_differences(value, x, seed: int, count: int, step: float):
    """``(index, (value(x + step e) - value(x - step e)) / 2 step)`` at ``count`` seeded random indices of ``x``."""
    rng = np.random.RandomState(seed)
    for _ in range(count):
        idx = tuple(rng.randint(0, n) for n in x.shape)
        xp, xm = x.copy(), x.copy()
        xp[idx] += step
        xm[idx] -= step
        yield idx, (value(xp) - value(xm)) / (2 * step)


def image_gradient(executor, heads, x, train=False):
    """The image gradient a loop uses: ``x`` in, forward (in training mode if ``train``), backward with the head
    gradients; float64 out."""
    from nstyle.algorithm.lossnet import forward_backward

    executor.arg_dict["data"][:] = x
    forward_backward(executor, heads, train)
    return executor.grad_dict["data"].asnumpy().astype(np.float64)


# ---- a real browser: Debian's chromium, headless (the report's and the live page's tests) ----------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--force-device-scale-factor=1", "--hide-scrollbars"]
WINDOW = (1200, 900)


def find_chromium():
    """The path of a Chromium (or Chrome) on PATH, or None."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None
