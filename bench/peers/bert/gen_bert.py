#!/usr/bin/env python3
"""The graph of a BERT-base encoder as torch.onnx exports it, without its weights (run by
hand; the benchmark needs no Python).

transformers' BertModel at bert-base-uncased's shape (vocabulary 30522, hidden 768, 12
layers of 12 heads, feed-forward 3072, 512 positions; no pooler, sdpa attention) is exported
exactly as test/fixtures/hf/gen_hf.py exports its small `bert` fixture (the same wrapper,
names, dynamic axes and mask builder; TorchScript exporter, opset 14). The weights (440 MB)
are then stripped: every float initializer of 256 elements or more keeps its name, type and
shape but no data. bench/peers/bert.js fills them with seeded values at bench time; the
small constants of the graph (the attention scale, the mask's minimum, position ids) stay.

    python bench/peers/bert/gen_bert.py   # writes bench/peers/bert/bert-base.onnx
"""
import os
import sys

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "test", "fixtures", "hf"))
import gen_hf  # noqa: E402  (its mask builder patch, Encoder wrapper and axis names)

STRIP = 256  # float initializers of this many elements or more lose their data


def main():
    from transformers import BertConfig, BertModel

    torch.manual_seed(2026)
    cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                     num_attention_heads=12, intermediate_size=3072,
                     max_position_embeddings=512, attn_implementation="sdpa")
    model = BertModel(cfg, add_pooling_layer=False).eval()
    # Distinct values in every parameter, as a trained model has: the exporter shares equal
    # initializers (the zero biases and unit LayerNorm weights of a fresh model) through
    # Identity nodes, which a pretrained export does not have.
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = (torch.ones(1, 128, dtype=torch.long),) * 2 + (torch.zeros(1, 128, dtype=torch.long),)
    path = os.path.join(HERE, "bert-base.onnx")
    axes = {n: gen_hf.TEXT_AXES for n in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(
            gen_hf.Encoder(model, names, ["last_hidden_state"]), args, path, opset_version=14,
            input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
            do_constant_folding=True, dynamo=False,
        )
    m = onnx.load(path)
    stripped = 0
    for t in m.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if t.data_type == onnx.TensorProto.FLOAT and n >= STRIP:
            t.ClearField("raw_data")
            t.ClearField("float_data")
            stripped += n
    onnx.save(m, path)
    print(f"{path}: {os.path.getsize(path)} B, {stripped} weights stripped")


if __name__ == "__main__":
    main()
