"""Batch runs as a library: jobs (every content with every style, or a manifest's rows), running them resumably
through ``runs.jsonl``, the report and the summary. The ``nstyle batch`` command line is in :mod:`nstyle.cli`.
"""
from __future__ import annotations

import codecs
import csv
import dataclasses
import glob
import hashlib
import io
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from . import api, checkpoint, guard, report
from .atomic import atomic_path
from .config import Config, digest, parse_value
from .engine import Engine
from .errors import Interrupted, NStyleError
from .progress import Progress
from .verify import file_checksum

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


def check_output_name(out: str) -> Optional[str]:
    """Why a manifest's ``output`` cell cannot be used (it must stay inside the output folder), or None."""
    from .images import output_format

    parts = out.replace("\\", "/").split("/")
    if os.path.isabs(out) or ".." in parts:
        return f"output {out} must be a file name inside the output folder"
    try:
        output_format(out)
    except NStyleError as exc:
        return str(exc)
    return None


def jobs_from_manifest(path: str, base: Config, output_dir: str) -> List[Job]:
    """One job per CSV row; every problem is reported with its row number before anything runs."""
    folder = os.path.dirname(os.path.abspath(path))
    fields = {f.name for f in dataclasses.fields(Config)} - NOT_COLUMNS
    problems: List[str] = []
    cfgs, outputs = [], []
    header, rows = manifest_rows(path)
    unknown = [h for h in header if h not in fields | {"content", "style", "output"}]
    if unknown:
        raise NStyleError(f"manifest {path}: unknown column(s) {', '.join(unknown)}; use content, style, "
                          "output and single-run settings such as style_weight, max_long_edge, seed")
    if "content" not in header or "style" not in header:
        raise NStyleError(f"manifest {path}: needs 'content' and 'style' columns")
    for number, row in rows:
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
        bad_output = row.get("output") and check_output_name(row["output"])
        if bad_output:
            problems.append(f"row {number}: {bad_output}")
        cfgs.append(cfg)
        outputs.append(row.get("output") or None)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise NStyleError(f"manifest {path}: " + "; ".join(problems[:5]) + more)
    if not cfgs:
        raise NStyleError(f"manifest {path} has no rows")
    return name_jobs(cfgs, output_dir, outputs)


def effective_config(cfg: Config) -> Dict[str, Any]:
    """What decides a run's pixels: the settings plus checksums of the weights and input files."""
    record = cfg.numeric_dict()
    record["weights_sha256"] = file_checksum(cfg.weights)
    record["inputs_sha256"] = [file_checksum(p) for p in [cfg.content_image, *cfg.style_images]]
    return record


#: Types of the fields of a ``runs.jsonl`` record that nstyle reads back.
RECORD_FIELDS = {"name": str, "status": str, "hash": str, "output": str, "reason": str, "content": (str, list),
                 "style": (str, list), "epochs": int, "seconds": (int, float), "style_loss": (int, float),
                 "content_loss": (int, float), "config": dict}
#: Fields every record written by :func:`run_jobs` has.
RECORD_REQUIRED = ("name", "status", "hash", "output", "content", "style")


def parse_record(line: bytes) -> Optional[dict]:
    """One ``runs.jsonl`` line as a record, or None for anything else (corrupt, foreign or hand-edited lines)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(record, dict) or any(key not in record for key in RECORD_REQUIRED):
        return None
    for key, kind in RECORD_FIELDS.items():
        value = record.get(key)
        if key in record and (not isinstance(value, kind) or isinstance(value, bool)):
            return None
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return None
    return record


def read_log(path: str) -> Dict[str, dict]:
    """The latest record per run name in ``runs.jsonl`` (unreadable lines are ignored)."""
    latest: Dict[str, dict] = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                record = parse_record(line)
                if record is not None:
                    latest[record["name"]] = record
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise NStyleError(f"cannot read {path}: {exc.strerror or exc}") from None
    return latest


def append_log(path: str, record: dict) -> None:
    """Add one record to ``runs.jsonl`` (rewritten atomically, so a crash never leaves half a line)."""
    old = b""
    if os.path.exists(path):
        with open(path, "rb") as f:
            old = f.read()
    if old and not old.endswith(b"\n"):
        old += b"\n"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(old + json.dumps(record, default=str).encode("utf-8") + b"\n")


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
    worker: str = ""  # the Dask worker that ran it (cluster runs)
    machine: List[str] = field(default_factory=list)  # cluster runs: the worker's machine lines
    timing: Dict[str, float] = field(default_factory=dict)  # cluster runs: submitted_at, started_at, ended_at


@dataclass
class Planned:
    """A job that runs in this invocation: its settings (resuming an interrupted run or not) and its record so far."""

    job: Job
    cfg: Config
    record: Dict[str, Any]
    history_before: Optional[dict] = None  # the losses of the interrupted run this one resumes


def run_batch(jobs: List[Job], output_dir: str, quiet: bool, engine: Optional[Engine] = None,
              client: Any = None, manifest: Optional[str] = None) -> List[Outcome]:
    """Run the jobs into ``output_dir`` (see :func:`run_jobs`), then write its report (``index.html``, ``sheet.png``).

    Refused before any run when a result, snapshot, checkpoint or the report would replace an input (or the
    ``manifest`` the jobs came from).
    """
    guard.check_batch([(j.name, j.cfg) for j in jobs], output_dir, batch_files(output_dir),
                      [("manifest", manifest)] if manifest else [])
    api.prepare_output(Config(output_dir=output_dir, output=None))
    log.info("%d run(s) into %s", len(jobs), output_dir)
    outcomes = run_jobs(jobs, output_dir, quiet, engine, client)
    report.write(output_dir, read_log(os.path.join(output_dir, LOG_NAME)), [job_record(j) for j in jobs],
                 {o.job.name: o.status for o in outcomes})
    return outcomes


def run_jobs(jobs: List[Job], output_dir: str, quiet: bool, engine: Optional[Engine] = None,
             client: Any = None) -> List[Outcome]:
    """Run (or skip) every job; one failure does not stop the others; a signal stops the batch.

    With a ``distributed.Client`` as ``client`` the runs go to its Dask cluster (see :mod:`nstyle.cluster`);
    this process still writes every output, ``runs.jsonl`` and the report.
    """
    os.makedirs(output_dir, exist_ok=True)
    log_path = os.path.join(output_dir, LOG_NAME)
    previous = read_log(log_path)
    machine = report.machine_lines()
    outer = Progress(len(jobs), quiet=quiet, label="runs")
    outcomes: List[Outcome] = []
    planned: List[Planned] = []
    for job in jobs:
        effective = effective_config(job.cfg)
        settings = digest(effective)
        old = previous.get(job.name)
        if old and old.get("status") == "done" and old.get("hash") == settings and os.path.exists(job.output):
            outcomes.append(Outcome(job, "skipped", reason="already done with these settings"))
            outer.log(f"[{len(outcomes)}/{len(jobs)}] {job.name}: skipped (done before with the same settings)")
            outer.update(len(outcomes))
            continue
        cfg = job.cfg
        if client is None and old and old.get("status") == "interrupted" and old.get("hash") == settings and \
                os.path.exists(checkpoint.path_for(cfg.output_dir)):
            cfg = dataclasses.replace(cfg, resume=True)  # continue where the interrupted run stopped
        planned.append(Planned(job, cfg, dict(job_record(job), config=effective, hash=settings),
                               old.get("history") if cfg.resume and old else None))
    runs = run_here(planned, engine or Engine(), outer.log) if client is None else \
        run_on_cluster(planned, client, outer.log)
    for p, outcome in runs:
        record = dict(p.record, machine=outcome.machine or machine, status=outcome.status, reason=outcome.reason,
                      seconds=round(outcome.seconds, 3), epochs=outcome.epochs, style_loss=outcome.style_loss,
                      content_loss=outcome.content_loss, finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                      history=history_record(outcome.history, p.history_before))
        if outcome.worker:
            record.update(worker=outcome.worker, **outcome.timing)
        append_log(log_path, record)
        outcomes.append(outcome)
        where = f" on {outcome.worker}" if outcome.worker else ""
        outer.log(f"[{len(outcomes)}/{len(jobs)}] {p.job.name}: {outcome.status}{where} in {outcome.seconds:.1f} s"
                  + (f" ({outcome.reason})" if outcome.reason else ""))
        outer.update(len(outcomes))
    outer.close()
    return outcomes


def batch_files(output_dir: str) -> List[str]:
    """The files a batch writes besides its results: the run log and the report."""
    return [os.path.join(output_dir, n) for n in (LOG_NAME, "index.html", "sheet.png")]


def run_here(planned: List[Planned], engine: Engine,
             log_line: Callable[[str], None]) -> Iterator[Tuple[Planned, Outcome]]:
    """Run the jobs one after another in this process; stop after a run interrupted by a signal."""
    for p in planned:
        log_line(f"{p.job.name}: {'resuming' if p.cfg.resume else 'running'}")
        started = time.perf_counter()
        epochs: List[Any] = []
        try:
            result = api.run(p.cfg, engine=engine, on_epoch=epochs.append)
            outcome = Outcome(p.job, "done", result.seconds, result.epochs, "", result.style_loss,
                              result.content_loss)
        except Interrupted as exc:
            outcome = Outcome(p.job, "interrupted", time.perf_counter() - started, reason=str(exc), code=exc.code)
        except NStyleError as exc:
            outcome = Outcome(p.job, "failed", time.perf_counter() - started, reason=str(exc))
        outcome.history = epochs
        yield p, outcome
        if outcome.status == "interrupted":
            return


def run_on_cluster(planned: List[Planned], client: Any,
                   log_line: Callable[[str], None]) -> Iterator[Tuple[Planned, Outcome]]:
    """Run the jobs on the Dask cluster of ``client`` (:mod:`nstyle.cluster`), yielding them as they finish."""
    from . import cluster

    by_name = {p.job.name: p for p in planned}
    for f in cluster.run(client, [(p.job.name, p.cfg) for p in planned], log_line):
        p = by_name[f.name]
        timing = {"submitted_at": round(f.submitted, 3), "started_at": round(f.started, 3),
                  "ended_at": round(f.ended, 3)} if f.started else {}
        yield p, Outcome(p.job, f.status, f.seconds, f.epochs, f.reason, f.style_loss, f.content_loss, f.code,
                         f.history, f.worker, f.machine, timing)


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
