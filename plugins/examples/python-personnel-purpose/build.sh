#!/usr/bin/env bash
# Builds the rule into a WebAssembly component:
#   ./build.sh [OUT.wasm]      (default: personnel_purpose_py.wasm here)
# Needs componentize-py on PATH: pip install -r requirements.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/personnel_purpose_py.wasm}")"
v3="$here/../../../wit/v3"
# componentize-py imports the rule with its own interpreter to snapshot it,
# and that interpreter writes __pycache__ beside the source whatever the
# environment says: build from a scratch copy so the checkout stays clean,
# with the repository's frame decoder beside the rule.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/rule.py" "$v3/decoders/covenant_frame.py" "$work/"
cd "$work"
componentize-py -q -d "$v3" -w plugin componentize rule -o "$out"
