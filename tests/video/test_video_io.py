"""Reading and writing clips: frame count, size, rate, pixels within codec noise, audio, rotation, frame folders."""
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from nstyle.errors import NStyleError
from nstyle.video import reading, writing
from video_clips import audio_packets, scene, write_clip

#: Mean absolute difference in 8-bit levels a round trip through H.264 may cost (mostly yuv420p's halved chroma).
CODEC_NOISE = 3.5


def test_a_clip_written_and_read_back_keeps_count_size_rate_pixels_and_audio(tmp_path):
    frames = scene()
    clip = reading.open_clip(write_clip(tmp_path / "in.mp4", frames, rate=12, audio=True))
    assert (clip.count, clip.size, clip.rate, clip.has_audio) == (8, (48, 64), Fraction(12), True)
    decoded = list(reading.frames(clip))
    assert len(decoded) == 8
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(decoded, frames)) < CODEC_NOISE
    names = []
    for i, rgb in enumerate(decoded, start=1):
        names.append(str(tmp_path / f"{i:05d}.png"))
        Image.fromarray(rgb).save(names[-1])
    out = tmp_path / "out.mp4"
    writing.encode(names, str(out), clip.rate, clip.time_base, audio_from=clip.path)
    again = reading.open_clip(str(out))
    assert (again.count, again.size, again.rate, again.has_audio) == (8, (48, 64), Fraction(12), True)
    assert again.time_base == clip.time_base
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(reading.frames(again), decoded)) < CODEC_NOISE
    assert audio_packets(out) == audio_packets(clip.path)  # copied packet by packet, not re-encoded
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert container.streams.video[0].codec_context.name == "h264"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_rotated_clip_is_read_upright(tmp_path):
    frames = scene(count=3)
    clip = reading.open_clip(write_clip(tmp_path / "phone.mp4", frames, rotation=90))
    assert (clip.rotation, clip.size) == (90, (64, 48))
    for got, made in zip(reading.frames(clip), frames):
        assert got.shape == (64, 48, 3)
        assert np.abs(got.astype(int) - np.rot90(made)).mean() < CODEC_NOISE


def test_a_folder_or_glob_of_frames_is_a_clip_in_name_order(tmp_path):
    frames = scene(count=4)
    for i, rgb in enumerate(frames):
        Image.fromarray(rgb).save(tmp_path / f"f{i:02d}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    clip = reading.open_clip(str(tmp_path))
    assert (clip.count, clip.size, clip.rate, clip.is_file) == (4, (48, 64), Fraction(25), False)
    for got, made in zip(reading.frames(clip), frames):
        np.testing.assert_array_equal(got, made)
    assert reading.open_clip(str(tmp_path / "f0[12].png"), rate=24).count == 2
    assert reading.open_clip(str(tmp_path / "f*.png"), rate=24000 / 1001).rate == Fraction(24000, 1001)


@pytest.mark.parametrize("make, why", [
    (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "not a video"),
    (lambda d: Image.fromarray(scene(1)[0]).save(d / "one.png") or d / "one.png", "is a picture"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no frame pictures"),
    (lambda d: d / "missing.mp4", "no such file"),
])
def test_what_is_not_a_clip_is_refused_in_one_line(tmp_path, make, why):
    with pytest.raises(NStyleError, match=why) as info:
        reading.open_clip(str(make(tmp_path)))
    assert "\n" not in str(info.value)


def test_output_kinds():
    assert writing.output_kind("out.mp4") == writing.output_kind("x/out.MKV") == "video"
    assert writing.output_kind("styled") == "frames"
    with pytest.raises(NStyleError, match="cannot hold a video"):
        writing.output_kind("out.gif")
