"""The optimisation loops on the image (classic NAG, Adam, L-BFGS), one :class:`Loop` interface, and the start image.

A loop owns the image: each :meth:`Loop.step` is one epoch and reports an :class:`Epoch`; the caller applies the
stopping rule (``Loop.patience`` small changes in a row), saves snapshots from :meth:`Loop.state_dict` and resumes
with :meth:`Loop.load_state`. :func:`make_loop` builds the loop ``--optimizer`` names; :func:`start_image` the
image it starts from.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Protocol, Tuple

import mxnet as mx
import numpy as np

from ..config import Config
from ..files import images
from ..files.images import Inputs
from . import losses, lossnet
from .lbfgs import LBFGSB
from .objective import Objective, Penalty

#: Consecutive epochs below --stop-eps that stop the adam and lbfgs optimisers. The classic NAG stops at the
#: first one; L-BFGS and Adam take an occasional short step on their way.
PATIENCE = 5


@dataclass
class Epoch:
    """What one epoch reports."""

    epoch: int  # 1-based count of updates done
    eps: float  # relative change ||x_prev - x|| / ||x||
    style_loss: float  # weighted sum over style layers
    content_loss: float  # weighted
    lr: float
    seconds: float
    evaluations: int = 1  # of the objective and its gradient (one VGG forward + backward each)
    penalty: float = float("nan")  # the extra energy term (a video frame's temporal loss); NaN without one

    @property
    def finite(self) -> bool:
        """False when the loss or the image's change is NaN or infinite."""
        return all(math.isfinite(v) for v in (self.eps, self.style_loss, self.content_loss))


class Loop(Protocol):
    """What every optimiser loop offers (:class:`NAGLoop`, :class:`AdamLoop`, :class:`LBFGSLoop`)."""

    #: epochs done (1-based count of updates; restored by :meth:`load_state`)
    epoch: int
    #: consecutive epochs with a change below ``--stop-eps`` after which the loop has converged
    patience: int

    @property
    def old_img(self) -> mx.nd.NDArray:
        """The last image with a finite loss (what is saved when a step goes NaN)."""

    def step(self) -> Epoch:
        """One epoch: update the image in place and report."""

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Everything needed to continue exactly where the loop is (for ``checkpoint.npz``)."""

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`."""


def noise_image(shape, ctx: mx.Context, seed: int) -> mx.nd.NDArray:
    """The classic start: uniform noise in [-0.1, 0.1], seeded right before the draw."""
    mx.random.seed(seed)
    np.random.seed(seed)
    img = mx.nd.zeros(shape, ctx=ctx)
    img[:] = mx.nd.random.uniform(-0.1, 0.1, shape, ctx=ctx)
    return img


class NAGLoop:
    """One forward + backward + NAG update per :meth:`step`, exactly as the classic script.

    A ``penalty`` (a video frame's temporal loss) adds its gradient to the network's before the clipping, as one
    more loss of the image, and its energy to the epoch's report."""

    patience = 1  # the classic stops at the first small change

    def __init__(self, executor: mx.executor.Executor, head_grads: List[mx.nd.NDArray], img: mx.nd.NDArray,
                 lr: float, lr_sched_delay: int, lr_sched_factor: float, tv_weight: float,
                 ctx: mx.Context, n_style: Optional[int] = None, train_forward: bool = False,
                 penalty: Optional[Penalty] = None) -> None:
        self.executor, self.head_grads, self.img, self.ctx = executor, head_grads, img, ctx
        self.penalty = penalty
        self.train_forward = train_forward  # lossnet.training_forward: True with max pooling
        self.data = executor.arg_dict["data"]
        self.data_grad = executor.grad_dict["data"]
        scheduler = mx.lr_scheduler.FactorScheduler(step=lr_sched_delay, factor=lr_sched_factor, base_lr=lr)
        self.optimizer = self.make_optimizer(lr, scheduler)
        self.state = self.optimizer.create_state(0, img)
        self.old_img = img.copyto(ctx)
        self.clip_norm = self.clip_limit(img.shape)
        self.tv = losses.tv_gradient_executor(img, ctx, tv_weight)
        self.loss_weights = [g.asscalar() for g in head_grads]
        self.n_style = n_style
        self.epoch = 0

    @staticmethod
    def make_optimizer(lr: float, scheduler: mx.lr_scheduler.LRScheduler) -> mx.optimizer.Optimizer:
        """The classic optimiser: NAG, momentum 0.95, weight decay 1e-4."""
        return mx.optimizer.NAG(learning_rate=lr, wd=0.0001, momentum=0.95, lr_scheduler=scheduler)

    @staticmethod
    def clip_limit(shape) -> float:
        """The classic clips the gradient norm at the number of image elements."""
        return float(np.prod(shape))

    def _state_arrays(self) -> List[mx.nd.NDArray]:
        return list(self.state) if isinstance(self.state, (tuple, list)) else [self.state]

    def step(self) -> Epoch:
        """One epoch; returns its report."""
        start = time.perf_counter()
        ex = self.executor
        self.img.copyto(self.data)
        lossnet.forward_backward(ex, self.head_grads, self.train_forward)
        penalty = float("nan")
        if self.penalty is not None:
            penalty = self.penalty.value(self.data.asnumpy())
            self.data_grad[:] += self.penalty.gradient(self.data)
        gnorm = mx.nd.norm(self.data_grad).asscalar()
        if gnorm > self.clip_norm:
            self.data_grad[:] *= self.clip_norm / gnorm
        if self.tv is not None:
            self.tv.forward()
            self.optimizer.update(0, self.img, self.data_grad + self.tv.outputs[0], self.state)
        else:
            self.optimizer.update(0, self.img, self.data_grad, self.state)
        eps = (mx.nd.norm(self.old_img - self.img) / mx.nd.norm(self.img)).asscalar()
        style, content = losses.weighted_parts([o.asscalar() for o in ex.outputs], self.loss_weights, self.n_style)
        self.epoch += 1
        ep = Epoch(self.epoch, float(eps), style, content, float(self.optimizer.learning_rate),
                   time.perf_counter() - start, penalty=penalty)
        if ep.finite:  # otherwise old_img keeps the last finite image for the caller to save
            self.old_img = self.img.copyto(self.ctx)
        return ep

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Everything needed to continue exactly where this loop is (for ``checkpoint.npz``)."""
        opt, sched = self.optimizer, self.optimizer.lr_scheduler
        return {"image": self.img.asnumpy(), "old_image": self.old_img.asnumpy(),
                "optimizer_state": np.stack([a.asnumpy() for a in self._state_arrays()]),
                "epoch": np.int64(self.epoch), "num_update": np.int64(opt.num_update),
                "sched_count": np.int64(sched.count), "sched_base_lr": np.float64(sched.base_lr)}

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`."""
        opt, sched = self.optimizer, self.optimizer.lr_scheduler
        self.img[:] = state["image"]
        self.old_img[:] = state["old_image"]
        for array, saved in zip(self._state_arrays(), state["optimizer_state"]):
            array[:] = saved
        self.epoch = int(state["epoch"])
        opt.num_update = int(state["num_update"])
        opt._index_update_count[0] = int(state["num_update"])
        sched.count, sched.base_lr = int(state["sched_count"]), float(state["sched_base_lr"])


class AdamLoop(NAGLoop):
    """The classic loop with Adam instead of NAG and no gradient clipping (``--optimizer adam``)."""

    patience = PATIENCE

    @staticmethod
    def make_optimizer(lr: float, scheduler: mx.lr_scheduler.LRScheduler) -> mx.optimizer.Optimizer:
        """Adam on the image; ``lr`` is roughly the step per pixel, in 0..255 levels."""
        return mx.optimizer.Adam(learning_rate=lr, lr_scheduler=scheduler)

    @staticmethod
    def clip_limit(shape) -> float:
        """No clipping: Adam normalises the step itself."""
        return float("inf")


class LBFGSLoop:
    """L-BFGS-B (:mod:`nstyle.algorithm.lbfgs`) on the true objective
    (:class:`nstyle.algorithm.objective.Objective`), the pixels kept within ``bounds``; one iteration per
    :meth:`step`."""

    patience = PATIENCE

    def __init__(self, objective: Objective, img: mx.nd.NDArray, history: int,
                 bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
        self.objective, self.img = objective, img
        self.solver = LBFGSB(objective.value_and_grad, img.asnumpy(), history=history, bounds=bounds,
                             polyak_start=True)
        self.epoch = 0
        self._evaluations = 0  # objective.evaluations at the end of the last step

    @property
    def old_img(self) -> mx.nd.NDArray:
        """The last image with a finite objective (the solver never accepts a non-finite one)."""
        return mx.nd.array(self.solver.x.reshape(self.img.shape), self.img.context)

    def step(self) -> Epoch:
        """One L-BFGS-B iteration; ``evaluations`` are those of its line search (the first step's also count the
        evaluation at the start). ``lr`` is NaN: the line search's step length is SciPy's own."""
        start = time.perf_counter()
        old = self.solver.x
        self.solver.step()
        new = self.solver.x
        self.img[:] = new.reshape(self.img.shape)
        self.epoch += 1
        style, content, _ = self.objective.parts
        eps = float(np.linalg.norm(old - new) / max(np.linalg.norm(new), 1e-300))
        evaluations, self._evaluations = self.objective.evaluations - self._evaluations, self.objective.evaluations
        return Epoch(self.epoch, eps, style, content, float("nan"), time.perf_counter() - start, evaluations,
                     self.objective.penalty_value)

    def state_dict(self) -> Dict[str, np.ndarray]:
        """The solver's state and the epoch count."""
        return dict(self.solver.state_dict(), epoch=np.int64(self.epoch))

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`."""
        self.solver.load_state(state)
        self.epoch = int(state["epoch"])
        self.img[:] = self.solver.x.reshape(self.img.shape)


def make_loop(cfg: Config, executor: mx.executor.Executor, head: List[mx.nd.NDArray], img: mx.nd.NDArray,
              ctx: mx.Context, n_style: int, penalty: Optional[Penalty] = None) -> Loop:
    """The optimiser loop for ``--optimizer`` on the bound loss ``executor``, updating ``img`` in place; a
    ``penalty`` is one more energy term every optimiser sees."""
    train = lossnet.training_forward(cfg.pooling)
    if cfg.optimizer == "lbfgs":
        return LBFGSLoop(Objective(executor, head, cfg.tv_weight, ctx, n_style, train, penalty), img,
                         cfg.lbfgs_history, bounds=images.pixel_bounds(img.shape))
    kind = AdamLoop if cfg.optimizer == "adam" else NAGLoop
    return kind(executor, head, img, cfg.learning_rate, cfg.lr_sched_delay, cfg.lr_sched_factor, cfg.tv_weight,
                ctx, n_style, train, penalty)


def start_image(cfg: Config, inputs: Optional[Inputs], size: Tuple[int, int], content_np: Optional[np.ndarray],
                ctx: mx.Context, previous: Optional[mx.nd.NDArray]) -> mx.nd.NDArray:
    """The first image of a level: ``--init`` on the first level, the previous level's result upsampled after."""
    shape = (1, 3) + tuple(size)
    if previous is not None:
        from skimage.transform import resize

        up = resize(previous.asnumpy()[0].transpose(1, 2, 0), size, order=1, preserve_range=True,
                    anti_aliasing=False)
        return mx.nd.array(up.transpose(2, 0, 1)[None], ctx)
    if cfg.init == "noise":
        return noise_image(shape, ctx, cfg.seed)
    if cfg.init == "content":
        return mx.nd.array(content_np, ctx)
    source = inputs.styles[0] if cfg.init == "style" else images.read_image(cfg.init, max(size))
    return mx.nd.array(images.preprocess(source, size), ctx)
