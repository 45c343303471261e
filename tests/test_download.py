"""Checksums (git blob ids) and download.sh, with a fake curl instead of the network."""
import hashlib
import os
import shutil
import stat
import subprocess
import sys

import pytest

from nstyle import verify

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC_IDS = {"model/vgg19.params": "9dfbe2ed44e0e8914f9551888bf763e14c09c778",
            "input/IMG_4343.jpg": "eeb9f8c4c55c3c2095397ff82417ad23f2201834",
            "input/starry_night.jpg": "d4db3c8e88f1bc85c7ca9c7f669da82ae51a402b"}


def test_blob_id_matches_git_and_by_hand(tmp_path):
    for i, data in enumerate([b"", b"hello\n", os.urandom(3000)]):
        path = tmp_path / f"f{i}"
        path.write_bytes(data)
        by_git = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True)
        assert verify.blob_id(str(path)) == by_git.stdout.strip()
        assert verify.blob_id(str(path)) == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert verify.sha256(str(path)) == hashlib.sha256(data).hexdigest()
    assert verify.blob_id(str(tmp_path / "f1")) == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_known_files_are_the_spec_ids():
    assert verify.KNOWN_FILES == SPEC_IDS


def test_verify_command_exit_codes(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello\n")
    script = os.path.join(ROOT, "nstyle", "verify.py")

    def run(*args):
        return subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    assert run(str(path), "ce013625030ba8dba906f756967f9e9ca394464a").returncode == 0
    assert run(str(path), "0" * 40).returncode == 1
    assert run(str(tmp_path / "missing"), "0" * 40).returncode == 1
    assert run("--blob", str(path)).stdout.strip() == "ce013625030ba8dba906f756967f9e9ca394464a"
    listed = dict(line.split() for line in run("--list").stdout.splitlines())
    assert listed == SPEC_IDS


FAKE_CURL = """#!/bin/sh
# fake curl: copies $FAKE_SERVER/<path after base url> to the -o target, or fails like curl offline
out=""; url=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out="$2"; shift 2 ;;
        --retry|--connect-timeout) shift 2 ;;
        -*) shift ;;
        *) url="$1"; shift ;;
    esac
done
[ -n "${FAKE_OFFLINE:-}" ] && { echo "curl: (6) Could not resolve host" >&2; exit 6; }
src="$FAKE_SERVER/${url#http://example.invalid/}"
[ -f "$src" ] || { echo "curl: (22) 404" >&2; exit 22; }
cp "$src" "$out"
"""


@pytest.fixture
def project(tmp_path):
    """A copy of download.sh and verify.py, a fake server folder, a fake curl and a two-file manifest."""
    proj = tmp_path / "proj"
    (proj / "nstyle").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "download.sh"), proj)
    shutil.copy(os.path.join(ROOT, "nstyle", "verify.py"), proj / "nstyle")
    server = tmp_path / "server"
    (server / "model").mkdir(parents=True)
    (server / "input").mkdir()
    (server / "model" / "w.params").write_bytes(b"weights" * 100)
    (server / "input" / "a.jpg").write_bytes(b"picture" * 50)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    curl = bindir / "curl"
    curl.write_text(FAKE_CURL)
    curl.chmod(curl.stat().st_mode | stat.S_IEXEC)
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("".join(f"{p} {verify.blob_id(str(server / p))}\n" for p in ("model/w.params", "input/a.jpg")))
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", NSTYLE_BASE_URL="http://example.invalid",
               NSTYLE_MANIFEST=str(manifest), FAKE_SERVER=str(server), PYTHON=sys.executable)
    return proj, server, env


def download(proj, env):
    return subprocess.run(["sh", str(proj / "download.sh")], capture_output=True, text=True, env=env)


def test_fetches_verifies_then_skips(project):
    proj, server, env = project
    first = download(proj, env)
    assert first.returncode == 0, first.stderr
    assert (proj / "model" / "w.params").read_bytes() == (server / "model" / "w.params").read_bytes()
    assert first.stdout.count("downloaded and verified") == 2
    second = download(proj, env)
    assert second.returncode == 0 and second.stdout.count("already present") == 2
    assert "fetching" not in second.stdout


def test_wrong_content_is_removed_and_reported(project):
    proj, server, env = project
    (server / "input" / "a.jpg").write_bytes(b"tampered")
    result = download(proj, env)
    assert result.returncode != 0
    assert "removed  input/a.jpg" in result.stderr
    assert not (proj / "input" / "a.jpg").exists() and not (proj / "input" / "a.jpg.part").exists()
    assert (proj / "model" / "w.params").exists()


def test_stale_local_file_is_replaced(project):
    proj, server, env = project
    (proj / "model").mkdir()
    (proj / "model" / "w.params").write_bytes(b"half a download")
    result = download(proj, env)
    assert result.returncode == 0 and "does not match its checksum" in result.stdout
    assert (proj / "model" / "w.params").read_bytes() == (server / "model" / "w.params").read_bytes()


def test_offline_says_so_plainly(project):
    proj, _, env = project
    result = download(proj, dict(env, FAKE_OFFLINE="1"))
    assert result.returncode != 0
    assert "network is unreachable" in result.stderr
    assert not (proj / "model" / "w.params").exists()
    assert not [n for n in os.listdir(proj / "model") if n.endswith(".part")]
