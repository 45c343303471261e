"""Where the image starts: --init (noise, content, style, a file) and --multires (level sizes, upsampling)."""
import mxnet as mx
import numpy as np
import pytest

from nstyle import api
from nstyle.algorithm import pyramid
from nstyle.algorithm.loop import start_image
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.files import images as imio

CPU = mx.cpu()


def cfg_for(images_, weights_file, **kw):
    base = dict(content_image=images_["content"], style_image=images_["style"], weights=weights_file,
                max_long_edge=64, output_dir=None, quiet=True)
    return Config(**dict(base, **kw))


def test_init_choices_give_the_right_start(images, weights_file, tmp_path):
    size = (40, 64)
    inputs = api.read_inputs(cfg_for(images, weights_file))
    content_np = images_np = imio.preprocess(inputs.content, size)
    start = start_image(cfg_for(images, weights_file, init="content"), inputs, size, content_np, CPU, None)
    np.testing.assert_allclose(start.asnumpy(), content_np, rtol=1e-6)
    style = start_image(cfg_for(images, weights_file, init="style"), inputs, size, content_np, CPU, None)
    np.testing.assert_allclose(style.asnumpy(), imio.preprocess(inputs.styles[0], size), rtol=1e-6)
    from_file = start_image(cfg_for(images, weights_file, init=images["cat"]), inputs, size, images_np, CPU, None)
    expected = imio.preprocess(imio.read_image(images["cat"]), size)
    np.testing.assert_allclose(from_file.asnumpy(), expected, rtol=1e-6)
    noise = start_image(cfg_for(images, weights_file), inputs, size, content_np, CPU, None).asnumpy()
    assert noise.shape == (1, 3) + size and np.abs(noise).max() <= 0.1
    with pytest.raises(NStyleError, match="--init"):
        cfg_for(images, weights_file, init=str(tmp_path / "missing.png")).validate()


def test_multires_levels_and_upsampled_start(images, weights_file):
    cfg = cfg_for(images, weights_file, multires=2, max_long_edge=128)
    assert pyramid.level_sizes((400, 640, 3), cfg, "x") == [(20, 32), (40, 64), (80, 128)]
    with pytest.raises(NStyleError, match="--multires"):
        pyramid.level_sizes((300, 300, 3), cfg_for(images, weights_file, multires=3), "x")
    coarse = mx.nd.array(np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 3, 2, 4), CPU)
    up = start_image(cfg, None, (4, 8), None, CPU, coarse).asnumpy()
    assert up.shape == (1, 3, 4, 8)
    assert up.min() >= coarse.asnumpy().min() and up.max() <= coarse.asnumpy().max()
    np.testing.assert_allclose(up.mean(axis=(2, 3)), coarse.asnumpy().mean(axis=(2, 3)), rtol=0.05)


def test_fast_setting_end_to_end(images, weights_file):
    seen = []
    result = api.run(cfg_for(images, weights_file, optimizer="lbfgs", init="content", multires=1,
                             max_num_epochs=5), on_image=lambda ep, img: seen.append(img.shape))
    assert result.image.shape == (64, 64, 3) and result.epochs == len(seen) <= 10
    assert seen[0] == (1, 3, 32, 32) and seen[-1] == (1, 3, 64, 64)
    adam = api.run(cfg_for(images, weights_file, optimizer="adam", init="content", max_num_epochs=3))
    assert adam.epochs == 3 and all(e.finite for e in adam.history)
