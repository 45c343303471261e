"""Batch versus separate runs: 4 contents x 1 style at 300x200, 50 epochs each.

    python bench/batch.py [--epochs 50] [--edge 300]

The four photos are centre-cropped to 3:2 (into a temporary folder) so that every run is 300x200, as for a
folder of photos from one camera. Prints the wall time of one ``nstyle batch`` invocation and of four ``nstyle``
invocations (each a fresh process, as a user would type them), side by side with the ratio.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import CONTENT, ROOT, SHARED, STYLE, print_machine, synthetic_weights, table  # noqa: E402

CONTENTS = [CONTENT, os.path.join(SHARED, "content", "flowers.jpg"), os.path.join(SHARED, "content", "venice-boat.jpg"),
            os.path.join(SHARED, "styles", "udnie.jpg")]


def crop_3_2(src: str, folder: str) -> str:
    """A centre crop of ``src`` with a 3:2 aspect ratio, saved as PNG in ``folder``; returns its path."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    w, h = img.size
    cw, ch = min(w, h * 3 // 2), min(h, w * 2 // 3)
    left, top = (w - cw) // 2, (h - ch) // 2
    path = os.path.join(folder, os.path.splitext(os.path.basename(src))[0] + ".png")
    img.crop((left, top, left + cw, top + ch)).save(path)
    return path


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--edge", type=int, default=300)
    a = ap.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        contents = [crop_3_2(c, tmp) for c in CONTENTS]
        common = ["--weights", w, "--max-long-edge", str(a.edge), "--max-num-epochs", str(a.epochs),
                  "--stop-eps", "0", "--quiet", "--gpu", "-1"]
        separate = sum(timed([sys.executable, "-m", "nstyle", "--content-image", c, "--style-image", STYLE,
                              "--output-dir", os.path.join(tmp, f"single{i}"), *common])
                       for i, c in enumerate(contents))
        together = timed([sys.executable, "-m", "nstyle", "batch", "--content-image", *contents,
                          "--style-image", STYLE, "--output-dir", os.path.join(tmp, "batch"), *common])
    rows = [{"way": "4 separate nstyle invocations", "wall s": f"{separate:.1f}", "ratio": "1.00"},
            {"way": "one nstyle batch invocation", "wall s": f"{together:.1f}", "ratio": f"{together / separate:.2f}"}]
    print(table(rows, ["way", "wall s", "ratio"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
