"""What a tiled run computes against the untiled run of the same picture and epochs, counted from the geometry
(no timing: the numbers are the same on every machine).

    python bench/tile_work.py [--sizes 1200x800 4000x3000] [--tile-sizes 512 640 768 1024] [--epochs 8] \
        [--multires 2] [--fits off on]

Per level and in total: tile visits, window pixels through forward + backward per epoch against the picture's
(``fb x``), with and without ``--tile-fit`` (``fit``), and the forward-only passes a tiled level adds (each visit's
own Grams, the picture's Grams once per pass, the content targets of windows not kept), in pixels of the untiled
picture. Cost is counted in forward units with a backward pass at :data:`BACKWARD` forwards (VGG's convolutions
dominate both); ``overhead`` is the tiled run's cost over the untiled run's with the same ``--multires`` (each of its levels
``epochs`` forward + backward passes and one content forward; the tiled run adds levels until the coarsest fits in
one tile). ``window MB`` is the window's share of the peak memory by nstyle's own estimate
(``nstyle.process.resources``), ``host MB`` the canvas-sized arrays (``TILED_BYTES_PER_PIXEL``).
"""
from __future__ import annotations

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, print_table  # noqa: E402

#: A backward pass in forward units: the loss network computes the image's gradient only, no weight gradients; in a
#: cProfile of a tiled 1200x800 run a forward-only pass took 0.57 of a forward + backward epoch of the same window.
BACKWARD = 0.75


def level_work(cfg, size: tuple, tile: int) -> dict:
    """Counts for one level of ``size`` (H, W) run with ``tile``-pixel windows (see the module)."""
    from nstyle.tiles import level as tiled

    grid = tiled.grid_for(cfg, size, tile)
    passes = tiled.level_passes(cfg)
    per_visit = math.ceil(cfg.max_num_epochs / passes)
    by_pass = [grid.tiles(p) for p in range(passes)]
    window = by_pass[0][0].shape
    pixels = window[0] * window[1]
    visits = sum(len(t) for t in by_pass)
    if visits == passes:  # one window: the untiled run of the level, its targets once
        return dict(visits=visits, fb=size[0] * size[1] * cfg.max_num_epochs, forward=size[0] * size[1],
                    window=window)
    content_bytes = 4 * sum(s[1] * (window[0] // s[0]) * (window[1] // s[0]) for s in _content_cells(cfg))
    windows = {(t.rows.start, t.cols.start) for tiles in by_pass for t in tiles}
    kept = min(len(windows), tiled.CONTENT_CACHE_BYTES // max(content_bytes, 1))
    content_forwards = visits - kept  # a kept window's later visits cost no forward
    picture_forwards = len(by_pass[0]) * passes
    return dict(visits=visits, fb=pixels * per_visit * visits,
                forward=pixels * (visits + picture_forwards + content_forwards), window=window)


def _cost(work: dict) -> float:
    """A level's counts in forward units (pixels)."""
    return work["fb"] * (1 + BACKWARD) + work["forward"]


def _content_cells(cfg) -> list:
    """``(stride, channels)`` of each content layer."""
    from nstyle.model_zoo import spec
    from nstyle.tiles.geometry import vgg_context

    return [(vgg_context(name)[1], spec.CONV_WIDTH[name.replace("relu", "conv")]) for name in cfg.content_layer_list]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1200x800", "4000x3000"])
    ap.add_argument("--tile-sizes", nargs="+", type=int, default=[512, 640, 768, 1024])
    ap.add_argument("--epochs", type=int, default=8, help="--max-num-epochs (per level)")
    ap.add_argument("--multires", type=int, default=2, help="--multires of both runs")
    ap.add_argument("--fits", nargs="+", choices=["off", "on"], default=["off", "on"], help="without / with --tile-fit")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    from nstyle import cli
    from nstyle.algorithm.pyramid import level_sizes, tiled_levels
    from nstyle.process import resources

    rows = []
    for spec_ in a.sizes:
        width, height = (int(v) for v in spec_.lower().split("x"))
        flags = ["--max-long-edge", str(max(width, height)), "--max-num-epochs", str(a.epochs), "--init", "content",
                 "--multires", str(a.multires)]
        cfg = cli.config_from_args(cli.build_parser().parse_args(flags))
        picture = width * height
        untiled = sum(h * w for h, w in level_sizes((height, width, 3), cfg, "photo.jpg")) * (
            a.epochs * (1 + BACKWARD) + 1)
        for tile, fit in ((t, f) for t in a.tile_sizes for f in a.fits):
            cfg = cli.config_from_args(cli.build_parser().parse_args(flags + ["--tile-fit"] * (fit == "on")))
            levels = tiled_levels(cfg, (height, width, 3), "photo.jpg", tile)
            work = [level_work(cfg, size, tile) for size in levels]
            cost = sum(_cost(w) for w in work)
            top = work[-1]
            win = top["window"]
            rows.append({"size": spec_, "tile": tile, "fit": fit, "levels": len(levels), "top visits": top["visits"],
                         "top window": f"{win[1]}x{win[0]}",
                         "fb x (top)": f"{top['fb'] / (picture * a.epochs):.2f}",
                         "extra forwards x (top)": f"{top['forward'] / picture:.1f}",
                         "coarser levels x": f"{sum(_cost(w) for w in work[:-1]) / untiled:.2f}",
                         "overhead": f"{cost / untiled:.2f}x",
                         "window MB": f"{(resources.estimate_bytes(win) - resources.BASE_BYTES) / 2**20:.0f}",
                         "host MB": f"{resources.TILED_BYTES_PER_PIXEL * picture / 2**20:.0f}"})
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
