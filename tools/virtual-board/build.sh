#!/usr/bin/env bash
# Builds the virtual board: Debian's own kernel booted in QEMU with an initramfs holding busybox,
# the kernel modules the tests need (vivid, the virtual camera) and a microturn binary with its
# shared libraries (and libv4l2's format-conversion plugins).
#   tools/virtual-board/build.sh [BINARY]      (default .build/release/microturn; writes .build-board/)
# Then tools/virtual-board/run.sh ARGS... runs `microturn ARGS` on the board.
# Needs linux-image-amd64, qemu-system-x86, busybox-static, cpio, kmod (tools/setup.sh --deps).
# To add a driver (snd-aloop for the audio tests), add it to `modules` below.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-.build/release/microturn}
modules=(vivid)
out=.build-board
[ -x "$binary" ] || { echo "virtual-board: no binary $binary; build it first (swift build -c release)" >&2; exit 66; }
for tool in busybox cpio modprobe; do
  command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] || { echo "virtual-board: no $tool; run tools/setup.sh --deps" >&2; exit 69; }
done
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "virtual-board: no kernel in /boot; run tools/setup.sh --deps (linux-image-amd64)" >&2; exit 69; }
version=${kernel#/boot/vmlinuz-}
root=$out/root
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp,opt,modules}
cp /bin/busybox "$root/bin/busybox"
for app in sh mount poweroff insmod sleep cat echo ls; do ln -sf busybox "$root/bin/$app"; done

# Modules in the order they must be loaded (each driver's dependencies first).
: > "$root/modules/order"
for m in "${modules[@]}"; do
  for ko in $(modprobe -S "$version" --show-depends "$m" | awk '/^insmod/ {print $2}'); do
    name=$(basename "$ko")
    grep -qx "$name" "$root/modules/order" || { cp "$ko" "$root/modules/$name"; echo "$name" >> "$root/modules/order"; }
  done
done

# The binary, libv4l2's plugins, and every shared library they load.
cp "$binary" "$root/opt/microturn"
plugins=/usr/lib/x86_64-linux-gnu/libv4l
[ -d "$plugins" ] && mkdir -p "$root$plugins" && cp -r "$plugins"/. "$root$plugins/"
for f in "$binary" $(find "$plugins" -name '*.so' 2>/dev/null); do
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
# The command: the kernel's mtargs=, arguments separated by commas.
args=$(sed -n 's/.*mtargs=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
echo "MT-BEGIN"
if grep -q "mtunplug=1" /proc/cmdline; then
  # The camera vanishes 4 s in and comes back 3 s later (the driver unbound and bound again).
  /opt/microturn $args &
  pid=$!
  sleep 4; echo "MT-UNPLUG"; ls /sys/bus/platform/drivers/vivid/ | grep vivid > /tmp/dev
  echo "$(cat /tmp/dev)" > /sys/bus/platform/drivers/vivid/unbind
  sleep 3; echo "MT-REPLUG"; echo "$(cat /tmp/dev)" > /sys/bus/platform/drivers/vivid/bind
  wait $pid
else
  /opt/microturn $args
fi
echo "MT-END status=$?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
cp "$kernel" "$out/vmlinuz"
echo "virtual-board: $out/vmlinuz ($version) + $out/initrd.gz ($(du -h "$out/initrd.gz" | cut -f1)), modules: $(tr '\n' ' ' < "$root/modules/order")"
