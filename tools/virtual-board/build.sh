#!/usr/bin/env bash
# Builds the virtual board: Debian's own kernel booted in QEMU with an initramfs holding busybox,
# the kernel modules the tests need (vivid, the virtual camera; snd-aloop, a loopback sound card
# for microphone and loudspeaker; virtio-blk, for run.sh's DISK), v4l2-ctl (to work vivid's fault-injection controls), aplay (to
# play a user's voice into the loopback) and a microturn binary with its shared libraries and the
# data it reads: libv4l2's format-conversion plugins, alsa-lib's configuration, espeak-ng's voices,
# PocketSphinx's acoustic model and dictionary, the board profiles.
#   tools/virtual-board/build.sh [BINARY]      (default .build/release/microturn; writes .build-board/)
# Then tools/virtual-board/run.sh ARGS... runs `microturn ARGS` on the board.
# Needs linux-image-amd64, qemu-system-x86, busybox-static, cpio, kmod, v4l-utils, alsa-utils
# (tools/setup.sh --tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-.build/release/microturn}
modules=(vivid snd-aloop virtio_pci virtio_blk)
tools=(/usr/bin/v4l2-ctl /usr/bin/aplay /usr/bin/arecord)
data=(/usr/share/alsa /usr/lib/x86_64-linux-gnu/libv4l /usr/lib/x86_64-linux-gnu/espeak-ng-data
      /usr/share/pocketsphinx/model/en-us/en-us /usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict)
out=.build-board
[ -x "$binary" ] || { echo "virtual-board: no binary $binary; build it first (swift build -c release)" >&2; exit 66; }
for tool in busybox cpio modprobe "${tools[@]}"; do
  command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] || { echo "virtual-board: no $tool; run tools/setup.sh --tests" >&2; exit 69; }
done
for d in "${data[@]}"; do
  [ -e "$d" ] || { echo "virtual-board: no $d; run tools/setup.sh --tests" >&2; exit 69; }
done
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "virtual-board: no kernel in /boot; run tools/setup.sh --tests (linux-image-amd64)" >&2; exit 69; }
version=${kernel#/boot/vmlinuz-}
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,opt,modules,usr/share/microturn/boards}
cp /bin/busybox "$root/bin/busybox"
for app in sh mount poweroff insmod sleep cat echo ls grep sed tr base64 kill head tail dd; do ln -sf busybox "$root/bin/$app"; done

# Modules in the order they must be loaded (each driver's dependencies first).
: > "$root/modules/order"
for m in "${modules[@]}"; do
  for ko in $(modprobe -S "$version" --show-depends "$m" | awk '/^insmod/ {print $2}'); do
    name=$(basename "$ko")
    grep -qx "$name" "$root/modules/order" || { cp "$ko" "$root/modules/$name"; echo "$name" >> "$root/modules/order"; }
  done
done

# The binary, the tools, the data, and every shared library they load.
cp "$binary" "$root/opt/microturn"
cp "${tools[@]}" "$root/bin/"
cp boards/*.toml "$root/usr/share/microturn/boards/"
for d in "${data[@]}"; do
  mkdir -p "$root$(dirname "$d")"
  cp -r "$d" "$root$d"
done
for f in "$binary" "${tools[@]}" $(find /usr/lib/x86_64-linux-gnu/libv4l -name '*.so' 2>/dev/null); do
  ldd "$f" | awk '/=> \// {print $3} /^[ \t]*\// {print $1}' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done

cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod /modules/$m || echo "MT-MODULE-FAILED $m"; done
sleep 1
# run.sh adds /extra: `args`, microturn's arguments one a line; before.sh, run first (to set a
# camera up); beside.sh, run alongside (to unplug
# the camera, play a user's voice...); `fetch`, files printed after, base64, for run.sh to copy
# out; and any files it was asked to put on the board.
IFS='
'
set -- $(cat /extra/args 2>/dev/null)
unset IFS
echo "MT-BEGIN"
[ -f /extra/before.sh ] && sh /extra/before.sh
[ -f /extra/beside.sh ] && sh /extra/beside.sh &
/opt/microturn "$@"
echo "MT-END status=$?"
if [ -f /extra/fetch ]; then
  for f in $(cat /extra/fetch); do echo "MT-FILE $f"; base64 "$f"; echo "MT-FILE-END"; done
fi
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
cp "$kernel" "$out/vmlinuz"
echo "virtual-board: $out/vmlinuz ($version) + $out/initrd.gz ($(du -h "$out/initrd.gz" | cut -f1)), modules: $(tr '\n' ' ' < "$root/modules/order")"
