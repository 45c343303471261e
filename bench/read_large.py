"""Peak memory and time of reading a 50-megapixel camera-size JPEG for a 600-pixel run, before and after reduced
decoding (issue 16). Each read runs in a fresh process.

    python bench/read_large.py [--long-edge 600] [--megapixels 50] [--keep FILE.jpg]

"before" is the whole-file read nstyle always did (``read_image(path)``, then the classic float64 resize);
"after" is what a run now does (``read_image(path, long_edge)``: JPEG DCT scaling to keep the short side at least
twice the long edge, then the same resize).
"""
import argparse
import os
import sys
import tempfile

import numpy as np
from PIL import Image

from common import run_json, table


def camera_like(path: str, megapixels: float) -> None:
    """A smooth 3:2 JPEG of about ``megapixels`` with some fine texture (quality 90), written to ``path``."""
    h = int(round((megapixels * 1e6 / 1.5) ** 0.5))
    w = int(round(h * 1.5))
    rows = []
    rng = np.random.RandomState(0)
    xx = np.linspace(0, 6 * np.pi, w, dtype=np.float32)
    for start in range(0, h, 512):  # in strips, so the generator itself needs little memory
        yy = np.linspace(start / h, min(start + 512, h) / h, min(512, h - start), dtype=np.float32)[:, None]
        base = 127 + 60 * np.sin(xx[None, :] + 9 * yy) + 40 * np.cos(3 * xx[None, :] * yy)
        strip = np.stack([base, base[:, ::-1], 255 - base], axis=2) + rng.normal(0, 6, (len(yy), w, 3))
        rows.append(np.clip(strip, 0, 255).astype(np.uint8))
    Image.fromarray(np.concatenate(rows)).save(path, quality=90)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--long-edge", type=int, default=600)
    p.add_argument("--megapixels", type=float, default=50.0)
    p.add_argument("--keep", help="write the test JPEG here (and reuse it if it exists)")
    a = p.parse_args()
    from nstyle.process.runtime import machine_lines

    print("\n".join(machine_lines()))
    with tempfile.TemporaryDirectory() as tmp:
        path = a.keep or os.path.join(tmp, "camera.jpg")
        if not os.path.exists(path):
            camera_like(path, a.megapixels)
        with Image.open(path) as im:
            print(f"{path}: {im.width}x{im.height} ({im.width * im.height / 1e6:.1f} MP), "
                  f"{os.path.getsize(path) / 2**20:.1f} MB; resized to a {a.long_edge}-pixel long edge")
        rows = []
        for mode, label in (("full", "before (whole file)"), ("reduced", "after (reduced decoding)")):
            row = run_json("_read_probe.py", [path, mode, str(a.long_edge)])
            rows.append(dict(row, run=label))
    print(table(rows, ["run", "decoded", "resized", "seconds", "peak MB", "peak MB before reading"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
