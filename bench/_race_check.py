"""Both racers' own objectives on one network image (bench/race.py ``--check-scorer``)."""
from __future__ import annotations

import numpy as np


def nstyle_value(problem_path: str, weights_path: str, image_path: str) -> float:
    """nstyle's :class:`~nstyle.algorithm.objective.Objective` (the one its L-BFGS minimises)."""
    import mxnet as mx

    from nstyle.algorithm import losses
    from nstyle.algorithm.lossnet import LossNet
    from nstyle.algorithm.objective import Objective

    problem, params = np.load(problem_path), dict(np.load(weights_path))
    style_weight, content_weight, tv_weight = map(float, problem["weights"])
    net = LossNet(params, problem["content"].shape[2:], mx.cpu())
    executor = net.bind_losses(net.gram_targets(problem["style"]), net.content_targets(problem["content"]))
    head = losses.head_gradients(net.style_shapes, style_weight, content_weight, mx.cpu())
    return Objective(executor, head, tv_weight, mx.cpu()).value(np.load(image_path))


def torch_value(problem_path: str, weights_path: str, image_path: str) -> float:
    """The PyTorch side's objective (bench/_race_torch.py)."""
    import torch

    from _race_torch import ClassicObjective, VGGFeatures

    problem, weights = np.load(problem_path), dict(np.load(weights_path))
    objective = ClassicObjective(VGGFeatures(weights), problem["content"].astype(np.float32),
                                 problem["style"].astype(np.float32), *map(float, problem["weights"]))
    with torch.no_grad():
        return float(objective(torch.from_numpy(np.load(image_path).astype(np.float32))))
