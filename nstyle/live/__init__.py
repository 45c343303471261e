"""Watching a run as it goes: a page served by the run's own process (``--web``), and pictures in Jupyter.

:mod:`.state` is what the run tells (the :class:`~nstyle.process.watch.Watch` it calls between epochs),
:mod:`.server` serves it over HTTP (standard library only), :mod:`.page` is the page, :mod:`.session` serves it
around a command, :mod:`.thumbs` makes a batch's pictures small for the page, :mod:`.notebook` draws a run inline in
a notebook. May import ``errors``, ``process``, ``files`` and ``report``; never MXNet.
"""
