#!/usr/bin/env python3
"""Tiny random-weight GGUF models for MicroturnInference's tests and benchmarks, written with
gguf-py (PyPI `gguf`), laid out the way llama.cpp loads each architecture.

  tools/make-tiny-gguf.py --arch qwen3moe --type Q8_0 --out tiny.gguf
  tools/make-tiny-gguf.py --arch granitemoe --preset granite-3.1-1b-a400m --type F32 --out bench.gguf

Architectures: qwen3moe, olmoe, mixtral (llama with experts), qwen2moe (shared expert with its
own gate), granitemoe (embedding/residual/attention/logit scales), and the dense llama and qwen3.
Types: F32, F16, BF16, Q8_0, Q4_0 (gguf-py converts and quantizes). Norm weights stay F32, as converters leave them.
K-quant files (Q4_K_M) come from llama.cpp's own quantizer (tools/llama-reference.py quantize).

Tokenizers: llama (SentencePiece-style, with byte fallback) for mixtral, llama and granitemoe;
gpt2 (byte-level BPE, merges learned here on a small built-in text) for the qwen and olmo models,
with the pre-tokenizer llama.cpp knows them by.

Needs: pip install gguf numpy (tools/setup.sh --tests does it).
"""
import argparse
import sys
from collections import Counter

try:
    import numpy as np
    import gguf
    from gguf import GGMLQuantizationType as T
except ImportError as e:
    sys.exit(f"make-tiny-gguf.py: {e}; install with: pip install gguf numpy")

ARCHS = {
    # name in the file, tokenizer, pre-tokenizer, experts?, shared expert?, qk-norm ("head", "full" or None)
    "qwen3moe": ("qwen3moe", "gpt2", "qwen2", True, False, "head"),
    "olmoe": ("olmoe", "gpt2", "olmo", True, False, "full"),
    "mixtral": ("llama", "llama", None, True, False, None),
    "qwen2moe": ("qwen2moe", "gpt2", "qwen2", True, True, None),
    "granitemoe": ("granitemoe", "llama", None, True, False, None),
    "llama": ("llama", "llama", None, False, False, None),
    "qwen3": ("qwen3", "gpt2", "qwen2", False, False, "head"),
}

PRESETS = {
    # The shapes of granite-3.1-1b-a400m (the engine's benchmark model).
    "granite-3.1-1b-a400m": dict(layers=24, width=1024, heads=16, kv_heads=8, head_dim=64, experts=32, used=8,
                                 ff=512, vocab=49155, context=4096),
}

TEXT = """
The quick brown fox jumps over the lazy dog. A small grey cat sleeps on the warm kitchen floor.
We need to buy more coffee and some bread for the morning. Could you remind me to call the dentist?
The train was late again this morning, so I walked to work through the park. It is 3 o'clock.
Numbers like 12, 345 and 6789 appear in text; so do symbols: (a + b) * c = d, x[i] = y{j}; "quotes".
def add(a, b):\n    return a + b\n\nfor i in range(10):\n    print(i)
Über naïve café résumé — 日本語のテキスト, 中文文本, emoji 🙂 and tabs\tand  double  spaces.
"""


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the rest map to
    code points from 256 up, so every byte is a visible character."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def bpe_vocab(size):
    """Byte-level BPE learned on TEXT: 256 byte symbols, then merges of the most frequent pairs
    (within words split on spaces, the space kept at the front of a word as GPT-2 does)."""
    alphabet = bytes_to_unicode()
    words = Counter()
    for i, word in enumerate(TEXT.split(" ")):
        piece = (" " if i else "") + word
        words[tuple(alphabet[b] for b in piece.encode("utf-8"))] += 1
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens = [alphabet[b] for b in range(256)]
    merges = []
    while len(tokens) + len(specials) < size:
        pairs = Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        merges.append(f"{a} {b}")
        tokens.append(a + b)
        merged = Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    while len(tokens) + len(specials) < size:
        tokens.append(f"<|unused{len(tokens)}|>")
    types = [1] * len(tokens) + [3] * len(specials)
    return tokens + specials, types, merges


def spm_vocab(size):
    """SentencePiece-style: <unk>, <s>, </s>, 256 byte pieces, then words and pieces of TEXT
    with '▁' for a leading space, scored by frequency."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    scores = [0.0, 0.0, 0.0] + [0.0] * 256
    counts = Counter()
    for word in TEXT.split():
        w = "▁" + word
        for n in range(1, len(w) + 1):
            for i in range(len(w) - n + 1):
                counts[w[i:i + n]] += 1
    for piece, n in counts.most_common():
        if len(tokens) >= size:
            break
        tokens.append(piece)
        types.append(1)
        scores.append(-float(len(tokens)))
    while len(tokens) < size:
        tokens.append(f"<unused{len(tokens)}>")
        types.append(5)
        scores.append(-1e9)
    return tokens, types, scores


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True, choices=sorted(ARCHS))
    p.add_argument("--type", default="F32", choices=["F32", "F16", "BF16", "Q8_0", "Q4_0"])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--preset", choices=sorted(PRESETS))
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=16)
    p.add_argument("--experts", type=int, default=4)
    p.add_argument("--used", type=int, default=2)
    p.add_argument("--ff", type=int, default=96, help="feed-forward width (of each expert)")
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--rope-scale", type=float, default=0,
                   help="write linear rope scaling with this factor (positions divided by it)")
    a = p.parse_args()
    if a.preset:
        for k, v in PRESETS[a.preset].items():
            setattr(a, k, v)
    name, tokenizer, pre, moe, shared, qk_norm = ARCHS[a.arch]
    if a.arch == "olmoe":
        a.kv_heads = a.heads  # OLMoE has no grouped-query attention; llama.cpp sizes its k-norm by the width
    qtype = T[a.type]
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    for what, n in [("--width", a.width), ("--ff", a.ff), ("--heads x --head-dim", a.heads * a.head_dim)]:
        if n % block:
            sys.exit(f"make-tiny-gguf.py: {what} = {n} is not a multiple of the {a.type} block ({block})")

    rng = np.random.default_rng(a.seed)
    w = gguf.GGUFWriter(a.out, name)
    w.add_name(f"tiny-{a.arch}-{a.type.lower()}")
    w.add_context_length(a.context)
    w.add_embedding_length(a.width)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ff)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.kv_heads)
    w.add_key_length(a.head_dim)
    w.add_value_length(a.head_dim)
    w.add_rope_dimension_count(a.head_dim)
    w.add_rope_freq_base(10000.0 if tokenizer == "llama" else 1000000.0)
    w.add_layer_norm_rms_eps(1e-6)
    if a.rope_scale:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(a.rope_scale)
    w.add_file_type({"F32": 0, "F16": 1, "BF16": 32, "Q8_0": 7, "Q4_0": 2}[a.type])
    if moe:
        w.add_expert_count(a.experts)
        w.add_expert_used_count(a.used)
        if a.arch in ("qwen3moe", "qwen2moe"):
            w.add_expert_feed_forward_length(a.ff)
        if shared:
            w.add_expert_shared_feed_forward_length(a.ff)
    if a.arch == "granitemoe":
        w.add_embedding_scale(12.0)
        w.add_residual_scale(0.22)
        w.add_attention_scale(0.015625)
        w.add_logit_scale(8.0)

    if tokenizer == "gpt2":
        tokens, types, merges = bpe_vocab(a.vocab)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(tokens.index("<|endoftext|>"))
        w.add_eos_token_id(tokens.index("<|im_end|>") if "<|im_end|>" in tokens else len(tokens) - 1)
        w.add_add_bos_token(False)
    else:
        tokens, types, scores = spm_vocab(a.vocab)
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_unk_token_id(0)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_add_bos_token(True)
    vocab = len(tokens)

    def weight(name, *shape, scale=None):
        """A matrix in numpy order (rows = outputs), quantized to --type when its rows allow."""
        fan_in = shape[-1]
        x = (rng.standard_normal(shape) * (scale if scale is not None else fan_in ** -0.5)).astype(np.float32)
        if qtype == T.F32 or shape[-1] % block:
            w.add_tensor(name, x)
        elif qtype == T.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)

    def norm(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    q_dim, kv_dim = a.heads * a.head_dim, a.kv_heads * a.head_dim
    weight("token_embd.weight", vocab, a.width, scale=1.0)
    for i in range(a.layers):
        b = f"blk.{i}"
        norm(f"{b}.attn_norm.weight", a.width)
        weight(f"{b}.attn_q.weight", q_dim, a.width)
        weight(f"{b}.attn_k.weight", kv_dim, a.width)
        weight(f"{b}.attn_v.weight", kv_dim, a.width)
        weight(f"{b}.attn_output.weight", a.width, q_dim)
        if qk_norm == "head":
            norm(f"{b}.attn_q_norm.weight", a.head_dim)
            norm(f"{b}.attn_k_norm.weight", a.head_dim)
        elif qk_norm == "full":
            norm(f"{b}.attn_q_norm.weight", q_dim)
            norm(f"{b}.attn_k_norm.weight", kv_dim)
        norm(f"{b}.ffn_norm.weight", a.width)
        if moe:
            weight(f"{b}.ffn_gate_inp.weight", a.experts, a.width)
            weight(f"{b}.ffn_gate_exps.weight", a.experts, a.ff, a.width)
            weight(f"{b}.ffn_up_exps.weight", a.experts, a.ff, a.width)
            weight(f"{b}.ffn_down_exps.weight", a.experts, a.width, a.ff)
            if shared:
                w.add_tensor(f"{b}.ffn_gate_inp_shexp.weight", (rng.standard_normal(a.width) * a.width ** -0.5).astype(np.float32))
                weight(f"{b}.ffn_gate_shexp.weight", a.ff, a.width)
                weight(f"{b}.ffn_up_shexp.weight", a.ff, a.width)
                weight(f"{b}.ffn_down_shexp.weight", a.width, a.ff)
        else:
            weight(f"{b}.ffn_gate.weight", a.ff, a.width)
            weight(f"{b}.ffn_up.weight", a.ff, a.width)
            weight(f"{b}.ffn_down.weight", a.width, a.ff)
    norm("output_norm.weight", a.width)
    weight("output.weight", vocab, a.width)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
