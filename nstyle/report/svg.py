"""Small inline-SVG loss curves for the batch report: style and content loss per epoch on a log scale."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

#: Curve colours (style, content), the same as in the page's legend.
COLOURS = {"style": "#c2410c", "content": "#1d4ed8"}
MAX_POINTS = 80  # a curve keeps at most this many points, so 100 runs stay light


def thin(n: int, keep: int = MAX_POINTS) -> List[int]:
    """At most ``keep`` indices out of ``range(n)``, evenly spread, first and last included."""
    if n <= keep:
        return list(range(n))
    return sorted({round(k * (n - 1) / (keep - 1)) for k in range(keep)})


def _log(values: Sequence[float]) -> List[Optional[float]]:
    return [math.log10(v) if isinstance(v, (int, float)) and math.isfinite(v) and v > 0 else None for v in values]


def _fmt(exponent: float) -> str:
    """A loss for an axis label, short: ``3.8e10``, ``0.012``, ``250``."""
    return f"{10 ** exponent:.2g}".replace("e+", "e").replace("e-0", "e-").replace("e0", "e")


def loss_curve(history: Optional[Dict[str, list]], width: int = 240, height: int = 72) -> str:
    """``<svg>`` with one polyline per loss in ``history`` (``{"style": [...], "content": [...]}``), or ``""``.

    The y axis is log10 of the loss, shared by both curves and labelled with its top and bottom values;
    the x axis is the epoch (all ``--multires`` levels in a row). Non-positive or non-finite values are left out.
    """
    series = {k: _log((history or {}).get(k) or []) for k in COLOURS}
    n = max(len(v) for v in series.values())
    finite = [v for values in series.values() for v in values if v is not None]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    left, right, top, bottom = 38, 4, 5, 14
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(i: int, v: float) -> str:
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = top + plot_h * (high - v) / (high - low)
        return f"{x:.1f},{y:.1f}"
    lines = []
    for key, values in series.items():
        points = [xy(i, values[i]) for i in thin(len(values)) if values[i] is not None]
        if len(points) == 1:
            points.append(points[0])
        if points:
            lines.append(f'<polyline fill="none" stroke="{COLOURS[key]}" stroke-width="1.5" '
                         f'points="{" ".join(points)}"><title>{key} loss</title></polyline>')
    axis = (f'<path d="M{left},{top}V{top + plot_h}H{left + plot_w}" stroke="#999" fill="none"/>'
            f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{_fmt(high)}</text>'
            f'<text x="{left - 3}" y="{top + plot_h}" text-anchor="end">{_fmt(low)}</text>'
            f'<text x="{left + plot_w}" y="{height - 2}" text-anchor="end">{n} epoch{"s" if n != 1 else ""}</text>')
    return (f'<svg class="curve" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="style and content loss per epoch, log scale" font-size="9" '
            f'font-family="sans-serif" fill="#555">{axis}{"".join(lines)}</svg>')
