"""The network, as spec tables and one builder (after GluonCV's ``model_zoo``).

``spec`` is VGG19 as plain data: its blocks, layer names in graph order, widths and weight shapes, the classic
style and content layers; no MXNet, so :mod:`nstyle.config` validates layer names and :mod:`nstyle.files.weights`
checks a file's shapes without loading it. ``vgg`` builds the symbolic convolution stack from that table. May
import nothing of nstyle but itself.
"""
