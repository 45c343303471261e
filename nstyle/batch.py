"""Batch runs as a library: jobs (every content with every style, or a manifest's rows), running them resumably
through ``runs.jsonl``, the report and the summary. The ``nstyle batch`` command line is in :mod:`nstyle.cli`.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from . import api, checkpoint, report
from .atomic import atomic_path
from .config import Config, digest, parse_value
from .engine import Engine
from .errors import Interrupted, NStyleError
from .progress import Progress
from .verify import sha256

log = logging.getLogger("nstyle")

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
#: Config fields a manifest may not set (they are the row's own columns or belong to the whole batch).
NOT_COLUMNS = {"content_image", "style_image", "output", "output_dir", "resume", "quiet"}
LOG_NAME = "runs.jsonl"


@dataclass
class Job:
    """One run of a batch."""

    name: str
    cfg: Config

    @property
    def output(self) -> str:
        return self.cfg.output or ""


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


def name_jobs(cfgs: List[Config], output_dir: str, explicit: List[Optional[str]]) -> List[Job]:
    """``<content-stem>__<style-stem>`` names, made unique with a short hash where stems repeat."""
    bases = [f"{_stem(c.content_image)}__{_stem(c.style_image)}" for c in cfgs]
    jobs = []
    for cfg, base, out in zip(cfgs, bases, explicit):
        name = base
        if bases.count(base) > 1:
            ident = json.dumps([cfg.content_image, cfg.style_image, cfg.hash()], default=str)
            name = f"{base}-{hashlib.sha1(ident.encode()).hexdigest()[:6]}"
        output = os.path.join(output_dir, out) if out else os.path.join(output_dir, name + ".jpg")
        work = os.path.join(output_dir, "work", name)
        jobs.append(Job(name, dataclasses.replace(cfg, output=output, output_dir=work)))
    outputs = [j.output for j in jobs]
    clash = sorted({o for o in outputs if outputs.count(o) > 1})
    if clash:
        raise NStyleError(f"several runs would write {clash[0]}; give them different output names")
    return jobs


def jobs_from_args(contents: Sequence[str], styles: Sequence[str], base: Config, output_dir: str) -> List[Job]:
    """Every content with every style."""
    cfgs = [dataclasses.replace(base, content_image=c, style_image=s)
            for c in expand(contents, "content") for s in expand(styles, "style")]
    return name_jobs(cfgs, output_dir, [None] * len(cfgs))


def jobs_from_manifest(path: str, base: Config, output_dir: str) -> List[Job]:
    """One job per CSV row; every problem is reported with its row number before anything runs."""
    if not os.path.isfile(path):
        raise NStyleError(f"manifest {path}: no such file")
    folder = os.path.dirname(os.path.abspath(path))
    fields = {f.name for f in dataclasses.fields(Config)} - NOT_COLUMNS
    problems: List[str] = []
    cfgs, outputs = [], []
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header = [h.strip().replace("-", "_") for h in (reader.fieldnames or [])]
            unknown = [h for h in header if h not in fields | {"content", "style", "output"}]
            if unknown:
                raise NStyleError(f"manifest {path}: unknown column(s) {', '.join(unknown)}; use content, style, "
                                  "output and single-run settings such as style_weight, max_long_edge, seed")
            if "content" not in header or "style" not in header:
                raise NStyleError(f"manifest {path}: needs 'content' and 'style' columns")
            for number, raw in enumerate(reader, start=2):  # row 1 is the header
                row = {k.strip().replace("-", "_"): (v or "").strip() for k, v in raw.items() if k}
                values: Dict[str, Any] = {}
                for key in ("content", "style"):
                    items = [p if os.path.isabs(p) else os.path.join(folder, p) for p in row[key].split()]
                    missing = [p for p in items if not os.path.exists(p)] or ([] if items else ["(empty)"])
                    if missing:
                        problems.append(f"row {number}: {key} file {missing[0]} not found")
                    values[key] = items[0] if len(items) == 1 else items
                settings = {}
                for key, text in row.items():
                    if key in fields and text != "":
                        try:
                            settings[key] = parse_value(key, text)
                        except ValueError:
                            problems.append(f"row {number}: column {key}: cannot read {text!r}")
                cfg = dataclasses.replace(base, content_image=values["content"], style_image=values["style"],
                                          **settings)
                try:
                    cfg.validate()
                except NStyleError as exc:
                    problems.append(f"row {number}: {exc}")
                cfgs.append(cfg)
                outputs.append(row.get("output") or None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NStyleError(f"manifest {path}: cannot read it ({exc})") from None
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise NStyleError(f"manifest {path}: " + "; ".join(problems[:5]) + more)
    if not cfgs:
        raise NStyleError(f"manifest {path} has no rows")
    return name_jobs(cfgs, output_dir, outputs)


_checksums: Dict[tuple, str] = {}


def file_checksum(path: str) -> str:
    """sha256 of a file, cached per (path, size, mtime); ``gluoncv`` stands for itself."""
    if path == "gluoncv" or not os.path.isfile(path):
        return path
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _checksums:
        _checksums[key] = sha256(path)
    return _checksums[key]


def effective_config(cfg: Config) -> Dict[str, Any]:
    """What decides a run's pixels: the settings plus checksums of the weights and input files."""
    record = cfg.numeric_dict()
    record["weights_sha256"] = file_checksum(cfg.weights)
    record["inputs_sha256"] = [file_checksum(p) for p in [cfg.content_image, *cfg.style_images]]
    return record


def read_log(path: str) -> Dict[str, dict]:
    """The latest record per run name in ``runs.jsonl`` (unreadable lines are ignored)."""
    latest: Dict[str, dict] = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    record = json.loads(line)
                    latest[record["name"]] = record
                except (ValueError, KeyError, TypeError):
                    continue
    return latest


def append_log(path: str, record: dict) -> None:
    """Add one record to ``runs.jsonl`` (rewritten atomically, so a crash never leaves half a line)."""
    old = open(path).read() if os.path.exists(path) else ""
    if old and not old.endswith("\n"):
        old += "\n"
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(old + json.dumps(record, default=str) + "\n")


def job_record(job: Job) -> dict:
    """The fields of a job that its ``runs.jsonl`` record and the report share."""
    return {"name": job.name, "content": job.cfg.content_image, "style": job.cfg.style_image, "output": job.output}


def history_record(epochs: List[Any], before: Optional[dict] = None) -> Dict[str, list]:
    """Style and content loss per epoch (4 significant digits) for the report's curves.

    ``before``: the history of the interrupted run this one resumed, put in front of the new epochs.
    """
    def short(v: float) -> float:
        return float(f"{v:.4g}")
    new = {"style": [short(e.style_loss) for e in epochs], "content": [short(e.content_loss) for e in epochs]}
    if not before:
        return new
    return {k: list(before.get(k) or []) + v for k, v in new.items()}


@dataclass
class Outcome:
    """How one job of this invocation went."""

    job: Job
    status: str  # done / skipped / failed / interrupted
    seconds: float = 0.0
    epochs: int = 0
    reason: str = ""
    style_loss: float = float("nan")
    content_loss: float = float("nan")
    code: int = 0  # exit status of an interrupted run
    history: List[Any] = field(default_factory=list)  # nstyle.loop.Epoch per epoch run (also when stopped early)


def run_batch(jobs: List[Job], output_dir: str, quiet: bool, engine: Optional[Engine] = None) -> List[Outcome]:
    """Run the jobs into ``output_dir`` (see :func:`run_jobs`), then write its report (``index.html``, ``sheet.png``)."""
    api.prepare_output(Config(output_dir=output_dir, output=None))
    log.info("%d run(s) into %s", len(jobs), output_dir)
    outcomes = run_jobs(jobs, output_dir, quiet, engine)
    report.write(output_dir, read_log(os.path.join(output_dir, LOG_NAME)), [job_record(j) for j in jobs],
                 {o.job.name: o.status for o in outcomes})
    return outcomes


def run_jobs(jobs: List[Job], output_dir: str, quiet: bool, engine: Optional[Engine] = None) -> List[Outcome]:
    """Run (or skip) every job; one failure does not stop the others; a signal stops the batch."""
    os.makedirs(output_dir, exist_ok=True)
    log_path = os.path.join(output_dir, LOG_NAME)
    previous = read_log(log_path)
    engine = engine or Engine()
    machine = report.machine_lines()
    outer = Progress(len(jobs), quiet=quiet, label="runs")
    outcomes: List[Outcome] = []
    for i, job in enumerate(jobs, start=1):
        tag = f"[{i}/{len(jobs)}] {job.name}"
        effective = effective_config(job.cfg)
        settings = digest(effective)
        old = previous.get(job.name)
        if old and old.get("status") == "done" and old.get("hash") == settings and os.path.exists(job.output):
            outcomes.append(Outcome(job, "skipped", reason="already done with these settings"))
            outer.log(f"{tag}: skipped (done before with the same settings)")
            outer.update(i)
            continue
        cfg = job.cfg
        if old and old.get("status") == "interrupted" and old.get("hash") == settings and \
                os.path.exists(checkpoint.path_for(cfg.output_dir)):
            cfg = dataclasses.replace(cfg, resume=True)  # continue where the interrupted run stopped
        outer.log(f"{tag}: {'resuming' if cfg.resume else 'running'}")
        started = time.perf_counter()
        record = dict(job_record(job), config=effective, hash=settings, machine=machine)
        epochs: List[Any] = []
        try:
            result = api.run(cfg, engine=engine, on_epoch=epochs.append)
            outcome = Outcome(job, "done", result.seconds, result.epochs, "", result.style_loss,
                              result.content_loss)
        except Interrupted as exc:
            outcome = Outcome(job, "interrupted", time.perf_counter() - started, reason=str(exc), code=exc.code)
        except NStyleError as exc:
            outcome = Outcome(job, "failed", time.perf_counter() - started, reason=str(exc))
        outcome.history = epochs
        record.update(status=outcome.status, reason=outcome.reason, seconds=round(outcome.seconds, 3),
                      epochs=outcome.epochs, style_loss=outcome.style_loss, content_loss=outcome.content_loss,
                      finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                      history=history_record(outcome.history, old.get("history") if cfg.resume and old else None))
        append_log(log_path, record)
        outcomes.append(outcome)
        outer.log(f"{tag}: {outcome.status} in {outcome.seconds:.1f} s" + (f" ({outcome.reason})" if
                                                                           outcome.reason else ""))
        outer.update(i)
        if outcome.status == "interrupted":
            break
    outer.close()
    return outcomes


def summary(outcomes: List[Outcome], seconds: float) -> str:
    """The table printed at the end of a batch."""
    lines = [f"{'run':40s} {'status':11s} {'seconds':>8s} {'epochs':>6s}  reason"]
    for o in outcomes:
        lines.append(f"{o.job.name[:40]:40s} {o.status:11s} {o.seconds:8.1f} {o.epochs:6d}  {o.reason[:80]}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "skipped", "failed")}
    lines.append(f"done {counts['done']}, skipped {counts['skipped']}, failed {counts['failed']}; "
                 f"{seconds:.1f} s in all")
    return "\n".join(lines)


def exit_status(outcomes: List[Outcome]) -> int:
    """A batch's exit status: an interrupted run's (128 + signal), else 1 when a run failed, else 0."""
    interrupted = [o.code for o in outcomes if o.status == "interrupted"]
    if interrupted:
        return interrupted[0]
    return 1 if any(o.status == "failed" for o in outcomes) else 0
