"""Batch runs on a Dask cluster: workers compute, this process (the client) is the only writer.

The client sends each run with the bytes of its input images; a worker writes them to its own scratch folder,
runs the stylization with an :class:`~nstyle.algorithm.engine.Engine` it keeps for its whole life (networks per
size and style Grams, so a style's Grams are computed once per worker and size), and returns the final image, losses
and history.
The client saves the image and leaves the records and the report to :mod:`nstyle.batch.runs`. A clip is one
run: the worker stylizes its frames in order in a scratch folder and returns them; the client writes them into the
clip's work folder and encodes the video.

Weights are not sent: every worker reads ``--weights`` from the same path as the client (checked against the
client's checksum when the client has the file too). Dask retries a run whose worker dies (killed, out of
memory) on another worker, up to the scheduler's ``allowed-failures`` (:data:`ALLOWED_FAILURES` on a local
cluster), after which the run is marked failed with that reason.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..config import Config
from ..errors import NStyleError
from ..files.checksums import file_checksum
from ..process import runtime
from ..process.interrupts import stop_on_signals
from ..version import __version__
from ..video.warping import WARP_INTERPOLATION

log = logging.getLogger("nstyle")

INSTALL = "pip install 'nstyle[cluster]' (Dask: dask and distributed)"
#: Seconds to wait for ``--scheduler`` to answer.
CONNECT_TIMEOUT = 5.0
#: Worker deaths a run may live through on a ``--workers`` cluster before it is marked failed (Dask's default).
ALLOWED_FAILURES = 3
#: Event topic on which workers announce the runs they start.
TOPIC = "nstyle-run-started"
#: Event topic on which workers send each finished frame of a clip (its PNG file) to the client, which keeps it in
#: the clip's work folder: an interrupted clip resumes from those frames when the batch is run again.
FRAMES_TOPIC = "nstyle-clip-frame"
#: Seconds between looks at finished runs, signals and worker events while waiting.
POLL = 0.1
#: A clip run's temporal settings: ``(temporal weight, temporal frames, warp kernel, passes, pass blend)``.
Clip = Tuple[float, Tuple[int, ...], str, int, float]


def require_dask(flag: str) -> Any:
    """The ``distributed`` module, or a one-line :class:`NStyleError` naming ``flag`` and what to install."""
    try:
        import distributed
    except ImportError:
        raise NStyleError(f"{flag} needs Dask, which is not installed: {INSTALL}") from None
    return distributed


@contextlib.contextmanager
def _environ_kept(names: Sequence[str]) -> Iterator[None]:
    """Restore ``names`` in ``os.environ`` afterwards (Dask's nanny sets its workers' variables in our process)."""
    saved = {n: os.environ.get(n) for n in names}
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _ignore_interrupts(distributed: Any) -> Any:
    """A worker plugin for a local cluster: Ctrl-C reaches the whole process group, but only the client acts on it."""

    class IgnoreInterrupts(distributed.WorkerPlugin):
        name = "nstyle-ignore-sigint"

        def setup(self, worker: Any) -> None:
            import signal

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return IgnoreInterrupts()


@contextlib.contextmanager
def connect(scheduler: Optional[str] = None, workers: Optional[int] = None) -> Iterator[Any]:
    """A ``distributed.Client`` for the scheduler at ``scheduler``, or for a new local cluster of ``workers``."""
    distributed = require_dask("--scheduler" if scheduler else "--workers")
    with (_remote(distributed, scheduler) if scheduler else _local(distributed, workers or 1)) as client:
        check_versions(client)
        yield client


def worker_version() -> str:
    """The nstyle version of the process this runs in (run on every worker by :func:`check_versions`)."""
    return __version__


def check_versions(client: Any) -> None:
    """Refuse, before any work, a cluster whose workers run another nstyle (or none) than this client.

    Workers that join later are checked per run (:func:`_check_worker`)."""
    try:
        found = client.run(worker_version)
    except ImportError as exc:
        raise NStyleError(f"a Dask worker cannot import nstyle ({exc}); install nstyle {__version__} on every "
                          "worker") from None
    other = sorted((address, version) for address, version in found.items() if version != __version__)
    if other:
        more = f" (and {len(other) - 1} more worker(s))" if len(other) > 1 else ""
        raise NStyleError(f"worker {other[0][0]} has nstyle {other[0][1]}, this client {__version__}{more}; install "
                          "the same version everywhere")


@contextlib.contextmanager
def _remote(distributed: Any, scheduler: str) -> Iterator[Any]:
    """A client of the running scheduler at ``scheduler``; one line if none answers within :data:`CONNECT_TIMEOUT`."""
    import asyncio

    try:
        asyncio.run(_handshake(scheduler))
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (ValueError, TypeError) as exc:
        raise NStyleError(f"--scheduler {scheduler}: not a Dask scheduler address ({str(exc).splitlines()[0]}); "
                          "give tcp://HOST:PORT") from None
    except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else "no Dask handshake: is something else listening there?"
        raise NStyleError(f"--scheduler {scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT:g} s "
                          f"({why})") from None
    try:
        yield client
    finally:
        _close(client)


async def _handshake(scheduler: str) -> None:
    """Open and close one Dask connection to ``scheduler`` within :data:`CONNECT_TIMEOUT` (Dask's own connect waits
    for ever for the handshake of a server that accepts connections but is not a Dask scheduler)."""
    import asyncio

    from distributed.comm import connect as dask_connect

    comm = await asyncio.wait_for(dask_connect(scheduler, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT)
    await comm.close()


def _close(client: Any) -> None:
    """Close ``client``; after its scheduler went away, without Dask's log of the reconnection it gives up (the
    batch has said what happened in one line)."""
    if client.status == "running":
        client.close()
        return
    logging.disable(logging.CRITICAL)
    try:
        client.close()
    finally:
        logging.disable(logging.NOTSET)


@contextlib.contextmanager
def _local(distributed: Any, workers: int) -> Iterator[Any]:
    """A client of a new local cluster of ``workers`` processes, shut down on leaving the block.

    Each worker has one task thread and ``available CPUs // workers`` MXNet threads (``OMP_NUM_THREADS``, set
    before MXNet loads), or reproducible mode's fixed count when this process is in reproducible mode, which
    the workers then share.
    """
    import dask

    reproducible = runtime.reproducible_requested()
    threads = runtime.REPRODUCIBLE_THREADS if reproducible else max(1, runtime.available_cpus() // workers)
    env = {"OMP_NUM_THREADS": str(threads), **(runtime.reproducible_env() if reproducible else {})}
    settings = {"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": threads}
    with _environ_kept(["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_",
                        "PYTHONHASHSEED"]), dask.config.set(settings):
        try:
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None, env=env, silence_logs=logging.ERROR)
        except KeyboardInterrupt:
            raise NStyleError("interrupted while starting the local Dask cluster", code=130) from None
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            client.register_plugin(_ignore_interrupts(distributed))
            log.info("local Dask cluster: %d worker process(es), %d MXNet thread(s) each%s, scheduler %s",
                     workers, threads, " (reproducible mode)" if reproducible else "", cluster.scheduler_address)
            yield client


@dataclass
class Task:
    """One run as sent to a worker: the settings as on the client and the bytes of every input image."""

    batch: str  # the submitting invocation's id (worker events of other clients are ignored)
    name: str
    cfg: Config
    files: Dict[str, Optional[bytes]]  # client path -> bytes (None: the client could not read it)
    weights_sha256: str  # the client's checksum of --weights, or its spec when the client has no such file
    reproducible: bool  # whether the client is in reproducible mode (the worker must be too)
    version: str = __version__
    temporal_weight: Optional[float] = None  # a clip (the content) with this temporal weight; None: a picture
    temporal_frames: Tuple[int, ...] = (1,)  # a clip's --temporal-frames
    warp_interpolation: str = WARP_INTERPOLATION  # a clip's --warp-interpolation
    passes: int = 1  # a clip's --passes
    pass_blend: float = 0.5  # a clip's --pass-blend
    frames: List[bytes] = field(default_factory=list)  # a clip's finished frames (PNG files) to resume from


@dataclass
class Finished:
    """How a run ended, as the worker returns it and the client yields it."""

    name: str
    status: str  # done / failed / interrupted (cancelled by a signal on the client)
    reason: str = ""
    seconds: float = 0.0
    epochs: int = 0
    style_loss: float = float("nan")
    content_loss: float = float("nan")
    history: List[Any] = field(default_factory=list)  # nstyle.algorithm.loop.Epoch per epoch
    image: Any = None  # HxWx3 uint8 (done runs); a clip's: a list of them, one per frame
    worker: str = ""
    machine: List[str] = field(default_factory=list)  # the worker's nstyle.process.runtime.machine_lines()
    submitted: float = 0.0  # time.time() on the client
    started: float = 0.0  # time.time() on the worker when it took the run
    ended: float = 0.0  # time.time() on the worker when it handed the result back
    gram_computations: int = 0  # style Gram computations of the worker's Engine so far
    worker_runs: int = 0  # runs this worker process has been given so far, this one included
    code: int = 0  # exit status of an interrupted run


# ---- on the worker ----------------------------------------------------------------------------------------------

_engine: Any = None
_machine: List[str] = []
_runs = 0
_engine_lock = threading.Lock()  # one run at a time per worker process, whatever its thread count


class _Cancelled(Exception):
    """The client no longer wants this run."""


def _local_inputs(task: Task, folder: str) -> Tuple[Config, Dict[str, str]]:
    """Write the task's files under ``folder`` (content-addressed); the config pointing at them, and the renames."""
    renames: Dict[str, str] = {}
    for path, data in task.files.items():
        digest = hashlib.sha256(data).hexdigest()[:16] if data is not None else "missing"
        local = os.path.join(folder, digest, os.path.basename(path) or "input")
        if data is not None and not os.path.exists(local):
            os.makedirs(os.path.dirname(local), exist_ok=True)
            tmp = f"{local}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, local)
        renames[path] = local
    cfg = task.cfg
    styles = [renames[p] for p in cfg.style_images]
    cfg = dataclasses.replace(cfg, content_image=renames[cfg.content_image],
                              style_image=styles[0] if isinstance(cfg.style_image, str) else styles,
                              init=renames.get(cfg.init, cfg.init), output=None, output_dir=None, quiet=True,
                              resume=False)
    return cfg, renames


def _check_worker(task: Task, address: str) -> None:
    """The worker must run the client's nstyle, in the client's reproducible mode, with the client's weights."""
    if task.version != __version__:
        raise NStyleError(f"worker {address} has nstyle {__version__}, the client {task.version}; install the "
                          "same version everywhere")
    here = runtime.reproducible_requested()
    if here != task.reproducible:
        mode = {True: "in reproducible mode", False: "not in reproducible mode"}
        raise NStyleError(f"worker {address} is {mode[here]}, the client is {mode[task.reproducible]}; start the "
                          f"workers with {runtime.REPRODUCIBLE_VAR}={int(task.reproducible)}")
    spec = task.cfg.weights
    if re.fullmatch(r"[0-9a-f]{64}", task.weights_sha256):
        if not os.path.isfile(spec):
            raise NStyleError(f"--weights {spec}: no such file on worker {address}; every worker reads the weights "
                              "from the client's path")
        if file_checksum(spec) != task.weights_sha256:
            raise NStyleError(f"--weights {spec} on worker {address} differs from the client's file")


def run_task(task: Task) -> Finished:
    """Run one task on this Dask worker with the worker's long-lived Engine (executed by the worker)."""
    from distributed import get_worker

    global _engine, _machine, _runs
    worker = get_worker()
    key, started = worker.get_current_task(), time.time()
    worker.log_event(TOPIC, {"batch": task.batch, "name": task.name, "worker": worker.address, "pid": os.getpid()})

    def cancelled(_epoch: Any) -> None:
        state = worker.state.tasks.get(key)
        if state is None or state.state == "cancelled":
            raise _Cancelled

    renames: Dict[str, str] = {}
    try:
        _check_worker(task, worker.address)
        cfg, renames = _local_inputs(task, os.path.join(worker.local_directory, "nstyle-inputs"))
        with _engine_lock:
            from .. import api
            from ..algorithm.engine import Engine

            _runs += 1
            _engine = _engine or Engine()
            _machine = _machine or runtime.machine_lines()
            if task.temporal_weight is not None:
                fin = _run_clip(task, cfg, os.path.join(worker.local_directory, "nstyle-clips"), cancelled)
            else:
                result = api.run(cfg, engine=_engine, on_epoch=cancelled)
                fin = Finished(task.name, "done", "", result.seconds, result.epochs, result.style_loss,
                               result.content_loss, result.history, result.image)
        fin.worker, fin.machine, fin.started, fin.ended = worker.address, _machine, started, time.time()
        fin.gram_computations, fin.worker_runs = _engine.gram_computations, _runs
        return fin
    except _Cancelled:
        status, reason = "interrupted", "cancelled by the client"
    except NStyleError as exc:
        status, reason = "failed", str(exc)
    except Exception as exc:  # noqa: BLE001 - any other error fails this run only, like a bad input
        logging.getLogger("distributed.worker").exception("nstyle run %s failed", task.name)
        status, reason = "failed", f"{type(exc).__name__} on worker {worker.address}: {exc}"
    for path, local in renames.items():  # messages name the client's files
        reason = reason.replace(local, path)
    ended = time.time()
    return Finished(task.name, status, reason, ended - started, worker=worker.address, started=started, ended=ended,
                    gram_computations=getattr(_engine, "gram_computations", 0), worker_runs=_runs)


def _run_clip(task: Task, cfg: Config, scratch: str, cancelled: Callable[[Any], None]) -> Finished:
    """Stylize the task's clip with the worker's Engine in a scratch folder of its own, after the finished frames
    the task brings; send each new frame to the client as it is done; return all frames, in order."""
    import shutil

    import numpy as np
    from PIL import Image
    from distributed import get_worker

    from ..video import work
    from ..video.plan import VideoSettings
    from ..video.clip import stylize_clip
    from ..video.run import begin_clip

    folder = os.path.join(scratch, uuid.uuid4().hex)
    worker = get_worker()

    def finished(report: Any) -> None:
        cancelled(report)
        if report.pass_number < task.passes:  # only the last pass's frames are the clip's
            return
        with open(report.path, "rb") as f:
            worker.log_event(FRAMES_TOPIC, {"batch": task.batch, "name": task.name, "index": report.index,
                                            "png": f.read()})

    try:
        video = VideoSettings(cfg.content_image, os.path.join(folder, "out"), task.temporal_weight,
                              temporal_frames=task.temporal_frames, warp_interpolation=task.warp_interpolation,
                              passes=task.passes, pass_blend=task.pass_blend)
        cfg = dataclasses.replace(cfg, output_dir=folder)
        begin_clip(cfg, video)
        for index, png in enumerate(task.frames, start=1):
            work.save_frame(folder, index, png)
        result = stylize_clip(dataclasses.replace(cfg, resume=bool(task.frames)), video, _engine, on_frame=finished)
        frames = []
        for index in range(1, result.frames + 1):
            with Image.open(work.frame_path(folder, index)) as im:
                frames.append(np.asarray(im.convert("RGB")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Finished(task.name, "done", "", result.seconds, result.epochs, result.style_loss, result.content_loss,
                    image=frames)


# ---- on the client ----------------------------------------------------------------------------------------------

def _input_paths(cfg: Config) -> List[str]:
    """The image files a run reads: content, styles and an ``--init`` file."""
    extra = [] if cfg.init in ("noise", "content", "style") else [cfg.init]
    return list(dict.fromkeys([cfg.content_image, *cfg.style_images, *extra]))


def _read(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None  # the worker's read then fails with the usual message


def make_task(batch: str, name: str, cfg: Config, clip: Optional[Clip] = None) -> Task:
    """The :class:`Task` for one run: input bytes read now; the weights path made absolute when it is a file here.
    A clip's (``clip``: its temporal weight and frames) work folder is made ready here, and the finished frames of
    an interrupted run (``cfg.resume``) go with the task."""
    weights = os.path.abspath(cfg.weights) if os.path.isfile(cfg.weights) else cfg.weights
    frames: List[bytes] = []
    gamma, steps, kernel, passes, blend = clip if clip is not None else (None, (1,), WARP_INTERPOLATION, 1, 0.5)
    if clip is not None:
        from ..video.run import begin_clip

        frames = begin_clip(cfg, video_settings(cfg, clip))
    return Task(batch, name, dataclasses.replace(cfg, weights=weights),
                {p: _read(p) for p in _input_paths(cfg)}, file_checksum(weights),
                runtime.reproducible_requested(), temporal_weight=gamma, temporal_frames=steps,
                warp_interpolation=kernel, passes=passes, pass_blend=blend, frames=frames)


def video_settings(cfg: Config, clip: Clip) -> Any:
    """The :class:`~nstyle.video.plan.VideoSettings` of a clip run (its content and output are the config's)."""
    from ..video.plan import VideoSettings

    return VideoSettings(cfg.content_image, cfg.output, clip[0], temporal_frames=clip[1], warp_interpolation=clip[2],
                         passes=clip[3], pass_blend=clip[4])


def _keep_frame(event: Any, batch: str, folders: Dict[str, str]) -> bool:
    """Write a clip frame a worker sent (``folders``: work folder by run name); whether the event was one."""
    from ..video import work

    msg = event[1] if isinstance(event, tuple) else event
    if not (isinstance(msg, dict) and "png" in msg):
        return False
    if msg.get("batch") == batch and msg.get("name") in folders:
        work.save_frame(folders[msg["name"]], int(msg["index"]), msg["png"])
    return True


def _threads(client: Any, left: int) -> int:
    """Task threads of the workers the scheduler has now (``left``: runs not done, should it have gone away)."""
    try:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
    except OSError:
        raise scheduler_lost(client, left) from None
    return sum(w.get("nthreads", 1) for w in workers.values())


def window_for(threads: int) -> int:
    """Runs kept submitted at once: two per worker thread (the rest waits here, not in the scheduler's memory)."""
    return max(2, 2 * threads)


def _allowed_failures(client: Any) -> int:
    import dask

    try:
        return int(client.run_on_scheduler(lambda: dask.config.get("distributed.scheduler.allowed-failures")))
    except Exception:  # noqa: BLE001 - only used in messages
        return ALLOWED_FAILURES


def _collect(future: Any, name: str, cfg: Config, submitted: float, allowed: int,
             check: Callable[[], None], clip: Optional[Clip] = None) -> Finished:
    """The :class:`Finished` of a completed future; a done run's image (a clip's frames and video) is saved here,
    by the client, after ``check()``."""
    from distributed.scheduler import KilledWorker

    from .. import api
    from ..files import images

    if future.status == "finished":
        fin = future.result()
    else:
        exc = future.exception() if future.status == "error" else None
        if isinstance(exc, KilledWorker):
            reason = (f"{allowed + 1} workers died while running it (killed, or out of memory); "
                      f"the last was {exc.last_worker.address}")
        elif isinstance(exc, ImportError):
            reason = f"{exc} on a worker: install nstyle with its dependencies on every worker"
        else:
            reason = f"{type(exc).__name__}: {exc}" if exc else f"Dask reports the run as {future.status}"
        fin = Finished(name, "failed", reason)
    future.release()
    fin.submitted = submitted
    if fin.status == "done":
        check()
        try:
            if clip is not None:
                from ..video.run import save_clip

                save_clip(cfg, video_settings(cfg, clip), fin.image)
            else:
                api.prepare_output(dataclasses.replace(cfg, output_dir=None))
                images.save_image(fin.image, cfg.output)
        except NStyleError as exc:
            fin.status, fin.reason = "failed", str(exc)
    return fin


def _describe(event: Any, names: Dict[str, str], batch: str, allowed: int) -> Optional[str]:
    """A log line for a worker event: a run of ours starting, or a worker dying during runs of ours."""
    msg = event[1] if isinstance(event, tuple) else event
    if not isinstance(msg, dict):
        return None
    if msg.get("batch") == batch:
        return f"{msg['name']}: running on {msg['worker']} (pid {msg['pid']})"
    if msg.get("action") == "remove-worker" and not msg.get("expected"):
        ours = sorted(names[k] for k in msg.get("processing-tasks", ()) if k in names)
        if ours:
            return (f"worker {msg.get('worker')} died during {', '.join(ours)}; Dask gives each to another worker "
                    f"(a run is failed after {allowed + 1} such deaths)")
    return None


def _handle_events(events: "queue.SimpleQueue[Any]", keys: Dict[str, str], batch: str, allowed: int,
                   folders: Dict[str, str], log_line: Callable[[str], None]) -> None:
    """Handle the worker events that arrived: keep clip frames, log runs starting and workers dying."""
    while not events.empty():
        event = events.get()
        if _keep_frame(event, batch, folders):
            continue
        line = _describe(event, keys, batch, allowed)
        if line:
            log_line(line)


def scheduler_lost(client: Any, left: int) -> NStyleError:
    """The one line that ends a batch whose scheduler went away (killed, its machine gone, the network down)."""
    address = getattr(client.scheduler, "address", None) or "of this batch"
    return NStyleError(f"the Dask scheduler {address} went away during the batch, {left} run(s) not done; the "
                       "finished runs are kept: run the same command again, with a running scheduler, to do the rest")


def run(client: Any, runs: Sequence[Tuple[str, Config]], log_line: Callable[[str], None],
        check: Callable[[], None] = lambda: None, clips: Optional[Dict[str, Clip]] = None) -> Iterator[Finished]:
    """Run ``(name, config)`` pairs on ``client``'s cluster; yield each :class:`Finished` as it comes back.
    ``clips``: the runs whose content is a video clip, by name, with their temporal weight and frames.

    Done runs' images are saved to ``config.output`` before they are yielded (after ``check()``, which may end the
    batch by raising); a scheduler that goes away ends it with one line (:func:`scheduler_lost`). Runs are
    submitted style by style, two per worker thread at a time. The first SIGINT/SIGTERM cancels what is
    outstanding: finished runs are still yielded, the others as ``interrupted`` with ``code`` 128 + signal; a
    second one interrupts at once.
    """
    from distributed import as_completed

    batch = uuid.uuid4().hex[:12]
    waiting = collections.deque(sorted(runs, key=lambda r: (tuple(r[1].style_images), r[1].max_long_edge)))
    pending: Dict[Any, Tuple[str, Config, float]] = {}
    keys: Dict[str, str] = {}
    events: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
    arrived = as_completed(loop=client.loop)
    allowed = _allowed_failures(client)
    folders: Dict[str, str] = {}  # the clips' work folders, by run name
    client.subscribe_topic(TOPIC, events.put)
    client.subscribe_topic(FRAMES_TOPIC, events.put)
    client.subscribe_topic("all", events.put)
    threads, window_at = _threads(client, len(waiting)), time.monotonic()
    if not threads:
        log_line("no workers have joined the scheduler yet; the runs wait for them")
    try:
        with stop_on_signals() as stop:
            while (waiting or pending) and not stop.signum:
                if time.monotonic() - window_at > 2:
                    had, threads = threads, _threads(client, len(pending) + len(waiting))
                    window_at = time.monotonic()
                    if had and not threads:
                        log_line(f"no workers left on the scheduler; {len(pending) + len(waiting)} run(s) wait for "
                                 "one to join (Ctrl-C stops the batch, and the same command then does the rest)")
                while waiting and len(pending) < window_for(threads):
                    name, cfg = waiting.popleft()
                    try:
                        task = make_task(batch, name, cfg, (clips or {}).get(name))
                    except NStyleError as exc:  # a clip's work folder that cannot be used
                        yield Finished(name, "failed", str(exc), submitted=time.time())
                        continue
                    if name in (clips or {}):
                        folders[name] = cfg.output_dir or "output"
                    future = client.submit(run_task, task, key=f"nstyle-{name}-{batch}", pure=False)
                    pending[future] = (name, cfg, time.time())
                    keys[future.key] = name
                    arrived.add(future)
                _handle_events(events, keys, batch, allowed, folders, log_line)
                finished = arrived.next_batch(block=False)
                if client.status != "running":  # Dask has cancelled every future: nothing more will come back
                    raise scheduler_lost(client, len(pending) + len(waiting))
                for future in finished:
                    yield _collect(future, *pending.pop(future), allowed, check,
                                   (clips or {}).get(keys[future.key]))
                if not finished:
                    time.sleep(POLL)
            if stop.signum:
                _handle_events(events, keys, batch, allowed, folders, log_line)  # frames sent before the signal
                for future in [f for f in pending if f.status == "finished"]:
                    yield _collect(future, *pending.pop(future), allowed, check,
                                   (clips or {}).get(keys[future.key]))
                client.cancel(list(pending))
                reason = f"{stop.name}: cancelled before it finished; the same command runs it"
                for name, cfg, submitted in [*pending.values(), *((n, c, 0.0) for n, c in waiting)]:
                    yield Finished(name, "interrupted", reason, submitted=submitted, code=stop.exit_status)
    finally:
        for topic in (TOPIC, FRAMES_TOPIC, "all"):
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)
