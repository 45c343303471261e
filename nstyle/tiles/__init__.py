"""Print size: a picture larger than memory allows, optimised window by window with the whole picture's loss.

Holds ``geometry`` (the tile grid, context margins, shifts, feathering, split and merge, the seam metric; numpy
only), ``guides`` (region masks: the picture's guides cut to each window, guided Grams), ``level`` (one pyramid
level optimised tile by tile) and ``run`` (a tiled run, coarse to fine, resumable).
May import :mod:`nstyle.algorithm` and everything below it; nothing of batch, the report or the command line.
"""
