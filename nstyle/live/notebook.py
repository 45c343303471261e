"""``stylize(..., show=True)``: the picture and the loss curve drawn inline in Jupyter, updated in place.

IPython is used only when it is already loaded by a kernel (a notebook); nothing is imported otherwise, so
people who do not use notebooks need nothing more. Outside a notebook ``show`` is ignored with one warning.
"""
from __future__ import annotations

import base64
import html
import sys
import time
import warnings
from typing import Any, Dict, List, Optional

import numpy as np

from ..files import images
from ..process.interrupts import StopRequest
from ..process.watch import Picture, stride
from ..report.svg import loss_curve
from .state import jpeg

#: Seconds between redraws.
EVERY = 2.0
#: Longest side of the inline picture.
EDGE = 600
_warned = False


def kernel_shell() -> Any:
    """The running IPython kernel's shell, or None (not in a notebook, or IPython not loaded)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def notebook_watch(every: Optional[float] = None) -> Optional["NotebookWatch"]:
    """A :class:`NotebookWatch` redrawing every ``every`` seconds (default :data:`EVERY`, read now) when running in a
    notebook; else None, with a warning the first time."""
    global _warned
    if kernel_shell() is None:
        if not _warned:
            warnings.warn("stylize(show=True) draws only in a Jupyter notebook: ignored here", stacklevel=3)
            _warned = True
        return None
    return NotebookWatch(EVERY if every is None else every)


class NotebookWatch:
    """A :class:`~nstyle.process.watch.Watch` that draws one output cell area and updates it in place."""

    def __init__(self, every: float = EVERY) -> None:
        from IPython.display import HTML, display  # loaded already: we are in a kernel

        self.html, self.every = HTML, every
        self.history: Dict[str, List[float]] = {"style": [], "content": []}
        self.line, self.picture_tag, self.drawn = "starting", "", -float("inf")
        self.handle = display(self.html(self.markup()), display_id=True)
        self.updates = 0

    def markup(self) -> str:
        """The picture, one line of numbers and the loss curve, as HTML."""
        return (f'<div class="nstyle-live">{self.picture_tag}<div>{html.escape(self.line)}</div>'
                f'{loss_curve(self.history, 360, 110)}</div>')

    def draw(self) -> None:
        self.handle.update(self.html(self.markup()))
        self.updates += 1

    def attach(self, stop: StopRequest) -> None:
        self.history = {"style": [], "content": []}

    def epoch(self, ep: Any, of: int, where: str, left: Optional[int], picture: Picture) -> None:
        self.history["style"].append(float(ep.style_loss))
        self.history["content"].append(float(ep.content_loss))
        self.line = (f"epoch {ep.epoch} of {of}{' · ' + where if where else ''} · style {ep.style_loss:.4g} · "
                     f"content {ep.content_loss:.4g} · {ep.seconds:.2f} s/epoch")
        now = time.monotonic()
        if now - self.drawn >= self.every:
            self.drawn = now
            self.show_picture(images.postprocess(picture(EDGE)))
            self.draw()

    def show_picture(self, rgb: np.ndarray) -> None:
        data = base64.b64encode(jpeg(rgb)).decode()
        self.picture_tag = f'<img src="data:image/jpeg;base64,{data}" alt="the picture so far">'

    def snapshot_due(self) -> bool:
        return False

    def finish(self, rgb: Optional[np.ndarray], line: str) -> None:
        """Draw the final picture (``HxWx3``, 8 or 16 bits, shown at most :data:`EDGE` pixels long) and how the
        run ended."""
        self.line = line
        if rgb is not None:
            k = stride(rgb.shape[:2], EDGE)
            small = rgb[::k, ::k]
            self.show_picture((small >> 8).astype(np.uint8) if small.dtype == np.uint16 else
                              np.ascontiguousarray(small))
        self.draw()
