"""SciPy's L-BFGS-B (what ``--optimizer lbfgs`` runs, bounds built in) against nstyle's former own L-BFGS
(bench/former_lbfgs.py: projected steps, Armijo backtracking), counted in evaluations of the objective and its
gradient (one VGG forward + backward each): machine-independent.

For each size, the classic default run (NAG from noise; 300 edge: to its own stop, 600 edge: 100 epochs, as in
bench/convergence.py) gives the target: the classic objective (weighted style + content + TV energy) of its 8-bit
image. Both solvers then minimise that same objective from the same start with the same history (10 pairs) and the
same pixel bounds (0..255), one after the other in this process; after every iteration the 8-bit image is scored
(not counted). The table gives the evaluations and iterations until the 8-bit image reaches the target, and the
objective where the evaluation budget ran out.

    python bench/lbfgs.py [--sizes 300 600] [--inits content noise] [--budget 100]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from typing import Callable, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _converge_probe import classic_objective, eight_bit_value  # noqa: E402
from common import (add_input_flags, print_last_row, print_machine, print_table, run_flags,  # noqa: E402
                    synthetic_weights)
from convergence import REFERENCE  # noqa: E402
from former_lbfgs import LBFGS  # noqa: E402
from nstyle import api, cli  # noqa: E402
from nstyle.algorithm import pyramid  # noqa: E402
from nstyle.config import Config  # noqa: E402
from nstyle.files import images  # noqa: E402
from nstyle.process.interrupts import StopRequest  # noqa: E402
from nstyle.process.progress import Progress  # noqa: E402

#: (evaluations so far, objective of the 8-bit image) after each iteration
Trace = List[Tuple[int, float]]
Score = Callable[[np.ndarray], float]


def config(flags: List[str]) -> Config:
    """The :class:`Config` the command line makes of ``flags``."""
    return cli.config_from_args(cli.build_parser().parse_args(flags))


def start(cfg: Config) -> Tuple[api.Session, api.Level]:
    """The run's level at its final size, bound and started as :func:`nstyle.api.run` does it."""
    engine, inputs = api.Engine(), api.read_inputs(cfg)
    size = pyramid.level_sizes(inputs.content.shape, cfg, cfg.content_image)[-1]
    session = api.Session(cfg, engine, inputs, engine.context(cfg.gpu), StopRequest(), Progress(0, quiet=True))
    return session, api.start_level(session, size, None, last=False)


def scipy_lbfgsb(cfg: Config, budget: int, score: Score) -> Trace:
    """nstyle's L-BFGS loop (``--optimizer lbfgs``: SciPy's L-BFGS-B, stepped) until ``budget`` evaluations."""
    _, level = start(cfg)
    trace: Trace = []
    used = 0
    while used < budget:
        used += level.loop.step().evaluations
        trace.append((used, score(level.img.asnumpy())))
    return trace


def former_lbfgs(cfg: Config, budget: int, score: Score) -> Trace:
    """nstyle's former own L-BFGS (bench/former_lbfgs.py) on the same objective, start, memory and bounds."""
    _, level = start(cfg)
    objective, shape = level.loop.objective, level.img.shape
    solver = LBFGS(objective.value_and_grad, level.img.asnumpy(), history=cfg.lbfgs_history, first_step=4.0,
                   bounds=images.pixel_bounds(shape))
    trace: Trace = []
    while objective.evaluations < budget:  # the evaluation at the start counts with the first iteration
        solver.step()
        trace.append((objective.evaluations, score(solver.x.reshape(shape))))
    return trace


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 600],
                    help="long edges (the reference runs as at 300 for sizes other than 300 and 600)")
    ap.add_argument("--inits", nargs="+", default=["content", "noise"], choices=["content", "noise", "style"])
    ap.add_argument("--budget", type=int, default=100, help="evaluations per solver run")
    add_input_flags(ap)
    a = ap.parse_args()
    print_machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        w = synthetic_weights(tmp)
        for edge in a.sizes:
            flags = run_flags(a, w) + [
                     "--max-long-edge", str(edge)]
            base = dataclasses.replace(config(flags), output_dir=None)
            reference = api.run(dataclasses.replace(config(flags + REFERENCE.get(edge, REFERENCE[300])),
                                                    output_dir=None))
            size = reference.image.shape[:2]
            objective = classic_objective(base, api.Engine(), size, images.read_image(a.content),
                                          images.read_image(a.style))

            def score(x: np.ndarray) -> float:
                return eight_bit_value(objective, images.postprocess(x))
            target = eight_bit_value(objective, reference.image)
            rows.append({"size": f"{size[1]}x{size[0]}", "solver": "classic NAG (reference)", "init": "noise",
                         "evaluations to target": reference.epochs, "iterations": reference.epochs,
                         "objective at the end": f"{target:.4g}", "evaluations used": reference.epochs})
            print_last_row(rows)
            for init in a.inits:
                cfg = dataclasses.replace(base, optimizer="lbfgs", init=init)
                for name, solver in (("former own L-BFGS", former_lbfgs), ("SciPy L-BFGS-B (now)", scipy_lbfgsb)):
                    trace = solver(cfg, a.budget, score)
                    hit = next((k for k, (_, value) in enumerate(trace) if value <= target), None)
                    rows.append({"size": f"{size[1]}x{size[0]}", "solver": name, "init": init,
                                 "evaluations to target": trace[hit][0] if hit is not None else "not reached",
                                 "iterations": hit + 1 if hit is not None else "-",
                                 "objective at the end": f"{trace[-1][1]:.4g}", "evaluations used": trace[-1][0]})
                    print_last_row(rows)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
