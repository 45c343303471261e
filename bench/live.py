"""What the live page costs: seconds per epoch with the page open in headless Chromium against no ``--web``, the
page's load time, and the delay from an epoch's end to its picture on the page.

    python bench/live.py [--max-long-edge 600] [--epochs 60] [--repeat 3] [--weights PATH]

Each repeat runs the same stylization twice, without ``--web`` and with ``--web 0`` and the page open in headless
Chromium (driven over its DevTools pipe, ``tests/live/browser.py``) for the whole run, in alternating order. The
bench leaves the page alone during the run (one look every 2 s); the page keeps the pictures' times itself. Seconds per epoch
are the median of the run's own log lines (the first two epochs left out: warm-up). The load time is the page's
navigation timing (start to the load event); the delay is, per picture shown, the time from its copy at the end of
an epoch (``frame_at``) to its ``load`` in the page (``data-shown-at``), the median over the run. Default weights:
``model/vgg19.params`` if present, else seeded synthetic ones (the same arithmetic per epoch).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, add_input_flags, print_last_row, print_machine, print_table, synthetic_weights  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "live"))

from browser import Chromium  # noqa: E402
from helpers import find_chromium  # noqa: E402

#: Installed once in the page: keeps every picture's (taken at, shown at) pair, read once after the run.
COLLECT = "(function(){window.__shown=[];var p=document.getElementById('picture');" \
          "new MutationObserver(function(){if(p.dataset.shownAt)" \
          "window.__shown.push([Number(p.dataset.takenAt),Number(p.dataset.shownAt)]);})" \
          ".observe(p,{attributes:true,attributeFilter:['data-shown-at']});return true;})()"
SHOWN = "window.__shown || []"
LOAD = "(function(){var n=performance.getEntriesByType('navigation')[0];" \
       "return n && n.loadEventEnd > 0 ? n.loadEventEnd - n.startTime : null;})()"


class Run:
    """``python -m nstyle ARGS`` with its stderr lines collected."""

    def __init__(self, args: List[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "nstyle", *args], stderr=subprocess.PIPE, text=True,
                                     stdout=subprocess.DEVNULL, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
        self.lines: List[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(line.rstrip() for line in self.proc.stderr))
        self.reader.start()

    def url(self) -> Optional[str]:
        found = [re.search(r"(http://\S+)", line) for line in self.lines if "watch the run at" in line]
        return found[0].group(1) if found and found[0] else None

    def finish(self) -> float:
        """Wait for the end; the median seconds per epoch of the log (the first two epochs left out)."""
        if self.proc.wait() != 0:
            raise SystemExit("the run failed:\n" + "\n".join(self.lines[-5:]))
        self.reader.join()
        seconds = [float(m.group(1)) for m in (re.search(r"epoch\s+\d+\s.*\s([0-9.]+) s/epoch", line)
                                               for line in self.lines) if m]
        return statistics.median(seconds[2:] or seconds)


def watched(args: List[str], exe: str, scratch: str) -> Tuple[float, float, float]:
    """The run with the page open: (seconds per epoch, load time in ms, median delay to the page in ms)."""
    run = Run([*args, "--web", "0"])
    while run.url() is None:
        if run.proc.poll() is not None:
            raise SystemExit("the run ended before serving:\n" + "\n".join(run.lines[-5:]))
        time.sleep(0.05)
    page = Chromium(exe, tempfile.mkdtemp(dir=scratch))
    load = None
    try:
        page.open(run.url())
        page.wait_for("document.getElementById('picture') !== null")
        page.js(COLLECT)
        while run.proc.poll() is None:  # the page is left alone but for a look every 2 s (the load time)
            load = load or page.js(LOAD)
            time.sleep(2.0)
        delays = [(shown - taken) * 1000.0 for taken, shown in page.js(SHOWN) if taken > 0]
    finally:
        page.close()
    return run.finish(), load or float("nan"), statistics.median(delays) if delays else float("nan")


def main() -> None:
    print_machine()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_input_flags(p)
    p.add_argument("--max-long-edge", type=int, default=600)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--weights", default=None)
    a = p.parse_args()
    exe = find_chromium()
    if not exe:
        raise SystemExit("needs chromium on PATH (Debian: apt-get install -y chromium)")
    scratch = tempfile.mkdtemp(prefix="nstyle-live-bench-")
    real = os.path.join(ROOT, "model", "vgg19.params")
    weights = a.weights or (real if os.path.isfile(real) else synthetic_weights(scratch))
    args = ["--content-image", a.content, "--style-image", a.style, "--weights", weights, "--gpu", "-1",
            "--max-long-edge", str(a.max_long_edge), "--max-num-epochs", str(a.epochs), "--stop-eps", "0",
            "--save-epochs", "100000", "--output-dir", os.path.join(scratch, "out")]
    rows = []
    for k in range(a.repeat):  # the order alternates, so a drift of the machine's speed falls on both sides
        if k % 2:
            web, load, delay = watched(args, exe, scratch)
            plain = Run(args).finish()
        else:
            plain = Run(args).finish()
            web, load, delay = watched(args, exe, scratch)
        rows.append({"repeat": k + 1, "size": a.max_long_edge, "s/epoch, no --web": f"{plain:.3f}",
                     "s/epoch, page open": f"{web:.3f}", "slower": f"{100 * (web / plain - 1):+.1f}%",
                     "page load (ms)": f"{load:.0f}", "epoch end to page (ms)": f"{delay:.0f}"})
        print_last_row(rows)
    print_table(rows)
    ratios = [float(r["slower"].rstrip("%")) for r in rows]
    print(f"\nmedian slowdown with the page open: {statistics.median(ratios):+.1f}% (target: at most +2%)")


if __name__ == "__main__":
    main()
