"""The process around the algorithm: numpy aliases, the environment set before MXNet loads, reproducible mode
and ``nstyle --version``."""
import builtins
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from nstyle.errors import NStyleError
from nstyle.process import compat, runtime


def child(code, env=None, args=()):
    """Run ``code`` in a fresh interpreter with ``env`` changes (None removes a variable); return its result."""
    full = dict(os.environ, PYTHONPATH=ROOT)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run([sys.executable, "-c", code, *args], env=full, capture_output=True, text=True)


def test_numpy_aliases_are_the_builtins():
    for name in compat.REMOVED_ALIASES:
        assert getattr(np, name) is getattr(builtins, name)


def test_restore_puts_back_only_what_is_missing(monkeypatch):
    monkeypatch.delattr(np, "float", raising=False)
    monkeypatch.setattr(np, "int", np.int64)  # present: left alone
    restored = compat.restore_numpy_aliases()
    assert "float" in restored and "int" not in restored
    assert np.float is float and np.int is np.int64


def test_importing_nstyle_does_not_load_mxnet():
    out = child("import sys, nstyle, nstyle.cli, nstyle.config; print('mxnet' in sys.modules)")
    assert out.stdout.strip() == "False", out.stderr


def test_prepare_defaults_threads_and_keeps_the_users():
    env = {}
    runtime.prepare(env)
    assert env["OMP_NUM_THREADS"] == str(runtime.available_cpus()) and env["MXNET_SUBGRAPH_VERBOSE"] == "0"
    env = {"OMP_NUM_THREADS": "7"}
    runtime.prepare(env)
    assert env["OMP_NUM_THREADS"] == "7" and "DNNL_MAX_CPU_ISA" not in env


@pytest.mark.parametrize("value,on", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False),
                                      ("no", False)])
def test_reproducible_variable_overrides_isa_and_threads(value, on):
    env = {"NSTYLE_REPRODUCIBLE": value, "OMP_NUM_THREADS": "7", "DNNL_MAX_CPU_ISA": "AVX512_CORE"}
    runtime.prepare(env)
    if on:
        assert env["DNNL_MAX_CPU_ISA"] == "AVX2" and env["OMP_NUM_THREADS"] == "2"
    else:
        assert env["DNNL_MAX_CPU_ISA"] == "AVX512_CORE" and env["OMP_NUM_THREADS"] == "7"


def test_set_reproducible_refuses_once_mxnet_is_loaded(monkeypatch):
    import mxnet  # noqa: F401  (loaded in this test process)

    monkeypatch.delenv("NSTYLE_REPRODUCIBLE", raising=False)
    with pytest.raises(NStyleError, match="before MXNet loads: set NSTYLE_REPRODUCIBLE=1"):
        runtime.set_reproducible()


def version_lines(*flags, env=None):
    out = child("import sys\nfrom nstyle.cli import main\nsys.exit(main(sys.argv[1:]))", env=env,
                args=["--version", *flags])
    assert out.returncode == 0, out.stderr
    return dict(line.split(": ", 1) if ": " in line else ("nstyle", line) for line in out.stdout.splitlines())


def test_version_prints_one_fact_per_line():
    import mxnet

    lines = version_lines(env={"DNNL_MAX_CPU_ISA": "AVX", "OMP_NUM_THREADS": "1", "NSTYLE_REPRODUCIBLE": None})
    assert list(lines) == ["nstyle", "MXNet", "numpy", "Python", "CPU", "oneDNN ISA", "threads", "GPUs",
                           "reproducible"]
    assert lines["MXNet"] == f"mxnet {mxnet.__version__}" and lines["numpy"] == np.__version__
    assert lines["Python"].startswith("%d.%d.%d " % sys.version_info[:3])
    assert lines["oneDNN ISA"] == "Intel AVX"  # the cap is honoured and reported
    assert lines["threads"].startswith("1 ") and lines["reproducible"] == "off"
    assert lines["GPUs"] == "none (this MXNet build has no CUDA)"


def test_reproducible_flag_shows_in_version_lines():
    lines = version_lines("--reproducible", env={"OMP_NUM_THREADS": "1", "NSTYLE_REPRODUCIBLE": None,
                                                 "DNNL_MAX_CPU_ISA": None})
    assert lines["oneDNN ISA"] == "Intel AVX2"
    assert lines["threads"].startswith("2 ") and lines["reproducible"].startswith("on ")
