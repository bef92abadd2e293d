#!/usr/bin/env bash
# Installs Microturn into a mounted root filesystem, as an integrator does before flashing an image.
#   tools/install-rootfs.sh --board NAME --root DIR [--binary PATH] [--server [--server-binary PATH]]
# Puts in DIR: /usr/bin/microturn (stripped), the board profiles, /etc/microturn/microturn.toml naming
# the board (an existing one is kept), microturn.service with a drop-in of the board's memory
# limits, the sysusers and tmpfiles snippets (applied to DIR's /etc/passwd and folders when
# systemd-sysusers and systemd-tmpfiles are here; otherwise the image's first boot applies them),
# and enables the unit. --server does the same for microturn-server. The binary's architecture must
# be the board's. The root filesystem must have the Debian packages the binary links (listed, and
# checked against DIR's dpkg database when it has one).
# Exit codes: 64 usage, 65 a binary or profile that does not fit, 66 something missing, 73 cannot write.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/stage.sh

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
board="" root="" binary=.build/release/microturn server=no server_binary=.build/release/microturn-server
while [ $# -gt 0 ]; do
  case "$1" in
    --board) board=${2:?--board needs a name}; shift 2 ;;
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --server) server=yes; shift ;;
    --server-binary) server_binary=${2:?--server-binary needs a path}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-rootfs: unknown option '$1'" >&2; usage >&2; exit 64 ;;
  esac
done
[ -n "$board" ] && [ -n "$root" ] || { echo "install-rootfs: --board and --root are required" >&2; usage >&2; exit 64; }
profile=boards/$board.toml
[ -f "$profile" ] || { echo "install-rootfs: no board profile '$board'; one of: $(ls boards | sed 's/\.toml$//' | paste -sd' ')" >&2; exit 66; }
[ -d "$root" ] || { echo "install-rootfs: $root is not a folder; mount the image's root filesystem there first" >&2; exit 66; }
[ -w "$root" ] || { echo "install-rootfs: cannot write to $root (run as root?)" >&2; exit 73; }
[ -x "$binary" ] || { echo "install-rootfs: no binary at $binary; build it (tools/setup.sh) or pass --binary" >&2; exit 66; }

# An x86 binary on an Arm board would only fail at the first boot.
want=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["board"]["architecture"])' "$profile")
case "$want" in aarch64) want=arm64 ;; x86_64) want=amd64 ;; esac
have=$(deb_architecture "$binary")
[ "$have" = "$want" ] || { echo "install-rootfs: $binary is built for $have, the $board board is $want; build for it (README: Arm boards)" >&2; exit 65; }

stage_device "$root" "$binary"
config="$root/etc/microturn/microturn.toml"
if grep -q '^# board_profile = ' "$config"; then
  sed -i "s|^# board_profile = .*|board_profile = \"$board\"|" "$config"
elif ! grep -q "^board_profile = \"$board\"" "$config"; then
  echo "install-rootfs: warning: kept $config, which does not name board_profile = \"$board\"" >&2
fi
stage_board_dropin "$root" "$profile"
units=(microturn.service)
if [ "$server" = yes ]; then
  stage_server "$root" "$server_binary"
  units+=(microturn-server.service)
fi

snippets=("$root/usr/lib/sysusers.d/microturn.conf")
[ "$server" = yes ] && snippets+=("$root/usr/lib/sysusers.d/microturn-server.conf")
if command -v systemd-sysusers >/dev/null; then
  for s in "${snippets[@]}"; do systemd-sysusers --root="$root" "$s"; done
  systemd-tmpfiles --root="$root" --create "$root/usr/lib/tmpfiles.d/microturn.conf" 2>/dev/null \
    || echo "install-rootfs: note: tmpfiles not applied now; the first boot makes the folders" >&2
else
  echo "install-rootfs: note: no systemd-sysusers here; the image's first boot creates the users" >&2
fi
for unit in "${units[@]}"; do
  if command -v systemctl >/dev/null; then
    systemctl --root="$root" enable "$unit" >/dev/null 2>&1 || { echo "install-rootfs: cannot enable $unit in $root" >&2; exit 73; }
  else
    install -d "$root/etc/systemd/system/multi-user.target.wants"
    ln -sf "/usr/lib/systemd/system/$unit" "$root/etc/systemd/system/multi-user.target.wants/$unit"
  fi
done

# What the root filesystem must also have: Debian's libraries and data the binary uses.
needs=$(deb_depends "$binary" espeak-ng-data pocketsphinx-en-us)
if [ -f "$root/var/lib/dpkg/status" ]; then
  missing=()
  for p in ${needs//,/ }; do
    grep -q "^Package: $p\$" "$root/var/lib/dpkg/status" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "install-rootfs: warning: $root lacks Debian packages microturn needs: ${missing[*]} (chroot $root apt-get install ${missing[*]})" >&2
  fi
else
  echo "install-rootfs: the image must have these Debian packages: $needs"
fi
echo "install-rootfs: installed microturn for $board into $root (units enabled: ${units[*]}; memory $(sed -n 's/^Memory//p' "$root/etc/systemd/system/microturn.service.d/board.conf" | paste -sd' '))"
