"""A batch folder made without stylizing: input and result images plus ``runs.jsonl`` records, for report tests
and ``bench/report_load.py`` (the report only reads files, so its size and speed can be checked at 100 runs)."""
from __future__ import annotations

import json
import os
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image


def picture(path: str, size: Tuple[int, int], seed: int) -> str:
    """A smooth colourful ``size`` (w, h) picture (JPEG or PNG by extension), different per ``seed``."""
    rng = np.random.RandomState(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    channels = [np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x + rng.uniform(0.5, 3) * y + rng.uniform()))
                for _ in range(3)]
    rgb = ((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


def history(epochs: int, seed: int) -> Dict[str, List[float]]:
    """Falling style and content losses over ``epochs`` epochs."""
    t = np.arange(1, epochs + 1)
    scale = 1 + seed % 7
    return {"style": [float(f"{v:.4g}") for v in 1e9 * scale / t ** 1.5 + 1e6],
            "content": [float(f"{v:.4g}") for v in 1e6 * scale * (1 - np.exp(-t / 10)) + 1e4]}


def make(folder: str, contents: int, styles: int, epochs: int = 50, result_size=(400, 300),
         input_size=(1200, 800), failed: Tuple[int, ...] = ()) -> List[dict]:
    """``contents`` x ``styles`` runs in ``folder``; the run numbers in ``failed`` failed. Returns the records."""
    os.makedirs(os.path.join(folder, "in"), exist_ok=True)
    content_paths = [picture(os.path.join(folder, "in", f"photo{i:02d}.jpg"), input_size, i) for i in range(contents)]
    style_paths = [picture(os.path.join(folder, "in", f"style{j}.jpg"), input_size, 100 + j) for j in range(styles)]
    records = []
    for i, content in enumerate(content_paths):
        for j, style in enumerate(style_paths):
            n = len(records)
            name = f"photo{i:02d}__style{j}"
            output = os.path.join(folder, name + ".jpg")
            record = {"name": name, "content": content, "style": style, "output": output, "config": {"seed": 0},
                      "hash": "0" * 16, "machine": ["fake machine line"], "seconds": 1.5, "epochs": epochs,
                      "style_loss": 2e6, "content_loss": 3e5, "history": history(epochs, n)}
            if n in failed:
                record.update(status="failed", reason=f"image {content}: cannot decode it (run {n})", epochs=0,
                              history=history(0, n))
            else:
                record.update(status="done", reason="")
                picture(output, result_size, 1000 + n)
            records.append(record)
    with open(os.path.join(folder, "runs.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    return records
