"""Tile geometry for tiled stylization: the grid, context margins, grid shifts, feathering, split and merge.

Pure numpy. Along each axis of a canvas of ``length`` pixels, *cores* partition the axis (cuts every ``core``
pixels, moved by a per-pass ``shift``); a tile's *inner part* is its core widened by the feather half-width
``feather`` on each side that borders another core; its *window* (what the network sees) is a fixed
``tile x tile`` square (or the whole axis when it is shorter) that holds the inner part plus ``margin`` pixels of
context on every side that is not the canvas edge. All cuts, windows and margins are multiples of ``align``
(the network's total stride at the deepest layer, 16 at ``relu5_1``) so a window's pooling grid lines up with the
whole canvas's; a canvas whose side is not a multiple of ``align`` is padded first (:func:`padded`).

Feathering: along an axis, a tile's weight ramps linearly over the ``2 * feather`` pixels centred on each
interior cut (``(u + 0.5) / (2 feather)`` for the tile after the cut, one minus that for the tile before), and is 1
elsewhere in its core; a tile's 2-D weight is the product of its row and column weights, so the weights of all
tiles sum to one everywhere. :func:`blend` moves each pixel by the tile's weight times the tile's change since the
pass began, so after all tiles of a pass the canvas holds ``sum_t w_t x_t``, no tile leaves a step where its weight
ends (the next tile starts from a smooth picture), and writing back unchanged windows changes nothing.

Margin (the context a window needs beyond its inner part so that features there equal the whole picture's):
a 3x3 convolution at cumulative stride ``j`` reads ``j`` pixels further out on each side, a 2x2/2 pooling none,
so a ``relu5_1`` cell depends on ``2*1 + 2*2 + 4*4 + 4*8 + 1*16 = 70`` pixels beyond its own 16x16 cell; rounded
up to the stride, the margin is 80 (:func:`margin_for`). Measured once with a probe that was not kept (synthetic
seed-0 weights, a smooth random 352x288 picture, every tile's inner part compared with the whole picture's
features; largest difference over the largest feature magnitude); ``tests/tiles/test_tiled.py`` asserts the bold
margins and that one stride less is not enough:

=========  =====  ==============================================================
layer      reach  margin: largest relative difference in the inner parts
=========  =====  ==============================================================
relu5_1    70     0: 0.34, 16: 0.019, 48: 0.021, 64: 5.5e-4, **80: 0 (bit-identical)**, 96: 0
relu4_2    38     0: 0.64, 16: 0.18, 32: 0.011, **40: 0**, 48: 0
relu3_1    10     0: 0.51, 4: 0.29, 8: 0.035, **12: 0**, 16: 0
=========  =====  ==============================================================

So the rule's margin is the smallest that works: one stride less and the cells next to the context's edge see
the window's zero padding. (Gradients at inner pixels are not exact with this margin: a margin feature whose
context is cut feeds back into inner pixels; that is why only inner parts are written back, feathered, and the
grid moves between passes.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from ..model_zoo.spec import LAYER_ORDER

#: Half-width in pixels of the feathered band around each cut between two cores.
FEATHER = 16


def vgg_context(layer: str) -> Tuple[int, int]:
    """``(reach, stride)`` of a VGG19 layer: pixels a cell reads beyond its own, and the cumulative stride."""
    reach, stride = 0, 1
    for name in LAYER_ORDER[: LAYER_ORDER.index(layer) + 1]:
        if name.startswith("conv"):
            reach += stride
        elif name.startswith("pool"):
            stride *= 2
    return reach, stride


def margin_for(layers: Sequence[str]) -> Tuple[int, int]:
    """``(margin, align)`` for the deepest of ``layers``: its reach rounded up to its stride, and the stride."""
    reach, stride = vgg_context(max(layers, key=LAYER_ORDER.index))
    align = max(stride, 1)
    return -(-reach // align) * align, align


def padded(length: int, align: int) -> int:
    """``length`` rounded up to a multiple of ``align``."""
    return -(-length // align) * align


@dataclass(frozen=True)
class Span:
    """One tile along one axis: core ``[a, b)``, window ``[start, stop)`` and the window's feather weights."""

    a: int
    b: int
    start: int
    stop: int
    weight: np.ndarray  # float64, one value per window pixel, zero outside the inner part

    @property
    def window(self) -> slice:
        return slice(self.start, self.stop)

    @property
    def inner(self) -> Tuple[int, int]:
        """The pixels (canvas coordinates) this span writes: where its weight is not zero."""
        nz = np.flatnonzero(self.weight)
        return self.start + int(nz[0]), self.start + int(nz[-1]) + 1


@dataclass(frozen=True)
class Tile:
    """A rectangle of the canvas: its row and column spans."""

    rows: Span
    cols: Span

    @property
    def window(self) -> Tuple[slice, slice]:
        return self.rows.window, self.cols.window

    @property
    def shape(self) -> Tuple[int, int]:
        return self.rows.stop - self.rows.start, self.cols.stop - self.cols.start

    @property
    def weight(self) -> np.ndarray:
        """The feather weight over the window (rows x cols)."""
        return np.outer(self.rows.weight, self.cols.weight)


def _ramp(u: np.ndarray, feather: int) -> np.ndarray:
    """0 -> 1 across ``u = 0 .. 2*feather`` (a step at ``u = 0`` when ``feather`` is 0)."""
    if feather == 0:
        return (u >= 0).astype(np.float64)
    return np.clip((u + 0.5) / (2 * feather), 0.0, 1.0)


def feather_for(margin: int, align: int) -> int:
    """The feather band for a margin: :data:`FEATHER`, or less where shallow layers leave a smaller margin (the band
    may reach at most one ``align`` beyond the margin)."""
    return min(FEATHER, margin + align)


@dataclass(frozen=True)
class Grid:
    """Tiles of ``tile`` pixels (window side) with ``margin`` context over a ``size = (H, W)`` canvas."""

    size: Tuple[int, int]
    tile: int
    margin: int
    align: int = 16
    feather: int = FEATHER
    fit: bool = False  # edge cores as large as the window allows (:meth:`fitted_cuts`), not one core long

    def __post_init__(self) -> None:
        if self.tile % self.align or self.margin % self.align or self.feather % self.align:
            raise ValueError("tile, margin and feather must be multiples of align")
        if self.core < max(self.align, 2 * self.feather):
            raise ValueError(f"tile {self.tile} leaves no core with margin {self.margin} and feather {self.feather}")
        if self.feather > self.margin + self.align:
            raise ValueError("feather must not exceed margin + align")

    @property
    def core(self) -> int:
        """Side of an interior tile's core: the window less context and feather on both sides."""
        return self.tile - 2 * (self.margin + self.feather)

    @classmethod
    def smallest_tile(cls, margin: int, align: int = 16, feather: int = FEATHER) -> int:
        """The smallest window side that leaves a usable core."""
        return 2 * (margin + feather) + max(align, 2 * feather)

    @classmethod
    def least_sensible_tile(cls, margin: int, align: int = 16, feather: int = FEATHER) -> int:
        """The smallest window side whose core spans a quarter of it, 16x the untiled work per pixel (256 px for the
        default layers, the smallest tile automatic tiling picks; their smallest possible tile, 224 px, costs 49x)."""
        return padded(max(-(-8 * (margin + feather) // 3), cls.smallest_tile(margin, align, feather)), align)

    def shift(self, pass_index: int) -> int:
        """Where the first cut moves on pass ``pass_index``: 0, half a core, 0, ... (a multiple of ``align``)."""
        return (self.core // 2) // self.align * self.align if pass_index % 2 else 0

    def spans(self, length: int, shift: int) -> List[Span]:
        """The spans of one axis for a grid moved by ``shift``."""
        if length % self.align and length > self.tile:
            raise ValueError(f"a tiled axis must be a multiple of {self.align} (pad it first), not {length}")
        if length <= self.tile:
            return [Span(0, length, 0, length, np.ones(length))]
        cuts = self.fitted_cuts(length, shift) if self.fit else list(range(shift or self.core, length, self.core))
        if cuts and cuts[0] < 2 * self.feather:
            cuts.pop(0)
        if cuts and length - cuts[-1] < 2 * self.feather:
            cuts.pop()
        edges = [0] + cuts + [length]
        spans = []
        for a, b in zip(edges[:-1], edges[1:]):
            start = min(max(a - self.feather - self.margin, 0), length - self.tile)
            stop = start + self.tile
            assert start <= max(a - self.feather - self.margin, 0) and (
                stop >= min(b + self.feather + self.margin, length)), (a, b, start, stop)
            x = np.arange(start, stop)
            up = np.ones(len(x)) if a == 0 else _ramp(x - (a - self.feather), self.feather)
            down = np.ones(len(x)) if b == length else 1.0 - _ramp(x - (b - self.feather), self.feather)
            spans.append(Span(a, b, start, stop, up * down))
        return spans

    @property
    def edge_core(self) -> int:
        """The longest core a tile at the canvas edge can have: its window needs context and feathering on one side
        only."""
        return self.tile - self.margin - self.feather

    def fitted_cuts(self, length: int, shift: int) -> List[int]:
        """Cuts of an axis with the edge tiles as long as :attr:`edge_core`: the first cut there (half a core
        earlier when the grid is moved), then one every core until the rest fits in an edge tile. Fewer tiles than
        cuts every core from 0 (at 1200x800 with 512 px windows 8 and 12 a pass, not 12 and 15); the cuts of the
        two positions are still half a core apart."""
        cuts = [self.edge_core - shift]
        while length - cuts[-1] > self.edge_core:
            cuts.append(cuts[-1] + self.core)
        if length - cuts[-1] < 2 * self.feather:  # a last core narrower than the feathered band: move its cut back
            cuts[-1] = length - 2 * self.feather
        return cuts

    def cuts(self, pass_index: int = 0) -> Tuple[List[int], List[int]]:
        """Row and column positions where cores meet on pass ``pass_index`` (where seams could be)."""
        s = self.shift(pass_index)
        return tuple([sp.a for sp in self.spans(n, s)[1:]] for n in self.size)  # type: ignore[return-value]

    def tiles(self, pass_index: int = 0) -> List[Tile]:
        """All tiles of pass ``pass_index``, row by row."""
        s = self.shift(pass_index)
        return [Tile(r, c) for r in self.spans(self.size[0], s) for c in self.spans(self.size[1], s)]


def pad_to(x: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``...xHxW`` reflected at the bottom and right up to ``size``."""
    extra = [(0, 0)] * (x.ndim - 2) + [(0, size[0] - x.shape[-2]), (0, size[1] - x.shape[-1])]
    return np.pad(x, extra, mode="reflect") if any(e[1] for e in extra) else x


def split(canvas: np.ndarray, tile: Tile) -> np.ndarray:
    """A copy of ``canvas[..., window]`` (any leading axes)."""
    return np.array(canvas[(Ellipsis,) + tile.window])


def blend(canvas: np.ndarray, start: np.ndarray, tile: Tile, values: np.ndarray) -> None:
    """Write one tile of a pass: ``canvas[window] += w * (values - start[window])`` (in place; any leading axes).

    ``start`` is the canvas as it was when the pass began. Every pixel a tile reaches moves by its share ``w`` of
    the tile's change, so the picture the next tile starts from has no step where this tile's weight ends, and after
    all tiles of the pass each pixel is ``sum_t w_t x_t``. Where ``w`` is 1 the tile's values are copied; writing
    back unchanged windows leaves the canvas bit-for-bit unchanged.
    """
    w = tile.weight
    view = canvas[(Ellipsis,) + tile.window]
    moved = view + w * (values - start[(Ellipsis,) + tile.window])
    view[...] = np.where(w == 1.0, values, moved)


def feather_in(array: np.ndarray, tile: Tile, values: np.ndarray) -> None:
    """Write one tile's ``values`` into ``array`` by its weight: ``w * values + (1 - w) * array[window]`` (copied
    where ``w`` is 1; any leading axes). For per-pixel optimiser state, which needs no copy from the start of the pass:
    a moment estimate only has to be near the pixel's, not a partition of unity over the pass."""
    w = tile.weight
    view = array[(Ellipsis,) + tile.window]
    view[...] = np.where(w == 1.0, values, w * values + (1.0 - w) * view)


def merge(canvas: np.ndarray, tiles: Sequence[Tile], values: Sequence[np.ndarray]) -> np.ndarray:
    """Blend every tile's values into a copy of ``canvas`` in order, as one pass does."""
    out = np.array(canvas)
    for tile, v in zip(tiles, values):
        blend(out, canvas, tile, v)
    return out


def seam_ratio(rgb: np.ndarray, row_cuts: Sequence[int], col_cuts: Sequence[int], width: int = 1) -> float:
    """Mean gradient magnitude of ``rgb`` within ``width`` pixels of the cut lines over its mean elsewhere.

    The gradient is the forward difference of the channel mean, ``sqrt(dy^2 + dx^2)`` on the ``(H-1)x(W-1)``
    grid; a difference between pixels ``i`` and ``i+1`` sits at ``i + 0.5``. 1 means the borders look like the
    rest of the picture; a visible seam (a step or a change of texture along the cut) moves it away from 1.
    """
    grey = np.asarray(rgb, np.float64).mean(axis=-1)
    dy, dx = np.diff(grey, axis=0)[:, :-1], np.diff(grey, axis=1)[:-1, :]
    magnitude = np.hypot(dy, dx)
    near = np.zeros(magnitude.shape, bool)
    for axis, cuts in ((0, row_cuts), (1, col_cuts)):
        pos = np.arange(magnitude.shape[axis]) + 0.5
        hit = np.zeros(len(pos), bool)
        for c in cuts:
            hit |= np.abs(pos - c) <= width
        near |= hit[:, None] if axis == 0 else hit[None, :]
    if not near.any() or near.all():
        return 1.0
    return float(magnitude[near].mean() / magnitude[~near].mean())
