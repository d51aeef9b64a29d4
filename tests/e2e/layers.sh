#!/usr/bin/env bash
# The layer map of lib/README.md holds for the tree (tests/layers.sh), and
# the check catches an include that reaches up a layer or names no layer.
# runs no lode program (the normal pass only: tests/run.sh)
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
"$ROOT/tests/layers.sh" "$ROOT" > tree.txt
check "lib/ keeps its layers: $(tail -1 tree.txt)" test $? -eq 0

mkdir -p planted
cp -R "$ROOT/lib" planted/lib
printf '#include "store/store.h"\n' >> planted/lib/base/buf.c
"$ROOT/tests/layers.sh" planted > up.txt
expect_eq "a store/ header planted in base/buf.c fails the check" 1 $?
check "...naming the file, the line and the layers" grep -q '^lib/base/buf.c:[0-9]*: base/ may not include store/store.h (a store/ header)$' up.txt

cp -R "$ROOT/lib/." planted/lib/
sed -i 's|#include "model/kernels.h"|#include "kernels.h"|' planted/lib/store/hnsw.c
"$ROOT/tests/layers.sh" planted > bare.txt
expect_eq "an include without its layer's folder fails" 1 $?
check "...saying so" grep -q '^lib/store/hnsw.c:[0-9]*: #include "kernels.h" names no layer' bare.txt

cp -R "$ROOT/lib/." planted/lib/
mkdir -p planted/lib/extra && printf '#include "base/util.h"\n' > planted/lib/extra/x.c
"$ROOT/tests/layers.sh" planted > folder.txt
expect_eq "a folder the table does not name fails" 1 $?
rm -r planted/lib/extra
"$ROOT/tests/layers.sh" planted > clean.txt
expect_eq "the copy restored passes again" 0 $?
