"""The batch report: ``index.html`` (contents down, styles across, results first; opens from disk) and ``sheet.png``.

Holds ``page`` (the HTML page and writing both files), ``grid`` (the report's shape: rows, columns, runs per cell),
``thumbs`` (cached thumbnails), ``svg`` (inline loss curves) and ``sheet`` (the grid as one picture). Reads only
``runs.jsonl`` records and image files: may import :mod:`nstyle.errors`, :mod:`nstyle.process` and
:mod:`nstyle.files`; nothing of the algorithm, batch or the command line.
"""
