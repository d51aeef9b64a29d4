"""hnswlib and FAISS IndexHNSWFlat on the vectors tests/bench/ann.sh made.

usage: ann_peers.py DATA.f32 QUERIES.f32 DIM M EFC THREADS TRUTH.i32

Vectors are L2-normalised and compared by inner product, as lode does.
Builds use THREADS threads; searches run single-threaded over the whole
query batch (each library's fastest way to answer many queries on one
core). Prints JSON lines like annbench's, with "lib".
"""
import json
import sys
import time

import numpy as np


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def recall(ids, truth):
    found = sum(len(set(a) & set(b)) for a, b in zip(ids.tolist(), truth.tolist()))
    return found / truth.size


def main():
    data_path, q_path, dim, m, efc, threads, truth_path = sys.argv[1:8]
    dim, m, efc, threads = int(dim), int(m), int(efc), int(threads)
    data = np.fromfile(data_path, dtype=np.float32).reshape(-1, dim)
    qs = np.fromfile(q_path, dtype=np.float32).reshape(-1, dim)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    truth = np.fromfile(truth_path, dtype=np.int32).reshape(-1, 10)
    efs = [10, 16, 24, 32, 48, 64, 96, 128, 256]

    import hnswlib
    before = rss_mb()
    t = time.perf_counter()
    idx = hnswlib.Index(space="ip", dim=dim)
    idx.init_index(max_elements=len(data), M=m, ef_construction=efc, random_seed=42)
    idx.add_items(data, np.arange(len(data)), num_threads=threads)
    build = time.perf_counter() - t
    print(json.dumps({"lib": "hnswlib", "build_seconds": round(build, 3),
                      "index_mb": round(rss_mb() - before, 1)}), flush=True)
    idx.set_num_threads(1)
    for ef in efs:
        idx.set_ef(ef)
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            ids, _ = idx.knn_query(qs, k=10, num_threads=1)
            best = min(best, time.perf_counter() - t)
        print(json.dumps({"lib": "hnswlib", "ef": ef, "recall": round(recall(ids, truth), 4),
                          "qps": round(len(qs) / best)}), flush=True)
    del idx

    import faiss
    faiss.omp_set_num_threads(threads)
    before = rss_mb()
    t = time.perf_counter()
    fi = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    fi.hnsw.efConstruction = efc
    fi.add(data)
    build = time.perf_counter() - t
    print(json.dumps({"lib": "faiss", "build_seconds": round(build, 3),
                      "index_mb": round(rss_mb() - before, 1)}), flush=True)
    faiss.omp_set_num_threads(1)
    for ef in efs:
        fi.hnsw.efSearch = ef
        best = 1e9
        for _ in range(3):
            t = time.perf_counter()
            _, ids = fi.search(qs, 10)
            best = min(best, time.perf_counter() - t)
        print(json.dumps({"lib": "faiss", "ef": ef, "recall": round(recall(ids, truth), 4),
                          "qps": round(len(qs) / best)}), flush=True)


main()
