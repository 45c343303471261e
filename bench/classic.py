"""nstyle's default path against the classic script itself, array by array, on every instruction set this machine
has and at 1 and 2 threads; records the classic's fingerprint for the test suite.

The classic is apache/mxnet v1.x's ``example/neural-style/nstyle.py``, run from a local checkout on this machine's
MXNet with the same seeded synthetic weights, inputs, size and seed-0 noise (its code is run, never copied here).
Both programs are observed from outside (``tests/fingerprint.py``): the Gram and content targets in the loss
executor, the gradient of the first NAG update, the image after every update and the momentum after the last.

    python bench/classic.py --mxnet PATH [--epochs 3] [--threads 1,2] [--content IMG --style IMG]
                            [--nstyle-root CHECKOUT] [--record]

``PATH`` is an apache/mxnet checkout (or its ``example/neural-style`` folder). ``--record`` writes the classic's
digests for this CPU into ``tests/golden/classic_fingerprint.json`` (default inputs and epochs only).
``--nstyle-root`` runs another checkout's nstyle (for instance the commit before a fix).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import ROOT, print_last_row, print_machine, print_table, synthetic_weights  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
import fingerprint  # noqa: E402

MEAN = np.array([123.68, 116.779, 103.939], np.float32).reshape(1, 3, 1, 1)


def picture(image: np.ndarray) -> np.ndarray:
    """The classic's 8-bit picture of a preprocessed image (mean added, clipped, truncated)."""
    return np.clip(image + MEAN, 0, 255).astype(np.uint8)


def compare(classic: dict, ours: dict, epochs: int) -> dict:
    """Equal digests, the first array that differs and the largest float difference; the last 8-bit pictures."""
    names = sorted(classic["arrays"], key=lambda n: (not n.startswith("target"), n))
    differing = [n for n in names if classic[n] != ours.get(n)]
    largest = max((float(np.abs(classic["arrays"][n] - ours["arrays"][n]).max()) for n in differing), default=0.0)
    last = f"image_{epochs}"
    apart = np.abs(picture(classic["arrays"][last]).astype(int) - picture(ours["arrays"][last]).astype(int))
    return {"arrays equal": f"{len(names) - len(differing)} of {len(names)}",
            "first that differs": differing[0] if differing else "none",
            "largest float difference": f"{largest:.3g}",
            f"8-bit pixels apart after {epochs}": int((apart > 0).sum()),
            "largest level difference": int(apart.max())}


def classic_folder(path: str) -> str:
    """The folder holding the classic ``nstyle.py``: ``path`` itself or its ``example/neural-style``."""
    for folder in (path, os.path.join(path, "example", "neural-style")):
        if os.path.isfile(os.path.join(folder, "nstyle.py")) and os.path.isfile(os.path.join(folder, "model_vgg19.py")):
            return os.path.abspath(folder)
    raise SystemExit(f"classic.py: no example/neural-style/nstyle.py under {path}")


def record(runs: dict) -> None:
    """Store the classic's digests for this CPU (other CPUs' records are kept)."""
    saved = {"about": "Digests of the classic script's arrays (tests/fingerprint.py): CPU -> oneDNN ISA -> "
                      "OpenMP threads. Written by bench/classic.py --record; checked by "
                      "tests/test_classic_fingerprint.py.",
             "inputs": {"content": fingerprint.SAMPLES[0], "style": fingerprint.SAMPLES[1],
                        "max_long_edge": fingerprint.LONG_EDGE, "epochs": fingerprint.EPOCHS,
                        "seed": fingerprint.SEED, "weights": "synthetic seed 0"},
             "machines": {}}
    if os.path.exists(fingerprint.SAVED):
        with open(fingerprint.SAVED) as fh:
            saved["machines"] = json.load(fh)["machines"]
    by_isa = {}
    for (isa, threads), digests in runs.items():
        by_isa.setdefault(isa, {})[str(threads)] = {k: v for k, v in sorted(digests.items()) if k != "arrays"}
    import mxnet

    saved["machines"][fingerprint.cpu_signature()] = {"recorded": datetime.date.today().isoformat(),
                                                      "mxnet": mxnet.__version__, "by_isa": by_isa}
    with open(fingerprint.SAVED, "w") as fh:
        json.dump(saved, fh, indent=1)
        fh.write("\n")
    print(f"recorded {len(runs)} fingerprints for {fingerprint.cpu_signature()} in {fingerprint.SAVED}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mxnet", required=True, help="an apache/mxnet v1.x checkout")
    ap.add_argument("--epochs", type=int, default=fingerprint.EPOCHS)
    ap.add_argument("--threads", default=",".join(map(str, fingerprint.THREADS)))
    ap.add_argument("--content", help="content image (default: scikit-image's astronaut)")
    ap.add_argument("--style", help="style image (default: scikit-image's coffee)")
    ap.add_argument("--nstyle-root", default=ROOT, help="the checkout whose nstyle is compared")
    ap.add_argument("--record", action="store_true", help="record the classic's fingerprint for the test suite")
    a = ap.parse_args()
    classic_dir = classic_folder(a.mxnet)
    if a.record and (a.content or a.style or a.epochs != fingerprint.EPOCHS):
        raise SystemExit("classic.py: --record takes the default inputs and epochs")
    print_machine()
    print(f"CPU signature: {fingerprint.cpu_signature()}; classic: {classic_dir}; nstyle: {a.nstyle_root}")
    rows, runs = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = synthetic_weights(tmp)
        content, style = fingerprint.write_samples(tmp)
        content, style = a.content or content, a.style or style
        for isa, cap in fingerprint.machine_isas().items():
            for threads in map(int, a.threads.split(",")):
                theirs = fingerprint.take("classic", content, style, weights, cap, threads, classic_dir, arrays=True,
                                          epochs=a.epochs)
                ours = fingerprint.take("nstyle", content, style, weights, cap, threads, arrays=True, epochs=a.epochs,
                                        nstyle_root=os.path.abspath(a.nstyle_root))
                runs[(isa, threads)] = theirs
                rows.append({"oneDNN ISA": isa, "threads": threads, **compare(theirs, ours, a.epochs)})
                print_last_row(rows)
    print_table(rows)
    if a.record:
        record(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
