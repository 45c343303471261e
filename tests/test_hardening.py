"""Issue 16: a careless or hostile input never costs the user a file, the machine's memory, or a traceback.

The five cases of the issue (an input overwritten, an image bomb, non-finite settings, spreadsheet manifests, bad
arrays in the API), each checked for its exit status, its one-line message and that nothing was written or replaced;
then the further cases found by trying (see the README's "When things go wrong").
"""
import dataclasses
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT, rgb
import nstyle
from nstyle import batch
from nstyle import cli
from nstyle.config import Config, field_kind
from nstyle.errors import NStyleError
from nstyle.files import weights
from nstyle.files import images as imio
from nstyle.report import page as report


def tree(folder):
    """Every file under ``folder`` with its size, mtime and sha256: equal trees mean nothing written or replaced."""
    state = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                state[path] = "link-or-special"
                continue
            st = os.stat(path)
            with open(path, "rb") as f:
                state[path] = (st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
    return state


def refused(capsys, argv, needle, folder, status=2):
    """Run the command line; assert the status, one ``nstyle: error:`` line holding ``needle``, nothing changed."""
    before = tree(folder)
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == status, err
    assert len(err) == 1 and err[0].startswith("nstyle: error: ") and needle in err[0], err
    assert tree(folder) == before
    return err[0]


@pytest.fixture
def work(tmp_path, weights_file, monkeypatch):
    """A folder with a photo, a painting and the weights; the current directory is the folder."""
    Image.fromarray(rgb()).save(tmp_path / "photo.jpg")
    Image.fromarray(rgb(seed=1)).save(tmp_path / "painting.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def base_args(weights_file, *extra):
    return ["--content-image", "photo.jpg", "--style-image", "painting.png", "--weights", weights_file,
            "--max-long-edge", "32", "--max-num-epochs", "2", "--quiet", *extra]


# ---- 1. never write over an input --------------------------------------------------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["--output", "photo.jpg"], "--output photo.jpg would replace the content image photo.jpg"),
    (["--output", "./photo.jpg"], "would replace the content image photo.jpg"),
    (["--output", "sub/../photo.jpg"], "would replace the content image photo.jpg"),
    (["--output", "link.jpg"], "--output link.jpg would replace the content image photo.jpg"),
    (["--output", "hard.jpg"], "would replace the content image photo.jpg"),
    (["--output", "painting.png"], "would replace the style image painting.png"),
    (["--init", "start.png", "--output", "start.png"], "would replace the --init image start.png"),
    (["--output-dir", "."], "--output-dir . (its final.jpg) would replace the content image final.jpg"),
    (["--output-dir", ".", "--save-epochs", "1"], "(its e_1.jpg) would replace the content image e_1.jpg"),
])
def test_output_never_replaces_an_input(extra, needle, work, weights_file, capsys):
    os.mkdir("sub")
    os.symlink("photo.jpg", "link.jpg")
    os.link("photo.jpg", "hard.jpg")
    Image.fromarray(rgb(seed=2)).save("start.png")
    args = base_args(weights_file, "--output-dir", "out", *extra)
    if "--output-dir" in extra:  # the photo is where the run would put its final image or first snapshot
        name = "e_1.jpg" if "--save-epochs" in extra else "final.jpg"
        os.replace("photo.jpg", name)
        args[1] = name
    message = refused(capsys, args, needle, work)
    assert "never writes over its inputs" in message and not os.path.exists("out")


def test_weights_file_is_an_input_too(work, weights_file, capsys):
    with open(weights_file, "rb") as src, open("vgg19.png", "wb") as dst:  # a careless name for the weights
        dst.write(src.read())
    refused(capsys, base_args("vgg19.png", "--output", "vgg19.png"), "would replace the weights file vgg19.png",
            work)


def test_api_never_replaces_its_input(work, weights_file):
    before = tree(work)
    with pytest.raises(NStyleError, match="would replace the content image photo.jpg") as info:
        nstyle.stylize("photo.jpg", "painting.png", output="./photo.jpg", weights=weights_file, max_long_edge=32,
                       max_num_epochs=1)
    assert info.value.code == 2 and tree(work) == before


def _batch(capsys, argv, needle, folder):
    before = tree(folder)
    code = cli.main(["batch", *map(str, argv), "--max-long-edge", "32", "--max-num-epochs", "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("nstyle: error: ") and needle in err[0], err
    assert tree(folder) == before


def test_batch_result_never_lands_on_an_input(work, weights_file, capsys):
    """Row 1 writes b.png into the contents folder, where it is row 2's content."""
    Image.fromarray(rgb(seed=3)).save("b.png")
    (work / "runs.csv").write_text("content,style,output\nphoto.jpg,painting.png,b.png\nb.png,painting.png,\n")
    _batch(capsys, ["--manifest", "runs.csv", "--output-dir", ".", "--weights", weights_file, "--quiet"],
           "run photo__painting: writing ./b.png would replace the content image", work)


def test_batch_report_never_replaces_an_input(work, weights_file, capsys):
    """``out/*.png`` picks up a previous batch's contact sheet, which this batch would rewrite."""
    os.mkdir("out")
    Image.fromarray(rgb(seed=4)).save("out/sheet.png")
    _batch(capsys, ["--content-image", "out/*.png", "--style-image", "painting.png", "--output-dir", "out",
                    "--weights", weights_file, "--quiet"], "the batch's sheet.png would replace the content image",
           work)


def test_batch_manifest_is_an_input(work, weights_file, capsys):
    (work / "list.png").write_text("content,style,output\nphoto.jpg,painting.png,list.png\n")
    _batch(capsys, ["--manifest", "list.png", "--output-dir", ".", "--weights", weights_file, "--quiet"],
           "would replace the manifest list.png", work)


# ---- 2. image bombs and very large pictures ------------------------------------------------------------------

def png_bomb(path, width=40000, height=40000):
    """A PNG whose header says ``width x height`` (1-bit grey) with only its first rows of data: a few kB."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = zlib.compress(b"\0" * ((width + 7) // 8 + 1) * 64, 9)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return str(path)


def jpeg_bomb(path, width=60000, height=60000):
    """A real small JPEG whose frame header is rewritten to claim ``width x height``."""
    buf = io.BytesIO()
    Image.fromarray(rgb(16, 16)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return str(path)


@pytest.mark.parametrize("make, needle", [(png_bomb, "1,600,000,000 pixels, more than the limit of 150,000,000"),
                                          (jpeg_bomb, "more than the limit of 150,000,000")])
def test_image_bomb_refused_in_one_line_before_any_work(make, needle, work, weights_file, capsys):
    bomb = make(work / "bomb.img")
    assert os.path.getsize(bomb) < 10_000
    started = time.perf_counter()
    message = refused(capsys, ["--content-image", bomb, "--style-image", "painting.png", "--weights", weights_file,
                               "--output-dir", "out", "--quiet"], needle, work)
    assert time.perf_counter() - started < 5  # the header alone is read; generous for a loaded machine
    assert "NSTYLE_MAX_PIXELS" in message and not os.path.exists("out")


def test_image_bomb_is_never_decoded(tmp_path, monkeypatch):
    """The refusal comes from the header: Pillow never starts decoding (so no memory and no time is spent)."""
    from PIL import ImageFile

    bombs = [png_bomb(tmp_path / "b.png"), jpeg_bomb(tmp_path / "b.jpg"), png_bomb(tmp_path / "c.png", 20000, 10000)]

    def no_decoding(self, *a, **k):
        raise AssertionError("Pillow was asked to decode the bomb")
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    for path in bombs:
        started = time.perf_counter()
        with pytest.raises(NStyleError, match="refused without decoding"):
            imio.read_image(path, 600)
        assert time.perf_counter() - started < 1.0


PEAK_PROBE = """
import json, os, sys, time, types
root, bomb = sys.argv[1], sys.argv[2]
pkg = types.ModuleType("nstyle"); pkg.__path__ = [os.path.join(root, "nstyle")]
sys.modules["nstyle"] = pkg  # nstyle.files.images and its two helpers only, without the package's MXNet imports
from nstyle.files import images
def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
before, started = hwm(), time.perf_counter()
try:
    images.read_image(bomb, 600)
except images.NStyleError as exc:
    message = str(exc)
print(json.dumps({"seconds": time.perf_counter() - started, "before": before, "peak": hwm(), "message": message}))
"""


def test_image_bomb_peak_memory_in_a_fresh_process(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, ROOT, bomb], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert "pixels, more than the limit" in got["message"]
    assert got["peak"] < 200 and got["peak"] - got["before"] < 20, got
    assert got["seconds"] < 1.0, got


def test_cli_refuses_a_bomb_before_loading_mxnet(tmp_path, weights_file):
    """The whole command line in a fresh process: refused from the header before MXNet is loaded, under 200 MB."""
    bomb = png_bomb(tmp_path / "bomb.png")
    probe = ("import sys, json; from nstyle import cli\n"
             "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024\n"
             "code = cli.main(sys.argv[1:]); print(json.dumps([code, hwm(), 'mxnet' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", probe, "--content-image", bomb, "--style-image", bomb, "--weights",
                          weights_file, "--output-dir", str(tmp_path / "out")], capture_output=True, text=True)
    code, peak, mxnet_loaded = json.loads(out.stdout)
    assert code == 2 and peak < 200 and not mxnet_loaded, (peak, out.stderr)
    assert out.stderr.count("\n") == 1 and "more than the limit" in out.stderr
    assert os.listdir(tmp_path) == ["bomb.png"]


def test_pixel_limit_is_raised_or_lowered_by_the_environment(tmp_path, monkeypatch):
    path = str(tmp_path / "p.png")
    Image.fromarray(rgb(100, 120)).save(path)
    assert imio.read_image(path).shape == (100, 120, 3)
    monkeypatch.setenv("NSTYLE_MAX_PIXELS", "11999")
    with pytest.raises(NStyleError, match=r"120x100 is 12,000 pixels, more than the limit of 11,999"):
        imio.read_image(path)
    monkeypatch.setenv("NSTYLE_MAX_PIXELS", "12000")
    assert imio.read_image(path).shape == (100, 120, 3)
    monkeypatch.setenv("NSTYLE_MAX_PIXELS", "lots")
    with pytest.raises(NStyleError, match="NSTYLE_MAX_PIXELS='lots': must be a positive whole number"):
        imio.read_image(path)


def test_raising_the_limit_past_pillows_guard_lets_the_header_through(tmp_path, monkeypatch):
    """Above twice PIL.Image.MAX_IMAGE_PIXELS Pillow refuses by itself; a user who raised our limit gets ours."""
    bomb = png_bomb(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    monkeypatch.setenv("NSTYLE_MAX_PIXELS", str(40000 * 40000 - 1))
    with pytest.raises(NStyleError, match=r"40000x40000 is 1,600,000,000 pixels, more than the limit of 1,599,999,999"):
        imio.read_image(bomb)


def test_importing_nstyle_keeps_pillows_own_guard():
    out = subprocess.run([sys.executable, "-c", "import PIL.Image as I; d = I.MAX_IMAGE_PIXELS; import nstyle.api, "
                          "nstyle.files.images, nstyle.batch.runs; print(I.MAX_IMAGE_PIXELS == d and d is not None)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_pil_image_objects_obey_the_limit_too(tmp_path, monkeypatch):
    bomb = png_bomb(tmp_path / "bomb.png", 16000, 10000)
    with pytest.warns(Image.DecompressionBombWarning), Image.open(bomb) as lazy:  # Pillow only warns at 160 MP
        with pytest.raises(NStyleError, match="16000x10000 is 160,000,000 pixels"):
            imio.as_rgb(lazy, "content")


# reduced decoding: ordinary pictures are read exactly as before; only pictures above REDUCE_ABOVE shrink

def test_reduction_threshold_is_24_megapixels():
    assert imio.REDUCE_ABOVE == 24_000_000
    assert imio.reduction((6000, 4000), 600) == 1  # exactly at the threshold: read whole
    assert imio.reduction((6000, 4001), 600) == 3  # one row more: short side 4001 // 1200
    assert imio.reduction((8660, 5774), 600) == 4
    assert imio.reduction((8660, 5774), None) == 1  # no size given: always whole
    assert imio.reduction((8660, 5774), 3000) == 1  # the run needs the pixels: whole


def smooth(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([127 + 100 * np.sin(xx / 23 + yy / 31), 127 + 100 * np.cos(xx / 17), 255 * yy / h], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_threshold_boundary_end_to_end(fmt, tmp_path, monkeypatch):
    """With the threshold set to 96x64 pixels: 96x64 is read exactly as Pillow decodes it, 97x64 is reduced."""
    monkeypatch.setattr(imio, "REDUCE_ABOVE", 96 * 64)
    at, above = str(tmp_path / f"at.{fmt}"), str(tmp_path / f"above.{fmt}")
    Image.fromarray(smooth(64, 96)).save(at, format=fmt, quality=95)
    Image.fromarray(smooth(64, 97)).save(above, format=fmt, quality=95)
    whole = np.asarray(Image.open(at).convert("RGB"))
    assert np.array_equal(imio.read_image(at, 8), whole)
    assert np.array_equal(imio.read_image(at, 8), imio.read_image(at))
    reduced = imio.read_image(above, 8)
    assert reduced.shape[0] < 64 and min(reduced.shape[:2]) >= 16  # short side kept >= 2 x the long edge
    assert imio.read_image(above).shape == (64, 97, 3)


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "1", "I;16", "CMYK"])
def test_reduced_reading_matches_the_whole_picture(mode, tmp_path, monkeypatch):
    """Above the threshold the reduced picture, resized, is within a few levels of the classic resize."""
    monkeypatch.setattr(imio, "REDUCE_ABOVE", 1000)
    pic = Image.fromarray(smooth(240, 360))
    fmt = "JPEG" if mode in ("RGB", "CMYK") else "PNG"
    if mode == "I;16":
        pic = Image.fromarray((np.asarray(pic.convert("L")).astype(np.uint16) * 257))
    elif mode != "RGB":
        pic = pic.convert(mode)
    path = str(tmp_path / f"pic.{fmt.lower()}")
    pic.save(path, format=fmt, quality=95)
    whole, reduced = imio.read_image(path), imio.read_image(path, 24)
    assert reduced.shape[0] < whole.shape[0] and reduced.dtype == whole.dtype
    size = imio.content_size(whole.shape, 24)
    a, b = imio.resize01(whole, size), imio.resize01(reduced, size)
    tolerance = 0.5 if mode == "1" else 0.03  # dithered bilevel pixels average differently; the rest closely
    assert np.abs(a - b).mean() < tolerance / 3 and np.abs(a - b).max() < tolerance * 4, (np.abs(a - b).max())


def test_reduced_reading_keeps_the_exif_orientation(tmp_path, monkeypatch):
    monkeypatch.setattr(imio, "REDUCE_ABOVE", 1000)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = str(tmp_path / "rot.jpg")
    Image.fromarray(smooth(200, 320)).save(path, exif=exif, quality=95)
    whole, reduced = imio.read_image(path), imio.read_image(path, 20)
    assert whole.shape == (320, 200, 3) and reduced.shape[0] > reduced.shape[1]
    size = imio.content_size(whole.shape, 20)
    assert np.abs(imio.resize01(whole, size) - imio.resize01(reduced, size)).mean() < 0.01


def test_runs_read_large_files_reduced_and_small_ones_whole(tmp_path, monkeypatch):
    """``api.read_inputs`` passes the run's long edge (times --style-scale for styles) to the reader."""
    from nstyle import api

    seen = []
    monkeypatch.setattr(imio, "read_image", lambda path, long_edge=None: seen.append((path, long_edge)) or rgb())
    api.read_inputs(Config(content_image="c.jpg", style_image=["s.jpg", "t.jpg"], max_long_edge=300,
                           style_scale=2.5))
    assert seen == [("c.jpg", 300), ("s.jpg", 750), ("t.jpg", 750)]


# ---- 3. non-finite settings ----------------------------------------------------------------------------------

FLOAT_FIELDS = [f.name for f in dataclasses.fields(Config) if field_kind(f.name)[0] is float]
BAD_NUMBERS = ["inf", "-inf", "nan", "1e400"]


def test_every_float_setting_is_covered():
    assert set(FLOAT_FIELDS) == {"stop_eps", "content_weight", "style_weight", "tv_weight", "lr", "lr_sched_factor",
                                 "remove_noise", "style_blend_weights", "style_scale", "style_layer_weights"}


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_cli_refuses_non_finite_settings_before_loading_anything(name, value, tmp_path, capsys):
    """The images and weights do not exist: the message about the number proves it came first."""
    flag = "--" + name.replace("_", "-")
    argv = ["--content-image", tmp_path / "none.jpg", "--style-image", tmp_path / "none.png", "--weights",
            tmp_path / "none.params", "--output-dir", tmp_path / "out", f"{flag}={value}"]  # = lets "-inf" through
    shown = "inf" if value == "1e400" else value
    refused(capsys, argv, f"{flag} {shown}: must be a finite number", tmp_path)


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_api_refuses_non_finite_settings_before_loading_anything(name, value, tmp_path):
    number = float(value)
    with pytest.raises(NStyleError, match="must be a finite number") as info:
        nstyle.stylize(str(tmp_path / "none.jpg"), str(tmp_path / "none.png"), output_dir=str(tmp_path / "out"),
                       **{name: [number] if field_kind(name)[1] else number})
    assert info.value.code == 2 and os.listdir(tmp_path) == []
    with pytest.raises(NStyleError, match="must be a finite number"):  # text, as a manifest cell would give it
        nstyle.stylize(str(tmp_path / "none.jpg"), str(tmp_path / "none.png"), **{name: value})


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize("name", ["style_weight", "lr", "tv_weight", "style_scale", "style_layer_weights"])
def test_manifest_refuses_non_finite_settings(name, value, work, weights_file, capsys):
    (work / "runs.csv").write_text(f"content,style,{name}\nphoto.jpg,painting.png,{value}\n")
    _batch(capsys, ["--manifest", "runs.csv", "--output-dir", "out", "--weights", weights_file],
           "row 2: --" + name.replace("_", "-"), work)
    assert not os.path.exists("out")


@pytest.mark.parametrize("extra, needle", [
    (["--seed", "-1"], "--seed -1: must be between 0 and 4294967295"),
    (["--seed", "4294967296"], "--seed 4294967296: must be between 0"),
    (["--style-scale", "1e308"], "--style-scale 1e+308: must be > 0, and times --max-long-edge at most"),
    (["--style-image", "painting.png", "painting.png", "--style-blend-weights", "1e308", "1e308"],
     "whose sum is a finite number"),
])
def test_settings_that_used_to_crash_or_silently_misbehave(extra, needle, work, weights_file, capsys):
    refused(capsys, base_args(weights_file, "--output-dir", "out", *extra), needle, work)


# ---- 4. manifests saved by spreadsheets ----------------------------------------------------------------------

SPREADSHEETS = {
    "plain": b"content,style,seed\nphoto.jpg,painting.png,3\n",
    "excel_csv_utf8": b"\xef\xbb\xbfcontent,style,seed\r\nphoto.jpg,painting.png,3\r\n",
    "semicolons": b"content;style;seed\r\nphoto.jpg;painting.png;3\r\n",
    "tabs": b"content\tstyle\tseed\nphoto.jpg\tpainting.png\t3\n",
    "excel_unicode_text": "content\tstyle\tseed\r\nphoto.jpg\tpainting.png\t3\r\n".encode("utf-16"),
    "trailing_empty_rows": b"content,style,seed\nphoto.jpg,painting.png,3\n,,\n,,\n",
    "quoted": b'"content","style","seed"\n"photo.jpg","painting.png","3"\n',
}


@pytest.mark.parametrize("kind", sorted(SPREADSHEETS))
def test_manifest_from_a_spreadsheet_is_read(kind, work):
    (work / "runs.csv").write_bytes(SPREADSHEETS[kind])
    jobs = batch.jobs_from_manifest("runs.csv", Config(), "out")
    assert [(j.name, j.cfg.content_image, j.cfg.style_image, j.cfg.seed) for j in jobs] == [
        ("photo__painting", str(work / "photo.jpg"), str(work / "painting.png"), 3)]


@pytest.mark.parametrize("content, needle", [
    (b"content,style\nphoto.jpg,painting.png\n\xe9t\xe9.jpg,painting.png\n",
     "row 3: byte 0xe9 is not UTF-8 text; save the file as \"CSV UTF-8\""),
    (b"content,style\nphoto.jpg,painting.png,extra\n", "row 2: 3 cells but the header names 2 columns"),
    (b"content,style,seed,seed\nphoto.jpg,painting.png,1,2\n", "column seed appears more than once"),
    (b"content,style\nphoto.jpg,\"painting.png\n", "row 2: unexpected end of data"),
    (b"content,style\nphoto.jpg,painting.png\x00\n", "row 2: style file"),
    (b"content,style,output\nphoto.jpg,painting.png,../up.jpg\n", "row 2: output ../up.jpg must be a file name inside"),
    (b"content,style,output\nphoto.jpg,painting.png,/tmp/x.jpg\n", "row 2: output /tmp/x.jpg must be a file name"),
    (b"content,style,output\nphoto.jpg,painting.png,result.txt\n", "row 2: output result.txt: unknown image extension"),
    (b"content,style,output\nphoto.jpg,painting.png,sheet.png\n", "would be overwritten by the batch's sheet.png"),
])
def test_unreadable_manifest_names_the_row_and_the_problem(content, needle, work, weights_file, capsys):
    (work / "runs.csv").write_bytes(content)
    _batch(capsys, ["--manifest", "runs.csv", "--output-dir", "out", "--weights", weights_file], needle, work)


# ---- 5. arrays given to the API ------------------------------------------------------------------------------

@pytest.mark.parametrize("array, needle", [
    (np.full((32, 32, 3), np.nan), "holds NaN or infinite values"),
    (np.full((32, 32, 3), np.inf, np.float32), "holds NaN or infinite values"),
    (np.where(np.eye(32)[:, :, None] > 0, -np.inf, 0.5) * np.ones(3), "holds NaN or infinite values"),
    (np.zeros((0, 0, 3)), "the array is empty"),
    (np.zeros((0, 32)), "the array is empty"),
    (np.zeros((32,)), "expected an HxW, HxWx3 or HxWx4 array, got shape (32,)"),
    (np.zeros((1, 32, 32, 3)), "got shape (1, 32, 32, 3)"),
    (np.zeros((32, 32, 2)), "got shape (32, 32, 2)"),
    (np.full((32, 32, 3), 256, np.int64), "integer pixels must be in 0..255, found 256..256"),
    (np.full((32, 32, 3), -1, np.int16), "integer pixels must be in 0..255, found -1..-1"),
    (np.full((32, 32), 1000, np.uint16), "integer pixels must be in 0..255"),
    (np.ones((32, 32, 3), bool), "expected uint8 or float (0..1) pixels, got bool"),
    (np.zeros((32, 32, 3), complex), "got complex128"),
])
@pytest.mark.parametrize("role", ["content", "style"])
def test_api_refuses_bad_arrays(array, needle, role, tmp_path, weights_file):
    good = rgb(32, 32)
    content, style = (array, good) if role == "content" else (good, array)
    with pytest.raises(NStyleError) as info:
        nstyle.stylize(content, style, weights=weights_file, max_long_edge=32, max_num_epochs=1,
                       output_dir=str(tmp_path / "out"))
    assert info.value.code == 2 and str(info.value).startswith(f"{role} image: ") and needle in str(info.value)
    assert os.listdir(tmp_path) == []


def test_integer_arrays_in_range_are_read_as_uint8():
    ints = rgb().astype(np.int64)
    assert np.array_equal(imio.as_rgb(ints, "content"), rgb()) and imio.as_rgb(ints, "content").dtype == np.uint8
    assert np.array_equal(imio.as_rgb(rgb()[:, :, 0].tolist(), "content")[:, :, 2], rgb()[:, :, 0])


# ---- further cases found by trying ---------------------------------------------------------------------------

def test_output_name_is_checked_before_the_run(work, weights_file, capsys):
    """Before, an unknown extension or a directory failed after the last epoch, with the snapshots written."""
    os.mkdir("result.jpg")
    for extra, needle in ((["--output", "result.txt"], "output result.txt: unknown image extension"),
                          (["--output", "result.jpg"], "output result.jpg: is a directory")):
        refused(capsys, base_args(weights_file, "--output-dir", "out", "--save-epochs", "1", *extra), needle, work)
        assert not os.path.exists("out")


@pytest.mark.parametrize("name", ["no\nsuch.jpg", "\x1b[2J\x1b[31mred.jpg"])
def test_control_characters_in_names_stay_on_one_escaped_line(name, work, weights_file, capsys):
    message = refused(capsys, ["--content-image", name, "--style-image", "painting.png", "--weights", weights_file,
                               "--output-dir", "out"], "no such file", work)
    assert "\x1b" not in message and repr(name)[1:-1] in message


def test_devices_and_pipes_are_refused_without_reading(work, weights_file, capsys):
    """A pipe as --weights used to block for ever; /dev/zero was called an empty file."""
    os.mkfifo("pipe")
    refused(capsys, base_args("pipe", "--output-dir", "out"), "weights file pipe is not a regular file", work)
    refused(capsys, ["--content-image", "/dev/zero", "--style-image", "painting.png", "--weights", weights_file],
            "image /dev/zero: not a regular file", work)
    refused(capsys, ["--content-image", "pipe", "--style-image", "painting.png", "--weights", weights_file],
            "image pipe: not a regular file", work)


def test_formats_that_run_programs_are_never_opened(tmp_path, monkeypatch):
    """An EPS file (Pillow hands it to Ghostscript) named like a photo is refused without its plugin running."""
    from PIL import EpsImagePlugin

    def never(*a, **k):
        raise AssertionError("the EPS plugin was used")
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    path = tmp_path / "holiday.jpg"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n")
    with pytest.raises(NStyleError, match="not an image file"):
        imio.read_image(str(path))


@pytest.mark.parametrize("damage, needle", [
    ("nan", "layer conv3_1_weight holds NaN or infinite values"),
    ("int", "layer conv1_1_weight holds int32 numbers, not floats"),
])
def test_damaged_weights_are_refused_before_the_run(damage, needle, work, synthetic_params, capsys):
    """Before: NaN weights failed at epoch 1 advising a lower --lr (exit 3); integer weights ran on zeros."""
    params = dict(synthetic_params)
    if damage == "nan":
        params["conv3_1_weight"] = params["conv3_1_weight"].copy()
        params["conv3_1_weight"][0, 0, 0, 0] = np.nan
    else:
        params = {k: v.astype(np.int32) for k, v in params.items()}
    weights.save_classic(params, "damaged.params")
    refused(capsys, base_args("damaged.params", "--output-dir", "out"), needle, work)
    assert not os.path.exists("out/final.jpg")


def _checkpoint_run(work, weights_file):
    args = base_args(weights_file, "--output-dir", "out", "--save-epochs", "1", "--max-num-epochs", "3")
    assert cli.main(args) == 0
    state = dict(np.load("out/checkpoint.npz"))
    state["epoch"] = np.array(1)
    return args, state


@pytest.mark.parametrize("damage, needle", [
    ("missing", "was written by another nstyle release (it has no image entry)"),
    ("shape", "does not fit this run: ValueError"),
    ("nan", "image holds non-finite values"),
    ("text_epoch", "epoch holds <U3"),
    ("negative_epoch", "negative epoch -4"),
    ("compressed", "compressed member"),
    ("pickled", "Object arrays cannot be loaded"),
])
def test_hostile_checkpoint_with_the_right_hash_is_refused(damage, needle, work, weights_file, capsys):
    """Before, each of these gave a traceback or (NaN) overwrote the final image with garbage."""
    args, state = _checkpoint_run(work, weights_file)
    save = np.savez
    if damage == "missing":
        del state["image"]
    elif damage == "shape":
        state["image"] = np.zeros((1, 3, 5, 5), np.float32)
    elif damage == "nan":
        state["image"] = np.full_like(state["image"], np.nan)
    elif damage == "text_epoch":
        state["epoch"] = np.array("abc")
    elif damage == "negative_epoch":
        state["epoch"] = np.array(-4)
    elif damage == "compressed":
        save = np.savez_compressed
    elif damage == "pickled":
        state["extra"] = np.array([{"x": 1}], dtype=object)
    save("out/checkpoint.npz", **state)
    capsys.readouterr()
    refused(capsys, args + ["--resume"], needle, work)


def test_runs_log_that_is_a_folder_or_binary(work, weights_file, capsys):
    """A folder named runs.jsonl was a traceback; so were bytes that are not UTF-8, or a line nested 100000 deep."""
    os.makedirs("out/runs.jsonl")
    args = ["--content-image", "photo.jpg", "--style-image", "painting.png", "--output-dir", "out", "--weights",
            weights_file, "--max-long-edge", "32", "--max-num-epochs", "1", "--quiet"]
    _batch(capsys, args, "cannot read out/runs.jsonl: Is a directory", work)
    os.rmdir("out/runs.jsonl")
    with open("out/runs.jsonl", "wb") as f:
        f.write(b"\xff\xfe not utf-8\n" + b"[" * 100000 + b"\n" + b'{"name": ["x"]}\n')
    assert cli.main(["batch", *args]) == 0
    assert list(batch.read_log("out/runs.jsonl")) == ["photo__painting"]


def test_records_of_the_wrong_shape_are_ignored():
    good = {"name": "a__b", "status": "done", "hash": "h", "output": "o.jpg", "content": "a.jpg", "style": ["b.jpg"],
            "style_loss": 1.5, "epochs": 3}
    assert batch.parse_record(json.dumps(good).encode()) == good
    for change in ({"style_loss": "x"}, {"epochs": True}, {"name": 3}, {"style": [1]}, {"config": []}):
        assert batch.parse_record(json.dumps(dict(good, **change)).encode()) is None
    for key in batch.RECORD_REQUIRED:
        assert batch.parse_record(json.dumps({k: v for k, v in good.items() if k != key}).encode()) is None


def test_report_escapes_hostile_names(tmp_path):
    """A file called ``<img src=x onerror=alert(1)>.jpg`` shows as text, and ``javascript:`` names stay file links."""
    folder = tmp_path / "out"
    folder.mkdir()
    evil = str(tmp_path / "<img src=x onerror=alert(1)>.jpg")
    script = str(folder / "javascript:alert(1);.jpg")
    for path in (evil, script):
        Image.fromarray(rgb(8, 8)).save(path, format="JPEG")
    name = "<img src=x onerror=alert(1)>__s"
    done = {"name": name, "content": evil, "style": evil, "output": script, "status": "done", "hash": "h",
            "style_loss": 1.0, "content_loss": 2.0, "epochs": 1, "seconds": 0.5}
    failed = dict(done, name=name + "2", status="failed", reason="<script>alert(2)</script>")
    report.write(str(folder), {r["name"]: r for r in (done, failed)}, [done, failed])
    page = (folder / "index.html").read_text()
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;alert(2)" in page
    assert 'href="javascript:' not in page and "javascript%3Aalert%281%29%3B.jpg" in page


def test_report_thumbnails_obey_the_pixel_limit_and_formats(tmp_path, monkeypatch):
    """A bomb or an EPS file given as a content fails its run, and the report does not decode it for a thumbnail."""
    from nstyle.report import thumbs as report_thumbs

    bomb = png_bomb(tmp_path / "bomb.png", 16000, 10000)  # below Pillow's own refusal, above ours
    eps = tmp_path / "note.jpg"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\nshowpage\n")

    def no_decoding(self, *a, **k):
        raise AssertionError("decoded")
    from PIL import ImageFile
    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert report_thumbs.thumbnail(str(tmp_path), bomb, 160) is None
    assert report_thumbs.thumbnail(str(tmp_path), str(eps), 160) is None
