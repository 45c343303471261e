"""Shared fixtures: seeded synthetic weights in the classic file format and small sample images."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from nstyle.files import weights

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(scope="session")
def synthetic_params():
    """The seed-0 synthetic VGG19 parameters (dict name -> float32 array)."""
    return weights.synthetic(seed=0)


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory, synthetic_params) -> str:
    """A classic-format ``vgg19.params`` holding the seed-0 synthetic weights."""
    path = str(tmp_path_factory.mktemp("model") / "vgg19.params")
    weights.save_classic(synthetic_params, path)
    return path


def _save(arr: np.ndarray, path) -> str:
    Image.fromarray(arr).save(str(path))
    return str(path)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> dict:
    """``content`` (astronaut) and ``style`` (coffee) as small JPEG files from scikit-image's samples."""
    from skimage import data
    from skimage.transform import resize

    d = tmp_path_factory.mktemp("images")
    out = {}
    for name, arr in (("content", data.astronaut()), ("style", data.coffee()), ("cat", data.chelsea())):
        small = (resize(arr, (arr.shape[0] // 4, arr.shape[1] // 4)) * 255).astype(np.uint8)
        out[name] = _save(small, d / f"{name}.jpg")
    return out


@pytest.fixture(scope="session")
def browser() -> str:
    """The path of a headless-capable Chromium (the report's and the live page's browser tests), or a skip."""
    from helpers import find_chromium

    exe = find_chromium()
    if not exe:
        pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium; .ci/run installs it when apt works)")
    return exe
