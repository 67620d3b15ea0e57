#!/usr/bin/env bash
# Builds the rule into a WebAssembly component:
#   ./build.sh [OUT.wasm]      (default: personnel_purpose_py.wasm here)
# Needs componentize-py on PATH: pip install -r requirements.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/personnel_purpose_py.wasm}")"
wit="$here/../../../wit/v2"
# componentize-py imports the rule with its own interpreter to snapshot it,
# and that interpreter writes __pycache__ beside the source whatever the
# environment says: build from a scratch copy so the checkout stays clean.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/rule.py" "$work/"
cd "$work"
componentize-py -q -d "$wit" -w plugin componentize rule -o "$out"
