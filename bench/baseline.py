"""Baseline of the classic default path: seconds per epoch and peak memory at 600x400 and 300x200, the same in
reproducible mode (what ``--reproducible`` costs), and the wall time of a default-length run at 300x200, on seeded
synthetic weights.

    python bench/baseline.py [--epochs 20] [--skip-full] [--content IMG --style IMG]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (add_input_flags, print_last_row, print_machine, print_table, run_cli,  # noqa: E402
                    run_flags, synthetic_weights)

REPRODUCIBLE = {"NSTYLE_REPRODUCIBLE": "1"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20, help="epochs per timing run")
    ap.add_argument("--skip-full", action="store_true", help="skip the default-length run at 300x200")
    add_input_flags(ap)
    a = ap.parse_args()
    print_machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        base = run_flags(a, w)
        fixed = ["--max-num-epochs", str(a.epochs), "--stop-eps", "0"]
        runs = []
        for edge in (600, 300):
            runs.append((f"{edge} long edge, {a.epochs} epochs", ["--max-long-edge", str(edge), *fixed], None, None))
            runs.append((f"{edge} long edge, {a.epochs} epochs, `--reproducible`",
                         ["--max-long-edge", str(edge), *fixed], REPRODUCIBLE, len(runs) - 1))
        if not a.skip_full:
            runs.append(("300 long edge, default stop", ["--max-long-edge", "300"], None, None))
        measured = []
        for label, extra, env, versus in runs:
            m = run_cli(base + extra + ["--output-dir", os.path.join(tmp, str(len(measured)))], extra_env=env)
            measured.append(m)
            ratio = f"{m['s_per_epoch'] / measured[versus]['s_per_epoch']:.2f}" if versus is not None else "1.00"
            rows.append({"run": label, "epochs": m["epochs"], "s/epoch": f"{m['s_per_epoch']:.3f}",
                         "s/epoch vs default": ratio, "wall s": f"{m['wall']:.1f}", "peak MB": f"{m['peak_mb']:.0f}",
                         "stop": m["stopped"]})
            print_last_row(rows)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
