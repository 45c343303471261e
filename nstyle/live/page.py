"""The live page: one self-contained HTML file (no CDN, no external file), updated by server-sent events."""
from __future__ import annotations

#: Curve colours: style, content and total loss (style and content as in the batch report).
COLOURS = {"style": "#c2410c", "content": "#1d4ed8", "total": "#222222"}

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 1em 1em;color:#222;background:#fff}
h1{font-size:1.15em;margin:.6em 0 .3em}h1 .status{font-weight:normal;color:#555}
.top{display:flex;flex-wrap:wrap;gap:1.2em;align-items:flex-start}
#picture{max-width:min(70vw,900px);max-height:80vh;background:#eee;display:block;min-width:200px;min-height:120px}
table.facts td{padding:1px 8px 1px 0}table.facts td:first-child{color:#666}
#curve{display:block;margin:.6em 0;background:#fafafa;border:1px solid #e4e4e4}
button{font:inherit;padding:.35em 1em;margin-right:.5em;cursor:pointer}
#stop{background:#fdecec;border:1px solid #b00020;color:#8a0010}
#note{color:#555;font-size:.9em;min-height:1.4em}
.legend span{margin-right:1em}
table.grid{border-collapse:collapse;margin-top:1em}
.grid th,.grid td{border:1px solid #e4e4e4;padding:4px;vertical-align:top;font-size:.8em;font-weight:normal}
.grid td{width:130px;height:96px}.grid img{max-width:128px;max-height:96px;display:block}
.grid td.running{outline:3px solid #1d4ed8}.grid td.failed,.grid td.interrupted{background:#fdecec;color:#8a0010}
.grid td.waiting{color:#888}
"""

SCRIPT = """
(function () {
  var token = new URLSearchParams(location.search).get('token');
  function url(path) {
    return token ? path + (path.indexOf('?') < 0 ? '?' : '&') + 'token=' + encodeURIComponent(token) : path;
  }
  var $ = function (id) { return document.getElementById(id); };
  var COLOURS = %COLOURS%;
  var losses = {style: [], content: [], total: []}, serial = -1, frame = 0, frameAt = 0;
  var loading = false, ended = false;
  function fmt(v) { return v === null || v === undefined ? '–' : Number(v).toPrecision(4); }
  function duration(s) {
    if (s === null || s === undefined) return '–';
    s = Math.round(s); var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + (s % 60) + ' s';
  }
  function text(x, y, words) { return '<text x="' + x + '" y="' + y + '" text-anchor="end">' + words + '</text>'; }
  function curve() {
    var svg = $('curve'), W = 480, H = 200, L = 54, R = 6, T = 8, B = 18, n = losses.total.length;
    var lo = Infinity, hi = -Infinity;
    Object.keys(losses).forEach(function (k) { losses[k].forEach(function (v) {
      if (v > 0 && isFinite(v)) { var e = Math.log10(v); lo = Math.min(lo, e); hi = Math.max(hi, e); } }); });
    if (!isFinite(lo)) { svg.innerHTML = ''; return; }
    if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
    var step = Math.max(1, Math.ceil(n / 400)), parts = [];
    parts.push('<path d="M' + L + ',' + T + 'V' + (H - B) + 'H' + (W - R) + '" stroke="#999" fill="none"/>');
    parts.push(text(L - 4, T + 9, Math.pow(10, hi).toPrecision(2)));
    parts.push(text(L - 4, H - B, Math.pow(10, lo).toPrecision(2)));
    parts.push(text(W - R, H - 4, n + ' epochs (log scale)'));
    Object.keys(losses).forEach(function (k) {
      var pts = [], at = [];
      for (var j = 0; j < n; j += step) at.push(j);
      if (at[at.length - 1] !== n - 1) at.push(n - 1);
      at.forEach(function (i) {
        var v = losses[k][i]; if (!(v > 0 && isFinite(v))) return;
        var x = L + (n > 1 ? (W - L - R) * i / (n - 1) : (W - L - R) / 2);
        var y = T + (H - T - B) * (hi - Math.log10(v)) / (hi - lo);
        pts.push(x.toFixed(1) + ',' + y.toFixed(1));
      });
      if (pts.length === 1) pts.push(pts[0]);
      if (pts.length) parts.push('<polyline class="' + k + '" fill="none" stroke-width="1.5" stroke="' + COLOURS[k]
        + '"' + (k === 'total' ? ' stroke-dasharray="5 3"' : '') + ' points="' + pts.join(' ') + '"/>');
    });
    svg.innerHTML = parts.join('');
  }
  function picture() {
    if (loading || !frame) return;
    loading = true;
    var img = new Image();
    img.onload = function () {
      var shown = $('picture'); shown.src = img.src; shown.dataset.frame = img.dataset.frame;
      shown.dataset.takenAt = img.dataset.takenAt; shown.dataset.shownAt = Date.now() / 1000; loading = false;
      if (Number(img.dataset.frame) !== frame) picture(); };
    img.onerror = function () { loading = false; };
    img.dataset.frame = frame; img.dataset.takenAt = frameAt;
    img.src = url('/image?frame=' + frame);
  }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function key(v) { return Array.isArray(v) ? v.join(' + ') : String(v); }
  function base(p) { return p.split('/').pop(); }
  function cell(r, i) {
    var done = r.status === 'done' || r.status === 'skipped';
    var pic = done ? '<img alt="" src="' + url('/runs/' + i + '/image?s=' + r.status) + '">' : '';
    return '<td class="' + esc(r.status) + '" data-run="' + esc(r.name) + '">' + pic + esc(r.name)
      + '<br><b>' + esc(r.status) + '</b></td>';
  }
  function grid(runs) {
    var box = $('grid'), contents = [], styles = [];
    if (!runs.length) { box.hidden = true; return; }
    box.hidden = false;
    runs.forEach(function (r) {
      if (contents.indexOf(key(r.content)) < 0) contents.push(key(r.content));
      if (styles.indexOf(key(r.style)) < 0) styles.push(key(r.style)); });
    var rows = ['<tr><th></th>' + styles.map(function (s) {
      return '<th>' + esc(s.split(' + ').map(base).join(' + ')) + '</th>'; }).join('') + '</tr>'];
    contents.forEach(function (c) {
      var cells = styles.map(function (s) {
        var found = [];
        runs.forEach(function (r, i) { if (key(r.content) === c && key(r.style) === s) found.push(cell(r, i)); });
        return found.join('') || '<td></td>';
      });
      rows.push('<tr><th>' + esc(base(c)) + '</th>' + cells.join('') + '</tr>');
    });
    var html = rows.join('');
    if (box.dataset.html !== html) { box.innerHTML = html; box.dataset.html = html; }
  }
  function show(d) {
    if (d.run_serial !== serial) { losses = {style: [], content: [], total: []}; serial = d.run_serial; }
    Object.keys(losses).forEach(function (k) { losses[k] = losses[k].slice(0, d.losses_from).concat(d.losses[k]); });
    var n = losses.total.length, stopping = d.stopping && d.status === 'running';
    $('status').textContent = d.status + (stopping ? ' (stopping after this epoch)' : '')
      + (d.current ? ': ' + d.current : '');
    $('epoch').textContent = d.epoch + (d.of ? ' of ' + d.of : '');
    $('where').textContent = d.where || '–';
    $('spe').textContent = d.seconds_per_epoch === null ? '–' : d.seconds_per_epoch.toFixed(2) + ' s';
    $('eta').textContent = d.status === 'running' ? duration(d.eta_seconds) : '–';
    $('style').textContent = fmt(n ? losses.style[n - 1] : null);
    $('content').textContent = fmt(n ? losses.content[n - 1] : null);
    $('total').textContent = fmt(n ? losses.total[n - 1] : null);
    if (d.message) $('note').textContent = d.message;
    curve();
    grid(d.runs);
    if (d.frame !== frame) { frame = d.frame; frameAt = d.frame_at; picture(); }
    if (['done', 'interrupted', 'failed'].indexOf(d.status) >= 0) {
      ended = true; source.close(); $('stop').disabled = true; $('snapshot').disabled = true;
    }
  }
  function post(path, note) {
    fetch(url(path), {method: 'POST'}).then(
      function (r) { $('note').textContent = r.ok ? note : 'refused: ' + r.status; },
      function () { $('note').textContent = 'the run is not reachable'; });
  }
  $('stop').onclick = function () {
    post('/stop', 'stopping after this epoch: the picture and the checkpoint are saved; --resume continues'); };
  $('snapshot').onclick = function () {
    post('/snapshot', 'a snapshot and the checkpoint are saved after this epoch'); };
  var source = new EventSource(url('/events'));
  source.onmessage = function (e) { show(JSON.parse(e.data)); };
  source.onerror = function () { if (!ended) $('note').textContent = 'reconnecting…'; };
  source.onopen = function () { if (!ended) $('note').textContent = ''; };
})();
"""


def page() -> str:
    """The whole page."""
    import json

    legend = "".join(f'<span style="color:{c}">{k}</span>' for k, c in COLOURS.items())
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>nstyle: live</title>'
            f'<style>{STYLE}</style></head><body>\n'
            '<h1>nstyle <span class="status" id="status">connecting…</span></h1>\n<div class="top">'
            '<img id="picture" alt="the picture so far">\n<div class="side"><table class="facts">'
            '<tr><td>epoch</td><td id="epoch">–</td></tr><tr><td>where</td><td id="where">–</td></tr>'
            '<tr><td>per epoch</td><td id="spe">–</td></tr><tr><td>ETA (at most)</td><td id="eta">–</td></tr>'
            '<tr><td>style loss</td><td id="style">–</td></tr><tr><td>content loss</td><td id="content">–</td></tr>'
            '<tr><td>total loss</td><td id="total">–</td></tr></table>\n'
            '<svg id="curve" width="480" height="200" viewBox="0 0 480 200" font-size="10" font-family="sans-serif" '
            'fill="#555" role="img" aria-label="loss per epoch, log scale"></svg>'
            f'<div class="legend">{legend}</div>\n'
            '<p><button id="stop">Stop</button><button id="snapshot">Save a snapshot now</button></p>'
            '<p id="note"></p></div></div>\n<table class="grid" id="grid" hidden></table>\n'
            f'<script>{SCRIPT.replace("%COLOURS%", json.dumps(COLOURS))}</script>\n</body></html>\n')


PAGE = page()
