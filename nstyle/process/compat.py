"""Let MXNet 1.9.1 run on numpy 1.24+ (Python 3.12 and 3.13 have no wheel of an older numpy).

numpy 1.24 removed the aliases ``np.bool``, ``np.int``, ``np.float``, ``np.complex``, ``np.object`` and ``np.str``
(deprecated since 1.20: they were only the builtins). MXNet 1.9.1 still uses them at import time and in some
operators, so they are put back as the builtins they always were. Importing this module is enough; it must run
before ``import mxnet``, which ``nstyle/__init__.py`` guarantees for every path (CLI, API, batch, tests, benches).
numpy 2 is not supported by MXNet 1.9.1 at all (its metadata requires numpy<2).
"""
from __future__ import annotations

import builtins

import numpy as np

#: The removed aliases and the builtin each stood for.
REMOVED_ALIASES = ("bool", "int", "float", "complex", "object", "str")


def restore_numpy_aliases() -> list:
    """Put back any of :data:`REMOVED_ALIASES` that this numpy lacks; return the names restored."""
    restored = []
    for name in REMOVED_ALIASES:
        if name not in np.__dict__:
            setattr(np, name, getattr(builtins, name))
            restored.append(name)
    return restored


RESTORED = restore_numpy_aliases()
