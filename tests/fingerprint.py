"""A float-level fingerprint of the first epochs of the classic computation, and how to take it of either program.

The fingerprint of a run is the SHA-256 of the float32 bytes of each array the classic computation makes on its
way: the style Gram targets and the content target as the loss executor holds them, the gradient the first NAG
update receives (after clipping, TV added), and the image after each of the first :data:`EPOCHS` updates, with
the NAG momentum after the last. Equal digests mean equal bits.

Both programs are observed the same way, from outside: MXNet's ``Symbol.bind`` and ``NAG.update`` are wrapped
before the program runs, so nothing here depends on either program's own code. ``nstyle`` runs through
:func:`nstyle.stylize`; the classic ``nstyle.py`` of apache/mxnet v1.x (``example/neural-style``) runs its own
``train_nstyle`` from a local checkout given by path (``bench/classic.py`` does that and records the classic's
digests in ``tests/golden/classic_fingerprint.json``; ``tests/test_classic_fingerprint.py`` checks nstyle's).

oneDNN's float results depend on the instruction set, the thread count and possibly the CPU's caches, so digests
are kept per CPU (:func:`cpu_signature`), per instruction set oneDNN reports (capped with ``DNNL_MAX_CPU_ISA``)
and per thread count.

    python tests/fingerprint.py nstyle OUT.json --content C --style S --weights W
    python tests/fingerprint.py classic OUT.json --content C --style S --weights W --classic-dir DIR
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAVED = os.path.join(HERE, "golden", "classic_fingerprint.json")

#: Updates observed, the content's long edge and the noise seed of a fingerprint run.
EPOCHS, LONG_EDGE, SEED = 3, 96, 0
#: Inputs: scikit-image samples written as PNG (content, style), as the regression outputs use.
SAMPLES = ("astronaut", "coffee")
#: ``DNNL_MAX_CPU_ISA`` caps tried; a cap above what the CPU has gives its best, so names are deduplicated.
ISA_CAPS = ("SSE41", "AVX", "AVX2", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16")
THREADS = (1, 2)


def digest(array) -> str:
    """SHA-256 of an array's float32 bytes (C order)."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def cpu_signature() -> str:
    """The CPU's model name, family and model numbers and L2 size: what the saved digests are kept under."""
    fields: Dict[str, str] = {}
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if not line.strip():
                break
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as fh:
            l2 = fh.read().strip()
    except OSError:
        l2 = "?"
    return (f"{fields.get('model name', '?')} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}, L2 {l2})")


def observe(record: Dict[str, str], arrays: Optional[Dict[str, object]] = None, epochs: int = EPOCHS) -> None:
    """Wrap MXNet so that the run that follows fills ``record`` with digests (and ``arrays`` with the arrays) of
    its first ``epochs`` updates."""
    import mxnet as mx

    bound: List[mx.executor.Executor] = []
    bind, update = mx.sym.Symbol.bind, mx.optimizer.NAG.update

    def keep(name: str, value) -> None:
        value = value.asnumpy()
        record[name] = digest(value)
        if arrays is not None:
            arrays[name] = value.copy()

    def bind_and_keep(self, *args, **kwargs):
        executor = bind(self, *args, **kwargs)
        bound.append(executor)
        return executor

    def update_and_keep(self, index, weight, grad, state):
        done = sum(name.startswith("image_") for name in record)
        if done == 0:
            loss_executor = next(ex for ex in reversed(bound) if "target_gram_0" in ex.arg_dict)
            for name, value in loss_executor.arg_dict.items():
                if name.startswith("target_"):  # nstyle numbers its content targets: target_content_0
                    keep("target_content" if name.startswith("target_content") else name, value)
            keep("gradient_1", grad)
        update(self, index, weight, grad, state)
        if done < epochs:
            keep(f"image_{done + 1}", weight)
            if done + 1 == epochs:
                keep(f"momentum_{epochs}", state)

    mx.sym.Symbol.bind = bind_and_keep
    mx.optimizer.NAG.update = update_and_keep


def run_nstyle(content: str, style: str, weights: str, workdir: str, epochs: int, root: str) -> None:
    """nstyle's default path (the package in ``root``) for ``epochs`` epochs."""
    sys.path.insert(0, root)
    import nstyle

    nstyle.stylize(content, style, weights=weights, max_long_edge=LONG_EDGE, max_num_epochs=epochs, stop_eps=0,
                   seed=SEED, gpu=-1, output_dir=workdir)


def run_classic(content: str, style: str, weights: str, workdir: str, epochs: int, classic_dir: str) -> None:
    """The classic script's ``train_nstyle`` with its defaults but the size, epochs, CPU and seeded noise."""
    import importlib.util

    import mxnet as mx
    import numpy as np

    os.makedirs(os.path.join(workdir, "model"), exist_ok=True)
    os.symlink(os.path.abspath(weights), os.path.join(workdir, "model", "vgg19.params"))
    os.chdir(workdir)  # the classic reads ./model/vgg19.params
    sys.path.insert(0, classic_dir)  # its find_mxnet and model_vgg19
    spec = importlib.util.spec_from_file_location("classic_nstyle", os.path.join(classic_dir, "nstyle.py"))
    classic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(classic)
    args = classic.get_args(["--content-image", content, "--style-image", style, "--max-long-edge", str(LONG_EDGE),
                             "--max-num-epochs", str(epochs), "--stop-eps", "0", "--gpu", "-1",
                             "--save-epochs", str(epochs + 1), "--output_dir", workdir + "/"])
    mx.random.seed(SEED)  # nstyle's --seed: both seeds right before the run
    np.random.seed(SEED)
    classic.train_nstyle(args)


def write_samples(folder: str) -> List[str]:
    """The content and style samples as PNG files in ``folder``; their paths."""
    from PIL import Image
    from skimage import data

    paths = []
    for name in SAMPLES:
        path = os.path.join(folder, name + ".png")
        Image.fromarray(getattr(data, name)()).save(path)
        paths.append(path)
    return paths


def take(program: str, content: str, style: str, weights: str, isa: Optional[str], threads: int,
         classic_dir: Optional[str] = None, arrays: bool = False, epochs: int = EPOCHS,
         nstyle_root: str = ROOT) -> Dict[str, object]:
    """The fingerprint of ``program`` (``nstyle`` or ``classic``) run for ``epochs`` updates in a fresh process
    with oneDNN capped at ``isa`` (None: uncapped) and ``threads`` OpenMP threads; with ``arrays`` also its
    arrays (under ``"arrays"``). ``nstyle_root`` is the checkout whose nstyle runs."""
    import numpy as np

    env = {k: v for k, v in os.environ.items() if k not in ("NSTYLE_REPRODUCIBLE", "DNNL_MAX_CPU_ISA")}
    env["OMP_NUM_THREADS"] = str(threads)
    if isa:
        env["DNNL_MAX_CPU_ISA"] = isa
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "fingerprint.json")
        cmd = [sys.executable, os.path.abspath(__file__), program, out, "--content", content, "--style", style,
               "--weights", weights, "--epochs", str(epochs), "--nstyle-root", nstyle_root]
        cmd += ["--classic-dir", classic_dir] if classic_dir else []
        cmd += ["--arrays"] if arrays else []
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{program} fingerprint run failed:\n{done.stderr[-3000:]}")
        with open(out) as fh:
            result: Dict[str, object] = json.load(fh)
        if arrays:
            with np.load(out + ".npz") as saved:
                result["arrays"] = {name: saved[name] for name in saved.files}
    return result


def machine_isas(caps=ISA_CAPS) -> Dict[str, str]:
    """oneDNN's name of each instruction set this machine can run -> the ``DNNL_MAX_CPU_ISA`` cap that selects it."""
    sys.path.insert(0, ROOT)
    from nstyle.process.runtime import onednn_isa

    found: Dict[str, str] = {}
    saved = os.environ.get("DNNL_MAX_CPU_ISA")
    try:
        for cap in caps:
            os.environ["DNNL_MAX_CPU_ISA"] = cap
            found.setdefault(onednn_isa(), cap)
    finally:
        os.environ.pop("DNNL_MAX_CPU_ISA", None)
        if saved is not None:
            os.environ["DNNL_MAX_CPU_ISA"] = saved
    return found


def load_saved() -> Dict[str, Dict[str, Dict[str, Dict[str, str]]]]:
    """The recorded classic digests: CPU signature -> oneDNN ISA name -> thread count -> digests."""
    with open(SAVED) as fh:
        return json.load(fh)["machines"]


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Take one fingerprint in this process (see the module docstring).")
    ap.add_argument("program", choices=["nstyle", "classic"])
    ap.add_argument("out", help="JSON file for the digests")
    ap.add_argument("--content", required=True)
    ap.add_argument("--style", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--classic-dir", help="the folder holding the classic nstyle.py and model_vgg19.py")
    ap.add_argument("--arrays", action="store_true", help="also write the arrays to OUT.npz")
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="updates observed")
    ap.add_argument("--nstyle-root", default=ROOT, help="the checkout whose nstyle runs")
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out)
    a.content, a.style, a.weights = (os.path.abspath(p) for p in (a.content, a.style, a.weights))
    record: Dict[str, str] = {}
    arrays: Optional[Dict[str, object]] = {} if a.arrays else None
    observe(record, arrays, a.epochs)
    with tempfile.TemporaryDirectory() as work:
        if a.program == "nstyle":
            run_nstyle(a.content, a.style, a.weights, work, a.epochs, a.nstyle_root)
        else:
            run_classic(a.content, a.style, a.weights, work, a.epochs, a.classic_dir)
    if arrays is not None:
        import numpy as np

        np.savez(out + ".npz", **arrays)
    with open(out, "w") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
