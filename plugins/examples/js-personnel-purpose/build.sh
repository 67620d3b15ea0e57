#!/usr/bin/env bash
# Builds the rule into a WebAssembly component:
#   ./build.sh [OUT.wasm]      (default: personnel_purpose_js.wasm here)
# Needs the pinned tools: npm ci (then `npm run build` runs this).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath -m "${1:-$here/personnel_purpose_js.wasm}")"
bin="$here/node_modules/.bin"
# componentize-js takes a single module, so the rule and the frame decoder
# it imports are bundled into one first.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/rolldown" "$here/rule.js" --format esm --file "$work/rule.js" --log-level warn
cd "$work"
"$bin/jco" componentize rule.js --wit "$here/../../../wit/v3" --world-name plugin \
  --disable http fetch-event -o "$out"
