"""Where one epoch of the default path spends its time, by MXNet operator, at 600x400 on synthetic weights.

Runs the default configuration twice, each in a fresh process under MXNet's profiler (aggregate statistics over
epochs 2..N+1): once with one OpenMP thread (what MXNet picks by itself on this 2-core machine, i.e. how the
classic script runs here) and once as nstyle runs (all cores). Prints milliseconds per epoch for each operator
group and the ratio between the two.

    python bench/profile.py [--epochs 5] [--edge 600]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CONTENT, ROOT, STYLE, print_machine, run_json, synthetic_weights, table  # noqa: E402

#: operator name prefix -> group shown in the table (first match wins; the rest is "other operators").
GROUPS = [("_backward_Convolution", "convolution backward"), ("Convolution", "convolution forward"),
          ("_backward_Pooling", "pooling backward"), ("Pooling", "pooling forward"),
          ("_backward_Activation", "relu backward"), ("Activation", "relu forward"),
          ("FullyConnected", "Gram (FullyConnected)"), ("_backward_FullyConnected", "Gram backward"),
          ("nag_mom_update", "NAG update"), ("norm", "norms (clip, relative change)"),
          ("add_n", "gradient sums of branching layers (add_n)"), ("[SliceChannel", "TV gradient (own executor)"),
          ("square", "loss terms"), ("sum", "loss terms"), ("elemwise_sub", "loss terms"),
          ("_backward_square", "loss terms"), ("_backward_sum", "loss terms"), ("_backward_sub", "loss terms"),
          ("CopyCPU2CPU", "image copies")]


def group_of(op: str) -> str:
    for prefix, name in GROUPS:
        if op.startswith(prefix):
            return name
    return "other operators"


def child(out: str, epochs: int, edge: int, weights: str) -> None:
    """Profile epochs 2..epochs+1 of one default run and write ms/epoch per group and wall s/epoch as JSON."""
    sys.path.insert(0, ROOT)
    import mxnet as mx

    from nstyle.api import run
    from nstyle.config import Config

    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=os.path.join(os.path.dirname(out),
                                                                                         "profile.json"))

    def on_epoch(ep) -> None:
        mx.nd.waitall()
        if ep.epoch == 1:
            mx.profiler.set_state("run")
        elif ep.epoch == epochs + 1:
            mx.profiler.set_state("stop")

    cfg = Config(content_image=CONTENT, style_image=STYLE, weights=weights, max_long_edge=edge, gpu=-1,
                 max_num_epochs=epochs + 1, stop_eps=0.0, output_dir=None, quiet=True)
    result = run(cfg, on_epoch=on_epoch)
    stats = json.loads(mx.profiler.dumps(format="json"))["Time"]["operator"]
    groups: Dict[str, float] = defaultdict(float)
    for op, s in stats.items():
        groups[group_of(op)] += s["Total"] / epochs
    wall = sum(e.seconds for e in result.history[1:]) / epochs
    with open(out, "w") as f:
        json.dump({"groups": groups, "wall_ms": wall * 1000.0}, f)


def measure(threads: str, epochs: int, edge: int, weights: str) -> dict:
    """Profile in a fresh process with ``OMP_NUM_THREADS=threads`` (empty: nstyle's own setting)."""
    return run_json(os.path.basename(__file__), ["--child", "--epochs", str(epochs), "--edge", str(edge),
                                                 "--weights", weights], threads)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--edge", type=int, default=600)
    ap.add_argument("out", nargs="?", help=argparse.SUPPRESS)  # with --child: where the child writes its JSON
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    a = ap.parse_args()
    print_machine()
    if a.child != bool(a.out):
        ap.error("unexpected argument")
    if a.child:
        child(a.out, a.epochs, a.edge, a.weights)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        one = measure("1", a.epochs, a.edge, w)
        ours = measure("", a.epochs, a.edge, w)
    names = sorted(set(one["groups"]) | set(ours["groups"]), key=lambda n: -one["groups"].get(n, 0.0))
    rows = []
    for name in names + ["epoch wall time"]:
        before = one["wall_ms"] if name == "epoch wall time" else one["groups"].get(name, 0.0)
        after = ours["wall_ms"] if name == "epoch wall time" else ours["groups"].get(name, 0.0)
        rows.append({"ms per epoch": name, "1 thread (classic here)": f"{before:.1f}",
                     "nstyle (all cores)": f"{after:.1f}",
                     "ratio": f"{after / before:.2f}" if before > 0 else "-"})
    print(f"{a.edge} long edge, default path, epochs 2..{a.epochs + 1}")
    print(table(rows, list(rows[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
