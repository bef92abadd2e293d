#!/usr/bin/env bash
# Boots the systemd virtual board (tools/virtual-board/build-systemd.sh first): Debian with systemd as
# PID 1 in QEMU (TCG), microturn.service from its .deb, and the check unit, which prints its findings
# between MT-BEGIN and MT-END and powers the board off. Prints them; exits 70 if the board did not
# get that far (then the console's end is shown). The disk is used copy-on-write: each boot starts
# from the same image.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build-board
[ -f "$out/systemd.img" ] || { echo "virtual-board: build it first (tools/virtual-board/build-systemd.sh DEB)" >&2; exit 66; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/console
start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -kernel "$out/vmlinuz" -initrd "$out/initrd-root.gz" \
  -drive "file=$out/systemd.img,format=raw,if=virtio,snapshot=on" \
  -append "console=ttyS0 panic=-1 quiet systemd.show_status=0" -nographic -no-reboot > "$log" 2>&1 || true
echo "MT-BOOT-SECONDS $(( $(date +%s) - start ))"
tr -d '\r' < "$log" | sed -n '/MT-BEGIN/,/MT-END/p'
tr -d '\r' < "$log" | grep -q "MT-END" || { echo "virtual-board: the board did not finish its check; its console:" >&2; tail -40 "$log" >&2; exit 70; }
