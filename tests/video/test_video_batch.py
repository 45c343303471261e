"""Clips in ``nstyle batch``: one run per clip and style, in process or on a 2-worker Dask LocalCluster (the same
frames bit for bit in reproducible mode), from arguments or a manifest; the report shows a poster and links the
video."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, log_records
from nstyle import batch
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.video import reading
from video_clips import scene, write_clip

ENV = {k: v for k, v in os.environ.items() if k != "NSTYLE_REPRODUCIBLE"}
ENV["PYTHONPATH"] = ROOT


@pytest.fixture(scope="module")
def clips(tmp_path_factory, images):
    d = tmp_path_factory.mktemp("clips")
    write_clip(d / "pan.mp4", scene(count=3, seed=1), rate=12, audio=True)
    write_clip(d / "fast.mp4", scene(count=4, seed=2, step=3), rate=12)
    return d


def command(clips, weights_file, images, out, *extra):
    return [sys.executable, "-m", "nstyle", "batch", "--content-video", str(clips / "*.mp4"), "--style-image",
            images["style"], "--weights", weights_file, "--max-long-edge", "64", "--max-num-epochs", "2", "--init",
            "content", "--gpu", "-1", "--reproducible", "--output-dir", str(clips / out), *extra]


def frames(folder):
    return {os.path.relpath(os.path.join(base, n), folder): np.asarray(Image.open(os.path.join(base, n)))
            for base, _, names in os.walk(folder) for n in names if base.endswith("frames")}


def test_two_workers_give_the_clips_frames_bit_for_bit_as_one_process(clips, weights_file, images):
    here = subprocess.run(command(clips, weights_file, images, "here", "--quiet"), cwd=ROOT, env=ENV,
                          capture_output=True, text=True)
    assert here.returncode == 0, here.stderr
    there = subprocess.run(command(clips, weights_file, images, "there", "--workers", "2"), cwd=ROOT, env=ENV,
                           capture_output=True, text=True)
    assert there.returncode == 0, there.stderr
    a, b = frames(clips / "here" / "work"), frames(clips / "there" / "work")
    assert len(a) == 3 + 4 and sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    records = {r["name"]: r for r in log_records(clips / "there")}
    assert sorted(records) == ["fast__style", "pan__style"]
    assert len({r["worker"] for r in records.values()}) == 2  # each clip on one worker, both clips at once
    assert [r["epochs"] for r in (records["fast__style"], records["pan__style"])] == [8, 6]  # 2 epochs a frame
    for out in ("here", "there"):
        pan = reading.open_clip(str(clips / out / "pan__style.mp4"))
        assert (pan.count, pan.size, pan.has_audio) == (3, (48, 64), True)
        page = (clips / out / "index.html").read_text()
        assert re.search(r'<a class="video" href="pan__style\.mp4"[^>]*><img src="thumbs/', page)  # poster, linked
        assert '<a class="clip" href="../pan.mp4">' in page  # the content: a link to the clip
    assert len(re.findall(r"\] \S+: done on tcp://", there.stderr)) == 2


def test_a_manifest_row_may_name_a_clip_with_its_own_temporal_weight(clips, images, tmp_path):
    manifest = tmp_path / "runs.csv"
    manifest.write_text(f"content,content_video,style,temporal_weight,output\n"
                        f"{images['content']},,{images['style']},,\n"
                        f",{clips / 'pan.mp4'},{images['style']},50,pan.mkv\n"
                        f",{clips / 'fast.mp4'},{images['style']},,\n")
    picture, pan, fast = batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"), 200.0)
    assert (picture.is_video, pan.temporal_weight, fast.temporal_weight) == (False, 50.0, 200.0)
    assert (pan.output, fast.output) == (str(tmp_path / "out" / "pan.mkv"), str(tmp_path / "out" / "fast__style.mp4"))
    assert pan.cfg.content_image == str(clips / "pan.mp4")


@pytest.mark.parametrize("row, message", [
    (",{pan},{style},-1,", "row 2: column temporal_weight: '-1' is not a number >= 0"),
    (",{pan},{style},,pan.jpg", "row 2: output pan.jpg: a clip's output is a video file"),
    ("{content},{pan},{style},,", "row 2: give either content or content_video, not both"),
])
def test_bad_clip_rows_are_named_before_anything_runs(clips, images, tmp_path, row, message):
    manifest = tmp_path / "runs.csv"
    manifest.write_text("content,content_video,style,temporal_weight,output\n" +
                        row.format(pan=clips / "pan.mp4", style=images["style"], content=images["content"]) + "\n")
    with pytest.raises(NStyleError, match=re.escape(message)):
        batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))


def test_batch_arguments_pair_every_clip_with_every_style(clips, images, tmp_path):
    jobs = batch.jobs_from_args([images["content"]], [images["style"], images["content"]], Config(),
                                str(tmp_path), [str(clips / "*.mp4")], 10.0)
    assert [(j.name, j.temporal_weight) for j in jobs] == [
        ("content__style", None), ("content__content", None), ("fast__style", 10.0), ("fast__content", 10.0),
        ("pan__style", 10.0), ("pan__content", 10.0)]
    with pytest.raises(NStyleError, match="a folder; batch takes video files"):
        batch.jobs_from_args([], [images["style"]], Config(), str(tmp_path), [str(clips)])
    with pytest.raises(NStyleError, match="--temporal-weight -1.0: must be a finite number >= 0"):
        batch.jobs_from_args([], [images["style"]], Config(), str(tmp_path), [str(clips / "pan.mp4")], -1.0)


def test_a_clip_interrupted_on_the_cluster_resumes_its_finished_frames(tmp_path, weights_file, images):
    write_clip(tmp_path / "long.mp4", scene(count=8, seed=3), rate=12)
    cmd = [sys.executable, "-m", "nstyle", "batch", "--content-video", str(tmp_path / "long.mp4"), "--style-image",
           images["style"], "--weights", weights_file, "--max-long-edge", "64", "--max-num-epochs", "2", "--stop-eps",
           "0", "--init", "content", "--gpu", "-1", "--reproducible", "--output-dir", str(tmp_path / "out"),
           "--workers", "1"]  # --stop-eps 0: every frame runs its 2 epochs
    work = tmp_path / "out" / "work" / "long__style" / "frames"
    first = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(work.glob("*.png"))) < 2 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker sends each frame to the client as it is finished
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    kept = {p.name: np.asarray(Image.open(p)) for p in work.glob("*.png")}
    assert 2 <= len(kept) < 8, err
    assert log_records(tmp_path / "out")[-1]["status"] == "interrupted"
    again = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    record = log_records(tmp_path / "out")[-1]
    assert record["status"] == "done" and record["epochs"] == 2 * (8 - len(kept))  # only the frames left were run
    assert len(list(work.glob("*.png"))) == 8
    assert reading.open_clip(str(tmp_path / "out" / "long__style.mp4")).count == 8
    for name, rgb in kept.items():
        np.testing.assert_array_equal(np.asarray(Image.open(work / name)), rgb, err_msg=name)


def test_clips_in_a_batch_take_temporal_frames_from_the_flag_or_their_row(clips, images, tmp_path):
    manifest = tmp_path / "runs.csv"
    manifest.write_text(f"content,content_video,style,temporal_frames,output\n"
                        f"{images['content']},,{images['style']},,\n"
                        f",{clips / 'pan.mp4'},{images['style']},\"40,1,10\",pan.mkv\n"
                        f",{clips / 'fast.mp4'},{images['style']},,\n")
    picture, pan, fast = batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"), None, "1,5")
    assert (picture.temporal_frames, pan.temporal_frames, fast.temporal_frames) == ((1,), (1, 10, 40), (1, 5))
    jobs = batch.jobs_from_args([], [images["style"]], Config(), str(tmp_path), [str(clips / "pan.mp4")], 10.0,
                                "1,20")
    assert [j.temporal_frames for j in jobs] == [(1, 20)]
    with pytest.raises(NStyleError, match="--temporal-frames 1,0"):
        batch.jobs_from_args([], [images["style"]], Config(), str(tmp_path), [str(clips / "pan.mp4")], 10.0, "1,0")
    manifest.write_text(f"content_video,style,temporal_frames\n{clips / 'pan.mp4'},{images['style']},1.5\n")
    with pytest.raises(NStyleError, match=re.escape("row 2: column temporal_frames: '1.5' is not a list")):
        batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))


def test_multi_pass_clips_in_a_batch_give_the_same_frames_in_process_and_on_workers(clips, weights_file, images):
    runs = {}
    for out, extra in (("passes-here", ["--quiet"]), ("passes-there", ["--workers", "2"])):
        done = subprocess.run(command(clips, weights_file, images, out, "--passes", "2", *extra), cwd=ROOT, env=ENV,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        runs[out] = frames(clips / out / "work")
        records = {r["name"]: r for r in log_records(clips / out)}
        assert [records[n]["epochs"] for n in ("fast__style", "pan__style")] == [8, 6]  # 1 + 1 epochs a frame
        assert records["pan__style"]["config"]["passes"] == 2
        assert reading.open_clip(str(clips / out / "pan__style.mp4")).count == 3
    assert os.listdir(clips / "passes-here" / "work" / "pan__style" / "passes" / "1")  # pass 1 kept in process
    a, b = runs["passes-here"], runs["passes-there"]
    assert len(a) == 3 + 4 and sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    single = frames(clips / "here" / "work") if (clips / "here").exists() else None
    if single:  # one pass of 2 epochs is another picture than two passes of 1
        assert any(np.any(single[n] != a[n]) for n in a)
