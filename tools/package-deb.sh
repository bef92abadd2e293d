#!/usr/bin/env bash
# Builds Microturn's Debian packages with dpkg-deb: microturn (the device) and microturn-server.
#   tools/package-deb.sh [--bin-dir DIR] [--out DIR] [--version V] [--only microturn|microturn-server] [--no-model]
# --bin-dir holds the binaries (default .build/release, as tools/setup.sh builds them: Swift's runtime
# linked statically); they are stripped into the package. Each package installs its unit, sysusers
# (and tmpfiles) snippet and config (a conffile), creates its user, and enables its unit; the device
# starts at once where systemd runs, the server once its CA exists (see /etc/microturn-server/server.toml).
# The server's package carries the built-in model when tools/fetch-model.sh fetched it (--no-model: not).
# Depends are the Debian packages that hold the libraries the binary links.
# Exit codes: 64 usage, 66 a binary missing, 73 cannot write.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/stage.sh

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
bin_dir=.build/release out=out/deb version="" only="" with_model=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=${2:?--bin-dir needs a folder}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --version) version=${2:?--version needs a version}; shift 2 ;;
    --only) only=${2:?--only needs a package name}; shift 2 ;;
    --no-model) with_model=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "package-deb: unknown option '$1'" >&2; usage >&2; exit 64 ;;
  esac
done
case "$only" in ""|microturn|microturn-server) ;; *) echo "package-deb: --only takes microturn or microturn-server" >&2; exit 64 ;; esac
if [ -z "$version" ]; then
  # MicroturnVersion.string, plus the commit it was built from.
  version="$(sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/MicroturnCore/Version.swift)+g$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
mkdir -p "$out" || exit 73
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# DEBIAN/ of a package: control, and the maintainer scripts that create the user, enable the unit,
# start it where systemd runs (START_IF: a shell condition), and undo it on removal.
control_files() {  # ROOT PACKAGE BINARY DESCRIPTION DEPENDS UNIT SNIPPET START_IF
  local root=$1 package=$2 binary=$3 description=$4 depends=$5 unit=$6 snippet=$7 start_if=$8
  install -d "$root/DEBIAN"
  cat > "$root/DEBIAN/control" <<CONTROL
Package: $package
Version: $version
Architecture: $(deb_architecture "$binary")
Maintainer: Microturn developers <dev@microturn.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, systemd
Section: sound
Priority: optional
Description: $description
CONTROL
  find "$root/etc" -type f | sed "s|^$root||" > "$root/DEBIAN/conffiles"
  cat > "$root/DEBIAN/postinst" <<SCRIPT
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
  systemd-sysusers /usr/lib/sysusers.d/$snippet.conf
  if [ -f /usr/lib/tmpfiles.d/$snippet.conf ]; then systemd-tmpfiles --create /usr/lib/tmpfiles.d/$snippet.conf || true; fi
  deb-systemd-helper enable $unit >/dev/null || true
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if $start_if; then deb-systemd-invoke restart $unit; else echo "$package: $unit enabled, not started: see /etc/$package"; fi
  fi
fi
SCRIPT
  cat > "$root/DEBIAN/prerm" <<SCRIPT
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then deb-systemd-invoke stop $unit || true; fi
SCRIPT
  cat > "$root/DEBIAN/postrm" <<SCRIPT
#!/bin/sh
set -e
if [ "\$1" = remove ] || [ "\$1" = purge ]; then
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  deb-systemd-helper disable $unit >/dev/null 2>&1 || true
fi
if [ "\$1" = purge ]; then
  deb-systemd-helper purge $unit >/dev/null 2>&1 || true
  rm -rf /var/lib/$package
fi
SCRIPT
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
}

build() {  # ROOT PACKAGE BINARY
  local file
  file="$out/${2}_${version}_$(deb_architecture "$3").deb"
  dpkg-deb --root-owner-group -Zgzip --build "$1" "$file" >/dev/null
  echo "package-deb: $file ($(du -h "$file" | cut -f1))"
}

if [ -z "$only" ] || [ "$only" = microturn ]; then
  root="$work/microturn"
  stage_device "$root" "$bin_dir/microturn"
  control_files "$root" microturn "$bin_dir/microturn" \
    "full-duplex interaction runtime for embedded Linux boards
 Listens, speaks and takes turns in 200 ms micro-turns, with echo cancellation, local commands
 and repetition counting; a background server (microturn-server) answers over a secure link." \
    "$(deb_depends "$bin_dir/microturn" espeak-ng-data pocketsphinx-en-us)" microturn.service microturn true
  build "$root" microturn "$bin_dir/microturn"
fi
if [ -z "$only" ] || [ "$only" = microturn-server ]; then
  root="$work/microturn-server"
  stage_server "$root" "$bin_dir/microturn-server"
  control_files "$root" microturn-server "$bin_dir/microturn-server" \
    "background server for Microturn devices
 Transcribes, reasons with tools and speaks for a fleet of Microturn devices over a TLS 1.3 link
 with mutual authentication." \
    "$(deb_depends "$bin_dir/microturn-server" espeak-ng-data pocketsphinx-en-us)" microturn-server.service microturn-server \
    "[ -f /etc/microturn-server/ca/server.pem ]"
  build "$root" microturn-server "$bin_dir/microturn-server"
fi
