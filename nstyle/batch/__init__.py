"""Batch runs: many stylizations from arguments or a CSV manifest, resumable, on this machine or a Dask cluster.

Holds ``jobs`` (every content with every style, or a manifest's rows), ``log`` (``runs.jsonl``, one record per
run), ``runs`` (running the jobs, skipping those already done, the summary), ``folder`` (the output folder, held
by one batch at a time and checked to be still there) and ``cluster`` (the same runs on Dask workers, this process
the only writer). May import everything below it: :mod:`nstyle.api` and the layers under
it, and :mod:`nstyle.report`; nothing imports it but the command line.

Public: :func:`jobs_from_args`, :func:`jobs_from_manifest`, :func:`run_batch`, :func:`run_jobs`, :func:`summary`,
:func:`exit_status`, :class:`Job`, :class:`Outcome`, :func:`read_log` and ``nstyle.batch.cluster.connect``. They are
loaded on first use, so ``import nstyle.batch`` does not import MXNet.
"""
from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "Job": "jobs", "expand": "jobs", "jobs_from_args": "jobs", "jobs_from_manifest": "jobs", "manifest_rows": "jobs",
    "LOG_NAME": "log", "RECORD_FIELDS": "log", "RECORD_REQUIRED": "log", "parse_record": "log", "read_log": "log",
    "Outcome": "runs", "run_batch": "runs", "run_jobs": "runs", "summary": "runs", "exit_status": "runs",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """``nstyle.batch.run_batch`` and friends, imported from their module when first asked for."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'nstyle.batch' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
