"""Tile geometry: cores partition the canvas, windows hold the margin, feather weights sum to one, exact round trip."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nstyle.tiles import geometry as tiles
from nstyle.tiles.geometry import Grid


def grids():
    """Canvas sizes (multiples of 16), tile sides and margins covering one tile, several, shifted or not, with
    one-core edge tiles or fitted ones (``--tile-fit``)."""
    return st.integers(0, 4).flatmap(lambda m: st.builds(
        lambda h, w, t, fit: Grid((16 * h, 16 * w), 16 * t, 16 * m, fit=fit), st.integers(1, 60), st.integers(1, 60),
        st.integers(2 * m + 4, 2 * m + 20), st.booleans()))


@settings(max_examples=200, deadline=None)
@given(grids(), st.integers(0, 3))
def test_cores_partition_and_windows_hold_the_margin(grid, pass_index):
    for axis, length in enumerate(grid.size):
        spans = grid.spans(length, grid.shift(pass_index))
        assert spans[0].a == 0 and spans[-1].b == length
        assert all(p.b == q.a for p, q in zip(spans, spans[1:]))
        for s in spans:
            assert s.stop - s.start == min(grid.tile, length)  # one window size: one bound network
            assert s.start % grid.align == 0
            lo, hi = s.inner
            assert lo == (s.a - grid.feather if s.a else 0) and hi == (s.b + grid.feather if s.b < length else length)
            assert s.start == 0 or lo - s.start >= grid.margin  # context, or the canvas edge as in the whole
            assert s.stop == length or s.stop - hi >= grid.margin


@settings(max_examples=200, deadline=None)
@given(grids(), st.integers(0, 3))
def test_feather_weights_sum_to_one_everywhere(grid, pass_index):
    total = np.zeros(grid.size)
    for tile in grid.tiles(pass_index):
        w = tile.weight
        assert w.min() >= 0 and w.max() <= 1
        total[tile.window] += w
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(grids(), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_split_merge_round_trip_is_exact(grid, pass_index, seed):
    canvas = np.random.RandomState(seed).normal(0, 50, (3,) + grid.size).astype(np.float32)
    parts = [tiles.split(canvas, t) for t in grid.tiles(pass_index)]
    assert np.array_equal(tiles.merge(canvas, grid.tiles(pass_index), parts), canvas)
    from_zero = tiles.merge(np.zeros_like(canvas), grid.tiles(pass_index), parts)  # sum_t w_t x = x, rounded
    np.testing.assert_allclose(from_zero, canvas, rtol=0, atol=1e-5 * np.abs(canvas).max())


def test_merge_is_the_weighted_sum_of_tiles():
    """Different values per tile: each pixel ends as sum_t w_t x_t, including the corners where four tiles meet."""
    grid = Grid((400, 560), 256, 64)
    tl = grid.tiles(1)
    assert len(tl) > 4
    values = [np.full((2,) + t.shape, float(k + 1)) for k, t in enumerate(tl)]
    got = tiles.merge(np.full((2,) + grid.size, -7.0), tl, values)
    want = np.zeros(grid.size)
    for t, v in zip(tl, values):
        want[t.window] += t.weight * v[0]
    np.testing.assert_allclose(got[0], want, rtol=1e-12)
    np.testing.assert_allclose(got[1], want, rtol=1e-12)


@pytest.mark.parametrize("fit", [False, True])
def test_grid_moves_between_passes(fit):
    grid = Grid((800, 1200), 512, 80, fit=fit)
    cuts = [{s.a for s in grid.spans(1200, grid.shift(p))} - {0} for p in (0, 1)]
    assert cuts[0] and cuts[1] and not cuts[0] & cuts[1]
    assert min(abs(a - b) for a in cuts[0] for b in cuts[1]) >= grid.core // 2 - grid.align


def test_fitted_edge_tiles_take_fewer_visits():
    """At 1200x800 with 512 px windows (320 px cores), edge tiles of up to 416 px make 2x4 and 3x4 tiles a pass
    where cuts every core from 0 make 3x4 and 3x5; the windows stay 512 px."""
    plain, fitted = Grid((800, 1200), 512, 80), Grid((800, 1200), 512, 80, fit=True)
    assert [len(plain.tiles(p)) for p in (0, 1)] == [12, 15]
    assert [len(fitted.tiles(p)) for p in (0, 1)] == [8, 12]
    assert fitted.edge_core == 416 and {t.shape for p in (0, 1) for t in fitted.tiles(p)} == {(512, 512)}
    assert fitted.cuts(0) == ([416], [416, 736, 1056]) and fitted.cuts(1) == ([256, 576], [256, 576, 896])


def test_margin_rule_for_vgg19_layers():
    assert tiles.vgg_context("relu5_1") == (70, 16)
    assert tiles.margin_for(["relu1_1", "relu5_1", "relu4_2"]) == (80, 16)
    assert tiles.margin_for(["relu1_1", "relu2_1", "relu3_1"]) == (12, 4)
    assert tiles.margin_for(["relu4_2"]) == (40, 8)


@pytest.mark.parametrize("tile, margin", [(208, 80), (100, 16), (48, 0)])
def test_bad_grids_are_refused(tile, margin):
    with pytest.raises(ValueError):
        Grid((800, 800), tile, margin, align=16)


def test_a_written_tile_leaves_no_step_where_its_weight_ends():
    """The next tile starts from a smooth picture: the first tile's change fades out with its weight."""
    grid = Grid((320, 320), 224, 48)
    first = grid.tiles()[0]
    start = np.zeros((1,) + grid.size)
    canvas = start.copy()
    tiles.blend(canvas, start, first, np.ones((1,) + first.shape))
    lo, hi = first.rows.inner
    column = canvas[0, :, 0]
    assert column[lo:hi - 2 * grid.feather].min() == 1 and column[hi:].max() == 0
    assert np.abs(np.diff(column)).max() <= 1.0 / (2 * grid.feather) + 1e-12


def test_feather_in_is_the_weighted_mean_with_what_is_there():
    """Optimiser state goes back as ``w * new + (1 - w) * old``: copied where w is 1, kept where w is 0."""
    grid = Grid((400, 560), 256, 64)
    tile = grid.tiles(1)[4]
    old = np.random.RandomState(0).normal(size=(2, 1, 3) + grid.size)
    new = np.random.RandomState(1).normal(size=(2, 1, 3) + tile.shape)
    got = old.copy()
    tiles.feather_in(got, tile, new)
    w = tile.weight
    inside = got[(Ellipsis,) + tile.window]
    np.testing.assert_allclose(inside, w * new + (1 - w) * old[(Ellipsis,) + tile.window], rtol=1e-12)
    assert np.array_equal(inside[..., w == 1.0], new[..., w == 1.0])
    assert (w == 1.0).any() and (w == 0.0).any() and ((w > 0) & (w < 1)).any()
    outside = np.ones(grid.size, bool)
    outside[tile.window] = False
    assert np.array_equal(got[..., outside], old[..., outside])
