#!/usr/bin/env python3
"""Reference data for MicroturnInference's tests, made with gguf-py (PyPI `gguf`), an implementation
independent of ours.

  tools/gguf-reference.py blocks OUT.gguf [--seed S] [--rows R]
      For each supported tensor type (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K): random blocks, as
      tensor TYPE, and gguf-py's dequantization of them, as F32 tensor TYPE.ref. Any bytes are a
      valid block once the f16 scales in it are finite, so the K-quants need no quantizer here.
  tools/gguf-reference.py vocab --model F.gguf --pre NAME --out OUT.gguf
      A tokenizer-only copy of F's metadata (no tensors) with `tokenizer.ggml.pre` set to NAME: one
      real vocabulary and merge list run through each pre-tokenizer, by llama.cpp (vocab-only load)
      and by ours.

Needs: pip install gguf numpy (tools/setup.sh --tests does it).
"""
import argparse
import sys

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
except ImportError as e:
    sys.exit(f"gguf-reference.py: {e}; install with: pip install gguf numpy")

# Byte offsets of the f16 scale fields in each block: they must hold finite values.
SCALE_FIELDS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def random_blocks(rng, qtype, rows, blocks_per_row):
    size, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    if qtype == T.F16:
        return rng.standard_normal((rows, blocks_per_row)).astype(np.float16)
    if qtype == T.BF16:
        x = rng.standard_normal((rows, blocks_per_row)).astype(np.float32)
        return (x.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(rows, -1)
    raw = rng.integers(0, 256, size=(rows, blocks_per_row, nbytes), dtype=np.uint8)
    for offset in SCALE_FIELDS[qtype]:
        scale = (rng.standard_normal((rows, blocks_per_row)) * 0.01).astype(np.float16)
        raw[:, :, offset:offset + 2] = scale.view(np.uint8).reshape(rows, blocks_per_row, 2)
    return raw.reshape(rows, blocks_per_row * nbytes)


def blocks(args):
    rng = np.random.default_rng(args.seed)
    writer = gguf.GGUFWriter(args.out, "reference")
    for qtype in [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]:
        size, _ = gguf.GGML_QUANT_SIZES[qtype]
        per_row = 512 // size if size > 1 else 512
        raw = random_blocks(rng, qtype, args.rows, per_row)
        ref = gguf.quants.dequantize(raw, qtype).astype(np.float32)
        if qtype == T.F16:
            writer.add_tensor(qtype.name, raw)
        else:
            writer.add_tensor(qtype.name, raw, raw_dtype=qtype)
        writer.add_tensor(qtype.name + ".ref", ref)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def vocab(args):
    reader = gguf.GGUFReader(args.model)
    arch = str(bytes(reader.fields["general.architecture"].parts[-1]), "utf-8")
    writer = gguf.GGUFWriter(args.out, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "tokenizer.ggml.pre"):
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            value = field.contents()
            writer.add_array(name, value) if name != "tokenizer.ggml.scores" else writer.add_array(name, [float(v) for v in value])
        else:
            writer.add_key_value(name, field.contents(), vtype)
    writer.add_string("tokenizer.ggml.pre", args.pre)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("blocks", help="random blocks of every supported type and their dequantization")
    b.add_argument("out")
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--rows", type=int, default=4)
    v = sub.add_parser("vocab", help="a tokenizer-only copy of a model with another pre-tokenizer")
    v.add_argument("--model", required=True)
    v.add_argument("--pre", required=True)
    v.add_argument("--out", required=True)
    args = p.parse_args()
    {"blocks": blocks, "vocab": vocab}[args.command](args)


if __name__ == "__main__":
    main()
