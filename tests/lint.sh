#!/usr/bin/env bash
# tests/lint.sh [ROOT] - make lint: shellcheck on every shell script (the
# tracked *.sh, *.sbatch and files whose first line runs sh or bash), and
# clang-format --dry-run on the C sources (.clang-format is the layout).
# Prints "ok - ..." or "not ok - ..." per check with what failed; exit 1
# when any failed.
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
if [ -e .git ]; then
    files=$(git ls-files --cached --others --exclude-standard)
else
    files=$(find . -type f ! -path './.git/*' ! -path './build/*' ! -path './bin/*' | sed 's|^\./||')
fi
scripts=() sources=()
while IFS= read -r f; do
    [ -f "$f" ] || continue
    case "$f" in
        tests/out/*|models/*/*|examples/*.pdf) continue ;;
        *.sh|*.sbatch) scripts+=("$f") ;;
        *.c|*.h|*.inc)
            case "$f" in lib/*|cmd/*|tests/unit/*|tests/tools/*) sources+=("$f") ;; esac ;;
        *) head -c 64 "$f" 2> /dev/null | head -1 | grep -qE '^#!.*\b(ba)?sh\b' && scripts+=("$f") ;;
    esac
done <<< "$files"
bad=0
if ! command -v shellcheck > /dev/null; then
    echo "not ok - shellcheck is not installed (make deps)"
    bad=1
elif out=$(shellcheck -x -f gcc "${scripts[@]}" 2>&1); then
    echo "ok - shellcheck: ${#scripts[@]} shell scripts, no warnings"
else
    echo "not ok - shellcheck: $(grep -c ': ' <<< "$out") findings in ${#scripts[@]} scripts:"
    head -40 <<< "$out" | while IFS= read -r l; do echo "    $l"; done
    bad=1
fi
if ! command -v clang-format > /dev/null; then
    echo "not ok - clang-format is not installed (make deps)"
    bad=1
elif out=$(clang-format --dry-run --Werror "${sources[@]}" 2>&1); then
    echo "ok - clang-format: ${#sources[@]} C files laid out as .clang-format says"
else
    echo "not ok - clang-format would change $(grep -c 'clang-format-violations' <<< "$out") places (clang-format -i FILE):"
    grep 'clang-format-violations' <<< "$out" | head -40 | while IFS= read -r l; do echo "    $l"; done
    bad=1
fi
no_bang=()
for f in "${scripts[@]}"; do
    head -1 "$f" | grep -q '^#!' || no_bang+=("$f")
done
if [ ${#no_bang[@]} -eq 0 ]; then
    echo "ok - every shell script starts with its interpreter (#!)"
else
    echo "not ok - scripts without #!: ${no_bang[*]}"
    bad=1
fi
exit $bad
