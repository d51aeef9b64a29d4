#!/usr/bin/env bash
# normal pass only: the README's commands name bin/, the normal build.
# Every command of the README's sh blocks, as written, in order, in one
# folder laid out as a checkout (bin/, pipelines/, completions/,
# examples/), each expected to exit 0. The files they name are made here:
# docs/ (the examples' text documents), ~/papers, old-scans/, questions,
# chat pairs, an SQLite table, an Ollama model store, and the models as
# the tiny ones of ../shared/models under the names `make models` gives
# (all-MiniLM-L6-v2: tiny-bert-f32; qwen2.5-0.5b-instruct.gguf: a tiny
# qwen2; ms-marco-MiniLM-L6-v2: tiny-cross-encoder). What cannot run here
# is skipped with its reason (the internet, ssh hosts, a PostgreSQL server,
# commands that run until killed: each has its own test), and the two
# changes made to a command are listed with it.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models
export HOME=$PWD/home
mkdir -p "$HOME/papers" models old-scans retired node_exporter
ln -s "$BIN" bin
ln -s "$ROOT/pipelines" pipelines
ln -s "$ROOT/completions" completions
cp -r "$ROOT/examples" examples
mkdir docs && cp examples/{guide.md,formats.csv,lode-chunk.pdf,lode-extract.pdf,lode-records.html,release-notes.docx,backup.tar.gz} docs/
cp examples/guide.md examples/release-notes.docx "$HOME/papers/"
cp examples/lode-extract.pdf old-scans/
echo "an old note" > retired/old.md
touch -d 2000-01-01 last-run
ln -s "$M/tiny-bert-f32" models/all-MiniLM-L6-v2
ln -s "$M/tiny-gguf/qwen2-tiny-f16.gguf" models/qwen2.5-0.5b-instruct.gguf
ln -s "$M/tiny-cross-encoder" ms-marco-MiniLM-L6-v2
ln -s "$M/stories260K/stories260K.gguf" model.gguf
printf '%s\n' '{"q":"which formats can lode read?"}' '{"q":"how do I rotate the logs?"}' > questions.ndjson
printf '%s\n' "which formats can lode read?" "disk quota" > questions.txt
echo "how do I rotate the logs?" > q.txt
for i in 1 2 3 4 5 6 7 8 9 10; do
    echo "{\"messages\":[{\"role\":\"user\",\"content\":\"What is lode, $i?\"},{\"role\":\"assistant\",\"content\":\"A toolkit in C.\"}]}"
done > pairs.ndjson
# Ollama's store: a manifest naming the model blob by its digest
o=$HOME/.ollama/models
mkdir -p "$o/manifests/registry.ollama.ai/library/llama3.2" "$o/blobs"
d=$(sha256sum model.gguf | cut -d' ' -f1)
cp "$M/stories260K/stories260K.gguf" "$o/blobs/sha256-$d"
printf '{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s"}]}\n' "$d" \
    > "$o/manifests/registry.ollama.ai/library/llama3.2/1b"
sqlite3 app.db "create table tickets (id integer primary key, subject text, body text);
    insert into tickets values (1, 'disk quota', 'the disk quota of /home is 10 GB'),
    (2, 'log rotation', 'logrotate runs daily from cron');"

skip_reason() { # LINE COMMAND: why it cannot run here, or nothing
    case $2 in
    *"make check"*) echo "the suite itself" ;;
    "make models"*) echo "the internet (tests/e2e/models.sh fetches the same table from a local server)" ;;
    *"models pull"*) echo "the internet (tests/e2e/lode.sh and models.sh: the same from a local server)" ;;
    *"-S 8/host1"*) echo "ssh hosts (tests/e2e/parallel.sh runs it on this one)" ;;
    "tail -F"*) echo "it follows its file until killed (tests/e2e/stream.sh)" ;;
    *"watch.sh"*"&") echo "it runs until SIGTERM (tests/e2e/watch.sh)" ;;
    *postgresql://*) echo "a PostgreSQL server named db (tests/e2e/sql.sh starts one)" ;;
    esac
}
# the changes made to a command, each named
adapt() {
    local c=$1
    c=${c#make deps && make && }
    c=${c//\/var\/lib\/node_exporter/node_exporter}
    printf '%s' "$c"
}
before() { # LINE COMMAND: what the command needs made first
    case $2 in
    *"-s kb.0 -s kb.1 -s kb.2"*)
        for k in 0 2; do
            bin/lode-extract --list --shard $k/3 docs/ | bin/lode-extract | bin/lode-chunk | bin/lode-index -s kb.$k --shard $k/3
        done ;;
    *"--global-stats stats"*)
        for k in 0 2; do bin/lode-query -s kb.$k --emit-stats < q.txt > stats.$k; done
        cat stats.0 stats.1 stats.2 > stats ;;
    *"--merge hits.0"*)
        for k in 0 2; do bin/lode-query -s kb.$k --global-stats stats < q.txt > hits.$k; done ;;
    *"kb.snapshots/20261201T030000Z"*)
        [ -d kb.snapshots/20261201T030000Z ] || bin/lode-index -s kb --snapshot kb.snapshots/20261201T030000Z ;;
    esac
}

python3 "$ROOT/tests/readme_commands.py" "$ROOT/README.md" > commands
ran=0
skipped=0
while IFS=$'\t' read -r -d '' line cmd; do
    short=$(printf '%s' "$cmd" | tr '\n' ' ' | tr -s ' ' | cut -c1-110)
    why=$(skip_reason "$line" "$cmd")
    if [ -n "$why" ]; then
        echo "# README line $line skipped, needs $why: $short"
        skipped=$((skipped + 1))
        continue
    fi
    run=$(adapt "$cmd")
    [ "$run" = "$cmd" ] || echo "# README line $line run as: $(printf '%s' "$run" | tr '\n' ' ' | cut -c1-110)"
    before "$line" "$cmd" > /dev/null 2>&1
    timeout 120 bash -c "set -o pipefail; $run" > "out.$line" 2> "err.$line"
    rc=$?
    ran=$((ran + 1))
    if [ $rc = 0 ]; then
        ok "README line $line: $short"
    else
        notok "README line $line exits $rc: $short"
        tail -3 "err.$line" | sed 's/^/#   /'
    fi
done < commands
echo "# $ran commands run, $skipped skipped"
expect_ge "the README's sh blocks: at least 45 commands run" 45 "$ran"
check "the first command's question ranks examples/formats.csv first" \
    jqe -s '.[0].source == "examples/formats.csv"' out.4
check "lode ask answers with citations" grep -q 'formats.csv' out.67
