#!/bin/sh
# tests/deps.sh [build|test|bench|list KIND]... - installs the Debian 12
# (bookworm) packages lode needs:
#   build  what `make` and the README's first command need (make deps)
#   test   what `make check` needs besides (make deps-test; .ci/run)
#   bench  the peers and data of `make bench`, and clang for `make fuzz`
#          (make deps-bench)
# `list KIND` prints a list instead of installing it (tests/e2e/deps.sh
# counts what each one brings).
set -e
BUILD="build-essential pkg-config libpoppler-glib-dev libglib2.0-dev libcairo2-dev
 libarchive-dev libxml2-dev libjansson-dev libutf8proc-dev libtesseract-dev libleptonica-dev
 libopenblas-dev liblmdb-dev libstemmer-dev libpcre2-dev tesseract-ocr-eng tesseract-ocr-osd jq"
TEST="shellcheck clang-format bc parallel python3-yaml libxml2-utils openssh-server openssh-client
 zip unzip poppler-utils groff-base groff man-db ghostscript util-linux time libtiff-tools
 tesseract-ocr tesseract-ocr-deu python3-numpy inotify-tools postgresql sqlite3"
BENCH="hyperfine debian-reference-en ocrmypdf img2pdf python3-torch python3-hnswlib python3-faiss curl
 clang libclang-rt-14-dev"
if [ "${1:-}" = list ]; then
    # shellcheck disable=SC2086 # one line of words
    case ${2:-} in
    build) echo $BUILD ;;
    test) echo $TEST ;;
    bench) echo $BENCH ;;
    *) echo "usage: deps.sh list build|test|bench" >&2; exit 2 ;;
    esac
    exit 0
fi
[ $# -gt 0 ] || set -- build
want=""
for k in "$@"; do
    case $k in
    build) want="$want $BUILD" ;;
    test) want="$want $TEST" ;;
    bench) want="$want $BENCH" ;;
    *) echo "usage: deps.sh [build|test|bench]..." >&2; exit 2 ;;
    esac
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $want
