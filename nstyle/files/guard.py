"""Never write over an input: the files a run would write, checked against the files it reads before any work.

Files are compared by identity (device and inode, following symlinks), so ``./photo.jpg``, ``../dir/photo.jpg``,
a symlink or a hard link to the photo are all recognised as the photo.
"""
from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

from ..config import Config
from ..errors import NStyleError

FileId = Tuple[int, int]

#: Snapshot names a run writes into its output directory every --save-epochs epochs.
SNAPSHOT = re.compile(r"e_(\d+)\.jpg")
CHECKPOINT = "checkpoint.npz"


def file_id(path: str) -> Optional[FileId]:
    """``(device, inode)`` of an existing file (through symlinks), or None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def inputs_of(cfg: Config) -> List[Tuple[str, str]]:
    """``(what, path)`` of every file a run of ``cfg`` reads."""
    found = [("content image", cfg.content_image)] + [("style image", p) for p in cfg.style_images]
    found += [("content mask", p) for p in cfg.content_mask or []] + [("style mask", p) for p in cfg.style_mask or []]
    if cfg.init not in ("noise", "content", "style"):
        found.append(("--init image", cfg.init))
    if cfg.weights != "gluoncv":
        found.append(("weights file", cfg.weights))
    return found


def outputs_of(cfg: Config) -> List[Tuple[str, str]]:
    """``(flag, path)`` of every existing file a run of ``cfg`` may replace: final image, checkpoint, snapshots."""
    found: List[Tuple[str, str]] = []
    final = cfg.final_path()
    if final:
        found.append(("--output" if cfg.output else "--output-dir", final))
    if cfg.output_dir and os.path.isdir(cfg.output_dir):
        found.append(("--output-dir", os.path.join(cfg.output_dir, CHECKPOINT)))
        for name in os.listdir(cfg.output_dir):
            match = SNAPSHOT.fullmatch(name)
            if match and 0 < int(match.group(1)) <= cfg.max_num_epochs and int(match.group(1)) % cfg.save_epochs == 0:
                found.append(("--output-dir", os.path.join(cfg.output_dir, name)))
    return [(flag, path) for flag, path in found if os.path.exists(path)]


def _identities(named: Iterable[Tuple[str, str]]) -> Dict[FileId, str]:
    """Existing files' identities -> ``"the <what> <path>"`` (the first name given for each file)."""
    ids: Dict[FileId, str] = {}
    for what, path in named:
        fid = file_id(path)
        if fid is not None:
            ids.setdefault(fid, f"the {what} {path}")
    return ids


def check_run(cfg: Config, extra_inputs: Iterable[Tuple[str, str]] = ()) -> None:
    """Refuse a run whose output image, checkpoint or snapshots would replace one of its inputs, whose output name
    cannot be written, or whose image files are refused from their headers (an image bomb); call before any work."""
    from .images import open_image, output_format

    if cfg.output:
        output_format(cfg.output)
    for what, path in inputs_of(cfg):
        if what != "weights file" and os.path.exists(path):  # missing files are reported where they are read
            open_image(path).close()
    inputs = _identities([*inputs_of(cfg), *extra_inputs])
    for flag, path in outputs_of(cfg):
        hit = inputs.get(file_id(path))  # type: ignore[arg-type]
        if hit:
            value = cfg.output if flag == "--output" else cfg.output_dir
            target = "" if os.path.abspath(path) == os.path.abspath(str(value)) else f" (its {os.path.basename(path)})"
            raise NStyleError(f"{flag} {value}{target} would replace {hit}; nstyle never writes over its inputs "
                              f"(choose another {flag})")


def check_batch(cfgs: List[Tuple[str, Config]], output_dir: str, batch_files: Iterable[str],
                extra_inputs: Iterable[Tuple[str, str]] = ()) -> None:
    """Refuse a batch in which any run's result, checkpoint or snapshots, or the batch's own ``batch_files``
    (log, report) would replace an input of any run (or the manifest); ``cfgs``: ``(run name, Config)``."""
    inputs = _identities([*[item for _, cfg in cfgs for item in inputs_of(cfg)], *extra_inputs])
    reserved = {os.path.realpath(p): p for p in batch_files}
    for name, cfg in cfgs:
        if cfg.output and os.path.realpath(cfg.output) in reserved:
            raise NStyleError(f"run {name}: its result {cfg.output} would be overwritten by the batch's "
                              f"{os.path.basename(cfg.output)}; choose another output name")
        for _, path in outputs_of(cfg):
            hit = inputs.get(file_id(path))  # type: ignore[arg-type]
            if hit:
                raise NStyleError(f"run {name}: writing {path} would replace {hit}; nstyle never writes over its "
                                  "inputs (choose another --output-dir or output name)")
    for path in batch_files:
        hit = inputs.get(file_id(path))  # type: ignore[arg-type]
        if hit:
            raise NStyleError(f"--output-dir {output_dir}: the batch's {os.path.basename(path)} would replace {hit}; "
                              "nstyle never writes over its inputs (choose another --output-dir)")
