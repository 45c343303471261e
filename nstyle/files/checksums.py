"""Checksums for downloaded files: git blob ids (SPEC.md §2) and sha256.

Standard library only, so ``download.sh`` can run it before the package is installed:
``python3 nstyle/files/checksums.py FILE BLOB_ID`` exits 0 when the file matches, 1 when not.
"""
from __future__ import annotations

import hashlib
import os
import sys

#: Files that download.sh fetches, relative to the project root, with their git blob ids.
KNOWN_FILES = {
    "model/vgg19.params": "9dfbe2ed44e0e8914f9551888bf763e14c09c778",
    "input/IMG_4343.jpg": "eeb9f8c4c55c3c2095397ff82417ad23f2201834",
    "input/starry_night.jpg": "d4db3c8e88f1bc85c7ca9c7f669da82ae51a402b",
}


def _digest(path: str, hasher: "hashlib._Hash") -> str:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def blob_id(path: str) -> str:
    """Git's blob id of a file: SHA-1 of ``b"blob <size>\\0"`` followed by the bytes."""
    hasher = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    return _digest(path, hasher)


def sha256(path: str) -> str:
    """Hex sha256 of a file."""
    return _digest(path, hashlib.sha256())


_checksums: dict = {}


def file_checksum(path: str) -> str:
    """sha256 of a file, cached per (path, size, mtime); ``gluoncv`` (and anything not a file) stands for itself."""
    if path == "gluoncv" or not os.path.isfile(path):
        return path
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _checksums:
        _checksums[key] = sha256(path)
    return _checksums[key]


def matches(path: str, expected_blob: str) -> bool:
    """True when ``path`` exists and its blob id is ``expected_blob``."""
    return os.path.isfile(path) and blob_id(path) == expected_blob.lower()


def main(argv: "list[str]") -> int:
    """``checksums.py FILE BLOB_ID`` -> 0 if it matches, 1 otherwise; ``--blob FILE`` prints a file's blob id;
    ``--list`` prints the files download.sh fetches, one ``path blob_id`` per line."""
    if argv == ["--list"]:
        for path, blob in KNOWN_FILES.items():
            print(path, blob)
        return 0
    if len(argv) != 2 or argv[0] == "--list":
        print("usage: checksums.py FILE BLOB_ID | checksums.py --blob FILE | checksums.py --list", file=sys.stderr)
        return 2
    try:
        if argv[0] == "--blob":
            print(blob_id(argv[1]))
            return 0
        return 0 if matches(argv[0], argv[1]) else 1
    except OSError as exc:  # missing, unreadable or a directory: one line, not a traceback
        print(f"checksums.py: {argv[-1] if argv[0] == '--blob' else argv[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
