"""``nstyle.engine``, kept for scripts written before the layout of issue 23: the module is
:mod:`nstyle.algorithm.engine`; this name is the same module object."""
import sys

from .algorithm import engine

sys.modules[__name__] = engine
