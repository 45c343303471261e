"""``nstyle.cluster``, kept for scripts written before the layout of issue 23: the module is
:mod:`nstyle.batch.cluster`; this name is the same module object."""
import sys

from .batch import cluster

sys.modules[__name__] = cluster
