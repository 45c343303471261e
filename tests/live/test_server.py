"""The live server over plain HTTP during real runs: its numbers are the run's, clients cannot disturb the run,
a token guards other hosts, a port in use stops the command before any work; the batch's grid."""
from __future__ import annotations

import http.client
import io
import json
import socket

import pytest
from PIL import Image

from livetools import LiveRun, logged_losses, small_run
from nstyle.errors import NStyleError
from nstyle.live.server import Server, is_loopback, parse_address
from nstyle.live.state import LiveState
from nstyle.process.interrupts import StopRequest

from test_cli import run_module


def next_event(stream) -> dict:  # noqa: ANN001
    """The next server-sent event's data (keep-alive comments and blank lines skipped)."""
    while True:
        line = stream.fp.readline().decode()
        assert line, "the stream ended"
        if line.startswith("data: "):
            return json.loads(line[len("data: "):])


def test_state_is_the_runs_log_and_clients_change_nothing(images, weights_file, tmp_path):
    out = tmp_path / "out"
    run = LiveRun(*small_run(images, weights_file, out, "--max-num-epochs", "3000"), "--web", "0")
    try:
        run.wait_state(lambda s: s["epoch"] >= 3, "three epochs")
        # a second page reading the stream, and one that connects and vanishes
        reader = http.client.HTTPConnection(run.host, run.port, timeout=60)
        reader.request("GET", "/events")
        events = reader.getresponse()
        assert events.status == 200 and events.getheader("Content-Type") == "text/event-stream"
        first = next_event(events)
        assert first["status"] == "running" and first["losses_from"] == 0
        run.raw(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", read=False)
        # garbage, a half request left hanging, a path that looks like a file, a wrong Host, foreign POSTs
        assert b"400" in run.raw(b"\x00\xff\xfe GARBAGE\r\n\r\n")  # refused, as HTTP/0.9 (no status line)
        silent = socket.create_connection((run.host, run.port))
        silent.sendall(b"GET /state HT")
        for path in ("/../../etc/passwd", "/runs/0/image", "/runs/-1/image", "/runs/x/image", "/state/../x"):
            assert run.request("GET", path)[0] == 404, path
        assert run.request("GET", "/state", {"Host": "evil.example"})[0] == 403
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                        {"Origin": "null"}):
            status, body, _ = run.request("POST", "/stop", headers)
            assert status == 403 and b"cross-origin" in body, headers
        assert run.request("PUT", "/stop")[0] in (501, 405)
        status, body, headers = run.request("GET", "/image")
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(body)).size == (48, 48)
        before = run.state()
        after = run.wait_state(lambda s: s["epoch"] > before["epoch"] + 2, "the run going on")
        assert after["status"] == "running" and not after["stopping"]
        assert next_event(events)["epoch"] > first["epoch"]  # the second page is still served
        silent.close()
        reader.close()

        state = run.state()
        status, body, _ = run.request("POST", "/stop", {"Origin": f"http://127.0.0.1:{run.port}"})
        assert status == 202 and json.loads(body) == {"stopping": True}
        assert run.wait() == 130
    finally:
        run.stop()
    logged = logged_losses(run.lines)
    n = len(state["losses"]["total"])
    assert n == state["epoch"] >= 3 and state["of"] == 3000 and state["losses_from"] == 0
    for k in range(n):
        style, content = state["losses"]["style"][k], state["losses"]["content"][k]
        assert (f"{style:.4g}", f"{content:.4g}") == logged[k + 1]
        assert state["losses"]["total"][k] == pytest.approx(style + content)
    assert state["seconds_per_epoch"] > 0 and state["eta_seconds"] > 0
    stopped = max(logged)
    assert any(f"stopped from the live page at epoch {stopped}" in line for line in run.lines)
    assert (out / "checkpoint.npz").is_file() and (out / "final.jpg").is_file()


def test_a_port_in_use_is_one_line_and_status_2_before_any_work(images, weights_file, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = tmp_path / "out"
        status, _, err = run_module(*small_run(images, weights_file, out), "--web", str(port))
    assert status == 2
    assert err.strip().splitlines() == [f"nstyle: error: --web {port}: cannot serve on 127.0.0.1:{port}: "
                                        "the port is in use"]
    assert not out.exists()
    status, _, err = run_module(*small_run(images, weights_file, out), "--web", "host:port")
    assert status == 2 and "give [HOST:]PORT" in err and "Traceback" not in err


def test_another_host_needs_the_token():
    state = LiveState()
    server = Server("0.0.0.0:0", state).start()
    try:
        assert server.token and f"?token={server.token}" in server.url

        def get(path: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            return status
        assert get("/state") == 403 and get("/") == 403 and get("/state?token=wrong") == 403
        assert get(f"/state?token={server.token}") == 200 and get(f"/?token={server.token}") == 200
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/stop")
        assert conn.getresponse().status == 403 and not state.stop_asked
    finally:
        server.close()
    loopback = Server("127.0.0.1:0", LiveState())
    assert loopback.token == "" and "token" not in loopback.url
    loopback.server_close()


def test_addresses():
    assert parse_address("8000") == ("127.0.0.1", 8000)
    assert parse_address("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_address("[::1]:80") == ("::1", 80)
    for bad in ("x", ":80", "1:2:x", "70000", "-1"):
        with pytest.raises(NStyleError):
            parse_address(bad)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")


class FakeEpoch:
    def __init__(self, n: int) -> None:
        self.epoch, self.style_loss, self.content_loss, self.seconds = n, 10.0 / n, 1.0, 0.5


def test_pictures_are_copied_only_when_wanted_and_not_more_often():
    state = LiveState(frame_seconds=1e9)  # never twice
    copies = []

    def picture(edge):
        copies.append(edge)
        return __import__("numpy").zeros((1, 3, 4, 4), "float32")
    stop = StopRequest()
    state.attach(stop)
    state.epoch(FakeEpoch(1), 10, "", 9, picture)
    assert copies == []  # nobody watches: no copy
    state.viewers = 1
    state.epoch(FakeEpoch(2), 10, "", 8, picture)
    state.epoch(FakeEpoch(3), 10, "", 7, picture)
    assert len(copies) == 1 and state.frame_serial == 1
    assert not state.snapshot_due()
    state.ask_snapshot()
    assert state.snapshot_due() and not state.snapshot_due()
    state.ask_stop("the test")
    assert stop.signum and stop.exit_status == 130 and stop.name == "the test"
    snap = state.snapshot(1)
    assert snap["epoch"] == 3 and snap["losses"]["style"] == [5.0, 10.0 / 3] and snap["eta_seconds"] == 3.5


def test_a_stop_asked_between_runs_stops_the_next():
    state = LiveState()
    state.ask_stop("the test")
    stop = StopRequest()
    state.attach(stop)
    assert stop.signum


def test_batch_grid_fills_in(images, weights_file, tmp_path):
    out = tmp_path / "batch"
    run = LiveRun("batch", "--content-image", images["content"], images["cat"], "--style-image", images["style"],
                  "--weights", weights_file, "--max-long-edge", "48", "--max-num-epochs", "30", "--output-dir",
                  str(out), "--web", "0", "--quiet")
    try:
        state = run.wait_state(lambda s: s["runs"] and s["runs"][0]["status"] == "done", "the first run done")
        assert [r["name"] for r in state["runs"]] == ["content__style", "cat__style"]
        assert state["runs"][1]["status"] in ("waiting", "running", "done")
        status, body, _ = run.request("GET", "/runs/0/image")
        assert status == 200 and Image.open(io.BytesIO(body)).size == (48, 48)
        assert run.request("GET", "/runs/2/image")[0] == 404
        assert run.wait() == 0
    finally:
        run.stop()


class Recorder:
    """A Watch that keeps what the run tells it and takes every picture."""

    def __init__(self) -> None:
        self.seen, self.stops, self.taken = [], [], False

    def attach(self, stop) -> None:  # noqa: ANN001
        self.stops.append(stop)

    def epoch(self, ep, of, where, left, picture) -> None:  # noqa: ANN001
        self.seen.append((ep.epoch, of, where, left, picture(64).shape))

    def snapshot_due(self) -> bool:
        """Asked once, from the second epoch on, as the snapshot button does (taken by the first call after)."""
        due = len(self.seen) >= 2 and not self.taken
        self.taken = self.taken or due
        return due


def test_tiled_and_multires_runs_say_where_they_are(images, weights_file, tmp_path):
    import numpy as np
    from PIL import Image as PILImage

    from nstyle import api
    from nstyle.config import Config

    big = tmp_path / "big.png"
    PILImage.open(images["content"]).resize((300, 300)).save(big)
    base = dict(content_image=str(big), style_image=images["style"], weights=weights_file, quiet=True,
                max_num_epochs=2, output_dir=str(tmp_path / "tiled"))
    tiled = Recorder()
    api.run(Config(max_long_edge=300, tile_size=256, **base), watch=tiled)
    assert tiled.stops and all(of == 2 for _, of, _, _, _ in tiled.seen)
    wheres = [w for _, _, w, _, _ in tiled.seen]
    assert wheres[0].startswith("level 1/") and any("tile 2/" in w for w in wheres) and "pass" in wheres[-1]
    lefts = [left for _, _, _, left, _ in tiled.seen]
    assert lefts == sorted(lefts, reverse=True) and lefts[-1] == 0
    assert all(max(shape[-2:]) <= 64 for *_, shape in tiled.seen)  # pictures strided down to what was asked
    # the snapshot asked after the second epoch: the picture so far (8-bit JPEG) after that tile, and the checkpoint
    snaps = list((tmp_path / "tiled").glob("level*_visit*.jpg"))
    assert len(snaps) == 1 and (tmp_path / "tiled" / "checkpoint.npz").is_file()
    assert snaps[0].name.startswith("level1_visit") and PILImage.open(snaps[0]).size == (150, 150)  # the coarse level

    multires = Recorder()
    out = tmp_path / "multires"
    api.run(Config(max_long_edge=48, multires=1, **dict(base, output_dir=str(out))), watch=multires)
    assert [(e, w, left) for e, _, w, left, _ in multires.seen] == [
        (1, "level 1/2", 3), (2, "level 1/2", 2), (1, "level 2/2", 1), (2, "level 2/2", 0)]
    assert multires.seen[-1][4] == (1, 3, 48, 48)
    assert np.isfinite(multires.seen[0][3])
    # the snapshot asked after the second epoch waited for the last level (the first with a checkpoint)
    assert (out / "e_1.jpg").is_file() and (out / "checkpoint.npz").is_file()


def test_browser_alone_serves_on_a_free_loopback_port_and_opens_it(images, weights_file, tmp_path):
    opened = tmp_path / "opened.txt"
    # $BROWSER is what Python's webbrowser runs: here a command that notes the address it was given
    run = LiveRun(*small_run(images, weights_file, tmp_path / "out", "--max-num-epochs", "2"), "--browser",
                  env={"BROWSER": f"sh -c 'echo %s > {opened}'"})
    try:
        assert run.host == "127.0.0.1" and run.port > 0
        assert run.wait() == 0
    finally:
        run.stop()
    assert opened.read_text().strip() == run.url
