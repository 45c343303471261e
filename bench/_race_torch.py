"""The race's PyTorch side (bench/race.py): the PyTorch tutorial's recipe on nstyle's classic objective.

``torch.optim.LBFGS(lr=1, history_size=100, line_search_fn="strong_wolfe")`` on the image from the content
picture, the image clamped to the pixel range before each evaluation (as the tutorial clamps to 0..1), on a VGG19
feature model of its own (3x3 convolutions and ReLUs, average pooling) carrying the same synthetic weights. Every
iteration writes an 8-bit PNG snapshot and its wall time since launch; ends at the deadline.

    python bench/_race_torch.py PROBLEM.npz WEIGHTS.npz OUT_DIR SECONDS   (RACE_LAUNCH: the parent's launch time)
"""
from __future__ import annotations

import os
import sys
import time

LAUNCH = float(os.environ.get("RACE_LAUNCH", time.time()))

# bench/profile.py would shadow the standard library's profile module, which torch imports
_BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _BENCH]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))
STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT = "relu4_2"


class VGGFeatures(nn.Module):
    """VGG19's convolution stack up to relu5_1, average pooling, returning the named ReLU outputs."""

    def __init__(self, weights: dict) -> None:
        super().__init__()
        self.names, layers, width = [], [], 3
        for b, n, w in BLOCKS:
            for i in range(1, n + 1):
                conv = nn.Conv2d(width, w, 3, padding=1)
                conv.weight.data = torch.from_numpy(weights[f"conv{b}_{i}_weight"])
                conv.bias.data = torch.from_numpy(weights[f"conv{b}_{i}_bias"])
                layers += [conv, nn.ReLU()]
                self.names += [None, f"relu{b}_{i}"]
                width = w
                if (b, i) == (5, 1):
                    break
            if b < 5:
                layers.append(nn.AvgPool2d(2, 2))
                self.names.append(None)
        self.layers = nn.ModuleList(layers)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> dict:
        out = {}
        for name, layer in zip(self.names, self.layers):
            x = layer(x)
            if name:
                out[name] = x
        return out


def gram(f: torch.Tensor) -> torch.Tensor:
    m = f.reshape(f.shape[1], -1)
    return m @ m.t()


class ClassicObjective:
    """Weighted style (style_weight / (C*N*C) per layer) + content (content_weight) + TV energy (tv_weight / 16 times
    the squared neighbour differences, zero padding), as nstyle defines it."""

    def __init__(self, model: VGGFeatures, content: np.ndarray, style: np.ndarray, style_weight: float,
                 content_weight: float, tv_weight: float) -> None:
        self.model, self.cw, self.tv = model, content_weight, tv_weight
        with torch.no_grad():
            feats = model(torch.from_numpy(style))
            self.grams = [gram(feats[n]) for n in STYLE]
            self.sw = [style_weight / (f.shape[1] ** 2 * f.shape[2] * f.shape[3]) for f in (feats[n] for n in STYLE)]
            self.content = model(torch.from_numpy(content))[CONTENT]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.model(x)
        loss = self.cw * ((feats[CONTENT] - self.content) ** 2).sum()
        for n, g, w in zip(STYLE, self.grams, self.sw):
            loss = loss + w * ((gram(feats[n]) - g) ** 2).sum()
        p = nn.functional.pad(x, (1, 1, 1, 1))
        tv = (((p[:, :, 1:, 1:-1] - p[:, :, :-1, 1:-1]) ** 2).sum()
              + ((p[:, :, 1:-1, 1:] - p[:, :, 1:-1, :-1]) ** 2).sum())
        return loss + self.tv / 16.0 * tv


def main(problem_path: str, weights_path: str, out: str, seconds: float) -> None:
    from PIL import Image

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    imported = time.time() - LAUNCH
    problem, weights = np.load(problem_path), dict(np.load(weights_path))
    mean = problem["mean"].reshape(1, 3, 1, 1).astype(np.float32)
    objective = ClassicObjective(VGGFeatures(weights), problem["content"].astype(np.float32),
                                 problem["style"].astype(np.float32), *map(float, problem["weights"]))
    x = torch.from_numpy(problem["content"].astype(np.float32)).requires_grad_(True)
    lower, upper = torch.from_numpy(-mean), torch.from_numpy(255.0 - mean)
    opt = torch.optim.LBFGS([x], lr=1, history_size=100, line_search_fn="strong_wolfe", max_iter=1)
    evaluations = [0]

    def closure() -> torch.Tensor:
        with torch.no_grad():
            x.clamp_(lower, upper)
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        evaluations[0] += 1
        return loss

    log = open(os.path.join(out, "times.txt"), "w")
    log.write(f"import {imported:.3f}\nready {time.time() - LAUNCH:.3f}\n")
    k = 0
    while time.time() - LAUNCH < seconds:
        opt.step(closure)
        k += 1
        with torch.no_grad():
            rgb = np.clip(x.numpy()[0] + mean[0], 0, 255).astype(np.uint8).transpose(1, 2, 0)
        Image.fromarray(rgb).save(os.path.join(out, f"torch_{k:05d}.png"))
        log.write(f"torch_{k:05d}.png {time.time() - LAUNCH:.3f} {evaluations[0]}\n")
        log.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
