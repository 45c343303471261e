"""The command line: classic flags (SPEC.md §6) plus nstyle's own, mapped onto a :class:`Config`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import List, Optional, Sequence

from .config import Config, field_kind
from .errors import Interrupted, NStyleError

log = logging.getLogger("nstyle")


class Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line (no usage dump) on a bad flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"nstyle: error: {message} (see --help)\n")


def add_config_flags(p: argparse.ArgumentParser, skip: Sequence[str] = ()) -> None:
    """One flag per :class:`Config` field (``foo_bar`` -> ``--foo-bar``), default and help from the field."""
    for f in dataclasses.fields(Config):
        if f.name in skip:
            continue
        meta = dict(f.metadata)
        names = ["--" + f.name.replace("_", "-"), *meta.pop("aliases", [])]
        help_ = meta.pop("help", "")
        if f.default is not None and not isinstance(f.default, bool):
            help_ += f" (default: {f.default})"
        parser, _, is_bool = field_kind(f.name)
        if is_bool:
            p.add_argument(*names, dest=f.name, action="store_true", help=help_)
        else:
            p.add_argument(*names, dest=f.name, type=parser, default=f.default, help=help_, **meta)


def build_parser() -> argparse.ArgumentParser:
    """The single-image command line."""
    p = Parser(prog="nstyle", description="Neural style transfer (Gatys et al. 2015) with MXNet, "
               "faithful to the classic MXNet example. For many images at once: nstyle batch --help.")
    add_config_flags(p)
    return p


def config_from_args(ns: argparse.Namespace) -> Config:
    """The :class:`Config` an argparse namespace describes."""
    names = {f.name for f in dataclasses.fields(Config)}
    values = {k: v for k, v in vars(ns).items() if k in names}
    if isinstance(values.get("style_image"), list) and len(values["style_image"]) == 1:
        values["style_image"] = values["style_image"][0]
    return Config(**values)


def setup_logging(quiet: bool) -> None:
    """Plain ``nstyle: ...`` lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nstyle: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``nstyle`` and ``python -m nstyle``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["batch"]:
        from .batch import main as batch_main

        return batch_main(argv[1:])
    ns = build_parser().parse_args(argv)
    setup_logging(ns.quiet)
    try:
        from .api import run

        run(config_from_args(ns).validate())
    except Interrupted as exc:
        print(f"nstyle: {exc}", file=sys.stderr)
        return exc.code
    except NStyleError as exc:
        print(f"nstyle: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("nstyle: interrupted", file=sys.stderr)
        return 130
    return 0
