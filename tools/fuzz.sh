#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer, for a bounded time, of every reader of outside input:
#   gguf  the model-file reader and what reads a parsed file (hyper-parameters, tokenizer, blocks)
#   toml  the config reader and its schema and consistency checks
#   wav   the WAV reader
#   y4m   the YUV4MPEG2 video reader
#   link  the link's frame decoder and reliability layer (what a peer sends)
#   form  the multipart form reader of the server's audio endpoint (what an HTTP client sends)
#   tools/fuzz.sh [SECONDS] [TARGET...]     SECONDS each (default 60), every target by default
# Each harness (tools/fuzz/NAME-fuzz.swift) is built with -sanitize=fuzzer,address together with the
# sources it reads with, into .build-fuzz/NAME-fuzz. Its corpus starts from tools/fuzz/seeds/NAME
# (the inputs that once crashed, and small valid ones). Exit 1 with the crashing input's path if
# anything crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
seconds="${1:-60}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a whole number above 0, got '$seconds'" >&2; exit 64; }
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf toml wav y4m link form)
out=.build-fuzz
mkdir -p "$out/modules"

# (ld.gold warns about every ASan helper symbol it cannot export: noise, filtered out.)
build() {  # NAME MODULE SOURCES... [-- EXTRA swiftc ARGS]
  local name=$1 module=$2; shift 2
  echo "fuzz: building $out/$name-fuzz"
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$module" "$@" "tools/fuzz/$name-fuzz.swift" \
    -o "$out/$name-fuzz" 2>&1 | { grep -v "Cannot export local symbol" || true; }
  [ -x "$out/$name-fuzz" ] || { echo "fuzz: the $name build failed" >&2; exit 1; }
}

for name in "${targets[@]}"; do
  rm -f "$out/$name-fuzz"
  case "$name" in
    gguf)
      # The C kernels: compiled on their own, and a module map so the Swift sources can import them.
      printf 'module CMicroturnKernels {\n  header "%s"\n  export *\n}\n' "$PWD/Sources/CMicroturnKernels/include/mt_kernels.h" \
        > "$out/modules/module.modulemap"
      objects=()
      for f in Sources/CMicroturnKernels/*.c; do
        o="$out/$(basename "$f" .c).o"
        clang -O2 -ffp-contract=off -fsanitize=fuzzer-no-link,address -I Sources/CMicroturnKernels/include -c "$f" -o "$o"
        objects+=("$o")
      done
      # MicroturnCore (what the engine imports of it) as a module and a static library of its own.
      mkdir -p "$out/core"
      swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MicroturnCore -emit-module \
        -emit-module-path "$out/core/MicroturnCore.swiftmodule" -emit-library -static \
        -o "$out/core/libMicroturnCore.a" Sources/MicroturnCore/*.swift
      build gguf MicroturnInference -I "$out/modules" -I "$out/core" $(find Sources/MicroturnInference -name "*.swift") "${objects[@]}" \
        "$out/core/libMicroturnCore.a" ;;
    toml) build toml MicroturnCore Sources/MicroturnCore/*.swift ;;
    wav) build wav MicroturnAudio Sources/MicroturnAudio/{WavFile,AudioError,SampleConversion}.swift ;;
    y4m) build y4m MicroturnVision Sources/MicroturnVision/{Y4MReader,GreyFrame,VisionError}.swift ;;
    link)
      # SwiftProtobuf (the checkout SwiftPM resolved) as a module and a static library of its own.
      [ -d .build/checkouts/swift-protobuf ] || swift package resolve
      if [ ! -e "$out/protobuf/libSwiftProtobuf.a" ]; then
        mkdir -p "$out/protobuf"
        echo "fuzz: building SwiftProtobuf for the link harness"
        swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name SwiftProtobuf -package-name swift_protobuf -emit-module \
          -emit-module-path "$out/protobuf/SwiftProtobuf.swiftmodule" -emit-library -static \
          -o "$out/protobuf/libSwiftProtobuf.a" .build/checkouts/swift-protobuf/Sources/SwiftProtobuf/*.swift
      fi
      # The decoding side only (no NIO): the schema, the framing, the errors, the reliability layer.
      build link MicroturnLink -I "$out/protobuf" Sources/MicroturnLink/{LinkSchema.pb,FrameCodec,LinkError,ReliableChannel}.swift \
        "$out/protobuf/libSwiftProtobuf.a" ;;
    form) build form MicroturnServer Sources/MicroturnServer/Reasoning/MultipartForm.swift ;;
    *) echo "fuzz: no target '$name' (gguf, toml, wav, y4m, link, form)" >&2; exit 64 ;;
  esac
  corpus="$out/corpus-$name"
  mkdir -p "$corpus"
  cp tools/fuzz/seeds/"$name"/* "$corpus/"
  if [ "$name" = gguf ] && [ ! -e "$corpus/seed-llama.gguf" ]; then
    for arch in llama qwen3; do
      python3 tools/make-tiny-gguf.py --arch "$arch" --type Q8_0 --layers 1 --width 32 --heads 2 --kv-heads 1 \
        --head-dim 16 --experts 2 --used 1 --ff 32 --vocab 300 --out "$corpus/seed-$arch.gguf"
    done
  fi
  echo "fuzz: $name for $seconds s"
  set +e
  SWIFT_BACKTRACE=enable=no "$out/$name-fuzz" -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/$name-" -print_final_stats=1 "$corpus" > "$out/$name.log" 2>&1
  status=$?
  set -e
  grep -E "stat::number_of_executed_units|ERROR|Done" "$out/$name.log" | tail -3
  if [ "$status" -ne 0 ]; then
    echo "fuzz: the $name reader crashed; the input is in $out/ ($name-crash-*), the log in $out/$name.log" >&2
    exit 1
  fi
done
echo "fuzz: no crash in ${targets[*]}"
