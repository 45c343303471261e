"""The command line: classic flags (SPEC.md §6) plus nstyle's own, mapped onto a :class:`Config`."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import List, Optional, Sequence

from . import cuda, runtime
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


def add_process_flags(p: argparse.ArgumentParser) -> None:
    """Flags about the process rather than the run (acted on in :func:`main` before MXNet loads)."""
    g = p.add_argument_group("machine")
    g.add_argument("--reproducible", action="store_true",
                   help=f"the same picture on every run and every x86-64 machine with AVX2: caps oneDNN at "
                   f"{runtime.REPRODUCIBLE_ISA} and runs {runtime.REPRODUCIBLE_THREADS} threads (also "
                   f"{runtime.REPRODUCIBLE_VAR}=1)")
    g.add_argument("--version", action="store_true",
                   help="print nstyle, MXNet, numpy and Python versions, CPU, oneDNN instruction set, threads "
                   "and GPUs, one per line, and exit")


def build_parser() -> argparse.ArgumentParser:
    """The single-image command line."""
    p = Parser(prog="nstyle", description="Neural style transfer (Gatys et al. 2015) with MXNet, "
               "faithful to the classic MXNet example. For many images at once: nstyle batch --help.")
    add_config_flags(p)
    add_process_flags(p)
    return p


def apply_process_flags(argv: Sequence[str]) -> Optional[int]:
    """Act on ``--version`` and ``--reproducible`` before anything loads MXNet; an exit status if done."""
    if "--reproducible" in argv:
        runtime.set_reproducible()
    if "--version" in argv:
        print("\n".join(runtime.machine_lines()))
        return 0
    return None


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
    try:
        status = apply_process_flags(argv)
    except NStyleError as exc:
        print(f"nstyle: error: {exc}", file=sys.stderr)
        return exc.code
    if status is not None:
        return status
    if argv[:1] == ["batch"]:
        from .batch import main as batch_main

        return batch_main(argv[1:])
    ns = build_parser().parse_args(argv)
    setup_logging(ns.quiet)
    try:
        cuda.require_libraries()
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
