#!/usr/bin/env bash
# Runs the engine's C kernel tests (tools/kernels-test.c: every variant equals its scalar twin bit
# for bit, and so do the product tiles) natively, then cross-compiled for aarch64 with Debian's gcc
# under qemu-user, on an emulated CPU with the dot product extension (neon-dotprod) and on one
# without (neon, Cortex-A53).
#   tools/test-kernels.sh
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (tools/setup.sh --tests).
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  ?*) echo "test-kernels: takes no arguments ('$1')" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-kernels-aarch64: no $tool; run tools/setup.sh --tests" >&2; exit 69; }
done
out=.build-aarch64
mkdir -p "$out"
# Natively first: the x86 variants this CPU has (AVX2, AVX-VNNI, AVX-512 VNNI tiles).
echo "== native ($(uname -m))"
cc -O3 -ffp-contract=off -Wall -Wextra -Werror -Wno-unused-function -I Sources/CMicroturnKernels/include \
  -o "$out/kernels-test-native" tools/kernels-test.c -lm
native=0
"$out/kernels-test-native" || native=1
# The same flags as the Swift package's C target (-O3, no contraction of a*b+c into one rounding).
aarch64-linux-gnu-gcc -O3 -ffp-contract=off -march=armv8-a -static -Wall -Wextra -Werror -Wno-unused-function \
  -I Sources/CMicroturnKernels/include -o "$out/kernels-test" tools/kernels-test.c -lm
# Swift builds its C targets with clang: the same sources must compile with it for aarch64 too.
if command -v clang >/dev/null; then
  for f in Sources/CMicroturnKernels/*.c; do
    clang --target=aarch64-linux-gnu --sysroot=/usr/aarch64-linux-gnu -O3 -ffp-contract=off -Wall -Wextra -Werror \
      -I Sources/CMicroturnKernels/include -c "$f" -o "$out/$(basename "$f" .c).o"
  done
  echo "clang --target=aarch64-linux-gnu: the kernels compile"
fi
status=$native
for cpu in max cortex-a53; do
  echo "== qemu-aarch64 -cpu $cpu"
  qemu-aarch64 -cpu "$cpu" "$out/kernels-test" || status=1
done
exit $status
