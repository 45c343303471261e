"""Atomic writes: the file appears whole or not at all, with the permissions a plain write would give it."""
import os
import stat

import pytest

from helpers import rgb
from nstyle import cli
from nstyle.errors import NStyleError
from nstyle.files import atomic as atomic_module
from nstyle.files import images as imio
from nstyle.files.atomic import atomic_path


@pytest.fixture
def umask():
    """Set the process umask for one test, then put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def write(path, text="x"):
    with atomic_path(str(path)) as tmp, open(tmp, "w") as f:
        f.write(text)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_umasks_mode(tmp_path, umask, mask, expected):
    """Not the owner-only mode of a temporary file: results shared with a group or a web server stay readable."""
    umask(mask)
    write(tmp_path / "a.txt")
    assert mode(tmp_path / "a.txt") == expected


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "a.txt"
    write(path, "old")
    os.chmod(path, 0o640)
    write(path, "new")
    assert mode(path) == 0o640 and path.read_text() == "new"


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "final.png"
    with pytest.raises(ValueError):
        with atomic_path(str(target)) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise ValueError("disk full while encoding")
    assert os.listdir(tmp_path) == []


def test_target_directory_vanishing_is_one_line_error(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "final.png"

    def vanish(src, dst):
        os.unlink(src)
        os.rmdir(folder)
        raise FileNotFoundError(2, "No such file or directory", str(dst))
    monkeypatch.setattr(atomic_module.os, "replace", vanish)
    with pytest.raises(NStyleError, match="cannot write"):
        imio.save_image(rgb(), str(target))
    assert not folder.exists()


def test_existing_output_survives_failed_write(tmp_path, monkeypatch):
    target = tmp_path / "final.jpg"
    imio.save_image(rgb(), str(target))
    before = target.read_bytes()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(imio.Image.Image, "save", full_disk)
    with pytest.raises(NStyleError, match="No space left"):
        imio.save_image(rgb(seed=1), str(target))
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["final.jpg"]


def test_the_results_of_a_run_are_readable_by_the_group(tmp_path, umask, weights_file, images):
    umask(0o022)
    out = tmp_path / "out"
    assert cli.main(["--content-image", images["content"], "--style-image", images["style"], "--weights",
                     weights_file, "--max-long-edge", "32", "--max-num-epochs", "2", "--save-epochs", "1", "--quiet",
                     "--output-dir", str(out)]) == 0
    modes = {name: mode(out / name) for name in os.listdir(out)}
    assert "final.jpg" in modes and "checkpoint.npz" in modes and set(modes.values()) == {0o644}, modes
