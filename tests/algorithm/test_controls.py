"""Opt-in controls: several styles, style scale, colour preservation, layer selection, the Python API."""
import json
import re

import mxnet as mx
import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2yiq

from helpers import rgb
import nstyle
from nstyle import api, cli
from nstyle.algorithm import color
from nstyle.algorithm.lossnet import LossNet
from nstyle.config import Config, coerce_value, parse_value
from nstyle.errors import NStyleError
from nstyle.files import images


def inputs_of(content, *styles):
    return api.Inputs(content, list(styles), "content", [f"style{i}" for i in range(len(styles))])


def targets(cfg, inputs, size=(24, 32)):
    engine = api.Engine()
    grams = engine.style_targets(cfg, inputs.styles, size, images.resize01(inputs.content, size))
    return [g.asnumpy() for g in grams], engine


def test_style_targets_are_cached_by_pixels_not_by_name(weights_file):
    content, a, b = rgb(30, 40, 0), rgb(50, 50, 1), rgb(50, 50, 2)
    cfg, size, engine = Config(weights=weights_file), (24, 32), api.Engine()
    content01 = images.resize01(content, size)
    first = engine.style_targets(cfg, [a], size, content01)[0].asnumpy()
    other = engine.style_targets(cfg, [b], size, content01)[0].asnumpy()  # same shape, other pixels
    assert engine.gram_computations == 2 and np.abs(first - other).max() > 1e-3 * np.abs(first).max()
    again = engine.style_targets(cfg, [a.copy()], size, content01)[0].asnumpy()  # same pixels, another array
    assert engine.gram_computations == 2 and np.array_equal(again, first)


def test_blend_of_one_and_of_identical_styles(weights_file):
    content, a, b = rgb(30, 40, 0), rgb(50, 50, 1), rgb(40, 60, 2)
    cfg = Config(weights=weights_file)
    single, _ = targets(cfg, inputs_of(content, a))
    weighted, _ = targets(Config(weights=weights_file, style_blend_weights=[1.0]), inputs_of(content, a))
    twice, engine = targets(Config(weights=weights_file, style_image=["x", "y"]), inputs_of(content, a, a.copy()))
    for s, w, t in zip(single, weighted, twice):
        np.testing.assert_allclose(w, s, rtol=1e-6)
        np.testing.assert_allclose(t, s, rtol=1e-5)
    mix, _ = targets(Config(weights=weights_file, style_image=["x", "y"], style_blend_weights=[3, 1]),
                     inputs_of(content, a, b))
    only_b, _ = targets(cfg, inputs_of(content, b))
    for m, s, o in zip(mix, single, only_b):
        np.testing.assert_allclose(m, 0.75 * s + 0.25 * o, rtol=1e-5, atol=1e-3)


def test_style_scale_keeps_aspect_and_normalises_by_positions(weights_file, synthetic_params):
    content, style = rgb(30, 40, 3), rgb(100, 300, 4)  # the style is three times wider than high
    size = (24, 32)
    cfg = Config(weights=weights_file, style_scale=2.0)
    got, engine = targets(cfg, inputs_of(content, style), size)
    style_size = images.content_size(style.shape, 64)  # 2 x the content's long edge, aspect kept
    assert style_size == (21, 64)
    raw_net = LossNet(synthetic_params, style_size, mx.cpu())
    raw = raw_net.gram_targets(images.preprocess(style, style_size))
    content_net = LossNet(synthetic_params, size, mx.cpu())
    for g, r, cs, ss in zip(got, raw, content_net.style_shapes, raw_net.style_shapes):
        assert g.shape == (cs[1], cs[1])
        ratio = (cs[2] * cs[3]) / (ss[2] * ss[3])  # target = Gram x N_content / N_style at each layer
        np.testing.assert_allclose(g, r.asnumpy() * ratio, rtol=1e-5)
    stretched, _ = targets(Config(weights=weights_file), inputs_of(content, style), size)
    assert not np.allclose(stretched[0], got[0], rtol=1e-2)


def test_luminance_transfer_keeps_content_chroma_exactly():
    result, content = rgb(8, 9, 5).astype(float), rgb(8, 9, 6).astype(float)
    mixed = color.luminance_transfer(result, content)
    np.testing.assert_allclose(rgb2yiq(mixed)[..., 1:], rgb2yiq(content)[..., 1:], atol=1e-9)
    np.testing.assert_allclose(rgb2yiq(mixed)[..., 0], rgb2yiq(result)[..., 0], atol=1e-9)
    # the same without YIQ: the result's luma (Rec. 601 weights), and the content moved along grey only
    luma = np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(mixed @ luma, result @ luma, atol=1e-9)
    shift = mixed - content
    np.testing.assert_allclose(shift, np.repeat(shift[..., :1], 3, axis=-1), atol=1e-3)


def test_histogram_matching_gives_content_mean_and_covariance():
    style = np.random.RandomState(7).uniform(0, 1, (20, 30, 3)) ** 2
    content = np.random.RandomState(8).uniform(0, 1, (25, 25, 3)) @ np.array([[1, .2, 0], [0, .5, .3], [.1, 0, .7]])
    out = color.match_colors(style, content)
    flat, ref = out.reshape(-1, 3), content.reshape(-1, 3)
    np.testing.assert_allclose(flat.mean(0), ref.mean(0), atol=1e-10)
    np.testing.assert_allclose(np.cov(flat, rowvar=False), np.cov(ref, rowvar=False), atol=1e-10)


def count_convolutions(net):
    sym = mx.sym.Group([net.grams] + net.contents)
    return sum(node["op"] == "Convolution" for node in json.loads(sym.tojson())["nodes"])


def test_layer_selection_truncates_the_graph(synthetic_params):
    assert count_convolutions(LossNet(synthetic_params, (32, 32), mx.cpu())) == 13  # up to conv5_1
    shallow = LossNet(synthetic_params, (32, 32), mx.cpu(), ["relu1_1", "relu2_1"], ["relu2_2"])
    assert count_convolutions(shallow) == 4
    assert shallow.n_style == 2


def test_layer_flags_validate_and_weight_the_head(weights_file, images, tmp_path):
    with pytest.raises(NStyleError, match="--style-layers"):
        Config(style_layers="relu9_9").validate()
    with pytest.raises(NStyleError, match="--style-layer-weights"):
        Config(style_layers="relu1_1,relu2_1", style_layer_weights=[1.0]).validate()
    with pytest.raises(NStyleError, match="--style-blend-weights"):
        Config(style_image=["a", "b"], style_blend_weights=[1.0]).validate()
    from nstyle.algorithm import losses
    head = losses.head_gradients([(1, 64, 4, 4), (1, 128, 2, 2)], 1.0, 5.0, mx.cpu(), [2.0, 0.5], n_content=2)
    assert [h.asscalar() for h in head] == pytest.approx([2.0 / (64 * 16 * 64), 0.5 / (128 * 4 * 128), 5.0, 5.0])


def test_manifest_style_values_parse():
    assert parse_value("style_blend_weights", "3 1") == [3.0, 1.0]
    assert parse_value("style_blend_weights", "3,1") == [3.0, 1.0]
    assert parse_value("style_image", "a.jpg") == "a.jpg"
    assert parse_value("style_image", "a.jpg b.jpg") == ["a.jpg", "b.jpg"]
    assert parse_value("style_scale", "") is None and parse_value("style_scale", "0.5") == 0.5
    assert parse_value("max_long_edge", "300") == 300 and parse_value("quiet", "yes") is True
    with pytest.raises(ValueError):
        parse_value("max_long_edge", "big")


def test_cli_several_styles():
    ns = cli.build_parser().parse_args(["--style-image", "a.jpg", "b.jpg", "--style-blend-weights", "3", "1"])
    cfg = cli.config_from_args(ns)
    assert cfg.style_images == ["a.jpg", "b.jpg"] and cfg.blend_weights() == [0.75, 0.25]
    assert cli.config_from_args(cli.build_parser().parse_args(["--style-image", "a.jpg"])).style_image == "a.jpg"


def test_api_and_cli_give_the_same_image(images, weights_file, tmp_path):
    opts = dict(max_long_edge=40, max_num_epochs=4, style_weight=2.0, preserve_color="luminance",
                weights=weights_file, quiet=True)
    result = nstyle.stylize(images["content"], images["style"], **opts)
    assert result.image.dtype == np.uint8 and result.image.shape[2] == 3 and result.epochs == 4
    out = tmp_path / "cli.png"
    argv = ["--content-image", images["content"], "--style-image", images["style"], "--output", str(out),
            "--output-dir", str(tmp_path), "--max-long-edge", "40", "--max-num-epochs", "4", "--style-weight", "2",
            "--preserve-color", "luminance", "--weights", weights_file, "--quiet"]
    assert cli.main(argv) == 0
    assert np.array_equal(np.asarray(Image.open(out)), result.image)
    # arrays and PIL images are accepted too, and give the same picture as the paths
    pil = nstyle.stylize(Image.open(images["content"]), np.asarray(Image.open(images["style"])), **opts)
    assert np.array_equal(np.asarray(pil), result.image)
    assert list(tmp_path.iterdir()) != [] and not any(p.name == "final.jpg" for p in tmp_path.iterdir())


def test_api_rejects_unknown_options_and_writes_nothing_by_default(images, weights_file, tmp_path, monkeypatch):
    with pytest.raises(NStyleError, match="unknown option"):
        nstyle.stylize(images["content"], images["style"], style_wieght=3)
    monkeypatch.chdir(tmp_path)
    nstyle.stylize(images["content"], images["style"], weights=weights_file, max_long_edge=32, max_num_epochs=1,
                   quiet=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option, value, message", [
    ("max_long_edge", "big", "--max-long-edge 'big': must be an integer"),
    ("max_long_edge", 2.5, "--max-long-edge 2.5: must be an integer"),
    ("max_long_edge", 0, "--max-long-edge 0: must be > 0"),
    ("style_weight", [1], "--style-weight [1]: must be a number"),
    ("quiet", "maybe", "--quiet 'maybe': must be yes/no"),
    ("optimizer", "sgd", "--optimizer 'sgd': must be nag, adam or lbfgs"),
    ("content_image", "x.jpg", "unknown option"),
])
def test_api_validates_types_like_the_cli(images, option, value, message):
    with pytest.raises(NStyleError, match=re.escape(message)):
        nstyle.stylize(images["content"], images["style"], **{option: value})


def test_api_coerces_values_the_cli_would_accept():
    assert coerce_value("max_long_edge", "300") == 300 and coerce_value("max_long_edge", np.int64(64)) == 64
    assert coerce_value("style_weight", 2) == 2.0 and isinstance(coerce_value("style_weight", 2), float)
    assert coerce_value("style_blend_weights", 3) == [3.0] and coerce_value("style_blend_weights", (1, 2)) == [1, 2]
    assert coerce_value("output_dir", None) is None and coerce_value("quiet", 1) is True
