"""Run configuration: the classic flags with their classic defaults, opt-in extras, validated in one place."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .errors import NStyleError
from .model_zoo.spec import CONTENT_LAYER, LAYER_ORDER, STYLE_LAYERS

DEFAULT_WEIGHTS = "model/vgg19.params"
OPTIMIZERS = ("nag", "adam", "lbfgs")
#: Arithmetic of the loss network (--precision); nstyle.algorithm.precision does the work.
PRECISIONS = ("float32", "bf16")
#: How a region mask is brought to a layer's size (--mask-guide).
GUIDES = ("simple", "inside", "all")
#: Learning rate when ``--lr`` is not given: the classic's for NAG; for Adam, about a pixel level per step.
DEFAULT_LR = {"nag": 0.001, "adam": 1.0, "lbfgs": 1.0}
#: Longest side a --style-scale may ask of the style image (far beyond any memory; keeps the arithmetic finite).
MAX_STYLE_EDGE = 1_000_000


def flag(default: Any, help: str, **extra: Any) -> Any:
    """A :class:`Config` field with its command-line help (and optional ``choices``, ``aliases``, ``nargs``)."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class Config:
    """Every setting of one stylization. Field defaults are the classic script's (SPEC.md §6).

    The command line (:mod:`nstyle.cli`) is generated from these fields: ``foo_bar`` is ``--foo-bar``;
    batch manifests (:mod:`nstyle.batch.runs`) use the field names as columns, parsed by :func:`parse_value`.
    """

    model: str = flag("vgg19", "network", choices=["vgg19"])
    content_image: str = flag("input/IMG_4343.jpg", "photo to repaint")
    style_image: Union[str, List[str]] = flag("input/starry_night.jpg", "painting(s) whose style is used; "
                                              "several are blended", nargs="+")
    weights: str = flag(DEFAULT_WEIGHTS, "classic vgg19.params file, or 'gluoncv' for GluonCV's ImageNet vgg19")
    stop_eps: float = flag(0.005, "stop when the relative change of the image falls below this")
    content_weight: float = flag(10.0, "weight of the content loss")
    style_weight: float = flag(1.0, "weight of the style loss")
    tv_weight: float = flag(1e-2, "weight of the total-variation smoothing gradient (<= 0 disables it)")
    max_num_epochs: int = flag(1000, "epoch limit (per level with --multires)")
    max_long_edge: int = flag(600, "the content image is resized so its long edge is this many pixels")
    lr: Optional[float] = flag(None, "learning rate (default: 0.001 for nag, as the classic; 1.0 for adam; "
                                     "lbfgs uses a line search instead)")
    lr_sched_delay: int = flag(75, "epochs between learning-rate decays")
    lr_sched_factor: float = flag(0.9, "learning-rate decay factor")
    gpu: Optional[int] = flag(None, "GPU id, -1 for the CPU (default: GPU 0 if this MXNet build sees one, "
                                    "else the CPU)")
    output_dir: Optional[str] = flag("output", "directory for snapshots, checkpoint.npz and final.jpg",
                                     aliases=["--output_dir"])
    output: Optional[str] = flag(None, "final image path, .jpg or .png (default: <output-dir>/final.jpg)")
    save_epochs: int = flag(50, "save a snapshot every N epochs")
    remove_noise: float = flag(0.02, "TV-denoise weight for snapshots", aliases=["--remove_noise"])
    seed: int = flag(0, "random seed of the initial noise")
    pooling: str = flag("avg", "pooling between VGG blocks (avg = classic)", choices=["avg", "max"])
    style_blend_weights: Optional[List[float]] = flag(None, "relative weight of each style image "
                                                      "(normalised; default: equal)", nargs="+")
    style_scale: Optional[float] = flag(None, "resize the style image to this times the content's long edge, "
                                              "keeping its aspect ratio (default: stretch it to the content's "
                                              "shape, as the classic)")
    preserve_color: Optional[str] = flag(None, "keep the content's colours: 'luminance' (transfer only "
                                               "luma) or 'histogram' (recolour the style image first)",
                                         choices=["luminance", "histogram"])
    content_mask: Optional[List[str]] = flag(None, "one mask image per style image, on the content's frame (white: "
                                              "that style's region; grey: a soft edge; or an alpha channel)",
                                              nargs="+")
    style_mask: Optional[List[str]] = flag(None, "one mask per style image choosing the part of it whose statistics "
                                                 "are used (default: the whole image)", nargs="+")
    mask_guide: str = flag("simple", "how a mask reaches each layer: simple (resized), inside (neurons that see only "
                                     "the region) or all (neurons that see any of it)", choices=list(GUIDES))
    content_layers: str = flag(CONTENT_LAYER, "comma-separated content layers")
    style_layers: str = flag(",".join(STYLE_LAYERS), "comma-separated style layers")
    style_layer_weights: Optional[List[float]] = flag(None, "weight of each style layer (default: 1 each)",
                                                      nargs="+")
    optimizer: str = flag("nag", "nag (classic), adam, or lbfgs (on the true objective)", choices=list(OPTIMIZERS))
    lbfgs_history: int = flag(10, "number of past steps L-BFGS remembers")
    init: str = flag("noise", "start image: noise (classic), content, style, or an image file")
    multires: int = flag(0, "solve at the long edge halved K times first, then refine at each doubling")
    tile_size: Optional[int] = flag(None, "optimise the picture in square tiles of this many pixels (memory is set "
                                          "by the tile, not the picture); default: untiled when the run fits in "
                                          "memory, else the largest tile that fits; larger than the picture: untiled")
    tile_fit: bool = flag(False, "tiled runs: tiles at the picture's edges as large as their window allows (fewer "
                                 "tile visits, another grid than without it)")
    bit_depth: int = flag(8, "bits per channel of the final image; 16 needs a .png or .tif output", choices=[8, 16])
    quiet: bool = flag(False, "no per-epoch log lines or progress bar")
    resume: bool = flag(False, "continue from <output-dir>/checkpoint.npz (same settings required)")
    precision: str = flag("float32", "arithmetic of the loss network's convolutions: float32, or bf16 (bfloat16 "
                                     "oneDNN kernels on CPUs with AVX512_BF16; a slightly different picture)",
                          choices=list(PRECISIONS))
    style_cache: Optional[str] = flag(None, "directory that keeps style targets between runs, keyed by the style's "
                                            "pixels, the size, the weights and the settings (default: none)")

    # ---- derived values ---------------------------------------------------------------------------------

    @property
    def style_images(self) -> List[str]:
        """``style_image`` as a list."""
        return [self.style_image] if isinstance(self.style_image, str) else list(self.style_image)

    @property
    def learning_rate(self) -> float:
        """``--lr`` or the optimiser's default."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def content_layer_list(self) -> List[str]:
        """``content_layers`` split on commas."""
        return split_names(self.content_layers)

    @property
    def style_layer_list(self) -> List[str]:
        """``style_layers`` split on commas."""
        return split_names(self.style_layers)

    @property
    def masked(self) -> bool:
        """True when the run has regions (``--content-mask`` or ``--style-mask``)."""
        return bool(self.content_mask or self.style_mask)

    def blend_weights(self) -> List[float]:
        """Normalised blend weights, one per style image."""
        raw = self.style_blend_weights or [1.0] * len(self.style_images)
        total = float(sum(raw))
        return [w / total for w in raw]

    def layer_weights(self) -> List[float]:
        """One multiplier per style layer (1 each by default)."""
        return list(self.style_layer_weights or [1.0] * len(self.style_layer_list))

    def validate(self) -> "Config":
        """Raise :class:`NStyleError` naming the first flag whose value makes no sense."""
        for f in dataclasses.fields(self):
            check_finite(f.name, getattr(self, f.name))
        styles, layers = self.style_images, self.style_layer_list + self.content_layer_list
        checks: List[Tuple[str, bool, str]] = [
            ("max_num_epochs", self.max_num_epochs >= 0, "must be >= 0"),
            ("max_long_edge", self.max_long_edge > 0, "must be > 0"),
            ("save_epochs", self.save_epochs > 0, "must be > 0"),
            ("lr", self.lr is None or self.lr > 0, "must be > 0"),
            ("lr_sched_delay", self.lr_sched_delay > 0, "must be > 0"),
            ("lr_sched_factor", 0 < self.lr_sched_factor <= 1, "must be in (0, 1]"),
            ("stop_eps", self.stop_eps >= 0, "must be >= 0"),
            ("content_weight", self.content_weight >= 0, "must be >= 0"),
            ("style_weight", self.style_weight >= 0, "must be >= 0"),
            ("remove_noise", self.remove_noise >= 0, "must be >= 0"),
            ("pooling", self.pooling in ("avg", "max"), "must be 'avg' or 'max'"),
            ("model", self.model == "vgg19", "only 'vgg19' is available"),
            ("style_image", len(styles) > 0, "needs at least one image"),
            ("style_blend_weights", self.style_blend_weights is None or (
                len(self.style_blend_weights) == len(styles) and min(self.style_blend_weights) >= 0
                and 0 < sum(self.style_blend_weights) < math.inf), f"needs {len(styles)} non-negative weight(s), "
             "not all 0, whose sum is a finite number"),
            ("style_scale", self.style_scale is None or 0 < self.style_scale * self.max_long_edge <= MAX_STYLE_EDGE,
             f"must be > 0, and times --max-long-edge at most {MAX_STYLE_EDGE}"),
            ("preserve_color", self.preserve_color in (None, "luminance", "histogram"),
             "must be 'luminance' or 'histogram'"),
            ("content_mask", self.content_mask is None or len(self.content_mask) == len(styles),
             f"needs one mask per --style-image ({len(styles)}), in the same order"),
            ("style_mask", self.style_mask is None or len(self.style_mask) == len(styles),
             f"needs one mask per --style-image ({len(styles)}), in the same order"),
            ("mask_guide", self.mask_guide in GUIDES, "must be simple, inside or all"),
            ("precision", self.precision in PRECISIONS, "must be float32 or bf16"),
            ("style_layers", bool(self.style_layer_list), "needs at least one layer"),
            ("content_layers", bool(self.content_layer_list), "needs at least one layer"),
            ("style_layers" if set(self.style_layer_list) - set(LAYER_ORDER) else "content_layers",
             all(n in LAYER_ORDER and not n.startswith("pool") for n in layers),
             "unknown layer; use names like relu3_1, conv4_2 (see SPEC.md)"),
            ("style_layer_weights", self.style_layer_weights is None or (
                len(self.style_layer_weights) == len(self.style_layer_list)
                and min(self.style_layer_weights) >= 0), "needs one non-negative weight per style layer"),
            ("optimizer", self.optimizer in OPTIMIZERS, "must be nag, adam or lbfgs"),
            ("lbfgs_history", self.lbfgs_history > 0, "must be > 0"),
            ("init", self.init in ("noise", "content", "style") or os.path.isfile(self.init),
             "must be noise, content, style or an existing image file"),
            ("multires", 0 <= self.multires <= 6, "must be between 0 and 6"),
            ("tile_size", self.tile_size is None or self.tile_size > 0, "must be > 0"),
            ("bit_depth", self.bit_depth in (8, 16), "must be 8 or 16"),
            ("output" if self.output else "bit_depth", self.bit_depth == 8 or os.path.splitext(
                self.final_path() or "x.png")[1].lower() in (".png", ".tif", ".tiff"),
             "16-bit output needs a .png or .tif file"),
            ("seed", 0 <= self.seed < 2**32, f"must be between 0 and {2**32 - 1}"),
            ("style_cache", self.style_cache is None or (self.style_cache != "" and not (
                os.path.exists(self.style_cache) and not os.path.isdir(self.style_cache))), "must be a directory"),
        ]
        for name, ok, why in checks:
            value = getattr(self, name)
            if not ok:
                raise NStyleError(f"{flag_name(name)} {format_value(value)}: {why}")
        return self

    def final_path(self) -> Optional[str]:
        """Where the final image goes: ``--output`` or ``<output-dir>/final.jpg`` (None: nowhere)."""
        if self.output:
            return self.output
        name = "final.png" if self.bit_depth == 16 else "final.jpg"
        return os.path.join(self.output_dir, name) if self.output_dir else None

    def numeric_dict(self) -> Dict[str, Any]:
        """The settings that change the result's pixels (paths, device and verbosity excluded)."""
        skip = {"output_dir", "output", "quiet", "gpu", "save_epochs", "resume", "bit_depth", "style_cache"}
        if not self.masked:
            skip |= {"content_mask", "style_mask", "mask_guide"}  # unmasked runs keep the hashes they had
        if self.tile_size is None:
            skip.add("tile_size")  # untiled runs keep the hashes (and checkpoints) they had before tiling existed
        if self.precision == "float32":
            skip.add("precision")  # float32 runs keep the hashes (and checkpoints) they had before it existed
        if not self.tile_fit:
            skip.add("tile_fit")  # runs without it keep the hashes (and checkpoints) they had before it existed
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def hash(self) -> str:
        """A short stable hash of :meth:`numeric_dict`."""
        return digest(self.numeric_dict())


def digest(record: Dict[str, Any]) -> str:
    """A short stable hash (16 hex digits) of a JSON-able record, independent of key order."""
    blob = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_finite(name: str, value: Any) -> None:
    """Refuse ``inf``, ``-inf`` and ``nan`` (``1e400`` reads as ``inf``) in a float setting, or in a list of them."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, float) and not math.isfinite(v) for v in items):
        raise NStyleError(f"{flag_name(name)} {format_value(value)}: must be a finite number")


def split_names(text: str) -> List[str]:
    """``"relu3_1, relu4_1"`` -> ``["relu3_1", "relu4_1"]``."""
    return [n.strip() for n in text.replace(" ", ",").split(",") if n.strip()]


def flag_name(name: str) -> str:
    """``style_weight`` -> ``--style-weight``."""
    return "--" + name.replace("_", "-")


def format_value(value: Any) -> str:
    """A value as a user would type it."""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def _field(name: str) -> dataclasses.Field:
    """The :class:`Config` field called ``name``."""
    return next(f for f in dataclasses.fields(Config) if f.name == name)


def field_kind(name: str) -> Tuple[Callable[[str], Any], bool, bool]:
    """``(element parser, is_list, is_bool)`` of a :class:`Config` field, from its annotation."""
    hint = str(_field(name).type)
    is_list = "List[" in hint
    inner = hint.rsplit("[", 1)[-1].rstrip("]") if "[" in hint else hint
    parser: Callable[[str], Any] = {"int": int, "float": float, "bool": _bool}.get(inner.split(",")[0], str)
    if is_list:
        parser = {"int": int, "float": float}.get(inner, str)
    return parser, is_list, hint == "bool"


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def parse_value(name: str, text: str) -> Any:
    """Parse one string (a manifest cell) into field ``name``'s value; lists split on commas or spaces.

    Raises ``ValueError`` for text that is not a value of the field's type. An empty cell means None
    for optional fields.
    """
    parser, is_list, is_bool = field_kind(name)
    text = text.strip()
    if is_bool:
        return _bool(text)
    default = _field(name).default
    if text == "" and (default is None or is_list):
        return None
    if is_list:
        items = [parser(t) for t in text.replace(",", " ").split()]
        return items[0] if name == "style_image" and len(items) == 1 else items
    return parser(text)


def coerce_value(name: str, value: Any) -> Any:
    """Python value ``value`` for field ``name`` as the field's type (``"300"`` -> 300, ``2`` -> 2.0, ``3`` -> [3.0]).

    Raises :class:`NStyleError` naming the flag when the value is not of a usable type, so ``stylize`` rejects
    ``max_long_edge="big"`` with the message the command line would print, not a ``TypeError``.
    """
    parser, is_list, is_bool = field_kind(name)
    optional = "Optional[" in str(_field(name).type)
    try:
        if value is None:
            if optional:
                return None
            raise ValueError
        if isinstance(value, str):
            coerced = value if parser is str and not is_list else parse_value(name, value)
        elif is_bool:
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError
        elif is_list:
            coerced = [_coerce_scalar(parser, v) for v in (list(value) if isinstance(value, (list, tuple)) else [value])]
        else:
            coerced = _coerce_scalar(parser, value)
    except (TypeError, ValueError, OverflowError):
        kind = {int: "an integer", float: "a number"}.get(parser, "text")
        raise NStyleError(f"{flag_name(name)} {value!r}: must be {'yes/no' if is_bool else kind}") from None
    check_finite(name, coerced)
    return coerced


def _coerce_scalar(parser: Callable[[str], Any], value: Any) -> Any:
    """``value`` as ``parser``'s type without silent truncation (2.5 is not an int) or text-to-number guessing."""
    if isinstance(value, str) and parser is not str:
        return parser(value)
    if parser is str:
        return os.fspath(value)
    if isinstance(value, (bool, bytes, bytearray)):  # float() would take these; they are not numbers here
        raise TypeError
    number = float(value)  # TypeError for anything without __float__ or __index__
    if parser is int:
        if number != int(number):
            raise ValueError
        return int(number)
    return number
