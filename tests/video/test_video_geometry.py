"""Warping, the consistency check and motion boundaries on flows whose answer is known, and DIS on a real shift."""
import numpy as np
import pytest

from nstyle.video import flow, reliability, warping


def constant_flow(h, w, dx, dy):
    out = np.zeros((h, w, 2))
    out[..., 0], out[..., 1] = dx, dy
    return out


def test_warping_a_pure_translation_moves_pixels_exactly():
    image = np.random.RandomState(0).randint(0, 256, (20, 30, 3)).astype(np.float64)
    warped = warping.warp(image, constant_flow(20, 30, 3, -2))  # out(r, c) = image(r - 2, c + 3)
    np.testing.assert_array_equal(warped[2:, :-3], image[:-2, 3:])
    assert warping.leaves_frame(constant_flow(20, 30, 3, -2)).sum() == 20 * 30 - 18 * 27


def test_warping_half_a_pixel_averages_the_two_neighbours():
    image = np.random.RandomState(1).rand(10, 12)
    warped = warping.warp(image, constant_flow(10, 12, 0.5, 0))
    np.testing.assert_allclose(warped[:, :-1], (image[:, :-1] + image[:, 1:]) / 2, rtol=0, atol=1e-12)


def moving_square(h=40, w=50, top=10, left=12, side=12, step=4):
    """Flows of a square moving ``step`` pixels right over a still background: ``(to_previous, to_current)`` in the
    current frame's and the previous frame's coordinates."""
    to_previous, to_current = np.zeros((h, w, 2)), np.zeros((h, w, 2))
    to_previous[top:top + side, left + step:left + step + side, 0] = -step  # the square where it is now
    to_current[top:top + side, left:left + side, 0] = step  # the square where it was
    return to_previous, to_current


def test_the_consistency_check_marks_exactly_the_disoccluded_band_of_a_moving_square():
    to_previous, to_current = moving_square()
    expected = np.zeros((40, 50), bool)
    expected[10:22, 12:16] = True  # background the square uncovered: hidden in the previous frame
    np.testing.assert_array_equal(reliability.disoccluded(to_previous, to_current), expected)


def test_motion_boundaries_lie_on_the_square_edges_only():
    to_previous, _ = moving_square()
    marked = reliability.motion_boundaries(to_previous)
    rows, cols = np.nonzero(marked)
    assert marked.any()
    # forward differences mark the last pixel before each jump of the flow: around the square (rows 9-21, columns
    # 15-27), and nothing farther away
    assert rows.min() >= 9 and rows.max() <= 21 and cols.min() >= 15 and cols.max() <= 27
    assert not marked[12:19, 18:25].any()  # the square's inside moves as one
    c = reliability.reliability(to_previous, moving_square()[1])
    assert set(np.unique(c)) == {0.0, 1.0} and c[0, 0] == 1.0 and c[15, 13] == 0.0


def test_a_rigid_pan_is_consistent_except_where_it_leaves_the_frame():
    to_previous, to_current = constant_flow(30, 40, -3, 1), constant_flow(30, 40, 3, -1)
    hidden = reliability.disoccluded(to_previous, to_current)
    np.testing.assert_array_equal(hidden, warping.leaves_frame(to_previous))
    assert hidden.sum() == 30 * 40 - 29 * 37
    assert not reliability.motion_boundaries(to_previous).any()


def texture(h=48, w=64, seed=0):
    """A smooth random texture (0..1 RGB) that DIS can follow."""
    from scipy.ndimage import gaussian_filter

    noise = np.random.RandomState(seed).rand(h + 16, w + 16, 3)
    smooth = gaussian_filter(noise, (2, 2, 0))
    return (smooth - smooth.min()) / (smooth.max() - smooth.min())


def test_dis_finds_a_known_shift_and_caches_both_flows(tmp_path):
    big = texture()
    previous, current = big[8:56, 8:72], big[8:56, 5:69]  # the scene moves 3 pixels right
    count = flow.compute([previous, current], str(tmp_path), (48, 64))
    assert count == 2
    to_previous, to_current = flow.load(str(tmp_path), 2, (48, 64))
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(to_previous[inner][..., 0]) == pytest.approx(-3, abs=0.25)
    assert np.median(to_current[inner][..., 0]) == pytest.approx(3, abs=0.25)
    assert np.abs(np.median(to_previous[inner][..., 1])) < 0.25
    assert flow.load(str(tmp_path), 2, (40, 64)) is None  # another size: recomputed, not reused
    seen = []
    flow.compute([previous, current], str(tmp_path), (48, 64), lambda i, new: seen.append((i, new)))
    assert seen == [(2, False)]  # cached
    again = tmp_path / "again"
    flow.compute([previous, current], str(again), (48, 64))
    np.testing.assert_array_equal(flow.load(str(again), 2)[0], to_previous)  # DIS is deterministic


def test_smoothing_the_reliability_map_keeps_its_zeros_and_fades_their_neighbours_in():
    c = reliability.reliability(*moving_square())
    soft = reliability.smoothed(c, 1.5)
    assert np.all(soft[c == 0] == 0) and np.all(soft <= c)
    assert 0 < soft[15, 16] < 0.9  # next to the uncovered band: weakened, not cut
    assert soft[35, 45] == 1.0 and soft[0, 0] > 0.999  # far from every unreliable pixel: untouched
    assert reliability.smoothed(c, 0) is c
