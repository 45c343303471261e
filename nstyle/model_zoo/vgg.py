"""The symbolic VGG19 convolution stack, named as in the paper (conv1_1 ... relu5_1)."""
from __future__ import annotations

from typing import Dict

import mxnet as mx

from .spec import CONV_WIDTH, LAYER_ORDER


def build(last: str = "relu5_1", pooling: str = "avg") -> Dict[str, mx.sym.Symbol]:
    """Build the stack on a ``data`` variable up to layer ``last``; return every layer by name."""
    if last not in LAYER_ORDER:
        raise ValueError(f"unknown VGG19 layer {last!r}")
    x = mx.sym.Variable("data")
    layers: Dict[str, mx.sym.Symbol] = {}
    for name in LAYER_ORDER[: LAYER_ORDER.index(last) + 1]:
        kind = name.rstrip("0123456789_")
        if kind == "conv":
            x = mx.sym.Convolution(data=x, name=name, num_filter=CONV_WIDTH[name], kernel=(3, 3),
                                   stride=(1, 1), pad=(1, 1), no_bias=False, workspace=1024)
        elif kind == "relu":
            x = mx.sym.Activation(data=x, name=name, act_type="relu")
        else:
            x = mx.sym.Pooling(data=x, name=name, kernel=(2, 2), stride=(2, 2), pad=(0, 0),
                               pool_type=pooling)
        layers[name] = x
    return layers
