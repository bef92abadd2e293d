#!/usr/bin/env bash
# Coverage-guided fuzzing of the GGUF reader (and what reads a parsed file: hyper-parameters,
# tokenizer, block decoders) with libFuzzer, for a bounded time.
#   tools/fuzz-gguf.sh [SECONDS]     default 60
# Builds .build-fuzz/gguf-fuzz with -sanitize=fuzzer,address, seeds a corpus with small valid files
# (tools/make-tiny-gguf.py), and fails (exit 1) with the crashing input's path if anything crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=.build-fuzz
mkdir -p "$out/corpus"
echo "fuzz: building $out/gguf-fuzz"
# The C kernels: compiled on their own, and a module map so the Swift sources can import them.
mkdir -p "$out/modules"
printf 'module CMicroturnKernels {\n  header "%s"\n  export *\n}\n' "$PWD/Sources/CMicroturnKernels/include/mt_kernels.h" \
  > "$out/modules/module.modulemap"
objects=()
for f in Sources/CMicroturnKernels/*.c; do
  o="$out/$(basename "$f" .c).o"
  clang -O2 -ffp-contract=off -fsanitize=fuzzer-no-link,address -I Sources/CMicroturnKernels/include -c "$f" -o "$o"
  objects+=("$o")
done
# (ld.gold warns about every ASan helper symbol it cannot export: noise, filtered out.)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MicroturnInference -I "$out/modules" \
  Sources/MicroturnInference/*.swift tools/fuzz/gguf-fuzz.swift "${objects[@]}" -o "$out/gguf-fuzz" 2>&1 \
  | { grep -v "Cannot export local symbol" || true; }
[ -x "$out/gguf-fuzz" ] || { echo "fuzz: the build failed" >&2; exit 1; }
if [ -z "$(ls -A "$out/corpus")" ]; then
  for arch in llama qwen3; do
    python3 tools/make-tiny-gguf.py --arch "$arch" --type Q8_0 --layers 1 --width 32 --heads 2 --kv-heads 1 \
      --head-dim 16 --experts 2 --used 1 --ff 32 --vocab 300 --out "$out/corpus/seed-$arch.gguf"
  done
fi
echo "fuzz: running for $seconds s"
SWIFT_BACKTRACE=enable=no "$out/gguf-fuzz" -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" 2>&1 | grep -E "^#|stat::number_of_executed_units|ERROR|crash|Done" | tail -5
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "fuzz: the reader crashed; the input is in $out/ (crash-*)" >&2
  exit 1
fi
echo "fuzz: no crash"
