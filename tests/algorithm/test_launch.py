"""Fixed costs before the first evaluation (issue 28), shown by counts: binds, weight copies, style-cache hits."""
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

from helpers import ROOT, one_error_line
from nstyle import api
from nstyle.algorithm import lbfgs
from nstyle.algorithm.engine import Engine
from nstyle.config import Config
from nstyle.files import images as image_files
from nstyle.files import style_cache, weights


def cfg_for(images_, weights_file, **kw):
    base = dict(content_image=images_["content"], style_image=images_["style"], weights=weights_file,
                max_long_edge=48, output_dir=None, quiet=True, optimizer="lbfgs", init="content", max_num_epochs=2)
    return Config(**dict(base, **kw))


def convolutions(executor) -> int:
    return sum(node["op"] == "Convolution" for node in json.loads(executor._symbol.tojson())["nodes"])


def test_one_weight_copy_and_a_shallow_content_pass(images, weights_file):
    engine = Engine()
    api.run(cfg_for(images, weights_file), engine=engine)
    (net,) = engine._nets.values()
    assert net.binds == 3  # the Grams' executor, the content targets' and the loss executor
    shared = engine.weights(cfg_for(images, weights_file))["conv1_1_weight"]
    assert net.executor.arg_dict["conv1_1_weight"].handle.value == shared.handle.value
    net.content_targets(np.zeros(net.data_shape))
    contents = net._features["contents"]
    assert contents.arg_dict["conv1_1_weight"].handle.value == shared.handle.value
    assert convolutions(contents) == 10  # conv1_1 .. conv4_2, where the full feature graph has 13 (to conv5_1)


def test_style_cache_hit_is_the_same_picture(images, weights_file, tmp_path):
    plain = api.run(cfg_for(images, weights_file), engine=Engine())
    cached = cfg_for(images, weights_file, style_cache=str(tmp_path / "cache"))
    first, second = Engine(), Engine()
    written = api.run(cached, engine=first)
    assert (first.gram_computations, first.cache_hits) == (1, 0)
    read = api.run(cached, engine=second)
    assert (second.gram_computations, second.cache_hits) == (0, 1)
    assert [net.binds for net in second._nets.values()] == [2]  # content targets and losses only
    assert np.array_equal(plain.image, written.image) and np.array_equal(plain.image, read.image)
    assert [e.style_loss for e in read.history] == [e.style_loss for e in plain.history]


def test_style_cache_key_and_corrupt_entries(images, weights_file, synthetic_params, tmp_path):
    folder = tmp_path / "cache"
    cfg = cfg_for(images, weights_file, style_cache=str(folder), max_num_epochs=0)
    api.run(cfg, engine=Engine())
    (entry,) = os.listdir(folder)
    (folder / entry).write_bytes(b"not an npz")  # a torn or foreign file: ignored, then rewritten
    engine = Engine()
    api.run(cfg, engine=engine)
    assert (engine.gram_computations, engine.cache_hits) == (1, 0)
    assert style_cache.load(str(folder), np.load(folder / entry)["key"].item()) is not None
    for changed in (dict(style_layers="relu1_1,relu2_1"), dict(max_long_edge=40), dict(pooling="max"),
                    dict(preserve_color="histogram")):
        engine = Engine()
        api.run(cfg_for(images, weights_file, style_cache=str(folder), max_num_epochs=0, **changed), engine=engine)
        assert engine.cache_hits == 0, changed
    other = tmp_path / "other.params"  # the same weights under another name: found by checksum
    shutil.copy(weights_file, other)
    engine = Engine()
    api.run(cfg_for(images, str(other), style_cache=str(folder), max_num_epochs=0), engine=engine)
    assert engine.cache_hits == 1
    changed_params = dict(synthetic_params, conv1_1_bias=synthetic_params["conv1_1_bias"] + 1.0)
    weights.save_classic(changed_params, str(other))  # other weights under that name: a miss
    engine = Engine()
    api.run(cfg_for(images, str(other), style_cache=str(folder), max_num_epochs=0), engine=engine)
    assert (engine.gram_computations, engine.cache_hits) == (1, 0)


def test_style_cache_that_is_a_file_is_one_line_exit_2(images, weights_file, tmp_path):
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "nstyle", "--content-image", images["content"], "--style-image",
                           images["style"], "--weights", weights_file, "--max-long-edge", "32", "--output-dir",
                           str(tmp_path / "out"), "--style-cache", str(not_a_dir)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 2
    assert "--style-cache" in one_error_line(proc.stderr)
    assert not (tmp_path / "out").exists()


def test_style_cache_that_cannot_be_written_warns_and_runs(images, weights_file, tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    engine = Engine()
    # on the "nstyle" logger itself: an in-process CLI run earlier in the session stops it propagating to caplog's
    nstyle_log = logging.getLogger("nstyle")
    nstyle_log.addHandler(caplog.handler)
    try:
        result = api.run(cfg_for(images, weights_file, style_cache=str(blocked / "cache"), max_num_epochs=1),
                         engine=engine)
    finally:
        nstyle_log.removeHandler(caplog.handler)
    assert result.epochs == 1 and engine.gram_computations == 1
    # the same record twice when the logger also propagates to caplog's root handler (this file run alone)
    records = {id(r): r for r in caplog.records if "style cache" in r.getMessage()}
    assert [r.levelname for r in records.values()] == ["WARNING"]
    assert os.listdir(tmp_path) == ["file"]


def driver_in_scipy(earlier: set, timeout: float = 10.0) -> bool:
    """Whether the solver's thread (the one not in ``earlier``) is, or within ``timeout`` gets, inside SciPy's
    L-BFGS-B driver."""
    (worker,) = [t for t in threading.enumerate() if t.name == "nstyle-lbfgsb" and t not in earlier]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(worker.ident)
        while frame is not None:
            if frame.f_code.co_name == "_minimize_lbfgsb":
                return True
            frame = frame.f_back
        time.sleep(0.01)
    return False


def test_scipy_sets_up_the_pixel_box_while_the_start_is_evaluated():
    """SciPy's L-BFGS-B set-up loops in Python over every variable's bounds (seconds at 600x400, in both pinned
    SciPy versions): on the pixel box it runs in the solver's thread while the caller's thread evaluates the start."""
    rng = np.random.RandomState(0)
    x0 = rng.uniform(0, 255, (1, 3, 24, 32)) - 120.0
    target = rng.uniform(-150, 150, x0.size)
    seen, earlier = [], set(threading.enumerate())

    def fun(x):
        if not seen:
            seen.append((threading.current_thread() is threading.main_thread(), driver_in_scipy(earlier)))
        return float(((x - target) ** 2).sum()), 2 * (x - target)
    solver = lbfgs.LBFGSB(fun, x0, history=5, bounds=image_files.pixel_bounds(x0.shape), polyak_start=True)
    solver.step()
    assert seen == [(True, True)]


def test_one_solver_start_and_one_bounds_conversion_per_run(images, weights_file, monkeypatch):
    counts = {"fmin_l_bfgs_b": 0, "bound_pairs": 0}

    def counted(name):
        real = getattr(lbfgs, name)

        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(lbfgs, name, call)
    counted("fmin_l_bfgs_b")
    counted("bound_pairs")
    result = api.run(cfg_for(images, weights_file, max_num_epochs=4), engine=Engine())
    assert result.epochs == 4
    assert counts == {"fmin_l_bfgs_b": 1, "bound_pairs": 1}
