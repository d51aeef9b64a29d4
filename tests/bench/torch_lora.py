"""The same LoRA training step as lode-finetune, in PyTorch, for tests/bench/finetune.sh.

usage: torch_lora.py MODEL.gguf SEQ RANK STEPS THREADS

Reads an F32 GGUF (llama architecture) as frozen base weights, adds LoRA
adapters of RANK (alpha 2 x RANK, A Kaiming-uniform, B zero) on the q and v
projections, and trains them with AdamW on one sequence of SEQ tokens per
step: causal language modelling (F.scaled_dot_product_attention when
this PyTorch has it),
cross-entropy over every position, backward, clipping, optimiser step.
Prints one JSON line: the median tokens per second of the steps after two
warm-up steps, the first loss, and the peak resident memory in MB.
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import llama_shape, read_gguf  # noqa: E402


def main():
    path, seq, rank, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    meta, w = read_gguf(path)
    dim, layers, heads, kvh, eps, base, hd, emb, out = llama_shape(meta, w)
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(seq, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = ang.cos().float()[:, None, :], ang.sin().float()[:, None, :]

    def rope(x):  # (T, H, hd), adjacent pairs
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    L = [{k: w[f"blk.{i}.{k}"] for k in ("attn_norm.weight", "attn_q.weight", "attn_k.weight",
                                         "attn_v.weight", "attn_output.weight", "ffn_norm.weight",
                                         "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight")}
         for i in range(layers)]
    scale = 2.0  # alpha / rank
    params = []
    lora = []
    for i in range(layers):
        d = {}
        for t in ("attn_q.weight", "attn_v.weight"):
            o, n = L[i][t].shape
            a = torch.empty(rank, n)
            torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
            a.requires_grad_(True)
            b = torch.zeros(o, rank, requires_grad=True)
            d[t] = (a, b)
            params += [a, b]
        lora.append(d)

    def lin(p, i, t, x):
        y = x @ p[t].T
        if t in lora[i]:
            a, b = lora[i][t]
            y = y + (x @ a.T) @ b.T * scale
        return y

    mask = torch.ones(seq, seq, dtype=torch.bool).tril()

    def attend(q, k, v):  # F.scaled_dot_product_attention where this PyTorch has it
        if hasattr(F, "scaled_dot_product_attention"):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        sc = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(hd))
        return torch.softmax(sc.masked_fill(~mask, float("-inf")), dim=-1) @ v

    def forward(ids):
        T = len(ids)
        x = emb[ids]
        for i in range(layers):
            p = L[i]
            h = rms(x, p["attn_norm.weight"])
            q = rope(lin(p, i, "attn_q.weight", h).view(T, heads, hd)).transpose(0, 1)
            k = rope(lin(p, i, "attn_k.weight", h).view(T, kvh, hd)).repeat_interleave(heads // kvh, dim=1).transpose(0, 1)
            v = lin(p, i, "attn_v.weight", h).view(T, kvh, hd).repeat_interleave(heads // kvh, dim=1).transpose(0, 1)
            a = attend(q, k, v)
            x = x + lin(p, i, "attn_output.weight", a.transpose(0, 1).reshape(T, dim))
            h = rms(x, p["ffn_norm.weight"])
            x = x + lin(p, i, "ffn_down.weight", F.silu(lin(p, i, "ffn_gate.weight", h)) * lin(p, i, "ffn_up.weight", h))
        return rms(x, w["output_norm.weight"]) @ out.T

    opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)
    times, first = [], None
    for s in range(steps + 2):
        ids = torch.randint(300, emb.shape[0], (seq + 1,), generator=g)
        t0 = time.perf_counter()
        logits = forward(ids[:-1])
        loss = F.cross_entropy(logits, ids[1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        t1 = time.perf_counter()
        first = float(loss) if first is None else first
        if s >= 2:
            times.append(t1 - t0)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens_per_second": seq / times[len(times) // 2], "first_loss": first, "max_rss_mb": rss}))


if __name__ == "__main__":
    main()
