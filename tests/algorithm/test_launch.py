"""Fixed costs before the first evaluation (issue 28), shown by counts: binds, weight copies, style-cache hits."""
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np

from helpers import ROOT, one_error_line
from nstyle import api
from nstyle.algorithm.engine import Engine
from nstyle.config import Config
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
    assert [r.levelname for r in caplog.records if "style cache" in r.getMessage()] == ["WARNING"]
    assert os.listdir(tmp_path) == ["file"]
