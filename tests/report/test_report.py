"""Issue 15: the batch report (contents x styles grid, reasons, loss curves, thumbnails, sheet) and a real browser."""
from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Dict, List, Optional
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

import fake_batch
from helpers import CHROMIUM_FLAGS, WINDOW, log_records
from nstyle import batch
from nstyle import cli
from nstyle.process import runtime
from nstyle.report import page as report, sheet as report_sheet, svg as report_svg, thumbs as report_thumbs
from nstyle.report.grid import arrange

ODD = "o'k <u>&#1 50%"  # a content name that needs escaping in HTML and quoting in URLs


# ---------------------------------------------------------------- a small real parser: well-formed tree or failure

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    """An element with its attributes and children (nodes and text)."""

    def __init__(self, tag: str, attrs: Dict[str, Optional[str]]) -> None:
        self.tag, self.attrs, self.children = tag, attrs, []  # type: ignore[var-annotated]

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> List[str]:
        return (self.attrs.get("class") or "").split()

    def all(self, tag: Optional[str] = None, cls: Optional[str] = None) -> List["Node"]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())]


class TreeBuilder(HTMLParser):
    """html.parser events -> a tree; every end tag must close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack: List[Node] = [self.root]
        self.errors: List[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag):
        if self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}> at {self.getpos()}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.errors == [] and len(builder.stack) == 1, (builder.errors, [n.tag for n in builder.stack])
    return builder.root


def label(th: Node) -> str:
    """The file name(s) under a content's or style's picture."""
    return th.all("div", "label")[0].text()


def links(root: Node) -> List[str]:
    """Every file the page points at: src, href and data-content values (fragments and empty values left out)."""
    found = []
    for node in root.iter():
        for key in ("src", "href", "data-content"):
            value = node.attrs.get(key)
            if value and not value.startswith("#"):
                found.append(value)
    return found


# ---------------------------------------------------------------- a real small batch (3 contents x 2 styles)

def _stripes(path) -> str:
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([(np.sin(x / 3.0) > 0) * 220, (np.sin(y / 4.0) > 0) * 180, np.full_like(x, 90)], -1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def real_batch(tmp_path_factory, weights_file, images):
    """``nstyle batch`` on astronaut, a cat with an odd name and a broken file x coffee and stripes, 48 px.

    Started from the content (results look like their photo) and run for all 4 epochs (a full curve).
    """
    root = tmp_path_factory.mktemp("batch")
    (root / "photos").mkdir()
    (root / "styles").mkdir()
    shutil.copy(images["content"], root / "photos" / "astronaut.jpg")
    shutil.copy(images["cat"], root / "photos" / f"{ODD}.jpg")
    (root / "photos" / "broken.jpg").write_text("not an image")
    shutil.copy(images["style"], root / "styles" / "coffee.jpg")
    _stripes(root / "styles" / "stripes.png")
    status = cli.main(["batch", "--content-image", str(root / "photos"), "--style-image", str(root / "styles"),
                       "--output-dir", str(root / "out"), "--weights", weights_file, "--max-long-edge", "48",
                       "--max-num-epochs", "4", "--init", "content", "--stop-eps", "0", "--quiet"])
    assert status == 1  # the broken photo's two runs fail, the other four are done
    out = root / "out"
    page = (out / "index.html").read_text(encoding="utf-8")
    return {"root": root, "out": out, "page": page, "tree": parse(page),
            "records": log_records(out)}


def test_page_parses_and_every_link_points_to_a_file(real_batch):
    found = links(real_batch["tree"])
    assert len(found) >= 6 + 2 * 3 + 2 * 2  # results (link + thumbnail + content) and the inputs' headers
    for value in found:
        assert "://" not in value and not value.startswith("/")  # relative: the page works from disk, offline
        assert os.path.isfile(real_batch["out"] / unquote(value)), value
    pictures = [n.attrs["src"] for n in real_batch["tree"].all("img") if n.attrs.get("src")]
    assert pictures and all(p.startswith(report_thumbs.FOLDER + "/") for p in pictures)  # light: thumbnails only


def test_every_run_appears_once_in_its_row_and_column(real_batch):
    tree, records = real_batch["tree"], real_batch["records"]
    blocks = tree.all("div", "run")
    assert sorted(b.attrs["data-run"] for b in blocks) == sorted(r["name"] for r in records)
    styles = [label(th) for th in tree.all("th", "style")]
    assert styles == ["coffee.jpg", "stripes.png"]
    rows = [tr for tr in tree.all("tr") if tr.all("th", "content")]
    assert [label(tr.all("th", "content")[0]) for tr in rows] == ["astronaut.jpg", "broken.jpg",
                                                                          f"{ODD}.jpg"]
    for r in records:
        i = [label(tr.all("th", "content")[0]) for tr in rows].index(os.path.basename(r["content"]))
        j = styles.index(os.path.basename(r["style"]))
        cell = rows[i].all("td")[j]
        assert [b.attrs["data-run"] for b in cell.all("div", "run")] == [r["name"]]
        if r["status"] == "done":
            link = cell.all("a", "result")[0]
            assert unquote(link.attrs["href"]) == os.path.relpath(r["output"], real_batch["out"])
            assert unquote(link.attrs["data-content"]) == os.path.relpath(r["content"], real_batch["out"])


def test_failed_runs_show_their_reason(real_batch):
    failed = [r for r in real_batch["records"] if r["status"] == "failed"]
    assert len(failed) == 2
    blocks = {b.attrs["data-run"]: b for b in real_batch["tree"].all("div", "run")}
    for r in failed:
        why = blocks[r["name"]].all("p", "why")[0].text()
        assert why == f"failed: {r['reason']}" and "not an image" in why
        assert not blocks[r["name"]].all("img")


def test_names_are_escaped(real_batch):
    page, tree = real_batch["page"], real_batch["tree"]
    assert "<u>" not in page and ODD not in page  # only in escaped form
    names = [n.text() for n in tree.all("span", "name")]
    assert f"{ODD}__coffee" in names and f"{ODD}__stripes" in names
    assert any(ODD in b.attrs["data-run"] for b in tree.all("div", "run"))


def test_summary_line_counts_states_time_and_machine(real_batch):
    summary = real_batch["tree"].all("p", "summary")[0].text()
    seconds = sum(r["seconds"] for r in real_batch["records"])
    assert summary.startswith("6 runs: 4 done · 0 skipped · 2 failed")
    assert f"{seconds:.1f} s of running" in summary
    assert " · ".join(real_batch["records"][0]["machine"]) in summary
    assert real_batch["records"][0]["machine"] == runtime.machine_lines()


def test_curves_come_from_the_recorded_history(real_batch):
    blocks = {b.attrs["data-run"]: b for b in real_batch["tree"].all("div", "run")}
    for r in real_batch["records"]:
        curves = blocks[r["name"]].all("svg", "curve")
        if r["status"] == "done":
            assert len(r["history"]["style"]) == len(r["history"]["content"]) == 4
            lines = curves[0].all("polyline")
            # one point per positive loss: from the content image the first content loss is exactly 0 (the
            # target and the first evaluation run the same forward), and a log axis leaves it out
            want = [sum(v > 0 for v in r["history"][key]) for key in ("style", "content")]
            assert [len(line.attrs["points"].split()) for line in lines] == want and want[0] == 4 and want[1] >= 3
        else:
            assert curves == []  # failed before the first epoch: nothing to draw


def test_sheet_is_the_same_grid(real_batch):
    sheet = np.asarray(Image.open(real_batch["out"] / "sheet.png").convert("RGB")).astype(float)
    grid = arrange(batch.read_log(str(real_batch["out"] / "runs.jsonl")))
    S = report_sheet
    top, step = S.GAP + S.INPUT_TILE + S.CAPTION + S.GAP, S.TILE + S.CAPTION + S.GAP
    left0 = S.GAP + S.INPUT_TILE + 2 * S.GAP
    assert sheet.shape == (top + 3 * step, left0 + 2 * (S.TILE + 2 * S.GAP), 3)
    for (i, j), (run,) in grid.cells.items():
        x, y = left0 + j * (S.TILE + 2 * S.GAP), top + i * step
        tile = sheet[y:y + S.TILE, x:x + S.TILE]
        if run.state == "failed":
            assert np.abs(np.median(tile.reshape(-1, 3), 0) - S.TROUBLE).max() < 1  # the reason on red
            continue
        with Image.open(run.record["output"]) as im:  # 48x32 result fitted (scaled up) into the 192 tile
            expect = np.asarray(im.convert("RGB").resize((S.TILE, S.TILE * im.height // im.width)), float)
        pad = (S.TILE - expect.shape[0]) // 2
        assert np.abs(tile[pad + 8:pad + expect.shape[0] - 8, 8:-8] - expect[8:-8, 8:-8]).mean() < 12


def test_resumed_batch_reports_every_run_with_its_curve(tmp_path, weights_file, images):
    args = ["batch", "--content-image", images["content"], images["cat"], "--style-image", images["style"],
            "--output-dir", str(tmp_path / "out"), "--weights", weights_file, "--max-long-edge", "32",
            "--max-num-epochs", "3", "--quiet"]
    assert cli.main(args) == 0
    assert cli.main(args) == 0  # nothing runs again: both are skipped
    tree = parse((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    blocks = tree.all("div", "run")
    assert [b.attrs["data-run"] for b in blocks] == ["content__style", "cat__style"]
    for b in blocks:
        assert "skipped" in b.classes() and b.all("p", "why")[0].text() == "skipped: already done with these settings"
        assert len(b.all("polyline")[0].attrs["points"].split()) == 3 and b.all("a", "result")
    assert tree.all("p", "summary")[0].text().startswith("2 runs: 0 done · 2 skipped · 0 failed")


# ---------------------------------------------------------------- report.write on made-up records

def test_every_state_gets_a_cell(tmp_path):
    records = fake_batch.make(str(tmp_path), 2, 2, epochs=5, failed=(1,))
    by_name = {r["name"]: r for r in records}
    by_name["photo00__style0"].update(config={"seed": 0, "style_weight": 1.0})
    twin = dict(by_name["photo00__style0"], name="photo00__style0-b", config={"seed": 0, "style_weight": 5.0},
                output=str(tmp_path / "twin.jpg"))  # a manifest row with the same pair and other settings
    fake_batch.picture(twin["output"], (40, 30), 7)
    os.remove(by_name["photo01__style0"]["output"])  # done before, file deleted since
    by_name["photo01__style1"].update(status="interrupted", reason="SIGINT at epoch 2: saved the image so far")
    planned = [{k: r[k] for k in ("name", "content", "style", "output")} for r in records]
    planned.append(dict(planned[0], name="photo00__style2", style=str(tmp_path / "in" / "style9.jpg")))
    latest = dict(by_name, **{twin["name"]: twin})
    report.write(str(tmp_path), latest, planned, {"photo00__style0": "skipped"})
    tree = parse((tmp_path / "index.html").read_text(encoding="utf-8"))
    states = {b.attrs["data-run"]: b.classes()[1] for b in tree.all("div", "run")}
    assert states == {"photo00__style0": "skipped", "photo00__style0-b": "done", "photo00__style1": "failed",
                      "photo01__style0": "missing", "photo01__style1": "interrupted", "photo00__style2": "not-run"}
    notes = [n.text() for n in tree.all("span", "setting")]
    assert notes == ["style_weight=1.0", "style_weight=5.0"]  # two runs of one pair: what tells them apart
    assert [label(th) for th in tree.all("th", "style")] == ["style0.jpg", "style1.jpg", "style9.jpg"]
    summary = tree.all("p", "summary")[0].text()
    assert summary.startswith("6 runs: 1 done · 1 skipped · 1 failed · 1 interrupted · 1 missing · 1 not run")
    for value in links(tree):
        assert os.path.isfile(tmp_path / unquote(value)), value


def test_plain_run_names_give_the_order(tmp_path):
    records = {r["name"]: r for r in fake_batch.make(str(tmp_path), 2, 1, epochs=3)}
    report.write(str(tmp_path), records, ["photo01__style0", "photo00__style0", "never-recorded"])
    tree = parse((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert [b.attrs["data-run"] for b in tree.all("div", "run")] == ["photo01__style0", "photo00__style0"]
    assert [label(th) for th in tree.all("th", "content")] == ["photo01.jpg", "photo00.jpg"]


def test_loss_curve_is_log_scaled():
    svg = report_svg.loss_curve({"style": [1000.0, 100.0, 10.0], "content": [10.0, 10.0, float("nan")]})
    tree = parse(svg)
    style, content = [[tuple(map(float, p.split(","))) for p in line.attrs["points"].split()]
                      for line in tree.all("polyline")]
    ys = [y for _, y in style]
    assert ys[0] < ys[1] < ys[2] and math.isclose(ys[1] - ys[0], ys[2] - ys[1], abs_tol=0.11)  # equal decades
    assert content == [(style[0][0], ys[2]), (style[1][0], ys[2])]  # 10 at the bottom; NaN left out
    labels = [t.text() for t in tree.all("text")]
    assert labels == ["1e3", "10", "3 epochs"]
    many = report_svg.loss_curve(fake_batch.history(5000, 0))
    counts = [len(line.attrs["points"].split()) for line in parse(many).all("polyline")]
    assert counts == [report_svg.MAX_POINTS] * 2
    assert report_svg.loss_curve({"style": [], "content": []}) == ""


def test_thumbnails_are_small_and_remade_only_when_the_image_changes(tmp_path):
    source = fake_batch.picture(str(tmp_path / "big.jpg"), (1200, 800), 1)
    path, w, h = report_thumbs.thumbnail(str(tmp_path), source, report_thumbs.RESULT_EDGE)
    assert (w, h) == (320, 213) and Image.open(path).size == (w, h) and Image.open(path).format == "JPEG"
    stamp = os.stat(path).st_mtime_ns
    assert report_thumbs.thumbnail(str(tmp_path), source, report_thumbs.RESULT_EDGE)[0] == path
    assert os.stat(path).st_mtime_ns == stamp
    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))  # the result was remade
    fake_batch.picture(source, (600, 900), 2)
    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))
    assert report_thumbs.thumbnail(str(tmp_path), source, report_thumbs.RESULT_EDGE)[1:] == (213, 320)
    assert report_thumbs.thumbnail(str(tmp_path), str(tmp_path / "gone.jpg"), 100) is None


def test_a_hundred_runs_stay_light(tmp_path):
    fake_batch.make(str(tmp_path), 20, 5, epochs=500, result_size=(600, 400), failed=(7, 42))
    report.write(str(tmp_path), batch.read_log(str(tmp_path / "runs.jsonl")))
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    tree = parse(page)
    assert len(tree.all("div", "run")) == 100 and len(tree.all("svg", "curve")) == 98
    sources = [n.attrs["src"] for n in tree.all("img") if n.attrs.get("src")]
    sizes = [os.path.getsize(tmp_path / unquote(s)) for s in sources]
    assert len(sources) == 98 + 20 + 5
    assert len(page.encode()) < 400_000  # measured: 282 kB, most of it the 98 curves (80 points a line)
    assert max(sizes) < 40_000 and sum(sizes) < 2_500_000  # measured: 2.5-10 kB each, 0.87 MB in all


# ---------------------------------------------------------------- a real browser: Debian's chromium, headless


PROBE = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    function box(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }
    function all(q) { return Array.from(document.querySelectorAll(q)); }
    var out = {styles: all('thead th.style').map(box), contents: all('tbody th.content').map(box),
      inputs: all('th img').map(box),
      runs: all('.run').map(function (el) {
        var img = el.querySelector('a.result img');
        return {name: el.dataset.run, box: box(el), img: img ? box(img) : null}; }),
      unloaded: all('img').filter(function (i) {
        return i.getAttribute('src') && !(i.complete && i.naturalWidth > 0); }).map(function (i) { return i.src; })};
    document.querySelector('a.result').click();
    var v = document.getElementById('viewer');
    out.viewer = {hidden: v.hidden, content: v.querySelector('.v-content').getAttribute('src'),
                  result: v.querySelector('.v-result').getAttribute('src')};
    var pre = document.createElement('pre');
    pre.id = 'probe';
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }, 100);
});
</script>"""


def chromium(exe: str, profile, url: str, *args: str) -> str:
    """Run headless chromium on ``url`` with a fresh profile; its stdout."""
    profile.mkdir()
    done = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                           *args, url], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def layout(browser: str, out, tmp) -> dict:
    """The report's boxes as Chromium lays them out, from a copy of the page with PROBE added, via --dump-dom."""
    page = (out / "index.html").read_text(encoding="utf-8")
    (out / "probe.html").write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        dom = chromium(browser, tmp / "profile-probe", (out / "probe.html").as_uri(), "--virtual-time-budget=5000",
                       "--dump-dom")
    finally:
        os.remove(out / "probe.html")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


def test_report_in_headless_chromium(browser, real_batch, tmp_path):
    out = real_batch["out"]
    shot = tmp_path / "report.png"
    chromium(browser, tmp_path / "profile-shot", (out / "index.html").as_uri(), f"--screenshot={shot}")
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert pixels.shape == (WINDOW[1], WINDOW[0], 3)
    assert pixels.std() > 30 and (pixels.min(-1) < 200).mean() > 0.15  # not blank: pictures cover the page

    boxes = layout(browser, out, tmp_path)
    assert boxes["unloaded"] == []  # every picture on the first screen decoded
    grid = arrange(batch.read_log(str(out / "runs.jsonl")))
    runs = {r["name"]: r for r in boxes["runs"]}
    assert sorted(runs) == sorted(run.name for run in grid.runs)
    for (i, j), (run,) in grid.cells.items():
        x, y, w, h = runs[run.name]["box"]
        sx, sy, sw, sh = boxes["styles"][j]
        cx, cy, cw, ch = boxes["contents"][i]
        assert sx <= x and x + w <= sx + sw + 0.5  # under its style's column
        assert cy <= y and y + h <= cy + ch + 0.5  # beside its content, in that row
        assert x > cx + cw  # right of the content
    assert [s[0] for s in boxes["styles"]] == sorted(s[0] for s in boxes["styles"])
    results = [r["img"] for r in runs.values() if r["img"]]
    assert len(results) == 4
    assert min(w * h for _, _, w, h in results) > 2 * max(w * h for _, _, w, h in boxes["inputs"])  # results largest
    assert boxes["viewer"] == {"hidden": False, "content": "../photos/astronaut.jpg",
                               "result": "astronaut__coffee.jpg"}  # a click opens it beside its content

    # The first result as drawn on screen is the result picture (the screenshot shows the real thumbnails).
    first = grid.cells[(0, 0)][0]
    x, y, w, h = (int(round(v)) for v in runs[first.name]["img"])
    assert y + h <= WINDOW[1]
    drawn = Image.fromarray(pixels[y:y + h, x:x + w].astype(np.uint8)).resize((12, 8), Image.BOX)
    errors = []
    for (i, j), (run,) in sorted(grid.cells.items()):
        if run.has_image:
            with Image.open(run.record["output"]) as im:
                expect = np.asarray(im.convert("RGB").resize((12, 8), Image.BOX), float)
            errors.append(np.abs(np.asarray(drawn, float) - expect).mean())
    assert errors[0] < 10 and errors[0] * 3 < min(errors[2:])  # its own picture, not the cat's


def test_no_failure_is_not_red_and_failures_are(tmp_path):
    records = fake_batch.make(str(tmp_path), 1, 2, epochs=3)
    report.write(str(tmp_path), {r["name"]: r for r in records})
    spans = {s.text(): s.classes() for s in parse((tmp_path / "index.html").read_text()).all("span")
             if "failed" in s.text()}
    assert spans == {"0 failed": ["failed"]}  # good news, not in the "bad" red
    records[0].update(status="failed", reason="boom")
    report.write(str(tmp_path), {r["name"]: r for r in records})
    spans = {s.text(): s.classes() for s in parse((tmp_path / "index.html").read_text()).all("span")
             if "failed" in s.text()}
    assert spans == {"1 failed": ["bad"]}


def test_the_report_reloads_itself_only_while_its_batch_runs(tmp_path):
    from nstyle.batch.refresh import ReportRefresh

    records = fake_batch.make(str(tmp_path), 1, 3, epochs=3)
    planned = [{k: r[k] for k in ("name", "content", "style", "output")} for r in records]
    page = tmp_path / "index.html"
    refresh = ReportRefresh(str(tmp_path))
    refresh.plan(planned)
    assert 'http-equiv="refresh"' in page.read_text() and not (tmp_path / "sheet.png").exists()
    assert not (tmp_path / "thumbs").exists()  # while the runs go on, the report takes none of their disk
    assert all(os.path.isfile(tmp_path / unquote(v)) for v in links(parse(page.read_text())))  # the originals
    refresh.run_state(planned[0]["name"], "running")
    tree = parse(page.read_text())
    assert {b.attrs["data-run"]: b.classes()[1] for b in tree.all("div", "run")} == {
        planned[0]["name"]: "running", planned[1]["name"]: "waiting", planned[2]["name"]: "waiting"}
    assert "1 running" in tree.all("p", "summary")[0].text() and not tree.all("span", "bad")
    report.write(str(tmp_path), {r["name"]: r for r in records}, planned)  # the batch's last write
    assert 'http-equiv="refresh"' not in page.read_text() and (tmp_path / "sheet.png").is_file()
