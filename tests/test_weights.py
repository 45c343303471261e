"""Weight files: the classic format, its errors, synthetic weights, and the GluonCV mapping with folding."""
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from nstyle import vgg, weights
from nstyle.errors import NStyleError


def test_classic_file_round_trip(tmp_path, synthetic_params):
    path = str(tmp_path / "vgg19.params")
    weights.save_classic(synthetic_params, path)
    raw = mx.nd.load(path)
    assert sorted(raw) == sorted("arg:" + k for k in synthetic_params)
    loaded = weights.load_classic(path)
    assert set(loaded) == set(synthetic_params) and len(loaded) == 32
    for k, v in synthetic_params.items():
        assert loaded[k].dtype == np.float32 and np.array_equal(loaded[k], v)


def test_synthetic_is_seeded_he_normal():
    a, b, c = weights.synthetic(1), weights.synthetic(1), weights.synthetic(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["conv1_1_weight"], c["conv1_1_weight"])
    w = a["conv3_1_weight"]
    assert w.std() == pytest.approx(np.sqrt(2.0 / (128 * 9)), rel=0.02)
    assert not a["conv3_1_bias"].any()


@pytest.mark.parametrize("case, needle", [
    ("missing", "download.sh"), ("directory", "directory"), ("text", "not a readable"),
    ("truncated", "not a readable"), ("list", "unnamed list"), ("missing_layer", "conv4_2_weight"),
    ("wrong_shape", "layer conv2_1_weight has shape (128, 64, 1, 1), expected (128, 64, 3, 3)")])
def test_load_errors_are_one_line(case, needle, tmp_path, synthetic_params):
    path = tmp_path / "w.params"
    if case == "directory":
        path.mkdir()
    elif case == "text":
        path.write_text("model weights go here\n")
    elif case == "truncated":
        weights.save_classic(synthetic_params, str(path))
        path.write_bytes(path.read_bytes()[:1000])
    elif case == "list":
        mx.nd.save(str(path), [mx.nd.zeros((2,))])
    elif case == "missing_layer":
        weights.save_classic({k: v for k, v in synthetic_params.items() if k != "conv4_2_weight"}, str(path))
    elif case == "wrong_shape":
        weights.save_classic(dict(synthetic_params, conv2_1_weight=np.zeros((128, 64, 1, 1), np.float32)), str(path))
    with pytest.raises(NStyleError) as info:
        weights.load_classic(str(path))
    message = str(info.value)
    assert needle in message and "\n" not in message
    if case == "missing":
        assert "--weights gluoncv" in message


def test_synth_command_writes_a_loadable_file(tmp_path):
    path = tmp_path / "s.params"
    subprocess.run([sys.executable, "-m", "nstyle.weights", "synth", str(path), "--seed", "3"], check=True,
                   capture_output=True)
    loaded = weights.load_classic(str(path))
    assert np.array_equal(loaded["conv5_1_weight"], weights.synthetic(3)["conv5_1_weight"])


def test_gluoncv_offline_is_a_clear_error(monkeypatch):
    from gluoncv import model_zoo

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")
    monkeypatch.setattr(model_zoo, "get_model", offline)
    with pytest.raises(NStyleError, match="GluonCV's vgg19"):
        weights.load("gluoncv")


def our_features(params, x, last):
    sym = vgg.build(last=last, pooling="max")[last]
    args = {"data": mx.nd.array(x)}
    args.update({k: mx.nd.array(v) for k, v in params.items() if k in sym.list_arguments()})
    ex = sym.bind(mx.cpu(), args=args)
    ex.forward()
    return ex.outputs[0].asnumpy()


def test_gluoncv_mapping_and_folding_reproduce_gluoncv_features():
    from gluoncv import model_zoo

    mx.random.seed(0)
    net = model_zoo.get_model("vgg19", pretrained=False)
    net.initialize(mx.init.Normal(0.05))
    net.features(mx.nd.zeros((1, 3, 32, 32)))  # finish deferred initialisation
    for p in net.features.collect_params().values():
        if p.name.endswith("bias"):
            p.set_data(mx.nd.random.uniform(-0.5, 0.5, p.shape))
    rgb = np.random.RandomState(0).uniform(0, 255, (1, 3, 32, 40))  # an image on the 0..255 scale
    gluon_in = (rgb / 255.0 - weights.GLUON_MEAN[None, :, None, None]) / weights.GLUON_STD[None, :, None, None]
    # relu2_1 is child 6 of features: conv1_1 relu conv1_2 relu pool conv2_1 relu
    theirs = net.features[:7](mx.nd.array(gluon_in)).asnumpy()
    classic_in = rgb - weights.CLASSIC_MEAN[None, :, None, None]
    mapped = weights.from_gluon_features(net.features)
    ours = our_features(weights.fold_normalisation(mapped), classic_in, "relu2_1")
    assert ours.shape == theirs.shape == (1, 128, 16, 20)
    # Zero padding differs at the image border (it pads x = 0, not g = 0; small, as the two means are close).
    # conv1_1 and conv1_2 spread it two pixels in, pooling halves that, conv2_1 adds one: a 2-pixel frame.
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    scale = np.abs(theirs[inner]).max()
    np.testing.assert_allclose(ours[inner], theirs[inner], atol=1e-4 * scale, rtol=1e-3)
    unfolded = our_features(mapped, classic_in, "relu2_1")
    assert np.abs(unfolded[inner] - theirs[inner]).max() > 0.1 * scale
