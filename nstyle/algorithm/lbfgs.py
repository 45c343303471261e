"""SciPy's L-BFGS-B one iteration at a time, on flat float64 vectors, with the pixel bounds built in.

``scipy.optimize.minimize`` runs its own loop. Here it runs in a worker thread that pauses after every iteration
(in its callback) until the next :meth:`LBFGSB.step`, so the caller keeps the epoch loop: the stopping rule,
snapshots, signals. Only one of the two threads runs at a time. SciPy does not expose the solver's memory (the
stored steps), so a checkpoint holds the position alone: after :meth:`LBFGSB.load_state` the solver starts again
from there with an empty memory, as it does after a failed line search.

Compared with nstyle's former hand-written L-BFGS (projected steps, Armijo backtracking) on the same objective,
start, memory and bounds, L-BFGS-B reached the classic run's objective in as few or fewer evaluations (README,
``python bench/lbfgs.py``).
"""
from __future__ import annotations

import queue
import threading
import weakref
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from scipy.optimize import Bounds, minimize

ValueAndGrad = Callable[[np.ndarray], Tuple[float, np.ndarray]]

_STOP = "stop"


class _Stopped(Exception):
    """Raised in the worker's callback to end ``minimize`` when the solver is dropped or restarted."""


class LBFGSB:
    """Minimise ``fun`` from ``x0`` within ``bounds = (lower, upper)``; each :meth:`step` is one iteration.

    ``x`` and ``f`` are the latest iterate and its value (``f`` is NaN before the first step).
    """

    def __init__(self, fun: ValueAndGrad, x0: np.ndarray, history: int = 10,
                 bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> None:
        self.fun, self.history = fun, history
        shape = np.shape(x0)
        self.bounds = None if bounds is None else Bounds(*(np.broadcast_to(b, shape).ravel() for b in bounds))
        self.x = np.asarray(x0, np.float64).ravel().copy()
        if self.bounds is not None:
            self.x = np.clip(self.x, self.bounds.lb, self.bounds.ub)
        self.f = float("nan")
        self._worker: Optional[_Worker] = None

    def step(self) -> float:
        """One iteration (a direction and its line search); returns the new ``f``."""
        if self._worker is None:
            self._worker = _Worker(self.fun, self.x, self.history, self.bounds)
        try:
            kind, x, f = self._worker.next()
        except BaseException:
            self._worker = None
            raise
        if kind == "end":  # SciPy gave up (a line search failed): start again from here with an empty memory
            self._worker = None
        self.x, self.f = x, f
        return f

    def state_dict(self) -> Dict[str, np.ndarray]:
        """The position and its value."""
        return {"x": self.x, "f": np.float64(self.f)}

    def load_state(self, state: Dict[str, np.ndarray]) -> None:
        """Continue from a :meth:`state_dict` (with an empty memory); ``ValueError`` if it is another problem's."""
        x = np.asarray(state["x"], np.float64)
        if x.shape != self.x.shape:
            raise ValueError(f"position of shape {x.shape}, expected {self.x.shape}")
        self.x, self.f = x.copy(), float(state["f"])
        self._worker = None


class _Worker:
    """One ``minimize`` call in a daemon thread, handing over each iterate and waiting for the next request."""

    def __init__(self, fun: ValueAndGrad, x0: np.ndarray, history: int, bounds: Optional[Bounds]) -> None:
        self.requests: "queue.Queue[str]" = queue.Queue()
        self.results: "queue.Queue[tuple]" = queue.Queue()
        thread = threading.Thread(target=_solve, args=(fun, x0.copy(), history, bounds, self.requests, self.results),
                                  daemon=True, name="nstyle-lbfgsb")
        thread.start()
        # the thread holds no reference to this object: when the solver drops it, the thread is told to end
        weakref.finalize(self, self.requests.put, _STOP)

    def next(self) -> Tuple[str, np.ndarray, float]:
        """Let the solver make one more iteration: ``("iterate" | "end", x, f)``; re-raises the solver's errors."""
        self.requests.put("go")
        kind, x, f = self.results.get()
        if kind == "error":
            raise x
        return kind, x, f


def _solve(fun: ValueAndGrad, x0: np.ndarray, history: int, bounds: Optional[Bounds],
           requests: "queue.Queue[str]", results: "queue.Queue[tuple]") -> None:
    """The worker thread: run L-BFGS-B, pausing at each iterate; end when told to or when SciPy stops."""
    last: Dict[str, object] = {}

    def evaluate(x: np.ndarray) -> Tuple[float, np.ndarray]:
        f, g = fun(x)
        last.update(x=x.copy(), f=float(f))
        return f, g

    def iterate(x: np.ndarray) -> None:
        # the line search ends on the point it accepts, so the last evaluation is this iterate's
        f = last["f"] if np.array_equal(last["x"], x) else float(fun(x)[0])
        results.put(("iterate", x.copy(), f))
        if requests.get() == _STOP:
            raise _Stopped

    if requests.get() == _STOP:
        return
    try:
        res = minimize(evaluate, x0, jac=True, method="L-BFGS-B", bounds=bounds, callback=iterate,
                       options={"maxcor": history, "maxiter": 2**31 - 1, "maxfun": 2**31 - 1, "ftol": 0.0,
                                "gtol": 0.0})
        results.put(("end", np.asarray(res.x, np.float64), float(res.fun)))
    except _Stopped:
        pass
    except Exception as exc:  # handed to the caller's thread
        results.put(("error", exc, float("nan")))
