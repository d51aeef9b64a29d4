#!/bin/bash
# The knowledge graph: lode-entities on texts written here (exact expected
# entities and relations), the graph lode-index keeps (after an update and a
# delete it equals the graph built from scratch from what is left), lode-query
# --entity, and lode-index --dump-graph in its three formats (GraphML checked
# by xmllint, Neo4j's CSV files by a CSV reader with the documented headers).
. "$LODE_ROOT/tests/lib.sh"

cat > lmdb.md << 'EOF'
The Lightning Memory-Mapped Database (LMDB) is a key-value store from Symas Corporation.
LMDB was written by Howard Chu, the lead developer of OpenLDAP, in 2011.
Write to info@symas.com or see https://www.symas.com/lmdb about version 0.9.31 of January 15, 2024.
EOF
cat > search.md << 'EOF'
Anserini reproduces BM25 baselines on BEIR; maps start at 64 MB.
Lode keeps its postings in LMDB and its vectors in an HNSW graph (Malkov and Yashunin).
EOF
printf 'Howard Chu maintains OpenLDAP.\n' > chu.md

lode-extract lmdb.md 2> /dev/null | jq -c '{id, source, text}' | lode-entities > ent.ndjson 2> ent.err
expect_eq "entities: names, the acronym merged into its expansion, e-mail, URL, version, date" \
    'Lightning Memory-Mapped Database|name|lightning memory-mapped database
LMDB|acronym|lightning memory-mapped database
Symas Corporation|name|symas corporation
LMDB|acronym|lightning memory-mapped database
Howard Chu|name|howard chu
OpenLDAP|name|openldap
info@symas.com|email|info@symas.com
https://www.symas.com/lmdb|url|https://www.symas.com/lmdb
0.9.31|version|0.9.31
January 15, 2024|date|2024-01-15' "$(jq -r '.entities[] | "\(.name)|\(.type)|\(.norm)"' ent.ndjson)"
check "...spans are the names' bytes" jqe '. as $r | all(.entities[]; ($r.text | .[0:0]) == "" and (.span[1] - .span[0]) == (.name | utf8bytelength))' ent.ndjson
expect_eq "relations: is_a, appositive, and the first co-occurrences" \
    'lightning memory-mapped database|is_a|key-value store
howard chu|appositive|lead developer
lightning memory-mapped database|co|symas corporation
howard chu|co|lightning memory-mapped database' \
    "$(jq -r '.relations[] | "\(.head)|\(.rel)|\(.tail)"' ent.ndjson | head -4)"
check "a quantity, acronyms, and two names joined by 'and' kept apart" jqe '[.entities[] | "\(.name)|\(.type)"] | index("64 MB|quantity") != null and index("BEIR|acronym") != null and index("Malkov|name") != null and index("Yashunin|name") != null' \
    <(printf '%s\n' "{\"text\":$(jq -Rs . < search.md)}" | lode-entities 2> /dev/null)
printf '{"id":"x"}\n' | lode-entities --errors noent.ndjson > /dev/null 2>&1
expect_eq "a record without text: exit 1, an error record" "1 1" "$? $(wc -l < noent.ndjson)"

# -m: a model asked for triples, its decoding held to their JSON: stories260K
# writes nonsense, but every chunk's output parses and has the shape
ST=$SHARED/models/stories260K/stories260K.gguf
for mt in 192 16; do
    lode-extract "$ROOT/examples/guide.md" "$ROOT/examples/formats.csv" lmdb.md 2> /dev/null | lode-chunk 2> /dev/null |
        lode-entities -m "$ST" -j 1 --max-tokens $mt > llm$mt.ndjson 2> llm$mt.err
    expect_eq "-m (--max-tokens $mt): every chunk answered, exit 0" "0 $(lode-extract "$ROOT/examples/guide.md" "$ROOT/examples/formats.csv" lmdb.md 2> /dev/null | lode-chunk 2> /dev/null | wc -l)" \
        "$? $(wc -l < llm$mt.ndjson)"
    check "...each one's triples: 1 to 8 objects of three non-empty strings (the schema held$([ $mt = 16 ] && echo ', the cut output completed'))" \
        jqe -s 'all(.[]; (.triples | type == "array" and length >= 1 and length <= 8) and all(.triples[]; (keys == ["head", "rel", "tail"]) and all(.[]; type == "string" and length >= 1)))' llm$mt.ndjson
done
check "...the relations come from the triples, the entities are what the text names" \
    jqe -s 'all(.[]; (.relations | length) <= (.triples | length) and all(.entities[]; . as $e | .span[1] > .span[0]))' llm192.ndjson

# the graph in the store follows updates and deletes exactly
ingest() { lode-extract "$@" 2> /dev/null | lode-chunk 2> /dev/null | lode-entities 2> /dev/null; }
ingest lmdb.md search.md chu.md | lode-index -s kb > /dev/null 2>&1
check "the store with its graph passes --check" consistent kb
expect_eq "--entity by its acronym: the merged entity, its aliases, chunks in both documents" \
    "lightning memory-mapped database|lmdb|2|lmdb.md search.md" \
    "$(lode-query -s kb --entity LMDB | jq -r '"\(.norm)|\(.aliases | join(","))|\(.chunks)|\([.hits[].source] | join(" "))"')"
check "...its neighbours with relation and count" jqe '[.neighbours[] | "\(.name)|\(.rel)"] | index("key-value store|is_a") != null and index("hnsw|co") != null' \
    <(lode-query -s kb --entity 'lightning memory-mapped database')
lode-query -s kb --entity 'No Such Thing' > none.out 2> none.err
expect_eq "--entity of an unknown name: exit 1, nothing on stdout" "1 0" "$? $(wc -c < none.out)"
printf 'Howard Chu wrote LMDB and maintains OpenLDAP at Symas Corporation.\n' > chu.md
ingest chu.md | lode-index -s kb > /dev/null 2>&1
echo search.md | lode-index -s kb --delete > /dev/null 2>&1
ingest lmdb.md chu.md | lode-index -s scratch > /dev/null 2>&1
lode-index -s kb --dump-graph jsonl > kb.graph 2> /dev/null
lode-index -s scratch --dump-graph jsonl > scratch.graph 2> /dev/null
check "after a changed document and a deleted one, the graph equals the one built from what is left" \
    cmp -s kb.graph scratch.graph
check "...which is not empty and lost the deleted document's entities" \
    jqe -s 'length > 10 and all(.[]; .id != "anserini" and .head != "anserini")' kb.graph
expect_eq "...the edge seen in two documents counts 2" 2 \
    "$(jq -r 'select(.kind == "edge" and .head == "howard chu" and .tail == "openldap" and .rel == "co") | .count' kb.graph)"
check "...--check passes after them" consistent kb
echo lmdb.md | lode-index -s kb --delete > /dev/null 2>&1
echo chu.md | lode-index -s kb --delete > /dev/null 2>&1
expect_eq "every document deleted: no node and no edge left" 0 "$(lode-index -s kb --dump-graph jsonl 2> /dev/null | wc -l)"

# --check builds the graph again from the chunks and compares
rm -rf tampered && cp -r scratch tampered
"$BUILD/tools/storeedit" tampered put kg_entities bogus '{"chunks":3,"names":{"Bogus":3},"types":{"name":3}}'
"$BUILD/tools/storeedit" tampered del kg_entities 'howard chu'
lode-index -s tampered --check > /dev/null 2> tampered.err
expect_eq "a graph changed behind lode's back: --check finds the entity no chunk backs and the one missing" "1 1 1" \
    "$? $(grep -c 'kg_entities entry "bogus" is not backed by any chunk' tampered.err) $(grep -c 'kg_entities lacks 1 entries' tampered.err)"

# --graph: a third list fused by rank, chunks reached through the graph
printf 'The Lightning Memory-Mapped Database (LMDB) is a key-value store. Howard Chu wrote LMDB.\n' > ga.md
printf 'Howard Chu also maintains OpenLDAP.\n' > gb.md
printf 'Bananas are yellow fruit.\n' > gc.md
ingest ga.md gb.md gc.md | lode-index -s g.kb > /dev/null 2>&1
expect_eq "BM25 alone: only the chunk with the query's word" "ga.md" \
    "$(echo lmdb | lode-query -s g.kb 2> /dev/null | jq -r '[.hits[].source] | join(" ")')"
expect_eq "--graph: the chunk of its neighbour Howard Chu comes second, the unrelated one not at all" "ga.md gb.md" \
    "$(echo lmdb | lode-query -s g.kb --graph 2> /dev/null | jq -r '[.hits[].source] | join(" ")')"
expect_eq "...an expansion typed in the query reaches the same, a filter still applies" "gb.md" \
    "$(echo 'what is the lightning memory-mapped database?' | lode-query -s g.kb --graph --filter source=gb.md 2> /dev/null | jq -r '[.hits[].source] | join(" ")')"
echo lmdb | lode-query -s g.kb --graph --emit-stats > /dev/null 2>&1
expect_eq "--graph with --emit-stats: a usage error" 2 $?

# the dump's other formats
lode-index -s scratch --dump-graph graphml > g.graphml 2> /dev/null
check "GraphML: well-formed XML (xmllint)" xmllint --noout g.graphml
expect_eq "...a node for each jsonl node, an edge for each jsonl edge" \
    "$(jq -s '[map(select(.kind == "node")), map(select(.kind == "edge"))] | map(length) | join(" ")' -r scratch.graph)" \
    "$(grep -c '<node ' g.graphml) $(grep -c '<edge ' g.graphml)"
lode-index -s scratch --dump-graph neo4j:neo > /dev/null 2>&1
check "Neo4j import files: the headers neo4j-admin database import documents, every row complete" python3 -c "
import csv, json, sys
nodes = list(csv.reader(open('neo/nodes.csv')))
rels = list(csv.reader(open('neo/relationships.csv')))
assert nodes[0] == ['id:ID', 'name', 'type', 'chunks:int', 'aliases:string[]', ':LABEL'], nodes[0]
assert rels[0] == [':START_ID', ':END_ID', ':TYPE', 'count:int'], rels[0]
assert all(len(r) == 6 and r[5].startswith('Entity;') for r in nodes[1:])
ids = {r[0] for r in nodes[1:]}
assert all(len(r) == 4 and r[0] in ids and r[1] in ids and int(r[3]) > 0 for r in rels[1:])
g = [json.loads(l) for l in open('scratch.graph')]
assert len(nodes) - 1 == sum(x['kind'] == 'node' for x in g) and len(rels) - 1 == sum(x['kind'] == 'edge' for x in g)"
lode-index -s scratch --dump-graph dot > /dev/null 2> dot.err
expect_eq "--dump-graph dot: a usage error" 2 $?
