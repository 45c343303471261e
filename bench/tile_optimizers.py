"""Optimiser per tile: for each optimiser, an untiled and a tiled run with the same epochs at one size, and the
objective of every picture evaluated on the whole picture with one untiled loss network.

    python bench/tile_optimizers.py [--size 600x400] [--tile-size 384] [--epochs 8] [--optimizers adam nag lbfgs] \\
        [--init content] [--multires 2] [--weights model/vgg19.params] [--keep DIR]

Columns: the objective of each picture, tiled over untiled for the same optimiser (what tiling costs that
optimiser), and each over the lowest untiled objective of the run (which optimiser to use per tile). A tiled level
runs 4 passes over its tiles, ``--epochs / 4`` epochs per visit; L-BFGS starts its history afresh at every visit
(Adam's moments and NAG's momentum are carried in picture-sized arrays). Synthetic weights unless ``--weights``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (ROOT, add_input_flags, crop_to, print_last_row, print_machine, print_table,  # noqa: E402
                    run_json, synthetic_weights)
from hires import objectives, size_flags  # noqa: E402

MODES = {"untiled": "100000", "tiled": None}  # --tile-size of each mode (None: the benchmark's --tile-size)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="600x400", help="WxH of the output")
    ap.add_argument("--tile-size", type=int, default=384)
    ap.add_argument("--epochs", type=int, default=8, help="--max-num-epochs (per level; per tile on tiled levels)")
    ap.add_argument("--multires", type=int, default=2)
    ap.add_argument("--optimizers", nargs="+", default=["adam", "nag", "lbfgs"])
    ap.add_argument("--init", default="content")
    ap.add_argument("--weights", default=None)
    add_input_flags(ap)
    ap.add_argument("--keep", default=None, help="folder to keep the output pictures in (16-bit PNG)")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    print_machine()
    size = tuple(int(v) for v in a.size.lower().split("x"))
    runs = []  # (optimizer, mode, output, measurements)
    with tempfile.TemporaryDirectory() as tmp:
        keep = a.keep or tmp
        os.makedirs(keep, exist_ok=True)
        w = a.weights or synthetic_weights(tmp)
        a.content = crop_to(a.content, tmp, size)
        for opt in a.optimizers:
            a.optimizer = opt
            for mode, tile in MODES.items():
                out = os.path.join(keep, f"{a.size}-{a.optimizer}-{mode}.png")
                flags = size_flags(a, w, size, os.path.join(tmp, "work"))
                r = run_json("_hires_probe.py", flags + ["--tile-size", tile or str(a.tile_size), "--output", out])
                runs.append((a.optimizer, mode, out, r))
                print(f"{a.optimizer} {mode}: {r['wall']:.1f} s, {r['epochs']} epochs, {r['peak_mb']:.0f} MB",
                      flush=True)
        ev = objectives(a, w, size, [out for _, _, out, _ in runs])
    best = min(ev[out] for _, mode, out, _ in runs if mode == "untiled")
    rows = []
    for opt in a.optimizers:
        (_, _, u, ru), (_, _, t, rt) = [run for run in runs if run[0] == opt]
        rows.append({"optimizer": opt, "untiled objective": f"{ev[u]:.4g}", "tiled objective": f"{ev[t]:.4g}",
                     "tiled / untiled": f"{ev[t] / ev[u]:.3f}", "untiled / best untiled": f"{ev[u] / best:.3f}",
                     "tiled / best untiled": f"{ev[t] / best:.3f}", "wall untiled (s)": f"{ru['wall']:.1f}",
                     "wall tiled (s)": f"{rt['wall']:.1f}", "tile epochs": rt["epochs"]})
        print_last_row(rows)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
