"""VGG19 weights: the classic ``vgg19.params`` file, GluonCV's model zoo, and seeded synthetic files."""
from __future__ import annotations

import os
from typing import Dict, Optional

import mxnet as mx
import numpy as np

from ..errors import NStyleError
from ..model_zoo.spec import CONV_LAYERS, conv_shapes
from .atomic import atomic_path
from .images import MEAN

Params = Dict[str, np.ndarray]

#: ImageNet statistics GluonCV's networks were trained with (inputs ``(p/255 - mean)/std``).
GLUON_MEAN = np.array([0.485, 0.456, 0.406])
GLUON_STD = np.array([0.229, 0.224, 0.225])


def load_classic(path: str) -> Params:
    """Read a classic ``mx.nd.save`` file (keys ``arg:conv1_1_weight`` ...) and check its 16 conv layers.

    Raises :class:`NStyleError` for a missing, unreadable or mismatched file.
    """
    if not os.path.exists(path):
        raise NStyleError(f"weights file {path} not found: run `sh download.sh` to fetch it, "
                          "or use --weights gluoncv")
    if os.path.isdir(path):
        raise NStyleError(f"weights file {path} is a directory, not an MXNet .params file")
    if not os.path.isfile(path):
        raise NStyleError(f"weights file {path} is not a regular file (a device or a pipe?)")
    try:
        raw = mx.nd.load(path)
    except (mx.base.MXNetError, OSError, ValueError) as exc:
        raise NStyleError(f"weights file {path} is not a readable MXNet .params file "
                          f"(truncated or wrong format?): {_detail(exc)[:160]}") from None
    if not isinstance(raw, dict):
        raise NStyleError(f"weights file {path} holds an unnamed list of arrays, "
                          "not the classic dict of 'arg:conv1_1_weight' ... entries")
    params = {k.split(":", 1)[-1]: v.asnumpy() for k, v in raw.items()}
    check(params, path)
    return params


def _detail(exc: BaseException) -> str:
    """The informative line of an exception: MXNet's messages start with a C++ traceback and end with the error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def check(params: Params, source: str) -> None:
    """Raise :class:`NStyleError` if a VGG19 layer is missing or has the wrong shape."""
    expected = conv_shapes()
    for name in expected:
        if name not in params:
            raise NStyleError(f"weights file {source} has no layer {name}: "
                              "not a VGG19 file in the classic format")
        got = tuple(params[name].shape)
        if got != expected[name]:
            raise NStyleError(f"weights file {source}: layer {name} has shape {got}, "
                              f"expected {expected[name]}")
        if params[name].dtype.kind != "f":
            raise NStyleError(f"weights file {source}: layer {name} holds {params[name].dtype} numbers, not floats")
        if not np.isfinite(params[name]).all():
            raise NStyleError(f"weights file {source}: layer {name} holds NaN or infinite values; "
                              "the file is damaged (run `sh download.sh` again)")


def fold_normalisation(params: Params, mean: np.ndarray = GLUON_MEAN,
                       std: np.ndarray = GLUON_STD) -> Params:
    """Fold ``(p/255 - mean)/std`` input normalisation into ``conv1_1`` for the classic input.

    The classic graph feeds ``x = q - MEAN`` (:data:`nstyle.files.images.MEAN`) with ``q`` on a 0..255 scale; a net
    trained on ``g = (q/255 - mean)/std`` sees ``g = a*x + d`` with ``a = 1/(255 std)`` and
    ``d = (MEAN - 255 mean)/(255 std)``. So ``W' = W*a`` per input channel and
    ``b' = b + sum(W*d)``. Only zero padding at the border differs (it pads ``x = 0``, not ``g = 0``).
    """
    out = dict(params)
    w = params["conv1_1_weight"].astype(np.float64)
    a = 1.0 / (255.0 * std)
    d = (np.array(MEAN) - 255.0 * mean) / (255.0 * std)
    out["conv1_1_weight"] = (w * a[None, :, None, None]).astype(np.float32)
    bias = params["conv1_1_bias"].astype(np.float64) + (w * d[None, :, None, None]).sum(axis=(1, 2, 3))
    out["conv1_1_bias"] = bias.astype(np.float32)
    return out


def from_gluon_features(features) -> Params:
    """Map the first 16 ``Conv2D`` blocks of a GluonCV VGG's ``features`` onto conv1_1 ... conv5_4."""
    convs = [blk for blk in features if type(blk).__name__ == "Conv2D"]
    if len(convs) < len(CONV_LAYERS):
        raise NStyleError(f"GluonCV network has {len(convs)} convolutions, VGG19 needs {len(CONV_LAYERS)}")
    params: Params = {}
    for name, conv in zip(CONV_LAYERS, convs):
        params[name + "_weight"] = conv.weight.data().asnumpy()
        params[name + "_bias"] = conv.bias.data().asnumpy()
    check(params, "gluoncv vgg19")
    return params


def load_gluoncv(root: str = "model") -> Params:
    """GluonCV's ImageNet ``vgg19`` (downloaded into ``root`` if absent), mapped and folded."""
    try:
        from gluoncv import model_zoo

        net = model_zoo.get_model("vgg19", pretrained=True, root=os.path.abspath(root))
    except Exception as exc:  # network, checksum or zoo errors all mean the same to a user
        raise NStyleError(f"could not get GluonCV's vgg19 weights ({type(exc).__name__}: "
                          f"{_detail(exc)[:120]}); "
                          "check the network, or use the classic file with `sh download.sh`") from None
    return fold_normalisation(from_gluon_features(net.features))


def load(spec: str) -> Params:
    """Weights from ``--weights``: ``gluoncv`` or a path to a classic file."""
    if spec == "gluoncv":
        return load_gluoncv()
    return load_classic(spec)


def synthetic(seed: int = 0) -> Params:
    """Seeded He-normal weights (zero biases) for all 16 layers, float32."""
    rng = np.random.RandomState(seed)
    params: Params = {}
    for name, shape in conv_shapes().items():
        if name.endswith("_weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        else:
            params[name] = np.zeros(shape, np.float32)
    return params


def save_classic(params: Params, path: str) -> None:
    """Write ``params`` in the classic format (``arg:`` keys), atomically."""
    with atomic_path(path) as tmp:
        mx.nd.save(tmp, {"arg:" + k: mx.nd.array(v, dtype=v.dtype) for k, v in params.items()})


def main(argv: Optional[list] = None) -> int:
    """``python -m nstyle.files.weights synth PATH [--seed N]``: write a synthetic classic-format file."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m nstyle.files.weights",
                                description="Write seeded synthetic VGG19 weights in the classic format.")
    p.add_argument("command", choices=["synth"])
    p.add_argument("path")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    save_classic(synthetic(a.seed), a.path)
    print(a.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
