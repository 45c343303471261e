"""``stylize(show=True)``: drawn and updated in place in a notebook executed by nbclient on a real IPython kernel
(ipykernel, started from this interpreter), through an in-process IPython shell's display machinery, and ignored
with one warning outside a notebook."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
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


def in_a_shell(images, weights_file, **options):
    """``stylize(show=True)`` in an in-process IPython shell whose display publisher records every call (data,
    transient, update); the calls and the Result."""
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
                                show=True, **options)
    finally:
        del shell.kernel
        InteractiveShell.clear_instance()
    return recorder.calls, result


def drawn_picture(markup: str) -> np.ndarray:
    """The picture in one drawing's HTML (a JPEG or PNG), decoded (``HxWx3`` uint8)."""
    from PIL import Image

    found = re.search(r'src="data:image/(?:jpeg|png);base64,([^"]+)"', markup)
    assert found, "no picture drawn"
    picture = Image.open(io.BytesIO(base64.b64decode(found.group(1))))
    assert picture.format in ("JPEG", "PNG")
    return np.asarray(picture.convert("RGB"))


def test_show_draws_and_updates_in_place(images, weights_file):
    calls, result = in_a_shell(images, weights_file, max_num_epochs=4)
    assert len(calls) >= 3  # the empty output, the first epoch, the end
    ids = {t.get("display_id") for _, t, _ in calls}
    assert len(ids) == 1 and None not in ids  # one output area ...
    assert [u for _, _, u in calls] == [False] + [True] * (len(calls) - 1)  # ... updated in place
    first, last = calls[1][0]["text/html"], calls[-1][0]["text/html"]
    assert 'src="data:image/jpeg;base64,' in first and "<polyline" in first and "epoch 1 of 4" in first
    assert "max-epochs after 4 epochs" in last and 'src="data:image/jpeg;base64,' in last
    assert last.count("<polyline") == 2  # style and content
    assert isinstance(result.image, np.ndarray) and result.epochs == 4


def test_the_live_picture_has_the_preserved_colours(images, weights_file, monkeypatch):
    monkeypatch.setattr(notebook, "EVERY", 0.0)  # draw every epoch
    options = dict(max_num_epochs=3, preserve_color="luminance", init="style", stop_eps=0)
    calls, result = in_a_shell(images, weights_file, **options)
    last_epoch = drawn_picture(calls[-2][0]["text/html"])  # the picture the final one is made from, as shown live
    assert "epoch 3 of 3" in calls[-2][0]["text/html"]
    plain = nstyle.stylize(images["content"], images["style"], weights=weights_file, max_long_edge=48,
                           **dict(options, preserve_color=None))  # the same image, as saved without the colours
    shown = np.abs(last_epoch.astype(np.int16) - result.image).mean()  # JPEG's loss only (measured 4.7)
    uncoloured = np.abs(plain.image.astype(np.int16) - result.image).mean()  # what the live picture was (31.8)
    assert shown < 8 < 20 < uncoloured


NOTEBOOK_EPOCHS = 3


def kernel_spec(folder) -> str:
    """A kernelspec in ``folder`` (a JUPYTER_PATH entry) starting ipykernel with this interpreter and this nstyle."""
    import nstyle as package

    spec = folder / "kernels" / "nstyle-test"
    spec.mkdir(parents=True)
    source = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__)))
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nstyle test", "language": "python", "env": {"PYTHONPATH": path}}))
    return "nstyle-test"


def test_a_real_kernel_shows_display_updates_in_place(images, weights_file, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    for var, sub in (("JUPYTER_PATH", "jupyter"), ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_CONFIG_DIR", "config"), ("IPYTHONDIR", "ipython")):
        monkeypatch.setenv(var, str(tmp_path / sub))  # nothing read from or left in the home folder
    name = kernel_spec(tmp_path / "jupyter")

    class Recording(nbclient.NotebookClient):
        """nbclient as it is, keeping every display message the kernel sent (it folds updates into one output)."""

        displays: list = []

        def process_message(self, msg, cell, cell_index):
            if msg["msg_type"] in ("display_data", "update_display_data"):
                self.displays.append((msg["msg_type"], msg["content"].get("transient", {}).get("display_id"),
                                      msg["content"]["data"].get("text/html", "")))
            return super().process_message(msg, cell, cell_index)

    run = (f"import nstyle, nstyle.live.notebook\n"
           f"nstyle.live.notebook.EVERY = 0  # draw every epoch\n"
           f"result = nstyle.stylize({images['content']!r}, {images['style']!r}, weights={weights_file!r},\n"
           f"                        max_long_edge=48, max_num_epochs={NOTEBOOK_EPOCHS}, show=True)")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(run), nbformat.v4.new_code_cell(
        "print(type(result).__name__, result.epochs, result.stopped, result.image.shape, result.image.dtype)\n"
        "print(result.image.tobytes().hex())")])
    client = Recording(notebook, timeout=300, startup_timeout=120, kernel_name=name,
                       resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    displays = Recording.displays
    assert [t for t, _, _ in displays] == ["display_data"] + ["update_display_data"] * (NOTEBOOK_EPOCHS + 1)
    ids = {i for _, i, _ in displays}
    assert len(ids) == 1 and None not in ids  # one output area, updated in place
    for epoch, (_, _, markup) in enumerate(displays[1:-1], start=1):
        assert f"epoch {epoch} of {NOTEBOOK_EPOCHS}" in markup and markup.count("<polyline") >= 1
    shown = [o for o in notebook.cells[0].outputs if o["output_type"] == "display_data"]
    assert len(shown) == 1  # the updates replaced the output, none was added
    final = shown[0]["data"]["text/html"]
    assert final == displays[-1][2] and f"max-epochs after {NOTEBOOK_EPOCHS} epochs" in final
    assert final.count("<polyline") == 2  # the style and content curves
    drawn = drawn_picture(final)
    assert drawn.shape == (48, 48, 3)

    printed = [o["text"] for o in notebook.cells[1].outputs if o["output_type"] == "stream" and o["name"] == "stdout"]
    summary, pixels = "".join(printed).splitlines()
    assert summary == f"Result {NOTEBOOK_EPOCHS} max-epochs (48, 48, 3) uint8"  # the Result was returned
    image = np.frombuffer(bytes.fromhex(pixels), np.uint8).reshape(48, 48, 3)
    difference = np.abs(drawn.astype(np.int16) - image).mean()
    assert difference < 8  # the drawn picture is the returned one (up to JPEG's loss)
