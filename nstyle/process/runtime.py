"""The process around the algorithm: threads, oneDNN's instruction set, reproducible mode, machine facts.

Everything here that changes MXNet's behaviour works through environment variables that MXNet, OpenMP and oneDNN
read when MXNet loads, so :func:`prepare` runs from ``nstyle/__init__.py`` before anything imports MXNet, and
:func:`set_reproducible` refuses to act once MXNet is loaded (it could no longer take effect).

Reproducible mode (``--reproducible`` or ``NSTYLE_REPRODUCIBLE=1``) caps oneDNN at AVX2 and runs a fixed number
of OpenMP threads, whatever the machine has. Measured on the regression configurations (tests/goldens.py): oneDNN's
float results depend on the instruction set (AVX, AVX2 and AVX-512 kernels differ by up to 6 levels after 30
epochs) and, for AVX2 and AVX-512, on the thread count (1 vs 2 threads up to 6 levels; AVX's kernels agree at 1,
2 and 3 threads but not at 4); a capped ISA with a fixed thread count gives the same bits on every run.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Dict, List, Optional

#: oneDNN's instruction-set cap in reproducible mode: every x86-64 CPU of the last decade has AVX2.
REPRODUCIBLE_ISA = "AVX2"
#: OpenMP threads in reproducible mode (results depend on the thread count, not on the cores behind it).
REPRODUCIBLE_THREADS = 2
#: Environment variable that turns reproducible mode on for the API, batch runs and workers.
REPRODUCIBLE_VAR = "NSTYLE_REPRODUCIBLE"


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def reproducible_requested(environ: Optional[Dict[str, str]] = None) -> bool:
    """Whether ``NSTYLE_REPRODUCIBLE`` asks for reproducible mode (``1``, ``true``, ``yes``, ``on``)."""
    value = (os.environ if environ is None else environ).get(REPRODUCIBLE_VAR, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def reproducible_env() -> Dict[str, str]:
    """The variables reproducible mode sets (they override the user's own)."""
    return {REPRODUCIBLE_VAR: "1", "DNNL_MAX_CPU_ISA": REPRODUCIBLE_ISA,
            "OMP_NUM_THREADS": str(REPRODUCIBLE_THREADS)}


def prepare(environ: Optional[Dict[str, str]] = None) -> None:
    """Set the variables MXNet reads when it loads (call before ``import mxnet``).

    - ``MXNET_SUBGRAPH_VERBOSE=0``: MXNet otherwise prints a line per executor bind.
    - ``OMP_NUM_THREADS`` defaults to the CPUs we may run on: MXNet's pip build otherwise runs oneDNN on fewer
      threads than there are cores (measured: 3.55 s per epoch at 600x400 on 2 cores, 1.90 s with both).
      A value the user set is kept.
    - Reproducible mode, if ``NSTYLE_REPRODUCIBLE`` asks for it: :func:`reproducible_env`.
    """
    env = os.environ if environ is None else environ
    env.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")
    env.setdefault("OMP_NUM_THREADS", str(available_cpus()))
    if reproducible_requested(env):
        env.update(reproducible_env())


def mxnet_loaded() -> bool:
    """Whether MXNet is already imported in this process."""
    return "mxnet" in sys.modules


def set_reproducible() -> None:
    """Turn reproducible mode on for this process (``--reproducible``); only possible before MXNet loads."""
    wanted = reproducible_env()
    if all(os.environ.get(k) == v for k, v in wanted.items()):
        return
    if mxnet_loaded():
        from ..errors import NStyleError

        raise NStyleError(f"reproducible mode must be chosen before MXNet loads: set {REPRODUCIBLE_VAR}=1 "
                          "in the environment before importing nstyle")
    os.environ.update(wanted)


# ---- machine facts ----------------------------------------------------------------------------------------

def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> Optional[List[str]]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (None when it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            return next((line.split(":", 1)[1].split() for line in fh if line.startswith("flags")), [])
    except OSError:
        return None


def cpu_simd() -> str:
    """The widest x86 vector extensions the CPU reports (AVX-512F, AVX2, AVX or none), from ``/proc/cpuinfo``."""
    flags = cpu_flags()
    if flags is None:
        return "unknown"
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")):
        if flag in flags:
            return name
    return "no AVX"


#: A tiny convolution run with DNNL_VERBOSE=1 so that oneDNN names the instruction set it dispatches to.
_ISA_PROBE = ("import nstyle, mxnet as mx\n"
              "x = mx.nd.ones((1, 3, 8, 8)); w = mx.nd.ones((4, 3, 3, 3)); b = mx.nd.zeros(4)\n"
              "mx.nd.Convolution(x, w, b, kernel=(3, 3), num_filter=4).wait_to_read()\n")


def onednn_isa(timeout: float = 60.0) -> str:
    """The instruction set oneDNN uses in a process started with this environment (from ``DNNL_VERBOSE``)."""
    env = dict(os.environ, DNNL_VERBOSE="1")
    try:
        out = subprocess.run([sys.executable, "-c", _ISA_PROBE], env=env, capture_output=True, text=True,
                             timeout=timeout).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc.__class__.__name__})"
    for line in out.splitlines():
        if line.startswith(("dnnl_verbose,info,cpu,isa:", "onednn_verbose,info,cpu,isa:")):
            return line.split("isa:", 1)[1].strip()
    return "unknown (no oneDNN verbose line)"


def _version(dist: str) -> str:
    """Installed version of distribution ``dist``, or ``not installed``."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def mxnet_build() -> str:
    """The installed MXNet distribution and version, e.g. ``mxnet 1.9.1`` or ``mxnet-cu117 1.9.1``."""
    from . import cuda

    dist = cuda.mxnet_distribution()
    return f"{dist} {_version(dist)}" if dist else "not installed"


def gpu_summary() -> str:
    """The GPUs MXNet sees, or why it sees none."""
    from . import cuda

    if not cuda.is_cuda_build():
        return "none (this MXNet build has no CUDA)"
    try:
        import mxnet as mx

        n = mx.context.num_gpus()
    except Exception as exc:  # a CUDA build without its libraries or driver fails here  # noqa: BLE001
        return f"none ({str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__})"
    return f"{n} ({', '.join(f'gpu({i})' for i in range(n))})" if n else "none (no CUDA device visible)"


def machine_lines() -> List[str]:
    """One line per fact, ready to paste into a bug report or above a benchmark table."""
    from ..version import __version__

    threads = os.environ.get("OMP_NUM_THREADS", "?")
    mode = (f"on ({REPRODUCIBLE_VAR}=1: oneDNN capped at {REPRODUCIBLE_ISA}, {REPRODUCIBLE_THREADS} threads)"
            if reproducible_requested() else "off")
    return [
        f"nstyle {__version__}",
        f"MXNet: {mxnet_build()}",
        f"numpy: {_version('numpy')}",
        f"Python: {platform.python_version()} ({platform.python_implementation()}, {platform.system()} "
        f"{platform.machine()})",
        f"CPU: {cpu_model()} ({available_cpus()} CPUs available, widest SIMD {cpu_simd()})",
        f"oneDNN ISA: {onednn_isa()}",
        f"threads: {threads} (OMP_NUM_THREADS)",
        f"GPUs: {gpu_summary()}",
        f"reproducible: {mode}",
    ]
