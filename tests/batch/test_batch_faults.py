"""Issue 27: a batch whose output folder vanishes mid-batch, two batches into one folder, a report that cannot be
written; each as a user meets it (``nstyle batch`` in a subprocess), with real folders."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, Running, log_records, one_error_line

ENV = dict(os.environ, PYTHONPATH=ROOT)


@pytest.fixture
def folder(tmp_path):
    """contents/ with 3 photos, styles/ with 2 paintings (small noise pictures)."""
    rng = np.random.RandomState(0)
    for sub, names in (("contents", ["a", "b", "c"]), ("styles", ["x", "y"])):
        (tmp_path / sub).mkdir()
        for n in names:
            Image.fromarray(rng.randint(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / sub / f"{n}.png")
    return tmp_path


def command(folder, weights_file, out="out", *extra, epochs=30):
    return [sys.executable, "-m", "nstyle", "batch", "--content-image", str(folder / "contents"), "--style-image",
            str(folder / "styles"), "--weights", weights_file, "--max-long-edge", "48", "--max-num-epochs",
            str(epochs), "--gpu", "-1", "--output-dir", str(folder / out), *extra]


def assert_whole(folder):
    """No temporary file, every record JSON, every done run's picture readable; the done records."""
    assert not [n for _, _, files in os.walk(folder) for n in files if ".tmp" in n]
    done = [r for r in log_records(folder) if r["status"] == "done"]
    for r in done:
        with Image.open(os.path.join(folder, os.path.basename(r["output"]))) as im:
            im.load()
    return done


@pytest.mark.parametrize("replace", ["", "file", "folder"], ids=["moved-away", "a-file", "an-empty-folder"])
def test_output_folder_that_vanishes_mid_batch(folder, weights_file, replace):
    """The share is gone: here the folder moved away, with a file or an empty folder (an unmounted share's mount
    point) in its place. One line, exit 2, and what the batch had written is all there and whole where the folder
    went; the run under way may leave its own files at the path. Before, an empty folder in its place took the
    remaining runs and a new runs.jsonl, and the batch ended 0."""
    out, gone = folder / "out", folder / "gone"
    run = Running(command(folder, weights_file), ENV)
    run.wait_for(r"\[1/6\] \S+: done in")
    os.rename(out, gone)
    if replace == "file":
        out.write_bytes(b"a file now")
    elif replace == "folder":
        out.mkdir()
    status, err = run.finish(timeout=120)
    assert status == 2, err
    assert one_error_line(err) == (f"nstyle: error: the output folder {out} vanished or was replaced during the "
                                   "batch (a share unmounted, the folder moved or removed); the batch stopped there: "
                                   "when it is back, run the same command again to do the rest")
    if replace == "file":
        assert out.read_bytes() == b"a file now"
    elif out.exists():  # at most the files of the run under way (its picture, its work folder) and the report
        # refresh of the run that had just ended, when its write raced the rename; no records
        left = os.listdir(out)
        allowed = {"work", "index.html", *(f"{c}__{s}.jpg" for c in "abc" for s in "xy")}
        assert len(left) <= 3 and set(left) <= allowed, left
        assert "work" not in left or len(os.listdir(out / "work")) == 1
    assert 1 <= len(assert_whole(gone)) < 6


def test_two_batches_into_one_folder_at_once(folder, weights_file):
    """The second is refused in one line before any work; the first loses none of its records."""
    first = Running(command(folder, weights_file, epochs=10), ENV)
    first.wait_for(r"\S+: running")
    second = subprocess.run(command(folder, weights_file, "out", "--quiet", epochs=10), cwd=ROOT, env=ENV,
                            capture_output=True, text=True)
    assert second.returncode == 2
    assert second.stderr == (f"nstyle: error: another nstyle batch is writing into {folder / 'out'}; wait until it "
                             "ends, or use another --output-dir\n")
    status, err = first.finish()
    assert status == 0, err
    assert len(assert_whole(folder / "out")) == 6 and len(log_records(folder / "out")) == 6
    again = subprocess.run(command(folder, weights_file, "out", "--quiet", epochs=10), cwd=ROOT, env=ENV,
                           capture_output=True, text=True)  # the folder is free again once the first has ended
    assert again.returncode == 0 and "skipped 6" in again.stderr, again.stderr


def test_16_bit_batch_writes_png_and_a_16_bit_jpg_row_is_refused_before_any_run(folder, weights_file):
    """Before, ``nstyle batch --bit-depth 16`` optimised every run and then failed each on its .jpg name (exit 1),
    and so did a manifest row with ``bit_depth`` 16 and an ``output`` ending in .jpg."""
    res = subprocess.run(command(folder, weights_file, "out", "--bit-depth", "16", "--quiet", epochs=1), cwd=ROOT,
                         env=ENV, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    saved = cv2.imread(str(folder / "out" / "a__x.png"), cv2.IMREAD_UNCHANGED)
    assert saved.dtype == np.uint16 and saved.shape == (34, 48, 3)
    (folder / "rows.csv").write_text("content,style,bit_depth,output\ncontents/a.png,styles/x.png,16,a.jpg\n")
    res = subprocess.run([sys.executable, "-m", "nstyle", "batch", "--manifest", str(folder / "rows.csv"), "--weights",
                          weights_file, "--output-dir", str(folder / "rows")], cwd=ROOT, env=ENV, capture_output=True,
                         text=True)
    assert res.returncode == 2
    assert res.stderr == (f"nstyle: error: manifest {folder / 'rows.csv'}: row 2: --output 'a.jpg': 16-bit output "
                          "needs a .png or .tif file\n")
    assert not (folder / "rows").exists()
