"""``--warp-interpolation``: the sharper warp kernels (bicubic, Lanczos) against the exact shift of a smooth picture,
and the option through the API, the work folder's key, ``nstyle batch`` and a manifest."""
import os
import re

import numpy as np
import pytest
from PIL import Image

from nstyle import batch, stylize_video
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.video import warping
from nstyle.video.plan import warp_interpolation
from video_clips import scene, write_clip

H, W = 48, 64


def smooth(rows, cols):
    """A smooth picture (wavelengths 16 and 20 pixels) at any fractional point."""
    return 128.0 + 60.0 * np.sin(2 * np.pi * cols / 16.0) * np.cos(2 * np.pi * rows / 20.0)


def shifted(dx, dy):
    """The warp of the smooth picture by a constant flow ``(dx, dy)`` with each kernel, and the exact answer,
    away from the border (where every kernel clamps)."""
    rows, cols = np.mgrid[0:H, 0:W].astype(np.float64)
    image = np.stack([smooth(rows, cols)] * 3, axis=-1)
    flow = np.zeros((H, W, 2))
    flow[..., 0], flow[..., 1] = dx, dy
    inner = (slice(4, -4), slice(4, -4))
    exact = smooth(rows + dy, cols + dx)[inner]
    return {k: np.abs(warping.warp(image, flow, k)[..., 0][inner] - exact).max() for k in warping.INTERPOLATIONS}


@pytest.mark.parametrize("dx, dy", [(0.3, 0.0), (0.5, 0.25), (-0.4, 0.7), (2.3, -1.6)])
def test_sharper_kernels_follow_a_fractional_shift_more_closely_than_bilinear(dx, dy):
    errors = shifted(dx, dy)
    assert errors["bicubic"] < errors["bilinear"] / 5  # measured: 20 to 30 times smaller
    assert errors["lanczos"] < errors["bilinear"] / 2  # measured: 4 to 5 times smaller


@pytest.mark.parametrize("kernel", warping.INTERPOLATIONS)
def test_every_kernel_moves_a_whole_pixel_shift_exactly_and_keeps_a_flat_picture(kernel):
    image = np.random.RandomState(0).randint(0, 256, (20, 30, 3)).astype(np.float64)
    flow = np.zeros((20, 30, 2))
    flow[..., 0], flow[..., 1] = 3, -2
    np.testing.assert_allclose(warping.warp(image, flow, kernel)[2:, :-3], image[:-2, 3:], rtol=0, atol=1e-9)
    flat = np.full((20, 30), 77.0)
    wavy = np.random.RandomState(1).uniform(-5, 5, (20, 30, 2))
    np.testing.assert_allclose(warping.warp(flat, wavy, kernel), flat, rtol=0, atol=1e-9)


def test_the_kernel_name_is_checked():
    assert warp_interpolation("Bicubic") == "bicubic"
    with pytest.raises(NStyleError, match="--warp-interpolation nearest: must be one of bilinear, bicubic, lanczos"):
        warp_interpolation("nearest")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernelclip")
    for i, rgb in enumerate(scene(count=3, step=3)):
        Image.fromarray(rgb).save(folder / f"{i:03d}.png")
    return str(folder)


def frames(folder):
    return [np.asarray(Image.open(os.path.join(folder, n))) for n in sorted(os.listdir(folder))]


def test_a_sharper_warp_changes_the_later_frames_and_the_work_folder_key(clip, weights_file, images, tmp_path):
    settings = dict(weights=weights_file, max_long_edge=64, max_num_epochs=2, init="content", quiet=True)
    runs = {}
    for kernel in ("bilinear", "bicubic"):
        stylize_video(clip, images["style"], output_dir=str(tmp_path / kernel), warp_interpolation=kernel, **settings)
        runs[kernel] = frames(tmp_path / kernel / "frames")
    np.testing.assert_array_equal(runs["bilinear"][0], runs["bicubic"][0])  # frame 1 is a still either way
    assert all(np.any(a != b) for a, b in zip(runs["bilinear"][1:], runs["bicubic"][1:]))
    with pytest.raises(NStyleError, match="another clip or other settings"):  # a bicubic folder is not a bilinear one
        stylize_video(clip, images["style"], output_dir=str(tmp_path / "bicubic"), resume=True,
                      warp_interpolation="bilinear", **settings)
    assert warping.WARP_INTERPOLATION == "bicubic"  # the default: resuming without the option continues the folder
    stylize_video(clip, images["style"], output_dir=str(tmp_path / "bicubic"), resume=True, **settings)
    with pytest.raises(NStyleError, match="--warp-interpolation"):
        stylize_video(clip, images["style"], output_dir=str(tmp_path / "bad"), warp_interpolation="cubic",
                      **settings)
    assert not (tmp_path / "bad").exists()


def test_clips_in_a_batch_take_the_kernel_from_the_flag_or_their_row(images, tmp_path):
    clip = str(tmp_path / "pan.mp4")
    write_clip(clip, scene(count=2), rate=12)
    manifest = tmp_path / "runs.csv"
    manifest.write_text(f"content,content_video,style,warp_interpolation,output\n"
                        f"{images['content']},,{images['style']},,\n"
                        f",{clip},{images['style']},lanczos,a.mp4\n"
                        f",{clip},{images['style']},,b.mp4\n")
    picture, sharp, default = batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"), None, "1",
                                                       "bilinear")
    assert (sharp.warp_interpolation, default.warp_interpolation) == ("lanczos", "bilinear")
    assert picture.warp_interpolation == warping.WARP_INTERPOLATION  # a picture keeps the default (unused)
    jobs = batch.jobs_from_args([], [images["style"]], Config(), str(tmp_path), [clip], 10.0, "1", "lanczos")
    assert [j.warp_interpolation for j in jobs] == ["lanczos"]
    manifest.write_text(f"content_video,style,warp_interpolation\n{clip},{images['style']},sinc\n")
    with pytest.raises(NStyleError, match=re.escape("row 2: column warp_interpolation: --warp-interpolation sinc")):
        batch.jobs_from_manifest(str(manifest), Config(), str(tmp_path / "out"))
