"""User mistakes give one line and status 2, interrupts and NaN keep the work (atomic writes: files/test_atomic.py)."""
import io
import os
import signal

import mxnet as mx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from helpers import rgb
from nstyle import api, cli
from nstyle.algorithm.loop import noise_image
from nstyle.config import Config
from nstyle.errors import Interrupted, NStyleError, NumericalFailure
from nstyle.files import checkpoint, weights
from nstyle.files import images as imio
from nstyle.process import resources


def args_for(content, style, weights_file, out, *extra):
    return ["--content-image", str(content), "--style-image", str(style), "--weights", str(weights_file),
            "--max-long-edge", "32", "--max-num-epochs", "2", "--output-dir", str(out), "--quiet", *extra]


def leftovers(folder):
    """Files a failed run must not leave: any final image or temporary file."""
    if not os.path.isdir(folder):
        return []
    return [n for n in os.listdir(folder) if n.startswith("final") or ".tmp" in n]


def expect_error(capsys, argv, needle, out):
    status = cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith("nstyle: error:") and needle in err[0], err
    assert leftovers(out) == []


# --- images -----------------------------------------------------------------------------------------------

def _bad_image(kind, tmp_path):
    path = tmp_path / f"{kind}.jpg"
    good = io.BytesIO()
    if kind == "missing":
        return path, "no such file"
    if kind == "directory":
        path.mkdir()
        return path, "directory"
    if kind == "text":
        path.write_text("this is not a picture\n")
        return path, "not an image"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if kind in ("truncated_jpeg", "truncated_png"):
        fmt = "JPEG" if kind == "truncated_jpeg" else "PNG"
        Image.fromarray(rgb(200, 300)).save(good, format=fmt)
        path = tmp_path / f"{kind}.{fmt.lower()}"
        path.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
        return path, "truncated"
    if kind == "too_small":
        Image.fromarray(rgb(8, 400)).save(path)
        return path, "at least 16"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "directory", "text", "empty", "truncated_jpeg", "truncated_png",
                                  "too_small"])
@pytest.mark.parametrize("role", ["content", "style"])
def test_bad_image(kind, role, tmp_path, weights_file, capsys):
    bad, needle = _bad_image(kind, tmp_path)
    good = tmp_path / "good.png"
    Image.fromarray(rgb()).save(good)
    if kind == "too_small" and role == "style":
        pytest.skip("the style image is resized to the content's size, so its own size does not matter")
    content, style = (bad, good) if role == "content" else (good, bad)
    expect_error(capsys, args_for(content, style, "unused.params", tmp_path / "out"), needle, tmp_path / "out")


def test_unreadable_permissions(tmp_path, weights_file, capsys, monkeypatch):
    path = tmp_path / "locked.jpg"
    Image.fromarray(rgb()).save(path)
    os.chmod(path, 0)
    if os.access(path, os.R_OK):  # root reads anything: make the open fail the way it would for a user
        real_open = Image.open

        def deny(p, *a, **k):
            if str(p) == str(path):
                raise PermissionError(13, "Permission denied", str(p))
            return real_open(p, *a, **k)
        monkeypatch.setattr(imio.Image, "open", deny)
    expect_error(capsys, args_for(path, path, weights_file, tmp_path / "out"), "permission denied", tmp_path / "out")


def test_too_big_for_memory_names_the_fix(tmp_path, weights_file, capsys, monkeypatch):
    good = tmp_path / "good.png"
    Image.fromarray(rgb()).save(good)
    monkeypatch.setattr(resources, "available_bytes", lambda: 300 * 2**20)
    expect_error(capsys, args_for(good, good, weights_file, tmp_path / "out"), "--max-long-edge", tmp_path / "out")
    assert resources.estimate_bytes((400, 600)) > resources.estimate_bytes((200, 300))


def test_style_scale_too_big_for_memory_names_style_scale(tmp_path, weights_file, capsys, monkeypatch):
    good = tmp_path / "good.png"
    Image.fromarray(rgb()).save(good)
    # enough for the 32-pixel content, not for a style image 100 times its size
    monkeypatch.setattr(resources, "available_bytes", lambda: resources.estimate_bytes((320, 320)))
    expect_error(capsys, args_for(good, good, weights_file, tmp_path / "out", "--style-scale", "100"),
                 "lower --style-scale (now 100.0)", tmp_path / "out")


def _odd_image(kind, path):
    arr = rgb(48, 64)
    if kind == "grey":
        Image.fromarray(arr[:, :, 0]).save(path)
    elif kind == "rgba":
        Image.fromarray(np.dstack([arr, np.full(arr.shape[:2], 128, np.uint8)])).save(path)
    elif kind == "palette":
        Image.fromarray(arr).convert("P").save(path)
    elif kind == "16bit":
        Image.fromarray(arr[:, :, 0].astype(np.uint16) * 257).save(path)
    elif kind == "cmyk":
        Image.fromarray(arr).convert("CMYK").save(path, format="JPEG")
    elif kind == "exif_rotated":
        exif = Image.Exif()
        exif[0x0112] = 6
        Image.fromarray(arr).save(path, format="JPEG", exif=exif)


@pytest.mark.parametrize("kind", ["grey", "rgba", "palette", "16bit", "cmyk", "exif_rotated"])
def test_unusual_valid_images_run(kind, tmp_path, weights_file):
    path = str(tmp_path / (kind + (".jpg" if kind in ("cmyk", "exif_rotated") else ".png")))
    _odd_image(kind, path)
    out = tmp_path / "out"
    assert cli.main(args_for(path, path, weights_file, out, "--max-num-epochs", "1")) == 0
    final = Image.open(out / "final.jpg")
    # 48x64 scaled to a 32-pixel long edge; the EXIF orientation 6 swaps width and height
    assert final.size == ((24, 32) if kind == "exif_rotated" else (32, 24))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=2048),
                      st.tuples(st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "TIFF"]), st.floats(0, 1)).map(
                          lambda t: _truncated(*t))))
def test_loader_fuzz_only_raises_our_error(data, tmp_path):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        out = imio.read_image(str(path))
    except NStyleError:
        return
    assert out.ndim == 3 and out.shape[2] == 3


def _truncated(fmt, fraction):
    buf = io.BytesIO()
    Image.fromarray(rgb(20, 30)).save(buf, format=fmt)
    raw = buf.getvalue()
    return raw[: int(len(raw) * fraction)]


# --- weights and flags --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, needle", [("wrong_file", "not a readable"), ("truncated", "not a readable"),
                                          ("missing_layer", "conv5_1_weight"), ("wrong_shape", "(64, 3, 3, 3)")])
def test_bad_weights(kind, needle, tmp_path, synthetic_params, images, capsys):
    path = tmp_path / "w.params"
    if kind == "wrong_file":
        path.write_bytes(b"\x89PNG not weights at all" * 10)
    elif kind == "truncated":
        weights.save_classic({"conv1_1_weight": synthetic_params["conv1_1_weight"]}, str(path))
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "missing_layer":
        params = dict(synthetic_params)
        del params["conv5_1_weight"]
        weights.save_classic(params, str(path))
    elif kind == "wrong_shape":
        params = dict(synthetic_params, conv1_1_weight=np.zeros((64, 3, 5, 5), np.float32))
        weights.save_classic(params, str(path))
    expect_error(capsys, args_for(images["content"], images["style"], path, tmp_path / "out"), needle,
                 tmp_path / "out")


@pytest.mark.parametrize("flag, value", [("--max-num-epochs", "-5"), ("--max-long-edge", "0"), ("--lr", "-1"),
                                         ("--save-epochs", "0"), ("--lr-sched-factor", "1.5"),
                                         ("--stop-eps", "nan"), ("--style-weight", "-2")])
def test_out_of_range_flags(flag, value, tmp_path, weights_file, images, capsys):
    expect_error(capsys, args_for(images["content"], images["style"], weights_file, tmp_path / "out", flag, value),
                 flag, tmp_path / "out")


def test_output_dir_cannot_be_created(tmp_path, weights_file, images, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    expect_error(capsys, args_for(images["content"], images["style"], weights_file, blocker / "out"),
                 "cannot create output directory", tmp_path / "nothing")


@pytest.mark.parametrize("what, needle", [("dangling-link", "it is a link to {}, which does not exist"),
                                          ("file", "a file of that name is in the way")])
def test_output_dir_that_is_not_a_folder_says_what_is_there(what, needle, tmp_path, weights_file, images, capsys):
    """Issue 27: both used to say "File exists" (a share's mount point now a dangling link, a file in the way)."""
    out, target = tmp_path / "out", tmp_path / "share" / "gone"
    if what == "file":
        out.write_text("x")
    else:
        out.symlink_to(target)
    expect_error(capsys, args_for(images["content"], images["style"], weights_file, out),
                 f"cannot create output directory {out}: " + needle.format(target), tmp_path / "nothing")
    assert out.is_symlink() or out.read_text() == "x"


# --- interrupts and resume ---------------------------------------------------------------------------------

def small_config(images, weights_file, out, **kw):
    base = dict(content_image=images["content"], style_image=images["style"], weights=weights_file,
                max_long_edge=40, max_num_epochs=12, save_epochs=5, output_dir=str(out), quiet=True)
    base.update(kw)
    return Config(**base)


def signal_at(epoch, signum):
    def hook(ep):
        if ep.epoch == epoch:
            os.kill(os.getpid(), signum)
    return hook


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_and_resume_matches_uninterrupted(signum, status, tmp_path, weights_file, images):
    whole = api.run(small_config(images, weights_file, tmp_path / "whole"))
    cfg = small_config(images, weights_file, tmp_path / "split")
    with pytest.raises(Interrupted) as info:
        api.run(cfg, on_epoch=signal_at(7, signum))
    assert info.value.code == status and "--resume" in str(info.value)
    assert os.path.exists(tmp_path / "split" / "final.jpg")
    assert int(np.load(tmp_path / "split" / "checkpoint.npz")["epoch"]) == 7
    resumed = api.run(small_config(images, weights_file, tmp_path / "split", resume=True))
    assert resumed.epochs == whole.epochs == 12
    assert np.abs(resumed.image.astype(int) - whole.image.astype(int)).max() <= 1


def test_interrupt_exit_status_from_cli(tmp_path, weights_file, images, capsys, monkeypatch):
    real_run = api.run
    monkeypatch.setattr(api, "run", lambda cfg: real_run(cfg, on_epoch=signal_at(2, signal.SIGINT)))
    status = cli.main(args_for(images["content"], images["style"], weights_file, tmp_path / "o",
                               "--max-num-epochs", "5"))
    assert status == 130
    assert "checkpoint.npz" in capsys.readouterr().err


def test_resume_refuses_other_settings_and_missing_checkpoint(tmp_path, weights_file, images):
    with pytest.raises(NStyleError, match="no checkpoint"):
        api.run(small_config(images, weights_file, tmp_path / "none", resume=True))
    api.run(small_config(images, weights_file, tmp_path / "a", max_num_epochs=5))
    with pytest.raises(NStyleError, match="different settings"):
        api.run(small_config(images, weights_file, tmp_path / "a", max_num_epochs=5, style_weight=3.0, resume=True))


def test_checkpoint_round_trip_and_corrupt(tmp_path):
    state = {"image": np.arange(6.0).reshape(1, 1, 2, 3), "epoch": np.int64(4)}
    path = str(tmp_path / "checkpoint.npz")
    checkpoint.save(path, state, "abc")
    back = checkpoint.load(path, "abc")
    assert np.array_equal(back["image"], state["image"]) and int(back["epoch"]) == 4
    with open(path, "r+b") as f:
        f.truncate(40)
    with pytest.raises(NStyleError, match="unreadable"):
        checkpoint.load(path, "abc")


# --- numerical failure ---------------------------------------------------------------------------------------

def test_overflowing_weights_stop_with_last_finite_image(tmp_path, synthetic_params, images):
    params = {k: v * (1e6 if k.endswith("_weight") else 1) for k, v in synthetic_params.items()}
    path = str(tmp_path / "huge.params")
    weights.save_classic(params, path)
    cfg = small_config(images, path, tmp_path / "out")
    with pytest.raises(NumericalFailure) as info:
        api.run(cfg)
    assert info.value.code == 3 and "epoch 1" in str(info.value) and "--lr" in str(info.value)
    saved = np.asarray(Image.open(tmp_path / "out" / "final.jpg"))
    # the last finite image is the starting noise: mean colour + noise in [-0.1, 0.1], i.e. the mean's levels
    size = saved.shape[:2]
    start = imio.postprocess(noise_image((1, 3) + size, mx.cpu(), cfg.seed).asnumpy())
    assert np.abs(saved.astype(int) - start.astype(int)).max() <= 3  # JPEG at quality 75 of a flat image
