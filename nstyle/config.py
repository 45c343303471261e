"""Run configuration: the classic flags with their classic defaults, validated in one place."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from .errors import NStyleError

DEFAULT_WEIGHTS = "model/vgg19.params"


@dataclass
class Config:
    """Every setting of one stylization. Field defaults are the classic script's (SPEC.md §6)."""

    content_image: str = "input/IMG_4343.jpg"
    style_image: str = "input/starry_night.jpg"
    model: str = "vgg19"
    weights: str = DEFAULT_WEIGHTS
    stop_eps: float = 0.005
    content_weight: float = 10.0
    style_weight: float = 1.0
    tv_weight: float = 1e-2
    max_num_epochs: int = 1000
    max_long_edge: int = 600
    lr: float = 0.001
    lr_sched_delay: int = 75
    lr_sched_factor: float = 0.9
    gpu: Optional[int] = None
    output_dir: str = "output"
    output: Optional[str] = None
    save_epochs: int = 50
    remove_noise: float = 0.02
    seed: int = 0
    pooling: str = "avg"
    quiet: bool = False

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
        skip = {"output_dir", "output", "quiet", "gpu", "save_epochs"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def hash(self) -> str:
        """A short stable hash of :meth:`numeric_dict`."""
        blob = json.dumps(self.numeric_dict(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
