"""What a masked run costs beyond an unmasked one (issue 24), counted rather than timed: binds, forward and
backward passes per epoch, and the operators of the guided loss graph."""
from collections import Counter

import json

import mxnet as mx
import numpy as np

import nstyle
from nstyle.algorithm import losses

from test_masks import halves, picture


def counted_run(monkeypatch, weights_file, epochs, masked):
    """A NAG run of ``epochs`` at 48 px (two regions and two styles if ``masked``, else one style); the number of
    binds, executor forwards and backwards, and NDArray reads to the host it made."""
    calls = Counter()

    def spy(cls, name):
        real = getattr(cls, name)

        def counting(self, *a, **k):
            calls[name] += 1
            return real(self, *a, **k)
        monkeypatch.setattr(cls, name, counting)

    spy(mx.sym.Symbol, "bind")
    spy(mx.executor.Executor, "forward")
    spy(mx.executor.Executor, "backward")
    spy(mx.nd.NDArray, "asnumpy")
    styles = [picture(seed=1), picture(seed=2)] if masked else [picture(seed=1)]
    nstyle.stylize(picture(), styles, content_masks=list(halves()) if masked else None, weights=weights_file,
                   max_long_edge=48, max_num_epochs=epochs, stop_eps=0, quiet=True)
    monkeypatch.undo()
    return calls


def test_a_masked_epoch_is_one_forward_and_one_backward_as_unmasked(monkeypatch, weights_file):
    runs = {(masked, epochs): counted_run(monkeypatch, weights_file, epochs, masked)
            for masked in (False, True) for epochs in (2, 5)}
    per_epoch = {m: {k: (runs[m, 5][k] - runs[m, 2][k]) / 3 for k in ("forward", "backward", "asnumpy")}
                 for m in (False, True)}
    # one VGG forward and backward per epoch, as unmasked (the other forward is the TV gradient's)
    assert per_epoch[True]["forward"] == per_epoch[False]["forward"] == 2
    assert per_epoch[True]["backward"] == per_epoch[False]["backward"] == 1
    # host reads per epoch: the same, plus one per extra style loss (5 layers x 2 regions instead of 5)
    assert per_epoch[True]["asnumpy"] - per_epoch[False]["asnumpy"] == 5, per_epoch
    # nothing bound per epoch; set-up: unmasked binds the Gram executor for the style, the content executor, the
    # loss executor and the TV one; masked the same plus the Gram executor again for the second style
    assert runs[True, 2]["bind"] == runs[True, 5]["bind"] == runs[False, 2]["bind"] + 1 == 5
    # set-up forwards: content and each style
    assert runs[True, 2]["forward"] - 2 * 2 == 3 and runs[False, 2]["forward"] - 2 * 2 == 2


def test_the_guided_gram_multiplies_without_broadcasting():
    """The guide enters as a same-shape product: MXNet's broadcast_mul backward runs a generic reduction for both
    of its inputs, several times the cost of the product itself (profiled, issue 24)."""
    shape = (1, 4, 6, 7)
    ops = [n["op"] for n in json.loads(
        losses.guided_gram(mx.sym.Variable("x"), mx.sym.Variable("g"), shape).tojson())["nodes"]]
    assert "elemwise_mul" in ops and not any(op.startswith("broadcast") for op in ops)
    f = np.random.RandomState(0).rand(*shape).astype(np.float32)
    t = np.random.RandomState(1).rand(6, 7).astype(np.float32)
    spread = losses.spread_guide(t[None, None], 4)
    assert spread.shape == shape and np.array_equal(spread[0, 3].asnumpy(), t)
    ex = losses.guided_gram(mx.sym.Variable("x"), mx.sym.Variable("g"), shape).bind(
        mx.cpu(), {"x": mx.nd.array(f), "g": mx.nd.array(spread)})
    ex.forward()
    g = (f[0] * t).reshape(4, -1)
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), g @ g.T, rtol=1e-5)


def test_full_resolution_guides_are_broadcast_and_the_deeper_ones_spread(synthetic_params):
    """Guide memory bound per region (issue 24): relu1_1's guide is one channel (broadcast in the product), the
    deeper layers' are spread over their channels; relu1_1's spread guide was half of all guide bytes."""
    from nstyle.algorithm import lossnet

    size = (64, 48)
    net = lossnet.LossNet(synthetic_params, size, mx.cpu(), regions=2)
    assert net.guide_channels[0] == 1 and net.guide_channels[1:] == [s[1] for s in net.style_shapes[1:]]
    ones = [np.ones((1, 1) + s[2:], np.float32) for s in net.style_shapes for _ in range(2)]
    ex = net.bind_losses([mx.nd.zeros((s[1], s[1])) for s in net.style_shapes for _ in range(2)],
                         [mx.nd.zeros(net.style_shapes[3])], ones)
    per_region = sum(ex.arg_dict[lossnet.guide_name(i, 0)].size * 4 for i in range(len(net.style_shapes)))
    deeper = sum(int(np.prod(s[1:])) * 4 for s in net.style_shapes[1:])
    assert per_region == size[0] * size[1] * 4 + deeper
    spread_before = deeper + int(np.prod(net.style_shapes[0][1:])) * 4
    assert per_region < 0.5 * spread_before


def test_a_broadcast_guide_gives_the_spread_guides_bits():
    """The same float products forward and backward, so an all-ones mask is still the unmasked run bit for bit."""
    shape = (1, 5, 6, 7)
    f = np.random.RandomState(0).rand(*shape).astype(np.float32)
    t = np.random.RandomState(1).rand(6, 7).astype(np.float32)
    found = []
    for channels in (1, 5):
        x = mx.sym.Variable("x")
        loss = mx.sym.sum(mx.sym.square(losses.guided_gram(x, mx.sym.Variable("g"), shape, channels)))
        grad = mx.nd.zeros(shape)
        ex = loss.bind(mx.cpu(), {"x": mx.nd.array(f), "g": losses.spread_guide(t[None, None], channels)},
                       args_grad={"x": grad}, grad_req={"x": "write", "g": "null"})
        ex.forward(is_train=True)
        ex.backward([mx.nd.ones((1,))])
        found.append((ex.outputs[0].asnumpy(), grad.asnumpy()))
    ops = [n["op"] for n in json.loads(losses.guided_gram(mx.sym.Variable("x"), mx.sym.Variable("g"), shape,
                                                          1).tojson())["nodes"]]
    assert "broadcast_mul" in ops
    assert np.array_equal(found[0][0], found[1][0]) and np.array_equal(found[0][1], found[1][1])


def test_freed_memory_is_returned_on_glibc():
    import platform

    from nstyle.process import resources

    assert resources.return_freed_memory() == (platform.libc_ver()[0] == "glibc")
