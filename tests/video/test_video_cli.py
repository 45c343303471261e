"""``nstyle video`` end to end on a small clip: frames, video, log lines, bad input, kill -9 and --resume."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT
from nstyle import cli, stylize_video
from nstyle.errors import NStyleError
from nstyle.video import reading
from video_clips import pixels, scene, write_clip, write_empty_clip

COUNT = 6


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "in.mp4", scene(count=COUNT), rate=12, audio=True)


def flags(clip, weights_file, images, out, work, *extra):
    return ["video", "--content-video", clip, "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "64", "--max-num-epochs", "2", "--init", "content", "--output", str(out),
            "--output-dir", str(work), *extra]


def frame_lines(err, count=COUNT):
    """The per-frame log lines of ``err`` (a clip of ``count`` frames), up to their colon."""
    return [line.split(":")[0] for line in err.splitlines() if re.match(rf"frame \d+/{count}: ", line)]


def test_a_clip_comes_out_as_a_video_with_one_line_per_frame(clip, weights_file, images, tmp_path, capsys):
    out, work = tmp_path / "out.mp4", tmp_path / "work"
    assert cli.main(flags(clip, weights_file, images, out, work)) == 0
    err = capsys.readouterr().err
    assert frame_lines(err) == [f"frame {i}/{COUNT}" for i in range(1, COUNT + 1)]
    assert "epoch " not in err  # no per-epoch lines: one per frame
    assert sorted(os.listdir(work / "frames")) == [f"{i:05d}.png" for i in range(1, COUNT + 1)]
    assert len(os.listdir(work / "flow")) == COUNT - 1
    result = reading.open_clip(str(out))
    assert (result.count, result.size, result.has_audio) == (COUNT, (48, 64), True)
    frames = list(reading.frames(result))
    stylized = pixels(work / "frames")
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, stylized)) < 3.0
    os.unlink(out)  # as if the run had died while encoding: --resume only encodes
    assert cli.main(flags(clip, weights_file, images, out, work, "--resume")) == 0
    err = capsys.readouterr().err
    assert frame_lines(err) == [] and f"resuming after frame {COUNT}" in err
    assert reading.open_clip(str(out)).count == COUNT


def test_frames_out_to_a_folder_and_independent_frames(clip, weights_file, images, tmp_path):
    out, work = tmp_path / "styled", tmp_path / "work"
    assert cli.main(flags(clip, weights_file, images, out, work, "--temporal-weight", "0", "--quiet")) == 0
    assert sorted(os.listdir(out)) == [f"{i:05d}.png" for i in range(1, COUNT + 1)]
    assert not os.listdir(work / "flow")  # independent frames need no flow


@pytest.mark.parametrize("case, message", [
    ("text", "not a video"),
    ("empty", "no frame pictures"),
    ("zero", "has no video stream"),  # FFmpeg shows an MP4 track without samples as no stream at all
    ("gif", "cannot hold a video"),
    ("same", "would replace the content video"),
    ("tiles", "--tile-size"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(clip, weights_file, images, tmp_path, capsys, case,
                                                          message):
    source, out = clip, tmp_path / "out" / "result.mp4"
    extra = []
    if case == "text":
        source = str(tmp_path / "clip.mp4")
        open(source, "w").write("not a video")
    elif case == "empty":
        os.mkdir(tmp_path / "frames")
        source = str(tmp_path / "frames")
    elif case == "zero":
        source = write_empty_clip(tmp_path / "zero.mp4")
    elif case == "gif":
        out = tmp_path / "out" / "result.gif"
    elif case == "same":
        out = clip
    else:
        extra = ["--tile-size", "32"]
    before = os.stat(clip).st_mtime_ns
    work = tmp_path / "work"
    assert cli.main(flags(source, weights_file, images, out, work, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not work.exists() and not (tmp_path / "out").exists()
    assert os.stat(clip).st_mtime_ns == before


def test_a_broken_frame_stops_the_clip_there_keeping_the_frames_before_it(weights_file, images, tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, rgb in enumerate(scene(count=5)):
        Image.fromarray(rgb).save(frames / f"{i:03d}.png")
    (frames / "003.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"broken" * 10)  # frame 4
    out, work = tmp_path / "out.mp4", tmp_path / "work"
    assert cli.main(flags(str(frames), weights_file, images, out, work)) == 2
    err = capsys.readouterr().err
    assert "frame 4" in err.splitlines()[-1] and "Traceback" not in err
    assert frame_lines(err, 5) == ["frame 1/5", "frame 2/5", "frame 3/5"]
    assert sorted(os.listdir(work / "frames")) == ["00001.png", "00002.png", "00003.png"]
    assert not out.exists()


def test_stylize_video_from_python(clip, weights_file, images, tmp_path):
    seen = []
    result = stylize_video(clip, images["style"], tmp_path / "out.mkv", weights=weights_file, max_long_edge=64,
                           max_num_epochs=1, init="content", quiet=True, on_frame=seen.append)
    assert (result.frames, result.output) == (COUNT, str(tmp_path / "out.mkv"))
    assert [r.index for r in seen] == list(range(1, COUNT + 1)) and seen == result.reports
    assert np.isnan(seen[0].temporal_loss) and all(r.temporal_loss >= 0 for r in seen[1:])
    assert not os.path.exists(result.work_dir)  # no --output-dir: a temporary work folder, removed
    assert reading.open_clip(result.output).count == COUNT
    with pytest.raises(NStyleError, match="unknown option"):
        stylize_video(clip, images["style"], tmp_path / "x.mp4", temporal_wieght=3)


def run_nstyle(args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "nstyle", *args, "--reproducible"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def test_kill_9_mid_clip_then_resume_gives_the_frames_of_an_uninterrupted_run(clip, weights_file, images, tmp_path):
    whole = run_nstyle(flags(clip, weights_file, images, tmp_path / "whole.mp4", tmp_path / "whole"))
    assert whole.wait(timeout=300) == 0, whole.stderr.read().decode()
    work = tmp_path / "killed"
    killed = run_nstyle(flags(clip, weights_file, images, tmp_path / "killed.mp4", work))
    third = work / "frames" / "00003.png"
    deadline = time.time() + 300
    while not third.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    done = len(os.listdir(work / "frames"))
    assert 3 <= done < COUNT, "the run ended before it could be killed mid-clip"
    assert not (tmp_path / "killed.mp4").exists()
    resumed = run_nstyle(flags(clip, weights_file, images, tmp_path / "killed.mp4", work, "--resume"))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    assert f"resuming after frame {done}" in err.decode()
    assert frame_lines(err.decode()) == [f"frame {i}/{COUNT}" for i in range(done + 1, COUNT + 1)]
    for a, b in zip(pixels(tmp_path / "whole" / "frames"), pixels(work / "frames")):
        np.testing.assert_array_equal(a, b)
    assert len(pixels(work / "frames")) == COUNT
    assert reading.open_clip(str(tmp_path / "killed.mp4")).count == COUNT
