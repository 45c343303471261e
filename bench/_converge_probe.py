"""One run for bench/convergence.py: record each epoch's 8-bit image with its elapsed time and the objective
evaluations so far, then evaluate the classic objective on them (after the run, untimed). Writes JSON.

    python bench/_converge_probe.py OUT.json TIME_LIMIT TARGET -- CLI ARGS...
"""
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import peak_rss_mb  # noqa: E402
from nstyle import api, cli  # noqa: E402
from nstyle.algorithm import losses  # noqa: E402
from nstyle.algorithm.objective import Objective  # noqa: E402
from nstyle.config import Config  # noqa: E402
from nstyle.files import images  # noqa: E402


class TimeUp(Exception):
    """The candidate used up the reference's wall time."""


def classic_objective(cfg: Config, engine: api.Engine, size, content_rgb, style_rgb):
    """The classic default objective (weights 1 / 10 / 0.01, default layers) at ``size``."""
    ref = Config(weights=cfg.weights, gpu=cfg.gpu)
    net = engine.loss_net(ref, size)
    content_np = images.preprocess(content_rgb, size)
    grams = net.gram_targets(images.preprocess(style_rgb, size))
    ex = net.bind_losses(grams, net.content_targets(content_np))
    ctx = engine.context(ref.gpu)
    head = losses.head_gradients(net.style_shapes, ref.style_weight, ref.content_weight, ctx)
    return Objective(ex, head, ref.tv_weight, ctx, net.n_style)


def eight_bit_value(objective: Objective, rgb: np.ndarray) -> float:
    """The objective on a saved 8-bit image (as the network sees it when read back)."""
    x = images.from_pixels(rgb)
    return objective.value(x)


def main() -> None:
    out, limit, target = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    argv = sys.argv[sys.argv.index("--") + 1:]
    cfg = cli.config_from_args(cli.build_parser().parse_args(argv))
    cli.setup_logging(True)
    engine = api.Engine()
    final_size = images.content_size(images.read_image(cfg.content_image).shape, cfg.max_long_edge)
    frames = []  # (elapsed seconds, epoch number overall, evaluations so far, .npy file of the 8-bit image)
    count, evaluations = [0], [0]
    folder = tempfile.mkdtemp()
    start = time.perf_counter()

    def observe(ep, img):
        count[0] += 1
        evaluations[0] += ep.evaluations
        if img.shape[2:] == final_size:
            path = os.path.join(folder, "last.npy" if target <= 0 else f"{count[0]}.npy")
            np.save(path, images.postprocess(img.asnumpy()))  # on disk: the frames must not inflate peak memory
            frames.append((time.perf_counter() - start, count[0], evaluations[0], path))
            if target <= 0:
                del frames[:-1]
        if time.perf_counter() - start > limit:
            raise TimeUp

    try:
        result = api.run(cfg, engine=engine, on_image=observe)
        per_epoch = [e.seconds for e in result.history[1:]] or [e.seconds for e in result.history]
        stopped = result.stopped
    except TimeUp:
        per_epoch, stopped = [], "time limit"
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    content = images.read_image(cfg.content_image)
    style = images.read_image(cfg.style_images[0])
    objective = classic_objective(cfg, engine, final_size, content, style)
    reached = None
    values = []
    for elapsed, epoch, used, path in frames:
        value = eight_bit_value(objective, np.load(path))
        values.append(value)
        if target > 0 and value <= target and reached is None:
            reached = (elapsed, epoch, used)
            break
    final_value = eight_bit_value(objective, np.load(frames[-1][-1])) if frames else float("nan")
    shutil.rmtree(folder, ignore_errors=True)
    with open(out, "w") as f:
        json.dump({"wall": wall, "epochs": count[0], "evaluations": evaluations[0], "stopped": stopped,
                   "peak_mb": peak,
                   "s_per_epoch": float(np.median(per_epoch)) if per_epoch else wall / max(count[0], 1),
                   "final_objective": final_value, "reached": reached}, f)


if __name__ == "__main__":
    main()
