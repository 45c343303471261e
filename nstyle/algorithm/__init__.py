"""The algorithm of Gatys et al. (2015) as the classic MXNet example computes it (SPEC.md), plus opt-in extras.

Holds ``losses`` (Gram matrices, style and content losses, head-gradient weights, the TV gradient), ``lossnet``
(the VGG19 graph bound to its style and content targets), ``objective`` (the true objective, for optimisers that
need values), ``loop`` (the NAG, Adam and L-BFGS loops behind one interface, and the start image), ``lbfgs``
(SciPy's L-BFGS-B one iteration at a time), ``engine`` (what runs share: device, weights, networks, style targets),
``pyramid`` (the sizes a run solves at), ``guides`` (region masks at each layer's size, the guided Gram),
``regions`` (a level's style loss per layer and region), ``color`` (colour preservation), ``outcome`` (what a run
leaves behind) and ``shown`` (what a watcher is shown of the image, with the preserved colours). May import :mod:`nstyle.errors`, :mod:`nstyle.config`, :mod:`nstyle.model_zoo`, :mod:`nstyle.process`
and :mod:`nstyle.files`; never tiling, batch, the report or the command line.
"""
