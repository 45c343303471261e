"""The temporal consistency error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency", ECCV):
``E = mean_t sum_p c_{t-1}(p) |warp(O_t)(p) - O_{t-1}(p)|² / sum_p c_{t-1}(p)``.

``O_t`` are the output frames (``HxWx3`` on 0..1; the squared difference is summed over the three channels), the
flows and reliability ``c`` come from the INPUT clip, so every stylization of one clip is judged by the same
motion; ``warp(O_t)`` is ``O_t`` seen from frame ``t-1`` (backward warping along the flow ``t-1 -> t``), and ``c``
is 0 where frame ``t-1`` is disoccluded in frame ``t`` or on a motion boundary (:mod:`nstyle.video.reliability`).
With ``reverse`` the same error the other way round, ``O_{t-1}`` warped onto frame ``t`` against ``O_t``: the
direction a forward pass's temporal loss holds (Lai et al.'s is the direction a backward pass holds).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from . import flow, reliability, warping

#: One neighbouring pair's flows as :mod:`nstyle.video.flow` caches them: (frame t -> t-1, frame t-1 -> t).
Pair = Tuple[np.ndarray, np.ndarray]


def input_flows(frames01: Sequence[np.ndarray], step: int = 1) -> List[Pair]:
    """The flows of every pair of the input frames (``HxWx3`` on 0..1) ``step`` apart (1: neighbours), as the video
    run computes them."""
    dis, pairs = flow.make_dis(), []
    for previous, current in zip(frames01, frames01[step:]):
        pairs.append(flow.pair_flows(dis, flow.grey(previous), flow.grey(current)))
    return pairs


def pair_error(previous: np.ndarray, current: np.ndarray, pair: Pair, reverse: bool = False) -> float:
    """``sum c |warp(current) - previous|² / sum c`` for one pair (frames ``HxWx3`` on 0..1); ``reverse``:
    ``sum c |warp(previous) - current|² / sum c``."""
    to_previous, to_current = pair
    if reverse:
        previous, current, to_previous, to_current = current, previous, to_current, to_previous
    c = reliability.reliability(to_current, to_previous)  # where the first frame is seen again in the other
    warped = warping.warp(np.asarray(current, np.float64), to_current)
    squared = np.sum((warped - np.asarray(previous, np.float64)) ** 2, axis=-1)
    return float(np.sum(c * squared) / max(float(np.sum(c)), 1.0))


def warping_error(outputs01: Sequence[np.ndarray], pairs: Sequence[Pair], step: int = 1,
                  reverse: bool = False) -> float:
    """Lai et al.'s ``E`` of the output frames ``outputs01`` under the input clip's flows ``pairs`` (one per pair of
    frames ``step`` apart, ``len(outputs01) - step`` of them; ``step`` > 1: the same formula against frame
    ``t-step``, a long-range error; ``reverse``: frame ``t-step`` warped onto frame ``t``)."""
    if len(pairs) != len(outputs01) - step or not pairs:
        raise ValueError(f"{len(outputs01)} frames need {len(outputs01) - step} flow pairs, got {len(pairs)}")
    return float(np.mean([pair_error(a, b, p, reverse) for a, b, p in zip(outputs01, outputs01[step:], pairs)]))
