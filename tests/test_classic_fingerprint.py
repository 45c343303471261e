"""The default path computes the classic script's floats bit for bit, on every instruction set this machine has.

nstyle's first epochs (targets, first gradient, images, momentum; ``tests/fingerprint.py``) are compared with the
digests the classic script itself gave on this CPU (``tests/golden/classic_fingerprint.json``, written by
``python bench/classic.py --mxnet PATH --record``), for each instruction set oneDNN offers here (capped with
``DNNL_MAX_CPU_ISA``) at 1 and 2 threads. On a CPU with no record the comparison cannot be made and is skipped
with the command that records one.
"""
import pytest

import fingerprint

SIGNATURE = fingerprint.cpu_signature()
RECORD = fingerprint.load_saved().get(SIGNATURE)
NO_RECORD = (f"no fingerprint of the classic script recorded on this CPU ({SIGNATURE}); record one with "
             "`python bench/classic.py --mxnet PATH --record`")


@pytest.fixture(scope="module")
def isas():
    """oneDNN's instruction sets on this machine -> the cap that selects each."""
    return fingerprint.machine_isas()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, weights_file):
    """Content and style samples as PNG files, and the seed-0 synthetic weights."""
    content, style = fingerprint.write_samples(str(tmp_path_factory.mktemp("fingerprint")))
    return content, style, weights_file


def test_the_record_covers_every_instruction_set_here(isas):
    if RECORD is None:
        pytest.skip(NO_RECORD)
    assert len(isas) >= 1 and all(not name.startswith("unknown") for name in isas), isas
    missing = sorted(set(isas) - set(RECORD["by_isa"]))
    assert not missing, f"no classic fingerprint for {missing}: run bench/classic.py --record on this machine"


@pytest.mark.parametrize("threads", fingerprint.THREADS)
def test_default_path_is_the_classics_bits(isas, inputs, threads):
    if RECORD is None:
        pytest.skip(NO_RECORD)
    for isa, cap in isas.items():
        want = RECORD["by_isa"].get(isa, {}).get(str(threads))
        if want is None:
            continue  # reported by the coverage test
        got = fingerprint.take("nstyle", *inputs, cap, threads)
        differing = sorted(name for name in want if got.get(name) != want[name])
        assert not differing, f"{isa} at {threads} thread(s): {', '.join(differing)} differ from the classic's"
