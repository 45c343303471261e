"""The race's nstyle side (bench/race.py): nstyle's recommended setting, ``--optimizer lbfgs --init content``, run
through :func:`nstyle.api.run` with an ``on_image`` hook that writes every iteration's 8-bit PNG snapshot and its wall
time since launch; ends at the deadline (or after ``--iterations``, then saving the final picture as the CLI does).

It also writes where the time went from launch (``profile.txt``, when the run ends by ``ITERATIONS``), each phase
timed exclusively (a phase inside another counts only for itself): import, reading and resizing the pictures,
weights read, bind, targets, the first evaluation, the later evaluations, snapshots, the final save and the rest.
The timers wrap nstyle's functions in this process only. MXNet runs operators asynchronously, so a phase's work
may finish inside a later phase that waits for it: when profiling, every phase boundary first waits for all
pending work (``mx.nd.waitall``), so each phase is charged its own compute. The first evaluation runs while
L-BFGS-B's thread sets up its bounds (``nstyle.algorithm.lbfgs``), so that part of the set-up is in its wall time;
the rest is "L-BFGS-B's own work". ``counts.txt`` has how many graphs
were bound and how many forward and backward passes ran.

    python bench/_race_nstyle.py CONTENT STYLE WEIGHTS EDGE OUT_DIR SECONDS [ITERATIONS [STYLE_CACHE]]
    (RACE_LAUNCH: launch time; RACE_PRECISION: --precision, default float32; STYLE_CACHE: a --style-cache folder;
    RACE_MULTIRES: --multires K, coarse to fine, each coarser level RACE_COARSE_ITERATIONS L-BFGS iterations (default
    30), only the last level unlimited and snapshotted; RACE_SETTLE=0/1 overrides whether phase boundaries wait)
"""
from __future__ import annotations

import os
import sys
import time
from typing import Optional

LAUNCH = float(os.environ.get("RACE_LAUNCH", time.time()))


class Phases:
    """Exclusive wall time per phase: a stack of open phases, time charged to the innermost."""

    def __init__(self, settle: bool = False) -> None:
        self.seconds: dict = {}
        self.counts: dict = {}
        self.stack: list = []
        self.settle = settle  # wait for MXNet's pending work at every boundary
        self.mark = time.time()

    def _charge(self) -> None:
        if self.settle:
            import mxnet as mx

            mx.nd.waitall()
        now = time.time()
        label = self.stack[-1] if self.stack else "other"
        self.seconds[label] = self.seconds.get(label, 0.0) + now - self.mark
        self.mark = now

    def wrap(self, owner, name: str, label) -> None:
        """Time ``owner.name`` as ``label`` (a string, or a function of the call count giving one)."""
        original, calls = getattr(owner, name), [0]

        def timed(*args, **kwargs):
            calls[0] += 1
            self._charge()
            self.stack.append(label(calls[0]) if callable(label) else label)
            try:
                return original(*args, **kwargs)
            finally:
                self._charge()
                self.stack.pop()
        setattr(owner, name, timed)

    def count(self, owner, name: str, label: str) -> None:
        """Count the calls of ``owner.name`` as ``label``."""
        original = getattr(owner, name)

        def counted(*args, **kwargs):
            self.counts[label] = self.counts.get(label, 0) + 1
            return original(*args, **kwargs)
        setattr(owner, name, counted)


def main(content: str, style: str, weights_path: str, edge: int, out: str, seconds: float,
         iterations: int = 0, style_cache: Optional[str] = None) -> None:
    import numpy as np
    from PIL import Image

    from nstyle import api
    from nstyle.algorithm import lbfgs, lossnet, objective
    from nstyle.algorithm.engine import Engine
    from nstyle.config import Config
    from nstyle.files import images, weights
    import mxnet  # nstyle.api imports it; named here so the import phase is plainly all of it

    phases = Phases(settle=bool(int(os.environ.get("RACE_SETTLE", int(bool(iterations))))))
    phases.count(mxnet.symbol.Symbol, "bind", "graphs bound")
    phases.count(mxnet.executor.Executor, "forward", "forward passes (VGG and TV)")
    phases.count(mxnet.executor.Executor, "backward", "backward passes")
    phases.seconds["import (interpreter start to nstyle.api and MXNet)"] = time.time() - LAUNCH
    phases.wrap(api, "read_inputs", "read pictures")
    phases.wrap(images, "resize01", "resize pictures")
    phases.wrap(weights, "load", "weights read")
    if hasattr(Engine, "weights"):  # the weights copied to the device, once for every executor
        phases.wrap(Engine, "weights", "weights read")
    phases.wrap(lossnet.LossNet, "__init__", "bind")
    phases.wrap(lossnet.LossNet, "_bind", "bind")
    phases.wrap(Engine, "style_targets", "targets")
    phases.wrap(lossnet.LossNet, "content_targets", "targets")
    phases.wrap(objective.Objective, "value_and_grad",
                lambda n: "first evaluation" if n == 1 else "later evaluations")
    phases.wrap(images, "save_image", "final save")
    phases.wrap(lbfgs.LBFGSB, "step", "L-BFGS-B's own work (outside evaluations)")
    log = open(os.path.join(out, "times.txt"), "w")

    multires = int(os.environ.get("RACE_MULTIRES", "0"))
    coarse_iterations = int(os.environ.get("RACE_COARSE_ITERATIONS", "30"))
    if multires:
        coarse_levels(api, coarse_iterations)

    def snapshot(ep, img) -> None:
        if multires and max(img.shape[2:]) < edge:
            return  # a coarse level: not the picture the race scores
        phases._charge()
        rgb = images.postprocess(img.asnumpy())
        name = f"nstyle_{ep.epoch:05d}.png"
        Image.fromarray(rgb).save(os.path.join(out, name))
        log.write(f"{name} {time.time() - LAUNCH:.3f} {ep.evaluations}\n")
        log.flush()
        phases.seconds["snapshots"] = phases.seconds.get("snapshots", 0.0) + time.time() - phases.mark
        phases.mark = time.time()
        if not iterations and time.time() - LAUNCH >= seconds:
            os._exit(0)

    cfg = Config(content_image=content, style_image=style, weights=weights_path, gpu=-1, quiet=True,
                 optimizer="lbfgs", init="content", max_long_edge=edge, stop_eps=0.0,
                 max_num_epochs=iterations or 10**6, save_epochs=10**6, output_dir=out, style_cache=style_cache,
                 precision=os.environ.get("RACE_PRECISION", "float32"), multires=multires)
    api.run(cfg, on_image=snapshot, engine=Engine())
    phases._charge()
    total = time.time() - LAUNCH
    with open(os.path.join(out, "profile.txt"), "w") as f:
        for label, s in phases.seconds.items():
            f.write(f"{label}\t{s:.3f}\n")
        f.write(f"total from launch\t{total:.3f}\n")
    with open(os.path.join(out, "counts.txt"), "w") as f:
        for label, n in phases.counts.items():
            f.write(f"{label}\t{n}\n")
    np.save(os.path.join(out, "done.npy"), np.array(total))


def coarse_levels(api, iterations: int) -> None:
    """Give every level but the last (the one with a checkpoint path) ``iterations`` L-BFGS iterations."""
    import dataclasses

    optimise = api.optimise

    def limited(session, level):
        if level.checkpoint is not None:
            return optimise(session, level)
        cfg = session.cfg
        session.cfg = dataclasses.replace(cfg, max_num_epochs=iterations)
        try:
            return optimise(session, level)
        finally:
            session.cfg = cfg
    api.optimise = limited


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]),
         int(sys.argv[7]) if len(sys.argv) > 7 else 0, sys.argv[8] if len(sys.argv) > 8 else None)
