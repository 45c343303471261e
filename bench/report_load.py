"""How long the batch report of 100 runs takes to write and to load from disk in headless Chromium.

    python bench/report_load.py [--contents 20] [--styles 5] [--epochs 500] [--repeat 5]

Makes a batch folder without stylizing (``tests/fake_batch.py``: 1200x800 inputs, 600x400 results, 500 epochs of
loss history per run, 2 failed runs), writes its report twice (first with the thumbnails to make, then with them
all up to date), then loads ``index.html`` in headless Chromium ``--repeat`` times, each with a fresh profile,
from a small page that holds it in a 1200x900 frame and notes the time from its own start to the frame's ``load``
event (the page parsed and laid out, the pictures of the first screen decoded; the others load lazily).
Prints the machine lines, the page's and the thumbnails' sizes and the median and worst load times.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, print_machine, table  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import fake_batch  # noqa: E402
from nstyle import batch  # noqa: E402
from nstyle.process import runtime  # noqa: E402
from nstyle.report import page as report  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--force-device-scale-factor=1", "--window-size=1220,920"]
FRAME = """<!doctype html><html><head><meta charset="utf-8"><title>-</title><script>var t0 = performance.now();
</script></head><body style="margin:0"><iframe src="index.html" width="1200" height="900"
onload="document.title = 'loaded ' + (performance.now() - t0).toFixed(1)"></iframe></body></html>"""


def load_ms(exe: str, page: str, scratch: str) -> float:
    """Milliseconds from the frame page's start to ``index.html``'s load event, in a fresh Chromium profile."""
    profile = tempfile.mkdtemp(dir=scratch)
    done = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", "file://" + page],
                          capture_output=True, text=True, timeout=300)
    shutil.rmtree(profile, ignore_errors=True)
    found = re.search(r"<title>loaded ([0-9.]+)</title>", done.stdout)
    if not found:
        raise SystemExit(f"no load time in Chromium's output: {done.stderr[-500:]}")
    return float(found.group(1))


def main() -> None:
    print_machine()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contents", type=int, default=20)
    p.add_argument("--styles", type=int, default=5)
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        raise SystemExit("needs chromium on PATH (apt-get install -y chromium)")
    for line in runtime.machine_lines():
        print(line)
    print(subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as folder:
        fake_batch.make(folder, args.contents, args.styles, epochs=args.epochs, result_size=(600, 400),
                        failed=(7, 42))
        records = batch.read_log(os.path.join(folder, batch.LOG_NAME))
        started = time.perf_counter()
        report.write(folder, records)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        report.write(folder, records)
        warm = time.perf_counter() - started
        with open(os.path.join(folder, "frame.html"), "w") as f:
            f.write(FRAME)
        thumbs_dir = os.path.join(folder, "thumbs")
        thumbs = [os.path.getsize(os.path.join(thumbs_dir, n)) for n in os.listdir(thumbs_dir)]
        times = [load_ms(exe, os.path.join(folder, "frame.html"), folder) for _ in range(args.repeat)]
        print(table([{"runs": len(records), "page kB": round(os.path.getsize(os.path.join(folder, "index.html")) / 1e3),
                      "thumbnails": len(thumbs), "thumbs kB": round(sum(thumbs) / 1e3),
                      "write s (cold)": f"{cold:.2f}", "write s (warm)": f"{warm:.2f}",
                      "load ms (median)": f"{statistics.median(times):.0f}", "load ms (worst)": f"{max(times):.0f}"}],
                    ["runs", "page kB", "thumbnails", "thumbs kB", "write s (cold)", "write s (warm)",
                     "load ms (median)", "load ms (worst)"]))


if __name__ == "__main__":
    main()
