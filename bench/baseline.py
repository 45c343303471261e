"""Baseline of the classic default path: seconds per epoch and peak memory at 600x400 and 300x200,
and the wall time of a default-length run at 300x200, on seeded synthetic weights.

    python bench/baseline.py [--epochs 20] [--skip-full] [--content IMG --style IMG]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import add_input_flags, print_last_row, print_table, run_cli, synthetic_weights  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per timing run")
    ap.add_argument("--skip-full", action="store_true", help="skip the default-length run at 300x200")
    add_input_flags(ap)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        base = ["--content-image", a.content, "--style-image", a.style, "--weights", w, "--quiet", "--gpu", "-1"]
        runs = [("600 long edge", ["--max-long-edge", "600", "--max-num-epochs", str(a.epochs), "--stop-eps", "0"]),
                ("300 long edge", ["--max-long-edge", "300", "--max-num-epochs", str(a.epochs), "--stop-eps", "0"])]
        if not a.skip_full:
            runs.append(("300 long edge, default stop", ["--max-long-edge", "300"]))
        for label, extra in runs:
            m = run_cli(base + extra + ["--output-dir", os.path.join(tmp, label.replace(" ", "_"))])
            rows.append({"run": label, "epochs": m["epochs"], "s/epoch": f"{m['s_per_epoch']:.3f}",
                         "wall s": f"{m['wall']:.1f}", "peak MB": f"{m['peak_mb']:.0f}", "stop": m["stopped"]})
            print_last_row(rows)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
