"""The public names (nstyle/__init__.py, docs/api.md) keep working where users' scripts import them."""
import subprocess
import sys

from helpers import ROOT


def test_public_names_resolve():
    import nstyle.api
    import nstyle.batch
    import nstyle.cluster
    import nstyle.config
    import nstyle.engine
    from nstyle.batch import jobs_from_args, jobs_from_manifest, run_batch, summary  # noqa: F401

    assert callable(nstyle.stylize) and callable(nstyle.run) and callable(nstyle.api.run)
    assert nstyle.Config is nstyle.config.Config and issubclass(nstyle.NStyleError, Exception)
    assert nstyle.engine.Engine.__name__ == "Engine" and callable(nstyle.cluster.connect)
    for name in nstyle.batch.__all__:
        assert getattr(nstyle.batch, name) is not None, name


def test_aliases_are_the_moved_modules():
    """``nstyle.engine`` and ``nstyle.cluster`` are the same module objects, so patching either patches both."""
    import nstyle.algorithm.engine
    import nstyle.batch.cluster
    import nstyle.cluster
    import nstyle.engine

    assert nstyle.engine is nstyle.algorithm.engine
    assert nstyle.cluster is nstyle.batch.cluster


def test_unknown_batch_name_is_an_attribute_error():
    import nstyle.batch

    try:
        nstyle.batch.no_such_name
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("nstyle.batch.no_such_name resolved")


def test_light_imports_do_not_load_mxnet():
    """Importing nstyle, its batch package, the cluster alias or the command line leaves MXNet unloaded, so the
    command line can still choose reproducible mode and ``--help`` stays quick."""
    code = ("import sys, nstyle, nstyle.batch, nstyle.cluster, nstyle.cli, nstyle.config\n"
            "print('mxnet' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False", out.stderr
