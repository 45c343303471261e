"""The GPU path without a GPU: finding the nvidia-*-cu11 wheels' libraries, loading them by soname before MXNet,
and the errors a user sees (real shared libraries built here with gcc stand in for NVIDIA's)."""
import os
import shutil
import subprocess
import sys

import pytest

from helpers import ROOT
from nstyle.cli import main
from nstyle.process import cuda

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build stand-in libraries")


def build_wheel_tree(root, required):
    """Lay out ``root/nvidia/<name>/lib/<soname>`` as the nvidia-*-cu11 wheels do, each a real shared library."""
    src = os.path.join(root, "stub.c")
    with open(src, "w") as fh:
        fh.write("int nstyle_stub(void) { return 42; }\n")
    paths = {}
    for soname, wheel in required.items():
        lib = os.path.join(root, "nvidia", wheel.replace("nvidia-", "").replace("-cu11", ""), "lib")
        os.makedirs(lib, exist_ok=True)
        paths[soname] = os.path.join(lib, soname)
        subprocess.run(["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", paths[soname], src], check=True)
    return paths


def run_child(code, root):
    """Run ``code`` in a fresh interpreter (libraries loaded there do not leak into the test process)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("LD_LIBRARY_PATH", None)
    return subprocess.run([sys.executable, "-c", code, root], env=env, capture_output=True, text=True, check=True)


def test_library_dirs_finds_each_wheels_lib_folder(tmp_path):
    for name in ("cublas", "cudnn"):
        (tmp_path / "site" / "nvidia" / name / "lib").mkdir(parents=True)
    (tmp_path / "site" / "nvidia" / "no_lib_here").mkdir()
    found = cuda.library_dirs([str(tmp_path / "site"), str(tmp_path / "elsewhere")])
    assert found == [str(tmp_path / "site" / "nvidia" / n / "lib") for n in ("cublas", "cudnn")]


@needs_gcc
def test_preload_makes_every_soname_resolvable_without_ld_library_path(tmp_path):
    paths = build_wheel_tree(str(tmp_path), cuda.REQUIRED)
    code = ("import ctypes, sys\n"
            "from nstyle.process import cuda\n"
            "missing = cuda.preload(cuda.library_dirs([sys.argv[1]]))\n"
            "maps = open('/proc/self/maps').read()\n"
            "print('missing', missing)\n"
            "for soname in cuda.REQUIRED:\n"
            "    ctypes.CDLL(soname)  # by soname only, as libmxnet.so asks for it\n"
            "    print('loaded', soname, any(line.endswith(soname) and sys.argv[1] in line\n"
            "                                for line in maps.splitlines()))\n")
    out = run_child(code, str(tmp_path)).stdout.splitlines()
    assert out[0] == "missing []"
    assert sorted(out[1:]) == sorted(f"loaded {s} True" for s in paths)


@needs_gcc
def test_missing_library_is_named_with_the_wheel_that_ships_it(tmp_path):
    required = {"libnstyle_present.so.1": "nvidia-present-cu11", "libnstyle_absent.so.8": "nvidia-absent-cu11"}
    build_wheel_tree(str(tmp_path), {"libnstyle_present.so.1": "nvidia-present-cu11"})
    missing = cuda.preload(cuda.library_dirs([str(tmp_path)]), required)
    assert missing == ["libnstyle_absent.so.8"]
    assert cuda.missing_message(missing, required) == (
        "library libnstyle_absent.so.8 not found, needed by the CUDA build of MXNet: pip install nvidia-absent-cu11")


def test_require_libraries_raises_one_line(monkeypatch):
    monkeypatch.setattr(cuda, "MISSING", ["libcudnn.so.8", "libnccl.so.2"])
    with pytest.raises(cuda_error()) as err:
        cuda.require_libraries()
    assert str(err.value) == ("library libcudnn.so.8 not found (and 1 more), needed by the CUDA build of MXNet: "
                              "pip install nvidia-cudnn-cu11 nvidia-nccl-cu11")


def cuda_error():
    from nstyle.errors import NStyleError

    return NStyleError


def test_cuda_build_is_recognised_by_distribution_name():
    assert cuda.is_cuda_build("mxnet-cu117") and cuda.is_cuda_build("mxnet-cu112")
    assert not cuda.is_cuda_build("mxnet") and not cuda.is_cuda_build("")
    assert cuda.mxnet_distribution() == "mxnet"  # what these machines have


def test_gpu_flag_on_a_cpu_build_says_so_in_one_line(weights_file, images, tmp_path, capsys):
    status = main(["--content-image", images["content"], "--style-image", images["style"], "--weights",
                   weights_file, "--max-long-edge", "32", "--max-num-epochs", "1", "--gpu", "0",
                   "--output-dir", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and err[0].startswith("nstyle: error: --gpu 0: this MXNet build has no CUDA; for the GPU: ")
    assert "pip install" in err[0] and "mxnet-cu117==1.9.1" in err[0] and "nvidia-cudnn-cu11" in err[0]
    assert not (tmp_path / "out" / "final.jpg").exists()
