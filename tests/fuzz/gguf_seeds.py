#!/usr/bin/env python3
"""gguf_seeds.py DIR: GGUF files shaped like the proofs of concept of
llama.cpp's published GGUF advisories and loader fixes, rewritten as seeds
for fuzz_gguf and fuzz_lora (each must be refused cleanly, never crash):
a zero dimension (SIGFPE in a size check), an empty key, dimensions whose
product overflows, huge or mistyped general.alignment, string and array
lengths near 2^64, a tokenizer array of a narrower element type than its
readers stride by, more dimensions than four, counts that cannot fit,
tensors outside the file or named twice, an unknown tensor type, a block
count beyond any model's, and a byte token "<0x-1>"."""
import os
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack('<Q', len(b)) + b


def kv(key, t, val):
    out = s(key) + struct.pack('<I', t)
    if t == STR:
        return out + s(val)
    if t == ARR:
        at, items = val
        out += struct.pack('<IQ', at, len(items))
        for it in items:
            out += s(it) if at == STR else struct.pack({U8: '<B', I32: '<i', F32: '<f', U32: '<I'}[at], it)
        return out
    return out + struct.pack({U8: '<B', U32: '<I', I32: '<i', F32: '<f', U64: '<Q', BOOL: '<B'}[t], val)


def tensor(name, dims, ttype, offset):
    return s(name) + struct.pack('<I', len(dims)) + b''.join(struct.pack('<q', d) for d in dims) + \
        struct.pack('<IQ', ttype, offset)


def gguf(kvs, tensors, data=b'\0' * 64, nt=None, nkv=None, version=3):
    head = b'GGUF' + struct.pack('<IQQ', version, len(tensors) if nt is None else nt,
                                 len(kvs) if nkv is None else nkv)
    body = b''.join(kvs) + b''.join(tensors)
    pad = (-(len(head) + len(body))) % 32
    return head + body + b'\0' * pad + data


arch = [kv('general.architecture', STR, 'llama'), kv('llama.block_count', U32, 1),
        kv('llama.embedding_length', U32, 8), kv('llama.attention.head_count', U32, 2)]
vocab = [kv('tokenizer.ggml.model', STR, 'llama'),
         kv('tokenizer.ggml.tokens', ARR, (STR, ['<unk>', '<s>', '</s>', 'a', 'b'])),
         kv('tokenizer.ggml.scores', ARR, (F32, [0.0, 0.0, 0.0, -1.0, -2.0])),
         kv('tokenizer.ggml.token_type', ARR, (I32, [2, 3, 3, 1, 1]))]
seeds = {
    'zero-dimension': gguf(arch, [tensor('token_embd.weight', [8, 0], 0, 0)]),
    'empty-key': gguf([kv('', U32, 1)] + arch, []),
    'dimension-product-overflow': gguf(arch, [tensor('token_embd.weight', [2**63 - 1, 2], 24, 0)]),
    'alignment-huge': gguf([kv('general.alignment', U32, 1 << 30)] + arch, [tensor('output_norm.weight', [8], 0, 0)]),
    'alignment-int32-typed': gguf([kv('general.alignment', I32, 32)] + arch, []),
    'alignment-zero': gguf([kv('general.alignment', U32, 0)] + arch, []),
    'alignment-not-power-of-two': gguf([kv('general.alignment', U32, 48)] + arch, []),
    'string-length-2^64': b'GGUF' + struct.pack('<IQQ', 3, 0, 1) + struct.pack('<Q', 2**64 - 1) + b'key',
    'string-length-1GiB': gguf([s('k') + struct.pack('<IQ', STR, 1 << 30)], [], data=b''),
    'array-count-2^62': gguf([s('k') + struct.pack('<IIQ', ARR, U32, 2**62)], [], data=b''),
    'string-array-count-huge': gguf([s('tokenizer.ggml.tokens') + struct.pack('<IIQ', ARR, STR, 2**40)], [], data=b''),
    'scores-narrower-type': gguf(arch + vocab[:2] + [kv('tokenizer.ggml.scores', ARR, (U8, [0, 0, 0, 1, 2])),
                                                   vocab[3]], []),
    'token-type-short': gguf(arch + vocab[:3] + [kv('tokenizer.ggml.token_type', ARR, (I32, [2]))], []),
    'five-dimensions': gguf(arch, [tensor('token_embd.weight', [2, 2, 2, 2, 2], 0, 0)]),
    'counts-cannot-fit': gguf(arch, [], nt=2**62, nkv=2**62),
    'tensor-outside-file': gguf(arch, [tensor('output_norm.weight', [8], 0, 1 << 40)]),
    'tensor-named-twice': gguf(arch, [tensor('output_norm.weight', [8], 0, 0), tensor('output_norm.weight', [8], 0, 32)]),
    'tensor-type-unknown': gguf(arch, [tensor('output_norm.weight', [8], 9999, 0)]),
    'block-count-100000': gguf([kv('general.architecture', STR, 'llama'), kv('llama.block_count', U32, 100000),
                                kv('llama.embedding_length', U32, 8)], [tensor('output_norm.weight', [8], 0, 0)]),
    'byte-token-minus-one': gguf(arch + [kv('tokenizer.ggml.model', STR, 'llama'),
                                         kv('tokenizer.ggml.tokens', ARR, (STR, ['<unk>', '<s>', '</s>', '<0x-1>', '<0xZZ>'])),
                                         kv('tokenizer.ggml.scores', ARR, (F32, [0.0] * 5)),
                                         kv('tokenizer.ggml.token_type', ARR, (I32, [2, 3, 3, 6, 6]))], []),
    'version-1': gguf(arch, [], version=1),
    'adapter-type': gguf([kv('general.type', STR, 'adapter'), kv('adapter.type', STR, 'lora'),
                          kv('adapter.lora.alpha', F32, 16.0)],
                         [tensor('blk.0.attn_q.weight.lora_a', [64, 8], 0, 0),
                          tensor('blk.0.attn_q.weight.lora_b', [8, 64], 0, 2048)], data=b'\0' * 4096),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, b in seeds.items():
    with open(os.path.join(sys.argv[1], 'advisory-' + name + '.gguf'), 'wb') as f:
        f.write(b)
