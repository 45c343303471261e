"""How soon each setting reaches the classic default's result, on synthetic weights and the classic inputs.

For each size, a reference run of the classic default configuration (300x200: to its own stop; 600x400: a fixed
100 epochs) gives a target: the classic objective (weighted style + content + TV energy) of its saved 8-bit image.
The reference runs as the classic script does on this MXNet build: with MXNet's own OpenMP default, which is one
thread on a 2-core machine (``OMP_NUM_THREADS=1``). nstyle's default path (same maths, all cores) is shown next to
it. Each candidate then runs until its 8-bit image reaches the target (or gives up at the reference's wall time).
Every run is a fresh process, so peak memory is its own. "evaluations" counts evaluations of the objective and its
gradient (one VGG forward + backward each; L-BFGS may take several per epoch in its line search): unlike the seconds,
it does not depend on the machine.

    python bench/convergence.py [--sizes 300 600] [--content IMG --style IMG]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (add_input_flags, print_last_row, print_machine, print_table, run_flags,  # noqa: E402
                    run_json, synthetic_weights)

#: name -> extra flags. The first is the recommended fast setting (see README).
CANDIDATES: Dict[str, List[str]] = {
    "nstyle default (same maths, all cores)": [],
    "fast: lbfgs, content init": ["--optimizer", "lbfgs", "--init", "content", "--max-num-epochs", "100"],
    "lbfgs, content init, multires 1": ["--optimizer", "lbfgs", "--init", "content", "--multires", "1",
                                        "--max-num-epochs", "50"],
    "adam, content init": ["--optimizer", "adam", "--init", "content", "--max-num-epochs", "1000",
                           "--stop-eps", "0"],
}
REFERENCE = {300: ["--max-num-epochs", "1000"], 600: ["--max-num-epochs", "100", "--stop-eps", "0"]}


def probe(args: List[str], limit: float, target: float, threads: str = "") -> dict:
    """One run of ``nstyle ARGS`` until its image reaches ``target`` or ``limit`` seconds pass (a fresh process)."""
    return run_json("_converge_probe.py", [str(limit), str(target), "--", *args], threads)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 600], choices=sorted(REFERENCE))
    ap.add_argument("--only", nargs="*", help="names of candidates to run (default: all)")
    ap.add_argument("--classic-threads", default="1",
                    help="OMP_NUM_THREADS of the reference run: what MXNet picks by itself here (default: 1)")
    add_input_flags(ap)
    a = ap.parse_args()
    print_machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        for edge in a.sizes:
            base = run_flags(a, w) + ["--max-long-edge", str(edge), "--output-dir", os.path.join(tmp, f"o{edge}"),
                                      "--output", os.path.join(tmp, f"o{edge}", "final.png")]
            ref = probe(base + REFERENCE[edge], 1e9, 0.0, threads=a.classic_threads)
            target = ref["final_objective"]
            rows.append({"size": f"{edge} edge", "setting": "classic default (reference)", "s/epoch":
                         f"{ref['s_per_epoch']:.3f}", "epochs": ref["epochs"], "evaluations": ref["evaluations"],
                         "wall s": f"{ref['wall']:.1f}",
                         "peak MB": f"{ref['peak_mb']:.0f}", "objective": f"{target:.4g}", "speed-up": "1.0x"})
            print_last_row(rows)
            for name, flags in CANDIDATES.items():
                if a.only and name not in a.only:
                    continue
                m = probe(base + (flags or REFERENCE[edge]), ref["wall"], target)
                if m["reached"]:
                    seconds, epochs, evaluations = m["reached"]
                    speed = f"{ref['wall'] / seconds:.1f}x"
                else:
                    seconds, epochs, evaluations, speed = m["wall"], m["epochs"], m["evaluations"], "not reached"
                rows.append({"size": f"{edge} edge", "setting": name, "s/epoch": f"{m['s_per_epoch']:.3f}",
                             "epochs": epochs, "evaluations": evaluations, "wall s": f"{seconds:.1f}",
                             "peak MB": f"{m['peak_mb']:.0f}",
                             "objective": f"{m['final_objective']:.4g}", "speed-up": speed})
                print_last_row(rows)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
