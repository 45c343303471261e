"""The classic optimisation loop: NAG on the image, clipping, the TV gradient, relative-change stop."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import mxnet as mx
import numpy as np

from . import losses


@dataclass
class Epoch:
    """What one epoch reports."""

    epoch: int  # 1-based count of updates done
    eps: float  # relative change ||x_prev - x|| / ||x||
    style_loss: float  # weighted sum over style layers
    content_loss: float  # weighted
    lr: float
    seconds: float

    @property
    def finite(self) -> bool:
        """False when the loss or the image's change is NaN or infinite."""
        return all(math.isfinite(v) for v in (self.eps, self.style_loss, self.content_loss))


def noise_image(shape, ctx: mx.Context, seed: int) -> mx.nd.NDArray:
    """The classic start: uniform noise in [-0.1, 0.1], seeded right before the draw."""
    mx.random.seed(seed)
    np.random.seed(seed)
    img = mx.nd.zeros(shape, ctx=ctx)
    img[:] = mx.nd.random.uniform(-0.1, 0.1, shape, ctx=ctx)
    return img


class NAGLoop:
    """One forward + backward + NAG update per :meth:`step`, exactly as the classic script."""

    def __init__(self, executor: mx.executor.Executor, head_grads: List[mx.nd.NDArray], img: mx.nd.NDArray,
                 lr: float, lr_sched_delay: int, lr_sched_factor: float, tv_weight: float,
                 ctx: mx.Context) -> None:
        self.executor, self.head_grads, self.img, self.ctx = executor, head_grads, img, ctx
        self.data = executor.arg_dict["data"]
        self.data_grad = executor.grad_dict["data"]
        scheduler = mx.lr_scheduler.FactorScheduler(step=lr_sched_delay, factor=lr_sched_factor,
                                                     base_lr=lr)
        self.optimizer = mx.optimizer.NAG(learning_rate=lr, wd=0.0001, momentum=0.95, lr_scheduler=scheduler)
        self.state = self.optimizer.create_state(0, img)
        self.old_img = img.copyto(ctx)
        self.clip_norm = float(np.prod(img.shape))
        self.tv = losses.tv_gradient_executor(img, ctx, tv_weight)
        self.loss_weights = [g.asscalar() for g in head_grads]
        self.epoch = 0

    def step(self) -> Epoch:
        """One epoch; returns its report."""
        start = time.perf_counter()
        ex = self.executor
        self.img.copyto(self.data)
        ex.forward(is_train=True)
        ex.backward(self.head_grads)
        gnorm = mx.nd.norm(self.data_grad).asscalar()
        if gnorm > self.clip_norm:
            self.data_grad[:] *= self.clip_norm / gnorm
        if self.tv is not None:
            self.tv.forward()
            self.optimizer.update(0, self.img, self.data_grad + self.tv.outputs[0], self.state)
        else:
            self.optimizer.update(0, self.img, self.data_grad, self.state)
        eps = (mx.nd.norm(self.old_img - self.img) / mx.nd.norm(self.img)).asscalar()
        outs = [o.asscalar() for o in ex.outputs]
        weights = self.loss_weights
        style = float(sum(w * o for w, o in zip(weights[:-1], outs[:-1])))
        content = float(weights[-1] * outs[-1])
        self.epoch += 1
        ep = Epoch(self.epoch, float(eps), style, content, float(self.optimizer.learning_rate),
                   time.perf_counter() - start)
        if ep.finite:  # otherwise old_img keeps the last finite image for the caller to save
            self.old_img = self.img.copyto(self.ctx)
        return ep

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Everything needed to continue exactly where this loop is (for ``checkpoint.npz``)."""
        opt, sched = self.optimizer, self.optimizer.lr_scheduler
        return {"image": self.img.asnumpy(), "old_image": self.old_img.asnumpy(), "momentum": self.state.asnumpy(),
                "epoch": np.int64(self.epoch), "num_update": np.int64(opt.num_update),
                "sched_count": np.int64(sched.count), "sched_base_lr": np.float64(sched.base_lr)}

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`."""
        opt, sched = self.optimizer, self.optimizer.lr_scheduler
        self.img[:] = state["image"]
        self.old_img[:] = state["old_image"]
        self.state[:] = state["momentum"]
        self.epoch = int(state["epoch"])
        opt.num_update = int(state["num_update"])
        opt._index_update_count[0] = int(state["num_update"])
        sched.count, sched.base_lr = int(state["sched_count"]), float(state["sched_base_lr"])
