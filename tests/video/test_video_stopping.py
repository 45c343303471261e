"""The per-frame stopping rule: a frame started from the previous result runs at least half of --max-num-epochs."""
import pytest

from nstyle import stylize_video
from nstyle.video.run import epoch_floor
from video_clips import scene, write_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "in.mp4", scene(count=3), rate=12)


def epochs(clip, weights_file, images, tmp_path, **options):
    # stop_eps 10: every epoch counts as settled, so only the floor keeps a frame going
    result = stylize_video(clip, images["style"], output_dir=str(tmp_path), weights=weights_file, max_long_edge=64,
                           max_num_epochs=6, init="content", stop_eps=10.0, quiet=True, **options)
    return [(r.epochs, r.stopped) for r in result.reports]


def test_the_floor_is_half_the_epoch_limit_rounded_up():
    assert [epoch_floor(n) for n in (1, 2, 5, 6, 1000)] == [1, 1, 3, 3, 500]


def test_later_frames_run_at_least_the_floor_before_the_stopping_rule_ends_them(clip, weights_file, images, tmp_path):
    first, *later = epochs(clip, weights_file, images, tmp_path)
    assert first[1] == "converged" and first[0] < 3  # frame 1 is a still run: the classic rule alone
    assert later == [(3, "converged")] * 2


def test_independent_frames_keep_the_classic_rule(clip, weights_file, images, tmp_path):
    frames = epochs(clip, weights_file, images, tmp_path, temporal_weight=0)
    assert len(frames) == 3 and all(stopped == "converged" and n < 3 for n, stopped in frames)
