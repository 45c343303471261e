"""The command line end to end on synthetic weights and scikit-image samples."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import ROOT
from nstyle import cli
from nstyle.config import Config

CLASSIC_FLAGS = ["--model", "--content-image", "--style-image", "--stop-eps", "--content-weight", "--style-weight",
                 "--tv-weight", "--max-num-epochs", "--max-long-edge", "--lr", "--gpu", "--output-dir",
                 "--output_dir", "--save-epochs", "--remove-noise", "--lr-sched-delay", "--lr-sched-factor"]
OWN_FLAGS = ["--weights", "--seed", "--output", "--quiet", "--pooling"]


def run_module(*args, cwd=ROOT):
    """``python -m nstyle ARGS`` in a subprocess: (status, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "nstyle", *args], capture_output=True, text=True, cwd=cwd, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def small(images, weights_file, out, *extra):
    return ["--content-image", images["content"], "--style-image", images["style"], "--weights", weights_file,
            "--max-long-edge", "48", "--output-dir", str(out), *extra]


def test_help_lists_every_flag():
    status, out, _ = run_module("--help")
    assert status == 0
    for flag in CLASSIC_FLAGS + OWN_FLAGS:
        assert flag in out, flag


def test_help_shows_flags_in_groups_with_examples():
    status, out, _ = run_module("--help")
    titles = ["basic:", "artistic controls:", "optimisation:", "output:", "other:", "examples:"]
    at = [out.index("\n" + t + "\n") for t in titles]
    assert status == 0 and at == sorted(at)
    sections = dict(zip(titles, (out[a:b] for a, b in zip(at, at[1:] + [len(out)]))))
    for title, flags in (("basic:", ["--content-image", "--style-image"]), ("optimisation:", ["--optimizer", "--lr "]),
                         ("artistic controls:", ["--style-weight", "--preserve-color"]),
                         ("output:", ["--output-dir", "--save-epochs"]), ("other:", ["--help", "--model"])):
        assert all(f in sections[title] for f in flags), title
    assert out.count("\n  nstyle --content-image") >= 2
    status, out, _ = run_module("batch", "--help")
    group = out.index("\nbatch and cluster:\n")
    assert status == 0 and group < out.index("  --manifest", group) < out.index("\nbasic:\n")
    assert "--resume" not in out and "nstyle batch --manifest" in out


def test_defaults_are_classic():
    ns = cli.build_parser().parse_args([])
    cfg = cli.config_from_args(ns)
    assert cfg == Config()
    assert (cfg.stop_eps, cfg.content_weight, cfg.style_weight, cfg.tv_weight) == (0.005, 10, 1, 0.01)
    assert (cfg.max_num_epochs, cfg.max_long_edge, cfg.learning_rate, cfg.save_epochs) == (1000, 600, 0.001, 50)
    assert (cfg.optimizer, cfg.init, cfg.multires, cfg.pooling, cfg.preserve_color) == ("nag", "noise", 0, "avg", None)
    assert (cfg.lr_sched_delay, cfg.lr_sched_factor, cfg.remove_noise) == (75, 0.9, 0.02)
    assert (cfg.content_image, cfg.style_image) == ("input/IMG_4343.jpg", "input/starry_night.jpg")
    assert cfg.weights == "model/vgg19.params"


def test_classic_spellings_and_float_factor():
    ns = cli.build_parser().parse_args(["--output_dir", "x", "--remove_noise", "0.1", "--lr-sched-factor", "0.8"])
    assert (ns.output_dir, ns.remove_noise, ns.lr_sched_factor) == ("x", 0.1, 0.8)


def test_run_writes_snapshots_and_final(images, weights_file, tmp_path, capsys):
    status = cli.main(small(images, weights_file, tmp_path, "--max-num-epochs", "6", "--save-epochs", "3"))
    assert status == 0
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz", "e_3.jpg", "e_6.jpg", "final.jpg"]
    content = Image.open(images["content"])
    final = Image.open(tmp_path / "final.jpg")
    long_edge = max(content.size)
    assert final.size == tuple(int(s * 48 / long_edge) for s in content.size)
    assert final.mode == "RGB"
    err = capsys.readouterr().err
    assert err.count("epoch ") >= 6 and "s/epoch" in err and "lr 0.001" in err


def test_output_png_and_quiet(images, weights_file, tmp_path, capsys):
    out = tmp_path / "sub" / "result.png"
    status = cli.main(small(images, weights_file, tmp_path / "o", "--max-num-epochs", "2", "--output", str(out),
                            "--quiet"))
    assert status == 0
    assert Image.open(out).format == "PNG"
    assert not (tmp_path / "o" / "final.jpg").exists()
    assert "epoch" not in capsys.readouterr().err


def test_same_seed_same_image_other_seed_differs(images, weights_file, tmp_path):
    outs = []
    for run, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        path = tmp_path / f"{run}.png"
        assert cli.main(small(images, weights_file, tmp_path, "--max-num-epochs", "3", "--seed", seed,
                              "--output", str(path), "--quiet")) == 0
        outs.append(np.asarray(Image.open(path)).astype(int))
    assert np.array_equal(outs[0], outs[1])
    assert np.abs(outs[0] - outs[2]).max() > 0


@pytest.mark.parametrize("case, expect", [
    ("missing_weights", "download.sh"),
    ("missing_image", "no such file"),
    ("negative_epochs", "--max-num-epochs"),
    ("zero_edge", "--max-long-edge"),
    ("gpu_on_cpu_build", "--gpu -1"),
    ("not_a_number", "invalid float"),
])
def test_user_mistakes_one_line_exit_2(case, expect, images, weights_file, tmp_path):
    out = tmp_path / "out"
    args = small(images, weights_file, out, "--max-num-epochs", "2")
    if case == "missing_weights":
        args[args.index("--weights") + 1] = str(tmp_path / "nope.params")
    elif case == "missing_image":
        args[args.index("--content-image") + 1] = str(tmp_path / "nope.jpg")
    elif case == "negative_epochs":
        args += ["--max-num-epochs", "-1"]
    elif case == "zero_edge":
        args += ["--max-long-edge", "0"]
    elif case == "gpu_on_cpu_build":
        import mxnet as mx
        if mx.context.num_gpus() > 0:
            pytest.skip("this machine has a GPU")
        args += ["--gpu", "0"]
    elif case == "not_a_number":
        args += ["--lr", "fast"]
    status, stdout, stderr = run_module(*args)
    assert status == 2
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and expect in errors[0], stderr
    assert not (out / "final.jpg").exists()


def test_console_script_when_installed():
    import shutil

    exe = shutil.which("nstyle")
    if exe is None:
        pytest.skip("the package is not installed in this environment (CI installs it)")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--max-long-edge" in proc.stdout
    batch = subprocess.run([exe, "batch", "--help"], capture_output=True, text=True)
    assert batch.returncode == 0 and "--manifest" in batch.stdout
