#!/usr/bin/env bash
# Builds the rule into a WebAssembly component: bash build.sh [OUT.wasm]
# (default: {{id}}.wasm here). Needs componentize-py: pip install -r requirements.txt
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/{{id}}.wasm}")"
# componentize-py imports the rule with its own interpreter, which leaves
# __pycache__ beside the source: build from a scratch copy instead.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/rule.py" "$here/covenant_frame.py" "$work/"
cd "$work"
componentize-py -q -d "$here/wit" -w plugin componentize rule -o "$out"
