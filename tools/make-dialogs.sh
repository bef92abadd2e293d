#!/usr/bin/env bash
# Generates the labelled dialogs that `microturn bench turns` runs: espeak-ng voices and rates,
# statements and questions, user turns 3-4 s apart, interruptions while the device speaks, half of
# them with background noise, each with its own simulated room echo.
#   tools/make-dialogs.sh [DIR] [COUNT]     (default: out/dialogs 12; DIR is taken from the repository's top)
# For other material (held-out voices and sentences, pauses, commands, backchannels), run
# `microturn bench make-dialogs --help`.
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "make-dialogs: unknown option '$1' (usage: tools/make-dialogs.sh [DIR] [COUNT])" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
dir="${1:-out/dialogs}"
count="${2:-12}"
bin=.build/release/microturn
[ -x "$bin" ] || swift build -c release --product microturn
"$bin" bench make-dialogs --out "$dir" --count "$count"
