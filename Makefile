# lode - see README.md. `make` builds bin/ and build/; `make check` runs the
# tests, then again under AddressSanitizer and UndefinedBehaviorSanitizer.

PREFIX ?= /usr/local
CC ?= cc
PKGS = poppler-glib glib-2.0 cairo libarchive libxml-2.0 jansson libutf8proc tesseract lept openblas lmdb libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT ?= -O2 -g
WARN = -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_ALL = -std=gnu11 -D_GNU_SOURCE -fopenmp-simd $(OPT) $(WARN) -Ilib $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lstemmer -lm $(LDLIBS)

# SAN=1 builds into build/san and bin/san with ASan and UBSan; FUZZ=1 the
# library and the fuzz targets with clang and libFuzzer (make fuzz).
ifeq ($(FUZZ),1)
CC = clang
BUILD = build/libfuzzer
BIN = bin/libfuzzer
OPT = -O1 -g -fno-omit-frame-pointer
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_MAIN = -fsanitize=fuzzer
else ifeq ($(SAN),1)
BUILD = build/san
BIN = bin/san
OPT = -O1 -g -fno-omit-frame-pointer
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD = build
BIN = bin
SANFLAGS =
endif

PROGRAMS = lode-extract lode-ocr lode-chunk lode-entities lode-embed lode-index lode-query lode-rerank lode-generate lode-finetune
LAYERS = base docs text model store generate train
LIB_SRC = $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.c))
LIB_HDR = $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.h lib/$(l)/*.inc))
LIB_OBJ = $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC)) $(BUILD)/lib/train/train_f64.o
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

# the programs with fault-injection hooks, for the tests alone (HACKING.md)
HOOKS = lode-extract lode-finetune
HOOK_BIN = $(addprefix $(BUILD)/hooks/,$(HOOKS))

# the fuzz targets (tests/fuzz): with driver.c, which runs one over its
# corpus once (make check); with libFuzzer under FUZZ=1 (make fuzz)
FUZZ_NAMES = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN = $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))
FUZZ_MAIN ?= tests/fuzz/driver.c

all: $(addprefix $(BIN)/,$(PROGRAMS)) $(BIN)/lode $(UNIT_BIN) $(TOOL_BIN) $(HOOK_BIN) $(FUZZ_BIN)

# the umbrella command is a script over the programs beside it
$(BIN)/lode: cmd/lode.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

# per-file flags are named by the file: CFLAGS_kernels for lib/model/kernels.c
$(BUILD)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) $(CFLAGS_$(notdir $*)) -c -o $@ $<

# the trainer again in double, for the gradient test (train.h)
$(BUILD)/lib/train/train_f64.o: lib/train/train.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -DTRAIN_F64 -c -o $@ $<

# the numeric kernels: let loops with comparisons and divisions vectorise
CFLAGS_kernels = -fno-trapping-math -fno-math-errno
# the portable quantised kernels, activation rounding and row unpacking:
# vectorised loops, lrintf inlined
CFLAGS_quant = -O3 -fno-trapping-math -fno-math-errno
CFLAGS_quant_gemm = -O3 -fno-trapping-math -fno-math-errno
# the quantised kernels for AVX2 CPUs (called only when the CPU has it)
CFLAGS_quant_avx2 = -mavx2 -mfma -mf16c
CFLAGS_quant_vnni = -mavx2 -mfma -mf16c -mavx512f -mavx512vl -mavx512vnni
# the float product's kernel and attention for AVX-512 CPUs (sgemm.h, kernels.h)
CFLAGS_sgemm_avx512 = -O3 -mavx2 -mfma -mavx512f -mavx512vl
CFLAGS_kernels_avx512 = -O2 -mavx2 -mfma -mavx512f -mavx512vl -fno-trapping-math -fno-math-errno

$(BUILD)/cmd/%.o: cmd/%.c $(LIB_HDR) | $(BUILD)/cmd
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -c -o $@ $<

$(BUILD)/liblode.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%.o $(BUILD)/liblode.a | $(BIN)
	$(CC) $(SANFLAGS) -o $@ $< $(BUILD)/liblode.a $(LDLIBS_ALL)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/check.h $(BUILD)/liblode.a $(LIB_HDR) | $(BUILD)/unit
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $< $(BUILD)/liblode.a $(LDLIBS_ALL)

$(BUILD)/hooks/%: cmd/%.c $(BUILD)/liblode.a $(LIB_HDR) | $(BUILD)/hooks
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -DLODE_TEST_HOOKS -o $@ $< $(BUILD)/liblode.a $(LDLIBS_ALL)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.c tests/fuzz/driver.c tests/fuzz/fuzz.h tests/fuzz/extract_one.h $(BUILD)/liblode.a $(LIB_HDR) | $(BUILD)/fuzz
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/fuzz.c $(FUZZ_MAIN) $(BUILD)/liblode.a $(LDLIBS_ALL)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/liblode.a $(LIB_HDR) | $(BUILD)/tools
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $< $(BUILD)/liblode.a $(LDLIBS_ALL)

$(BUILD)/cmd $(BUILD)/unit $(BUILD)/tools $(BUILD)/hooks $(BUILD)/fuzz $(BIN):
	mkdir -p $@

# Both passes; the last line is "N passed, N failed" for the two together.
# tests/check.sh builds both variants itself, on every core
check:
	tests/check.sh

# Only the normal build's tests (quicker while working).
check-fast: all
	tests/run.sh $(BIN) $(BUILD)

# The C unit tests alone: seconds.
check-unit: $(UNIT_BIN)
	@cd $(BUILD) && fail=0; for t in $(UNIT_BIN:$(BUILD)/%=%); do \
	    LODE_SHARED=$${LODE_SHARED:-$(CURDIR)/../shared} ./$$t > $$t.log 2>&1 || fail=1; \
	    printf '%-24s %s\n' "$$(basename $$t)" "$$(grep -c '^ok' $$t.log) ok, $$(grep -c '^not ok' $$t.log) failed"; \
	    grep '^not ok' $$t.log; done; exit $$fail

# shellcheck on every shell script, clang-format --dry-run on the C files.
lint:
	tests/lint.sh

bench: all
	tests/bench/extract.sh
	tests/bench/ocr.sh
	tests/bench/embed.sh
	tests/bench/beir.sh
	tests/bench/ann.sh
	tests/bench/generate.sh
	tests/bench/llama.sh
	tests/bench/finetune.sh
	tests/bench/scale.sh

# Each fuzz target under libFuzzer for FUZZ_SECONDS (default 60), from
# the seed corpora; crashes are kept in build/libfuzzer/crashes.
FUZZ_SECONDS ?= 60
fuzz: all
	$(MAKE) FUZZ=1 fuzz-targets
	tests/fuzz/run.sh build/libfuzzer $(FUZZ_SECONDS)

fuzz-targets: $(FUZZ_BIN)

# Debian packages: the build and the README's first command; make check's;
# make bench's and make fuzz's (tests/deps.sh says which is which).
deps:
	tests/deps.sh build

deps-test:
	tests/deps.sh test

deps-bench:
	tests/deps.sh bench

# Real models for users with the internet (checksummed); no test needs them.
models:
	models/fetch.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 755 $(addprefix bin/,$(PROGRAMS) lode) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/man7/*.7 $(DESTDIR)$(PREFIX)/share/man/man7/
	install -d $(DESTDIR)$(PREFIX)/share/lode/pipelines
	cp -R pipelines/. $(DESTDIR)$(PREFIX)/share/lode/pipelines/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 644 completions/lode.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/lode
	install -m 644 completions/_lode $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_lode
	install -d $(DESTDIR)$(PREFIX)/share/lode/models
	install -m 755 models/fetch.sh $(DESTDIR)$(PREFIX)/share/lode/models/
	install -m 644 models/SHA256SUMS $(DESTDIR)$(PREFIX)/share/lode/models/

clean:
	rm -rf build bin

.PHONY: all check check-fast check-unit lint bench fuzz fuzz-targets deps deps-test deps-bench models install clean
.SECONDARY:
