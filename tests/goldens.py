"""Regression configurations and their saved outputs in ``tests/golden/``.

Regenerate (only when the default path is meant to change, and say why in the commit)::

    python tests/goldens.py

Inputs are scikit-image's bundled samples, resized and written as PNG; weights are the seed-0 synthetic
VGG19 in the classic file format. Nothing here needs the network.
"""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Dict, List

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden")

#: name -> (content sample, style sample, extra CLI flags). ``classic`` is the default path.
CONFIGS: Dict[str, tuple] = {
    "classic": ("astronaut", "coffee", ["--max-long-edge", "64", "--max-num-epochs", "40"]),
    "tuned": ("chelsea", "coffee", ["--max-long-edge", "72", "--max-num-epochs", "30", "--pooling", "max",
                                    "--tv-weight", "0", "--content-weight", "5", "--style-weight", "2",
                                    "--lr", "0.002", "--lr-sched-delay", "10", "--lr-sched-factor", "0.5",
                                    "--seed", "7"]),
}

#: At most this many 8-bit levels between a fresh output and the saved one, on any pixel.
TOLERANCE = 2


def sample_image(name: str, folder: str) -> str:
    """Write scikit-image's sample ``name`` at a quarter of its size as PNG in ``folder``; return the path."""
    from skimage import data
    from skimage.transform import resize

    arr = getattr(data, name)()
    small = (resize(arr, (arr.shape[0] // 4, arr.shape[1] // 4)) * 255).astype(np.uint8)
    path = os.path.join(folder, f"{name}.png")
    Image.fromarray(small).save(path)
    return path


def argv(name: str, weights_path: str, folder: str) -> List[str]:
    """The CLI arguments of configuration ``name`` with inputs and outputs under ``folder``."""
    content, style, extra = CONFIGS[name]
    return ["--content-image", sample_image(content, folder), "--style-image", sample_image(style, folder),
            "--weights", weights_path, "--output-dir", os.path.join(folder, name),
            "--output", os.path.join(folder, name, "final.png"), "--quiet", *extra]


def render(name: str, weights_path: str, folder: str) -> np.ndarray:
    """Run configuration ``name`` through the CLI and return its final image."""
    from nstyle import cli

    args = argv(name, weights_path, folder)
    status = cli.main(args)
    if status != 0:
        raise RuntimeError(f"{name}: nstyle exited {status}")
    return np.asarray(Image.open(args[args.index("--output") + 1]))


def main() -> int:
    """Regenerate every saved output."""
    from nstyle import weights

    os.makedirs(GOLDEN, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wpath = os.path.join(tmp, "vgg19.params")
        weights.save_classic(weights.synthetic(seed=0), wpath)
        for name in CONFIGS:
            out = render(name, wpath, tmp)
            Image.fromarray(out).save(os.path.join(GOLDEN, f"{name}.png"))
            print(f"wrote tests/golden/{name}.png {out.shape}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    sys.exit(main())
