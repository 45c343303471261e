"""Batch runs: expansion, manifests, shared work, resume, failure isolation and the report."""
import os

import numpy as np
import pytest
from PIL import Image

from helpers import log_records
from nstyle import api, cli
from nstyle import batch
from nstyle.config import Config
from nstyle.errors import NStyleError
from nstyle.files import checksums as verify


@pytest.fixture
def folder(tmp_path):
    """contents/a.png b.png, contents2/a.png (a repeated stem), styles/x.jpg y.jpg, broken/bad.png."""
    rng = np.random.RandomState(0)
    for sub, names in (("contents", ["a.png", "b.png"]), ("contents2", ["a.png"]), ("styles", ["x.jpg", "y.jpg"])):
        (tmp_path / sub).mkdir()
        for n in names:
            Image.fromarray(rng.randint(0, 256, (40, 56, 3), dtype=np.uint8)).save(tmp_path / sub / n)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "bad.png").write_text("not an image")
    return tmp_path


def argv(folder, weights_file, *extra, out="out"):
    return ["batch", "--output-dir", str(folder / out), "--weights", weights_file, "--max-long-edge", "32",
            "--max-num-epochs", "2", "--quiet", *extra]


def records(folder, out="out"):
    return log_records(folder / out)


def test_cartesian_expansion_of_files_dirs_and_globs(folder):
    base = Config()
    jobs = batch.jobs_from_args([str(folder / "contents"), str(folder / "contents2" / "*.png")],
                                [str(folder / "styles" / "x.jpg"), str(folder / "styles" / "y.jpg")], base, "D")
    assert len(jobs) == 6
    assert [j.cfg.style_image for j in jobs[:2]] == [str(folder / "styles" / "x.jpg"), str(folder / "styles" / "y.jpg")]
    names = [j.name for j in jobs]
    assert len(set(names)) == 6 and "b__x" in names
    repeated = [n for n in names if n.startswith("a__x")]
    assert len(repeated) == 2 and all(n != "a__x" for n in repeated)  # same stems: a hash keeps them apart
    assert all(j.output == os.path.join("D", j.name + ".jpg") for j in jobs)
    with pytest.raises(NStyleError, match="matches no files"):
        batch.expand([str(folder / "*.gif")], "content")


def write_manifest(folder, rows, name="runs.csv"):
    path = folder / name
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_manifest_rows_override_the_command_line(folder):
    path = write_manifest(folder, ["content,style,output,style_weight,max-long-edge",
                                   "contents/a.png,styles/x.jpg,first.png,5,",
                                   "contents/b.png,styles/x.jpg styles/y.jpg,,,48"])
    jobs = batch.jobs_from_manifest(path, Config(style_weight=2.0, max_long_edge=32), "D")
    assert jobs[0].cfg.style_weight == 5.0 and jobs[0].cfg.max_long_edge == 32
    assert jobs[0].output == os.path.join("D", "first.png")
    assert jobs[1].cfg.style_weight == 2.0 and jobs[1].cfg.max_long_edge == 48
    assert jobs[1].cfg.style_images == [str(folder / "styles" / "x.jpg"), str(folder / "styles" / "y.jpg")]


@pytest.mark.parametrize("rows, needle", [
    (["content,style,style_wieght", "contents/a.png,styles/x.jpg,1"], "unknown column(s) style_wieght"),
    (["content,style", "contents/a.png,styles/x.jpg", "contents/zz.png,styles/x.jpg"], "row 3: content file"),
    (["content,style,max_long_edge", "contents/a.png,styles/x.jpg,big"], "row 2: column max_long_edge"),
    (["content,style,lr", "contents/a.png,styles/x.jpg,-1"], "row 2: --lr -1.0: must be > 0"),
])
def test_bad_manifest_is_reported_before_anything_runs(rows, needle, folder, weights_file, capsys):
    path = write_manifest(folder, rows)
    status = cli.main(argv(folder, weights_file, "--manifest", path))
    err = capsys.readouterr().err
    assert status == 2 and needle in err
    assert not (folder / "out" / "runs.jsonl").exists()


def test_shared_work_is_done_once(folder, weights_file, tmp_path):
    engine = api.Engine()
    base = Config(weights=weights_file, max_long_edge=32, max_num_epochs=1, quiet=True)
    jobs = batch.jobs_from_args([str(folder / "contents")], [str(folder / "styles" / "x.jpg")], base,
                                str(tmp_path / "o"))
    outcomes = batch.run_jobs(jobs, str(tmp_path / "o"), True, engine)
    assert [o.status for o in outcomes] == ["done", "done"]
    assert engine.gram_computations == 1  # the second run reused the first run's style targets
    assert len(engine._nets) == 1  # one network for the one size
    more = batch.jobs_from_args([str(folder / "contents" / "a.png")], [str(folder / "styles" / "y.jpg")], base,
                                str(tmp_path / "o"))
    batch.run_jobs(more, str(tmp_path / "o"), True, engine)
    assert engine.gram_computations == 2


def test_resume_skips_done_reruns_changed_and_deleted(folder, weights_file, capsys):
    path = write_manifest(folder, ["content,style,style_weight", "contents/a.png,styles/x.jpg,1",
                                   "contents/b.png,styles/x.jpg,1"])
    assert cli.main(argv(folder, weights_file, "--manifest", path)) == 0
    assert [r["status"] for r in records(folder)] == ["done", "done"]
    first = records(folder)[0]
    assert first["config"]["weights_sha256"] == verify.file_checksum(weights_file) and len(first["hash"]) == 16
    assert cli.main(argv(folder, weights_file, "--manifest", path)) == 0
    assert len(records(folder)) == 2  # nothing ran again
    assert "skipped 2" in capsys.readouterr().err
    write_manifest(folder, ["content,style,style_weight", "contents/a.png,styles/x.jpg,1",
                            "contents/b.png,styles/x.jpg,3"])
    assert cli.main(argv(folder, weights_file, "--manifest", path)) == 0
    assert [r["name"] for r in records(folder)[2:]] == ["b__x"]
    os.remove(folder / "out" / "a__x.jpg")
    assert cli.main(argv(folder, weights_file, "--manifest", path)) == 0
    assert [r["name"] for r in records(folder)[3:]] == ["a__x"]


def test_one_bad_input_fails_alone(folder, weights_file, capsys):
    status = cli.main(argv(folder, weights_file, "--content-image", str(folder / "broken" / "bad.png"),
                           str(folder / "contents" / "a.png"), "--style-image", str(folder / "styles" / "x.jpg")))
    err = capsys.readouterr().err
    assert status == 1
    statuses = {r["name"]: (r["status"], r["reason"]) for r in records(folder)}
    assert statuses["a__x"][0] == "done"
    assert statuses["bad__x"][0] == "failed" and "not an image" in statuses["bad__x"][1]
    assert "done 1, skipped 0, failed 1" in err


def test_interrupted_batch_stops_and_resumes_that_run(folder, weights_file, monkeypatch, capsys):
    import signal
    real_run = api.run
    calls = []

    def interrupt_second(cfg, engine=None, on_epoch=None, **kw):
        calls.append(cfg.resume)

        def hook(ep):
            on_epoch(ep)  # the batch's own hook records the loss history
            if len(calls) == 2 and ep.epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)
        return real_run(cfg, on_epoch=hook, engine=engine, **kw)
    monkeypatch.setattr(api, "run", interrupt_second)
    args = argv(folder, weights_file, "--content-image", str(folder / "contents"), "--style-image",
                str(folder / "styles" / "x.jpg"), "--max-num-epochs", "3", "--save-epochs", "1")
    assert cli.main(args) == 130
    assert [r["status"] for r in records(folder)] == ["done", "interrupted"]
    assert cli.main(args) == 0
    assert calls == [False, False, True]  # the first run was skipped, the interrupted one resumed
    assert records(folder)[-1]["status"] == "done" and records(folder)[-1]["epochs"] == 3
    interrupted, resumed = records(folder)[1], records(folder)[-1]
    assert len(interrupted["history"]["style"]) == 1  # stopped after epoch 1
    assert len(resumed["history"]["style"]) == 3  # the report's curve covers the epochs before the resume
    assert resumed["history"]["style"][0] == interrupted["history"]["style"][0]
