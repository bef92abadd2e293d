#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Microturn: installs the Debian packages the build and the
# tests need, then builds the `microturn` binary in release mode (.build/release/microturn).
#   tools/setup.sh          packages + release build
#   tools/setup.sh --deps   packages only (what `swift test` needs)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libasound2-dev libspeexdsp-dev libespeak-ng-dev espeak-ng-data libpocketsphinx-dev pocketsphinx-en-us)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
installed=$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$installed" -eq "${#packages[@]}" ]; then
  echo "setup: Debian packages already installed: ${packages[*]}"
else
  echo "setup: installing ${packages[*]}"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

if ! command -v swift >/dev/null; then
  echo "setup: no 'swift' on PATH. Install Swift 6 (swift.org) and run this again." >&2
  exit 69
fi

if [ "${1:-}" = "--deps" ]; then exit 0; fi
echo "setup: building microturn (release)"
swift build -c release --product microturn
echo "setup: done: .build/release/microturn"
