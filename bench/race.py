"""nstyle's recommended setting against the PyTorch tutorial's recipe, to a converged objective, timed from launch.

Both sides minimise the same classic objective (weighted style + content + TV energy; SPEC.md §4, nstyle's
``Objective``) on the same synthetic VGG19 weights (nstyle's classic ``.params``, exported to an ``.npz`` the PyTorch
side loads into its own small VGG19 model), the same content and style picture at the same size (the 3:2 centre
crops of the classic pair, preprocessed by nstyle's reader for the PyTorch side), each in its own process with 2
threads, timed from its launch:

- nstyle: ``--optimizer lbfgs --init content`` (README's recommended setting), ``--stop-eps 0`` so it runs on;
  bench/_race_nstyle.py.
- PyTorch: ``torch.optim.LBFGS(lr=1, history_size=100, line_search_fn="strong_wolfe")`` from the content image,
  clamped to the pixel range before each evaluation; bench/_race_torch.py.

Each writes an 8-bit PNG after every iteration with its wall time since launch; afterwards ONE scorer,
bench/_race_score.py (float64 torch.nn.functional code of its own, neither side's), scores every snapshot. Printed per
size: the best objective each side has reached at 5, 10, 20, 40, 80, 160 ... s, the flattened value (the lowest either
side reached; run long enough, minutes, for it to mean "finished") and the time each needs to reach 1.05x of it.
``--check-scorer`` first scores one image (the content picture plus noise, in float) with the scorer and with both
sides' own objectives, and prints the three values. ``--profile`` runs nstyle alone for a few iterations and prints
where its time went from launch (import, weights read, bind, targets, first evaluation, ...) and how many graphs it
bound and forward and backward passes it ran; ``--profile-style-cache`` profiles each size twice on one
``--style-cache`` folder, cold and then warm. ``--sides`` chooses who races (``nstyle-bf16``: nstyle with
``--precision bf16``; ``nstyle-c2f`` and ``nstyle-bf16-c2f``: coarse to fine, ``--multires 1`` with
``--coarse-iterations`` L-BFGS iterations at half size, then the full size from that result upsampled; only
full-size snapshots are scored); ``--per-iteration N`` runs the nstyle sides for N iterations each instead and
prints the scored objective by iteration (the scorer needs PyTorch). The sides run first, one after the other,
and are scored afterwards; ``--keep DIR`` keeps their snapshots, ``--rescore DIR`` scores them again.

PyTorch is a bench-only dependency (``pip install torch==2.13.0``); without it the PyTorch side and the scorer are
skipped with a message that says so.

    python bench/race.py [--sizes 300x200 600x400 1200x800] [--seconds 160] [--check-scorer] [--profile]
                         [--profile-style-cache] [--sides nstyle nstyle-bf16 nstyle-c2f pytorch] [--per-iteration N]
                         [--coarse-iterations 30]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import ROOT, add_input_flags, crop_to, print_machine, synthetic_weights, table  # noqa: E402

SIZES = ("300x200", "600x400", "1200x800")
MOMENTS = (5, 10, 20, 40, 80, 160, 320, 640)
#: the classic weights: style, content, TV
WEIGHTS = (1.0, 10.0, 1e-2)


def have_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def prepare(folder: str, content: str, style: str, edge: int) -> Tuple[str, str, str, str, str]:
    """The cropped pictures, the weights (.params and .npz) and the problem (.npz: network-space content and style,
    the mean and the loss weights) for a ``edge``-pixel-wide run; their paths."""
    sys.path.insert(0, ROOT)
    from nstyle.files import images, weights

    content_png, style_png = crop_to(content, folder, (3, 2)), crop_to(style, folder, (3, 2))
    params = synthetic_weights(folder)
    exported = os.path.join(folder, "vgg19-synthetic-0.npz")
    if not os.path.exists(exported):
        np.savez(exported, **weights.load_classic(params))
    rgb = images.read_image(content_png, edge)
    size = images.content_size(rgb.shape, edge)
    problem = os.path.join(folder, f"problem-{edge}.npz")
    np.savez(problem, content=images.preprocess(rgb, size),
             style=images.preprocess(images.read_image(style_png, edge), size),
             mean=np.array(images.MEAN), weights=np.array(WEIGHTS))
    return content_png, style_png, params, exported, problem


#: nstyle's sides: (--precision, --multires). ``-c2f``: coarse to fine, the long edge halved once first.
NSTYLE_SIDES = {"nstyle": ("float32", 0), "nstyle-bf16": ("bf16", 0),
                "nstyle-c2f": ("float32", 1), "nstyle-bf16-c2f": ("bf16", 1)}


def launch(args: List[str], out: str, threads: int = 2, side: str = "nstyle",
           coarse_iterations: int = 30) -> subprocess.Popen:
    """Start ``python ARGS`` with ``threads`` threads, its launch time in ``RACE_LAUNCH`` and an nstyle ``side``'s
    ``--precision`` and ``--multires`` in ``RACE_PRECISION`` and ``RACE_MULTIRES``."""
    precision, multires = NSTYLE_SIDES.get(side, ("float32", 0))
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS=str(threads), RACE_LAUNCH=repr(time.time()),
               RACE_PRECISION=precision, RACE_MULTIRES=str(multires), RACE_COARSE_ITERATIONS=str(coarse_iterations))
    return subprocess.Popen([sys.executable] + args, cwd=ROOT, env=env, stdout=open(os.path.join(out, "log"), "w"),
                            stderr=subprocess.STDOUT)


def snapshots(out: str) -> List[Tuple[str, float, int]]:
    """(path, seconds since launch, evaluations) of every snapshot a side wrote."""
    rows = []
    path = os.path.join(out, "times.txt")
    for line in open(path) if os.path.exists(path) else []:
        parts = line.split()
        if len(parts) == 3:
            rows.append((os.path.join(out, parts[0]), float(parts[1]), int(parts[2])))
    return rows


def scored(problem: str, exported: str, files: List[str], folder: str, dtype: str = "float64") -> Dict[str, float]:
    """Every file's objective by the one scorer, in its own process."""
    out = os.path.join(folder, f"scores-{dtype}.json")
    subprocess.run([sys.executable, os.path.join(HERE, "_race_score.py"), problem, exported, out] + files,
                   check=True, env=dict(os.environ, OMP_NUM_THREADS="2", RACE_SCORE_DTYPE=dtype))
    return json.load(open(out))


def best_by(trace: List[Tuple[float, float]], moment: float) -> float:
    """The lowest objective reached by ``moment`` seconds (NaN before the first snapshot)."""
    values = [v for t, v in trace if t <= moment]
    return min(values) if values else float("nan")


def time_to(trace: List[Tuple[float, float]], target: float) -> float:
    return next((t for t, v in trace if v <= target), float("nan"))


def seconds(t: float) -> str:
    return "not reached" if np.isnan(t) else f"{t:.1f} s"


def race(a, size: str, folder: str) -> None:
    """Each side in turn on an idle machine, then every snapshot scored and the table printed."""
    edge = int(size.split("x")[0])
    content, style, params, exported, problem = prepare(folder, a.content, a.style, edge)
    ours = [os.path.join(HERE, "_race_nstyle.py"), content, style, params, str(edge)]
    sides = {name: ours if name in NSTYLE_SIDES else [os.path.join(HERE, "_race_torch.py"), problem, exported]
             for name in a.sides}
    if not have_torch() and "pytorch" in sides:
        print("torch is not installed: the PyTorch side and the scorer are skipped "
              "(pip install torch==2.13.0 to race)", flush=True)
        del sides["pytorch"]
    for name, args in sides.items():  # one after the other: each has the machine to itself
        out = os.path.join(folder, f"{name}-{size}")
        os.makedirs(out, exist_ok=True)
        proc = launch(args + [out, str(a.seconds)], out, side=name, coarse_iterations=a.coarse_iterations)
        proc.wait(timeout=a.seconds * 3 + 600)
        shots = snapshots(out)
        print(f"{name} {size}: {len(shots)} snapshots, first at {shots[0][1]:.1f} s" if shots else
              f"{name} {size}: no snapshot (see {out}/log)", flush=True)
    print(f"{size}: every side has run; scoring (the machine may be used from here on)", flush=True)
    report(a, size, folder, list(sides))


def report(a, size: str, folder: str, sides: List[str]) -> None:
    """Score every side's snapshots in ``folder`` (afterwards: the scorer's minutes need no idle machine) and print
    the best objective by each moment and the time to 1.05x the flattened value."""
    if not have_torch():
        return
    edge = int(size.split("x")[0])
    exported, problem = os.path.join(folder, "vgg19-synthetic-0.npz"), os.path.join(folder, f"problem-{edge}.npz")
    traces: Dict[str, List[Tuple[float, float]]] = {}
    for name in sides:
        out = os.path.join(folder, f"{name}-{size}")
        shots = snapshots(out)
        if shots:
            scores = scored(problem, exported, [p for p, _, _ in shots], out, a.scorer_dtype)
            traces[name] = [(t, scores[p]) for p, t, _ in shots]
    if not traces:
        return
    seconds_run = max(t for trace in traces.values() for t, _ in trace)
    flat = min(v for trace in traces.values() for _, v in trace)
    moments = [m for m in MOMENTS if m <= max(a.seconds, seconds_run)]
    rows = [dict({"side": name}, **{f"{m} s": f"{best_by(trace, m):.3g}".replace("nan", "-") for m in moments},
                 **{"to 1.05x flat": seconds(time_to(trace, 1.05 * flat))}) for name, trace in traces.items()]
    print(f"\n{size}: best objective reached by each moment from launch; flattened value {flat:.4g} (the lowest "
          f"any side reached; scorer in {a.scorer_dtype})\n")
    print(table(rows, list(rows[0])), flush=True)


def rescore(a, folder: str) -> None:
    """The tables of a kept race folder (``--keep``), scored again."""
    for size in a.sizes:
        found = [name for name in list(NSTYLE_SIDES) + ["pytorch"]
                 if os.path.isdir(os.path.join(folder, f"{name}-{size}"))]
        if found:
            report(a, size, folder, found)


def check_scorer(a, folder: str) -> None:
    """One image scored by the scorer and by both sides' own objectives."""
    edge = int(a.sizes[0].split("x")[0])
    _, _, _, exported, problem = prepare(folder, a.content, a.style, edge)
    raw = np.load(problem)
    x = raw["content"] + np.random.RandomState(0).uniform(-20, 20, raw["content"].shape)
    image = os.path.join(folder, "check.npy")
    np.save(image, x)
    values = {"scorer": scored(problem, exported, [image], folder)[image]}
    for name, function in (("nstyle", "nstyle_value"), ("pytorch", "torch_value")):
        line = f"from _race_check import {function} as v"
        got = subprocess.run([sys.executable, "-c", f"{line}; print(repr(v({problem!r}, {exported!r}, {image!r})))"],
                             check=True, capture_output=True, text=True, cwd=HERE,
                             env=dict(os.environ, PYTHONPATH=f"{ROOT}:{HERE}", OMP_NUM_THREADS="2"))
        values[name] = float(got.stdout.split()[-1])
    print(f"\none image ({edge} px wide, the content plus uniform noise), the objective by each: " +
          ", ".join(f"{k} {v:.7g}" for k, v in values.items()) +
          f" (largest relative difference {max(values.values()) / min(values.values()) - 1:.1e})", flush=True)


def per_iteration(a, folder: str) -> None:
    """Each nstyle side (``--sides``) for ``--per-iteration`` L-BFGS iterations, every iteration's picture scored:
    the objective by iteration, which the machine's load does not change (unlike the objective by time)."""
    for size in a.sizes:
        edge = int(size.split("x")[0])
        content, style, params, exported, problem = prepare(folder, a.content, a.style, edge)
        traces = {}
        for name in [s for s in a.sides if s != "pytorch"]:
            out = os.path.join(folder, f"{name}-{size}-iterations")
            os.makedirs(out, exist_ok=True)
            launch([os.path.join(HERE, "_race_nstyle.py"), content, style, params, str(edge), out, "1e9",
                    str(a.per_iteration)], out, side=name, coarse_iterations=a.coarse_iterations).wait()
            shots = snapshots(out)
            scores = scored(problem, exported, [p for p, _, _ in shots], out, a.scorer_dtype)
            traces[name] = [scores[p] for p, _, _ in shots]
        marks = sorted({k for k in (1, 2, 5, 10, 20, 40, 80, 160, 320, a.per_iteration) if k <= a.per_iteration})
        rows = [dict({"side": name}, **{f"it {k}": f"{trace[k - 1]:.4g}" if k <= len(trace) else "-" for k in marks})
                for name, trace in traces.items()]
        if len(traces) == 2:
            (_, x), (_, y) = traces.items()
            rows.append(dict({"side": "ratio"}, **{f"it {k}": f"{y[k - 1] / x[k - 1]:.3f}" if k <= min(len(x), len(y))
                                                   else "-" for k in marks}))
        print(f"\n{size}: scored objective after each L-BFGS iteration\n")
        print(table(rows, list(rows[0])), flush=True)


def profile(a, folder: str) -> None:
    """nstyle alone for ``--profile-iterations`` iterations: where the time goes from launch. With
    ``--profile-style-cache`` each size runs twice on one fresh ``--style-cache`` folder: cold (it writes the style
    targets), then warm (it reads them). With ``nstyle-bf16`` in ``--sides``, also (or only) with ``--precision
    bf16``."""
    for size in a.sizes:
        edge = int(size.split("x")[0])
        content, style, params, _, _ = prepare(folder, a.content, a.style, edge)
        cache = os.path.join(folder, f"style-cache-{size}")
        runs = ["cold style cache", "warm style cache"] if a.profile_style_cache else [""]
        precisions = [NSTYLE_SIDES[side][0] for side in a.sides if side in ("nstyle", "nstyle-bf16")]
        for run, precision in [(r, p) for p in precisions for r in runs]:
            run = ", ".join(x for x in (run, "--precision bf16" if precision == "bf16" else "") if x)
            out = os.path.join(folder, f"profile-{size}-{precision}{'-' + run.split()[0] if run else ''}")
            os.makedirs(out, exist_ok=True)
            launch([os.path.join(HERE, "_race_nstyle.py"), content, style, params, str(edge), out, "0",
                    str(a.profile_iterations)] + ([cache] if "cache" in run else []), out,
                   side="nstyle-bf16" if precision == "bf16" else "nstyle").wait()
            rows = [dict(zip(("phase", "s"), line.rstrip("\n").split("\t")))
                    for line in open(os.path.join(out, "profile.txt"))]
            shots = snapshots(out)
            print(f"\n{size}{', ' + run if run else ''}, {a.profile_iterations} L-BFGS iterations: first iteration "
                  f"ends {shots[0][1]:.2f} s after launch ({shots[0][2]} evaluations)\n")
            print(table(rows, ["phase", "s"]), flush=True)
            counts = [dict(zip(("what", "count"), line.rstrip("\n").split("\t")))
                      for line in open(os.path.join(out, "counts.txt"))]
            print("\n" + table(counts, ["what", "count"]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), help="WIDTHxHEIGHT (3:2), default: all three")
    ap.add_argument("--seconds", type=float, default=160.0, help="how long each side runs from launch")
    ap.add_argument("--check-scorer", action="store_true", help="first show the scorer agrees with both sides")
    ap.add_argument("--profile", action="store_true", help="only profile nstyle from launch")
    ap.add_argument("--profile-iterations", type=int, default=5)
    ap.add_argument("--per-iteration", type=int, default=0, metavar="N",
                    help="instead of racing: nstyle sides for N iterations each, the scored objective by iteration")
    ap.add_argument("--sides", nargs="+", default=["nstyle", "pytorch"], choices=list(NSTYLE_SIDES) + ["pytorch"],
                    help="who races, one after the other (nstyle-bf16: nstyle with --precision bf16; -c2f: with "
                         "--multires 1, the half-size level for --coarse-iterations L-BFGS iterations first)")
    ap.add_argument("--coarse-iterations", type=int, default=30,
                    help="the -c2f sides' L-BFGS iterations at the half-size level")
    ap.add_argument("--profile-style-cache", action="store_true",
                    help="with --profile: each size twice on one --style-cache folder, cold then warm")
    ap.add_argument("--scorer-dtype", choices=["float64", "float32"], default="float64",
                    help="the scorer's arithmetic (float32: several times faster, same tables to about 3 digits)")
    ap.add_argument("--keep", metavar="DIR",
                    help="race in DIR and keep it (snapshots, logs) instead of a temporary folder")
    ap.add_argument("--rescore", metavar="DIR", help="only score a kept race folder again and print its tables")
    add_input_flags(ap)
    a = ap.parse_args()
    print_machine()
    if a.rescore:
        return rescore(a, a.rescore)
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
    with (contextlib.nullcontext(a.keep) if a.keep else tempfile.TemporaryDirectory(prefix="nstyle-race-")) as folder:
        if a.profile:
            return profile(a, folder)
        if a.per_iteration:
            return per_iteration(a, folder)
        if a.check_scorer and have_torch():
            check_scorer(a, folder)
        for size in a.sizes:
            race(a, size, folder)


if __name__ == "__main__":
    main()
