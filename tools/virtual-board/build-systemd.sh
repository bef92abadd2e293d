#!/usr/bin/env bash
# Builds the virtual board with systemd: a Debian 12 root filesystem (debootstrap: minbase, systemd,
# and the Debian packages microturn links), microturn's .deb installed into it with dpkg, the
# kernel's vivid and snd-aloop modules, and a check unit; booted by tools/virtual-board/run-systemd.sh
# from Debian's kernel in QEMU with systemd as PID 1.
#   tools/virtual-board/build-systemd.sh DEB      (writes .build-board/systemd.img and initrd-root.gz)
# The root filesystem is made once (about a minute; DEBIAN_MIRROR picks the mirror) and kept in
# .build-board/systemd-root; each build installs the .deb afresh into a copy.
# Needs debootstrap, e2fsprogs, busybox-static, cpio, kmod, linux-image-amd64, espeak-ng (setup --tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=${1:?usage: tools/virtual-board/build-systemd.sh MICROTURN.deb}
[ -f "$deb" ] || { echo "virtual-board: no package $deb; make it with tools/package-deb.sh" >&2; exit 66; }
out=.build-board
base=$out/systemd-root
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
for tool in debootstrap mkfs.ext4 busybox cpio modprobe espeak-ng; do
  command -v "$tool" >/dev/null || [ -x "/bin/$tool" ] || { echo "virtual-board: no $tool; run tools/setup.sh --tests" >&2; exit 69; }
done
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "virtual-board: no kernel in /boot; run tools/setup.sh --tests (linux-image-amd64)" >&2; exit 69; }
version=${kernel#/boot/vmlinuz-}
mkdir -p "$out"

if [ ! -x "$base/usr/lib/systemd/systemd" ]; then
  echo "virtual-board: debootstrap bookworm from $mirror into $base"
  rm -rf "$base.partial"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,udev,kmod,init-system-helpers,alsa-utils,libasound2,libspeexdsp1,libespeak-ng1,espeak-ng-data,libpocketsphinx3,pocketsphinx-en-us,libopus0,libv4l-0,libsqlite3-0 \
    bookworm "$base.partial" "$mirror" > "$out/debootstrap.log" 2>&1 \
    || { echo "virtual-board: debootstrap failed; its log: $out/debootstrap.log" >&2; tail -5 "$out/debootstrap.log" >&2; exit 69; }
  mv "$base.partial" "$base"
fi
root=$out/systemd-build
rm -rf "$root"
cp -a "$base" "$root"

# The kernel's modules the board needs, loaded at boot by systemd-modules-load.
for m in vivid snd-aloop; do
  for ko in $(modprobe -S "$version" --show-depends "$m" | awk '/^insmod/ {print $2}'); do
    mkdir -p "$root$(dirname "$ko")"
    cp "$ko" "$root$ko"
  done
done
cp /lib/modules/"$version"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$version/"
depmod -b "$root" "$version"
printf 'snd-aloop\nvivid\n' > "$root/etc/modules-load.d/microturn-board.conf"

# The package, as an integrator installs it (its scripts make the user and enable the unit).
cp "$deb" "$root/tmp/microturn.deb"
chroot "$root" dpkg -i /tmp/microturn.deb > "$out/dpkg.log" 2>&1 || { echo "virtual-board: dpkg -i failed:" >&2; cat "$out/dpkg.log" >&2; exit 65; }
rm "$root/tmp/microturn.deb"
# The device listens on the loopback's substream 1 (where board-check.sh plays the user's voice) and
# speaks into substream 0; diag uses the profile's own pair (0 -> 1 on substream 0), a loop.
cat > "$root/etc/microturn/microturn.toml" <<TOML
board_profile = "qemu-virt"

[audio]
capture_device = "hw:CARD=Loopback,DEV=1,SUBDEV=1"
playback_device = "hw:CARD=Loopback,DEV=0,SUBDEV=0"
TOML
printf 'board_profile = "qemu-virt"\n' > "$root/etc/microturn/diag.toml"

mkdir -p "$root/opt/board-check"
install -m 0755 tools/virtual-board/systemd/board-check.sh "$root/opt/board-check/"
install -m 0644 tools/virtual-board/systemd/board-check.service "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/board-check.service "$root/etc/systemd/system/multi-user.target.wants/board-check.service"
espeak-ng -v en-us -s 150 -w "$root/opt/board-check/request.wav" "what time is it"
echo "microturn-board" > "$root/etc/hostname"
# No login prompt on the console the check writes to.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"

rm -f "$out/systemd.img"
mkfs.ext4 -q -F -L root -d "$root" "$out/systemd.img" 1500M
rm -rf "$root"

# A small initramfs that loads virtio and ext4, mounts the disk and hands over to systemd.
init=$out/initrd-root
rm -rf "$init"
mkdir -p "$init"/{bin,proc,sys,dev,newroot,modules}
cp /bin/busybox "$init/bin/busybox"
for app in sh mount insmod switch_root sleep cat echo; do ln -sf busybox "$init/bin/$app"; done
: > "$init/modules/order"
for m in virtio_pci virtio_blk ext4; do
  for ko in $(modprobe -S "$version" --show-depends "$m" | awk '/^insmod/ {print $2}'); do
    name=$(basename "$ko")
    grep -qx "$name" "$init/modules/order" || { cp "$ko" "$init/modules/$name"; echo "$name" >> "$init/modules/order"; }
  done
done
cat > "$init/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod /modules/$m || echo "MT-MODULE-FAILED $m"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /newroot || { echo "MT-NO-ROOT"; exec sh; }
umount /proc /sys
exec switch_root /newroot /usr/lib/systemd/systemd
INIT
chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd-root.gz"
rm -rf "$init"
cp "$kernel" "$out/vmlinuz"
echo "virtual-board: $out/systemd.img ($(du -h "$out/systemd.img" | cut -f1) used) with $(basename "$deb"), $out/initrd-root.gz, kernel $version"
