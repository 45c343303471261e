"""Region masks in whole runs (issue 24): an all-ones mask is today's run, regions restrict the styles, masks go
through --multires and --preserve-color, and bad masks are refused in one line before any work."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, rgb
import nstyle
from nstyle import batch
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.files import masks


def picture(h=48, w=48, seed=0):
    """A smooth seeded picture (noise alone would hide a region's edge)."""
    from skimage.transform import resize

    return (resize(rgb(h // 8, w // 8, seed), (h, w), order=1) * 255).astype(np.uint8)


def halves(h=48, w=48):
    left = np.zeros((h, w))
    left[:, : w // 2] = 1.0
    return left, 1.0 - left


@pytest.mark.parametrize("optimizer", ["nag", "adam", "lbfgs"])
def test_an_all_ones_mask_is_the_unmasked_run_bit_for_bit(weights_file, optimizer):
    options = dict(weights=weights_file, max_long_edge=40, max_num_epochs=3, optimizer=optimizer, quiet=True)
    plain = nstyle.stylize(picture(), picture(seed=1), **options)
    masked = nstyle.stylize(picture(), picture(seed=1), content_masks=[np.ones((20, 20))], **options)
    assert np.array_equal(plain.image, masked.image)
    assert [e.style_loss for e in plain.history] == [e.style_loss for e in masked.history]
    whole_style = nstyle.stylize(picture(), picture(seed=1), style_masks=[np.full((8, 8), 255, np.uint8)], **options)
    assert np.array_equal(plain.image, whole_style.image)


def test_one_mask_restricts_the_style_to_its_region(weights_file):
    content = picture()
    left, _ = halves()
    options = dict(weights=weights_file, max_long_edge=48, max_num_epochs=15, optimizer="lbfgs", init="content",
                   style_weight=10.0, quiet=True)
    out = nstyle.stylize(content, picture(seed=5), content_masks=[left], **options).image.astype(float)
    change = np.abs(out - content).mean(axis=2)
    inside, outside = change[:, :16].mean(), change[:, 32:].mean()
    assert inside > 3 * outside, (inside, outside)


def test_two_regions_each_take_their_own_style(weights_file):
    """Left region styled with a red picture, right with a blue one: each half ends nearer its own colour."""
    red, blue = np.zeros((48, 48, 3), np.uint8), np.zeros((48, 48, 3), np.uint8)
    red[..., 0], blue[..., 2] = 220, 220
    red[::4, :, 1] = blue[::4, :, 1] = 120  # some texture
    options = dict(weights=weights_file, max_long_edge=48, max_num_epochs=20, optimizer="lbfgs", init="content",
                   style_weight=100.0, quiet=True)
    out = nstyle.stylize(picture(), [red, blue], content_masks=list(halves()), **options).image.astype(float)
    left, right = out[:, :18].mean(axis=(0, 1)), out[:, 30:].mean(axis=(0, 1))
    assert left[0] - left[2] > 20 and right[2] - right[0] > 20, (left, right)


def test_masks_through_multires_and_preserve_color(weights_file):
    left, right = halves(64, 64)
    for extra in (dict(multires=1), dict(preserve_color="histogram"), dict(preserve_color="luminance", mask_guide="all"),
                  dict(mask_guide="inside")):
        out = nstyle.stylize(picture(64, 64), [picture(seed=1), picture(seed=2)], content_masks=[left, right],
                             weights=weights_file, max_long_edge=64, max_num_epochs=2, quiet=True, **extra)
        assert out.image.shape == (64, 64, 3) and out.epochs == 2 * (1 + extra.get("multires", 0))


def save(array, path):
    Image.fromarray(array).save(str(path))
    return str(path)


def run_module(*args, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "nstyle", *args], capture_output=True, text=True, cwd=cwd, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def test_bad_masks_are_one_line_exit_2_before_any_work(tmp_path, weights_file):
    content = save(picture(48, 64), tmp_path / "c.png")
    s1, s2 = save(picture(seed=1), tmp_path / "s1.png"), save(picture(seed=2), tmp_path / "s2.png")
    good = save(np.full((24, 32), 255, np.uint8), tmp_path / "good.png")
    empty = save(np.zeros((24, 32), np.uint8), tmp_path / "empty.png")
    narrow = save(np.full((24, 31), 255, np.uint8), tmp_path / "narrow.png")
    (tmp_path / "text.png").write_text("not a picture")
    cases = [([good], "needs one mask per --style-image (2)"),
             ([good, empty], "the mask is empty"),
             ([good, narrow], "aspect ratio"),
             ([good, str(tmp_path / "text.png")], "not an image file"),
             ([good, str(tmp_path / "missing.png")], "no such file")]
    for given, message in cases:
        out = tmp_path / "out"
        status, _, err = run_module("--content-image", content, "--style-image", s1, s2, "--weights", weights_file,
                                    "--max-long-edge", "32", "--output-dir", str(out), "--content-mask", *given,
                                    cwd=tmp_path)
        assert status == 2 and message in err and "Traceback" not in err, err
        assert err.count("\n") == 1 and not out.exists(), err
    status, _, err = run_module("--content-image", content, "--style-image", s1, "--weights", weights_file,
                                "--max-long-edge", "32", "--output-dir", str(tmp_path / "out"), "--content-mask",
                                good, "--style-mask", narrow, cwd=tmp_path)
    assert status == 2 and "--style-mask" in err and "aspect ratio" in err and err.count("\n") == 1


def test_api_refuses_bad_masks_in_one_line(weights_file):
    for given, message in (([np.zeros((8, 8))], "empty"), ([np.ones((8, 9))], "aspect ratio"),
                           ([np.ones((8, 8)) * 2.0], "0..1"), ([np.ones((8, 8))] * 2, "one mask per")):
        with pytest.raises(NStyleError, match=message):
            nstyle.stylize(picture(), picture(seed=1), content_masks=given, weights=weights_file, max_long_edge=32)


def test_masks_read_grey_and_alpha(tmp_path):
    grey = np.tile(np.linspace(0, 255, 16).astype(np.uint8), (8, 1))
    assert np.allclose(masks.read_mask(save(grey, tmp_path / "g.png"), "--content-mask"), grey / 255.0)
    rgba = np.zeros((8, 16, 4), np.uint8)
    rgba[..., 3] = grey  # black everywhere: only the alpha channel says where the region is
    assert np.allclose(masks.read_mask(save(rgba, tmp_path / "a.png"), "--content-mask"), grey / 255.0)
    opaque = np.full((8, 16, 4), 255, np.uint8)
    opaque[..., :3] = grey[..., None]
    assert np.allclose(masks.read_mask(save(opaque, tmp_path / "o.png"), "--content-mask"), grey / 255.0)


def test_manifest_mask_columns_are_found_from_the_manifest(tmp_path):
    for name in ("c.png", "s.png", "m.png"):
        save(picture(16, 16), tmp_path / name)
    manifest = tmp_path / "runs.csv"
    manifest.write_text("content,style,content_mask,mask_guide\nc.png,s.png,m.png,inside\n")
    job, = batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))
    assert job.cfg.content_mask == [str(tmp_path / "m.png")] and job.cfg.mask_guide == "inside"


def test_unmasked_settings_keep_their_hash():
    assert "mask_guide" not in Config().numeric_dict()
    assert Config(content_mask=["m.png"]).hash() != Config(content_mask=["m.png"], mask_guide="all").hash()

