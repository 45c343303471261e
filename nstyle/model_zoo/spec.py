"""VGG19's layer names and shapes, as plain data (no MXNet): the spec table the graph is built from."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

#: (block, number of convs, width) of VGG19's five blocks.
BLOCKS: Tuple[Tuple[int, int, int], ...] = ((1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512))

#: The 16 convolution layers of VGG19, in order (the classic weight file holds all of them).
CONV_LAYERS: List[str] = [f"conv{b}_{i}" for b, n, _ in BLOCKS for i in range(1, n + 1)]

#: Output channels of each convolution.
CONV_WIDTH: Dict[str, int] = {f"conv{b}_{i}": w for b, n, w in BLOCKS for i in range(1, n + 1)}

STYLE_LAYERS: List[str] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT_LAYER: str = "relu4_2"

#: Every named layer of the stack in graph order (pool<b> follows the last relu of block b).
LAYER_ORDER: List[str] = []
for _b, _n, _ in BLOCKS:
    for _i in range(1, _n + 1):
        LAYER_ORDER += [f"conv{_b}_{_i}", f"relu{_b}_{_i}"]
    LAYER_ORDER.append(f"pool{_b}")


def conv_shapes() -> Dict[str, Tuple[int, ...]]:
    """Weight and bias shapes of every convolution, keyed like the classic file without ``arg:``."""
    shapes: Dict[str, Tuple[int, ...]] = {}
    in_ch = 3
    for name in CONV_LAYERS:
        out_ch = CONV_WIDTH[name]
        shapes[name + "_weight"] = (out_ch, in_ch, 3, 3)
        shapes[name + "_bias"] = (out_ch,)
        in_ch = out_ch
    return shapes


def deepest(names: Sequence[str]) -> str:
    """The layer among ``names`` that comes last in the graph."""
    return max(names, key=LAYER_ORDER.index)
