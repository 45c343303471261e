"""Outputs of fixed configurations against the saved ones in tests/golden (see tests/goldens.py)."""
import os

import numpy as np
import pytest
from PIL import Image

import goldens


@pytest.mark.parametrize("name", sorted(goldens.CONFIGS))
def test_output_matches_saved(name, weights_file, tmp_path):
    saved = np.asarray(Image.open(os.path.join(goldens.GOLDEN, f"{name}.png"))).astype(int)
    fresh = goldens.render(name, weights_file, str(tmp_path)).astype(int)
    assert fresh.shape == saved.shape
    diff = np.abs(fresh - saved)
    assert diff.max() <= goldens.TOLERANCE, f"{name}: max difference {diff.max()} levels, mean {diff.mean():.3f}"


def test_saved_outputs_are_not_flat():
    # A saved output that is one colour would make the comparison above meaningless.
    for name in goldens.CONFIGS:
        saved = np.asarray(Image.open(os.path.join(goldens.GOLDEN, f"{name}.png")))
        assert saved.std() > 5
