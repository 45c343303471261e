"""The objective (weighted style + content losses + TV energy) of saved pictures, evaluated on the whole picture
with the untiled loss network (used by bench/hires.py). Arguments: OUT, then CLI flags, then ``--`` and images."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import peak_rss_mb  # noqa: E402
from nstyle import api, cli  # noqa: E402
from nstyle.algorithm import losses  # noqa: E402
from nstyle.algorithm.engine import Engine  # noqa: E402
from nstyle.algorithm.objective import Objective  # noqa: E402
from nstyle.files import images  # noqa: E402


def main() -> None:
    out, rest = sys.argv[1], sys.argv[2:]
    split = rest.index("--")
    cfg = cli.config_from_args(cli.build_parser().parse_args(rest[:split]))
    engine, inputs = Engine(), api.read_inputs(cfg)
    size = images.content_size(inputs.content.shape, cfg.max_long_edge)
    content01 = images.resize01(inputs.content, size)
    net = engine.loss_net(cfg, size)
    grams = engine.style_targets(cfg, inputs.styles, size, content01)
    executor = net.bind_losses(grams, net.content_targets(images.to_network(content01)))
    ctx = engine.context(cfg.gpu)
    head = losses.head_gradients(net.style_shapes, cfg.style_weight, cfg.content_weight, ctx, cfg.layer_weights(),
                                 len(cfg.content_layer_list))
    objective = Objective(executor, head, cfg.tv_weight, ctx, net.n_style)
    values = {}
    for path in rest[split + 1:]:
        import cv2  # Pillow reads 16-bit colour PNGs as 8 bits

        raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        rgb = raw[:, :, ::-1].astype(np.float64) / (257.0 if raw.dtype == np.uint16 else 1.0)
        x = (rgb - np.array(images.MEAN)).transpose(2, 0, 1)[None]
        values[path] = objective.value(x.astype(np.float64))
    with open(out, "w") as f:
        json.dump({"objective": values, "peak_mb": peak_rss_mb()}, f)


if __name__ == "__main__":
    main()
