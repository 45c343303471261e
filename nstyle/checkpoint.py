"""``checkpoint.npz``: the optimiser's full state plus the configuration hash it belongs to."""
from __future__ import annotations

import os
import zipfile
from typing import Dict, Optional

import numpy as np

from .atomic import atomic_path
from .errors import NStyleError

NAME = "checkpoint.npz"


def path_for(output_dir: str) -> str:
    """Where a run writing to ``output_dir`` keeps its checkpoint."""
    return os.path.join(output_dir, NAME)


def save(path: str, state: Dict[str, np.ndarray], config_hash: str) -> None:
    """Write ``state`` and ``config_hash`` atomically (never a half-written checkpoint)."""
    with atomic_path(path) as tmp:
        np.savez(tmp, config_hash=np.array(config_hash), **state)


def load(path: str, config_hash: str) -> Dict[str, np.ndarray]:
    """Read a checkpoint written for ``config_hash``; refuse a missing, corrupt or mismatched one."""
    if not os.path.exists(path):
        raise NStyleError(f"--resume: no checkpoint at {path} (it is written every --save-epochs epochs "
                          "and when a run is interrupted)")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise NStyleError(f"--resume: checkpoint {path} is unreadable ({str(exc)[:80] or type(exc).__name__}); "
                          "delete it to start afresh") from None
    found = str(state.pop("config_hash", ""))
    if found != config_hash:
        raise NStyleError(f"--resume: checkpoint {path} was written with different settings (hash {found or '?'}, "
                          f"now {config_hash}); use the same flags, or delete it to start afresh")
    return state


def saved_tile(path: str) -> Optional[int]:
    """The tile side a tiled run's checkpoint at ``path`` was written with (None: no such checkpoint)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["tile"]) if "tile" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # load() reports the problem when the run reads it
