"""``runs.jsonl``: one record per run (its effective settings, their hash, status, losses), read back defensively."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence

from ..config import Config
from ..errors import NStyleError
from ..files.atomic import atomic_path
from ..files.checksums import file_checksum
from .jobs import Job

LOG_NAME = "runs.jsonl"


def effective_config(cfg: Config, temporal_weight: Optional[float] = None,
                     temporal_frames: Sequence[int] = (1,), warp_interpolation: str = "bilinear", passes: int = 1,
                     pass_blend: float = 0.5) -> Dict[str, Any]:
    """What decides a run's pixels: the settings plus checksums of the weights and input files (and a clip's
    temporal weight and, when not the defaults, its temporal frames, warp kernel and passes)."""
    record = cfg.numeric_dict()
    if temporal_weight is not None:
        record["temporal_weight"] = temporal_weight
    if list(temporal_frames) != [1]:
        record["temporal_frames"] = list(temporal_frames)
    if warp_interpolation != "bilinear":
        record["warp_interpolation"] = warp_interpolation
    if passes > 1:
        record["passes"], record["pass_blend"] = passes, pass_blend
    record["weights_sha256"] = file_checksum(cfg.weights)
    record["inputs_sha256"] = [file_checksum(p) for p in [cfg.content_image, *cfg.style_images]]
    return record


#: Types of the fields of a ``runs.jsonl`` record that nstyle reads back.
RECORD_FIELDS = {"name": str, "status": str, "hash": str, "output": str, "reason": str, "content": (str, list),
                 "style": (str, list), "epochs": int, "seconds": (int, float), "style_loss": (int, float),
                 "content_loss": (int, float), "config": dict, "poster": str}
#: Fields every record written by :func:`run_jobs` has.
RECORD_REQUIRED = ("name", "status", "hash", "output", "content", "style")


def parse_record(line: bytes) -> Optional[dict]:
    """One ``runs.jsonl`` line as a record, or None for anything else (corrupt, foreign or hand-edited lines)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(record, dict) or any(key not in record for key in RECORD_REQUIRED):
        return None
    for key, kind in RECORD_FIELDS.items():
        value = record.get(key)
        if key in record and (not isinstance(value, kind) or isinstance(value, bool)):
            return None
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return None
    return record


def read_log(path: str) -> Dict[str, dict]:
    """The latest record per run name in ``runs.jsonl`` (unreadable lines are ignored)."""
    latest: Dict[str, dict] = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                record = parse_record(line)
                if record is not None:
                    latest[record["name"]] = record
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise NStyleError(f"cannot read {path}: {exc.strerror or exc}") from None
    return latest


def append_log(path: str, record: dict) -> None:
    """Add one record to ``runs.jsonl`` (rewritten atomically, so a crash never leaves half a line)."""
    old = b""
    if os.path.exists(path):
        with open(path, "rb") as f:
            old = f.read()
    if old and not old.endswith(b"\n"):
        old += b"\n"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(old + json.dumps(record, default=str).encode("utf-8") + b"\n")


def job_record(job: Job) -> dict:
    """The fields of a job that its ``runs.jsonl`` record and the report share; a clip's ``poster``: its first
    stylized frame in the work folder, which the report shows for it."""
    record = {"name": job.name, "content": job.cfg.content_image, "style": job.cfg.style_image, "output": job.output}
    if job.is_video:
        record["poster"] = os.path.join(job.cfg.output_dir or "", "frames", f"{1:05d}.png")
    return record


def history_record(epochs: List[Any], before: Optional[dict] = None) -> Dict[str, list]:
    """Style and content loss per epoch (4 significant digits) for the report's curves.

    ``before``: the history of the interrupted run this one resumed, put in front of the new epochs.
    """
    def short(v: float) -> float:
        return float(f"{v:.4g}")
    new = {"style": [short(e.style_loss) for e in epochs], "content": [short(e.content_loss) for e in epochs]}
    if not before:
        return new
    return {k: list(before.get(k) or []) + v for k, v in new.items()}
