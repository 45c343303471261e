"""Reading and writing files: every byte nstyle reads or leaves on disk goes through here.

Holds ``images`` (any common image file as RGB, the classic pre/post-processing, saving), ``weights`` (the classic
``vgg19.params``, GluonCV's model zoo, seeded synthetic files), ``checksums`` (git blob ids and sha256; standard
library only, so ``download.sh`` runs it before installing), ``checkpoint`` (``checkpoint.npz``), ``atomic``
(write beside, then rename), ``masks`` (region masks: grey or alpha, checked) and ``guard`` (no output may replace an input). May import :mod:`nstyle.errors`,
:mod:`nstyle.config`, :mod:`nstyle.model_zoo` (the network's shapes) and :mod:`nstyle.process`; nothing of the
algorithm's losses or loops.
"""
