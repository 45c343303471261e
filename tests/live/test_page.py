"""The live page in a real headless Chromium during a real run: the picture changes, the curve grows, Stop
stops the run as Ctrl-C does, and ``--resume`` finishes it."""
from __future__ import annotations

import os
import shutil

import numpy as np
from PIL import Image

from browser import Chromium
from helpers import WINDOW
from livetools import LiveRun, small_run

from test_cli import run_module

#: The picture's pixels summed in the page (a canvas of the <img>): changes when the picture does.
PIXELS = """(function () { var img = document.getElementById('picture');
  if (!img || !img.naturalWidth) return null;
  var c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  var g = c.getContext('2d'); g.drawImage(img, 0, 0);
  var d = g.getImageData(0, 0, c.width, c.height).data, s = 0;
  for (var i = 0; i < d.length; i++) s += d[i] * (i % 7 + 1);
  return [Number(img.dataset.frame), s]; })()"""
CURVE = "document.querySelector('#curve polyline.total') ? " \
        "document.querySelector('#curve polyline.total').getAttribute('points').split(' ').length : 0"


def test_watch_stop_and_resume_in_chromium(browser, images, weights_file, tmp_path):
    out = tmp_path / "out"
    flags = small_run(images, weights_file, out, "--max-num-epochs", "500")
    run = LiveRun(*flags, "--web", "0")
    page = Chromium(browser, tmp_path / "profile")
    try:
        page.open(run.url)
        first = page.wait_for(PIXELS)
        points = page.wait_for(CURVE)
        # a later picture, different pixels, and more points on the curve
        later = page.wait_for(f"(function () {{ var p = {PIXELS}; return p && p[0] > {first[0]} && "
                              f"p[1] !== {first[1]} ? p : null; }})()")
        assert later[0] > first[0]
        page.wait_for(f"({CURVE}) > {points}")
        assert page.js("document.getElementById('status').textContent").startswith("running")
        epoch = int(page.js("document.getElementById('epoch').textContent").split()[0])
        assert 0 < epoch < 500 and page.js("document.getElementById('epoch').textContent").endswith("of 500")
        shot = tmp_path / "live.png"
        page.screenshot(shot)
        if os.environ.get("NSTYLE_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["NSTYLE_KEEP_SCREENSHOT"])
        pixels = np.asarray(Image.open(shot).convert("RGB")).astype(float)
        assert pixels.shape[1] == WINDOW[0] and pixels.shape[0] >= 600  # the window less headless Chromium's frame
        x, y, w, h = page.js("(function(){var r=document.getElementById('picture').getBoundingClientRect();"
                             "return [r.left, r.top, r.width, r.height];})()")
        drawn = pixels[int(y):int(y + h), int(x):int(x + w)]
        assert drawn.size and drawn.std() > 10  # the picture is on screen, not an empty box

        page.click("#stop")
        assert run.wait() == 130
        page.wait_for("document.getElementById('status').textContent.startsWith('interrupted')")
        assert page.js("document.getElementById('stop').disabled")
    finally:
        page.close()
        run.stop()
    assert any("stopped from the live page at epoch" in line and "--resume" in line for line in run.lines)
    assert (out / "checkpoint.npz").is_file() and (out / "final.jpg").is_file()

    status, _, err = run_module(*flags, "--resume", "--quiet")
    assert status == 0, err
    assert (out / "final.jpg").is_file()
