"""Run configuration: the classic flags with their classic defaults, validated in one place."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .errors import NStyleError

DEFAULT_WEIGHTS = "model/vgg19.params"


def flag(default: Any, help: str, **extra: Any) -> Any:
    """A :class:`Config` field with its command-line help (and optional ``choices``, ``aliases``, ``nargs``)."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class Config:
    """Every setting of one stylization. Field defaults are the classic script's (SPEC.md §6).

    The command line (:mod:`nstyle.cli`) is generated from these fields: ``foo_bar`` is ``--foo-bar``.
    """

    model: str = flag("vgg19", "network", choices=["vgg19"])
    content_image: str = flag("input/IMG_4343.jpg", "photo to repaint")
    style_image: str = flag("input/starry_night.jpg", "painting whose style is used")
    weights: str = flag(DEFAULT_WEIGHTS, "classic vgg19.params file, or 'gluoncv' for GluonCV's ImageNet vgg19")
    stop_eps: float = flag(0.005, "stop when the relative change of the image falls below this")
    content_weight: float = flag(10.0, "weight of the content loss")
    style_weight: float = flag(1.0, "weight of the style loss")
    tv_weight: float = flag(1e-2, "weight of the total-variation smoothing gradient (<= 0 disables it)")
    max_num_epochs: int = flag(1000, "epoch limit")
    max_long_edge: int = flag(600, "the content image is resized so its long edge is this many pixels")
    lr: float = flag(0.001, "learning rate of NAG")
    lr_sched_delay: int = flag(75, "epochs between learning-rate decays")
    lr_sched_factor: float = flag(0.9, "learning-rate decay factor")
    gpu: Optional[int] = flag(None, "GPU id, -1 for the CPU (default: GPU 0 if this MXNet build sees one, "
                                    "else the CPU)")
    output_dir: str = flag("output", "directory for snapshots and final.jpg", aliases=["--output_dir"])
    output: Optional[str] = flag(None, "final image path, .jpg or .png (default: <output-dir>/final.jpg)")
    save_epochs: int = flag(50, "save a snapshot every N epochs")
    remove_noise: float = flag(0.02, "TV-denoise weight for snapshots", aliases=["--remove_noise"])
    seed: int = flag(0, "random seed of the initial noise")
    pooling: str = flag("avg", "pooling between VGG blocks (avg = classic)", choices=["avg", "max"])
    quiet: bool = flag(False, "no per-epoch log lines or progress bar")
    resume: bool = flag(False, "continue from <output-dir>/checkpoint.npz (same settings required)")

    def validate(self) -> "Config":
        """Raise :class:`NStyleError` naming the first flag whose value makes no sense."""
        checks = [
            ("max_num_epochs", self.max_num_epochs >= 0, "must be >= 0"),
            ("max_long_edge", self.max_long_edge > 0, "must be > 0"),
            ("save_epochs", self.save_epochs > 0, "must be > 0"),
            ("lr", self.lr > 0, "must be > 0"),
            ("lr_sched_delay", self.lr_sched_delay > 0, "must be > 0"),
            ("lr_sched_factor", 0 < self.lr_sched_factor <= 1, "must be in (0, 1]"),
            ("stop_eps", self.stop_eps >= 0, "must be >= 0"),
            ("content_weight", self.content_weight >= 0, "must be >= 0"),
            ("style_weight", self.style_weight >= 0, "must be >= 0"),
            ("remove_noise", self.remove_noise >= 0, "must be >= 0"),
            ("pooling", self.pooling in ("avg", "max"), "must be 'avg' or 'max'"),
            ("model", self.model == "vgg19", "only 'vgg19' is available"),
        ]
        for name, ok, why in checks:
            value = getattr(self, name)
            if not ok or (isinstance(value, float) and value != value):
                flag = "--" + name.replace("_", "-")
                raise NStyleError(f"{flag} {value!r}: {why}")
        return self

    def final_path(self) -> str:
        """Where the final image goes: ``--output`` or ``<output-dir>/final.jpg``."""
        import os

        return self.output or os.path.join(self.output_dir, "final.jpg")

    def numeric_dict(self) -> Dict[str, Any]:
        """The settings that change the result's pixels (paths, device and verbosity excluded)."""
        skip = {"output_dir", "output", "quiet", "gpu", "save_epochs", "resume"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def hash(self) -> str:
        """A short stable hash of :meth:`numeric_dict`."""
        blob = json.dumps(self.numeric_dict(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
