#!/usr/bin/env bash
# Runs `microturn ARGS` on the virtual board (tools/virtual-board/build.sh first) and prints what
# it printed; exits with its status. QEMU with TCG (KVM does not work here): about 10-15 s a boot.
#   tools/virtual-board/run.sh camera list
#   tools/virtual-board/run.sh reps --camera vivid --frames 60 --json
# BESIDE='shell commands' runs them on the board alongside the command (busybox, v4l2-ctl, aplay):
#   BESIDE='sleep 4; v4l2-ctl --set-ctrl percentage_of_dropped_buffers=100' tools/virtual-board/run.sh ...
# BEFORE='shell commands' runs them on the board before the command starts, e.g. vivid's HDMI
# loopback (what is played out on the HDMI output comes back on the HDMI input):
#   BEFORE='v4l2-ctl -d /dev/video1 -o 1; v4l2-ctl -d /dev/video0 -i 3; ...' tools/virtual-board/run.sh reps --camera /dev/video0 ...
# PUT='FILE...' puts host files on the board, in /extra/ under their own names:
#   PUT=live.toml tools/virtual-board/run.sh run --config /extra/live.toml --duration 10
# FETCH=BOARD_FILE FETCH_TO=HOST_FILE copies a file the command wrote out of the board:
#   FETCH=/tmp/a.ppm FETCH_TO=a.ppm tools/virtual-board/run.sh camera snapshot --camera vivid --out /tmp/a.ppm
# DISK=HOST_FILE attaches that file (made, 256 MB sparse, if it is not there) as the board's
# /dev/vda, raw: the way out for big files (the console takes minutes per 30 MB), e.g.
#   DISK=rec.img BESIDE='sleep 20; dd if=/tmp/r.y4m of=/dev/vda bs=1M' tools/virtual-board/run.sh reps --camera vivid --duration 22 --record /tmp/r.y4m
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build-board
[ -f "$out/initrd.gz" ] || { echo "virtual-board: build it first (tools/virtual-board/build.sh)" >&2; exit 66; }
command -v qemu-system-x86_64 >/dev/null || { echo "virtual-board: no qemu-system-x86_64; run tools/setup.sh --tests" >&2; exit 69; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/console
# The arguments and BESIDE, PUT, FETCH ride in a second archive after the board's own (the kernel
# unpacks both).
mkdir -p "$work/extra/extra"
[ $# -gt 0 ] && printf '%s\n' "$@" > "$work/extra/extra/args"
[ -n "${BEFORE:-}" ] && printf '%s\n' "$BEFORE" > "$work/extra/extra/before.sh"
[ -n "${BESIDE:-}" ] && printf '%s\n' "$BESIDE" > "$work/extra/extra/beside.sh"
[ -n "${FETCH:-}" ] && printf '%s\n' "$FETCH" > "$work/extra/extra/fetch"
for f in ${PUT:-}; do
  [ -f "$f" ] || { echo "virtual-board: PUT names $f, which is not a file" >&2; exit 66; }
  cp "$f" "$work/extra/extra/"
done
(cd "$work/extra" && find extra | cpio -o -H newc --quiet | gzip -1) > "$work/extra.gz"
cat "$out/initrd.gz" "$work/extra.gz" > "$work/initrd.gz"
disk=()
if [ -n "${DISK:-}" ]; then
  [ -e "$DISK" ] || truncate -s 256M "$DISK"
  disk=(-drive "file=$DISK,format=raw,if=virtio")
fi
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -kernel "$out/vmlinuz" -initrd "$work/initrd.gz" "${disk[@]}" \
  -append "console=ttyS0 quiet panic=-1" -nographic -no-reboot > "$log" 2>&1 || true
# (The console's first lines carry terminal escapes: the markers are found anywhere on a line.)
tr -d '\r' < "$log" | sed -n '/MT-BEGIN$/,/^MT-END/p' | sed '1d;$d'
status=$(tr -d '\r' < "$log" | sed -n 's/^MT-END status=\([0-9]*\).*/\1/p')
grep -h "MT-MODULE-FAILED" "$log" >&2 || true
[ -n "$status" ] || { echo "virtual-board: the board did not finish; its console:" >&2; tail -20 "$log" >&2; exit 70; }
if [ -n "${FETCH:-}" ]; then
  tr -d '\r' < "$log" | sed -n "\\|^MT-FILE $FETCH\$|,/^MT-FILE-END/p" | sed '1d;$d' | base64 -d > "${FETCH_TO:?FETCH_TO names the host file for FETCH}" \
    && [ -s "$FETCH_TO" ] || { echo "virtual-board: $FETCH did not come back whole (did the command write it?)" >&2; exit 74; }
fi
exit "$status"
