"""``checkpoint.npz``: the optimiser's full state plus the configuration hash it belongs to."""
from __future__ import annotations

import contextlib
import os
import zipfile
from typing import Dict, Optional

import numpy as np

from ..errors import NStyleError
from ..version import __version__
from .atomic import atomic_path

NAME = "checkpoint.npz"
#: The layout of the checkpoints this nstyle writes and reads (the ``format`` entry; checkpoints written before it
#: existed have none and the same layout, format 1). Change it whenever an entry is renamed, removed or reinterpreted.
FORMAT = 1


def path_for(output_dir: str) -> str:
    """Where a run writing to ``output_dir`` keeps its checkpoint."""
    return os.path.join(output_dir, NAME)


def save(path: str, state: Dict[str, np.ndarray], config_hash: str) -> None:
    """Write ``state`` and ``config_hash`` atomically (never a half-written checkpoint)."""
    with atomic_path(path) as tmp:
        write_npz(tmp, {"config_hash": np.array(config_hash), **state, "format": np.int64(FORMAT)})


def write_npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez``'s file (uncompressed ``.npy`` members, zip64), with the archive closed on every path.

    ``np.savez`` leaves its archive open when a write fails (a full disk), and the archive's finaliser then fails
    again and prints a traceback after nstyle has reported the error; here a failed write raises once.
    """
    with open(path, "wb") as f:
        archive = zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True)
        try:
            for name, value in arrays.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
        except BaseException:
            with contextlib.suppress(OSError, ValueError):
                archive.close()
            raise
        archive.close()


def load(path: str, config_hash: str) -> Dict[str, np.ndarray]:
    """Read a checkpoint written for ``config_hash``; refuse a missing, corrupt, foreign or mismatched one.

    Only what :func:`save` writes is accepted: uncompressed ``.npy`` members (so reading costs no more memory than
    the file's size), no pickled objects, finite numbers.
    """
    if not os.path.exists(path):
        raise NStyleError(f"--resume: no checkpoint at {path} (it is written every --save-epochs epochs "
                          "and when a run is interrupted)")
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [i.filename for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED]
        if packed:
            raise ValueError(f"compressed member {packed[0]}; nstyle writes none")
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, str(exc)[:80] or type(exc).__name__) from None
    check_format(path, state.pop("format", np.int64(1)))
    found = str(state.pop("config_hash", ""))
    if found != config_hash:
        raise NStyleError(f"--resume: checkpoint {path} was written with different settings (hash {found or '?'}, "
                          f"now {config_hash}); use the same flags, or delete it to start afresh")
    for key, value in state.items():
        if value.dtype.kind not in "biuf" or (value.dtype.kind == "f" and not np.isfinite(value).all()):
            raise _unreadable(path, f"{key} holds {'non-finite values' if value.dtype.kind == 'f' else value.dtype}")
    return state


def check_format(path: str, found: np.ndarray) -> None:
    """Refuse a checkpoint whose ``format`` entry is not :data:`FORMAT` (another release's layout)."""
    if found.shape != () or found.dtype.kind not in "iu" or int(found) != FORMAT:
        raise other_release(path, f"checkpoint format {found if found.shape == () else '?'}, "
                                  f"this one reads format {FORMAT}")


def other_release(path: str, why: str) -> NStyleError:
    """The one-line refusal of a checkpoint written by another nstyle release (the file is left as it is)."""
    return NStyleError(f"--resume: checkpoint {path} was written by another nstyle release ({why}); nstyle "
                       f"{__version__} cannot continue it: finish it with the release that wrote it, or move it "
                       "away to start afresh")


def saved_tile(path: str) -> Optional[int]:
    """The tile side a tiled run's checkpoint at ``path`` was written with (None: no such checkpoint)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["tile"]) if "tile" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # load() reports the problem when the run reads it


def restore(loop, path: str, config_hash: str) -> None:
    """Put the state of the checkpoint at ``path`` into ``loop`` (anything with ``load_state``); refuse a checkpoint
    whose arrays do not fit this run (missing entries, other shapes)."""
    apply(loop, load(path, config_hash), path)


def apply(target, state: Dict[str, np.ndarray], path: str) -> None:
    """``target.load_state(state)`` for a ``state`` read from ``path`` by :func:`load`; a state that does not fit
    ``target`` (missing entries, other shapes, a negative epoch) is refused with one line."""
    from mxnet.base import MXNetError

    try:
        target.load_state(state)
    except KeyError as exc:
        raise other_release(path, f"it has no {exc.args[0] if exc.args else '?'} entry") from None
    except (ValueError, TypeError, IndexError, ZeroDivisionError, MXNetError) as exc:
        raise _unreadable(path, f"does not fit this run: {type(exc).__name__} {str(exc)[:60]}") from None
    if getattr(target, "epoch", 0) < 0:
        raise _unreadable(path, f"negative epoch {target.epoch}")


def _unreadable(path: str, why: str) -> NStyleError:
    return NStyleError(f"--resume: checkpoint {path} is unreadable ({why}); delete it to start afresh")
