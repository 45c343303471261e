"""Print-size runs: peak memory, wall time and the seam metric versus output size, untiled (where it fits) and
tiled; at the comparison sizes also the objective of both pictures evaluated on the whole picture.

    python bench/hires.py --sizes 1200x800 2400x1600 4000x3000 --tile-size 512 --compare 1200x800 \\
        [--epochs 100] [--multires 2] [--optimizer nag] [--init noise] [--weights model/vgg19.params] [--keep DIR] \\
        [--modes untiled tiled fit]

Mode ``fit`` is the tiled run with ``--tile-fit`` (edge tiles as large as their window allows: fewer visits).

The seam metric (``nstyle.tiles.geometry.seam_ratio``, also asserted in ``tests/tiles/test_tiled.py``) is the mean gradient
magnitude within 1 px of the tile cuts over that elsewhere, the pass furthest from 1; the untiled row gives it along
the same lines, and every row gives the photo's own (the content resized to the output) along them, as references
for what the picture's content gives there. Sizes are WxH of the output: the content is
cropped at its centre to that aspect ratio and resized (upsampled if needed) to that long edge. Untiled runs are
skipped where nstyle's memory estimate exceeds the memory available. Each run is a fresh process. Without
``--weights`` seeded synthetic weights are used (memory and seams are meaningful, the pictures are not).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (ROOT, add_input_flags, crop_to, print_last_row, print_machine, print_table, run_flags,  # noqa: E402
                    run_json, synthetic_weights)


#: Each mode's name in the table.
MODE_NAMES = {"untiled": "untiled", "tiled": "tiled {tile}", "fit": "tiled {tile} fit"}


def seams(rgb: np.ndarray, args: list, tile: int) -> float:
    """The seam metric of an ``HxWx3`` picture along the cuts a ``tile`` run makes (for an untiled picture or the
    photo: the same lines, the reference for what the picture's own content gives there)."""
    from nstyle import cli
    from nstyle.tiles import level as tiled

    cfg = cli.config_from_args(cli.build_parser().parse_args(args))
    return tiled.seam_ratio(rgb, tiled.grid_for(cfg, rgb.shape[:2], tile), tiled.PASSES)


def saved_picture(path: str) -> np.ndarray:
    """A saved output (8 or 16 bit) as float RGB."""
    import cv2

    return cv2.imread(path, cv2.IMREAD_UNCHANGED)[:, :, ::-1].astype(float)


def photo(content: str, shape: tuple) -> np.ndarray:
    """The content photo as the run sees it at the output's ``shape`` (nstyle's own reading and resizing)."""
    from nstyle.files import images

    return images.resize01(images.read_image(content), shape[:2])


def size_flags(a: argparse.Namespace, weights: str, size: tuple, work: str) -> list:
    """The CLI flags of a run at ``size`` (W, H) with ``a``'s epochs, levels, optimiser and start; 16-bit output."""
    return run_flags(a, weights) + [
        "--max-long-edge", str(max(size)), "--max-num-epochs", str(a.epochs), "--multires", str(a.multires),
        "--optimizer", a.optimizer, "--init", a.init, "--bit-depth", "16", "--output-dir", work]


def objectives(a: argparse.Namespace, weights: str, size: tuple, pictures: list) -> dict:
    """The objective of each saved picture at ``size`` (W, H), evaluated on the whole picture with the untiled loss
    network in a fresh process (``_objective_probe.py``); keyed by path. Only the images, weights and size matter."""
    flags = run_flags(a, weights) + ["--max-long-edge", str(max(size))]
    return run_json("_objective_probe.py", flags + ["--"] + list(pictures))["objective"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1200x800", "2400x1600", "4000x3000"])
    ap.add_argument("--tile-size", type=int, default=512)
    ap.add_argument("--compare", nargs="*", default=["1200x800"], help="sizes where both objectives are evaluated")
    ap.add_argument("--epochs", type=int, default=100, help="--max-num-epochs (per level; per tile on tiled levels)")
    ap.add_argument("--multires", type=int, default=2, help="--multires for both runs (tiled runs add levels "
                    "until the coarsest fits in one tile)")
    ap.add_argument("--optimizer", default="nag")
    ap.add_argument("--init", default="noise")
    ap.add_argument("--weights", default=None)
    add_input_flags(ap)
    ap.add_argument("--keep", default=None, help="folder to keep the output pictures in (16-bit PNG)")
    ap.add_argument("--modes", nargs="+", choices=list(MODE_NAMES), default=["untiled", "tiled"],
                    help="which runs to make at each size")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    from nstyle.process import resources

    print_machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keep = a.keep or tmp
        os.makedirs(keep, exist_ok=True)
        w = a.weights or synthetic_weights(tmp)
        content = a.content
        for spec in a.sizes:
            width, height = (int(v) for v in spec.lower().split("x"))
            a.content = crop_to(content, tmp, (width, height))
            base = size_flags(a, w, (width, height), os.path.join(tmp, "work"))
            have = resources.available_bytes()
            fits = have is None or resources.estimate_bytes((height, width)) <= have
            outputs = {}
            shown = photo(a.content, (height, width))  # the photo at the output size: its own seam metric
            for mode in a.modes:
                if mode == "untiled" and not fits:
                    rows.append({"size": spec, "mode": "untiled", "peak RSS (MB)": "does not fit"})
                    print_last_row(rows)
                    continue
                out = os.path.join(keep, f"{spec}-{mode}.png")
                fit = ["--tile-fit"] if mode == "fit" else []
                extra = ["--tile-size", str(a.tile_size)] + fit if mode != "untiled" else ["--tile-size", "100000"]
                r = run_json("_hires_probe.py", base + extra + ["--output", out])
                outputs[mode] = out, float(r["wall"])
                rows.append({"size": spec, "mode": MODE_NAMES[mode].format(tile=a.tile_size),
                             "peak RSS (MB)": f"{r['peak_mb']:.0f}", "wall (s)": f"{r['wall']:.0f}",
                             "epochs": r["epochs"],
                             "seam metric": f"{seams(saved_picture(out), base + fit, a.tile_size):.3f}",
                             "photo's seam metric": f"{seams(shown, base + fit, a.tile_size):.3f}"})
                print_last_row(rows)
            if spec in a.compare and "untiled" in outputs and len(outputs) > 1:
                ev = objectives(a, w, (width, height), [out for out, _ in outputs.values()])
                f_u, wall_u = ev[outputs["untiled"][0]], outputs["untiled"][1]
                for mode, (out, wall) in outputs.items():
                    if mode != "untiled":
                        rows.append({"size": spec, "mode": MODE_NAMES[mode].format(tile=a.tile_size) + " / untiled",
                                     "objective ratio": f"{ev[out] / f_u:.3f}", "wall (s)": f"{wall / wall_u:.2f}x"})
                        print_last_row(rows)
    columns = ["size", "mode", "peak RSS (MB)", "wall (s)", "epochs", "seam metric", "photo's seam metric",
               "objective ratio"]
    print_table([{c: r.get(c, "") for c in columns} for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
