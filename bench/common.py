"""Shared benchmark helpers: run a measurement in a fresh process and read its peak memory."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
CONTENT = os.path.join(SHARED, "IMG_4343.jpg")
STYLE = os.path.join(SHARED, "starry_night.jpg")


def add_input_flags(ap) -> None:
    """``--content`` and ``--style``: the images a benchmark runs on (default: the classic pair in shared/data)."""
    ap.add_argument("--content", default=CONTENT)
    ap.add_argument("--style", default=STYLE)


def run_flags(a, weights_path: str) -> List[str]:
    """The CLI flags every benchmark run shares: the chosen images (``add_input_flags``), the weights, quiet, CPU."""
    return ["--content-image", a.content, "--style-image", a.style, "--weights", weights_path, "--quiet", "--gpu", "-1"]


def crop_to(src: str, folder: str, aspect: Tuple[int, int]) -> str:
    """A centre crop of ``src`` with the ``aspect`` (width, height) ratio, saved as PNG in ``folder``; its path.
    A picture already at that ratio is only re-saved."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    w, h = img.size
    cw, ch = min(w, h * aspect[0] // aspect[1]), min(h, w * aspect[1] // aspect[0])
    left, top = (w - cw) // 2, (h - ch) // 2
    name = f"{os.path.splitext(os.path.basename(src))[0]}-{aspect[0]}x{aspect[1]}.png"
    path = os.path.join(folder, name)
    img.crop((left, top, left + cw, top + ch)).save(path)
    return path


def synthetic_weights(folder: str, seed: int = 0) -> str:
    """Write seeded synthetic VGG19 weights in the classic format into ``folder``; return the path."""
    sys.path.insert(0, ROOT)
    from nstyle.files import weights

    path = os.path.join(folder, f"vgg19-synthetic-{seed}.params")
    if not os.path.exists(path):
        weights.save_classic(weights.synthetic(seed), path)
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux ``VmHWM``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def run_json(script: str, args: List[str], threads: str = "", extra_env: Optional[Dict[str, str]] = None) -> dict:
    """Run ``bench/SCRIPT OUT ARGS`` in a fresh process (``OMP_NUM_THREADS=threads`` if given, ``extra_env``
    added); return OUT's JSON."""
    env = dict(os.environ, PYTHONPATH=ROOT, **(extra_env or {}))
    if threads:
        env["OMP_NUM_THREADS"] = threads
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", script), out.name, *args], check=True, cwd=ROOT,
                       env=env)
        return json.load(out)


def run_cli(args: List[str], extra_env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Run ``python -m nstyle ARGS`` via :mod:`bench._probe` in a fresh process; return its measurements."""
    return run_json("_probe.py", args, extra_env=extra_env)


def machine_lines() -> List[str]:
    """``nstyle --version``'s lines for the environment the measured processes inherit."""
    sys.path.insert(0, ROOT)
    from nstyle.process import runtime

    return runtime.machine_lines()


def print_machine() -> None:
    """Print the machine lines, then the date: every table is printed below them (README keeps them together)."""
    import datetime

    print("```text")
    for line in machine_lines():
        print(line)
    print(f"measured: {datetime.date.today().isoformat()}")
    print("```", flush=True)


def table(rows: List[Dict[str, object]], columns: List[str]) -> str:
    """A markdown table, exactly as the README shows it."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def print_last_row(rows: List[Dict[str, object]]) -> None:
    """Print the newest row as soon as it is measured (columns of the first row)."""
    print(table(rows[-1:], list(rows[0])).splitlines()[-1], flush=True)


def print_table(rows: List[Dict[str, object]]) -> None:
    """Print the whole table after a blank line."""
    print()
    print(table(rows, list(rows[0])))
