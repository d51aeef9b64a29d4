#!/usr/bin/env bash
# tests/layers.sh [ROOT] - fails when a file under ROOT/lib includes a header
# of a layer its own layer may not use. The allowed uses are the table in
# ROOT/lib/README.md ("| folder | may include |"), so the map and the check
# are one text. Prints one line per offending include, then
# "layers: N files, N bad includes"; exit 1 when any.
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
MAP=$ROOT/lib/README.md
[ -f "$MAP" ] || { echo "layers: no $MAP"; exit 2; }
declare -A allowed
while IFS='|' read -r _ folder uses _; do
    folder=$(echo "$folder" | tr -d ' `')
    uses=$(echo "$uses" | tr -d '`' | tr ',' ' ')
    [ -n "$folder" ] && allowed[$folder]=" $folder $uses "
done < <(sed -n '/^| folder | may include |/,/^$/p' "$MAP" | tail -n +3)
[ "${#allowed[@]}" -gt 0 ] || { echo "layers: no layer table in $MAP"; exit 2; }
bad=0
files=0
for f in "$ROOT"/lib/*/*.[ch] "$ROOT"/lib/*/*.inc; do
    [ -e "$f" ] || continue
    files=$((files + 1))
    rel=${f#"$ROOT"/lib/}
    layer=${rel%%/*}
    if [ -z "${allowed[$layer]+x}" ]; then
        echo "lib/$rel: the folder $layer is not in lib/README.md's layer table"
        bad=$((bad + 1))
        continue
    fi
    while IFS=: read -r line inc; do
        used=${inc%%/*}
        if [ "$used" = "$inc" ]; then
            echo "lib/$rel:$line: #include \"$inc\" names no layer (write \"LAYER/$inc\")"
            bad=$((bad + 1))
        elif [[ "${allowed[$layer]}" != *" $used "* ]]; then
            echo "lib/$rel:$line: $layer/ may not include $inc (a $used/ header)"
            bad=$((bad + 1))
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | sed -E 's/^([0-9]+):.*"([^"]+)".*/\1:\2/')
done
echo "layers: $files files, $bad bad includes"
[ "$bad" -eq 0 ]
