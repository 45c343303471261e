"""The command line: classic flags (SPEC.md §6) plus nstyle's own, mapped onto a :class:`Config`."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from .config import Config
from .errors import NStyleError

log = logging.getLogger("nstyle")


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line (no usage dump) on a bad flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"nstyle: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Every flag with the classic default taken from :class:`Config`."""
    d = Config()
    p = _Parser(prog="nstyle", description="Neural style transfer (Gatys et al. 2015) with MXNet, "
                "faithful to the classic MXNet example.",
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=d.model, choices=["vgg19"], help="network")
    p.add_argument("--content-image", default=d.content_image, help="photo to repaint")
    p.add_argument("--style-image", default=d.style_image, help="painting whose style is used")
    p.add_argument("--weights", default=d.weights,
                   help="classic vgg19.params file, or 'gluoncv' for GluonCV's ImageNet vgg19")
    p.add_argument("--stop-eps", type=float, default=d.stop_eps,
                   help="stop when the relative change of the image falls below this")
    p.add_argument("--content-weight", type=float, default=d.content_weight, help="weight of the content loss")
    p.add_argument("--style-weight", type=float, default=d.style_weight, help="weight of the style loss")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight,
                   help="weight of the total-variation smoothing gradient (<= 0 disables it)")
    p.add_argument("--max-num-epochs", type=int, default=d.max_num_epochs, help="epoch limit")
    p.add_argument("--max-long-edge", type=int, default=d.max_long_edge,
                   help="the content image is resized so its long edge is this many pixels")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate of NAG")
    p.add_argument("--lr-sched-delay", type=int, default=d.lr_sched_delay,
                   help="epochs between learning-rate decays")
    p.add_argument("--lr-sched-factor", type=float, default=d.lr_sched_factor,
                   help="learning-rate decay factor")
    p.add_argument("--gpu", type=int, default=d.gpu,
                   help="GPU id, -1 for the CPU (default: GPU 0 if this MXNet build sees one, else the CPU)")
    p.add_argument("--output-dir", "--output_dir", dest="output_dir", default=d.output_dir,
                   help="directory for snapshots and final.jpg")
    p.add_argument("--output", default=d.output,
                   help="final image path, .jpg or .png (default: <output-dir>/final.jpg)")
    p.add_argument("--save-epochs", type=int, default=d.save_epochs, help="save a snapshot every N epochs")
    p.add_argument("--remove-noise", "--remove_noise", dest="remove_noise", type=float,
                   default=d.remove_noise, help="TV-denoise weight for snapshots")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed of the initial noise")
    p.add_argument("--pooling", default=d.pooling, choices=["avg", "max"],
                   help="pooling between VGG blocks (avg = classic)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch log lines or progress bar")
    return p


def config_from_args(ns: argparse.Namespace) -> Config:
    """The :class:`Config` an argparse namespace describes."""
    fields = Config.__dataclass_fields__
    return Config(**{k: v for k, v in vars(ns).items() if k in fields})


def setup_logging(quiet: bool) -> None:
    """Plain ``nstyle: ...`` lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nstyle: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``nstyle`` and ``python -m nstyle``; returns the exit status."""
    ns = build_parser().parse_args(argv)
    setup_logging(ns.quiet)
    try:
        from .api import run

        run(config_from_args(ns).validate())
    except NStyleError as exc:
        print(f"nstyle: error: {exc}", file=sys.stderr)
        return exc.code
    return 0
