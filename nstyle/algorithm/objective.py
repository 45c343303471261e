"""The true objective behind the classic update, for optimisers that need function values.

``f(x) = sum_i w_i L_i(x) + E_tv(x)`` where ``w_i`` are the head-gradient weights (style layers, then content)
and ``E_tv(x) = 1/2 x . T(x)`` with ``T(x) = tv_weight * (Laplacian (*) x) / 8`` per channel (zero padding).
The zero-padded Laplacian is a symmetric operator, so the gradient of ``E_tv`` is exactly ``T(x)``: the term
the classic loop adds to the image gradient. ``E_tv`` equals ``tv_weight/16`` times the sum of squared
differences between neighbouring pixels, plus the squares of border pixels against the zero padding.

An optional :class:`Penalty` (the temporal loss of a video frame) adds its energy and gradient to ``f``.
"""
from __future__ import annotations

from typing import List, Optional, Protocol, Tuple

import mxnet as mx
import numpy as np

from . import losses, lossnet


class Penalty(Protocol):
    """An extra energy term on the image (network space, ``1x3xHxW``) that every optimiser sees: NAG and Adam add
    :meth:`gradient` to the network's gradient before clipping, L-BFGS adds :meth:`value_and_grad` to ``f``."""

    def value(self, x: np.ndarray) -> float:
        """The energy at ``x`` (float64)."""

    def value_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        """The energy and its gradient at ``x`` (float64, shaped ``1x3xHxW``)."""

    def gradient(self, img: mx.nd.NDArray) -> mx.nd.NDArray:
        """The gradient at ``img``, on its device."""


class Objective:
    """Evaluates ``f`` (plus ``penalty``'s energy, if any) and its gradient on the bound loss executor."""

    def __init__(self, executor: mx.executor.Executor, head_grads: List[mx.nd.NDArray], tv_weight: float,
                 ctx: mx.Context, n_style: Optional[int] = None, train_forward: bool = False,
                 penalty: Optional[Penalty] = None) -> None:
        self.executor, self.head_grads = executor, head_grads
        self.train_forward = train_forward  # lossnet.training_forward: True with max pooling
        self.data = executor.arg_dict["data"]
        self.shape = self.data.shape
        self.weights = [h.asscalar() for h in head_grads]
        self.n_style = n_style
        self.tv_input = mx.nd.zeros(self.shape, ctx)
        self.tv = losses.tv_gradient_executor(self.tv_input, ctx, tv_weight)
        self.penalty = penalty
        self.penalty_value = float("nan")  # the penalty's energy at the last evaluation (NaN without one)
        self.evaluations = 0  # calls of value_and_grad so far
        #: weighted style, content and TV parts of the last evaluation
        self.parts: Tuple[float, float, float] = (float("nan"),) * 3

    def _losses(self) -> Tuple[float, float]:
        return losses.weighted_parts([o.asscalar() for o in self.executor.outputs], self.weights, self.n_style)

    def _tv(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        if self.tv is None:
            return 0.0, np.zeros(self.shape)
        self.tv_input[:] = x
        self.tv.forward()
        grad = self.tv.outputs[0].asnumpy().astype(np.float64)
        return 0.5 * float(np.dot(x.ravel(), grad.ravel())), grad

    def value(self, x: np.ndarray) -> float:
        """``f(x)`` alone (one forward pass)."""
        self.data[:] = x.reshape(self.shape)
        self.executor.forward(is_train=False)
        style, content = self._losses()
        tv, _ = self._tv(x.reshape(self.shape))
        self.parts = (style, content, tv)
        if self.penalty is not None:
            self.penalty_value = self.penalty.value(x.reshape(self.shape))
            return style + content + tv + self.penalty_value
        return style + content + tv

    def value_and_grad(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        """``f(x)`` and its gradient, both float64, gradient shaped like ``x``."""
        self.evaluations += 1
        shaped = x.reshape(self.shape)
        self.data[:] = shaped
        lossnet.forward_backward(self.executor, self.head_grads, self.train_forward)
        grad = self.executor.grad_dict["data"].asnumpy().astype(np.float64)
        style, content = self._losses()
        tv, tv_grad = self._tv(shaped)
        self.parts = (style, content, tv)
        if self.penalty is not None:
            self.penalty_value, penalty_grad = self.penalty.value_and_grad(shaped)
            return (style + content + tv + self.penalty_value,
                    (grad + tv_grad + penalty_grad).reshape(x.shape))
        return style + content + tv, (grad + tv_grad).reshape(x.shape)
