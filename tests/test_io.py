"""Image reading, conversion of unusual files, classic pre/post-processing and saving."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from nstyle import images
from nstyle.errors import NStyleError


def write(tmp_path, name, im, **kw):
    path = str(tmp_path / name)
    im.save(path, **kw)
    return path


def test_postprocess_inverts_preprocess_up_to_the_classic_256_scaling():
    rgb = np.random.RandomState(0).randint(0, 256, (12, 17, 3), dtype=np.uint8)
    x = images.preprocess(rgb, (12, 17)).astype(np.float32)
    assert x.shape == (1, 3, 12, 17)
    back = images.postprocess(x)
    # the classic scales 0..1 by 256, not 255: level v comes back as trunc(v + v/255) = v (255 is clipped),
    # so at its own size an 8-bit image survives the round trip exactly
    assert np.array_equal(back, rgb)


def test_preprocess_subtracts_the_mean_per_channel():
    flat = np.zeros((8, 8, 3), np.uint8)
    x = images.preprocess(flat, (8, 8))
    for c, m in enumerate(images.MEAN):
        assert np.allclose(x[0, c], -m)


def test_content_size_is_the_classic_truncation():
    assert images.content_size((1000, 1500, 3), 600) == (400, 600)
    assert images.content_size((333, 500), 100) == (int(333 * 0.2), 100)
    assert images.content_size((640, 1024), 300) == (int(640 * 300 / 1024), 300)


def test_check_size_names_the_minimum():
    images.check_size((16, 40), "a.jpg")
    with pytest.raises(NStyleError, match="at least 16"):
        images.check_size((15, 40), "a.jpg")


def test_greyscale_palette_rgba_16bit_cmyk(tmp_path):
    rng = np.random.RandomState(1)
    arr = rng.randint(0, 256, (10, 14, 3), dtype=np.uint8)
    grey = images.read_image(write(tmp_path, "g.png", Image.fromarray(arr[:, :, 0])))
    assert grey.shape == (10, 14, 3) and np.array_equal(grey[:, :, 1], arr[:, :, 0])
    pal = Image.fromarray(arr).convert("P")
    got = images.read_image(write(tmp_path, "p.png", pal))
    assert np.array_equal(got, np.asarray(pal.convert("RGB")))
    alpha = np.zeros((10, 14), np.uint8)
    alpha[:, 7:] = 255
    rgba = images.read_image(write(tmp_path, "a.png", Image.fromarray(np.dstack([arr, alpha]))))
    assert (rgba[:, :7] == 255).all() and np.array_equal(rgba[:, 7:], arr[:, 7:])
    deep = (rng.randint(0, 65536, (10, 14))).astype(np.uint16)
    got16 = images.read_image(write(tmp_path, "d.png", Image.fromarray(deep)))
    assert got16.shape == (10, 14, 3) and np.allclose(got16[:, :, 2], deep / 65535.0)
    cmyk = Image.fromarray(arr).convert("CMYK")
    got_cmyk = images.read_image(write(tmp_path, "c.jpg", cmyk, quality=95))
    assert got_cmyk.shape == (10, 14, 3) and got_cmyk.dtype == np.uint8
    assert np.abs(got_cmyk.astype(int) - arr.astype(int)).mean() < 20


def test_exif_orientation_is_respected(tmp_path):
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, :10] = 255  # white left half
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    got = images.read_image(write(tmp_path, "r.jpg", Image.fromarray(arr), exif=exif, quality=95))
    assert got.shape == (20, 10, 3)
    assert got[:10].mean() > 200 and got[10:].mean() < 50  # the white half is now on top


@pytest.mark.parametrize("content, needle", [(None, "no such file"), (b"", "empty"),
                                             (b"hello, not a jpeg\n", "not an image")])
def test_read_errors(tmp_path, content, needle):
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(NStyleError, match=needle) as info:
        images.read_image(str(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files(tmp_path, fmt):
    buf = io.BytesIO()
    Image.fromarray(np.random.RandomState(2).randint(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, format=fmt)
    path = tmp_path / f"t.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 3])
    with pytest.raises(NStyleError, match="truncated"):
        images.read_image(str(path))


def test_save_png_exact_jpeg_close_and_denoised_snapshot(tmp_path):
    rgb = np.random.RandomState(3).randint(0, 256, (16, 20, 3), dtype=np.uint8)
    images.save_image(rgb, str(tmp_path / "a.png"))
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), rgb)
    images.save_image(rgb, str(tmp_path / "a.jpg"))
    assert Image.open(tmp_path / "a.jpg").format == "JPEG"
    images.save_image(rgb, str(tmp_path / "d.png"), remove_noise=0.02)
    den = np.asarray(Image.open(tmp_path / "d.png"))
    # the denoiser works in 0..1 floats: the saved snapshot must be back on the 0..255 scale, and smoother
    assert den.dtype == np.uint8 and abs(den.mean() - rgb.mean()) < 5
    assert np.abs(np.diff(den.astype(int), axis=1)).mean() < np.abs(np.diff(rgb.astype(int), axis=1)).mean()
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.png", "d.png"]
    with pytest.raises(NStyleError, match="extension"):
        images.save_image(rgb, str(tmp_path / "a.xyz"))
