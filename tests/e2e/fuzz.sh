#!/bin/bash
# The fuzz targets (tests/fuzz) over their seed corpora once, as make
# check's share of the fuzzing (make fuzz runs them under libFuzzer): each
# target builds, reads every seed, and no sanitizer stops it (this pass
# runs under ASan and UBSan too). The corpora come from ../shared, the
# examples, the shapes of llama.cpp's GGUF advisories, files lode makes,
# and the crashes make fuzz has found (tests/fuzz/regressions).
. "$LODE_ROOT/tests/lib.sh"

"$ROOT/tests/fuzz/seeds.sh" corpus > seeds.out 2> seeds.err
expect_eq "the seed corpora are assembled" 0 $?
for t in "$ROOT"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    n=${name#fuzz_}
    seeds=$(find "corpus/$n" -type f | wc -l)
    "$BUILD/fuzz/$name" "corpus/$n" > "$n.out" 2> "$n.err"
    expect_eq "$name: every one of its $seeds seeds read, exit 0" "0 $name: $seeds inputs" "$? $(tail -1 "$n.out")"
done
expect_ge "the GGUF advisories' shapes are among the GGUF seeds" 20 "$(find corpus/gguf -name 'advisory-*' | wc -l)"
expect_ge "an adapter and a checkpoint lode made are LoRA seeds" 3 "$(find corpus/lora -type f | wc -l)"
