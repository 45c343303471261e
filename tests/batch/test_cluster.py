"""Issue 13: ``nstyle batch`` on a Dask cluster: real LocalClusters of 2 worker processes, real signals and kills."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, Running, log_records, one_error_line
import nstyle
from nstyle import batch
from nstyle.batch import cluster
from nstyle.config import Config

ENV = {k: v for k, v in os.environ.items() if k != "NSTYLE_REPRODUCIBLE"}
ENV["PYTHONPATH"] = ROOT


@pytest.fixture(scope="module")
def folder(tmp_path_factory, images, weights_file):
    """contents/ with 3 photos, styles/ with 2 paintings, the weights, and a command line for a batch of all 6."""
    d = tmp_path_factory.mktemp("cluster")
    for sub, names in (("contents", ["content", "cat", "style"]), ("styles", ["style", "cat"])):
        (d / sub).mkdir()
        for n in names:
            shutil.copy(images[n], d / sub / f"{n}.jpg")
    return d


def command(folder, weights_file, out, *extra, epochs=20):
    return [sys.executable, "-m", "nstyle", "batch", "--content-image", str(folder / "contents"), "--style-image",
            str(folder / "styles"), "--weights", weights_file, "--max-long-edge", "64", "--max-num-epochs",
            str(epochs), "--gpu", "-1", "--output-dir", str(folder / out), *extra]


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_workers_give_the_same_images_records_and_report_as_one_process(folder, weights_file):
    here = subprocess.run(command(folder, weights_file, "here", "--quiet", "--reproducible"), cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert here.returncode == 0, here.stderr
    there = subprocess.run(command(folder, weights_file, "there", "--workers", "2", "--reproducible"), cwd=ROOT,
                           env=ENV, capture_output=True, text=True)
    assert there.returncode == 0, there.stderr
    a = {r["name"]: r for r in log_records(folder / "here")}
    b = {r["name"]: r for r in log_records(folder / "there")}
    assert len(a) == 6 and sorted(a) == sorted(b)
    for name, r in a.items():
        s = b[name]
        assert (s["status"], s["hash"], s["epochs"], s["output"].replace("there", "here")) == \
            (r["status"], r["hash"], r["epochs"], r["output"])
        assert s["style_loss"] == pytest.approx(r["style_loss"], rel=1e-4)
        assert np.abs(pixels(folder / "here" / f"{name}.jpg") - pixels(folder / "there" / f"{name}.jpg")).max() <= 1
        assert s["started_at"] >= s["submitted_at"] - 1
    assert len({s["worker"] for s in b.values()}) == 2  # both workers took runs
    assert "reproducible: on" in "".join(s["machine"]) and "(reproducible mode)" in there.stderr
    assert len(re.findall(r"running on tcp://\S+ \(pid \d+\)", there.stderr)) == 6  # the log names the worker
    assert len(re.findall(r"\] \S+: done on tcp://", there.stderr)) == 6

    def page(out):  # links to the inputs and results, and each run's cell with its status, in grid order
        text = (folder / out / "index.html").read_text()
        return re.findall(r'href="([^"]+)"', text), re.findall(r'<div class="run ([^"]+)" data-run="([^"]+)"', text)
    assert page("here") == page("there") and len(page("here")[1]) == 6
    assert np.abs(pixels(folder / "here" / "sheet.png") - pixels(folder / "there" / "sheet.png")).max() <= 2


def test_python_api_computes_a_style_once_per_worker_and_fails_bad_inputs_alone(folder, weights_file, tmp_path,
                                                                                monkeypatch):
    rng = np.random.RandomState(1)
    contents = []
    for k in range(4):  # four photos of one size: one network size, one set of style targets
        contents.append(str(tmp_path / f"photo{k}.png"))
        Image.fromarray(rng.randint(0, 256, (48, 48, 3), dtype=np.uint8)).save(contents[-1])
    (tmp_path / "bad.png").write_text("not an image")
    base = Config(weights=weights_file, max_long_edge=64, max_num_epochs=4, gpu=-1)
    jobs = batch.jobs_from_args(contents + [str(tmp_path / "bad.png")], [str(folder / "styles" / "style.jpg")],
                                base, str(tmp_path / "out"))
    runs = [(j.name, j.cfg) for j in jobs]
    with cluster.connect(workers=2) as client:
        done = {f.name: f for f in cluster.run(client, runs, lambda line: None)}
        again = next(cluster.run(client, runs[:1], lambda line: None))
        monkeypatch.setenv("NSTYLE_REPRODUCIBLE", "1")  # the client only: its workers were started without it
        refused = next(cluster.run(client, runs[:1], lambda line: None))
    assert [done[j.name].status for j in jobs] == ["done"] * 4 + ["failed"], [f.reason for f in done.values()]
    assert done["bad__style"].reason == f"image {tmp_path / 'bad.png'}: not an image file " \
                                        "(or a format Pillow cannot read)"  # the client's path, not the worker's
    for j in jobs[:4]:
        f = done[j.name]
        assert len(f.history) == f.epochs == 4
        assert np.abs(pixels(j.output) - f.image).max() <= 40  # JPEG of the returned image, saved by the client
    ok = [f for f in done.values() if f.status == "done"]
    assert {f.gram_computations for f in ok} == {1} and max(f.worker_runs for f in ok) >= 2  # shared by a worker's runs
    assert again.status == "done" and again.gram_computations == 1  # the worker's Engine lives across batches
    assert again.worker_runs == 1 + sum(f.worker == again.worker for f in done.values())
    assert (refused.status, refused.reason) == ("failed", f"worker {refused.worker} is not in reproducible mode, the "
                                                "client is in reproducible mode; start the workers with "
                                                "NSTYLE_REPRODUCIBLE=1")


def test_a_killed_worker_costs_nothing_but_time(folder, weights_file):
    out = folder / "killed"
    run = Running(command(folder, weights_file, "killed", "--workers", "2"), ENV)
    victim = run.wait_for(r"(\S+): running on (tcp://\S+) \(pid (\d+)\)")
    os.kill(int(victim.group(3)), signal.SIGKILL)
    status, err = run.finish()
    assert status == 0, err
    lines = (out / "runs.jsonl").read_text().splitlines()
    got = [json.loads(line) for line in lines]  # every line valid JSON
    assert len(got) == 6 and sorted(r["name"] for r in got) == sorted({r["name"] for r in got})
    assert all(r["status"] == "done" and os.path.exists(r["output"]) for r in got)
    again = {r["name"]: r for r in got}[victim.group(1)]
    assert again["worker"] != victim.group(2) and again["epochs"] == 20  # finished from scratch elsewhere
    assert re.search(f"worker {re.escape(victim.group(2))} died during [^;]*{victim.group(1)}", err)


@pytest.mark.parametrize("signum, group, code", [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)])
def test_interrupted_client_cancels_and_the_same_command_runs_nothing_twice(folder, weights_file, signum, group,
                                                                            code):
    out = f"stopped{code}"
    cmd = command(folder, weights_file, out, "--workers", "2")
    run = Running(cmd, ENV)
    run.wait_for(r"\] \S+: done on tcp://")
    (os.killpg if group else os.kill)(run.proc.pid, signum)  # Ctrl-C reaches the whole process group
    started = time.monotonic()
    status, err = run.finish(timeout=120)
    assert status == code, err
    assert time.monotonic() - started < 60  # cancelled, not run to the end
    first = log_records(folder / out)
    finished = {r["name"] for r in first if r["status"] == "done"}
    assert 1 <= len(finished) < 6
    assert {r["status"] for r in first} == {"done", "interrupted"} and len(first) == 6
    assert f"{signal.Signals(signum).name}: cancelled before it finished" in err
    if signum == signal.SIGTERM:
        return  # resuming is the same for both signals; once is enough for the test's time
    second = subprocess.run(cmd + ["--quiet"], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    done = [r["name"] for r in log_records(folder / out) if r["status"] == "done"]
    assert len(done) == 6 and len(set(done)) == 6  # nothing ran twice
    assert f"done {6 - len(finished)}, skipped {len(finished)}, failed 0" in second.stderr


@pytest.mark.parametrize("listening", [False, True], ids=["nobody-listens", "not-a-dask-scheduler"])
def test_unreachable_scheduler_is_one_line_within_seconds(folder, weights_file, listening):
    """Nobody listens at the address, or something that is not Dask (it accepts the connection and never answers;
    Dask's handshake waited for ever there)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    if listening:
        server.listen()  # the kernel accepts connections; nothing ever reads or writes
    else:
        server.close()  # free once closed: nobody listens there
    started = time.monotonic()
    res = subprocess.run(command(folder, weights_file, "nowhere", "--scheduler", f"tcp://127.0.0.1:{port}"), cwd=ROOT,
                         env=ENV, capture_output=True, text=True)
    # Bounded by the connect timeout plus start-up (Python, MXNet, Dask imports: ~5 s quiet, 27 s seen on a
    # loaded 2-core machine); without the timeout Dask would keep trying for its own 30 s default and more.
    assert time.monotonic() - started < cluster.CONNECT_TIMEOUT + 45
    assert res.returncode == 2
    assert res.stderr.startswith(f"nstyle: error: --scheduler tcp://127.0.0.1:{port}: no Dask scheduler answered")
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (folder / "nowhere").exists()
    server.close()


@pytest.mark.parametrize("address", ["http://127.0.0.1:8786", "tcp://[::1"])
def test_a_malformed_scheduler_address_says_so(address):
    """Before, it said "no Dask scheduler answered within 5 s" about an address that is not one."""
    from nstyle.errors import NStyleError

    with pytest.raises(NStyleError, match=rf"^--scheduler {re.escape(address)}: not a Dask scheduler address \(.+\); "
                                          r"give tcp://HOST:PORT$"):
        with cluster.connect(scheduler=address):
            pass


def test_cluster_flag_without_dask_says_what_to_install(folder, weights_file):
    code = ("import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "  # as if not installed
            "from nstyle.cli import main; sys.exit(main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", code, *command(folder, weights_file, "nodask", "--workers", "2")[3:]],
                         cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr == ("nstyle: error: --workers needs Dask, which is not installed: "
                          "pip install 'nstyle[cluster]' (Dask: dask and distributed)\n")
    assert not (folder / "nodask").exists()


# ---- issue 27: real `dask scheduler` and `dask worker` processes: killed, of another release, gone -----------

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A real ``dask scheduler`` process and one ``dask worker`` process (no nanny, one thread) joined to it."""

    def __init__(self, local, *worker_args):
        import distributed

        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs = [self.start("scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                                 "--no-dashboard")]
        self.procs.append(self.start("worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                     "--local-directory", str(local), *worker_args))
        with distributed.Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=120)

    @staticmethod
    def start(*args):
        return subprocess.Popen([DASK, *args], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def kill_scheduler(self):
        self.procs[0].kill()
        self.procs[0].wait(30)

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


@pytest.fixture
def clusters(tmp_path):
    """``start(*worker_args)``: a new :class:`Cluster` each call; all are killed at the end of the test."""
    started = []

    def start(*worker_args):
        started.append(Cluster(tmp_path / f"worker{len(started)}", *worker_args))
        return started[-1]
    yield start
    for c in started:
        c.close()


@pytest.mark.skipif(not os.path.exists(DASK), reason="no dask command beside this Python")
def test_a_scheduler_that_dies_mid_batch_ends_it_in_one_line_and_a_rerun_does_the_rest(folder, weights_file,
                                                                                        clusters):
    out = folder / "lost"
    first = clusters()
    run = Running(command(folder, weights_file, "lost", "--scheduler", first.address), ENV)
    run.wait_for(r"\] \S+: done on tcp://")
    first.kill_scheduler()
    status, err = run.finish(timeout=120)
    assert status == 2, err
    assert re.fullmatch(rf"nstyle: error: the Dask scheduler {re.escape(first.address)} went away during the batch, "
                        r"[1-5] run\(s\) not done; the finished runs are kept: run the same command again, with a "
                        r"running scheduler, to do the rest", one_error_line(err))
    kept = log_records(out)  # every line is JSON
    assert 1 <= len(kept) < 6 and {r["status"] for r in kept} == {"done"}, kept
    for r in kept:
        pixels(r["output"])  # whole
    assert not [n for n in os.listdir(out) if ".tmp" in n]
    second = clusters()
    again = subprocess.run(command(folder, weights_file, "lost", "--scheduler", second.address, "--quiet"), cwd=ROOT,
                           env=ENV, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"done {6 - len(kept)}, skipped {len(kept)}, failed 0" in again.stderr
    done = [r["name"] for r in log_records(out)]
    assert len(done) == 6 and len(set(done)) == 6  # nothing ran twice


@pytest.mark.skipif(not os.path.exists(DASK), reason="no dask command beside this Python")
def test_a_worker_with_another_nstyle_is_refused_before_any_work(folder, weights_file, clusters, tmp_path):
    older = tmp_path / "older_nstyle.py"  # the worker process then reports (and checks) nstyle 0.0.9
    older.write_text("import nstyle.version\n\nnstyle.version.__version__ = '0.0.9'\n")
    c = clusters("--preload", str(older))
    res = subprocess.run(command(folder, weights_file, "older", "--scheduler", c.address), cwd=ROOT, env=ENV,
                         capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    assert re.fullmatch(r"nstyle: error: worker tcp://127\.0\.0\.1:\d+ has nstyle 0\.0\.9, this client "
                        rf"{re.escape(nstyle.__version__)}; install the same version everywhere\n", res.stderr)
    assert not (folder / "older").exists()


@pytest.mark.skipif(not os.path.exists(DASK), reason="no dask command beside this Python")
def test_when_the_last_worker_goes_the_batch_says_so_and_ctrl_c_keeps_what_is_done(folder, weights_file, clusters):
    """Before, the batch waited without a word for a worker that might never come."""
    c = clusters()
    run = Running(command(folder, weights_file, "orphaned", "--scheduler", c.address), ENV)
    victim = run.wait_for(r"(\S+): running on (tcp://\S+) \(pid (\d+)\)")
    os.kill(int(victim.group(3)), signal.SIGKILL)
    run.wait_for(r"no workers left on the scheduler; [1-6] run\(s\) wait for one to join \(Ctrl-C stops the batch, "
                 r"and the same command then does the rest\)", timeout=60)
    os.killpg(run.proc.pid, signal.SIGINT)
    status, err = run.finish(timeout=120)
    assert status == 130, err
    assert "Traceback" not in err
    records = log_records(folder / "orphaned")
    assert len(records) == 6 and {r["status"] for r in records} <= {"done", "interrupted"}
    assert {r["name"] for r in records if r["status"] == "interrupted"} >= {victim.group(1)}
