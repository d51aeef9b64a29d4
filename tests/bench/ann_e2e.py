"""hnswlib end to end, as a program a user writes around it runs: for
tests/bench/ann.sh, beside lode-query on the same records.

usage: ann_e2e.py build DATA.f32 DIM M EFC THREADS INDEX
       ann_e2e.py query INDEX DIM EF IDS.txt < QUERIES.ndjson > HITS.ndjson

build: the index of the vectors (normalised, inner product), saved.
query: the index and the chunk ids (one a line, by label) loaded, then one
query record a line (lode's: "vec" base64 float32) parsed, searched for 10
hits single-threaded, and written as a record with its hits (id, score),
as lode-query --no-text writes them. The wall time of the whole, loading
included, is what ann.sh compares.
"""
import base64
import json
import sys

import numpy as np


def build(data_path, dim, m, efc, threads, out):
    import hnswlib
    dim = int(dim)
    data = np.fromfile(data_path, dtype=np.float32).reshape(-1, dim)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    idx = hnswlib.Index(space="ip", dim=dim)
    idx.init_index(max_elements=len(data), M=int(m), ef_construction=int(efc), random_seed=42)
    idx.add_items(data, np.arange(len(data)), num_threads=int(threads))
    idx.save_index(out)


def query(index_path, dim, ef, ids_path):
    import hnswlib
    dim = int(dim)
    idx = hnswlib.Index(space="ip", dim=dim)
    idx.load_index(index_path)
    idx.set_ef(int(ef))
    idx.set_num_threads(1)
    ids = open(ids_path).read().split("\n")
    out = sys.stdout
    for line in sys.stdin:
        q = json.loads(line)
        v = np.frombuffer(base64.b64decode(q["vec"]), dtype=np.float32)
        v = v / np.linalg.norm(v)
        labels, dist = idx.knn_query(v, k=10, num_threads=1)
        q["hits"] = [{"rank": r + 1, "id": ids[int(label)], "score": float(1 - d)}
                     for r, (label, d) in enumerate(zip(labels[0], dist[0]))]
        out.write(json.dumps(q) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(*sys.argv[2:8])
    else:
        query(*sys.argv[2:6])
