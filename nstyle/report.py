"""The batch report: ``index.html`` (inputs and result side by side, opens from disk) and ``sheet.png``."""
from __future__ import annotations

import html
import os
import urllib.parse
from typing import Dict, List

import numpy as np
from PIL import Image, ImageDraw

from .atomic import atomic_path
from .errors import NStyleError

TILE = 200  # pixels per contact-sheet tile
CAPTION = 28


def _rel(path: str, folder: str) -> str:
    """``path`` as a URL relative to ``folder``, percent-encoded: a file named ``javascript:...`` or ``a#1.jpg``
    stays a plain file link."""
    return urllib.parse.quote(os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/"))


def _paths(value) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


def html_page(folder: str, records: List[dict]) -> str:
    """The report page: one row per run, images referenced by paths relative to ``folder``."""
    rows = []
    for r in records:
        def img(path: str) -> str:
            return f'<a href="{html.escape(_rel(path, folder))}"><img src="{html.escape(_rel(path, folder))}"></a>'
        styles = "".join(img(p) for p in _paths(r.get("style")))
        done = r.get("status") == "done" and os.path.exists(r.get("output", ""))
        result = img(r["output"]) if done else f'<div class="failed">{html.escape(r.get("status", "?"))}</div>'
        facts = (f"style loss {r.get('style_loss', float('nan')):.4g}<br>content loss "
                 f"{r.get('content_loss', float('nan')):.4g}<br>{r.get('epochs', 0)} epochs, "
                 f"{r.get('seconds', 0):.1f} s") if done else html.escape(r.get("reason", ""))
        rows.append(f"<tr><td>{img(r['content'])}</td><td>{styles}</td><td>{result}</td>"
                    f"<td><b>{html.escape(r['name'])}</b><br>{facts}</td></tr>")
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>nstyle batch</title><style>"
            "body{font-family:sans-serif;margin:1em}td{vertical-align:top;padding:4px}"
            "img{max-width:240px;max-height:240px;margin-right:4px}.failed{color:#b00;font-weight:bold}"
            "</style></head><body><h1>nstyle batch</h1><table><tr><th>content</th><th>style</th><th>result</th>"
            "<th>run</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n")


def contact_sheet(records: List[dict]) -> Image.Image:
    """All results as captioned tiles, in run order; failed runs as grey tiles."""
    cols = max(1, min(4, len(records)))
    rows = (len(records) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * TILE, rows * (TILE + CAPTION)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(records):
        x, y = (i % cols) * TILE, (i // cols) * (TILE + CAPTION)
        tile = Image.new("RGB", (TILE, TILE), (200, 200, 200))
        if r.get("status") == "done" and os.path.exists(r.get("output", "")):
            try:
                with Image.open(r["output"]) as im:
                    scale = min(TILE / im.width, TILE / im.height)
                    im = im.convert("RGB").resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))),
                                                  Image.LANCZOS)
                    tile.paste(im, ((TILE - im.width) // 2, (TILE - im.height) // 2))
            except OSError:
                pass
        else:
            ImageDraw.Draw(tile).text((10, TILE // 2), r.get("status", "?"), fill=(150, 0, 0))
        sheet.paste(tile, (x, y))
        draw.text((x + 4, y + TILE + 6), r["name"][:32], fill=(0, 0, 0))
    return sheet


def write(folder: str, records: Dict[str, dict], names: List[str]) -> None:
    """Write ``index.html`` and ``sheet.png`` for the runs ``names`` (latest records) into ``folder``."""
    chosen = [records[n] for n in names if n in records]
    try:
        with atomic_path(os.path.join(folder, "index.html")) as tmp, open(tmp, "w") as f:
            f.write(html_page(folder, chosen))
        sheet = contact_sheet(chosen) if chosen else Image.fromarray(np.full((TILE, TILE, 3), 255, np.uint8))
        with atomic_path(os.path.join(folder, "sheet.png")) as tmp:
            sheet.save(tmp, format="PNG")
    except OSError as exc:
        raise NStyleError(f"cannot write the report in {folder}: {exc}") from None
