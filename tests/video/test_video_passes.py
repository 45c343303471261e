"""Ruder's multi-pass algorithm (``--passes``): the split of the epochs, the blend, the order of the passes, the
start of a later pass's frames, the work key, resume, and bad values."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nstyle.api
from helpers import ROOT
from nstyle import cli, stylize_video
from nstyle.batch import jobs as batch_jobs
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.files import images as nimages
from nstyle.video import flow, passes, reading, reliability, warping, work
from video_clips import pixels, scene, write_frames

COUNT = 5


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_frames(tmp_path_factory.mktemp("passclip"), scene(count=COUNT, step=3))


def flags(clip, weights_file, images, work_dir, *extra):
    return ["video", "--content-video", clip, "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "64", "--max-num-epochs", "4", "--init", "content", "--optimizer", "lbfgs",
            "--output", str(work_dir / "out"), "--output-dir", str(work_dir), *extra]


def run_nstyle(args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "nstyle", *args, "--reproducible", "--quiet"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)


@pytest.mark.parametrize("total, count, shares", [(30, 2, [15, 15]), (30, 3, [10, 10, 10]), (31, 3, [11, 10, 10]),
                                                  (5, 4, [2, 1, 1, 1]), (7, 1, [7])])
def test_the_epochs_are_split_evenly_the_remainder_to_the_first_passes(total, count, shares):
    assert passes.pass_epochs(total, count) == shares
    assert sum(passes.pass_epochs(total, count)) == total


def test_the_passes_alternate_direction():
    assert passes.visiting_order(1, 4) == [1, 2, 3, 4]
    assert passes.visiting_order(2, 4) == [4, 3, 2, 1]
    assert passes.visiting_order(3, 4) == [1, 2, 3, 4]


def test_the_blended_start_matches_the_formula_pixel_by_pixel():
    rng = np.random.RandomState(3)
    warped, previous = rng.uniform(-100, 100, (1, 3, 2, 3)), rng.uniform(-100, 100, (1, 3, 2, 3))
    c = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.25]])
    got = passes.blended_start(warped, c, previous, 0.5)
    expected = np.empty_like(warped)
    for ch in range(3):
        for y in range(2):
            for x in range(3):
                share = 0.5 * c[y, x]
                expected[0, ch, y, x] = share * warped[0, ch, y, x] + (1 - share) * previous[0, ch, y, x]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got[0, :, 0, 1], previous[0, :, 0, 1])  # unreliable: the previous pass's value
    np.testing.assert_array_equal(passes.blended_start(warped, c, previous, 0.0), previous)
    np.testing.assert_allclose(passes.blended_start(warped, np.ones((2, 3)), previous, 1.0), warped, atol=1e-12)


def test_one_pass_keeps_the_work_key_of_a_single_pass_run(clip):
    cfg = Config(content_image=clip, style_image="s.jpg")
    c = reading.open_clip(clip)
    plain = work.key(cfg, c, (48, 64), 10.0, "medium", (1,), "bicubic")
    assert work.key(cfg, c, (48, 64), 10.0, "medium", (1,), "bicubic", 1, 0.5) == plain
    assert work.key(cfg, c, (48, 64), 10.0, "medium", (1,), "bicubic", 1, 0.3) == plain
    two = work.key(cfg, c, (48, 64), 10.0, "medium", (1,), "bicubic", 2, 0.5)
    assert two != plain and two != work.key(cfg, c, (48, 64), 10.0, "medium", (1,), "bicubic", 2, 0.4)


def test_passes_1_gives_the_single_pass_frames(clip, weights_file, images, tmp_path):
    runs = {}
    for name, extra in (("default", {}), ("one", {"passes": 1, "pass_blend": 0.3})):
        result = stylize_video(clip, images["style"], output_dir=str(tmp_path / name), weights=weights_file,
                               max_long_edge=64, max_num_epochs=2, init="content", quiet=True, **extra)
        runs[name] = pixels(tmp_path / name / "frames")
        assert [r.pass_number for r in result.reports] == [1] * COUNT
        assert not (tmp_path / name / "passes").exists()
    for a, b in zip(runs["default"], runs["one"]):
        np.testing.assert_array_equal(a, b)


def test_a_second_pass_runs_backward_from_the_first_pass_results(clip, weights_file, images, tmp_path,
                                                                  monkeypatch):
    calls = []
    original = nstyle.api.run

    def spy(cfg, **kw):
        calls.append((cfg.max_num_epochs, kw.get("start"), kw.get("penalty"), kw.get("min_epochs")))
        return original(cfg, **kw)

    monkeypatch.setattr(nstyle.api, "run", spy)
    seen = []
    folder = tmp_path / "two"
    result = stylize_video(clip, images["style"], output_dir=str(folder), weights=weights_file, max_long_edge=64,
                           max_num_epochs=4, init="content", quiet=True, passes=2, pass_blend=0.5,
                           on_frame=lambda r: seen.append((r.pass_number, r.index)))
    assert seen == [(1, i) for i in range(1, COUNT + 1)] + [(2, i) for i in range(COUNT, 0, -1)]
    assert [r.index for r in result.reports] == list(range(1, COUNT + 1))  # the last pass's, in frame order
    assert all(r.pass_number == 2 for r in result.reports)
    assert [c[0] for c in calls] == [2] * (2 * COUNT)  # 4 epochs a frame, half in each pass
    assert calls[0][1] is None and calls[0][3] == 0  # pass 1, frame 1: a still run from --init
    first_pass = lambda i: nimages.read_image(str(work.pass_path(str(folder), 1, i, 2)))  # noqa: E731
    last_pass = lambda i: nimages.read_image(work.frame_path(str(folder), i))  # noqa: E731
    # pass 2 starts at the last frame, from its pass-1 result, without a temporal term
    _, start, penalty, floor = calls[COUNT]
    np.testing.assert_array_equal(start, nimages.from_pixels(first_pass(COUNT)))
    assert penalty is None and floor == 1  # half the pass's 2 epochs
    # then frame COUNT-1: the warped pass-2 frame COUNT (the flow from COUNT-1 to COUNT) blended with its pass 1
    _, start, penalty, _ = calls[COUNT + 1]
    to_earlier, to_later = flow.load(str(folder), COUNT, (48, 64))  # the pair (COUNT-1, COUNT)
    warped = nimages.from_pixels(warping.warp(last_pass(COUNT), to_later, warping.WARP_INTERPOLATION))
    c = reliability.reliability(to_later, to_earlier)
    share = 0.5 * c[None, None]
    expected = share * warped + (1 - share) * nimages.from_pixels(first_pass(COUNT - 1))
    np.testing.assert_allclose(start, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(penalty.target, warped, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(penalty.c[0, 0], c)
    assert 0 < c.mean() < 1  # the map has both kinds of pixels, so the check above sees the blend
    assert sorted(os.listdir(folder / "passes" / "1")) == [f"{i:05d}.png" for i in range(1, COUNT + 1)]
    assert reading.open_clip(str(folder / "final.mp4")).count == COUNT


def test_resume_inside_either_pass_gives_the_frames_of_an_uninterrupted_run(clip, weights_file, images, tmp_path):
    whole = tmp_path / "whole"
    done = run_nstyle(flags(clip, weights_file, images, whole, "--passes", "2"))
    assert done.returncode == 0, done.stderr.decode()
    for name, removed in (("in-pass-1", ["passes/1/00004.png", "passes/1/00005.png"] +
                           [f"frames/{i:05d}.png" for i in range(1, COUNT + 1)]),
                          ("in-pass-2", ["frames/00003.png", "frames/00002.png", "frames/00001.png"])):
        cut = tmp_path / name
        shutil.copytree(whole, cut)
        for rel in removed:  # as if the run had died there (pass 2 visits 5, 4, 3, ...)
            os.unlink(cut / rel)
        shutil.rmtree(cut / "out")
        kept = {p: p.stat().st_mtime_ns for p in cut.glob("**/*.png")}
        resumed = run_nstyle(flags(clip, weights_file, images, cut, "--passes", "2", "--resume"))
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # finished frames are not made again
        for sub in ("frames", "passes/1", "out"):
            for a, b in zip(pixels(whole / sub), pixels(cut / sub), strict=True):
                np.testing.assert_array_equal(a, b)
    other = run_nstyle(flags(clip, weights_file, images, tmp_path / "in-pass-2", "--resume"))  # one pass: other run
    assert other.returncode == 2 and "another clip or other settings" in other.stderr.decode()


@pytest.mark.parametrize("extra, flag", [(["--passes", "0"], "--passes"), (["--passes", "-2"], "--passes"),
                                         (["--pass-blend", "1.5"], "--pass-blend"),
                                         (["--pass-blend", "-0.1"], "--pass-blend"),
                                         (["--pass-blend", "nan"], "--pass-blend"),
                                         (["--passes", "2", "--temporal-weight", "0"], "--passes"),
                                         (["--passes", "5"], "--passes"),  # more passes than the 4 epochs
                                         (["--passes", "2", "--temporal-frames", "1,2"], "--passes")])
def test_a_bad_pass_setting_is_one_line_exit_2_and_nothing_written(clip, weights_file, images, tmp_path, capsys,
                                                                   extra, flag):
    folder = tmp_path / "work"
    assert cli.main(flags(clip, weights_file, images, folder, *extra)) == 2
    err = capsys.readouterr().err
    assert flag in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not folder.exists()


def test_the_api_refuses_bad_pass_values(clip, images, tmp_path):
    for bad in ({"passes": 0}, {"passes": 2.5}, {"passes": True}, {"pass_blend": 2}):
        with pytest.raises(NStyleError, match="--pass"):
            stylize_video(clip, images["style"], output_dir=str(tmp_path / "w"), max_long_edge=64, **bad)


def test_a_manifest_sets_passes_per_clip_and_reports_bad_cells(clip, images, tmp_path):
    manifest = tmp_path / "runs.csv"
    manifest.write_text(f"content_video,style,passes,pass_blend,output\n{clip},{images['style']},3,0.25,a.mp4\n"
                        f"{clip},{images['style']},,,b.mp4\n")
    got = batch_jobs.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"), passes=2)
    assert [(j.passes, j.pass_blend) for j in got] == [(3, 0.25), (2, 0.5)]
    manifest.write_text(f"content_video,style,passes\n{clip},{images['style']},zero\n")
    with pytest.raises(NStyleError, match="row 2: column passes"):
        batch_jobs.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))
    manifest.write_text(f"content_video,style,pass_blend\n{clip},{images['style']},1.5\n")
    with pytest.raises(NStyleError, match="row 2: column pass_blend"):
        batch_jobs.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))


def test_the_disk_check_counts_the_frames_of_every_pass():
    one, three = work.work_bytes(10, (48, 64), (1,)), work.work_bytes(10, (48, 64), (1,), passes=3)
    assert three - one == 2 * 10 * work.FRAME_BYTES_PER_PIXEL * 48 * 64
