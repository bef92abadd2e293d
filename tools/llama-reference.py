#!/usr/bin/env python3
"""llama.cpp, through llama-cpp-python (which vendors it), as the reference MicroturnInference is
checked against: the same GGUF files, the same questions.

  tools/llama-reference.py logits --model F.gguf --tokens 1,2,3 --out F.f32
      Logits of every position, raw little-endian float32, row-major (one row per position).
      The key/value cache is kept in F32 (so an F32 model is compared at full precision) unless
      --kv-cache f16.
  tools/llama-reference.py tokenize --model F.gguf (--text "..." | --texts-json F.json) [--no-special]
      Token ids, comma-separated, as llama.cpp's tokenizer gives them (no BOS added); with
      --texts-json (a JSON list of strings), a JSON list of id lists.
  tools/llama-reference.py generate --model F.gguf --tokens 1,2,3 -n 32
      Greedy continuation, comma-separated token ids.
  tools/llama-reference.py bench --model F.gguf --threads N --prefill 128 --decode 64 [--ttft 200] [--kv-cache f16|f32]
      Prints {"prefill_s": ..., "decode_s": ..., "ttft_s": ...}: one prefill of N tokens, then N greedy
      decodes, then the time to the first token of a fresh --ttft-token prompt.
  tools/llama-reference.py quantize --model F32.gguf --out Q.gguf --type Q4_K_M
      llama.cpp's own quantizer (K-quants: Q4_K_M mixes Q4_K and Q6_K; rows that are not whole
      256-blocks fall back to Q5_0/Q5_1/Q8_0). Quantized input is requantized. Types: F32 F16 Q4_0
      Q4_1 Q5_0 Q5_1 Q8_0 Q4_K_M Q5_K_M Q6_K.
  tools/llama-reference.py perplexity --model F.gguf --text FILE --ctx 512 [--chunks K]
      Prints {"perplexity": ..., "chunks": ..., "scored_tokens": ...}: llama.cpp's logits scored the
      way its perplexity tool scores them (chunks of ctx tokens read from scratch, BOS first where
      the vocabulary adds one, the second half of each chunk scored).
  tools/llama-reference.py selftest
      Runs llama.cpp on tiny F32, Q8_0 and Q4_0 models, each in a child process; exit 0 when
      all ran (tools/setup.sh rebuilds llama-cpp-python when not: a build for this CPU that
      faults on it, say on AMX instructions the kernel does not allow).

Needs llama-cpp-python built from its PyPI source package (tools/setup.sh --tests builds it
with llama.cpp's tools and examples off).
"""
import argparse
import json
import sys

try:
    import numpy as np
    import llama_cpp
except ImportError as e:
    sys.exit(f"llama-reference.py: {e}; build it with tools/setup.sh --tests")

FTYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18}


def load(path, n_ctx=512, logits_all=False, threads=1, vocab_only=False, kv_type=0):
    kwargs = dict(model_path=path, n_ctx=n_ctx, logits_all=logits_all, n_threads=threads, n_threads_batch=threads,
                  verbose=False, type_k=kv_type, type_v=kv_type, n_batch=n_ctx, vocab_only=vocab_only)
    try:
        return llama_cpp.Llama(flash_attn=False, **kwargs)
    except TypeError:
        return llama_cpp.Llama(**kwargs)


def ids(text):
    return [int(t) for t in text.split(",") if t.strip()]


def selftest():
    import os
    import subprocess
    import tempfile
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as d:
        for t in ("F32", "Q8_0", "Q4_0"):
            model, out = os.path.join(d, t + ".gguf"), os.path.join(d, t + ".f32")
            subprocess.run([sys.executable, os.path.join(here, "make-tiny-gguf.py"), "--arch", "llama", "--type", t, "--out", model],
                           check=True, stdout=subprocess.DEVNULL)
            r = subprocess.run([sys.executable, __file__, "logits", "--model", model, "--tokens", "1,2,3", "--out", out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                how = f"signal {-r.returncode}" if r.returncode < 0 else f"exit {r.returncode}"
                sys.exit(f"llama-reference.py selftest: llama.cpp failed on a {t} model ({how}) {r.stderr.strip()}")
    print("llama-reference.py selftest: llama.cpp runs F32, Q8_0 and Q4_0 models")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    lg = sub.add_parser("logits")
    lg.add_argument("--model", required=True)
    lg.add_argument("--tokens", required=True)
    lg.add_argument("--out", required=True)
    lg.add_argument("--kv-cache", choices=["f16", "f32"], default="f32")
    pp = sub.add_parser("perplexity")
    pp.add_argument("--model", required=True)
    pp.add_argument("--text", required=True)
    pp.add_argument("--ctx", type=int, default=512)
    pp.add_argument("--chunks", type=int)
    tk = sub.add_parser("tokenize")
    tk.add_argument("--model", required=True)
    tk.add_argument("--text")
    tk.add_argument("--texts-json")
    tk.add_argument("--no-special", action="store_true", help="treat special-token text as plain text")
    gn = sub.add_parser("generate")
    gn.add_argument("--model", required=True)
    gn.add_argument("--tokens", required=True)
    gn.add_argument("-n", type=int, default=32)
    bn = sub.add_parser("bench")
    bn.add_argument("--model", required=True)
    bn.add_argument("--threads", type=int, default=1)
    bn.add_argument("--prefill", type=int, default=128)
    bn.add_argument("--decode", type=int, default=64)
    bn.add_argument("--ttft", type=int, default=200)
    bn.add_argument("--kv-cache", choices=["f16", "f32"], default="f32")
    qz = sub.add_parser("quantize")
    qz.add_argument("--model", required=True)
    qz.add_argument("--out", required=True)
    qz.add_argument("--type", required=True, choices=sorted(FTYPES))
    sub.add_parser("selftest")
    a = p.parse_args()

    if a.command == "logits":
        tokens = ids(a.tokens)
        llm = load(a.model, n_ctx=max(64, len(tokens) + 8), logits_all=True, kv_type=1 if a.kv_cache == "f16" else 0)
        llm.eval(tokens)
        np.asarray(llm.scores[: len(tokens)], dtype="<f4").tofile(a.out)
    elif a.command == "tokenize":
        llm = load(a.model, vocab_only=True)
        encode = lambda text: llm.tokenize(text.encode("utf-8"), add_bos=False, special=not a.no_special)
        if a.texts_json:
            with open(a.texts_json, encoding="utf-8") as f:
                print(json.dumps([encode(t) for t in json.load(f)]))
        elif a.text is not None:
            print(",".join(str(t) for t in encode(a.text)))
        else:
            sys.exit("llama-reference.py tokenize: give --text or --texts-json")
    elif a.command == "generate":
        tokens = ids(a.tokens)
        llm = load(a.model, n_ctx=len(tokens) + a.n + 8)
        out = []
        for t in llm.generate(tokens, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            out.append(t)
            if len(out) == a.n:
                break
        print(",".join(str(t) for t in out))
    elif a.command == "bench":
        import time
        llm = load(a.model, n_ctx=max(a.prefill + a.decode, a.ttft) + 8, threads=a.threads, kv_type=1 if a.kv_cache == "f16" else 0)
        n_vocab = llm.n_vocab()
        prompt = [(i * 7919 + 13) % (n_vocab - 3) + 3 for i in range(a.prefill)]
        llm.eval(prompt[:4])  # warm up (page in the weights, build the graphs), then start over
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        for _ in range(a.decode):
            llm.eval([token])
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        t2 = time.perf_counter()
        # Time to first token: a fresh prompt of --ttft tokens read from an empty cache, and the
        # first token chosen.
        llm.reset()
        t3 = time.perf_counter()
        llm.eval([(i * 6007 + 29) % (n_vocab - 3) + 3 for i in range(a.ttft)])
        int(np.argmax(llm.scores[llm.n_tokens - 1]))
        t4 = time.perf_counter()
        print(json.dumps({"prefill_s": t1 - t0, "decode_s": t2 - t1, "ttft_s": t4 - t3}))
    elif a.command == "selftest":
        selftest()
    elif a.command == "perplexity":
        llm = load(a.model, n_ctx=a.ctx, logits_all=True, threads=2)
        with open(a.text, encoding="utf-8") as f:
            tokens = llm.tokenize(f.read().encode("utf-8"), add_bos=True, special=False)
        bos = llm.token_bos() if tokens and tokens[0] == llm.token_bos() else None
        chunks = len(tokens) // a.ctx
        if a.chunks:
            chunks = min(chunks, a.chunks)
        first, nll = a.ctx // 2, []
        for c in range(chunks):
            chunk = tokens[c * a.ctx:(c + 1) * a.ctx]
            if bos is not None:
                chunk[0] = bos
            llm.reset()
            llm.eval(chunk)
            logits = np.asarray(llm.scores[:a.ctx], dtype=np.float64)
            for i in range(first, a.ctx - 1):
                row = logits[i]
                m = row.max()
                nll.append(m + np.log(np.exp(row - m).sum()) - row[tokens[c * a.ctx + i + 1]])
        print(json.dumps({"perplexity": float(np.exp(np.mean(nll))), "chunks": chunks, "scored_tokens": len(nll)}))
    elif a.command == "quantize":
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = FTYPES[a.type]
        # A published file is already quantized (SmolLM2's Q4_1): requantizing it is what a user
        # who has only that file does.
        params.allow_requantize = True
        if llama_cpp.llama_model_quantize(a.model.encode(), a.out.encode(), params) != 0:
            sys.exit(f"llama-reference.py: llama.cpp could not quantize {a.model}")


if __name__ == "__main__":
    main()
