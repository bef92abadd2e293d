#!/usr/bin/env bash
# Runs `microturn ARGS` on the virtual board (tools/virtual-board/build.sh first) and prints what
# it printed; exits with its status. QEMU with TCG (KVM does not work here): about 10-15 s a boot.
#   tools/virtual-board/run.sh camera list
#   tools/virtual-board/run.sh reps --camera vivid --frames 60 --json
#   UNPLUG=1 tools/virtual-board/run.sh reps --camera vivid --duration 14
#       (the camera's driver is unbound 4 s in and bound again 3 s later)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build-board
[ -f "$out/initrd.gz" ] || { echo "virtual-board: build it first (tools/virtual-board/build.sh)" >&2; exit 66; }
command -v qemu-system-x86_64 >/dev/null || { echo "virtual-board: no qemu-system-x86_64; run tools/setup.sh --deps" >&2; exit 69; }
args=$(IFS=,; echo "$*")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -kernel "$out/vmlinuz" -initrd "$out/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 mtargs=$args mtunplug=${UNPLUG:-0}" -nographic -no-reboot > "$log" 2>&1 || true
# (The console's first lines carry terminal escapes: the markers are found anywhere on a line.)
tr -d '\r' < "$log" | sed -n '/MT-BEGIN$/,/^MT-END/p' | sed '1d;$d'
status=$(tr -d '\r' < "$log" | sed -n 's/^MT-END status=\([0-9]*\).*/\1/p')
grep -h "MT-MODULE-FAILED" "$log" >&2 || true
[ -n "$status" ] || { echo "virtual-board: the board did not finish; its console:" >&2; tail -20 "$log" >&2; exit 70; }
exit "$status"
