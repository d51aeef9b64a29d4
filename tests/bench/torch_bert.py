#!/usr/bin/python3
"""The peer of tests/bench/embed.sh: the same BERT forward as lode-embed, in
PyTorch float32, on the same safetensors weights and the same token ids (the
ids come from `lode-embed --tokenize`, so tokenisation is not timed here).
Batches are sorted by length and padded with an attention mask, as
sentence-transformers does; mean pooling and L2 normalisation.

usage: torch_bert.py MODEL_DIR IDS.ndjson BATCH THREADS OUT.ndjson
prints: seconds for all texts (after one warm-up batch)"""
import json, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(raw, dtype=np.float32, count=(b - a) // 4, offset=base + a)
        out[name] = torch.from_numpy(arr.reshape(t["shape"]).copy())
    return out


def make_forward(model_dir):
    """The forward pass over (ids, mask) batches, as a function of the weights."""
    cfg = json.load(open(model_dir + "/config.json"))
    W = load(model_dir + "/model.safetensors")
    H, heads, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps = cfg.get("layer_norm_eps", 1e-12)
    dh = H // heads

    # XLM-RoBERTa: positions from pad_token_id + 1 (the texts hold no <pad>)
    first = cfg.get("pad_token_id", 1) + 1 if cfg.get("model_type") == "xlm-roberta" else 0

    def forward(ids, mask):
        B, T = ids.shape
        x = W["embeddings.word_embeddings.weight"][ids] \
            + W["embeddings.position_embeddings.weight"][first:first + T] \
            + W["embeddings.token_type_embeddings.weight"][0]
        x = F.layer_norm(x, (H,), W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for l in range(L):
            p = "encoder.layer.%d." % l
            q = F.linear(x, W[p + "attention.self.query.weight"], W[p + "attention.self.query.bias"])
            k = F.linear(x, W[p + "attention.self.key.weight"], W[p + "attention.self.key.bias"])
            v = F.linear(x, W[p + "attention.self.value.weight"], W[p + "attention.self.value.bias"])
            q, k, v = (t.view(B, T, heads, dh).transpose(1, 2) for t in (q, k, v))
            s = torch.matmul(q, k.transpose(-1, -2)) / dh ** 0.5 + bias
            c = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(B, T, H)
            a = F.linear(c, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
            x = F.layer_norm(a + x, (H,), W[p + "attention.output.LayerNorm.weight"],
                             W[p + "attention.output.LayerNorm.bias"], eps)
            i = F.gelu(F.linear(x, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
            o = F.linear(i, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
            x = F.layer_norm(o + x, (H,), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
        m = mask[:, :, None].float()
        pooled = (x * m).sum(1) / m.sum(1)
        return F.normalize(pooled, dim=-1)

    return forward


def main():
    model_dir, ids_path, batch, threads, out_path = sys.argv[1:6]
    batch, threads = int(batch), int(threads)
    torch.set_num_threads(threads)
    forward = make_forward(model_dir)
    texts = [json.loads(l)["ids"] for l in open(ids_path)]

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    batches = [order[i:i + batch] for i in range(0, len(order), batch)]

    def run(b):
        T = max(len(texts[i]) for i in b)
        ids = torch.zeros(len(b), T, dtype=torch.long)
        mask = torch.zeros(len(b), T, dtype=torch.long)
        for r, i in enumerate(b):
            ids[r, :len(texts[i])] = torch.tensor(texts[i])
            mask[r, :len(texts[i])] = 1
        return forward(ids, mask)

    vecs = [None] * len(texts)
    with torch.inference_mode():
        run(batches[0])  # warm-up
        t0 = time.perf_counter()
        for b in batches:
            out = run(b)
            for r, i in enumerate(b):
                vecs[i] = out[r]
        t1 = time.perf_counter()
    with open(out_path, "w") as f:
        for v in vecs:
            f.write(json.dumps({"embedding": [float(x) for x in v]}) + "\n")
    print("%.4f" % (t1 - t0))


if __name__ == "__main__":
    main()
