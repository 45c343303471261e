"""What a run leaves behind: an output folder made ready before any work, the saved picture, the :class:`Result`,
and the message of an interrupted run."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from ..config import Config
from ..errors import Interrupted, NStyleError
from ..files import images
from ..process.interrupts import StopRequest
from . import color
from .loop import Epoch


@dataclass
class Result:
    """What a run produced. ``np.asarray(result)`` is the final image."""

    image: np.ndarray  # HxWx3 uint8 (uint16 with --bit-depth 16), as saved in the final output
    output: Optional[str]
    epochs: int  # over all --multires levels
    stopped: str  # "converged", "max-epochs" or "interrupted"
    style_loss: float = float("nan")
    content_loss: float = float("nan")
    seconds: float = 0.0
    history: List[Epoch] = field(default_factory=list)

    def __array__(self, dtype=None) -> np.ndarray:
        return self.image if dtype is None else self.image.astype(dtype)


def prepare_output(cfg: Config) -> None:
    """Create the output directory (and the ``--output`` file's) now, so a bad path fails before any work."""
    dirs = {d for d in (cfg.output_dir, cfg.output and os.path.dirname(os.path.abspath(cfg.output))) if d}
    for d in sorted(dirs):
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as exc:
            raise NStyleError(f"cannot create output directory {d}: {why_not_a_folder(d) or exc.strerror}") from None
        if not os.access(d, os.W_OK | os.X_OK):
            raise NStyleError(f"output directory {d} is not writable")


def why_not_a_folder(path: str) -> str:
    """Why ``path`` cannot be made a folder, when what is there says it better than the OS error ("" otherwise)."""
    if os.path.islink(path) and not os.path.exists(path):
        return f"it is a link to {os.readlink(path)}, which does not exist"
    if os.path.exists(path) and not os.path.isdir(path):
        return "a file of that name is in the way"
    return ""


BAND_ROWS = 256  # rows a 16-bit end converts at a time: its float64 copies stay a band's size, not the picture's


def finish(cfg: Config, x: np.ndarray, content01: Optional[np.ndarray], band_rows: int = BAND_ROWS) -> np.ndarray:
    """Network image -> uint8 RGB (uint16 with ``--bit-depth 16``), with the content's chroma when
    ``--preserve-color luminance`` (the only use of ``content01``; None without it).

    The 16-bit end works in bands of ``band_rows`` rows (every step is per pixel, so the values do not depend on it):
    at 4000x3000 the whole picture in float64 would take several hundred MB at the end of a run tiled to stay small."""
    if cfg.bit_depth == 16:
        x = np.asarray(x)
        height = x.shape[-2]
        out = np.empty((height, x.shape[-1], 3), np.uint16)
        for top in range(0, height, band_rows):
            rows = slice(top, top + band_rows)
            rgb16 = images.unprocess(np.asarray(x[..., rows, :], np.float64))
            if cfg.preserve_color == "luminance":
                rgb16 = color.luminance_transfer(rgb16, content01[rows] * 255.0)
            out[rows] = images.to_16bit(rgb16)
        return out
    rgb = images.postprocess(x)
    if cfg.preserve_color == "luminance":
        mixed = color.luminance_transfer(rgb.astype(np.float64), content01 * 255.0)
        rgb = np.clip(np.round(mixed), 0, 255).astype(np.uint8)
    return rgb


def save_final(cfg: Config, x: np.ndarray, content01: Optional[np.ndarray]) -> Tuple[np.ndarray, Optional[str]]:
    """:func:`finish` ``x`` and write it where ``cfg`` says (if anywhere); the picture and its path."""
    final = finish(cfg, x, content01)
    out = cfg.final_path()
    if out:
        images.save_image(final, out)
    return final, out


def interrupted(stop: StopRequest, at: str, out: Optional[str], ckpt: Optional[str],
                no_checkpoint: str = "") -> Interrupted:
    """The error that ends a run stopped by a signal ``at`` some point: what was saved and how to continue."""
    where = f"saved the image so far to {out}" if out else "nothing saved (no output set)"
    if ckpt:
        where += f" and the state to {ckpt}; add --resume to the same command to continue"
    elif no_checkpoint:
        where += f" ({no_checkpoint})"
    return Interrupted(f"{stop.name} {at}: {where}", code=stop.exit_status)
