#!/bin/sh
# Fetch the classic VGG19 weights (model/vgg19.params) and the two classic sample images (input/IMG_4343.jpg,
# input/starry_night.jpg), keeping each file only once `python3 nstyle/files/checksums.py FILE BLOB` confirms its git blob id.
#   sh download.sh        (from any directory; files land next to this script)
# A file already present and valid is skipped; one that fails verification is removed and reported.
# Exit status 0 only when every file is present and verified at the end.
# For tests: NSTYLE_BASE_URL replaces the download location, NSTYLE_MANIFEST names a file of "path blob_id" lines
# (default: `python3 nstyle/files/checksums.py --list`, the ids of SPEC.md), PYTHON the interpreter that runs checksums.py.
set -u
cd "$(dirname "$0")" || exit 1
BASE_URL="${NSTYLE_BASE_URL:-https://github.com/dmlc/web-data/raw/master/mxnet/neural-style}"
PYTHON="${PYTHON:-python3}"

if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"; }
    # 5/6: cannot resolve proxy/host, 7: cannot connect, 28: timed out
    unreachable() { [ "$1" -eq 5 ] || [ "$1" -eq 6 ] || [ "$1" -eq 7 ] || [ "$1" -eq 28 ]; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q --tries=2 --timeout=20 -O "$2" "$1"; }
    # 4: network failure (includes name resolution and connection errors)
    unreachable() { [ "$1" -eq 4 ]; }
else
    echo "download.sh: needs curl or wget to fetch the files; install one of them" >&2
    exit 1
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "download.sh: needs $PYTHON to verify the files (set PYTHON=... to use another interpreter)" >&2
    exit 1
fi

list=$(mktemp) || exit 1
part=""
trap 'rm -f "$list" ${part:+"$part"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -n "${NSTYLE_MANIFEST:-}" ]; then
    cp "$NSTYLE_MANIFEST" "$list" || exit 1
else
    "$PYTHON" nstyle/files/checksums.py --list > "$list" || exit 1
fi

while read -r path blob || [ -n "${path:-}" ]; do
    [ -n "$path" ] || continue
    if "$PYTHON" nstyle/files/checksums.py "$path" "$blob" 2>/dev/null; then
        echo "ok       $path (already present and verified)"
        continue
    fi
    if [ -d "$path" ]; then
        echo "failed   $path: is a directory; move it out of the way and run this again" >&2
        continue
    fi
    if [ -e "$path" ]; then
        rm -f "$path" || exit 1
        echo "removed  $path: it does not match git blob $blob; fetching it again"
    fi
    mkdir -p "$(dirname "$path")" || exit 1
    part="$path.part"
    echo "fetching $BASE_URL/$path"
    fetch "$BASE_URL/$path" "$part"
    code=$?
    if [ "$code" -ne 0 ]; then
        rm -f "$part"
        if unreachable "$code"; then
            echo "download.sh: cannot reach $BASE_URL: the network is unreachable from this machine." >&2
            echo "  Copy the files by hand (see model/README.md), or run this again when online." >&2
            exit 1
        fi
        echo "failed   $path: download error (exit status $code)" >&2
        continue
    fi
    if "$PYTHON" nstyle/files/checksums.py "$part" "$blob"; then
        mv -f "$part" "$path" || exit 1
        echo "ok       $path (downloaded and verified)"
    else
        rm -f "$part"
        echo "removed  $path: the download does not match git blob $blob" >&2
    fi
    part=""
done < "$list"

missing=""
while read -r path blob || [ -n "${path:-}" ]; do
    [ -n "$path" ] && [ ! -f "$path" ] && missing="$missing $path"
done < "$list"
if [ -n "$missing" ]; then
    echo "download.sh: missing after this run:$missing" >&2
    exit 1
fi
echo "download.sh: all files present and verified"
