"""The objective of saved pictures at one output size, for pictures made by separate benchmark runs (the evaluation
``bench/hires.py`` and ``bench/tile_optimizers.py`` make of their own pictures).

    python bench/objectives.py --size 1200x800 A.png B.png ... [--weights model/vgg19.params] [--content C --style S]

Every picture is evaluated on the whole picture with one untiled loss network (weighted style + content losses +
TV energy), with the content cropped and resized as those benchmarks do; the table gives each objective and its
ratio to the first picture's. Use the weights, content and style the pictures were made with (default: the
benchmarks' seeded synthetic weights and the classic pair).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, add_input_flags, crop_to, print_machine, print_table, synthetic_weights  # noqa: E402
from hires import objectives  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pictures", nargs="+", help="saved outputs (8 or 16-bit PNG), all of the same size")
    ap.add_argument("--size", required=True, help="WxH of the pictures")
    ap.add_argument("--weights", default=None)
    add_input_flags(ap)
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    print_machine()
    size = tuple(int(v) for v in a.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        w = a.weights or synthetic_weights(tmp)
        a.content = crop_to(a.content, tmp, size)
        ev = objectives(a, w, size, a.pictures)
    first = ev[a.pictures[0]]
    print_table([{"picture": p, "objective": f"{ev[p]:.4g}", "/ first": f"{ev[p] / first:.3f}"} for p in a.pictures])
    return 0


if __name__ == "__main__":
    sys.exit(main())
