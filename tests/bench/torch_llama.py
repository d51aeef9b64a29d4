"""The same Llama forward as lode-generate, in PyTorch, for tests/bench/generate.sh.

usage: torch_llama.py MODEL.gguf PROMPT_TOKENS NEW_TOKENS THREADS

Reads an F32 GGUF (llama architecture, NORM RoPE: adjacent pairs, as
llama.cpp's files store q and k), runs the prompt in one causal forward,
then generates NEW_TOKENS greedily with a KV cache; decoding multiplies
with torch.mv, PyTorch's fastest single-row product. Prints one JSON line:
prompt and generation tokens per second, and the greedy ids.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch


def read_gguf(path):
    data = np.memmap(path, dtype=np.uint8, mode="r")
    off = 0

    def rd(fmt):
        nonlocal off
        size = struct.calcsize(fmt)
        v = struct.unpack_from("<" + fmt, data, off)
        off += size
        return v

    def rstr():
        (n,) = rd("Q")
        nonlocal off
        s = bytes(data[off:off + n]).decode("utf-8", "replace")
        off += n
        return s

    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def val(t):
        if t == 8:
            return rstr()
        if t == 9:
            (at,) = rd("I")
            (n,) = rd("Q")
            return [val(at) for _ in range(n)]
        return rd(scal[t])[0]

    assert bytes(data[:4]) == b"GGUF"
    off = 4
    rd("I")
    (nt,) = rd("Q")
    (nkv,) = rd("Q")
    meta = {}
    for _ in range(nkv):
        k = rstr()
        (t,) = rd("I")
        meta[k] = val(t)
    infos = []
    for _ in range(nt):
        name = rstr()
        (nd,) = rd("I")
        ne = rd("Q" * nd)
        (ty,) = rd("I")
        (o,) = rd("Q")
        infos.append((name, ne, ty, o))
    align = meta.get("general.alignment", 32)
    start = (off + align - 1) // align * align
    tensors = {}
    for name, ne, ty, o in infos:
        assert ty == 0, f"{name}: only F32 files"
        n = int(np.prod(ne))
        arr = np.frombuffer(data, dtype=np.float32, count=n, offset=start + o)
        tensors[name] = torch.from_numpy(arr.reshape(tuple(reversed(ne))).copy())
    return meta, tensors


def llama_shape(meta, w):
    """dim, layers, heads, kv heads, RMS eps, RoPE base, head size, embeddings, output matrix."""
    dim = meta["llama.embedding_length"]
    heads = meta["llama.attention.head_count"]
    emb = w["token_embd.weight"]
    return (dim, meta["llama.block_count"], heads, meta["llama.attention.head_count_kv"],
            meta["llama.attention.layer_norm_rms_epsilon"], meta.get("llama.rope.freq_base", 10000.0),
            dim // heads, emb, w.get("output.weight", emb))


def main():
    path, n_prompt, n_new, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    meta, w = read_gguf(path)
    dim, layers, heads, kvh, eps, base, hd, emb, out = llama_shape(meta, w)
    ctx = n_prompt + n_new
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(ctx, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = ang.cos().float(), ang.sin().float()

    def rope(x, pos):  # x: (T, H, hd), adjacent pairs
        c, s = cos[pos][:, None, :], sin[pos][:, None, :]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        r = torch.empty_like(x)
        r[..., 0::2] = x0 * c - x1 * s
        r[..., 1::2] = x0 * s + x1 * c
        return r

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    kc = [torch.zeros(ctx, kvh, hd) for _ in range(layers)]
    vc = [torch.zeros(ctx, kvh, hd) for _ in range(layers)]
    L = [{k: w[f"blk.{i}.{k}"] for k in ("attn_norm.weight", "attn_q.weight", "attn_k.weight",
                                         "attn_v.weight", "attn_output.weight", "ffn_norm.weight",
                                         "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight")}
         for i in range(layers)]

    def forward(ids, start):
        T = len(ids)
        one = T == 1
        lin = (lambda m, v: torch.mv(m, v[0])[None, :]) if one else (lambda m, v: v @ m.T)
        x = emb[torch.tensor(ids)]
        pos = torch.arange(start, start + T)
        for i in range(layers):
            p = L[i]
            h = rms(x, p["attn_norm.weight"])
            q = rope(lin(p["attn_q.weight"], h).view(T, heads, hd), pos)
            k = rope(lin(p["attn_k.weight"], h).view(T, kvh, hd), pos)
            v = lin(p["attn_v.weight"], h).view(T, kvh, hd)
            kc[i][start:start + T] = k
            vc[i][start:start + T] = v
            K = kc[i][:start + T].repeat_interleave(heads // kvh, dim=1).transpose(0, 1)
            V = vc[i][:start + T].repeat_interleave(heads // kvh, dim=1).transpose(0, 1)
            sc = torch.matmul(q.transpose(0, 1), K.transpose(1, 2)) * (1.0 / math.sqrt(hd))
            if not one:
                sc = sc.masked_fill(~torch.ones(T, start + T, dtype=torch.bool).tril(start), float("-inf"))
            a = torch.matmul(torch.softmax(sc, dim=-1), V)
            x = x + lin(p["attn_output.weight"], a.transpose(0, 1).reshape(T, dim))
            h = rms(x, p["ffn_norm.weight"])
            g = lin(p["ffn_gate.weight"], h)
            u = lin(p["ffn_up.weight"], h)
            x = x + lin(p["ffn_down.weight"], torch.nn.functional.silu(g) * u)
        x = rms(x[-1:], w["output_norm.weight"])
        return torch.mv(out, x[0])

    ids = [(i * 7919 + 11) % 40000 + 300 for i in range(n_prompt)]
    with torch.inference_mode():
        forward(ids[:8], 0)  # warm up
        t0 = time.perf_counter()
        logits = forward(ids, 0)
        t1 = time.perf_counter()
        gen = []
        for j in range(n_new):
            tok = int(torch.argmax(logits))
            gen.append(tok)
            logits = forward([tok], n_prompt + j)
        t2 = time.perf_counter()
    print(json.dumps({"prompt_tps": n_prompt / (t1 - t0), "gen_tps": n_new / (t2 - t1), "ids": gen}))


if __name__ == "__main__":
    main()
