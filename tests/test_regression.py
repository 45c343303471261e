"""Outputs of fixed configurations against the saved ones in tests/golden, in both directions.

They must hold on any x86-64 machine at any thread count (here: every oneDNN instruction-set cap this CPU allows
and 1 or 2 threads), and must fail when the default path's numbers really change (a perturbed NAG momentum or
learning rate). Reasoning and measurements: tests/goldens.py. Every rendering is a fresh process, because the
instruction set and the thread count are fixed when MXNet loads.
"""
import os

import numpy as np
import pytest

import goldens
from nstyle.process import runtime

#: The instruction-set caps to try: None = what the CPU has. AVX2 and AVX run on every CPU that has AVX2.
ISA_CAPS = [None, "AVX2", "AVX"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("regression"))


@pytest.mark.parametrize("name", sorted(goldens.CONFIGS))
def test_reproducible_output_matches_saved(name, weights_file, folder):
    # The user's own settings (one thread, no cap) must not matter in reproducible mode.
    fresh = goldens.render(name, weights_file, os.path.join(folder, "repro"),
                           env={**goldens.REPRODUCIBLE, "OMP_NUM_THREADS": "1", "DNNL_MAX_CPU_ISA": None})
    largest, mean = goldens.difference(name, fresh)
    assert goldens.within_tolerance(name, fresh), f"{name}: max difference {largest} levels, mean {mean:.3f}"


def test_reproducible_mode_gives_identical_bits_whatever_the_environment(weights_file, folder):
    runs = [goldens.render("tuned", weights_file, os.path.join(folder, f"bits{i}"),
                           env={**goldens.REPRODUCIBLE, "OMP_NUM_THREADS": threads, "DNNL_MAX_CPU_ISA": isa})
            for i, (threads, isa) in enumerate([("1", None), ("4", "AVX")])]
    # Without reproducible mode the same two settings differ (tests/goldens.py): this is what the mode buys.
    assert np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("isa", ISA_CAPS, ids=lambda v: v or "uncapped")
@pytest.mark.parametrize("name", sorted(goldens.CONFIGS))
def test_saved_output_holds_across_instruction_sets_and_threads(name, isa, threads, weights_file, folder):
    env = {"OMP_NUM_THREADS": threads, "DNNL_MAX_CPU_ISA": isa, runtime.REPRODUCIBLE_VAR: None}
    fresh = goldens.render(name, weights_file, os.path.join(folder, f"{isa}-{threads}"), env=env)
    largest, mean = goldens.difference(name, fresh)
    max_tol, mean_tol = goldens.TOLERANCE[name]
    assert largest <= max_tol and mean <= mean_tol, (
        f"{name} with ISA {isa or 'uncapped'}, {threads} thread(s): max {largest} levels (<= {max_tol}), "
        f"mean {mean:.3f} (<= {mean_tol})")


@pytest.mark.parametrize("perturbation", sorted(goldens.PERTURBATIONS))
@pytest.mark.parametrize("name", sorted(goldens.CONFIGS))
def test_perturbed_default_fails_the_saved_output(name, perturbation, weights_file, folder):
    # Rendered as a user's run would be (this machine's ISA and threads), the least favourable case.
    fresh = goldens.render(name, weights_file, os.path.join(folder, f"perturbed-{perturbation}"),
                           env={runtime.REPRODUCIBLE_VAR: None}, prelude=goldens.PERTURBATIONS[perturbation],
                           extra=goldens.perturbed_flags(name, perturbation))
    largest, mean = goldens.difference(name, fresh)
    assert not goldens.within_tolerance(name, fresh), (
        f"{name} with {perturbation}: max {largest}, mean {mean:.3f} still within {goldens.TOLERANCE[name]}")
    assert mean > goldens.TOLERANCE[name][1], f"{name} with {perturbation}: mean {mean:.3f}"


def test_saved_outputs_are_not_flat():
    # A saved output that is one colour would make the comparisons above meaningless.
    for name in goldens.CONFIGS:
        assert goldens.saved(name).std() > 5
