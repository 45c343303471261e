"""nstyle's former hand-written L-BFGS (two-loop recursion, backtracking Armijo line search, projected onto the
bounds), kept only so that bench/lbfgs.py can compare it with SciPy's L-BFGS-B, which nstyle uses now.
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Deque, Dict, Optional, Tuple

import numpy as np

ValueAndGrad = Callable[[np.ndarray], Tuple[float, np.ndarray]]


class LBFGS:
    """Minimise ``fun`` from ``x0``; each :meth:`step` is one iteration (a direction and a line search).

    With ``bounds = (lower, upper)`` every trial point is clipped into the box (projected L-BFGS), and the
    Armijo test uses the step actually taken, so ``f`` still never increases.

    ``first_step`` bounds the first move (no curvature is known yet): the steepest-descent direction is
    scaled so that its largest component is ``first_step``. Later iterations start the line search at 1,
    with the initial inverse Hessian ``s.y / y.y`` of the newest pair.
    """

    def __init__(self, fun: ValueAndGrad, x0: np.ndarray, history: int = 10, first_step: float = 1.0,
                 c1: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 30,
                 bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
        self.fun, self.history = fun, history
        self.first_step, self.c1, self.shrink, self.max_backtracks = first_step, c1, shrink, max_backtracks
        self.bounds = None if bounds is None else tuple(np.broadcast_to(b, np.shape(x0)).ravel() for b in bounds)
        self.x = self._project(np.asarray(x0, np.float64).ravel().copy())
        self.f, self.g = fun(self.x)
        self.pairs: Deque[Tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=history)
        self.last_step = 0.0

    def _project(self, x: np.ndarray) -> np.ndarray:
        """Clip ``x`` into the box, when there is one."""
        return x if self.bounds is None else np.clip(x, *self.bounds)

    def direction(self) -> np.ndarray:
        """``-H g`` by the two-loop recursion over the stored ``(s, y)`` pairs."""
        q = -self.g.copy()
        if not self.pairs:
            return q * (self.first_step / max(np.abs(q).max(), 1e-300))
        alphas = []
        for s, y, rho in reversed(self.pairs):
            a = rho * np.dot(s, q)
            q -= a * y
            alphas.append(a)
        s, y, _ = self.pairs[-1]
        q *= np.dot(s, y) / np.dot(y, y)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            b = rho * np.dot(y, q)
            q += (a - b) * s
        return q

    def _free(self, d: np.ndarray) -> np.ndarray:
        """Drop the components of ``d`` that push a variable already at a bound further out."""
        if self.bounds is not None:
            lower, upper = self.bounds
            d[((self.x <= lower) & (d < 0)) | ((self.x >= upper) & (d > 0))] = 0.0
        return d

    def step(self) -> float:
        """One iteration; returns the new ``f``. ``f`` never increases (Armijo condition)."""
        d = self._free(self.direction())
        slope = float(np.dot(self.g, d))
        if slope >= 0:  # not a descent direction (numerical trouble): restart from steepest descent
            self.pairs.clear()
            d = self._free(self.direction())
            slope = float(np.dot(self.g, d))
        t = 1.0
        for _ in range(self.max_backtracks):
            x_new = self._project(self.x + t * d)
            f_new, g_new = self.fun(x_new)
            if np.isfinite(f_new) and f_new <= self.f + self.c1 * float(np.dot(self.g, x_new - self.x)):
                break
            t *= self.shrink
        else:
            self.last_step = 0.0
            self.pairs.clear()
            return self.f
        s, y = x_new - self.x, g_new - self.g
        sy = float(np.dot(s, y))
        if sy > 1e-10 * float(np.dot(y, y)):
            self.pairs.append((s, y, 1.0 / sy))
        self.x, self.f, self.g, self.last_step = x_new, f_new, g_new, t
        return self.f

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Position, value, gradient and the stored pairs, as arrays."""
        pairs = list(self.pairs)
        return {"x": self.x, "f": np.float64(self.f), "g": self.g,
                "s": np.array([p[0] for p in pairs]).reshape(len(pairs), -1),
                "y": np.array([p[1] for p in pairs]).reshape(len(pairs), -1)}

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict`."""
        self.x, self.f, self.g = state["x"].copy(), float(state["f"]), state["g"].copy()
        self.pairs.clear()
        for s, y in zip(state["s"], state["y"]):
            self.pairs.append((s.copy(), y.copy(), 1.0 / float(np.dot(s, y))))
