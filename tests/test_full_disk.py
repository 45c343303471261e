"""A disk that fills up during a run: a real tmpfs of a few hundred KiB, mounted in a private user and mount
namespace (``unshare``), holds the output folder; nstyle runs in a fresh process beside it.

Every writer that fills it must end the run with one line and status 2: no traceback on stderr (numpy's zip writer
used to print one from its finaliser after the message), no temporary file left, and every file on the disk whole
(a file the run was replacing keeps its old bytes).
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT

#: Runs ``$@`` with the output folder on a tmpfs of size $1 mounted at $2; then copies the disk's files out to $3.
SCRIPT = r"""
size=$1 disk=$2 after=$3 keep=$4; shift 4
mount -t tmpfs -o size="$size" tmpfs "$disk" || exit 99
if [ -n "$keep" ]; then mkdir -p "$disk/o" && cp "$keep" "$disk/o/" || exit 98; fi
"$@"; rc=$?
cp -a "$disk/." "$after/"
exit $rc
"""


def small_disk_works(tmp_path) -> str:
    """Why a private tmpfs cannot be mounted here ("" when it can)."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            'mount -t tmpfs -o size=64k tmpfs "$0"', str(tmp_path)], capture_output=True, text=True)
    return "" if probe.returncode == 0 else f"cannot mount a private tmpfs: {probe.stderr.strip()[:120]}"


@pytest.fixture
def small_disk(tmp_path):
    """``run(size, args, keep=None)``: nstyle with ``args`` (``DISK`` stands for the small disk) on a tmpfs of
    ``size``; returns the exit status, stderr and the folder the disk's files were copied to afterwards."""
    why = small_disk_works(tmp_path)
    if why:
        pytest.skip(why)
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    after.mkdir()

    def run(size, args, keep=None):
        args = [a.replace("DISK", str(disk)) for a in args]
        proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT, "sh", size,
                               str(disk), str(after), keep or "", sys.executable, "-m", "nstyle", *args],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert proc.returncode not in (98, 99), proc.stderr
        return proc.returncode, proc.stderr, after

    return run


def assert_whole(folder):
    """No temporary file is left and every image or checkpoint on the disk reads whole."""
    for base, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(base, name)
            assert ".tmp" not in name, f"temporary file left: {path}"
            if name.endswith(".npz"):
                with np.load(path) as data:
                    [data[k] for k in data.files]
            elif name.endswith((".jpg", ".png", ".tif")):
                with Image.open(path) as im:
                    im.load()


def assert_one_line(code, stderr, what):
    assert code == 2, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nstyle: error: cannot write") and what in lines[0], stderr
    assert "No space left on device" in lines[0]


@pytest.fixture
def run_args(images, weights_file):
    def args(*extra):
        return ["--content-image", images["content"], "--style-image", images["style"], "--weights", weights_file,
                "--quiet", "--output-dir", "DISK/o", *extra]
    return args


def test_checkpoint_on_a_full_disk(small_disk, run_args):
    code, err, after = small_disk("64k", run_args("--max-long-edge", "64", "--max-num-epochs", "3",
                                                  "--save-epochs", "1"))
    assert_one_line(code, err, "checkpoint.npz")
    assert_whole(after)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16_bit_output_on_a_full_disk_keeps_the_old_file(small_disk, run_args, tmp_path, ext):
    old = tmp_path / f"f.{ext}"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(old)
    code, err, after = small_disk("96k", run_args("--max-long-edge", "200", "--max-num-epochs", "2",
                                                  "--bit-depth", "16", "--output", f"DISK/o/f.{ext}"), keep=str(old))
    assert_one_line(code, err, f"f.{ext}")
    assert (after / "o" / f"f.{ext}").read_bytes() == old.read_bytes()
    assert_whole(after)


def test_tiled_16_bit_run_on_a_full_disk(small_disk, run_args):
    """Tiles with shallow layers (their margin is smaller than the usual feather band) and a checkpoint per epoch."""
    code, err, after = small_disk("300k", run_args("--max-long-edge", "200", "--max-num-epochs", "4",
                                                   "--tile-size", "64", "--style-layers", "relu1_1,relu2_1",
                                                   "--content-layers", "relu2_2", "--bit-depth", "16",
                                                   "--output", "DISK/o/f.tif", "--save-epochs", "1"))
    assert_one_line(code, err, "checkpoint.npz")
    assert_whole(after)


@pytest.mark.parametrize("size", ["40k", "120k"])
def test_batch_report_on_a_full_disk(small_disk, images, weights_file, size):
    """The runs finish and are recorded; the report (thumbnails, page, sheet) is what no longer fits."""
    code, err, after = small_disk(size, ["batch", "--content-image", images["content"], images["cat"],
                                         "--style-image", images["style"], "--weights", weights_file, "--quiet",
                                         "--max-long-edge", "48", "--max-num-epochs", "2", "--output-dir", "DISK/o"])
    assert_one_line(code, err, "/disk/o/")
    assert_whole(after)
    records = (after / "o" / "runs.jsonl").read_text().splitlines()
    assert len(records) == 2 and all('"status": "done"' in r for r in records)


def test_tiled_16_bit_final_encode_on_a_full_disk_loses_nothing(small_disk, run_args, tmp_path):
    """Issue 27: the checkpoints fit (another disk), only the final 16-bit TIFF does not: one line, the old file
    keeps its bytes, and ``--resume`` writes the picture once there is room, without optimising again."""
    old, roomy = tmp_path / "f.tif", tmp_path / "roomy"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(old)
    args = run_args("--max-long-edge", "200", "--max-num-epochs", "2", "--tile-size", "64", "--style-layers",
                    "relu1_1,relu2_1", "--content-layers", "relu2_2", "--bit-depth", "16", "--output-dir", str(roomy))
    code, err, after = small_disk("96k", args + ["--output", "DISK/o/f.tif"], keep=str(old))
    assert_one_line(code, err, "f.tif")
    assert (after / "o" / "f.tif").read_bytes() == old.read_bytes()
    assert_whole(after)
    assert_whole(roomy)
    ckpt = (roomy / "checkpoint.npz").read_bytes()
    res = subprocess.run([sys.executable, "-m", "nstyle", *args, "--output", str(tmp_path / "g.tif"), "--resume"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    with Image.open(tmp_path / "g.tif") as im:
        assert im.size[0] == 200 or im.size[1] == 200
    assert (roomy / "checkpoint.npz").read_bytes() == ckpt  # nothing was optimised again


def test_a_clip_whose_work_files_cannot_fit_is_refused_before_any_work(small_disk, images, weights_file, tmp_path):
    """Issue 25: the frame count in the header sets what the work folder will hold (flows and frames); a disk too
    small for it is named in one line, before anything is written."""
    pytest.importorskip("av")
    clip = tmp_path / "clip"
    clip.mkdir()
    for i in range(30):
        Image.fromarray(np.full((48, 64, 3), 8 * i, np.uint8)).save(clip / f"{i:03d}.png")
    code, err, after = small_disk("256k", ["video", "--content-video", str(clip), "--style-image", images["style"],
                                           "--weights", weights_file, "--max-long-edge", "64", "--output-dir", "DISK/o",
                                           "--output", "DISK/out.mp4"])
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "30 frames at 64x48 need about" in lines[0] and "free" in lines[0], err
    assert "Traceback" not in err
    assert os.listdir(after) == []
