#!/usr/bin/env bash
# Generates Sources/MicroturnLink/LinkSchema.pb.swift from link.proto. Run after changing the
# schema and commit both (no build needs protoc or the plugin). Needs Debian's protobuf-compiler
# and swift-protobuf's protoc-gen-swift, built here from the version Package.swift names.
set -euo pipefail
case "${1:-}" in
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  ?*) echo "gen-link-schema: takes no arguments ('$1')" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "gen-link-schema: install protobuf-compiler (apt-get install protobuf-compiler)" >&2; exit 69; }
version=$(sed -n 's/.*swift-protobuf", exact: "\([0-9.]*\)".*/\1/p' Package.swift)
plugin_dir=.build-protoc-gen-swift
if [ ! -x "$plugin_dir/release/protoc-gen-swift" ]; then
  rm -rf "$plugin_dir/src"
  git clone -q https://github.com/apple/swift-protobuf "$plugin_dir/src"
  git -C "$plugin_dir/src" checkout -q "$version"
  swift build -c release --product protoc-gen-swift --package-path "$plugin_dir/src" --scratch-path "$plugin_dir"
fi
tmp=$(mktemp -d)
protoc --plugin=protoc-gen-swift="$plugin_dir/release/protoc-gen-swift" --swift_opt=Visibility=Public \
  --swift_out="$tmp" -I Sources/MicroturnLink Sources/MicroturnLink/link.proto
mv "$tmp/link.pb.swift" Sources/MicroturnLink/LinkSchema.pb.swift
rmdir "$tmp"
echo "gen-link-schema: wrote Sources/MicroturnLink/LinkSchema.pb.swift (swift-protobuf $version)"
