"""Running a batch's jobs resumably (here or on a Dask cluster), recording each in ``runs.jsonl``, then the report
and the summary. The ``nstyle batch`` command line is in :mod:`nstyle.cli`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .. import api
from ..algorithm.engine import Engine
from ..config import Config, digest
from ..errors import Interrupted, NStyleError
from ..files import checkpoint, guard
from ..process import runtime
from ..process.progress import Progress
from ..process.watch import BatchWatch, together
from ..report import page as report
from .folder import BatchFolder
from .jobs import Job
from .log import LOG_NAME, append_log, effective_config, history_record, job_record, read_log
from .refresh import ReportRefresh

log = logging.getLogger("nstyle")


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
    history: List[Any] = field(default_factory=list)  # an Epoch per epoch run (also when stopped early)
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
              client: Any = None, manifest: Optional[str] = None,
              watch: Optional[BatchWatch] = None) -> List[Outcome]:
    """Run the jobs into ``output_dir`` (see :func:`run_jobs`), then write its report (``index.html``, ``sheet.png``);
    the report is kept up to date while the runs go on (:mod:`nstyle.batch.refresh`).

    Refused before any run when a result, snapshot, checkpoint or the report would replace an input (or the
    ``manifest`` the jobs came from), or while another batch writes into ``output_dir``
    (:mod:`nstyle.batch.folder`). When the batch ends early (its folder or its Dask scheduler gone), the report
    still shows the runs that finished, if the folder is there to hold it.
    """
    guard.check_batch([(j.name, j.cfg) for j in jobs], output_dir, batch_files(output_dir),
                      [("manifest", manifest)] if manifest else [])
    api.prepare_output(Config(output_dir=output_dir, output=None))
    planned = [job_record(j) for j in jobs]
    with BatchFolder(output_dir) as folder:
        log.info("%d run(s) into %s", len(jobs), output_dir)
        try:
            refresh = ReportRefresh(output_dir, folder.intact)
            outcomes = run_jobs(jobs, output_dir, quiet, engine, client, together(refresh, watch), folder)
        except NStyleError:
            if folder.intact():
                with contextlib.suppress(NStyleError):
                    report.write(output_dir, read_log(os.path.join(output_dir, LOG_NAME)), planned, {})
            raise
        report.write(output_dir, read_log(os.path.join(output_dir, LOG_NAME)), planned,
                     {o.job.name: o.status for o in outcomes})
    return outcomes


def run_jobs(jobs: List[Job], output_dir: str, quiet: bool, engine: Optional[Engine] = None,
             client: Any = None, watch: Optional[BatchWatch] = None,
             folder: Optional[BatchFolder] = None) -> List[Outcome]:
    """Run (or skip) every job; one failure does not stop the others; a signal stops the batch, and so does the
    output folder vanishing (``folder``, claimed here when not given).

    With a ``distributed.Client`` as ``client`` the runs go to its Dask cluster (see :mod:`nstyle.batch.cluster`);
    this process still writes every output, ``runs.jsonl`` and the report. ``watch`` (the live page) is told
    each run's state, and watches the runs made here epoch by epoch.
    """
    if folder is None:
        os.makedirs(output_dir, exist_ok=True)
        with BatchFolder(output_dir) as folder:
            return run_jobs(jobs, output_dir, quiet, engine, client, watch, folder)
    log_path = os.path.join(output_dir, LOG_NAME)
    previous = read_log(log_path)
    machine = runtime.machine_lines()
    outer = Progress(len(jobs), quiet=quiet, label="runs")
    outcomes: List[Outcome] = []
    planned: List[Planned] = []
    if watch:
        watch.plan([job_record(j) for j in jobs])
    for job in jobs:
        effective = effective_config(job.cfg, job.temporal_weight, job.temporal_frames, job.warp_interpolation,
                                     job.passes, job.pass_blend)
        settings = digest(effective)
        old = previous.get(job.name)
        if old and old.get("status") == "done" and old.get("hash") == settings and os.path.exists(job.output):
            outcomes.append(Outcome(job, "skipped", reason="already done with these settings"))
            if watch:
                watch.run_state(job.name, "skipped")
            outer.log(f"[{len(outcomes)}/{len(jobs)}] {job.name}: skipped (done before with the same settings)")
            outer.update(len(outcomes))
            continue
        cfg = job.cfg
        # continue where an interrupted run stopped (a clip also on a cluster: its frames came back as they finished)
        if (client is None or job.is_video) and old and old.get("status") == "interrupted" and \
                old.get("hash") == settings and os.path.exists(resume_file(job)):
            cfg = dataclasses.replace(cfg, resume=True)
        planned.append(Planned(job, cfg, dict(job_record(job), config=effective, hash=settings),
                               old.get("history") if cfg.resume and old else None))
    runs = run_here(planned, engine or Engine(), outer.log, watch, folder.check) if client is None else \
        run_on_cluster(planned, client, outer.log, folder.check)
    try:
        for p, outcome in runs:
            folder.check()
            append_log(log_path, run_record(p, outcome, machine))
            outcomes.append(outcome)
            if watch:
                watch.run_state(p.job.name, outcome.status)
            where = f" on {outcome.worker}" if outcome.worker else ""
            outer.log(f"[{len(outcomes)}/{len(jobs)}] {p.job.name}: {outcome.status}{where} in "
                      f"{outcome.seconds:.1f} s" + (f" ({outcome.reason})" if outcome.reason else ""))
            outer.update(len(outcomes))
    finally:
        outer.close()
    return outcomes


def resume_file(job: Job) -> str:
    """The file an interrupted run of ``job`` continues from: its checkpoint, or a clip's ``video.json``."""
    from ..video import work

    return os.path.join(job.cfg.output_dir or ".", work.STATE) if job.is_video else \
        checkpoint.path_for(job.cfg.output_dir)


def run_record(p: Planned, outcome: Outcome, machine: List[str]) -> Dict[str, Any]:
    """The ``runs.jsonl`` record of a run that ended (``machine``: this process's lines, for runs made here)."""
    record = dict(p.record, machine=outcome.machine or machine, status=outcome.status, reason=outcome.reason,
                  seconds=round(outcome.seconds, 3), epochs=outcome.epochs, style_loss=outcome.style_loss,
                  content_loss=outcome.content_loss, finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  history=history_record(outcome.history, p.history_before))
    if outcome.worker:
        record.update(worker=outcome.worker, **outcome.timing)
    return record


def batch_files(output_dir: str) -> List[str]:
    """The files a batch writes besides its results: the run log and the report."""
    return [os.path.join(output_dir, n) for n in (LOG_NAME, "index.html", "sheet.png")]


def run_here(planned: List[Planned], engine: Engine, log_line: Callable[[str], None],
             watch: Optional[BatchWatch] = None,
             check: Callable[[], None] = lambda: None) -> Iterator[Tuple[Planned, Outcome]]:
    """Run the jobs one after another in this process, ``check()`` before each; stop after a run interrupted by a
    signal."""
    for p in planned:
        check()
        log_line(f"{p.job.name}: {'resuming' if p.cfg.resume else 'running'}")
        if watch:
            watch.run_state(p.job.name, "running")
        started = time.perf_counter()
        epochs: List[Any] = []
        try:
            if p.job.is_video:
                outcome = run_clip(p, engine)
            else:
                result = api.run(p.cfg, engine=engine, on_epoch=epochs.append, watch=watch)
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


def run_clip(p: Planned, engine: Engine) -> Outcome:
    """Stylize a clip job here, frame after frame, in its work folder (``--resume`` of an interrupted one)."""
    from ..video.plan import VideoSettings
    from ..video.clip import stylize_clip

    video = VideoSettings(p.cfg.content_image, p.job.output, float(p.job.temporal_weight or 0),
                          temporal_frames=p.job.temporal_frames, warp_interpolation=p.job.warp_interpolation,
                          passes=p.job.passes, pass_blend=p.job.pass_blend)
    result = stylize_clip(p.cfg, video, engine)
    return Outcome(p.job, "done", result.seconds, result.epochs, "", result.style_loss, result.content_loss)


def run_on_cluster(planned: List[Planned], client: Any, log_line: Callable[[str], None],
                   check: Callable[[], None] = lambda: None) -> Iterator[Tuple[Planned, Outcome]]:
    """Run the jobs on the Dask cluster of ``client`` (:mod:`nstyle.batch.cluster`), yielding them as they finish;
    ``check()`` before each result is saved."""
    from . import cluster

    by_name = {p.job.name: p for p in planned}
    clips = {p.job.name: (float(p.job.temporal_weight or 0), p.job.temporal_frames, p.job.warp_interpolation,
                          p.job.passes, p.job.pass_blend)
             for p in planned
             if p.job.is_video}
    for f in cluster.run(client, [(p.job.name, p.cfg) for p in planned], log_line, check, clips):
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
