"""``sheet.png``: the report's grid as one picture (styles across the top, contents down the side)."""
from __future__ import annotations

import os
from typing import List

from PIL import Image, ImageDraw, ImageFont

from .grid import Grid, Run, is_clip
from .thumbs import INPUT_EDGE, RESULT_EDGE, thumbnail

TILE = 192  # pixels per result (the square it is fitted into)
INPUT_TILE = 128  # pixels per content or style picture
CAPTION = 18  # pixels of label under each picture
GAP = 6
BACKGROUND = (255, 255, 255)
EMPTY = (232, 232, 232)
TROUBLE = (250, 228, 228)


def _font(size: int = 11) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def _stems(items: List[str]) -> str:
    return " + ".join(os.path.splitext(os.path.basename(p))[0] for p in items)


class _Canvas:
    """The sheet being drawn, with one helper per kind of tile."""

    def __init__(self, width: int, height: int, folder: str) -> None:
        self.image = Image.new("RGB", (width, height), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        self.font = _font()
        self.folder = folder

    def picture(self, x: int, y: int, sources: List[str], edge: int, size: int = TILE, fill=EMPTY) -> bool:
        """``sources`` side by side, fitted into the ``size`` square at (x, y) on ``fill``.

        False when there is no source or one is unreadable.
        """
        self.draw.rectangle([x, y, x + size - 1, y + size - 1], fill=fill)
        share = size // max(1, len(sources))
        found = [thumbnail(self.folder, source, edge) for source in sources]
        for k, thumb in enumerate(t for t in found if t):
            with Image.open(thumb[0]) as im:
                scale = min(share / im.width, size / im.height)
                im = im.convert("RGB").resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                                              Image.LANCZOS)
                self.image.paste(im, (x + k * share + (share - im.width) // 2, y + (size - im.height) // 2))
        return bool(sources) and all(found)

    def caption(self, x: int, y: int, text: str, width: int = TILE, colour=(0, 0, 0)) -> None:
        """One line of text at (x, y), cut to ``width`` pixels."""
        self.draw.text((x + 2, y + 3), self.fit(text, width - 4), fill=colour, font=self.font)

    def fit(self, text: str, width: int) -> str:
        """``text`` cut (with an ellipsis) to ``width`` pixels."""
        if self.draw.textlength(text, font=self.font) <= width:
            return text
        while text and self.draw.textlength(text + "…", font=self.font) > width:
            text = text[:-1]
        return text + "…"

    def notice(self, x: int, y: int, run: Run) -> None:
        """A run without a picture: its state and its reason, wrapped to the tile (as much as fits)."""
        lines, line = [run.state.upper()], ""
        for word in run.reason.split():
            if line and self.draw.textlength(f"{line} {word}", font=self.font) > TILE - 12:
                lines.append(line)
                line = ""
            line = f"{line} {word}".strip()
        lines = [self.fit(t, TILE - 12) for t in lines + [line] if t][:TILE // 15]
        self.draw.multiline_text((x + 6, y + 6), "\n".join(lines), fill=(140, 0, 0), font=self.font, spacing=3)


def contact_sheet(folder: str, grid: Grid) -> Image.Image:
    """The whole grid: a header row of styles, then per content its picture and its runs' results."""
    widths = [grid.width(j) for j in range(len(grid.styles))]
    top = GAP + INPUT_TILE + CAPTION + GAP
    step = TILE + CAPTION + GAP
    lefts, x = [], GAP + INPUT_TILE + 2 * GAP
    for w in widths:
        lefts.append(x)
        x += w * (TILE + GAP) + GAP
    canvas = _Canvas(x, top + len(grid.contents) * step, folder)
    for j, style in enumerate(grid.styles):
        canvas.picture(lefts[j], GAP, style, INPUT_EDGE, INPUT_TILE)
        canvas.caption(lefts[j], GAP + INPUT_TILE, _stems(style), widths[j] * (TILE + GAP))
    for i, content in enumerate(grid.contents):
        y = top + i * step
        if not canvas.picture(GAP, y, content, INPUT_EDGE, INPUT_TILE):
            clip = all(is_clip(p) for p in content)
            canvas.caption(GAP + 4, y + 4, "video clip" if clip else "cannot read it", INPUT_TILE - 8,
                           colour=(0, 0, 0) if clip else (140, 0, 0))
        canvas.caption(GAP, y + INPUT_TILE, _stems(content), INPUT_TILE + GAP)
        for j in range(len(grid.styles)):
            for k, run in enumerate(grid.cells.get((i, j), [])):
                x = lefts[j] + k * (TILE + GAP)
                good = run.state in ("done", "skipped")
                if not (run.has_image and canvas.picture(x, y, [run.picture], RESULT_EDGE)):
                    canvas.picture(x, y, [], RESULT_EDGE, fill=TROUBLE)
                    canvas.notice(x, y, run)
                canvas.caption(x, y + TILE, run.name if good else f"{run.state}: {run.name}",
                               colour=(0, 0, 0) if good else (140, 0, 0))
    return canvas.image
