"""Lai et al.'s temporal consistency error: zero for the moving input itself, exact for a known flicker."""
import numpy as np
import pytest

from nstyle.video import consistency
from video_clips import scene


@pytest.fixture(scope="module")
def pan():
    frames = [f / 255.0 for f in scene(count=6, h=48, w=64, step=2)]
    return frames, consistency.input_flows(frames)


def test_the_input_clip_is_almost_perfectly_consistent_with_its_own_flow(pan):
    frames, pairs = pan
    assert len(pairs) == 5
    assert consistency.warping_error(frames, pairs) < 1e-3


def test_a_brightness_flicker_of_d_levels_gives_three_d_squared(pan):
    frames, pairs = pan
    d = 0.1
    flicker = [np.clip(f, 0.2, 0.8) + (d if i % 2 else 0.0) for i, f in enumerate(frames)]
    steady = [np.clip(f, 0.2, 0.8) for f in frames]
    base = consistency.warping_error(steady, pairs)
    assert consistency.warping_error(flicker, pairs) == pytest.approx(3 * d * d + base, rel=0.05)


def test_frames_and_flows_must_match():
    with pytest.raises(ValueError):
        consistency.warping_error([np.zeros((4, 4, 3))] * 3, [])


def test_the_long_range_error_compares_frames_step_apart(pan):
    frames, _ = pan
    pairs2, pairs3 = consistency.input_flows(frames, step=2), consistency.input_flows(frames, step=3)
    assert (len(pairs2), len(pairs3)) == (4, 3)
    assert consistency.warping_error(frames, pairs3, step=3) < 2e-3
    d = 0.1
    flicker = [np.clip(f, 0.2, 0.8) + (d if i % 2 else 0.0) for i, f in enumerate(frames)]
    steady = [np.clip(f, 0.2, 0.8) for f in frames]
    base2, base3 = (consistency.warping_error(steady, p, step=s) for p, s in ((pairs2, 2), (pairs3, 3)))
    assert consistency.warping_error(flicker, pairs2, step=2) == pytest.approx(base2, abs=1e-12)  # same parity
    assert consistency.warping_error(flicker, pairs3, step=3) == pytest.approx(3 * d * d + base3, rel=0.05)
    with pytest.raises(ValueError):
        consistency.warping_error(frames, pairs2)  # step-2 pairs are not neighbours'


def test_the_reverse_error_is_the_error_of_the_clip_played_backwards(pan):
    frames, pairs = pan
    rng = np.random.RandomState(0)
    outputs = [np.clip(f + rng.normal(0, 0.05, f.shape), 0, 1) for f in frames]
    backwards = [(back, flow) for flow, back in pairs[::-1]]
    reverse = consistency.warping_error(outputs, pairs, reverse=True)
    assert reverse == pytest.approx(consistency.warping_error(outputs[::-1], backwards), rel=1e-12)
    assert reverse != pytest.approx(consistency.warping_error(outputs, pairs), rel=1e-3)
    assert consistency.warping_error(frames, pairs, reverse=True) < 1e-3
