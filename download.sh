#!/bin/sh
# Fetch the classic VGG19 weights (model/vgg19.params) and the two classic sample images (input/),
# verifying each file's git blob id with nstyle/verify.py before moving it into place.
#   sh download.sh
# Files already present and valid are skipped; a file that fails verification is removed.
# For tests: NSTYLE_BASE_URL replaces the download location, NSTYLE_MANIFEST names a file of "path blob_id" lines.
set -u
cd "$(dirname "$0")" || exit 1
BASE_URL="${NSTYLE_BASE_URL:-https://github.com/dmlc/web-data/raw/master/mxnet/neural-style}"
PYTHON="${PYTHON:-python3}"

if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"; }
    unreachable() { [ "$1" -eq 6 ] || [ "$1" -eq 7 ] || [ "$1" -eq 28 ]; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q --tries=2 --timeout=20 -O "$2" "$1"; }
    unreachable() { [ "$1" -eq 4 ]; }
else
    echo "download.sh: needs curl or wget to fetch the weights" >&2
    exit 1
fi

list=$(mktemp) || exit 1
trap 'rm -f "$list"' EXIT
if [ -n "${NSTYLE_MANIFEST:-}" ]; then
    cp "$NSTYLE_MANIFEST" "$list" || exit 1
else
    "$PYTHON" nstyle/verify.py --list > "$list" || exit 1
fi

failed=0
while read -r path blob; do
    [ -n "$path" ] || continue
    if "$PYTHON" nstyle/verify.py "$path" "$blob"; then
        echo "ok       $path (already present and verified)"
        continue
    fi
    if [ -e "$path" ]; then
        rm -f "$path"
        echo "removed  $path: it does not match its checksum; fetching it again"
    fi
    mkdir -p "$(dirname "$path")"
    part="$path.part"
    echo "fetching $BASE_URL/$path"
    fetch "$BASE_URL/$path" "$part"
    code=$?
    if [ "$code" -ne 0 ]; then
        rm -f "$part"
        if unreachable "$code"; then
            echo "download.sh: cannot reach $BASE_URL: the network is unreachable from this machine." >&2
            echo "  Copy the files by hand (see model/README.md), or use --weights gluoncv when online." >&2
            exit 1
        fi
        echo "failed   $path: download error (exit $code)" >&2
        failed=1
        continue
    fi
    if "$PYTHON" nstyle/verify.py "$part" "$blob"; then
        mv -f "$part" "$path"
        echo "ok       $path (downloaded and verified)"
    else
        rm -f "$part" "$path"
        echo "removed  $path: the download does not match git blob $blob" >&2
        failed=1
    fi
done < "$list"

if [ "$failed" -ne 0 ]; then
    echo "download.sh: some files are missing; run it again" >&2
    exit 1
fi
