"""Checksums (git blob ids, sha256), the checksums.py command, and download.sh run against fake curl/wget.

download.sh runs with a PATH that holds only a few basic tools and the fake downloader, so no test can reach
the network even by mistake.
"""
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from helpers import ROOT
from nstyle.files import checksums as verify

VERIFY = os.path.join(ROOT, "nstyle", "files", "checksums.py")
SPEC_MD = os.path.join(ROOT, "..", "shared", "SPEC.md")
# The ids written in SPEC.md §2.
SPEC_IDS = {"model/vgg19.params": "9dfbe2ed44e0e8914f9551888bf763e14c09c778",
            "input/IMG_4343.jpg": "eeb9f8c4c55c3c2095397ff82417ad23f2201834",
            "input/starry_night.jpg": "d4db3c8e88f1bc85c7ca9c7f669da82ae51a402b"}
REAL_BASE = "https://github.com/dmlc/web-data/raw/master/mxnet/neural-style"
HELLO_BLOB = "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object of b"hello\n"
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


# -- checksums.py --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"hello\n", b"a\r\nb\0c\r\n", os.urandom(3000), os.urandom((5 << 20) // 2)],
                         ids=["empty", "hello", "crlf-nul", "3k", "2.5M"])
def test_blob_id_equals_git_hash_object(tmp_path, data):
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    git = subprocess.run(["git", "hash-object", "--no-filters", str(path)], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert verify.blob_id(str(path)) == git.stdout.strip()
    assert verify.blob_id(str(path)) == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    assert verify.sha256(str(path)) == hashlib.sha256(data).hexdigest()


def test_known_values(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello\n")
    (tmp_path / "empty").write_bytes(b"")
    assert verify.blob_id(str(tmp_path / "hello")) == HELLO_BLOB
    assert verify.blob_id(str(tmp_path / "empty")) == EMPTY_BLOB
    assert hashlib.sha1(b"blob 6\0hello\n").hexdigest() == HELLO_BLOB
    assert verify.sha256(str(tmp_path / "hello")) == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert verify.sha256(str(tmp_path / "empty")) == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_matches(tmp_path):
    path = tmp_path / "hello"
    path.write_bytes(b"hello\n")
    assert verify.matches(str(path), HELLO_BLOB)
    assert verify.matches(str(path), HELLO_BLOB.upper())
    assert not verify.matches(str(path), EMPTY_BLOB)
    assert not verify.matches(str(tmp_path / "missing"), HELLO_BLOB)
    assert not verify.matches(str(tmp_path), HELLO_BLOB)  # a directory
    path.write_bytes(b"hello!\n")
    assert not verify.matches(str(path), HELLO_BLOB)


def run_verify(*args):
    return subprocess.run([sys.executable, VERIFY, *args], capture_output=True, text=True)


def test_verify_command(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"hello\n")
    assert run_verify(str(path), HELLO_BLOB).returncode == 0
    assert run_verify(str(path), EMPTY_BLOB).returncode == 1
    assert run_verify(str(tmp_path / "missing"), HELLO_BLOB).returncode == 1
    assert run_verify(str(tmp_path), HELLO_BLOB).returncode == 1
    blob = run_verify("--blob", str(path))
    assert blob.returncode == 0 and blob.stdout == HELLO_BLOB + "\n"
    for args in [(), (str(path),), (str(path), HELLO_BLOB, "extra")]:
        usage = run_verify(*args)
        assert usage.returncode == 2 and "usage" in usage.stderr


@pytest.mark.parametrize("target", ["missing", "directory"])
def test_verify_blob_of_a_bad_path_is_one_line(tmp_path, target):
    path = tmp_path / target
    if target == "directory":
        path.mkdir()
    result = run_verify("--blob", str(path))
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert str(path) in result.stderr


def test_known_files_are_the_spec_ids():
    assert verify.KNOWN_FILES == SPEC_IDS
    listed = run_verify("--list")
    assert listed.returncode == 0
    assert [tuple(line.split()) for line in listed.stdout.splitlines()] == list(SPEC_IDS.items())


@pytest.mark.skipif(not os.path.exists(SPEC_MD), reason="the shared SPEC.md is not next to this checkout")
def test_known_files_match_spec_md_text():
    text = open(SPEC_MD, encoding="utf-8").read()
    assert set(re.findall(r"\b[0-9a-f]{40}\b", text)) == set(verify.KNOWN_FILES.values())
    for path, blob in verify.KNOWN_FILES.items():
        at = text.index(blob)
        assert os.path.basename(path) in text[max(0, at - 300):at], (path, blob)


# -- download.sh ------------------------------------------------------------------------------------------------------

# One script for both downloaders; it behaves as curl or wget depending on its own name. FAKE_MODE:
# serve (copy FAKE_SERVER/<path under FAKE_BASE>), garbage (write an HTML error page), offline (fail like no network),
# hang (write a few bytes, then wait).
FAKE_DOWNLOADER = r"""#!/bin/sh
me=${0##*/}
out=""; url=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o|-O) out="$2"; shift 2 ;;
        --retry|--connect-timeout) shift 2 ;;
        -*) shift ;;
        *) url="$1"; shift ;;
    esac
done
echo "$me $url $out" >> "$FAKE_LOG"
case "${FAKE_MODE:-serve}" in
    offline)
        if [ "$me" = wget ]; then exit 4; fi
        echo "curl: (6) Could not resolve host: example.invalid" >&2; exit 6 ;;
    garbage)
        echo "<html>404 not found</html>" > "$out"; exit 0 ;;
    hang)
        echo "the first bytes" > "$out"; echo started >> "$FAKE_LOG.started"; exec sleep 60 ;;
esac
src="$FAKE_SERVER/${url#"$FAKE_BASE"/}"
if [ ! -f "$src" ]; then
    if [ "$me" = wget ]; then : > "$out"; exit 8; fi
    exit 22
fi
cp "$src" "$out"
"""

BASIC_TOOLS = ["sh", "dirname", "mktemp", "cp", "rm", "mkdir", "mv", "sleep"]
FAKE_BASE = "http://example.invalid/neural-style"


def make_bin(directory, downloaders):
    """A PATH directory with the basic tools download.sh needs, python3, and the fake downloaders named."""
    directory.mkdir()
    for tool in BASIC_TOOLS:
        os.symlink(shutil.which(tool), directory / tool)
    os.symlink(sys.executable, directory / "python3")
    for name in downloaders:
        fake = directory / name
        fake.write_text(FAKE_DOWNLOADER)
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(directory)


class Project:
    """A temporary copy of the project layout download.sh needs, a fake server and a log of fetches."""

    def __init__(self, tmp_path):
        self.root = tmp_path / "proj"
        (self.root / "nstyle" / "files").mkdir(parents=True)
        shutil.copy2(os.path.join(ROOT, "download.sh"), self.root)
        shutil.copy2(VERIFY, self.root / "nstyle" / "files")
        self.server = tmp_path / "server"
        (self.server / "model").mkdir(parents=True)
        (self.server / "input").mkdir()
        (self.server / "model" / "w.params").write_bytes(b"weights" * 1000)
        (self.server / "input" / "a.jpg").write_bytes(b"picture" * 50)
        self.manifest = tmp_path / "manifest.txt"
        self.manifest.write_text("".join(f"{p} {verify.blob_id(str(self.server / p))}\n"
                                         for p in ("model/w.params", "input/a.jpg")))
        self.log = tmp_path / "fetches.log"
        self.bins = {"curl": make_bin(tmp_path / "bin-curl", ["curl"]),
                     "wget": make_bin(tmp_path / "bin-wget", ["wget"]),
                     "none": make_bin(tmp_path / "bin-none", [])}
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()

    def env(self, tool="curl", defaults=False, **extra):
        env = {"PATH": self.bins[tool], "HOME": str(self.elsewhere), "LC_ALL": "C",
               "FAKE_LOG": str(self.log), "FAKE_SERVER": str(self.server), "FAKE_BASE": FAKE_BASE}
        if not defaults:
            env.update(NSTYLE_BASE_URL=FAKE_BASE, NSTYLE_MANIFEST=str(self.manifest))
        env.update(extra)
        return env

    def run(self, tool="curl", defaults=False, **extra):
        """Run ./download.sh as an executable, by a relative path from another directory."""
        script = os.path.relpath(self.root / "download.sh", self.elsewhere)
        return subprocess.run([script], capture_output=True, text=True, cwd=self.elsewhere,
                              env=self.env(tool, defaults, **extra), timeout=60)

    def fetches(self):
        if not self.log.exists():
            return []
        return [line.split() for line in self.log.read_text().splitlines()]

    def leftovers(self):
        """Files under the project other than the script and checksums.py."""
        found = []
        for base, _, files in os.walk(self.root):
            found += [os.path.relpath(os.path.join(base, f), self.root) for f in files]
        return sorted(f for f in found if f not in ("download.sh", os.path.join("nstyle", "files", "checksums.py")))


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_script_is_posix_sh_and_executable():
    path = os.path.join(ROOT, "download.sh")
    assert os.access(path, os.X_OK)
    assert open(path).readline().strip() == "#!/bin/sh"
    for shell in ("sh", "dash"):
        if shutil.which(shell):
            check = subprocess.run([shell, "-n", path], capture_output=True, text=True)
            assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("tool", ["curl", "wget"])
def test_fetches_to_a_temporary_file_verifies_then_skips(project, tool):
    first = project.run(tool)
    assert first.returncode == 0, first.stderr
    for rel in ("model/w.params", "input/a.jpg"):
        assert (project.root / rel).read_bytes() == (project.server / rel).read_bytes()
    assert first.stdout.count("downloaded and verified") == 2
    fetched = project.fetches()
    assert [f[:2] for f in fetched] == [[tool, f"{FAKE_BASE}/model/w.params"], [tool, f"{FAKE_BASE}/input/a.jpg"]]
    for _, _, out in fetched:  # written somewhere else first, moved into place after verification
        assert os.path.basename(out) not in ("w.params", "a.jpg")
    assert project.leftovers() == ["input/a.jpg", "model/w.params"]
    assert os.listdir(project.elsewhere) == []  # the script works in its own directory, not the caller's
    second = project.run(tool)
    assert second.returncode == 0 and second.stdout.count("already present and verified") == 2
    assert len(project.fetches()) == 2, "a valid file was fetched again"


def test_wrong_content_is_removed_and_reported(project):
    (project.server / "input" / "a.jpg").write_bytes(b"tampered on the server")
    result = project.run()
    assert result.returncode != 0
    assert "removed  input/a.jpg: the download does not match git blob" in result.stderr
    assert "missing after this run: input/a.jpg" in result.stderr
    assert project.leftovers() == ["model/w.params"]  # the good file is kept, no partial download left


def test_invalid_local_file_is_removed_and_fetched_again(project):
    (project.root / "model").mkdir()
    (project.root / "model" / "w.params").write_bytes(b"half a download")
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert "removed  model/w.params: it does not match git blob" in result.stdout
    assert (project.root / "model" / "w.params").read_bytes() == (project.server / "model" / "w.params").read_bytes()


def test_invalid_local_file_is_removed_even_when_offline(project):
    (project.root / "model").mkdir()
    (project.root / "model" / "w.params").write_bytes(b"half a download")
    result = project.run(FAKE_MODE="offline")
    assert result.returncode != 0
    assert "removed  model/w.params" in result.stdout
    assert project.leftovers() == []


@pytest.mark.parametrize("tool", ["curl", "wget"])
def test_unreachable_network_is_said_plainly(project, tool):
    result = project.run(tool, FAKE_MODE="offline")
    assert result.returncode != 0
    assert "the network is unreachable" in result.stderr and FAKE_BASE in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(project.fetches()) == 1  # gives up at once instead of trying every file
    assert project.leftovers() == []
    (project.root / "input").mkdir()
    shutil.copy(project.server / "input" / "a.jpg", project.root / "input")  # a valid file stays put
    again = project.run(tool, FAKE_MODE="offline")
    assert again.returncode != 0 and "the network is unreachable" in again.stderr
    assert project.leftovers() == ["input/a.jpg"]


def test_a_file_the_server_lacks_leaves_a_non_zero_exit(project):
    (project.server / "input" / "a.jpg").unlink()
    result = project.run()
    assert result.returncode != 0
    assert "failed   input/a.jpg: download error" in result.stderr
    assert "missing after this run: input/a.jpg" in result.stderr
    assert project.leftovers() == ["model/w.params"]


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_download_leaves_no_partial_file(project, sig, status):
    script = os.path.relpath(project.root / "download.sh", project.elsewhere)
    # As at a terminal, where SIGINT is not ignored. A test run started in the background by a non-interactive shell
    # (`cmd &`) inherits SIGINT ignored, and a signal ignored on entry stays ignored in download.sh and its downloader
    # (POSIX sh cannot trap it), so that run waited 60 s here. Python's own handler becomes the default at exec.
    ignored_or_not = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([script], cwd=project.elsewhere, env=project.env(FAKE_MODE="hang"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, ignored_or_not)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(f"{project.log}.started") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.exists(f"{project.log}.started"), "the fake download never started"
        assert project.leftovers() != []  # the partial download exists while it runs
        os.killpg(proc.pid, sig)  # like Ctrl-C / kill: the whole foreground group gets the signal
        assert proc.wait(timeout=30) == status
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert project.leftovers() == []


def test_without_curl_or_wget_it_says_what_is_needed(project):
    result = project.run("none")
    assert result.returncode != 0 and "needs curl or wget" in result.stderr
    assert project.leftovers() == []


def test_manifest_without_final_newline_is_read_whole(project):
    project.manifest.write_text(project.manifest.read_text().rstrip("\n"))
    result = project.run()
    assert result.returncode == 0, result.stderr
    assert project.leftovers() == ["input/a.jpg", "model/w.params"]


def test_defaults_are_the_spec_url_and_ids(project):
    """No overrides: it asks for the three real URLs (from the fake curl), and checks them against SPEC's ids."""
    result = project.run(defaults=True, FAKE_MODE="garbage")
    assert result.returncode != 0
    assert [f[1] for f in project.fetches()] == [f"{REAL_BASE}/{p}" for p in SPEC_IDS]
    for path, blob in SPEC_IDS.items():
        assert f"removed  {path}: the download does not match git blob {blob}" in result.stderr
    assert project.leftovers() == []
