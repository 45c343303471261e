"""``stylize(show=True)``: drawn and updated in place through a real IPython shell's display machinery (IPython's
``InteractiveShell`` with a recording display publisher, standing in for a kernel's: no Jupyter kernel is
installed for the tests), and ignored with one warning outside a notebook."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import nstyle
from nstyle.live import notebook


def test_outside_a_notebook_show_is_ignored_with_one_warning(images, weights_file, monkeypatch):
    monkeypatch.setattr(notebook, "_warned", False)
    options = dict(weights=weights_file, max_long_edge=48, max_num_epochs=2, show=True)
    with pytest.warns(UserWarning, match="only in a Jupyter notebook"):
        result = nstyle.stylize(images["content"], images["style"], **options)
    assert result.epochs == 2 and result.image.shape == (48, 48, 3)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        nstyle.stylize(images["content"], images["style"], **options)
    assert not [w for w in seen if "Jupyter" in str(w.message)]  # the second time: silent


def test_show_draws_and_updates_in_place(images, weights_file):
    pytest.importorskip("IPython")
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Recorder(DisplayPublisher):
        def __init__(self) -> None:
            super().__init__()
            self.calls = []

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            self.calls.append((data, transient or {}, update))

    shell = InteractiveShell.instance()
    recorder = Recorder()
    shell.display_pub = recorder
    shell.kernel = object()  # what a kernel's shell has: nstyle draws only there
    try:
        result = nstyle.stylize(images["content"], images["style"], weights=weights_file, max_long_edge=48,
                                max_num_epochs=4, show=True)
    finally:
        del shell.kernel
        InteractiveShell.clear_instance()
    calls = recorder.calls
    assert len(calls) >= 3  # the empty output, the first epoch, the end
    ids = {t.get("display_id") for _, t, _ in calls}
    assert len(ids) == 1 and None not in ids  # one output area ...
    assert [u for _, _, u in calls] == [False] + [True] * (len(calls) - 1)  # ... updated in place
    first, last = calls[1][0]["text/html"], calls[-1][0]["text/html"]
    assert 'src="data:image/jpeg;base64,' in first and "<polyline" in first and "epoch 1 of 4" in first
    assert "max-epochs after 4 epochs" in last and 'src="data:image/jpeg;base64,' in last
    assert last.count("<polyline") == 2  # style and content
    assert isinstance(result.image, np.ndarray) and result.epochs == 4
