#!/bin/sh
# Installs the Debian packages lode needs to build, test and benchmark
# (`make deps`). Debian 12 (bookworm). clang is for `make fuzz` (libFuzzer).
set -e
BUILD="build-essential pkg-config libpoppler-glib-dev libglib2.0-dev libcairo2-dev
 libarchive-dev libxml2-dev libjansson-dev libutf8proc-dev libtesseract-dev libleptonica-dev
 libopenblas-dev liblmdb-dev libstemmer-dev libpcre2-dev tesseract-ocr-eng tesseract-ocr-osd"
TEST="shellcheck clang-format jq bc parallel python3-yaml libxml2-utils openssh-server openssh-client zip unzip poppler-utils groff-base groff man-db ghostscript util-linux time libtiff-tools
 tesseract-ocr python3-numpy inotify-tools postgresql sqlite3"
BENCH="hyperfine debian-reference-en ocrmypdf img2pdf python3-torch python3-hnswlib python3-faiss curl
 clang libclang-rt-14-dev"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $BUILD $TEST $BENCH
