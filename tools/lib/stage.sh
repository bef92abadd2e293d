# Sourced by tools/package-deb.sh and tools/install-rootfs.sh: the one place that says where each
# of Microturn's files goes in a root filesystem. Run from the repository's top folder.

# The binary, stripped, as ROOT/usr/bin/NAME (the build keeps its unstripped one for debugging).
stage_binary() {  # ROOT BINARY NAME
  local root=$1 binary=$2 name=$3
  [ -x "$binary" ] || { echo "$(basename "$0"): no binary at $binary; build it first (tools/setup.sh, or swift build -c release --static-swift-stdlib)" >&2; exit 66; }
  install -d "$root/usr/bin"
  install -m 0755 "$binary" "$root/usr/bin/$name"
  strip --strip-unneeded "$root/usr/bin/$name" 2>/dev/null \
    || echo "$(basename "$0"): warning: could not strip $name (no strip for its architecture?); installed as built" >&2
}

# The device: binary, board profiles, unit, sysusers and tmpfiles snippets, docs, config template.
stage_device() {  # ROOT BINARY
  local root=$1
  stage_binary "$root" "$2" microturn
  install -d "$root/usr/share/microturn/boards" "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" \
             "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/microturn" "$root/etc/microturn"
  install -m 0644 boards/*.toml "$root/usr/share/microturn/boards/"
  install -m 0644 systemd/microturn.service "$root/usr/lib/systemd/system/microturn.service"
  install -m 0644 systemd/microturn.sysusers "$root/usr/lib/sysusers.d/microturn.conf"
  install -m 0644 systemd/microturn.tmpfiles "$root/usr/lib/tmpfiles.d/microturn.conf"
  install -m 0644 README.md "$root/usr/share/doc/microturn/README.md"
  # An integrator's own config is never overwritten.
  [ -e "$root/etc/microturn/microturn.toml" ] || install -m 0644 systemd/microturn.toml "$root/etc/microturn/microturn.toml"
}

# The server: binary, unit, sysusers snippet, docs, config, and the built-in model when fetched.
stage_server() {  # ROOT BINARY
  local root=$1
  stage_binary "$root" "$2" microturn-server
  install -d "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/share/doc/microturn-server" \
             "$root/etc/microturn-server" "$root/usr/share/microturn-server/models"
  install -m 0644 systemd/microturn-server.service "$root/usr/lib/systemd/system/microturn-server.service"
  install -m 0644 systemd/microturn-server.sysusers "$root/usr/lib/sysusers.d/microturn-server.conf"
  install -m 0644 README.md "$root/usr/share/doc/microturn-server/README.md"
  [ -e "$root/etc/microturn-server/server.toml" ] || install -m 0644 systemd/server.toml "$root/etc/microturn-server/server.toml"
  if [ "${with_model:-yes}" = yes ] && [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
    install -m 0644 models/SmolLM2-135M-Instruct.Q4_1.gguf "$root/usr/share/microturn-server/models/"
  fi
}

# The board's memory limits for the device's unit, as a drop-in (from the profile's board.memory_*).
stage_board_dropin() {  # ROOT BOARD_TOML
  local root=$1 profile=$2 limits
  limits=$(python3 -c '
import sys, tomllib
b = tomllib.load(open(sys.argv[1], "rb")).get("board", {})
high, top = b.get("memory_high_mb", 0), b.get("memory_max_mb", 0)
print("MemoryHigh=%s" % (f"{high}M" if high else "infinity"))
print("MemoryMax=%s" % (f"{top}M" if top else "infinity"))
' "$profile") || { echo "$(basename "$0"): cannot read $profile" >&2; exit 65; }
  install -d "$root/etc/systemd/system/microturn.service.d"
  printf '# From the board profile %s (board.memory_high_mb, board.memory_max_mb).\n[Service]\n%s\n' \
    "$(basename "$profile")" "$limits" > "$root/etc/systemd/system/microturn.service.d/board.conf"
}

# Debian's architecture name for an ELF binary.
deb_architecture() {  # BINARY
  case "$(readelf -h "$1" 2>/dev/null | sed -n 's/^ *Machine: *//p')" in
    *X86-64*) echo amd64 ;;
    *AArch64*) echo arm64 ;;
    *ARM*) echo armhf ;;
    *) echo "$(basename "$0"): cannot tell the architecture of $1" >&2; exit 65 ;;
  esac
}

# The Debian packages that hold the shared libraries BINARY needs (its NEEDED entries, looked up
# with dpkg -S on this machine; names are the same on every architecture), plus the data packages
# it opens at run time. A library no package holds (Swift's runtime, when the build did not link it
# statically) is named on stderr.
deb_depends() {  # BINARY EXTRA_PACKAGES...
  local binary=$1; shift
  local lib pkg packages=("$@")
  for lib in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    pkg=$(dpkg -S "*/$lib" 2>/dev/null | grep -v -- '-cross' | head -1 | cut -d: -f1 || true)
    if [ -z "$pkg" ]; then
      echo "$(basename "$0"): warning: $lib is in no Debian package here; a board without it cannot run $(basename "$binary") (build with --static-swift-stdlib)" >&2
      continue
    fi
    packages+=("$pkg")
  done
  printf '%s\n' "${packages[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}
