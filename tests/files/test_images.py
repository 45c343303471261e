"""Reading images of any common kind as RGB, the classic pre/post-processing, sizes, and atomic saving."""
import io
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from nstyle.errors import NStyleError
from nstyle.files import images

MEAN = np.array([123.68, 116.779, 103.939])


def save(tmp_path, name, im, **kw):
    path = str(tmp_path / name)
    im.save(path, **kw)
    return path


def assert_rgb8(arr, shape):
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint8 and arr.shape == shape


# ---- preprocess / postprocess ------------------------------------------------------------------------------

def all_levels_image():
    """16x16x3 holding every 8-bit level once per channel, in a different order in each channel."""
    rng = np.random.RandomState(0)
    return np.stack([rng.permutation(256).reshape(16, 16) for _ in range(3)], axis=2).astype(np.uint8)


def test_preprocess_scales_by_256_transposes_and_subtracts_the_mean():
    rgb = all_levels_image()
    x = images.preprocess(rgb, (16, 16))
    assert x.shape == (1, 3, 16, 16) and x.dtype == np.float64
    want = rgb.transpose(2, 0, 1)[None].astype(np.float64) / 255.0 * 256.0 - MEAN.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(x, want, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_at_own_size_is_exact_for_every_level(dtype):
    """Level v becomes v * 256/255 = v + v/255 in network space; postprocess truncates, so v <= 254 comes back
    as v (the excess v/255 is at least 1/255 for v > 0, far above float32 rounding), and 255 becomes 256,
    clipped to 255. With 255 instead of 256 the product could land a hair under v and truncate to v - 1;
    with rounding instead of truncation the 256 scale would push levels >= 128 up by one."""
    rgb = all_levels_image()
    back = images.postprocess(images.preprocess(rgb, (16, 16)).astype(dtype))
    assert_rgb8(back, (16, 16, 3))
    assert np.array_equal(back, rgb)


def test_postprocess_adds_the_mean_clips_and_truncates():
    wanted = np.array([-40.0, -0.4, 0.0, 0.999, 10.7, 127.5, 254.99, 255.0, 255.6, 1000.0])
    x = np.zeros((1, 3, 1, wanted.size))
    for c in range(3):
        x[0, c, 0] = wanted - MEAN[c]
    got = images.postprocess(x)
    assert_rgb8(got, (1, wanted.size, 3))
    for c in range(3):
        assert got[0, :, c].tolist() == [0, 0, 0, 0, 10, 127, 254, 255, 255, 255]


def test_from_pixels_and_pixel_bounds_are_levels_minus_the_mean():
    rgb = all_levels_image()
    x = images.from_pixels(rgb)
    assert x.shape == (1, 3, 16, 16) and x.dtype == np.float64
    np.testing.assert_array_equal(x, rgb.transpose(2, 0, 1)[None] - MEAN.reshape(1, 3, 1, 1))
    lower, upper = images.pixel_bounds((1, 3, 4, 5))
    assert lower.shape == upper.shape == (1, 3, 4, 5)
    np.testing.assert_array_equal(lower[0, :, 2, 3], -MEAN)
    np.testing.assert_array_equal(upper[0, :, 2, 3], 255.0 - MEAN)
    assert (images.postprocess(lower) == 0).all() and (images.postprocess(upper) == 255).all()


def test_postprocess_does_not_modify_its_input():
    x = np.full((1, 3, 2, 2), 5.0, np.float32)
    images.postprocess(x)
    assert (x == 5.0).all()


def test_preprocess_resizes_with_skimage_defaults():
    from skimage.transform import resize

    rgb = np.random.RandomState(1).randint(0, 256, (40, 60, 3), dtype=np.uint8)
    x = images.preprocess(rgb, (20, 30))
    ref = resize(rgb, (20, 30))  # anti-aliased, order 1, to float 0..1
    np.testing.assert_allclose(x[0], ref.transpose(2, 0, 1) * 256 - MEAN.reshape(3, 1, 1), atol=1e-9)


# ---- sizes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, edge, want", [
    ((1000, 1500, 3), 600, (400, 600)),
    ((480, 640, 3), 600, (450, 600)),
    ((333, 500), 600, (399, 600)),  # 333 * 1.2 = 399.59999...: truncated, not rounded
    ((640, 427, 3), 512, (512, 341)),
    ((100, 100, 3), 37, (37, 37)),
    ((30, 40, 3), 600, (450, 600)),  # small images are enlarged
])
def test_content_size_examples(shape, edge, want):
    assert images.content_size(shape, edge) == want


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20000), st.integers(1, 20000), st.integers(1, 4000))
def test_content_size_is_int_of_each_side_times_factor(h, w, edge):
    f = edge / max(h, w)
    got = images.content_size((h, w, 3), edge)
    assert got == (int(h * f), int(w * f))
    assert all(isinstance(v, int) for v in got)
    assert edge - 1 <= max(got) <= edge


@pytest.mark.parametrize("size", [(16, 16), (16, 600), (600, 16), (400, 600)])
def test_check_size_accepts_16_or_more(size):
    images.check_size(size, "ok.jpg")


@pytest.mark.parametrize("size", [(15, 600), (600, 15), (1, 1), (0, 50)])
def test_check_size_rejects_too_small_sizes(size):
    with pytest.raises(NStyleError) as info:
        images.check_size(size, "some/dir/photo.jpg")
    assert "some/dir/photo.jpg" in str(info.value) and "16" in str(info.value)


# ---- reading: modes and orientation --------------------------------------------------------------------------

def test_plain_rgb_png_is_read_unchanged(tmp_path):
    arr = np.random.RandomState(2).randint(0, 256, (9, 13, 3), dtype=np.uint8)
    got = images.read_image(save(tmp_path, "rgb.png", Image.fromarray(arr)))
    assert_rgb8(got, (9, 13, 3))
    assert np.array_equal(got, arr)


def test_greyscale_is_replicated_to_three_channels(tmp_path):
    grey = np.random.RandomState(3).randint(0, 256, (11, 7), dtype=np.uint8)
    got = images.read_image(save(tmp_path, "l.png", Image.fromarray(grey, "L")))
    assert_rgb8(got, (11, 7, 3))
    for c in range(3):
        assert np.array_equal(got[:, :, c], grey)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., :3] = (10, 200, 40)
    rgba[:, :2, 3] = 0  # fully transparent: white, whatever colour is stored underneath
    rgba[:, 2:4, 3] = 255  # opaque: the colour itself
    rgba[:, 4:, :3] = (0, 0, 0)
    rgba[:, 4:, 3] = 128  # half transparent black on white: mid grey
    got = images.read_image(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert_rgb8(got, (4, 6, 3))
    assert (got[:, :2] == 255).all()
    assert (got[:, 2:4] == (10, 200, 40)).all()
    assert (np.abs(got[:, 4:].astype(int) - round(255 * 127 / 255)) <= 1).all()


def test_greyscale_with_alpha_is_composited_on_white(tmp_path):
    la = np.zeros((3, 4, 2), np.uint8)
    la[..., 0] = 30
    la[:, 2:, 1] = 255
    got = images.read_image(save(tmp_path, "la.png", Image.fromarray(la, "LA")))
    assert_rgb8(got, (3, 4, 3))
    assert (got[:, :2] == 255).all() and (got[:, 2:] == 30).all()


def test_palette_image_gives_its_palette_colours(tmp_path):
    palette = [(255, 0, 0), (0, 128, 255), (12, 34, 56), (250, 250, 0)]
    index = np.random.RandomState(4).randint(0, 4, (8, 9)).astype(np.uint8)
    im = Image.fromarray(index, "P")
    im.putpalette([v for colour in palette for v in colour])
    got = images.read_image(save(tmp_path, "p.png", im))
    assert_rgb8(got, (8, 9, 3))
    assert np.array_equal(got, np.array(palette, np.uint8)[index])


def test_palette_transparency_is_composited_on_white(tmp_path):
    index = np.array([[0, 1], [1, 0]], np.uint8)
    im = Image.fromarray(index, "P")
    im.putpalette([5, 6, 7, 100, 110, 120])
    path = save(tmp_path, "pt.png", im, transparency=0)
    got = images.read_image(path)
    assert_rgb8(got, (2, 2, 3))
    assert (got[index == 0] == 255).all() and (got[index == 1] == (100, 110, 120)).all()


def test_bilevel_image(tmp_path):
    bits = np.random.RandomState(5).rand(6, 10) > 0.5
    got = images.read_image(save(tmp_path, "b.png", Image.fromarray(bits)))
    assert_rgb8(got, (6, 10, 3))
    assert np.array_equal(got[:, :, 0], np.where(bits, 255, 0).astype(np.uint8))


@pytest.mark.parametrize("peak", [65535, 255, 1])
def test_16_bit_greyscale_png_keeps_its_scale(tmp_path, peak):
    """16-bit files come back as float64 on 0..1 (full precision for the network), value / 65535 -- also for a
    dark file whose samples all happen to be <= 255 (Pillow opens 16-bit PNGs as mode I, not I;16)."""
    deep = np.random.RandomState(peak).randint(0, peak + 1, (5, 8)).astype(np.uint16)
    deep[0, 0] = peak
    got = images.read_image(save(tmp_path, "d16.png", Image.fromarray(deep)))
    assert got.shape == (5, 8, 3) and got.dtype == np.float64
    for c in range(3):
        np.testing.assert_allclose(got[:, :, c], deep / 65535.0, rtol=0, atol=1e-12)
    # and the network sees the same as for the equivalent 8-bit image, up to the 8-bit quantisation
    x16 = images.preprocess(got, (5, 8))
    x8 = images.preprocess(np.repeat(np.round(deep / 257.0).astype(np.uint8)[:, :, None], 3, axis=2), (5, 8))
    assert np.abs(x16 - x8).max() <= 256 / 255 * 0.5 + 1e-9


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (30, 60, 200), (240, 240, 240)]
    rgb = np.zeros((16, 64, 3), np.uint8)
    for i, colour in enumerate(colours):
        rgb[:, 16 * i:16 * (i + 1)] = colour
    cmyk = Image.fromarray(rgb).convert("CMYK")
    assert cmyk.mode == "CMYK"
    path = save(tmp_path, "c.jpg", cmyk, quality=95)
    assert Image.open(path).mode == "CMYK"
    got = images.read_image(path)
    assert_rgb8(got, (16, 64, 3))
    for i, colour in enumerate(colours):
        centre = got[4:12, 16 * i + 4:16 * i + 12].astype(int)
        assert np.abs(centre - np.array(colour)).max() <= 6, (colour, centre.mean(axis=(0, 1)))


def test_exif_orientation_6_is_applied(tmp_path):
    """Orientation 6: the stored pixels are shown turned 90 degrees clockwise (width and height swap)."""
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:8, :16] = (255, 0, 0)  # red top-left quadrant
    stored[8:, 16:] = (0, 0, 255)  # blue bottom-right quadrant
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path, "rot.jpg", Image.fromarray(stored), exif=exif, quality=95, subsampling=0)
    assert Image.open(path).size == (32, 16)
    got = images.read_image(path)
    assert_rgb8(got, (32, 16, 3))
    want = np.rot90(stored, k=-1)  # clockwise: the top-left quadrant moves to the top right
    assert (want[:16, 8:] == (255, 0, 0)).all()
    inner = np.ones((32, 16), bool)
    inner[[0, 7, 8, 15, 16, 23, 24, 31], :] = False
    inner[:, [0, 7, 8, 15]] = False
    assert np.abs(got.astype(int) - want.astype(int))[inner].max() <= 12


# ---- reading: errors -----------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.jpg")
    with pytest.raises(NStyleError, match="no such file") as info:
        images.read_image(path)
    assert path in str(info.value)


def test_directory(tmp_path):
    path = str(tmp_path / "folder.jpg")
    os.mkdir(path)
    with pytest.raises(NStyleError, match="directory") as info:
        images.read_image(path)
    assert path in str(info.value)


@pytest.mark.parametrize("name, content", [("empty.jpg", b""), ("text.jpg", b"this is a note, not a photo\n" * 3),
                                           ("zeros.png", bytes(500))])
def test_files_that_are_not_images(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NStyleError) as info:
        images.read_image(str(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("keep", [0.004, 0.1, 0.5, 0.9])
def test_truncated_files(tmp_path, fmt, keep):
    buf = io.BytesIO()
    Image.fromarray(np.random.RandomState(6).randint(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, format=fmt)
    data = buf.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[:max(8, int(len(data) * keep))])
    with pytest.raises(NStyleError) as info:
        images.read_image(str(path))
    assert str(path) in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


# ---- saving ------------------------------------------------------------------------------------------------

def smooth_image(h=24, w=32):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (h + w - 2)],
                    axis=2).astype(np.uint8)


def test_save_png_is_exact_and_jpeg_is_close(tmp_path):
    rgb = smooth_image()
    for name in ("out.png", "out.jpg", "upper.JPG", "other.jpeg"):
        images.save_image(rgb, str(tmp_path / name))
    assert np.array_equal(images.read_image(str(tmp_path / "out.png")), rgb)
    for name in ("out.jpg", "upper.JPG", "other.jpeg"):
        assert Image.open(tmp_path / name).format == "JPEG"
        back = images.read_image(str(tmp_path / name))
        assert_rgb8(back, rgb.shape)
        assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 3
    assert Image.open(tmp_path / "out.png").format == "PNG"
    assert sorted(os.listdir(tmp_path)) == ["other.jpeg", "out.jpg", "out.png", "upper.JPG"]


def test_save_replaces_an_existing_file(tmp_path):
    path = str(tmp_path / "same.png")
    images.save_image(np.zeros((4, 4, 3), np.uint8), path)
    images.save_image(np.full((4, 4, 3), 77, np.uint8), path)
    assert (images.read_image(path) == 77).all() and os.listdir(tmp_path) == ["same.png"]


def test_denoise_returns_8_bit_on_the_0_255_scale():
    """skimage's denoiser turns uint8 into float 0..1; written as-is that would be an all-black image."""
    rgb = smooth_image()
    out = images.denoise(rgb, 1e-6)  # almost no smoothing: the image itself, back on 0..255
    assert_rgb8(out, rgb.shape)
    assert np.abs(out.astype(int) - rgb.astype(int)).max() <= 1
    noisy = np.clip(rgb + np.random.RandomState(7).normal(0, 25, rgb.shape), 0, 255).astype(np.uint8)
    smooth = images.denoise(noisy, 0.1)
    assert_rgb8(smooth, rgb.shape)
    assert abs(smooth.astype(float).mean() - noisy.astype(float).mean()) < 3
    assert np.abs(np.diff(smooth.astype(int), axis=1)).mean() < 0.5 * np.abs(np.diff(noisy.astype(int), axis=1)).mean()


@pytest.mark.parametrize("name", ["snap.jpg", "snap.png"])
def test_save_with_remove_noise_writes_a_denoised_8_bit_image(tmp_path, name):
    noisy = np.clip(smooth_image() + np.random.RandomState(8).normal(0, 20, (24, 32, 3)), 0, 255).astype(np.uint8)
    path = str(tmp_path / name)
    images.save_image(noisy, path, remove_noise=0.02)
    back = images.read_image(path)
    assert_rgb8(back, noisy.shape)
    assert back.min() >= 0 and back.max() <= 255 and back.max() > 200
    assert not (back == 0).all()
    assert abs(back.astype(float).mean() - noisy.astype(float).mean()) < 4
    if name.endswith(".png"):  # lossless: exactly what the denoiser gave
        assert np.array_equal(back, images.denoise(noisy, 0.02))
        assert not np.array_equal(back, noisy)
    assert os.listdir(tmp_path) == [name]


def test_failed_saves_leave_no_temporary_files(tmp_path):
    good = smooth_image()
    images.save_image(good, str(tmp_path / "keep.png"))
    with pytest.raises(NStyleError, match="extension"):
        images.save_image(good, str(tmp_path / "bad.xyz"))
    with pytest.raises(Exception):
        images.save_image(np.zeros((4, 4, 7), np.float64), str(tmp_path / "broken.png"))  # Pillow cannot write it
    with pytest.raises(NStyleError):
        images.save_image(good, str(tmp_path / "missing_dir" / "x.png"))
    assert os.listdir(tmp_path) == ["keep.png"]
    assert np.array_equal(images.read_image(str(tmp_path / "keep.png")), good)


def test_as_rgb_of_an_opened_16_bit_png_keeps_its_scale(tmp_path):
    deep = np.array([[0, 100], [200, 255]], np.uint16)
    with Image.open(save(tmp_path, "dark16.png", Image.fromarray(deep))) as im:
        got = images.as_rgb(im, "content")
    np.testing.assert_allclose(got[:, :, 1], deep / 65535.0, rtol=0, atol=1e-12)
