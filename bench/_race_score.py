"""The race's scorer (bench/race.py): the classic objective of saved 8-bit pictures, in float64 (``RACE_SCORE_DTYPE``
float32: the network in float32, the sums in float64; several times faster), written apart from both racers
(torch.nn.functional on plain tensors, no module of either side).

f(x) = sum_l style_weight / (C_l^2 N_l) |G_l(x) - G_l(style)|^2 + content_weight |F(x) - F(content)|^2
       + tv_weight / 16 (squared differences of neighbouring pixels, zero outside the picture),
with x = pixel levels - the mean, Grams G = F F^T of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 and F at relu4_2.

    python bench/_race_score.py PROBLEM.npz WEIGHTS.npz OUT.json FILE...   (.png: an 8-bit picture, .npy: a network
    image, scored as it is)
"""
from __future__ import annotations

import json
import os
import sys
from typing import Dict, List

# bench/profile.py would shadow the standard library's profile module, which torch imports
_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

#: the network's arithmetic; the losses are always summed in float64
DTYPE = {"float64": np.float64, "float32": np.float32}[os.environ.get("RACE_SCORE_DTYPE", "float64")]
WIDTHS = (64, 64, "pool", 128, 128, "pool", 256, 256, 256, 256, "pool", 512, 512, 512, 512, "pool", 512)


def relu_outputs(x: torch.Tensor, weights: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    """relu<b>_<i> activations of VGG19 (average pooling) up to relu5_1."""
    found, block, index = {}, 1, 0
    for width in WIDTHS:
        if width == "pool":
            x, block, index = F.avg_pool2d(x, 2), block + 1, 0
            continue
        index += 1
        w = torch.from_numpy(weights[f"conv{block}_{index}_weight"].astype(DTYPE))
        b = torch.from_numpy(weights[f"conv{block}_{index}_bias"].astype(DTYPE))
        x = F.relu(F.conv2d(x, w, b, padding=1))
        found[f"relu{block}_{index}"] = x
    return found


def score(x: np.ndarray, problem, weights: Dict[str, np.ndarray]) -> float:
    """The objective of one network-space ``1x3xHxW`` image."""
    style_weight, content_weight, tv_weight = map(float, problem["weights"])
    with torch.no_grad():
        mine = relu_outputs(torch.from_numpy(x.astype(DTYPE)), weights)
        total = content_weight * float(((mine["relu4_2"].double() - problem["content_relu4_2"]) ** 2).sum())
        for name, target in zip(STYLE, problem["style_grams"]):
            f = mine[name].reshape(mine[name].shape[1], -1).double()
            total += style_weight / (f.shape[0] ** 2 * f.shape[1]) * float(((f @ f.t() - target) ** 2).sum())
    p = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    tv = (np.diff(p, axis=2)[:, :, :, 1:-1] ** 2).sum() + (np.diff(p, axis=3)[:, :, 1:-1, :] ** 2).sum()
    return total + tv_weight / 16.0 * float(tv)


STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def targets(problem, weights: Dict[str, np.ndarray]) -> dict:
    """The problem with its style Grams and content features computed (float64)."""
    with torch.no_grad():
        s = relu_outputs(torch.from_numpy(problem["style"].astype(DTYPE)), weights)
        c = relu_outputs(torch.from_numpy(problem["content"].astype(DTYPE)), weights)
    grams = [s[n].reshape(s[n].shape[1], -1).double() @ s[n].reshape(s[n].shape[1], -1).double().t() for n in STYLE]
    return dict(weights=problem["weights"], style_grams=grams, content_relu4_2=c["relu4_2"].double())


def main(problem_path: str, weights_path: str, out: str, files: List[str]) -> None:
    from PIL import Image

    raw = np.load(problem_path)
    weights = dict(np.load(weights_path))
    problem = targets(raw, weights)
    mean = raw["mean"].reshape(1, 3, 1, 1)
    scores = {}
    for path in files:
        if path.endswith(".npy"):
            x = np.load(path)
        else:
            x = np.asarray(Image.open(path).convert("RGB"), np.float64).transpose(2, 0, 1)[None] - mean
        scores[path] = score(x, problem, weights)
    with open(out, "w") as f:
        json.dump(scores, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
