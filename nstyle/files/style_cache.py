"""Style targets kept on disk between runs (``--style-cache DIR``): one ``.npz`` per key, written atomically.

The key is a digest of everything the targets' bits depend on (:func:`entry_key`: the style's pixels, the size,
the weights file's checksum, the layers and settings, the device, MXNet's version, oneDNN's instruction-set cap and
the thread count), so an entry is never used for a run it does not belong to. An entry holds its key too; one that
cannot be read, is truncated or holds another key is ignored, and the run computes the targets and writes it anew.
The cache only saves time: when it cannot be written, the run logs one warning and goes on.
"""
from __future__ import annotations

import json
import hashlib
import logging
import os
import zipfile
from typing import Any, Dict, List, Optional

import numpy as np

from ..errors import NStyleError
from .atomic import atomic_path

log = logging.getLogger("nstyle")

#: Bump when what an entry holds, or how its targets are computed, changes.
FORMAT = 1


def entry_key(record: Dict[str, Any]) -> str:
    """The key of an entry: a sha256 of ``record`` (JSON-able), independent of key order."""
    blob = json.dumps({"format": FORMAT, **record}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def entry_path(directory: str, key: str) -> str:
    """Where the entry of ``key`` lives in ``directory``."""
    return os.path.join(directory, f"style-{key[:32]}.npz")


def load(directory: str, key: str) -> Optional[List[np.ndarray]]:
    """The targets stored under ``key`` (float32 arrays, in order), or None when absent or unusable."""
    path = entry_path(directory, key)
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            if str(entry["key"]) != key:
                return None
            return [np.array(entry[f"target_{i}"]) for i in range(int(entry["count"]))]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        log.info("style cache: ignoring the unreadable %s (it is rewritten)", path)
        return None


def save(directory: str, key: str, targets: List[np.ndarray]) -> bool:
    """Store ``targets`` under ``key``; False (after one warning) when the directory cannot be written."""
    path = entry_path(directory, key)
    try:
        os.makedirs(directory, exist_ok=True)
        with atomic_path(path) as tmp:
            np.savez(tmp, key=np.array(key), count=np.array(len(targets)),
                     **{f"target_{i}": np.asarray(t, np.float32) for i, t in enumerate(targets)})
    except (OSError, NStyleError) as exc:
        log.warning("style cache: could not write %s (%s); the run goes on without it", path, exc)
        return False
    return True
