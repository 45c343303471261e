"""SciPy's L-BFGS-B one iteration at a time, on flat float64 vectors, with the pixel bounds built in.

SciPy's driver (``scipy.optimize.fmin_l_bfgs_b``) runs its own loop. Here it runs in a worker thread that pauses
after every iteration (in its callback) until the next :meth:`LBFGSB.step`, so the caller keeps the epoch loop: the
stopping rule, snapshots, signals. Only one of the two threads runs at a time. SciPy does not expose the solver's
memory (the stored steps), so a checkpoint holds the position alone: after :meth:`LBFGSB.load_state` the solver
starts again from there with an empty memory, as it does after a failed line search.

Compared with nstyle's former hand-written L-BFGS (projected steps, Armijo backtracking) on the same objective,
start, memory and bounds, L-BFGS-B reached the classic run's objective in as few or fewer evaluations (README,
``python bench/lbfgs.py``).

The first step: with no curvature pairs yet, L-BFGS-B tries the whole gradient as its first step (a unit step
length; on a boxed problem the gradient is not normalised), which on an image objective lands far outside the
pixel box and costs two or three more evaluations of backtracking. With ``polyak_start`` the solver works in
variables scaled by one power of two, ``x = c * y``, chosen so that the first trial step is the Polyak step
``f / |g|^2`` along the gradient to within a factor of 2 (the objective is a sum of squares, so its infimum is at
least 0). L-BFGS-B's later steps are invariant to such a scaling up to rounding (its initial Hessian is rescaled by
``s.y / y.y`` every iteration), so in effect only the first step changes. nstyle's L-BFGS loop uses it: its first
iteration costs 2 evaluations (the start and one trial) instead of 3 to 4 (``tests/algorithm/test_lbfgs.py``).
On a boxed problem the same iterates come, to the bit, from the objective scaled by ``c^2`` in the unscaled
variables, whose bounds do not depend on the start's value: SciPy then sets them up (Python loops over every
variable, in both pinned SciPy versions) while the caller evaluates the start (:class:`_Worker`).
"""
from __future__ import annotations

import queue
import threading
import weakref
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from scipy.optimize import Bounds, fmin_l_bfgs_b

ValueAndGrad = Callable[[np.ndarray], Tuple[float, np.ndarray]]

_STOP = "stop"


class _Stopped(Exception):
    """Raised in the worker's callback to end the SciPy driver when the solver is dropped or restarted."""


class LBFGSB:
    """Minimise ``fun`` from ``x0`` within ``bounds = (lower, upper)``; each :meth:`step` is one iteration.

    ``x`` and ``f`` are the latest iterate and its value (``f`` is NaN before the first step).
    """

    def __init__(self, fun: ValueAndGrad, x0: np.ndarray, history: int = 10,
                 bounds: Optional[Tuple[np.ndarray, np.ndarray]] = None, polyak_start: bool = False) -> None:
        self.fun, self.history, self.polyak_start = fun, history, polyak_start
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
            self._worker = _Worker(self.fun, self.x, self.history, self.bounds, self.polyak_start)
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
    """One SciPy driver call in a daemon thread, handing over each iterate and waiting for the next request.

    The thread starts the driver at once; the first :meth:`next` evaluates the start on the caller's thread meanwhile
    (MXNet computes without Python's lock), so SciPy's set-up, Python loops over every variable's bounds, runs
    during that evaluation instead of after it (on a fully boxed problem, where the set-up needs no scale)."""

    def __init__(self, fun: ValueAndGrad, x0: np.ndarray, history: int, bounds: Optional[Bounds],
                 polyak_start: bool = False) -> None:
        self.fun, self.x0 = fun, x0.copy()  # read only, here and in the thread
        self.requests: "queue.Queue[object]" = queue.Queue()
        self.results: "queue.Queue[tuple]" = queue.Queue()
        self.started = False
        thread = threading.Thread(target=_solve, args=(fun, self.x0, history, bounds, self.requests, self.results,
                                                       polyak_start), daemon=True, name="nstyle-lbfgsb")
        thread.start()
        # the thread holds no reference to this object: when the solver drops it, the thread is told to end
        weakref.finalize(self, self.requests.put, _STOP)

    def next(self) -> Tuple[str, np.ndarray, float]:
        """Let the solver make one more iteration: ``("iterate" | "end", x, f)``; re-raises the solver's errors."""
        if self.started:
            self.requests.put("go")
        else:  # the start's value and gradient, for the driver's first request
            self.started = True
            f0, g0 = self.fun(self.x0)
            self.requests.put((float(f0), np.asarray(g0, np.float64)))
        kind, x, f = self.results.get()
        if kind == "error":
            raise x
        return kind, x, f


def polyak_scale(f: float, g: np.ndarray, bounds: Optional[Bounds]) -> float:
    """The variable scale ``c`` (``x = c * y``) that makes L-BFGS-B's first trial step the Polyak step
    ``alpha = f / |g|^2`` along ``-g``: on a fully boxed problem SciPy tries ``y - grad_y`` (``x - c^2 g``), otherwise
    a step of unit length in ``y`` (length ``c`` in ``x``). Rounded to a power of two, so that scaling is exact and
    the solver's start is ``x0`` to the bit; 1 when the gradient is zero or not finite."""
    gg = float(np.dot(g, g))
    if not (np.isfinite(f) and f > 0 and np.isfinite(gg) and gg > 0):
        return 1.0
    alpha = f / gg
    c = float(np.sqrt(alpha)) if boxed(bounds) else alpha * float(np.sqrt(gg))
    return float(2.0 ** np.round(np.log2(c)))


def bound_pairs(bounds: Optional[Bounds]) -> Optional[List[Tuple[float, float]]]:
    """``bounds`` as per-variable ``(min, max)`` pairs of Python floats, the form SciPy's L-BFGS-B driver reads.

    ``minimize`` converts bounds between its two forms in Python loops over every variable, twice, which costs
    seconds on a 600x400 image; ``fmin_l_bfgs_b`` runs the same driver (same arrays, options and iterates) on
    these pairs directly."""
    if bounds is None:
        return None
    return list(zip(np.asarray(bounds.lb, np.float64).tolist(), np.asarray(bounds.ub, np.float64).tolist()))


def boxed(bounds: Optional[Bounds]) -> bool:
    """Whether every variable has a finite lower and upper bound (SciPy's L-BFGS-B then tries a unit step)."""
    return bounds is not None and bool(np.all(np.isfinite(bounds.lb)) and np.all(np.isfinite(bounds.ub)))


def _solve(fun: ValueAndGrad, x0: np.ndarray, history: int, bounds: Optional[Bounds],
           requests: "queue.Queue[object]", results: "queue.Queue[tuple]", polyak_start: bool = False) -> None:
    """The worker thread: run L-BFGS-B, pausing at each iterate; end when told to or when SciPy stops.

    The Polyak start's scale enters as ``F(y) = s * f(v * y)``: on a boxed problem as the objective's factor
    ``s = c^2`` (``v = 1``), which gives the same iterates to the bit as variables scaled by ``c`` (every quantity
    of the solver is then a power-of-two multiple of the scaled variables' one) but leaves the bounds as they are,
    so the driver sets them up before the start's value is known; otherwise as the variables' scale ``v = c``."""
    last: Dict[str, object] = {}
    first: Optional[Tuple[float, np.ndarray]] = None
    s, v = 1.0, 1.0
    early = not polyak_start or boxed(bounds)  # the driver's set-up needs no scale

    def receive_first() -> None:
        nonlocal first, s, v
        request = requests.get()
        if request == _STOP:
            raise _Stopped
        first = request  # type: ignore[assignment]
        c = polyak_scale(first[0], first[1], bounds) if polyak_start else 1.0
        s, v = (c * c, 1.0) if early else (1.0, c)

    def evaluate(y: np.ndarray) -> Tuple[float, np.ndarray]:
        if first is None:
            receive_first()
        x = y * v if v != 1.0 else y
        if np.array_equal(x, x0):  # the start, evaluated by the caller
            f, g = first
        else:
            f, g = fun(x)
        last.update(x=x.copy(), f=float(f))
        return (f * s if s != 1.0 else f), (g * (s * v) if s * v != 1.0 else g)

    def iterate(y: np.ndarray) -> None:
        # the line search ends on the point it accepts, so the last evaluation is this iterate's
        x = y * v if v != 1.0 else y
        f = last["f"] if np.array_equal(last["x"], x) else float(fun(x)[0])
        results.put(("iterate", x.copy(), f))
        if requests.get() == _STOP:
            raise _Stopped

    try:
        if not early:  # the variables' scale is needed before the driver starts
            receive_first()
        lb_ub = None if bounds is None or v == 1.0 else Bounds(bounds.lb / v, bounds.ub / v)
        x_end, f_end, _ = fmin_l_bfgs_b(evaluate, x0 / v if v != 1.0 else x0,
                                        bounds=bound_pairs(bounds if lb_ub is None else lb_ub), m=history,
                                        factr=0.0, pgtol=0.0, maxfun=2**31 - 1, maxiter=2**31 - 1,
                                        callback=iterate)
        results.put(("end", np.asarray(x_end, np.float64) * v, float(f_end) / s))
    except _Stopped:
        pass
    except Exception as exc:  # handed to the caller's thread
        results.put(("error", exc, float("nan")))
