#!/usr/bin/env bash
# Analyzers per store: lode-index --analyzer, the store remembering it,
# lode-query reading queries with it; a mismatch refused. The stems and
# bigrams themselves are worked out in test_store.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
rec() { jq -nc --arg id "$1" --arg t "$2" '{id: $id, source: $id, text: $t}'; }
{
    rec ru1 'Москва — столица России, в ней живут миллионы людей.'
    rec ru2 'Петербург стоит на Неве.'
} > ru.ndjson
{
    rec de1 'Die Häuser der Stadt wurden im Mittelalter gebaut.'
    rec de2 'Der Fluss fließt durch das Tal.'
} > de.ndjson
{
    rec fr1 'Les maisons de la ville sont construites en pierre.'
    rec fr2 'Le fleuve traverse la vallée.'
} > fr.ndjson
{
    rec ja1 '東京都は日本の首都です。'
    rec zh1 '北京是中国的首都。'
    rec en1 'Tokyo is a big city.'
} > cjk.ndjson
lode-index -s ru --analyzer snowball:russian < ru.ndjson 2> /dev/null
lode-index -s de --analyzer snowball:german < de.ndjson 2> /dev/null
lode-index -s fr --analyzer snowball:french < fr.ndjson 2> /dev/null
lode-index -s cjk --analyzer cjk < cjk.ndjson 2> /dev/null
lode-index -s ru-en < ru.ndjson 2> /dev/null
lode-index -s cjk-en < cjk.ndjson 2> /dev/null
expect_eq "the stores remember their analyzers (--stats)" "snowball:russian snowball:german cjk english" \
    "$(for s in ru de cjk ru-en; do lode-index -s $s --stats | jq -r .analyzer; done | paste -sd' ')"
top() { echo "$2" | lode-query -s "$1" -k 1 2> /dev/null | jq -r '.hits[0].id // "none"'; }
expect_eq "russian: another case of a word finds it (Москвы -> москв)" "ru1" "$(top ru 'Москвы')"
expect_eq "...where the English analyzer does not" "none" "$(top ru-en 'Москвы')"
expect_eq "german: the singular finds the plural (Haus, Häuser)" "de1" "$(top de 'Haus')"
expect_eq "german: a stop word alone finds nothing" "none" "$(top de 'der')"
expect_eq "french: the singular finds the plural (maison, maisons)" "fr1" "$(top fr 'maison')"
expect_eq "cjk: a word inside a sentence without spaces (首都 in 東京都は日本の首都です)" "ja1 zh1" \
    "$(echo '首都' | lode-query -s cjk -k 5 2> /dev/null | jq -r '[.hits[].id] | sort | join(" ")')"
expect_eq "cjk: 日本 finds the Japanese sentence only" "ja1" "$(top cjk '日本')"
expect_eq "...the English analyzer sees whole sentences as words: nothing" "none" "$(top cjk-en '日本')"
expect_eq "cjk: other scripts as words" "en1" "$(top cjk 'tokyo')"
lode-index -s de --analyzer english < de.ndjson > /dev/null 2> mismatch.err
expect_eq "indexing into a store with another analyzer: refused, exit 3" 3 $?
check "...naming the store's" grep -q 'indexed with the snowball:german analyzer' mismatch.err
lode-index -s de < de.ndjson > /dev/null 2>&1
expect_eq "without --analyzer a store keeps its own" "snowball:german 0" \
    "$(lode-index -s de --stats | jq -r .analyzer) $(lode-index -s de --check > /dev/null 2>&1; echo $?)"
echo Haus | lode-query -s de -s ru > /dev/null 2> mixed.err
expect_eq "stores of different analyzers searched as one: refused, exit 3" 3 $?
check "...saying so" grep -q 'search them apart' mixed.err
lode-index -s x --analyzer snowball:klingon < /dev/null > /dev/null 2> unknown.err
expect_eq "an unknown language: exit 2" 2 $?
check "...listing the known ones" grep -q 'russian' unknown.err
lode-index -s x --analyzer lucene < /dev/null > /dev/null 2> unknown2.err
expect_eq "an unknown analyzer: exit 2" 2 $?
check "...listing the analyzers" grep -q 'snowball:LANG' unknown2.err
