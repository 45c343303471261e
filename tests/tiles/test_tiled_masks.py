"""Region masks in tiled runs (issue 24): guided Grams summed over tiles are the whole picture's, a window's masked
style gradient at the start of its visit is the whole picture's, style targets (with --style-mask) are the untiled
ones, an all-ones mask tiled is the unmasked tiled run, two regions take their own styles through tiles and levels,
a masked tiled run resumes exactly, and bad masks are still refused."""
import os

import mxnet as mx
import numpy as np
import pytest
from PIL import Image

import nstyle
from nstyle import api, cli
from nstyle.algorithm import guides, losses
from nstyle.algorithm.engine import Engine, style_at_scale
from nstyle.algorithm.lossnet import LossNet
from nstyle.algorithm.regions import region_weights
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.tiles import geometry as tiles, guides as tiled_guides, level as tiled

from helpers import image_gradient
from test_tiled import SMALL, inner_windows, interrupted_run, run_cfg, smooth_image


def ramp_masks(h, w, lo, hi):
    """Left and right regions meeting in a soft linear ramp over columns ``lo..hi``."""
    right = np.tile(np.clip((np.arange(w) - lo) / float(hi - lo), 0.0, 1.0), (h, 1))
    return [1.0 - right, right]


@pytest.mark.parametrize("kind", ["simple", "inside"])
def test_tiled_guided_grams_sum_to_the_whole_pictures(synthetic_params, kind):
    """Every layer's and region's guided Gram summed over the cores of a tiling equals the whole picture's (the
    graph's, at the classic layers); measured: largest difference 4.2e-7 of the largest entry (simple, inside and
    all guides alike)."""
    cfg = Config(mask_guide=kind)
    size = (224, 288)
    img = smooth_image(*size, seed=3)
    masks = ramp_masks(*size, 100, 190)
    grid = tiles.Grid(size, 224, 80)
    assert len(grid.tiles(0)) > 1
    net = tiled.FeatureNet(synthetic_params, grid.tiles(0)[0].shape, mx.cpu(), cfg.style_layer_list)
    picture = tiled_guides.canvas_guides(masks, size, grid.size, cfg.style_layer_list, kind)
    got = tiled.whole_grams(net, img, grid, tiled.layer_strides(cfg), picture)
    whole = guides.picture_guides(masks, size, cfg.style_layer_list, kind)
    want = LossNet(synthetic_params, size, mx.cpu(), regions=2).gram_targets(img, whole.arrays())
    assert len(got) == len(want) == 2 * len(cfg.style_layer_list)
    for g, w in zip(got, want):
        w = w.asnumpy()
        assert np.abs(g - w).max() <= 5e-6 * np.abs(w).max()
    plain = tiled.whole_grams(net, img, grid, tiled.layer_strides(cfg))
    assert np.abs(got[0] - plain[0]).max() > 0.1 * np.abs(plain[0]).max()  # the guides do weight the Grams


def whole_masked_gradient(synthetic_params, cfg, size, level, masks, content, image_np):
    """The untiled picture's masked style gradient with the level's style targets (content weight 0)."""
    net = LossNet(synthetic_params, size, mx.cpu(), cfg.style_layer_list, cfg.content_layer_list, regions=2)
    own = guides.picture_guides(masks, size, cfg.style_layer_list, cfg.mask_guide)
    shapes = [s for s in net.style_shapes for _ in range(2)]
    targets = [mx.nd.array(t * s[2] * s[3]) for t, s in zip(level.style_per_position, shapes)]
    executor = net.bind_losses(targets, net.content_targets(content), own.arrays())
    per_layer = [targets[2 * i:2 * i + 2] for i in range(len(net.style_shapes))]
    head = losses.head_gradients(net.style_shapes, cfg.style_weight, 0.0, mx.cpu(), cfg.layer_weights(),
                                 len(cfg.content_layer_list), region_weights(cfg, own, per_layer))
    return image_gradient(executor, head, image_np)[0]


def test_a_windows_masked_style_gradient_is_the_whole_pictures(synthetic_params):
    """With the picture's guides cut to the window and the picture's normalisation, a window's masked style gradient
    at the start of its visit equals the whole picture's where the window's features are exact; guides normalised
    over the window instead do not give it."""
    cfg = Config(content_weight=0.0, **SMALL)
    size = (160, 192)
    start, content = smooth_image(*size, seed=4), smooth_image(*size, seed=5)
    styles = [(np.clip(smooth_image(144, 144, seed=s)[0].transpose(1, 2, 0) / 255 + 0.5, 0, 1), 0.5) for s in (6, 7)]
    masks = ramp_masks(*size, 70, 120)
    grid = tiled.grid_for(cfg, size, 64)
    level = tiled.TiledLevel(cfg, synthetic_params, mx.cpu(), grid, size, tiled.pad_to(content, grid.size), styles,
                             start, lambda window: LossNet(synthetic_params, window, mx.cpu(), cfg.style_layer_list,
                                                           cfg.content_layer_list, regions=2), None, masks)
    whole = whole_masked_gradient(synthetic_params, cfg, size, level, masks, content, start)
    checked = 0
    for k, tile, inner in inner_windows(grid, size):
        level.tile_index = k
        window = tiles.split(start, tile)
        grams, targets = level._window_targets(window)
        cut = level._window_guides(tile)
        mine = image_gradient(level.net.bind_losses(grams, targets, [g[None, None] for c in cut for g in c]),
                              level.head, window)[0]
        own = [g[None, None] / np.sqrt(max(np.mean(np.square(g)), 1e-30)) for c in cut for g in c]  # the window's
        naive = image_gradient(level.net.bind_losses(grams, targets, own), level.head, window)[0]
        want = whole[(slice(None),) + tile.window][inner]
        scale = np.abs(want).max()
        assert np.abs(mine[inner] - want).max() <= 1e-5 * scale  # measured 2.1e-7; the window's guides: 0.69, 1.3
        assert np.abs(naive[inner] - want).max() > 0.2 * scale
        checked += 1
    assert checked >= 2


def test_style_targets_with_a_style_mask_from_tiles_equal_the_untiled_ones(synthetic_params, weights_file):
    """Region r's target per position, from the style image tiled and guided by its --style-mask (or whole), is the
    untiled run's (the engine's guided style Grams at the content's scale, per content position)."""
    cfg = Config(weights=weights_file, gpu=-1, mask_guide="all", style_image=["a", "b"], **SMALL)
    size = (96, 128)
    content01 = np.clip(smooth_image(*size, seed=8)[0].transpose(1, 2, 0) / 255 + 0.5, 0, 1)
    raw = [(np.clip(smooth_image(120, 160, seed=s)[0].transpose(1, 2, 0) / 255 + 0.5, 0, 1) * 255).astype(np.uint8)
           for s in (9, 10)]
    style_masks = [ramp_masks(30, 40, 12, 20)[0], None]
    styles = [(style_at_scale(cfg, s, size, content01, whole=False), 0.5) for s in raw]
    grid = tiled.grid_for(cfg, size, 64)
    assert len(grid.tiles(0)) > 1
    level = tiled.TiledLevel(cfg, synthetic_params, mx.cpu(), grid, size, tiled.network_canvas(content01, grid.size),
                             styles, np.zeros((1, 3) + size, np.float32),
                             lambda window: LossNet(synthetic_params, window, mx.cpu(), cfg.style_layer_list,
                                                    cfg.content_layer_list, regions=2), None,
                             ramp_masks(*size, 40, 80), style_masks)
    per_style = Engine().grams_per_style(cfg, raw, size, content01, style_masks)
    shapes = LossNet(synthetic_params, size, mx.cpu(), cfg.style_layer_list).style_shapes
    want = [per_style[r][i].asnumpy() / (s[2] * s[3]) for i, s in enumerate(shapes) for r in range(2)]
    for got, w in zip(level.style_per_position, want):
        assert np.abs(got - w).max() <= 5e-6 * np.abs(w).max()  # measured 4.7e-7
    assert np.abs(want[0] - want[1]).max() > 0.2 * np.abs(want[1]).max()  # the regions' targets differ (0.6)


def test_an_all_ones_mask_tiled_is_the_unmasked_tiled_run(weights_file, images):
    """Bit for bit, over a level that fits one window and a tiled one."""
    kw = dict(max_long_edge=128, tile_size=96, max_num_epochs=4, init="content", **SMALL)
    plain = api.run(run_cfg(weights_file, images, **kw))
    masked = nstyle.stylize(images["content"], images["style"], content_masks=[np.ones((32, 32))],
                            weights=weights_file, gpu=-1, quiet=True, **kw)
    assert len(plain.history) == len(masked.history) > 8
    assert [e.style_loss for e in plain.history] == [e.style_loss for e in masked.history]
    assert np.array_equal(plain.image, masked.image)


def two_style_files(tmp_path):
    """A red and a blue picture with some texture, and left / right masks with a soft 16-px edge (PNG files)."""
    red, blue = np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
    red[..., 0], blue[..., 2] = 220, 220
    red[::4, :, 1] = blue[::4, :, 1] = 120
    left, right = (np.round(m * 255).astype(np.uint8) for m in ramp_masks(64, 64, 24, 40))
    names = {}
    for name, arr in (("red", red), ("blue", blue), ("left", left), ("right", right)):
        names[name] = str(tmp_path / f"{name}.png")
        Image.fromarray(arr).save(names[name])
    return names


def test_a_tiled_masked_run_paints_each_region_with_its_style(weights_file, images, tmp_path, capsys):
    """From the command line: 128 px in 96 px tiles (a coarse level in one window, then 9 tiles), the left region
    red, the right one blue; each half ends nearer its own style's colour."""
    f = two_style_files(tmp_path)
    out = tmp_path / "out.png"
    status = cli.main(["--content-image", images["content"], "--style-image", f["red"], f["blue"],
                       "--content-mask", f["left"], f["right"], "--weights", weights_file, "--gpu", "-1",
                       "--max-long-edge", "128", "--tile-size", "96", "--max-num-epochs", "8", "--init", "content",
                       "--lr", "0.01", "--style-weight", "100", "--style-layers", SMALL["style_layers"],
                       "--content-layers", SMALL["content_layers"], "--output", str(out)])
    err = capsys.readouterr().err
    assert status == 0, err
    picture = np.asarray(Image.open(out).convert("RGB"), float)
    assert picture.shape == (128, 128, 3)
    left, right = picture[:, :48].mean(axis=(0, 1)), picture[:, 80:].mean(axis=(0, 1))
    assert left[0] - left[2] > 20 and right[2] - right[0] > 20, (left, right)


def test_a_tiled_masked_run_resumes_to_the_same_picture(weights_file, images, tmp_path):
    """Interrupted in a tile of the tiled level, --resume (masks read again from the flags) ends where an
    uninterrupted run does."""
    f = two_style_files(tmp_path)
    kw = dict(max_long_edge=128, tile_size=96, max_num_epochs=8, style_image=[f["red"], f["blue"]],
              content_mask=[f["left"], f["right"]], **SMALL)
    whole = api.run(run_cfg(weights_file, images, tmp_path / "a", **kw))
    info, _ = interrupted_run(run_cfg(weights_file, images, tmp_path / "b", **kw), 8 + 4 * 2 + 1)
    assert "in tile 5/9 of pass 1/4" in str(info.value)
    resumed = api.run(run_cfg(weights_file, images, tmp_path / "b", resume=True, **kw))
    assert np.array_equal(resumed.image, whole.image)


def test_bad_masks_are_still_refused_in_tiled_runs(weights_file, images, tmp_path):
    out = tmp_path / "out"
    for given, message in (([np.zeros((8, 8))], "empty"), ([np.ones((8, 9))], "aspect ratio"),
                           ([np.ones((8, 8))] * 2, "one mask per")):
        with pytest.raises(NStyleError, match=message):
            nstyle.stylize(images["content"], images["style"], content_masks=given, weights=weights_file,
                           max_long_edge=128, tile_size=96, output_dir=str(out), **SMALL)
    assert not os.path.exists(out)
