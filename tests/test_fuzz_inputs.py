"""Every decoder of a file nstyle reads, fed hostile bytes: it returns what it should or raises NStyleError, nothing
else (no traceback, no hang). Images are fuzzed in test_failures.py; here the manifest, the checkpoint, runs.jsonl
and the weights file."""
import io
import json
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nstyle import batch
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.files import checkpoint, weights
from nstyle.report import page as report

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def hostile(folder, name: str, original: bytes, data) -> str:
    """Write ``data`` (bytes) or a mutation of ``original`` (``data``: an int seed) as ``folder/name``."""
    path = folder / name
    path.write_bytes(mutate(original, data) if isinstance(data, int) else data)
    return str(path)


def one_line_error(call, prefix: str):
    """``call()``'s result, or None when it raised a one-line NStyleError starting with ``prefix``."""
    try:
        return call()
    except NStyleError as exc:
        assert str(exc).startswith(prefix) and "\n" not in str(exc)
        return None


def written(tmp_path_factory, name: str, save) -> bytes:
    """The bytes ``save(path)`` writes to a fresh ``.../name``."""
    path = str(tmp_path_factory.mktemp("original") / name)
    save(path)
    with open(path, "rb") as f:
        return f.read()


def mutate(data: bytes, seed: int) -> bytes:
    """``data`` with a few bytes changed, a stretch overwritten with a large number, or cut short."""
    rng = random.Random(seed)
    out = bytearray(data)
    kind = rng.randrange(3)
    if kind == 0:
        for _ in range(rng.randint(1, 6)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif kind == 1:
        at = rng.randrange(max(1, len(out) - 8))
        out[at:at + 8] = rng.randrange(2 ** 64).to_bytes(8, "little")
    else:
        out = out[:rng.randrange(len(out))]
    return bytes(out)


# ---- manifest ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def manifest_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    for name in ("a.jpg", "b.png"):
        (folder / name).write_bytes(b"x")  # the parser only checks that the files exist
    return folder


@FUZZ
@given(data=st.one_of(st.binary(max_size=600),
                      st.text(alphabet="content,style;seed\t\r\n\"a.jpgb.png 1-e\ufeff\x00", max_size=200).map(
                          lambda t: t.encode("utf-8")),
                      st.integers(0, 10 ** 6).map(lambda seed: mutate(
                          b"\xef\xbb\xbfcontent,style,seed,style_weight\r\na.jpg,b.png,3,1e3\r\nb.png,a.jpg b.png,,\r\n",
                          seed))))
@example(data=b"content,style\n" + b"[" * 5000 + b",a.jpg\n")
def test_manifest_parser_only_raises_our_error(data, manifest_folder):
    path = manifest_folder / "runs.csv"
    path.write_bytes(data)
    try:
        jobs = batch.jobs_from_manifest(str(path), Config(), str(manifest_folder / "out"))
    except NStyleError as exc:
        assert "\n" not in str(exc)
        return
    for job in jobs:
        assert os.path.exists(job.cfg.content_image) and all(os.path.exists(s) for s in job.cfg.style_images)
        job.cfg.validate()


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(str.strip)


@FUZZ
@given(rows=st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=6),
       delimiter=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_manifest_rows_round_trip_through_a_spreadsheet_export(rows, delimiter, newline, encoding, tmp_path):
    """Whatever a spreadsheet writes (quoted as the csv module quotes), the parser gives back the same cells."""
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=newline).writerows([["content", "style", "seed"], *rows])
    path = tmp_path / "m.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    header, parsed = batch.manifest_rows(str(path))
    assert header == ["content", "style", "seed"]
    want = [[c.strip() for c in row] for row in rows if any(c.strip() for c in row)]
    assert [[cells[h] for h in header] for _, cells in parsed] == want


# ---- checkpoint ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory):
    state = {"image": np.random.RandomState(0).rand(1, 3, 8, 8).astype(np.float32), "epoch": np.int64(7),
             "optimizer_state": np.zeros((1, 1, 3, 8, 8), np.float32), "sched_base_lr": np.float64(0.001)}
    return written(tmp_path_factory, "checkpoint.npz", lambda path: checkpoint.save(path, state, "hash0"))


@FUZZ
@given(data=st.one_of(st.binary(max_size=800), st.integers(0, 10 ** 6)))
def test_checkpoint_loader_only_raises_our_error(data, real_checkpoint, tmp_path):
    path = hostile(tmp_path, "checkpoint.npz", real_checkpoint, data)
    state = one_line_error(lambda: checkpoint.load(path, "hash0"), "--resume: checkpoint")
    for value in (state or {}).values():  # what gets through is plain, finite numbers
        assert value.dtype.kind in "biuf" and (value.dtype.kind != "f" or np.isfinite(value).all())


def test_pickled_checkpoint_is_refused_without_unpickling(tmp_path):
    """``allow_pickle=False``: an object array (which could run code when unpickled) is refused, not loaded."""
    ran = []

    class Payload:
        def __reduce__(self):
            return ran.append, ("unpickled",)
    path = str(tmp_path / "checkpoint.npz")
    np.savez(path, config_hash=np.array("hash0"), image=np.array([Payload()], dtype=object))
    with open(path, "rb") as f:
        assert b"append" in f.read()  # the payload is really in the file
    with pytest.raises(NStyleError, match="Object arrays cannot be loaded when allow_pickle=False"):
        checkpoint.load(path, "hash0")
    assert ran == []


def test_checkpoint_round_trip(real_checkpoint, tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(real_checkpoint)
    state = checkpoint.load(str(path), "hash0")
    assert int(state["epoch"]) == 7 and state["image"].shape == (1, 3, 8, 8)


# ---- runs.jsonl ----------------------------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(list(batch.RECORD_FIELDS) + ["x"]), inner, max_size=8), max_leaves=12)
GOOD = {"name": "a__b", "status": "done", "hash": "h", "output": "out/a__b.jpg", "content": "a.jpg", "style": "b.jpg",
        "epochs": 3, "seconds": 1.5, "style_loss": 2.0, "content_loss": 3.0}


@FUZZ
@given(lines=st.lists(st.one_of(st.binary(max_size=80), JSON.map(lambda v: json.dumps(v).encode()),
                                st.dictionaries(st.sampled_from(list(GOOD)), JSON, max_size=4).map(
                                    lambda change: json.dumps(dict(GOOD, **change)).encode())), max_size=8))
def test_runs_log_reader_keeps_only_well_formed_records(lines, tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    latest = batch.read_log(str(path))
    for name, record in latest.items():
        assert isinstance(name, str) and record["name"] == name
        for key, kind in batch.RECORD_FIELDS.items():
            assert key not in record or (isinstance(record[key], kind) and not isinstance(record[key], bool))
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    report.write(str(folder), latest, list(latest))  # whatever survives, the report can show
    assert (folder / "index.html").exists()


# ---- weights ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_params(tmp_path_factory):
    """A classic-format file holding conv1_1 only: small to mutate; whole, it is refused for its missing layers."""
    params = weights.synthetic(0)
    layer = {k: params[k] for k in ("conv1_1_weight", "conv1_1_bias")}
    return written(tmp_path_factory, "small.params", lambda path: weights.save_classic(layer, path))


@FUZZ
@given(data=st.one_of(st.binary(max_size=400), st.integers(0, 10 ** 6)))
def test_weights_loader_only_raises_our_error(data, small_params, tmp_path):
    path = hostile(tmp_path, "w.params", small_params, data)
    params = one_line_error(lambda: weights.load_classic(path), "weights file")
    assert params is None or (params["conv1_1_weight"].shape == (64, 3, 3, 3)
                              and np.isfinite(params["conv1_1_weight"]).all())
