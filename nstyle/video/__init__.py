"""Video: a clip stylized frame by frame with short-term temporal consistency (Ruder et al. 2016).

Holds ``reading`` (a video file or a folder/glob of frames, upright, with its rate), ``writing`` (H.264 MP4 with the
audio copied, or PNG frames), ``flow`` (OpenCV's DIS between neighbouring frames, cached), ``warping`` (backward
warping: bilinear, bicubic, Lanczos), ``reliability`` (the consistency check and motion boundaries), ``temporal``
(the temporal loss, a :class:`~nstyle.algorithm.objective.Penalty`), ``work`` (the work folder: finished frames,
``--resume``), ``plan`` (everything checked before any work), ``run`` (the method, ``nstyle video`` and
:func:`stylize_video`) and ``passes`` (Ruder's multi-pass algorithm, ``--passes``). May import :mod:`nstyle.api`
and everything below it; only the command line and the package's ``stylize_video`` import it. Needs the ``video``
extra (PyAV).

Public: :func:`stylize_video`, :func:`stylize_clip`, :class:`VideoSettings`, :class:`VideoResult`,
:class:`FrameReport`, loaded on first use, so ``import nstyle.video`` does not import MXNet or PyAV.
"""
from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"FrameReport": "run", "VideoResult": "run", "VideoSettings": "plan", "stylize_clip": "clip",
           "stylize_video": "clip"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    """``nstyle.video.stylize_video`` and friends, imported from their module when first asked for."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'nstyle.video' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
