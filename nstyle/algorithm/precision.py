"""``--precision bf16``: the loss network's convolutions, poolings and ReLUs in bfloat16 (oneDNN's AVX512_BF16
kernels); the Grams, losses, head gradients and the image stay float32."""
from __future__ import annotations

import os

import mxnet as mx

from ..config import PRECISIONS
from ..errors import NStyleError
from ..process import runtime

__all__ = ["PRECISIONS", "lowered", "check"]
#: The operators that run in bfloat16: the VGG trunk. Everything else keeps float32, so every Gram is a float32
#: product of features that were cast back once, and the losses are summed in float32.
BF16_OPS = ("Convolution", "Pooling", "Activation", "relu")
#: ``DNNL_MAX_CPU_ISA`` values that still let oneDNN use its bfloat16 instructions.
BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX", "ALL", "DEFAULT")


def lowered(symbol: mx.sym.Symbol, precision: str) -> mx.sym.Symbol:
    """``symbol`` with :data:`BF16_OPS` in bfloat16 (MXNet's AMP inserts the casts) for ``bf16``, else itself."""
    if precision == "float32":
        return symbol
    from mxnet.contrib import amp
    from mxnet.contrib.amp.lists import symbol_bf16 as lists

    either = [op for op in lists.BF16_FUNCS + lists.BF16_FP32_FUNCS if op not in BF16_OPS]
    return amp.convert_symbol(symbol, target_dtype="bfloat16", target_dtype_ops=list(BF16_OPS),
                              fp32_ops=either + lists.FP32_FUNCS, conditional_fp32_ops=[],
                              cast_optional_params=False)


def check(precision: str, ctx: mx.Context) -> None:
    """Refuse ``bf16`` where it cannot run fast: on a GPU, or on a CPU (or under a ``DNNL_MAX_CPU_ISA`` cap)
    without AVX512_BF16."""
    if precision == "float32":
        return
    if ctx.device_type != "cpu":
        raise NStyleError("--precision bf16: only on the CPU (this run computes on a GPU; use --gpu -1)")
    if "avx512_bf16" not in (runtime.cpu_flags() or []):
        raise NStyleError(f"--precision bf16: this CPU has no AVX512_BF16 instructions (widest SIMD "
                          f"{runtime.cpu_simd()}); use the default float32")
    cap = os.environ.get("DNNL_MAX_CPU_ISA", "").strip().upper()
    if cap and cap not in BF16_ISAS:
        raise NStyleError(f"--precision bf16: DNNL_MAX_CPU_ISA={cap} keeps oneDNN from its bfloat16 instructions")
