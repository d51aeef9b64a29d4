# pipelines/ingest.mk - incremental ingestion of a document folder into a store.
#
#   make -f pipelines/ingest.mk DOCS=docs STORE=kb [MODEL=models/minilm] [-j 4]
#
# Each document goes through lode-extract | lode-ocr | lode-chunk |
# lode-embed (lode-embed only with MODEL) on its own, in parallel under
# make -j, into WORK/rec/; then one lode-index run takes the documents that
# changed and removes those that are gone. Whether a document changed is
# decided by its content (SHA-256), read again only when its mtime moved, so
# a run with nothing changed starts no lode program at all, and touching a
# file without changing it reprocesses nothing.
#
# A document that fails (lode exit status 1: unreadable, damaged, no text)
# is reported, keeps its last good version in the store, and is not tried
# again until it changes (`make ... retry` tries the failed ones now). A
# fatal error (status 2 or more: the model cannot be loaded, the disk is
# full) is reported the same way, and the document is tried again on the
# next run. Either way the run goes on with the other documents, indexes
# them, and fails at the end (make exits 2); the run's error records are in
# WORK/errors.ndjson. Needs bash, perl, jq and GNU make.
#
# Variables (make VAR=value):
#   DOCS, STORE     the folder of documents and the store (required)
#   MODEL           the embedding model; none: a BM25-only store
#   WORK            bookkeeping (default STORE.work): rec/ the records of each
#                   document, sum/ their hashes, err/ their error records
#   THREADS         threads each program may use (default 1: make -j runs
#                   documents side by side)
#   EXTRACT_OPTS, OCR_OPTS, CHUNK_OPTS, EMBED_OPTS, INDEX_OPTS
#                   more options for each program
#   METRICS         a folder for lode-index's Prometheus metrics (lode_index.prom)
#   LODE_BIN        the folder of the lode programs (default: beside
#                   pipelines/, else on PATH; pipelines/find.sh)
# Targets: all (default), retry (forget the failed documents' state, then
# all), errors (print this run's error records), clean (WORK only).
# File names may hold any character but a newline.

ifeq ($(strip $(DOCS)),)
$(error give DOCS=folder of documents)
endif
ifeq ($(strip $(STORE)),)
$(error give STORE=the store to fill)
endif

SHELL := /bin/bash
.SHELLFLAGS := -c
.SUFFIXES:

HERE := $(dir $(lastword $(MAKEFILE_LIST)))
WORK ?= $(STORE).work
THREADS ?= 1
LODE_BIN ?= $(shell bash -c '. "$$1/find.sh" && lode_find "$$1" && printf %s "$$LODE_BIN"' find '$(HERE)')
P := $(LODE_BIN)/
$(foreach p,lode-extract lode-ocr lode-chunk lode-index $(if $(MODEL),lode-embed),$(if $(wildcard $(P)$(p)),,$(error $(p) not found in "$(LODE_BIN)": set LODE_BIN to the folder of the lode programs)))
EXTRACT_OPTS ?=
OCR_OPTS ?=
CHUNK_OPTS ?=
EMBED_OPTS ?=
INDEX_OPTS ?=
METRICS ?=

# the documents, now: DOC_KEYS and src_KEY (see ingest-list.pl)
_ := $(shell mkdir -p '$(WORK)' && find -L '$(DOCS)' -type f ! -name '.*' ! -path '*/.*' -print0 | \
       LC_ALL=C sort -z | perl '$(HERE)ingest-list.pl' '$(DOCS)' > '$(WORK)/docs.mk')
include $(WORK)/docs.mk

RECS := $(DOC_KEYS:%=$(WORK)/rec/%.ndjson)
# kept between runs, though only a step towards RECS
.SECONDARY: $(DOC_KEYS:%=$(WORK)/sum/%.sha)
# records of documents that are gone
ORPHANS := $(filter-out $(RECS),$(shell test -d '$(WORK)/rec' && find '$(WORK)/rec' -name '*.ndjson'))

EMBED := $(if $(MODEL),| $(P)lode-embed -m '$(MODEL)' -j $(THREADS) $(EMBED_OPTS) --errors "$$err",)

.PHONY: all retry errors clean FORCE
all: $(WORK)/indexed

# The content hash, rewritten only when it changed: a newer mtime with the
# same bytes leaves it (and so everything after it) as it was.
$(WORK)/sum/%.sha: FORCE
	@f=$(src_$*); s='$@'; \
	if [ ! -e "$$s" ] || ! [ "$$s.seen" -nt "$$f" ]; then \
	    mkdir -p "$${s%/*}" && sha256sum < "$$f" > "$$s.tmp" && \
	    { cmp -s "$$s.tmp" "$$s" && rm -f "$$s.tmp" || mv -f "$$s.tmp" "$$s"; } && touch "$$s.seen"; \
	fi

# One document's records. Exit status 1 of a stage (some input failed) keeps
# what was made and the error records. 2 or more (a fatal error: the model
# cannot be loaded, the disk is full) keeps the last records and adds an
# error record; the document is made again on the next run.
$(WORK)/rec/%.ndjson: $(WORK)/sum/%.sha
	@mkdir -p '$(@D)' '$(dir $(WORK)/err/$*)'
	@printf 'ingest: %s\n' $(src_$*)
	@err='$(WORK)/err/$*.ndjson'; : > "$$err"; exec 3>&2 2> '$@.log'; \
	$(P)lode-extract -j $(THREADS) $(EXTRACT_OPTS) --errors "$$err" --no-progress $(src_$*) \
	  | $(P)lode-ocr -j $(THREADS) $(OCR_OPTS) --errors "$$err" --no-progress \
	  | $(P)lode-chunk $(CHUNK_OPTS) --errors "$$err" --no-progress \
	  $(EMBED) > '$@.tmp'; \
	st=("$${PIPESTATUS[@]}"); exec 2>&3; \
	bad=0; for s in "$${st[@]}"; do [ "$$s" -le 1 ] || bad=$$s; done; \
	if [ "$$bad" -gt 1 ]; then \
	    jq -cn --arg s $(src_$*) --arg e "exit status $$bad: $$(grep -v ' ok, ' '$@.log' | tail -1)" \
	        '{stage: "ingest", source: $$s, error: $$e}' >> "$$err"; \
	    rm -f '$@.tmp' '$@.log'; exit 0; \
	fi; \
	if [ -e '$@' ] && [ ! -e '$@.old' ]; then mv -f '$@' '$@.old'; fi; \
	mv -f '$@.tmp' '$@'; rm -f '$@.log'

# The store: the sources of deleted documents, and those a changed document
# no longer holds (members gone from an archive), are removed; then the
# changed documents' records are upserted. This run's error records are
# gathered in WORK/errors.ndjson; any makes the run fail at the end.
$(WORK)/indexed: $(RECS) $(if $(ORPHANS),FORCE)
	$(file >$(WORK)/changed.list,$(filter $(RECS),$?))
	$(file >$(WORK)/orphans.list,$(ORPHANS))
	@W='$(WORK)'; err="$$W/errors.ndjson"; : > "$$err"; : > "$$W/gone.list"; \
	changed=0; for r in $$(cat "$$W/changed.list"); do [ ! -e "$$r" ] || changed=$$((changed + 1)); done; \
	for r in $$(cat "$$W/changed.list"); do \
	    k="$${r#$$W/rec/}"; cat "$$W/err/$$k" >> "$$err" 2> /dev/null; \
	    if [ -e "$$r.old" ] && [ -e "$$r" ]; then \
	        comm -23 <(jq -r '.source // empty' "$$r.old" | LC_ALL=C sort -u) \
	                 <(jq -r '.source // empty' "$$r" | LC_ALL=C sort -u) >> "$$W/gone.list"; \
	    fi; \
	done; \
	for o in $$(cat "$$W/orphans.list"); do jq -r '.source // empty' "$$o" >> "$$W/gone.list"; done; \
	if [ -s "$$W/gone.list" ]; then \
	    echo "ingest: removing $$(LC_ALL=C sort -u "$$W/gone.list" | wc -l) sources from $(STORE)"; \
	    LC_ALL=C sort -u "$$W/gone.list" | $(P)lode-index -s '$(STORE)' --delete --no-progress || exit 2; \
	fi; \
	for o in $$(cat "$$W/orphans.list"); do k="$${o#$$W/rec/}"; k="$${k%.ndjson}"; \
	    rm -f "$$o" "$$o.old" "$$W/sum/$$k.sha" "$$W/sum/$$k.sha.seen" "$$W/err/$$k.ndjson"; done; \
	if [ "$$changed" -gt 0 ]; then \
	    echo "ingest: indexing $$changed documents into $(STORE)"; \
	    tr ' ' '\n' < "$$W/changed.list" | grep . | while read -r r; do [ ! -e "$$r" ] || cat "$$r"; done \
	      | $(P)lode-index -s '$(STORE)' -j $(THREADS) $(INDEX_OPTS) --no-progress \
	          --errors "$$err" $(if $(METRICS),--metrics '$(METRICS)/lode_index.prom') \
	          $(if $(MODEL),-m '$(MODEL)'); \
	    st=("$${PIPESTATUS[@]}"); [ "$${st[3]}" -le 1 ] || exit "$${st[3]}"; \
	    for r in $$(cat "$$W/changed.list"); do rm -f "$$r.old"; done; \
	fi; \
	rm -f "$$W/gone.list" "$$W/changed.list" "$$W/orphans.list"; touch '$@'; \
	if [ -s "$$err" ]; then \
	    echo "ingest: $$(wc -l < "$$err") failures; see $$err" >&2; exit 1; \
	fi

errors:
	@cat '$(WORK)/errors.ndjson' 2> /dev/null || true

# The documents that failed are made again on the next run.
retry:
	@for e in $$(find '$(WORK)/err' -name '*.ndjson' -size +0 2> /dev/null); do \
	    k="$${e#$(WORK)/err/}"; rm -f '$(WORK)/sum/'"$${k%.ndjson}.sha"{,.seen}; done
	@$(MAKE) -f '$(firstword $(MAKEFILE_LIST))' all

clean:
	rm -rf '$(WORK)'

FORCE:
