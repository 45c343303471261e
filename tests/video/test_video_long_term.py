"""The long-term temporal terms (``--temporal-frames``): closest-first weights, flows to frames t-j, the default
unchanged, resume, and bad lists."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from nstyle import cli, stylize_video
from nstyle.errors import NStyleError
from nstyle.video import run as video_run
from nstyle.video.plan import temporal_frames
from nstyle.video.temporal import TemporalLoss, TemporalSum, closest_first
from video_clips import pixels, scene, write_frames

COUNT = 7


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_frames(tmp_path_factory.mktemp("longclip"), scene(count=COUNT, step=3))


def flags(clip, weights_file, images, work, *extra):
    return ["video", "--content-video", clip, "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "64", "--max-num-epochs", "2", "--init", "content", "--optimizer", "lbfgs",
            "--output", str(work / "out"), "--output-dir", str(work), *extra]


def test_closest_first_weights_match_a_direct_computation():
    rng = np.random.RandomState(0)
    maps = [rng.rand(5, 6) for _ in range(4)]
    maps[1][0, 0] = maps[2][0, 0] = 0.0  # a pixel only the farthest frame shows
    expected = [maps[0]] + [np.maximum(maps[j] - np.sum(maps[:j], axis=0), 0.0) for j in range(1, 4)]
    got = closest_first(maps)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    binary = [np.array([[1, 0, 0, 0]]), np.array([[1, 1, 0, 0]]), np.array([[1, 1, 1, 0]])]
    np.testing.assert_array_equal(closest_first(binary), [[[1, 0, 0, 0]], [[0, 1, 0, 0]], [[0, 0, 1, 0]]])


def test_a_sum_of_terms_adds_values_and_gradients():
    rng = np.random.RandomState(1)
    shape = (1, 3, 4, 5)
    terms = [TemporalLoss(rng.uniform(-50, 50, shape), rng.rand(4, 5), w) for w in (0.3, 2.0)]
    x = rng.uniform(-50, 50, shape)
    total, grad = TemporalSum(terms).value_and_grad(x)
    parts = [t.value_and_grad(x) for t in terms]
    assert total == pytest.approx(parts[0][0] + parts[1][0], rel=1e-12) == TemporalSum(terms).value(x)
    np.testing.assert_allclose(grad, parts[0][1] + parts[1][1], rtol=1e-12)
    import mxnet as mx
    on_device = TemporalSum(terms).gradient(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(on_device, grad, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("text, steps", [("1", (1,)), ("1,10,20,40", (1, 10, 20, 40)), ("20, 1,10,10", (1, 10, 20))])
def test_temporal_frames_are_read_sorted_and_deduplicated(text, steps):
    assert temporal_frames(text) == steps
    assert temporal_frames(list(steps)) == steps


@pytest.mark.parametrize("bad", ["0", "1,-10", "1,2.5", "1,ten", "", "1,,2"])
def test_a_bad_list_is_one_line_exit_2_and_nothing_written(clip, weights_file, images, tmp_path, capsys, bad):
    work = tmp_path / "work"
    assert cli.main(flags(clip, weights_file, images, work, "--temporal-frames", bad)) == 2
    err = capsys.readouterr().err
    assert "--temporal-frames" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not work.exists()
    with pytest.raises(NStyleError, match="--temporal-frames"):
        temporal_frames([1, 2.0])


def test_temporal_frames_1_is_the_short_term_run(clip, weights_file, images, tmp_path, monkeypatch):
    made = []
    original = video_run.temporal_start
    monkeypatch.setattr(video_run, "temporal_start", lambda *a: made.append(original(*a)) or made[-1])
    runs = {}
    for name, extra in (("default", {}), ("one", {"temporal_frames": "1"})):
        stylize_video(clip, images["style"], output_dir=str(tmp_path / name), weights=weights_file,
                      max_long_edge=64, max_num_epochs=2, init="content", quiet=True, **extra)
        runs[name] = pixels(tmp_path / name / "frames")
    for a, b in zip(runs["default"], runs["one"]):
        np.testing.assert_array_equal(a, b)
    assert all(type(term) is TemporalLoss for _, term in made)  # the short-term term itself, not a sum
    assert sorted(os.listdir(tmp_path / "one" / "flow")) == [f"{i:05d}.npz" for i in range(2, COUNT + 1)]


def run_nstyle(args):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "nstyle", *args, "--reproducible", "--quiet"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)


def test_long_term_flows_are_cached_and_resume_reads_the_earlier_frames_back(clip, weights_file, images, tmp_path):
    whole = tmp_path / "whole"
    done = run_nstyle(flags(clip, weights_file, images, whole, "--temporal-frames", "1,2,4"))
    assert done.returncode == 0, done.stderr.decode()
    flow = whole / "flow"
    assert sorted(os.listdir(flow / "step2")) == [f"{i:05d}.npz" for i in range(3, COUNT + 1)]
    assert sorted(os.listdir(flow / "step4")) == [f"{i:05d}.npz" for i in range(5, COUNT + 1)]
    short = tmp_path / "short"
    assert run_nstyle(flags(clip, weights_file, images, short)).returncode == 0
    assert not (short / "flow" / "step2").exists()
    differs = [np.any(a != b) for a, b in zip(pixels(whole / "frames"), pixels(short / "frames"))]
    assert differs[:2] == [False, False] and any(differs[2:])  # frames 1-2 have no frame t-2 or t-4
    cut = tmp_path / "cut"
    shutil.copytree(whole, cut)
    for i in range(5, COUNT + 1):  # as if the run had died in frame 5: its terms need frames 1, 3 and 4 back
        os.unlink(cut / "frames" / f"{i:05d}.png")
    shutil.rmtree(cut / "out")
    resumed = run_nstyle(flags(clip, weights_file, images, cut, "--temporal-frames", "1,2,4", "--resume"))
    assert resumed.returncode == 0, resumed.stderr.decode()
    for a, b in zip(pixels(whole / "frames"), pixels(cut / "frames")):
        np.testing.assert_array_equal(a, b)
    assert len(pixels(cut / "out")) == COUNT
    again = run_nstyle(flags(clip, weights_file, images, cut, "--resume"))  # other frames: another run
    assert again.returncode == 2 and "another clip or other settings" in again.stderr.decode()
