"""A batch's jobs: every content (picture or video clip) with every style, or one per row of a CSV manifest, each
named and placed. A clip is one job: its frames run in order, on one worker (``temporal_weight`` set)."""
from __future__ import annotations

import codecs
import csv
import dataclasses
import glob
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..config import Config, parse_value
from ..errors import NStyleError
from ..files.images import output_format
from ..video.plan import PASS_BLEND, TEMPORAL_WEIGHT, pass_blend, pass_count, temporal_frames, warp_interpolation
from ..video.warping import WARP_INTERPOLATION
from ..video.writing import CONTAINERS

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
#: Config fields a manifest may not set (they are the row's own columns or belong to the whole batch).
NOT_COLUMNS = {"content_image", "style_image", "output", "output_dir", "resume", "quiet"}
#: A manifest's own columns: what a row stylizes, into what, and a clip's temporal weight, frames, warp kernel and
#: passes.
ROW_COLUMNS = {"content", "content_video", "style", "output", "temporal_weight", "temporal_frames",
               "warp_interpolation", "passes", "pass_blend"}
#: Columns holding file names (resolved from the manifest's folder, as ``content`` and ``style`` are).
MASK_COLUMNS = ("content_mask", "style_mask")


@dataclass
class Job:
    """One run of a batch."""

    name: str
    cfg: Config
    temporal_weight: Optional[float] = None  # a clip (``cfg.content_image``) with this weight; None: a picture
    temporal_frames: Tuple[int, ...] = (1,)  # a clip's --temporal-frames
    warp_interpolation: str = WARP_INTERPOLATION  # a clip's --warp-interpolation
    passes: int = 1  # a clip's --passes
    pass_blend: float = PASS_BLEND  # a clip's --pass-blend

    @property
    def output(self) -> str:
        return self.cfg.output or ""

    @property
    def is_video(self) -> bool:
        return self.temporal_weight is not None


def expand(args: Sequence[str], role: str) -> List[str]:
    """Files, directories (their images, sorted) and glob patterns, in the order given."""
    paths: List[str] = []
    for arg in args:
        if os.path.isdir(arg):
            found = sorted(os.path.join(arg, n) for n in os.listdir(arg)
                           if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
            if not found:
                raise NStyleError(f"{role} directory {arg} holds no image files")
            paths += found
        elif any(ch in arg for ch in "*?["):
            found = sorted(glob.glob(arg))
            if not found:
                raise NStyleError(f"{role} pattern {arg} matches no files")
            paths += found
        else:
            paths.append(arg)  # a missing file fails its own runs, not the whole batch
    return paths


def _stem(paths: Any) -> str:
    items = [paths] if isinstance(paths, str) else list(paths)
    return "+".join(os.path.splitext(os.path.basename(p))[0] for p in items)


def expand_videos(args: Sequence[str]) -> List[str]:
    """Clip files and glob patterns of clip files, in the order given (a folder of frames is one clip: use
    ``nstyle video`` for it)."""
    paths: List[str] = []
    for arg in args:
        if os.path.isdir(arg):
            raise NStyleError(f"--content-video {arg}: a folder; batch takes video files (a folder of frames is one "
                              "clip for nstyle video)")
        found = sorted(glob.glob(arg)) if any(ch in arg for ch in "*?[") else [arg]
        if not found:
            raise NStyleError(f"content video pattern {arg} matches no files")
        paths += found
    return paths


def name_jobs(cfgs: List[Config], output_dir: str, explicit: List[Optional[str]],
              weights: Optional[List[Optional[float]]] = None) -> List[Job]:
    """``<content-stem>__<style-stem>`` names, made unique with a short hash where stems repeat; results are
    ``<name>.jpg`` (``.png`` at 16 bits, ``.mp4`` for a clip) unless ``explicit`` names them. ``weights``: each
    job's temporal weight (a clip) or None (a picture, the default for all)."""
    weights = weights or [None] * len(cfgs)
    bases = [f"{_stem(c.content_image)}__{_stem(c.style_image)}" for c in cfgs]
    jobs = []
    for cfg, base, out, gamma in zip(cfgs, bases, explicit, weights):
        name = base
        if bases.count(base) > 1:
            ident = json.dumps([cfg.content_image, cfg.style_image, cfg.hash(), gamma], default=str)
            name = f"{base}-{hashlib.sha1(ident.encode()).hexdigest()[:6]}"
        default = name + (".mp4" if gamma is not None else ".png" if cfg.bit_depth == 16 else ".jpg")
        output = os.path.join(output_dir, out or default)  # a picture's default as a single run's final.png/.jpg
        work = os.path.join(output_dir, "work", name)
        jobs.append(Job(name, dataclasses.replace(cfg, output=output, output_dir=work), gamma))
    outputs = [j.output for j in jobs]
    clash = sorted({o for o in outputs if outputs.count(o) > 1})
    if clash:
        raise NStyleError(f"several runs would write {clash[0]}; give them different output names")
    return jobs


def jobs_from_args(contents: Sequence[str], styles: Sequence[str], base: Config, output_dir: str,
                   videos: Sequence[str] = (), temporal_weight: Optional[float] = None,
                   frames: Any = (1,), interpolation: str = WARP_INTERPOLATION, passes: Any = 1,
                   blend: Any = PASS_BLEND) -> List[Job]:
    """Every content (pictures, then clips ``videos`` with ``temporal_weight``, temporal ``frames``, the warp's
    ``interpolation``, ``passes`` and their ``blend``) with every style."""
    gamma = TEMPORAL_WEIGHT if temporal_weight is None else float(temporal_weight)
    if not (math.isfinite(gamma) and gamma >= 0):
        raise NStyleError(f"--temporal-weight {temporal_weight}: must be a finite number >= 0")
    steps = temporal_frames(frames)
    kernel = warp_interpolation(interpolation)
    multi = (pass_count(passes), pass_blend(blend))
    sources = [(c, None) for c in (expand(contents, "content") if contents else [])]
    sources += [(v, gamma) for v in expand_videos(videos)]
    pairs = [(c, g, s) for c, g in sources for s in expand(styles, "style")]
    cfgs = [dataclasses.replace(base, content_image=c, style_image=s) for c, _, s in pairs]
    return with_frames(name_jobs(cfgs, output_dir, [None] * len(cfgs), [g for _, g, _ in pairs]),
                       [steps] * len(cfgs), [kernel] * len(cfgs), [multi] * len(cfgs))


def with_frames(jobs: List[Job], frames: Sequence[Tuple[int, ...]], kernels: Sequence[str],
                passes: Sequence[Tuple[int, float]]) -> List[Job]:
    """``jobs`` with each clip's temporal frames, warp kernel and ``(passes, blend)`` set (pictures keep the
    defaults)."""
    for job, steps, kernel, (count, blend) in zip(jobs, frames, kernels, passes):
        if job.is_video:
            job.temporal_frames, job.warp_interpolation = steps, kernel
            job.passes, job.pass_blend = count, blend
    return jobs


#: A manifest larger than this is not a list of runs (and would only be read into memory).
MANIFEST_LIMIT = 16 * 2**20


def manifest_text(path: str) -> str:
    """The manifest as text: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), or UTF-16 with one
    (Excel's "Unicode text"); the row of an undecodable byte is named."""
    if not os.path.isfile(path):
        raise NStyleError(f"manifest {path}: no such file")
    try:
        if os.path.getsize(path) > MANIFEST_LIMIT:
            raise NStyleError(f"manifest {path}: larger than {MANIFEST_LIMIT // 2**20} MB; is it really a CSV list "
                              "of runs?")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise NStyleError(f"manifest {path}: cannot read it ({exc.strerror or exc})") from None
    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        row = data[:exc.start].count(b"\n") + 1
        raise NStyleError(f"manifest {path}: row {row}: byte 0x{data[exc.start]:02x} is not {'UTF-16' if encoding == 'utf-16' else 'UTF-8'} "
                          "text; save the file as \"CSV UTF-8\"") from None


def manifest_rows(path: str) -> Tuple[List[str], List[Tuple[int, Dict[str, str]]]]:
    """The header (``-`` read as ``_``) and the non-blank rows ``(row number, {column: cell})`` of a manifest.

    Rows end in LF or CRLF; cells are separated by commas, or by semicolons or tabs when the header uses those.
    A repeated column, a row with more cells than the header or a malformed row names its row.
    """
    text = manifest_text(path)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: List[Tuple[int, Dict[str, str]]] = []
    header: List[str] = []
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if number == 1:
                header = [h.strip().replace("-", "_") for h in cells]
                twice = sorted({h for h in header if h and header.count(h) > 1})
                if twice:
                    raise NStyleError(f"manifest {path}: column {twice[0]} appears more than once")
                continue
            if not any(c.strip() for c in cells):
                continue  # blank rows, and the ",,," rows spreadsheets leave at the end
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                raise NStyleError(f"manifest {path}: row {number}: {len(cells)} cells but the header names "
                                  f"{len(header)} columns (a '{delimiter}' inside a cell needs quotes)")
            cells = cells + [""] * (len(header) - len(cells))
            rows.append((number, {h: c.strip() for h, c in zip(header, cells) if h}))
    except csv.Error as exc:
        raise NStyleError(f"manifest {path}: row {number + 1}: {exc}") from None
    return header, rows


def check_output_name(out: str, video: bool = False) -> Optional[str]:
    """Why a manifest's ``output`` cell cannot be used (it must stay inside the output folder and, for a clip, be
    a video file name), or None."""
    parts = out.replace("\\", "/").split("/")
    if os.path.isabs(out) or ".." in parts:
        return f"output {out} must be a file name inside the output folder"
    try:
        if video and os.path.splitext(out)[1].lower() not in CONTAINERS:
            raise NStyleError(f"output {out}: a clip's output is a video file ({', '.join(CONTAINERS)})")
        if not video:
            output_format(out)
    except NStyleError as exc:
        return str(exc)
    return None


def row_temporal_weight(row: Dict[str, str], default: float) -> float:
    """A clip row's temporal weight: its ``temporal_weight`` cell, or ``default``."""
    text = row.get("temporal_weight", "")
    value = float(text) if text else default
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(text)
    return value


def jobs_from_manifest(path: str, base: Config, output_dir: str, temporal_weight: Optional[float] = None,
                       frames: Any = (1,), interpolation: str = WARP_INTERPOLATION, passes: Any = 1,
                       blend: Any = PASS_BLEND) -> List[Job]:
    """One job per CSV row (a picture in ``content``, or a clip in ``content_video``, with its ``temporal_weight``,
    ``temporal_frames``, ``warp_interpolation``, ``passes`` and ``pass_blend`` or the flags'); every problem is
    reported with its row number before anything runs."""
    folder = os.path.dirname(os.path.abspath(path))
    fields = {f.name for f in dataclasses.fields(Config)} - NOT_COLUMNS
    default_gamma = TEMPORAL_WEIGHT if temporal_weight is None else float(temporal_weight)
    default_steps = temporal_frames(frames)
    default_kernel = warp_interpolation(interpolation)
    default_passes = (pass_count(passes), pass_blend(blend))
    problems: List[str] = []
    cfgs, outputs, weights, steps, kernels, multis = [], [], [], [], [], []
    header, rows = manifest_rows(path)
    unknown = [h for h in header if h not in fields | ROW_COLUMNS]
    if unknown:
        raise NStyleError(f"manifest {path}: unknown column(s) {', '.join(unknown)}; use content (or content_video), "
                          "style, output and single-run settings such as style_weight, max_long_edge, seed")
    if ("content" not in header and "content_video" not in header) or "style" not in header:
        raise NStyleError(f"manifest {path}: needs 'content' (or 'content_video') and 'style' columns")
    for number, row in rows:
        video = bool(row.get("content_video"))
        if video and row.get("content"):
            problems.append(f"row {number}: give either content or content_video, not both")
        values: Dict[str, Any] = {}
        for key in ("content_video" if video else "content", "style"):
            items = [p if os.path.isabs(p) else os.path.join(folder, p) for p in row.get(key, "").split()]
            missing = [p for p in items if not os.path.exists(p)] or ([] if items else ["(empty)"])
            if missing:
                problems.append(f"row {number}: {key} file {missing[0]} not found")
            values[key] = items[0] if len(items) == 1 else items
        gamma = None
        if video:
            try:
                gamma = row_temporal_weight(row, default_gamma)
            except ValueError:
                problems.append(f"row {number}: column temporal_weight: {row['temporal_weight']!r} is not a number "
                                ">= 0")
                gamma = default_gamma
        try:
            steps.append(temporal_frames(row["temporal_frames"]) if row.get("temporal_frames") else default_steps)
        except NStyleError:
            problems.append(f"row {number}: column temporal_frames: {row['temporal_frames']!r} is not a list of "
                            'whole numbers >= 1 (such as "1,10,20,40", quoted)')
            steps.append(default_steps)
        try:
            kernels.append(warp_interpolation(row["warp_interpolation"]) if row.get("warp_interpolation")
                           else default_kernel)
        except NStyleError as exc:
            problems.append(f"row {number}: column warp_interpolation: {exc}")
            kernels.append(default_kernel)
        try:
            multis.append((pass_count(row["passes"]) if row.get("passes") else default_passes[0],
                           pass_blend(row["pass_blend"]) if row.get("pass_blend") else default_passes[1]))
        except NStyleError as exc:
            problems.append(f"row {number}: column {'passes' if 'passes ' in str(exc) else 'pass_blend'}: {exc}")
            multis.append(default_passes)
        settings = {}
        for key, text in row.items():
            if key in fields and text != "":
                try:
                    settings[key] = parse_value(key, text)
                except ValueError:
                    problems.append(f"row {number}: column {key}: cannot read {text!r}")
                if key in MASK_COLUMNS and settings.get(key):  # mask files, like images, are found from the manifest
                    settings[key] = [p if os.path.isabs(p) else os.path.join(folder, p) for p in settings[key]]
        content = values["content_video" if video else "content"]
        cfg = dataclasses.replace(base, content_image=content, style_image=values["style"], **settings)
        try:
            # with the row's output's format (a clip's output is checked by check_output_name)
            dataclasses.replace(cfg, output=None if video else row.get("output") or None).validate()
        except NStyleError as exc:
            problems.append(f"row {number}: {exc}")
        bad_output = row.get("output") and check_output_name(row["output"], video)
        if bad_output:
            problems.append(f"row {number}: {bad_output}")
        cfgs.append(cfg)
        outputs.append(row.get("output") or None)
        weights.append(gamma)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise NStyleError(f"manifest {path}: " + "; ".join(problems[:5]) + more)
    if not cfgs:
        raise NStyleError(f"manifest {path} has no rows")
    return with_frames(name_jobs(cfgs, output_dir, outputs, weights), steps, kernels, multis)
