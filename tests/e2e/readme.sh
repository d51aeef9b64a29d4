#!/usr/bin/env bash
# normal pass only: the README's commands name bin/, the normal build.
# Every command of the README's sh blocks, and of the man pages' EXAMPLES,
# as written, in order, each expected to exit 0: the README's in a folder
# laid out as a checkout (bin/, pipelines/, completions/, examples/), the
# man pages' in another with the programs on PATH as an install has them.
# The files they name are made here: docs/ (the examples' text
# documents and a note naming LMDB), ~/papers, scans, questions, chat pairs, an SQLite table, an
# Ollama model store, and the models as the tiny ones of ../shared/models
# under the names `make models` gives (all-MiniLM-L6-v2 and e5-small-v2:
# tiny-bert-f32; qwen2.5-0.5b-instruct.gguf: a tiny qwen2;
# ms-marco-MiniLM-L6-v2: tiny-cross-encoder; multilingual-e5-small and
# bge-reranker-v2-m3: tiny-xlmr-mean and tiny-xlmr-reranker). What cannot run here is
# skipped with its reason (the internet, ssh hosts, a database server or
# broker, a batch scheduler, commands that run until killed: each has its
# own test), and each change made to a command is printed with it.
. "$LODE_ROOT/tests/lib.sh"
M=$SHARED/models
fixtures() { # the files the commands name, in the current folder
    export HOME=$PWD/home
    mkdir -p "$HOME/papers" models old-scans retired node_exporter
    ln -s "$BIN" bin
    ln -s "$ROOT/pipelines" pipelines
    ln -s "$ROOT/completions" completions
    cp -r "$ROOT/examples" examples
    mkdir docs && cp examples/{guide.md,formats.csv,lode-chunk.pdf,lode-extract.pdf,lode-records.html,release-notes.docx,backup.tar.gz} docs/
    printf '# The store\n\nlode keeps its chunks in the Lightning Memory-Mapped Database (LMDB).\nLMDB maps the file into memory.\n' > docs/store.md
    cp examples/guide.md examples/release-notes.docx "$HOME/papers/"
    cp examples/lode-extract.pdf old-scans/
    echo "an old note" > retired/old.md
    touch -d 2000-01-01 last-run
    ln -s "$M/tiny-bert-f32" models/all-MiniLM-L6-v2
    ln -s "$M/tiny-gguf/qwen2-tiny-f16.gguf" models/qwen2.5-0.5b-instruct.gguf
    ln -s "$M/tiny-cross-encoder" ms-marco-MiniLM-L6-v2
    ln -s "$M/tiny-xlmr-mean" models/multilingual-e5-small
    ln -s "$M/tiny-xlmr-reranker" models/bge-reranker-v2-m3
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
    mkdir -p scans archive old "$HOME/docs" models/e5-small-v2
    cp examples/scanned-page.png scans/
    cp examples/lode-extract.pdf archive/
    cp examples/lode-chunk.pdf old/
    cp examples/guide.md examples/formats.csv "$HOME/docs/"
    ln -sf "$M/tiny-bert-f32/"* models/e5-small-v2/
    ln -s "$M/tiny-cross-encoder" models/ms-marco-MiniLM-L6-v2
    ln -s "$M/tiny-gguf/qwen2-tiny-f16.gguf" base.gguf
    mkdir -p pkg/2024 && cp examples/lode-chunk.pdf pkg/2024/report.pdf && tar -C pkg -czf backup.tar.gz 2024
    touch -d 2000-01-01 stamp
}
skip_reason() { # COMMAND: why it cannot run here, or nothing
    case $1 in
    *"make check"*) echo "the suite itself" ;;
    "make models"*) echo "the internet (tests/e2e/models.sh fetches the same table from a local server)" ;;
    *"models pull"*) echo "the internet (tests/e2e/lode.sh and models.sh: the same from a local server)" ;;
    *"-S 8/h"*) echo "ssh hosts (tests/e2e/parallel.sh runs it on this one)" ;;
    "ssh "*) echo "ssh hosts (tests/e2e/shard.sh runs each host's part here)" ;;
    "tail -F"*) echo "it follows its file until killed (tests/e2e/stream.sh)" ;;
    *"watch.sh"*"&") echo "it runs until SIGTERM (tests/e2e/watch.sh)" ;;
    *postgresql://*) echo "a PostgreSQL server named db (tests/e2e/sql.sh starts one)" ;;
    "kcat "*) echo "a Kafka broker" ;;
    "*/15 "*) echo "cron: it is a crontab line (tests/e2e/ingest.sh runs cron.sh under cron's environment)" ;;
    "sbatch "*) echo "a Slurm cluster (tests/e2e/schedulers.sh)" ;;
    esac
}
# the changes made to a command: what the suite did already, paths
# outside the folder, and placeholders
adapt() {
    local c=$1
    c=${c#make deps && make && }
    c=${c//\/var\/lib\/node_exporter/node_exporter}
    c=${c//-m MODEL /-m models/all-MiniLM-L6-v2 }
    c=${c//\$K/1}
    printf '%s' "$c"
}
before() { # COMMAND: what the command needs made first
    local PATH=$BIN:$PATH
    case $1 in
    *"-s kb.0 -s kb.1 -s kb.2"*)
        for k in 0 2; do
            if [ -e embedded.ndjson ]; then
                lode-index -s kb.$k --shard $k/3 < embedded.ndjson
            else
                lode-extract --list --shard $k/3 docs/ | lode-extract | lode-chunk | lode-index -s kb.$k --shard $k/3
            fi
        done ;;
    *"--global-stats stats"* | "cat stats.0"*)
        for k in 0 1 2; do [ -e stats.$k ] || lode-query -s kb.$k --emit-stats < q.txt > stats.$k; done
        [ -e stats ] || cat stats.0 stats.1 stats.2 > stats ;;
    *"--merge hits.0"*)
        for k in 0 1 2; do [ -e hits.$k ] || lode-query -s kb.$k --global-stats stats < q.txt > hits.$k; done ;;
    *"kb.snapshots/20261201T030000Z"*)
        [ -d kb.snapshots/20261201T030000Z ] || lode-index -s kb --snapshot kb.snapshots/20261201T030000Z ;;
    *"< embedded.ndjson"*)
        lode-extract docs/ | lode-chunk | lode-embed -m models/all-MiniLM-L6-v2 > embedded.ndjson ;;
    esac
}
ran=0
skipped=0
run_doc() { # DOC: its commands, here
    local line cmd short why run rc name
    name=$(basename "$1")
    python3 "$ROOT/tests/readme_commands.py" "$1" > "commands.$name"
    while IFS=$'\t' read -r -d '' line cmd; do
        short=$(printf '%s' "$cmd" | tr '\n' ' ' | tr -s ' ' | cut -c1-100)
        why=$(skip_reason "$cmd")
        if [ -n "$why" ]; then
            echo "# $name line $line skipped, needs $why: $short"
            skipped=$((skipped + 1))
            continue
        fi
        run=$(adapt "$cmd")
        [ "$run" = "$cmd" ] || echo "# $name line $line run as: $(printf '%s' "$run" | tr '\n' ' ' | tr -s ' ' | cut -c1-100)"
        before "$cmd" > /dev/null 2>&1
        timeout 120 bash -c "set -o pipefail; $run" < /dev/null > "out.$name.$line" 2> "err.$name.$line"
        rc=$?
        ran=$((ran + 1))
        if [ $rc = 0 ]; then
            ok "$name line $line: $short"
        else
            notok "$name line $line exits $rc: $short"
            tail -3 "err.$name.$line" | sed 's/^/#   /'
        fi
    done < "commands.$name"
}

# the README, from a checkout: bin/ by name, no lode program on PATH
# (before() runs them by name with its own PATH)
mkdir readme && cd readme || exit 1
fixtures
WITH_LODE=$PATH
PATH=${PATH//"$BIN:"/}
run_doc "$ROOT/README.md"
PATH=$WITH_LODE
check "README: the first command's question ranks examples/formats.csv first" \
    jqe -s '.[0].source == "examples/formats.csv"' out.README.md.4
check "README: lode ask answers with citations" grep -q 'formats.csv' out.README.md.67
readme_ran=$ran
cd .. || exit 1

# the man pages, as installed: the programs on PATH
mkdir man && cd man || exit 1
fixtures
rm bin
for page in lode-extract.1 lode-ocr.1 lode-chunk.1 lode-embed.1 lode-index.1 lode-entities.1 lode-query.1 \
    lode-rerank.1 lode-generate.1 lode-finetune.1 lode.1 lode-pipelines.7 lode-store.7; do
    f=$(ls "$ROOT"/man/man*/"$page")
    run_doc "$f"
done
cd .. || exit 1
echo "# $ran commands run ($readme_ran of the README), $skipped skipped"
expect_ge "the README's sh blocks: at least 45 commands run" 45 "$readme_ran"
expect_ge "the man pages' examples: at least 45 commands run" 45 "$((ran - readme_ran))"
