"""Issue 27: ``--resume`` of a tiled run meeting a checkpoint it cannot continue (another release's, other tiles,
another picture): one line, exit 2, the checkpoint left exactly as it was, nothing else written."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import nstyle
from helpers import ROOT
from nstyle import api, cli
from nstyle.config import Config
from nstyle.files import checkpoint

ENV = dict(os.environ, PYTHONPATH=ROOT)
SHALLOW = ["--style-layers", "relu1_1,relu2_1", "--content-layers", "relu2_2"]  # margin 6 px: 64 px tiles allowed


def flags(images, weights_file, out, *extra):
    return ["--content-image", images["content"], "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "128", "--max-num-epochs", "2", "--tile-size", "64", "--quiet", "--output-dir",
            str(out), *SHALLOW, *extra]


@pytest.fixture(scope="module")
def tiled_checkpoint(tmp_path_factory, images, weights_file):
    """The checkpoint.npz a real tiled run leaves (read as a dict), with its settings hash."""
    out = tmp_path_factory.mktemp("tiled")
    cfg = Config(content_image=images["content"], style_image=images["style"], weights=weights_file,
                 max_long_edge=128, max_num_epochs=2, tile_size=64, quiet=True, output_dir=str(out),
                 style_layers="relu1_1,relu2_1", content_layers="relu2_2", gpu=-1)
    api.run(cfg)
    with np.load(checkpoint.path_for(str(out))) as data:
        return {k: data[k] for k in data.files}


def resume(images, weights_file, out, *extra):
    return subprocess.run([sys.executable, "-m", "nstyle", *flags(images, weights_file, out, "--resume", *extra)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True)


def assert_refused_and_kept(res, out, before, message):
    assert res.returncode == 2, res.stderr
    assert res.stderr == f"nstyle: error: {message}\n"
    assert (out / "checkpoint.npz").read_bytes() == before
    assert sorted(os.listdir(out)) == ["checkpoint.npz"]  # no picture, no temporary file


def older(state):
    """The same state as an older release might have written it: no format entry, two entries named otherwise."""
    old = {k: v for k, v in state.items() if k not in ("format", "tile", "tiled_epochs")}
    return dict(old, tile_size=state["tile"], epochs=state["tiled_epochs"])


@pytest.mark.parametrize("change, why", [
    (older, "it has no tile entry"),
    (lambda s: dict(s, format=np.int64(0)), "checkpoint format 0, this one reads format 1"),
    (lambda s: dict(s, format=np.int64(2)), "checkpoint format 2, this one reads format 1"),
])
def test_a_checkpoint_of_another_release_is_refused_and_kept(tiled_checkpoint, images, weights_file, tmp_path,
                                                             change, why):
    out = tmp_path / "out"
    out.mkdir()
    checkpoint.write_npz(str(out / "checkpoint.npz"), change(dict(tiled_checkpoint)))
    before = (out / "checkpoint.npz").read_bytes()
    path = out / "checkpoint.npz"
    assert_refused_and_kept(resume(images, weights_file, out), out, before,
                            f"--resume: checkpoint {path} was written by another nstyle release ({why}); nstyle "
                            f"{nstyle.__version__} cannot continue it: finish it with the release that wrote it, or "
                            "move it away to start afresh")


def test_resume_with_another_tile_size_names_the_one_to_use(tiled_checkpoint, images, weights_file, tmp_path):
    """Before: "written with different settings (hash ..., now ...)", which did not say which setting."""
    out = tmp_path / "out"
    out.mkdir()
    checkpoint.write_npz(str(out / "checkpoint.npz"), tiled_checkpoint)
    before = (out / "checkpoint.npz").read_bytes()
    assert_refused_and_kept(resume(images, weights_file, out, "--tile-size", "96"), out, before,
                            f"--resume: the checkpoint in {out} is of 64-pixel tiles; run with --tile-size 64 to "
                            "continue it (or without --resume to start afresh)")


def test_resume_after_the_photo_was_replaced_by_another_size(tiled_checkpoint, images, weights_file, tmp_path):
    """Same path, same flags, a picture of another shape: the checkpoint's arrays do not fit, and it is kept."""
    out = tmp_path / "out"
    out.mkdir()
    photo = tmp_path / "content.jpg"
    with Image.open(images["content"]) as im:
        im.crop((0, 0, im.width, im.height * 2 // 3)).save(photo)
    moved = dict(images, content=str(photo))  # the checkpoint as if written for this path (then the photo changed)
    argv = flags(moved, weights_file, out, "--resume")
    settings = cli.config_from_args(cli.build_parser().parse_args(argv)).validate().hash()
    checkpoint.write_npz(str(out / "checkpoint.npz"), dict(tiled_checkpoint, config_hash=np.array(settings)))
    before = (out / "checkpoint.npz").read_bytes()
    res = subprocess.run([sys.executable, "-m", "nstyle", *argv], cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stderr.startswith(f"nstyle: error: --resume: checkpoint {out / 'checkpoint.npz'} ")
    assert "does not fit this run" in res.stderr
    assert (out / "checkpoint.npz").read_bytes() == before
    assert sorted(os.listdir(out)) == ["checkpoint.npz"]
