"""The process around a run: what must hold before MXNet loads, and what a long run needs from the terminal.

Holds ``compat`` (numpy aliases MXNet 1.9.1 still uses), ``runtime`` (threads, oneDNN's instruction set,
reproducible mode, the machine lines), ``cuda`` (the CUDA libraries of a GPU build, loaded before MXNet),
``resources`` (memory a run needs, checked before any graph is built), ``interrupts`` (SIGINT/SIGTERM as a request
to stop after the epoch) and ``progress`` (log lines and a progress bar). The lowest subpackage: it may import
only :mod:`nstyle.errors` and :mod:`nstyle.version`, and none of its modules imports MXNet at load time.
"""
