"""Weight files: the classic format, its errors, synthetic weights, and the GluonCV mapping with folding.

Nothing here downloads: an autouse fixture makes every download helper GluonCV/MXNet could call fail the test.
"""
import math
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from helpers import ROOT
from nstyle.errors import NStyleError
from nstyle.files import images, weights
from nstyle.model_zoo import spec, vgg


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """Any attempt to fetch model files fails loudly instead of touching the network."""
    import gluoncv.model_zoo.model_store as gluoncv_store
    import gluoncv.utils
    import mxnet.gluon.utils

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to download {args[:1]}")
    for module in (gluoncv_store, gluoncv.utils, mxnet.gluon.utils):
        monkeypatch.setattr(module, "download", refuse)


# -- classic file format ------------------------------------------------------------------------------------------

def test_classic_file_round_trip(tmp_path, synthetic_params):
    path = str(tmp_path / "vgg19.params")
    weights.save_classic(synthetic_params, path)
    raw = mx.nd.load(path)
    assert isinstance(raw, dict)
    assert sorted(raw) == sorted("arg:" + k for k in synthetic_params)
    assert "arg:conv1_1_weight" in raw and "arg:conv5_4_bias" in raw
    loaded = weights.load_classic(path)
    assert set(loaded) == set(spec.conv_shapes()) and len(loaded) == 32
    for k, v in synthetic_params.items():
        assert loaded[k].dtype == np.float32
        assert loaded[k].shape == spec.conv_shapes()[k]
        assert np.array_equal(loaded[k], v)
    assert not os.path.exists(path + ".tmp") and os.listdir(tmp_path) == ["vgg19.params"]


def test_a_file_without_the_deeper_layers_names_the_first_missing_one(tmp_path, synthetic_params):
    path = str(tmp_path / "front.params")
    front = {k: v for k, v in synthetic_params.items() if k.startswith(("conv1_", "conv2_"))}
    weights.save_classic(front, path)
    with pytest.raises(NStyleError, match="conv3_1_weight"):
        weights.load_classic(path)


def test_synthetic_is_seeded_he_normal():
    a, b, c = weights.synthetic(1), weights.synthetic(1), weights.synthetic(2)
    assert set(a) == set(spec.conv_shapes())
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv1_1_weight"], c["conv1_1_weight"])
    for name, shape in spec.conv_shapes().items():
        assert a[name].dtype == np.float32 and a[name].shape == shape
        if name.endswith("_bias"):
            assert not a[name].any()
            continue
        fan_in = shape[1] * shape[2] * shape[3]
        # He-normal: mean 0, std sqrt(2/fan_in). conv1_1 has only 1728 draws, so allow more there.
        rel = 0.1 if name == "conv1_1_weight" else 0.03
        assert a[name].std() == pytest.approx(math.sqrt(2.0 / fan_in), rel=rel), name
        assert abs(a[name].mean()) < 0.1 * math.sqrt(2.0 / fan_in), name


# -- errors ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, needles", [
    ("missing", ["not found", "download.sh", "--weights gluoncv"]),
    ("directory", ["is a directory"]),
    ("text", ["not a readable MXNet .params file", "Invalid NDArray file format"]),
    ("truncated", ["not a readable MXNet .params file", "truncated"]),
    ("empty", ["not a readable MXNet .params file"]),
    ("list", ["unnamed list", "arg:conv1_1_weight"]),
    ("missing_layer", ["no layer conv4_2_weight"]),
    ("wrong_shape", ["layer conv2_1_weight has shape (128, 64, 1, 1), expected (128, 64, 3, 3)"]),
])
def test_load_errors_are_one_line(case, needles, tmp_path, weights_file, synthetic_params):
    path = tmp_path / "w.params"
    if case == "directory":
        path.mkdir()
    elif case == "text":
        path.write_text("model weights go here\n" * 20)
    elif case == "truncated":
        data = open(weights_file, "rb").read()
        path.write_bytes(data[: len(data) // 2])
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "list":
        mx.nd.save(str(path), [mx.nd.array(v) for v in synthetic_params.values()])
    elif case == "missing_layer":
        weights.save_classic({k: v for k, v in synthetic_params.items() if k != "conv4_2_weight"}, str(path))
    elif case == "wrong_shape":
        weights.save_classic(dict(synthetic_params, conv2_1_weight=np.zeros((128, 64, 1, 1), np.float32)), str(path))
    with pytest.raises(NStyleError) as info:
        weights.load(str(path))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert str(path) in message
    for needle in needles:
        assert needle in message, message


def test_synth_command_writes_a_loadable_file(tmp_path):
    path = tmp_path / "sub" / "s.params"
    path.parent.mkdir()
    result = subprocess.run([sys.executable, "-m", "nstyle.files.weights", "synth", str(path), "--seed", "3"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(path)
    loaded = weights.load_classic(str(path))
    expected = weights.synthetic(3)
    assert all(np.array_equal(loaded[k], expected[k]) for k in expected)
    assert not np.array_equal(loaded["conv5_1_weight"], weights.synthetic(0)["conv5_1_weight"])


# -- GluonCV ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gluon_vgg19():
    """GluonCV's vgg19 architecture (no pretrained weights) with seeded random convolutions and biases."""
    from gluoncv import model_zoo

    mx.random.seed(0)
    net = model_zoo.get_model("vgg19", pretrained=False)
    net.features.initialize(mx.init.Xavier(magnitude=2.0))
    net.features[:37](mx.nd.zeros((1, 3, 32, 32)))  # finish deferred initialisation of the convolutions only
    rng = np.random.RandomState(1)
    for block in net.features:
        if type(block).__name__ == "Conv2D":  # non-zero biases, so the bias correction of the fold matters
            block.bias.set_data(mx.nd.array(rng.uniform(-0.5, 0.5, block.bias.shape)))
    return net


def gluon_index(layer):
    """Index of ``layer`` among ``net.features`` children: GluonCV's vgg19 has exactly our conv/relu/pool order."""
    return spec.LAYER_ORDER.index(layer)


def border(layer):
    """Width of the frame where the classic input's zero padding can differ from GluonCV's (see the test below)."""
    width = 0
    for name in spec.LAYER_ORDER[: spec.LAYER_ORDER.index(layer) + 1]:
        if name.startswith("conv"):
            width += 1                       # a 3x3 conv spreads a difference one pixel further in
        elif name.startswith("pool"):
            width = math.ceil(width / 2)     # 2x2 stride 2: output i sees inputs 2i, 2i+1
    return width


def our_features(params, x, last):
    sym = vgg.build(last=last, pooling="max")[last]
    args = {"data": mx.nd.array(x)}
    args.update({k: mx.nd.array(v) for k, v in params.items() if k in sym.list_arguments()})
    ex = sym.bind(mx.cpu(), args=args, grad_req="null")
    ex.forward()
    return ex.outputs[0].asnumpy()


def test_gluon_features_are_our_layer_order(gluon_vgg19):
    kinds = {"conv": "Conv2D", "relu": "Activation", "pool": "MaxPool2D"}
    children = list(gluon_vgg19.features)
    assert [type(c).__name__ for c in children[: len(spec.LAYER_ORDER)]] == [
        kinds[name.rstrip("0123456789_")] for name in spec.LAYER_ORDER]
    assert [border(x) for x in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")] == [1, 2, 3, 4, 5]


def test_from_gluon_features_maps_the_16_convolutions_in_order(gluon_vgg19):
    mapped = weights.from_gluon_features(gluon_vgg19.features)
    convs = [c for c in gluon_vgg19.features if type(c).__name__ == "Conv2D"]
    assert len(convs) == 16 and set(mapped) == set(spec.conv_shapes())
    for name, conv in zip(spec.CONV_LAYERS, convs):
        assert np.array_equal(mapped[name + "_weight"], conv.weight.data().asnumpy())
        assert np.array_equal(mapped[name + "_bias"], conv.bias.data().asnumpy())


def test_from_gluon_features_rejects_a_shallower_vgg():
    from mxnet.gluon import nn

    features = nn.HybridSequential()
    for _ in range(8):  # VGG11 has 8 convolutions
        features.add(nn.Conv2D(64, 3, padding=1), nn.Activation("relu"))
    with pytest.raises(NStyleError, match="8 convolutions, VGG19 needs 16"):
        weights.from_gluon_features(features)


RGB = np.random.RandomState(2).uniform(0, 255, (1, 3, 96, 112))  # an image on the classic 0..255 scale


@pytest.mark.parametrize("last", ["relu1_1", "relu2_1", "relu3_1", "relu4_1"])
def test_gluoncv_mapping_and_folding_reproduce_gluoncv_features(gluon_vgg19, last):
    """GluonCV sees ``(p/255 - mean)/std``; our graph with mapped+folded weights sees ``p - images.MEAN``.

    The fold is exact except at the border: our conv1_1 zero-pads ``x = p - images.MEAN``, which is the GluonCV
    input ``g = (images.MEAN - 255*mean)/(255*std)`` (about 0.0001, 0.009, 0.007), not ``g = 0``. Only conv1_1's
    padding differs (later pads are zeros of identical activations), so after conv1_1 a 1-pixel frame differs; each
    further 3x3 conv widens it by one and each 2x2/2 pool halves it (rounding up): relu1_1 1, relu2_1 2, relu3_1 3,
    relu4_1 4 (``border``). Inside, the only difference is float32 rounding (summation order and the fold computed
    in float64 then rounded): observed <= 2e-6 of the largest feature, so the tolerance is 1e-5 of it.
    """
    mean = weights.GLUON_MEAN[None, :, None, None]
    std = weights.GLUON_STD[None, :, None, None]
    theirs = gluon_vgg19.features[: gluon_index(last) + 1](mx.nd.array((RGB / 255.0 - mean) / std)).asnumpy()
    classic_in = RGB - np.array(images.MEAN)[None, :, None, None]
    mapped = weights.from_gluon_features(gluon_vgg19.features)
    ours = our_features(weights.fold_normalisation(mapped), classic_in, last)
    assert ours.shape == theirs.shape
    crop = border(last)
    inner = (slice(None), slice(None), slice(crop, -crop), slice(crop, -crop))
    assert ours[inner].size > 0
    scale = np.abs(theirs).max()
    tol = 1e-5 * scale
    assert np.abs(ours[inner] - theirs[inner]).max() <= tol
    if last != "relu4_1":  # deeper down, ReLU and max pooling shrink the border effect towards float noise
        # the crop is no wider than needed: one pixel further out, the padding difference shows
        c = crop - 1
        frame = np.abs(ours - theirs)[:, :, c:theirs.shape[2] - c, c:theirs.shape[3] - c]
        assert frame.max() > 10 * tol
    # and the comparison can fail: without the fold, or with the weights scaled but no bias correction
    unfolded = our_features(mapped, classic_in, last)
    assert np.abs(unfolded[inner] - theirs[inner]).max() > 0.1 * scale
    # the bias correction is small (255*mean is within 0.5 of images.MEAN) but far above the tolerance
    half = dict(mapped, conv1_1_weight=weights.fold_normalisation(mapped)["conv1_1_weight"])
    assert np.abs(our_features(half, classic_in, last)[inner] - theirs[inner]).max() > 10 * tol


def test_load_gluoncv_wires_the_zoo_mapping_and_fold(gluon_vgg19, monkeypatch, tmp_path):
    from gluoncv import model_zoo

    calls = []

    def fake_get_model(name, **kwargs):
        calls.append((name, kwargs))
        return gluon_vgg19
    monkeypatch.setattr(model_zoo, "get_model", fake_get_model)
    monkeypatch.chdir(tmp_path)
    params = weights.load("gluoncv")
    assert len(calls) == 1 and calls[0][0] == "vgg19" and calls[0][1]["pretrained"] is True
    assert os.path.realpath(calls[0][1]["root"]) == os.path.realpath(tmp_path / "model")
    expected = weights.fold_normalisation(weights.from_gluon_features(gluon_vgg19.features))
    assert set(params) == set(expected)
    assert all(np.array_equal(params[k], expected[k]) for k in expected)
    assert not np.array_equal(params["conv1_1_weight"], gluon_vgg19.features[0].weight.data().asnumpy())


@pytest.mark.parametrize("error", [OSError("Temporary failure in name resolution"),
                                   mx.base.MXNetError("Traceback (most recent call last):\n  File x.cc\n"
                                                      "MXNetError: Check failed: bad file")])
def test_gluoncv_offline_is_a_clear_error(monkeypatch, error):
    from gluoncv import model_zoo

    def offline(*args, **kwargs):
        raise error
    monkeypatch.setattr(model_zoo, "get_model", offline)
    with pytest.raises(NStyleError) as info:
        weights.load("gluoncv")
    message = str(info.value)
    assert "GluonCV's vgg19" in message and "download.sh" in message
    assert "\n" not in message and "Traceback" not in message
    assert str(error).splitlines()[-1] in message
