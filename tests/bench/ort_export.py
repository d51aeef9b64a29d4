#!/usr/bin/python3
"""ONNX Runtime's model for tests/bench/embed.sh: the same BERT forward as
torch_bert.py (and lode-embed), exported by Debian's PyTorch to ONNX
(opset 14, dynamic batch and length), inputs input_ids and attention_mask
(int64), output the normalised mean-pooled vectors.

usage: ort_export.py MODEL_DIR OUT.onnx"""
import sys

import torch

from torch_bert import make_forward


class Bert(torch.nn.Module):
    def __init__(self, forward):
        super().__init__()
        self.f = forward

    def forward(self, ids, mask):
        return self.f(ids, mask)


def main():
    model_dir, out = sys.argv[1:3]
    m = Bert(make_forward(model_dir))
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(m, (ids, mask), out, opset_version=14,
                      input_names=["input_ids", "attention_mask"], output_names=["vec"],
                      dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                                    "vec": {0: "b"}})


if __name__ == "__main__":
    main()
