#!/usr/bin/env bash
# pipelines/parallel.sh on GNU parallel: its records equal the sequential
# pipeline's (byte for byte without vectors; with them, every field but the
# vectors, which are compared within float32 rounding: same_records in
# tests/lib.sh says why), here and on two "hosts" that
# are sshd listening on 127.0.0.2 and 127.0.0.3 with a key made here; bad
# documents give the same error records and exit 1; lode-extract --list.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
P=$ROOT/pipelines/parallel.sh
M=$SHARED/models/tiny-bert-f32
DOCS=("$ROOT/examples" "$DATA/docs/pdf/multi_page.pdf" "$DATA/docs/pdf/normal_4pages.pdf" "$DATA/docs/html")
if san; then # the sanitizer build's OCR is ocr.sh's to test: here the scan costs half a minute
    mkdir ex && cp "$ROOT"/examples/* ex/ && rm ex/scanned-page.png && DOCS[0]=$PWD/ex
fi

lode-extract --list "${DOCS[@]}" > list.ndjson
lode-extract "${DOCS[@]}" 2> /dev/null | jq -r .source | uniq > seq.sources
expect_eq "lode-extract --list: the files in the order lode-extract reads them" \
    "$(sed 's/!\/.*//' seq.sources | uniq)" "$(jq -r .path list.ndjson)"
lode-extract --list > /dev/null 2>&1
expect_eq "lode-extract --list without PATHs: usage (2)" 2 $?

lode-extract "${DOCS[@]}" 2> /dev/null | lode-ocr 2> /dev/null | lode-chunk 2> /dev/null |
    lode-embed -m "$M" > seq.ndjson 2> /dev/null
n=$(wc -l < seq.ndjson)
"$P" -m "$M" --block 2 -j 2 "${DOCS[@]}" > par.ndjson 2> par.err
expect_eq "parallel.sh: exit 0" 0 $?
check "...the sequential pipeline's $n records (blocks of 2, 2 jobs; vectors within 1e-6)" same_records seq.ndjson par.ndjson
"$P" -m "$M" --block 5 -j 3 --threads 2 "${DOCS[@]}" > par5.ndjson 2> /dev/null
check "...the same with blocks of 5, 3 jobs, 2 threads each" same_records seq.ndjson par5.ndjson
lode-extract "${DOCS[@]}" 2> /dev/null | lode-ocr 2> /dev/null | lode-chunk > seqc.ndjson 2> /dev/null
"$P" "${DOCS[@]}" > parc.ndjson 2> /dev/null
check "...and without a model: chunk records, byte for byte" cmp -s seqc.ndjson parc.ndjson
check "...with nothing but failures on stderr" test ! -s par.err

# bad documents: the same records and error records, exit 1
BAD=$DATA/pdf-malformed
lode-extract --errors seqerr.ndjson "$BAD" 2> /dev/null | lode-ocr --errors seqerr.ndjson 2> /dev/null |
    lode-chunk --errors seqerr.ndjson > seqbad.ndjson 2> /dev/null
"$P" --block 3 --errors parerr.ndjson "$BAD" > parbad.ndjson 2> parbad.err
expect_eq "malformed PDFs: exit 1" 1 $?
check "...the same records as the sequential pipeline" cmp -s seqbad.ndjson parbad.ndjson
expect_eq "...the same error records (in some order)" "$(jq -cS . seqerr.ndjson | sort)" "$(jq -cS . parerr.ndjson | sort)"
check "...and says where they are" has parbad.err "see parerr.ndjson"
"$P" -m /nonexistent "$ROOT/examples/guide.md" > /dev/null 2> fatal.err
expect_eq "a model that does not load: exit 3" 3 $?
"$P" > /dev/null 2>&1
expect_eq "no documents: usage (2)" 2 $?

# ---- two hosts on loopback ----
SSHD=/usr/sbin/sshd
why=""
[ -x "$SSHD" ] || why="no $SSHD (openssh-server is not installed)"
command -v ssh > /dev/null || why="no ssh client"
if [ -z "$why" ]; then
    mkdir -p ssh && chmod 700 ssh
    ssh-keygen -q -t ed25519 -N '' -f ssh/hostkey && ssh-keygen -q -t ed25519 -N '' -f ssh/userkey
    cp ssh/userkey.pub ssh/authorized_keys
    port=$((20000 + $$ % 20000))
    cat > ssh/sshd_config << EOF
ListenAddress 127.0.0.2:$port
ListenAddress 127.0.0.3:$port
HostKey $PWD/ssh/hostkey
AuthorizedKeysFile $PWD/ssh/authorized_keys
PidFile $PWD/ssh/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel VERBOSE
EOF
    cat > ssh/config << EOF
Host h2 h3
  Port $port
  IdentityFile $PWD/ssh/userkey
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  BatchMode yes
  ConnectTimeout 5
Host h2
  HostName 127.0.0.2
Host h3
  HostName 127.0.0.3
EOF
    [ "$(id -u)" != 0 ] || mkdir -p /run/sshd
    if ! "$SSHD" -f "$PWD/ssh/sshd_config" -E "$PWD/ssh/sshd.log" 2> ssh/start.err; then
        why="sshd does not start here: $(head -1 ssh/start.err)"
    else
        trap 'kill $(cat "$PWD/ssh/sshd.pid" 2> /dev/null) 2> /dev/null' EXIT
        for _ in $(seq 50); do
            ssh -F ssh/config h2 true 2> /dev/null && ssh -F ssh/config h3 true 2> /dev/null && break
            sleep 0.1
        done
        ssh -F ssh/config h3 true 2> ssh/try.err || why="ssh to the loopback sshd fails: $(head -1 ssh/try.err)"
    fi
fi
if [ -n "$why" ]; then
    ok "two loopback hosts: not run: $why"
else
    PARALLEL_SSH="ssh -F $PWD/ssh/config" PARALLEL="--env PATH" \
        "$P" -S 1/h2,1/h3 -m "$M" --block 2 --joblog jobs.log "${DOCS[@]}" > ssh.ndjson 2> ssh.err
    expect_eq "two hosts over ssh (127.0.0.2, 127.0.0.3): exit 0" 0 $?
    check "...the sequential pipeline's $n records (vectors within 1e-6)" same_records seq.ndjson ssh.ndjson
    expect_eq "...jobs ran on both hosts (GNU parallel's job log)" "h2 h3" \
        "$(awk 'NR > 1 { print $2 }' jobs.log | sort -u | paste -sd' ')"
    check "...and sshd saw both addresses" \
        test "$(grep -c 'Accepted publickey' ssh/sshd.log)" -ge 2
fi
