"""``--precision bf16`` (issue 28): the loss network's trunk in bfloat16 where the CPU has AVX512_BF16, refused
elsewhere; float32 (the default) is the graph it always was."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from helpers import ROOT, one_error_line
from nstyle import api
from nstyle.algorithm import precision
from nstyle.algorithm.engine import Engine
from nstyle.config import Config
from nstyle.errors import NStyleError



def bf16_runs_here() -> bool:
    """Whether ``--precision bf16`` would run here: the product's own check (the CPU's AVX512_BF16 and no
    ``DNNL_MAX_CPU_ISA`` cap below it), so a capped run of the suite skips instead of failing."""
    try:
        precision.check("bf16", mx.cpu())
    except NStyleError:
        return False
    return True


HAS_BF16 = bf16_runs_here()


def cfg_for(images_, weights_file, **kw):
    base = dict(content_image=images_["content"], style_image=images_["style"], weights=weights_file,
                max_long_edge=48, output_dir=None, quiet=True, optimizer="lbfgs", init="content", max_num_epochs=3)
    return Config(**dict(base, **kw))


def casts(executor) -> int:
    """The bfloat16 casts in an executor's graph (``tojson`` leaves AMP's casts out, the internals keep them)."""
    return sum("_amp_cast_bfloat16" in name for name in executor._symbol.get_internals().list_outputs())


def test_float32_graph_is_untouched():
    x = mx.sym.Convolution(mx.sym.Variable("data"), num_filter=2, kernel=(3, 3))
    assert precision.lowered(x, "float32") is x


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no AVX512_BF16")
def test_bf16_run_follows_float32(images, weights_file):
    """Same run in both precisions: the bf16 executor holds casts, the float32 one none, and the losses of the
    first evaluation (from the same photo) agree to bf16's precision, not to the bit."""
    engine = Engine()
    plain = api.run(cfg_for(images, weights_file), engine=engine)
    low = api.run(cfg_for(images, weights_file, precision="bf16"), engine=engine)
    nets = {net.precision: net for net in engine._nets.values() if net.executor is not None}
    assert casts(nets["float32"].executor) == 0
    assert casts(nets["bf16"].executor) == 1 + 2 * 13  # the image and every conv's weight and bias (to conv5_1)
    first_plain, first_low = plain.history[0], low.history[0]
    assert first_low.style_loss != first_plain.style_loss
    assert first_low.style_loss == pytest.approx(first_plain.style_loss, rel=0.05)
    assert first_low.content_loss == pytest.approx(first_plain.content_loss, rel=0.05, abs=1.0)
    assert np.abs(low.image.astype(float) - plain.image.astype(float)).mean() < 8.0  # levels of 255
    assert Config(precision="bf16").hash() != Config().hash() and "precision" not in Config().numeric_dict()


def test_bf16_refused_where_it_cannot_run(images, weights_file, tmp_path):
    """One line, exit 2, nothing written: under a DNNL_MAX_CPU_ISA cap below bf16 (or on a CPU without it)."""
    env = dict(os.environ, DNNL_MAX_CPU_ISA="AVX2", PYTHONPATH=ROOT)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "nstyle", "--content-image", images["content"], "--style-image",
                           images["style"], "--weights", weights_file, "--max-long-edge", "48", "--precision", "bf16",
                           "--output-dir", str(out), "--quiet"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "--precision bf16" in line and ("AVX2" in line or "AVX512_BF16" in line)
    assert not out.exists() or not any(out.iterdir())


def test_bad_precision_value():
    with pytest.raises(Exception, match="--precision"):
        Config(precision="fp16").validate()


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no AVX512_BF16")
def test_bf16_targets_are_bf16_passes(images, weights_file):
    """With bf16 the target executors run the bfloat16 trunk too: the photo's own features match its content
    target to the bit (content loss exactly 0 at the photo), where float32 targets leave bf16's rounding as a
    content loss to fix; style targets are kept apart from float32's in memory."""
    from nstyle.files import images as image_files

    cfg = cfg_for(images, weights_file, precision="bf16")
    engine = Engine()
    size = (32, 48)
    content_np = image_files.to_network(image_files.resize01(image_files.read_image(images["content"], 48), size))
    net = engine.loss_net(cfg, size)
    grams = engine.style_targets(cfg, [image_files.read_image(images["style"], 48)], size, None)
    target = net.content_targets(content_np)
    assert casts(net._features["contents"]) > 0
    ex = net.bind_losses(grams, target)
    ex.arg_dict["data"][:] = content_np
    ex.forward()
    assert float(ex.outputs[net.n_style].asnumpy().sum()) == 0.0
    plain = engine.style_targets(cfg_for(images, weights_file), [image_files.read_image(images["style"], 48)],
                                 size, None)
    assert len(engine._grams) == 2 and not np.array_equal(plain[0].asnumpy(), grams[0].asnumpy())
