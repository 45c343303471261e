"""Measure one read of a large picture in this fresh process: ``_read_probe.py OUT PATH MODE LONG_EDGE``.

MODE ``full`` reads the whole file as nstyle always did (no size hint), ``reduced`` passes the run's long edge so a
picture above ``images.REDUCE_ABOVE`` pixels is decoded reduced; both then resize to the content size as a run does.
"""
import json
import sys
import time

from common import peak_rss_mb

out, path, mode, long_edge = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
from nstyle.files import images  # noqa: E402
from skimage import transform  # noqa: E402,F401  (imported before measuring: every run needs it)

before = peak_rss_mb()
started = time.perf_counter()
rgb = images.read_image(path, long_edge if mode == "reduced" else None)
size = images.content_size(rgb.shape, long_edge)
resized = images.resize01(rgb, size)
seconds = time.perf_counter() - started
with open(out, "w") as f:
    json.dump({"mode": mode, "decoded": f"{rgb.shape[1]}x{rgb.shape[0]}", "resized": f"{size[1]}x{size[0]}",
               "seconds": round(seconds, 2), "peak MB": round(peak_rss_mb()), "peak MB before reading": round(before),
               "mean": round(float(resized.mean()), 5)}, f)
