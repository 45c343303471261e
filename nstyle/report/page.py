"""The batch report: ``index.html`` (contents x styles grid, results first; opens from disk) and ``sheet.png``."""
from __future__ import annotations

import html
import math
import os
from typing import Dict, List, Optional, Sequence, Union
from urllib.parse import quote

from ..errors import NStyleError
from ..files.atomic import atomic_path
from ..process.runtime import machine_lines
from .grid import BAD, Grid, Run, arrange, differences, is_clip
from .sheet import contact_sheet
from .svg import COLOURS, loss_curve
from .thumbs import INPUT_EDGE, RESULT_EDGE, thumbnail


def href(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` as an escaped URL (spaces, ``#``, ``%`` and ``<`` survive)."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")
    return html.escape(quote(rel, safe="/"))


def _text(value: object) -> str:
    return html.escape(str(value))


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def summary_line(grid: Grid, machine: List[str]) -> str:
    """``N runs: a done · b skipped · c failed — T s of running — machine``, as HTML."""
    counts = grid.counts()
    shown = [f'<span class="{"bad" if n and state in BAD else state.replace(" ", "-")}">{n} {state}</span>'
             for state, n in counts.items() if n or state in ("done", "skipped", "failed")]
    seconds = sum(float(r.record.get("seconds") or 0) for r in grid.runs)
    return (f'<p class="summary"><b>{len(grid.runs)} run{"s" if len(grid.runs) != 1 else ""}:</b> '
            f'{" · ".join(shown)} — {seconds:.1f} s of running — <span class="machine">'
            f'{"<br>".join(_text(line) for line in machine)}</span></p>')


def run_machine(grid: Grid) -> List[str]:
    """The machine lines the runs recorded (each distinct one once), or this machine's when none did."""
    seen: Dict[str, None] = {}
    for run in grid.runs:
        lines = run.record.get("machine")
        if lines:
            seen[" · ".join(lines) if isinstance(lines, list) else str(lines)] = None
    return list(seen) or [" · ".join(machine_lines())]


def _thumb(folder: str, source: str, edge: int, alt: str, make: bool = True) -> str:
    """``<img>`` of ``source``'s thumbnail (with its size, so the layout never jumps), or a note if unreadable."""
    found = thumbnail(folder, source, edge, make)
    if not found:
        return f'<span class="nofile">cannot read {_text(os.path.basename(source))}</span>'
    path, w, h = found
    return (f'<img src="{href(path, folder)}" width="{w}" height="{h}" alt="{_text(alt)}" loading="lazy" '
            f'decoding="async">')


def input_cell(folder: str, items: List[str], tag: str, scope: str, make: bool = True) -> str:
    """A content's row header or a style's column header: its picture(s), linked to the full file, and name."""
    pictures = "".join(f'<a class="clip" href="{href(p, folder)}">&#9654; video</a>' if is_clip(p) and
                       os.path.isfile(p) else
                       f'<a href="{href(p, folder)}">{_thumb(folder, p, INPUT_EDGE, _stem(p), make)}</a>'
                       if os.path.isfile(p) else _thumb(folder, p, INPUT_EDGE, _stem(p), make) for p in items)
    names = " + ".join(_text(os.path.basename(p)) for p in items)
    return f'<th class="{tag}" scope="{scope}">{pictures}<div class="label">{names}</div></th>'


def _number(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def run_block(folder: str, run: Run, content: List[str], note: str = "", make: bool = True) -> str:
    """One run in its cell: the result (linked to full size beside its content) or why there is none."""
    r = run.record
    name = _text(run.name)
    facts = [f'<span class="name">{name}</span>']
    if r.get("status"):
        facts.append(f'{int(r.get("epochs") or 0)} epochs · {float(r.get("seconds") or 0):.1f} s')
    if run.state in ("done", "skipped"):
        facts.append(f'style {_number(r.get("style_loss"))} · content {_number(r.get("content_loss"))}')
    if note:
        facts.append(f'<span class="setting">{_text(note)}</span>')
    picture = ""
    if run.has_image:
        full = r["output"]
        beside = href(content[0], folder) if content and os.path.isfile(content[0]) else ""
        thumb = _thumb(folder, run.picture, RESULT_EDGE, "result " + run.name, make)
        picture = (f'<a class="video" href="{href(full, folder)}" title="{name}: the video">{thumb}</a>'
                   if is_clip(full) else
                   f'<a class="result" href="{href(full, folder)}" data-content="{beside}" data-name="{name}" '
                   f'title="{name}: full size beside its content">{thumb}</a>')
    why = ""
    if run.state != "done":
        why = f'<p class="why"><b>{_text(run.state)}</b>{": " + _text(run.reason) if run.reason else ""}</p>'
    return (f'<div class="run {_text(run.state.replace(" ", "-"))}" data-run="{name}">{picture}{why}'
            f'<div class="facts">{"<br>".join(facts)}</div>{loss_curve(r.get("history"))}</div>')


#: Seconds between reloads of the report while its batch runs.
REFRESH_SECONDS = 5

STYLE = """
body{font:14px/1.35 system-ui,sans-serif;margin:0 1em 1em;color:#222;background:#fff}
h1{font-size:1.15em;margin:.6em 0 .2em}
.summary{margin:.2em 0 .6em}.summary .bad{color:#b00020;font-weight:bold}
.machine{color:#666;font-size:.85em}
.legend{font-size:.8em;color:#555;margin:0 0 .6em}
table.grid{border-collapse:collapse}
.grid th,.grid td{vertical-align:top;padding:6px;border-bottom:1px solid #e4e4e4;text-align:left}
.grid thead th{position:sticky;top:0;background:#fff;z-index:1;border-bottom:1px solid #bbb}
.grid th.content{max-width:124px}
.nofile{font-size:.8em;font-weight:normal;color:#8a0010}
.grid th img{max-width:112px;max-height:112px;width:auto;height:auto;display:inline-block;margin-right:2px}
.label{font-weight:normal;font-size:.8em;color:#333;max-width:var(--cell);overflow-wrap:anywhere}
.run{display:inline-block;vertical-align:top;width:var(--cell);margin:0 8px 8px 0}
.run img{display:block;width:100%;height:auto;background:#eee}
.facts{font-size:.75em;color:#444;overflow-wrap:anywhere;margin-top:2px}
.facts .name{color:#000}
.why{margin:0;padding:8px;font-size:.8em;background:#fdecec;color:#8a0010;overflow-wrap:anywhere}
.run.failed .why,.run.missing .why,.run.not-run .why{min-height:6em}
.run.skipped .why{background:#eef3fb;color:#234}
.run.not-run .why,.run.waiting .why{background:#f0f0f0;color:#555}
.run.running .why{background:#eef3fb;color:#1d4ed8}
.curve{display:block;width:100%;height:auto}
#viewer{position:fixed;inset:0;background:rgba(0,0,0,.88);color:#eee;display:flex;flex-direction:column;
align-items:center;justify-content:center;z-index:9;cursor:zoom-out}
#viewer[hidden],#viewer [hidden]{display:none}
#viewer .pair{display:flex;gap:1em;align-items:flex-start}
#viewer figure{margin:0}#viewer img{width:46vw;max-height:86vh;object-fit:contain;display:block;background:#111}
#viewer a{color:#9cf}
"""

VIEWER = """<div id="viewer" hidden><div class="pair"><figure><img class="v-content" alt="content">
<figcaption>content</figcaption></figure><figure><img class="v-result" alt="result"><figcaption>
<a class="v-link">result</a> (click anywhere or press Esc to close)</figcaption></figure></div></div>
<script>
(function () {
  var viewer = document.getElementById('viewer');
  document.addEventListener('click', function (e) {
    var link = e.target.closest('a.result');
    if (link && !(e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || e.button)) {
      e.preventDefault();
      viewer.querySelector('.v-content').src = link.dataset.content;
      viewer.querySelector('figure').hidden = !link.dataset.content;
      viewer.querySelector('.v-result').src = link.getAttribute('href');
      viewer.querySelector('.v-link').href = link.getAttribute('href');
      viewer.querySelector('.v-link').textContent = link.dataset.name;
      viewer.hidden = false;
    } else if (!viewer.hidden && !e.target.closest('#viewer a')) {
      viewer.hidden = true;
    }
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') viewer.hidden = true; });
})();
</script>"""


def html_page(folder: str, grid: Grid, running: bool = False) -> str:
    """The report page for ``grid``; every file is referenced relative to ``folder`` (where the page goes).
    ``running``: the batch is still going, so the page reloads itself every :data:`REFRESH_SECONDS` and shows
    existing thumbnails or the pictures themselves (it writes none)."""
    columns = sum(grid.width(j) for j in range(len(grid.styles))) or 1
    make = not running  # while the batch runs, no thumbnails are written: the runs' disk space comes first
    head = "".join(input_cell(folder, style, "style", "col", make) for style in grid.styles)
    rows = []
    for i, content in enumerate(grid.contents):
        cells = []
        for j in range(len(grid.styles)):
            runs = grid.cells.get((i, j), [])
            notes = differences(runs) if len(runs) > 1 else [""] * len(runs)
            cells.append("<td>" + "".join(run_block(folder, run, content, note, make)
                                          for run, note in zip(runs, notes)) + "</td>")
        rows.append(f'<tr>{input_cell(folder, content, "content", "row", make)}{"".join(cells)}</tr>')
    legend = " and ".join(f'<span style="color:{c}">{k}</span>' for k, c in COLOURS.items())
    cell = f"clamp(140px, calc((100vw - 200px) / {columns} - 16px), 300px)"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            + (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if running else "") +
            f'<title>nstyle batch: {len(grid.runs)} runs</title><style>:root{{--cell:{cell}}}{STYLE}</style>'
            f'</head><body>\n<h1>nstyle batch</h1>\n{summary_line(grid, run_machine(grid))}\n'
            f'<p class="legend">Rows: contents; columns: styles. Click a result to see it full size beside its '
            f'content. Curves: {legend} loss per epoch, log scale.</p>\n'
            f'<table class="grid"><thead><tr><th class="corner"></th>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + f"\n</tbody></table>\n{VIEWER}\n</body></html>\n")


def write(folder: str, records: Dict[str, dict], planned: Sequence[Union[dict, str]] = (),
          this_time: Optional[Dict[str, str]] = None, running: bool = False) -> None:
    """Write ``index.html``, ``sheet.png`` and the thumbnails they show into ``folder``.

    ``records``: the latest ``runs.jsonl`` record per run name; ``planned``: this batch's runs in order (dicts with
    ``name``, ``content``, ``style``, ``output``, or just names); ``this_time``: this invocation's outcome per name
    (``running`` and ``waiting`` while it goes on). ``running``: the batch is not over: the page reloads itself and
    ``sheet.png`` waits for the end.
    """
    grid = arrange(records, planned, this_time)
    try:
        page = html_page(folder, grid, running)
        with atomic_path(os.path.join(folder, "index.html")) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
        if running:
            return
        sheet = contact_sheet(folder, grid)
        with atomic_path(os.path.join(folder, "sheet.png")) as tmp:
            sheet.save(tmp, format="PNG")
    except OSError as exc:
        raise NStyleError(f"cannot write the report in {folder}: {exc}") from None
