"""What a watcher is shown (``nstyle.algorithm.shown``): the image strided; with ``--preserve-color luminance`` the
content's chroma mixed in as the saved picture gets it."""
from __future__ import annotations

import numpy as np

from helpers import rgb
from nstyle.algorithm.outcome import finish
from nstyle.algorithm.shown import live_picture
from nstyle.config import Config
from nstyle.files.images import postprocess, resize01
from nstyle.process.watch import strided

SIZE = (30, 44)


def network_image(seed: int = 1) -> np.ndarray:
    """A seeded network-space ``1x3xHxW`` float32 image, partly outside the pixel range (as a run's can be)."""
    noise = np.random.RandomState(seed).uniform(-140, 160, (1, 3) + SIZE)
    return noise.astype(np.float32)


def content01(seed: int = 2) -> np.ndarray:
    return rgb(*SIZE, seed=seed) / 255.0


def test_without_colour_preservation_the_picture_is_the_image_strided():
    x = network_image()
    for cfg in (Config(), Config(preserve_color="histogram")):
        picture = live_picture(cfg, lambda: x, SIZE, content01())
        assert np.array_equal(picture(1200), x) and np.array_equal(picture(20), strided(x, 20))


def test_with_luminance_the_picture_is_the_saved_one():
    x, content = network_image(), content01()
    cfg = Config(preserve_color="luminance")
    picture = live_picture(cfg, lambda: x, SIZE, content)
    saved = finish(cfg, x, content)
    assert np.array_equal(postprocess(picture(1200)), saved)  # what a watcher shows, exactly
    assert not np.array_equal(postprocess(x), saved)  # (the image alone is not)
    small = postprocess(picture(22))  # every 2nd pixel: the content strided alike
    assert small.shape == (15, 22, 3) and np.array_equal(small, finish(cfg, x[..., ::2, ::2], content[::2, ::2]))


def test_content_as_read_is_resized_to_the_picture_shown():
    x = network_image()
    read = rgb(90, 132, seed=3)  # uint8 at three times the size, as a tiled run passes it
    cfg = Config(preserve_color="luminance")
    shown = postprocess(live_picture(cfg, lambda: x, SIZE, read)(22))
    expected = finish(cfg, x[..., ::2, ::2], resize01(read, (15, 22)))
    assert shown.shape == (15, 22, 3) and np.array_equal(shown, expected)


class LastPicture:
    """A watcher keeping the last picture it was shown, 64 px long."""

    picture = None

    def attach(self, stop) -> None:  # noqa: ANN001
        pass

    def epoch(self, ep, of, where, left, picture) -> None:  # noqa: ANN001
        self.picture = postprocess(picture(64))

    def snapshot_due(self) -> bool:
        return False


def test_a_tiled_run_shows_the_colours_it_saves(images, weights_file):
    from nstyle import api

    def tiled(preserve_color):
        watch = LastPicture()
        cfg = Config(content_image=images["content"], style_image=images["style"], weights=weights_file,
                     max_long_edge=128, tile_size=96, max_num_epochs=2, init="style", preserve_color=preserve_color,
                     output_dir=None, quiet=True, style_layers="relu1_1,relu2_1,relu3_1", content_layers="relu2_2")
        return api.run(cfg.validate(), watch=watch).image[::2, ::2], watch.picture

    saved, shown = tiled("luminance")
    plain, _ = tiled(None)  # the same optimisation, saved without the content's colours
    assert shown.shape == saved.shape == (64, 64, 3)
    # the content resized rather than strided, and the end's merge: measured 1.2 levels apart; without the colours 32
    assert np.abs(shown.astype(np.int16) - saved).mean() < 4 < 20 < np.abs(plain.astype(np.int16) - saved).mean()
