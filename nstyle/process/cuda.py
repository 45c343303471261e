"""The GPU path: find the CUDA libraries a CUDA build of MXNet needs and load them before MXNet does.

``mxnet-cu117`` 1.9.1 (likewise ``-cu112``, ``-cu110``) links against the CUDA 11 runtime libraries below. A machine
with only a recent NVIDIA driver has none of them, and ``import mxnet`` then fails with "cannot open shared object
file". NVIDIA ships each of them as a wheel (``nvidia-*-cu11``) that unpacks to ``site-packages/nvidia/<name>/lib``,
a folder the dynamic loader does not search. :func:`preload` opens every library found there by its soname with
``RTLD_GLOBAL``, so that when ``libmxnet.so`` asks for the soname the loader finds it already loaded and no
``LD_LIBRARY_PATH`` is needed. Nothing happens for a CPU build.
"""
from __future__ import annotations

import ctypes
import glob
import os
import re
import sys
from typing import Dict, Iterable, List, Optional, Sequence

#: Each library a CUDA 11 build of MXNet 1.9.1 needs (besides the driver's ``libcuda.so.1``), in an order in
#: which every library's own dependencies come first, with the wheel that ships it.
REQUIRED: Dict[str, str] = {
    "libcudart.so.11.0": "nvidia-cuda-runtime-cu11",
    "libnvrtc.so.11.2": "nvidia-cuda-nvrtc-cu11",
    "libnvToolsExt.so.1": "nvidia-nvtx-cu11",
    "libcublasLt.so.11": "nvidia-cublas-cu11",
    "libcublas.so.11": "nvidia-cublas-cu11",
    "libcufft.so.10": "nvidia-cufft-cu11",
    "libcurand.so.10": "nvidia-curand-cu11",
    "libcusparse.so.11": "nvidia-cusparse-cu11",
    "libcusolver.so.11": "nvidia-cusolver-cu11",
    "libcudnn.so.8": "nvidia-cudnn-cu11",
    "libnccl.so.2": "nvidia-nccl-cu11",
}
#: cuDNN 8 opens its sub-libraries by soname at run time; they are loaded after ``libcudnn.so.8`` when present.
CUDNN_PARTS = ("libcudnn_ops_infer.so.8", "libcudnn_ops_train.so.8", "libcudnn_cnn_infer.so.8",
               "libcudnn_cnn_train.so.8", "libcudnn_adv_infer.so.8", "libcudnn_adv_train.so.8")
#: The exact install command of the GPU path (also in the README).
INSTALL_HINT = ("pip uninstall -y mxnet && pip install -c constraints.txt mxnet-cu117==1.9.1 "
                + " ".join(sorted(set(REQUIRED.values()))))

_MXNET_DIST = re.compile(r"^mxnet(-cu\d+)?(mkl)?$")


def mxnet_distribution() -> Optional[str]:
    """The name of the installed MXNet distribution (``mxnet``, ``mxnet-cu117``, ...), None if there is none."""
    from importlib import metadata

    names = sorted({(d.metadata["Name"] or "").lower() for d in metadata.distributions()})
    found = [n for n in names if _MXNET_DIST.match(n)]
    cuda_builds = [n for n in found if "-cu" in n]
    return (cuda_builds or found or [None])[0]


def is_cuda_build(dist: Optional[str] = None) -> bool:
    """Whether the installed MXNet (or distribution ``dist``) is a CUDA build."""
    dist = mxnet_distribution() if dist is None else dist
    return bool(dist) and "-cu" in dist


def library_dirs(roots: Optional[Iterable[str]] = None) -> List[str]:
    """The ``nvidia/<name>/lib`` folders under ``roots`` (default: ``sys.path``), in search order."""
    dirs: List[str] = []
    for root in (sys.path if roots is None else roots):
        for d in sorted(glob.glob(os.path.join(root or ".", "nvidia", "*", "lib"))):
            if os.path.isdir(d) and d not in dirs:
                dirs.append(d)
    return dirs


def find(soname: str, dirs: Sequence[str]) -> Optional[str]:
    """The first file named ``soname`` in ``dirs``, or None."""
    for d in dirs:
        path = os.path.join(d, soname)
        if os.path.isfile(path):
            return path
    return None


def _loadable_by_system(soname: str) -> bool:
    """Whether the dynamic loader already finds ``soname`` (system CUDA, ``LD_LIBRARY_PATH``, already loaded)."""
    try:
        ctypes.CDLL(soname, mode=ctypes.RTLD_GLOBAL)
        return True
    except OSError:
        return False


def preload(dirs: Optional[Sequence[str]] = None, required: Optional[Dict[str, str]] = None) -> List[str]:
    """Load every required library by its soname, from ``dirs`` where the system has none; return the missing.

    Each entry of the returned list is a soname that neither the system nor ``dirs`` provides.
    """
    dirs = library_dirs() if dirs is None else list(dirs)
    required = REQUIRED if required is None else required
    missing = []
    for soname in required:
        path = find(soname, dirs)
        if path is not None:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        elif not _loadable_by_system(soname):
            missing.append(soname)
        if soname.startswith("libcudnn.so") and path is not None:
            for part in CUDNN_PARTS:
                part_path = find(part, [os.path.dirname(path)])
                if part_path is not None:
                    ctypes.CDLL(part_path, mode=ctypes.RTLD_GLOBAL)
    return missing


def missing_message(missing: Sequence[str], required: Optional[Dict[str, str]] = None) -> str:
    """One line naming the first missing library and the wheels that ship the missing ones."""
    required = REQUIRED if required is None else required
    wheels = " ".join(sorted({required[s] for s in missing}))
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    return f"library {missing[0]} not found{more}, needed by the CUDA build of MXNet: pip install {wheels}"


#: Sonames :func:`prepare` could not find (empty for a CPU build or when all were found).
MISSING: List[str] = []


def prepare() -> None:
    """For a CUDA build of MXNet, load its libraries before MXNet loads (called by ``nstyle/__init__.py``)."""
    if is_cuda_build():
        MISSING[:] = preload()


def require_libraries() -> None:
    """Raise a one-line :class:`NStyleError` if a CUDA build of MXNet lacks one of its libraries."""
    if MISSING:
        from ..errors import NStyleError

        raise NStyleError(missing_message(MISSING))


def no_cuda_message(gpu: int, available: int) -> str:
    """The ``--gpu`` error when MXNet sees no (or too few) GPUs, saying why and what to do."""
    if not is_cuda_build():
        return (f"--gpu {gpu}: this MXNet build has no CUDA; for the GPU: {INSTALL_HINT} "
                "(or run on the CPU with --gpu -1)")
    return (f"--gpu {gpu}: MXNet sees {available} GPU(s) (is the NVIDIA driver installed and a GPU visible?); "
            "run on the CPU with --gpu -1")
