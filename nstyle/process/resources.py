"""Memory needed by a run at a given size, checked before any graph is built."""
from __future__ import annotations

from typing import Optional, Tuple

from ..errors import NStyleError

#: Fixed cost (MXNet, weights, Python) and cost per content pixel of the default graph, in bytes.
#: Fitted to the peak resident memory of the default path measured by the benchmarks (about 650 MB at 300x200 and
#: 1300 MB at 600x400, i.e. ~3.7 KB per pixel on top of ~430 MB), rounded up.
BASE_BYTES = 450 * 2**20
BYTES_PER_PIXEL = 4 * 2**10


def estimate_bytes(size: Tuple[int, int]) -> int:
    """Approximate peak memory of one run whose content image is ``size = (H, W)``."""
    return BASE_BYTES + BYTES_PER_PIXEL * size[0] * size[1]


def available_bytes() -> Optional[int]:
    """Memory the machine can still give us (Linux ``MemAvailable``), or ``None`` when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_memory(size: Tuple[int, int], flag: str, value: object) -> None:
    """Refuse a size whose estimated memory exceeds what is available, naming the flag that sets it."""
    need, have = estimate_bytes(size), available_bytes()
    if have is not None and need > have:
        raise NStyleError(f"a {size[1]}x{size[0]} image needs about {need / 2**30:.1f} GB of memory, more than "
                          f"the {have / 2**30:.1f} GB available; lower {flag} (now {value})")


#: Host memory per canvas pixel of a tiled run (canvas, content, two optimiser arrays, copies of the canvas and the
#: optimiser arrays from the start of the pass, the padded style image), float32, bytes.
TILED_BYTES_PER_PIXEL = 96
#: Smallest tile tried when choosing one automatically.
MIN_TILE = 256


def largest_tile(size: Tuple[int, int], have: int) -> Optional[int]:
    """The largest square tile (a multiple of 64 pixels) whose run fits in ``have`` bytes, or None."""
    host = TILED_BYTES_PER_PIXEL * size[0] * size[1]
    tile = MIN_TILE
    if estimate_bytes((tile, tile)) + host > have:
        return None
    while tile + 64 < max(size) and estimate_bytes((tile + 64, tile + 64)) + host <= have:
        tile += 64
    return tile


def return_freed_memory() -> bool:
    """Give the memory the C allocator holds freed back to the system (glibc's ``malloc_trim(0)``); False where
    there is no glibc. Called after a masked run's set-up, whose freed target executors glibc would otherwise keep
    beside the loss executor's memory (issue 24: 20 to 50 MB of the process peak at 256x256, measured)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return False
    trim(0)
    return True
