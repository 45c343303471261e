"""Batch versus separate runs, and one process versus a local Dask cluster; every run 300x200, 50 epochs.

    python bench/batch.py [--epochs 50] [--edge 300] [--only separate|workers]

The four photos are centre-cropped to 3:2 (into a temporary folder) so that every run is 300x200, as for a
folder of photos from one camera.

- separate: 4 contents x 1 style. The wall time of one ``nstyle batch`` invocation and of four ``nstyle``
  invocations (each a fresh process, as a user would type them), side by side with the ratio.
- workers: 4 contents x 2 styles (8 runs). One ``nstyle batch`` in process (MXNet on every core) against
  ``nstyle batch --workers W`` (W worker processes, cores / W MXNet threads each): wall time, ratio, runs per
  hour, and the scheduler's overhead per run: from the moment a run and a free worker both exist (the run was
  submitted and the worker had handed back its previous run) to the moment the worker starts it, from the
  Unix times in ``runs.jsonl`` (one machine, one clock); a worker's first run also waits for the worker to
  load nstyle and MXNet, so it is shown apart.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CONTENT, ROOT, SHARED, STYLE, crop_to, print_machine, synthetic_weights, table  # noqa: E402

STYLES = [STYLE, os.path.join(SHARED, "styles", "the_scream.jpg")]

CONTENTS = [CONTENT, os.path.join(SHARED, "content", "flowers.jpg"), os.path.join(SHARED, "content", "venice-boat.jpg"),
            os.path.join(SHARED, "styles", "udnie.jpg")]


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def separate_vs_batch(tmp: str, contents, common) -> str:
    """Four single-run invocations against one batch of the same four runs."""
    separate = sum(timed([sys.executable, "-m", "nstyle", "--content-image", c, "--style-image", STYLE,
                          "--output-dir", os.path.join(tmp, f"single{i}"), *common])
                   for i, c in enumerate(contents))
    together = timed([sys.executable, "-m", "nstyle", "batch", "--content-image", *contents,
                      "--style-image", STYLE, "--output-dir", os.path.join(tmp, "batch"), *common])
    rows = [{"way": "4 separate nstyle invocations", "wall s": f"{separate:.1f}", "ratio": "1.00"},
            {"way": "one nstyle batch invocation", "wall s": f"{together:.1f}", "ratio": f"{together / separate:.2f}"}]
    return table(rows, ["way", "wall s", "ratio"])


def scheduler_overhead(records) -> Tuple[float, float]:
    """Mean seconds from 'run submitted and a worker free for it' to 'run started on that worker'.

    Returned separately for each worker's first run (which includes the worker loading nstyle and MXNet) and for
    the later ones (the scheduler's dispatch alone).
    """
    free: Dict[str, float] = {}  # worker -> when it handed back its previous run
    first, later = [], []
    for r in sorted(records, key=lambda r: r["started_at"]):
        ready = max(r["submitted_at"], free.get(r["worker"], 0.0))
        (later if r["worker"] in free else first).append(r["started_at"] - ready)
        free[r["worker"]] = r["ended_at"]
    return sum(first) / len(first), sum(later) / max(1, len(later))


def process_vs_workers(tmp: str, contents, common, workers: int) -> str:
    """8 runs in one process against the same 8 runs on a local cluster of ``workers`` processes."""
    batch = [sys.executable, "-m", "nstyle", "batch", "--content-image", *contents, "--style-image", *STYLES, *common]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    here = timed(batch + ["--output-dir", os.path.join(tmp, "here")])
    there = timed(batch + ["--output-dir", os.path.join(tmp, "there"), "--workers", str(workers)])
    with open(os.path.join(tmp, "there", "runs.jsonl")) as f:
        records = [json.loads(line) for line in f]
    runs = len(records)
    startup, dispatch = scheduler_overhead(records)
    rows = [{"way": f"{runs} runs in one process ({cores} threads)", "wall s": f"{here:.1f}", "ratio": "1.00",
             "runs/hour": f"{3600 * runs / here:.0f}"},
            {"way": f"--workers {workers} ({max(1, cores // workers)} thread(s) each)", "wall s": f"{there:.1f}",
             "ratio": f"{there / here:.2f}", "runs/hour": f"{3600 * runs / there:.0f}",
             "first run wait s": f"{startup:.2f}", "later runs wait s": f"{dispatch:.3f}"}]
    return table(rows, ["way", "wall s", "ratio", "runs/hour", "first run wait s", "later runs wait s"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--edge", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2, help="local Dask workers for the second comparison")
    ap.add_argument("--only", choices=["separate", "workers"], help="run one comparison only")
    a = ap.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        contents = [crop_to(c, tmp, (3, 2)) for c in CONTENTS]
        common = ["--weights", w, "--max-long-edge", str(a.edge), "--max-num-epochs", str(a.epochs),
                  "--stop-eps", "0", "--quiet", "--gpu", "-1"]
        if a.only != "workers":
            print(separate_vs_batch(tmp, contents, common), flush=True)
        if a.only != "separate":
            print(process_vs_workers(tmp, contents, common, a.workers), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
