#!/usr/bin/env bash
# Whole-run throughput and peak memory of `covenant report`, measured with
# /usr/bin/time -v on logs from `covenant generate`, all in one run so the
# rows compare: each built-in rule alone, and every rule together (the
# default policy). Prints a Markdown table. Parse-only throughput (no rule:
# a policy must have one) is the criterion bench beside this script:
# `cargo bench -p covenant --bench read`.
#
#   host/benches/throughput.sh                  # 10^5 and 10^6 events
#   SIZES="100000 1000000 10000000" host/benches/throughput.sh
#   SMOKE=1 host/benches/throughput.sh          # one tiny run of each row
set -euo pipefail
cd "$(dirname "$0")/../.."

sizes="${SIZES:-100000 1000000}"
if [ -n "${SMOKE:-}" ]; then sizes=2000; fi
cargo build --release --quiet -p covenant
bin=target/release/covenant
work=target/bench
mkdir -p "$work"

rules=$(grep -o 'plugin = "builtin:[a-z-]*"' policies/defender-for-cloud.toml | sed 's/.*builtin:\(.*\)"/\1/')
for rule in $rules; do
    # The default policy's own entry for the rule, with its configuration.
    awk -v rule="$rule" '
        /^\[\[rule\]\]/ { keep = 0 }
        /^\[\[coverage\]\]/ { keep = 0 }
        /^\[\[rule\]\]/ { block = $0 "\n"; inrule = 1; next }
        inrule && /^plugin = / { keep = ($0 ~ "builtin:" rule "\"") }
        inrule { block = block $0 "\n"; if (keep) { printf "%s", block; block = "" } }
    ' policies/defender-for-cloud.toml > "$work/$rule.body"
    { printf '[policy]\ntitle = "%s alone"\n' "$rule"; cat "$work/$rule.body"; } > "$work/$rule.toml"
done

echo "| events | rules | seconds | events/s | MB/s | peak RSS (MB) |"
echo "|---:|---|---:|---:|---:|---:|"
for n in $sizes; do
    log="$work/generated-$n.jsonl"
    [ -s "$log" ] || "$bin" generate --events "$n" --tenants 1000 --seed 1 --violation-rate 0.001 -o "$log" 2>/dev/null
    bytes=$(stat -c %s "$log")
    for policy in $rules all; do
        args=(--policy "$work/$policy.toml")
        [ "$policy" = all ] && args=()
        /usr/bin/time -v "$bin" report --quiet "${args[@]}" -o "$work/out.json" "$log" 2> "$work/time.txt" || true
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
        rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        seconds=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
        awk -v n="$n" -v p="$policy" -v s="$seconds" -v b="$bytes" -v r="$rss_kb" 'BEGIN {
            printf "| %d | %s | %.2f | %.0f | %.1f | %.0f |\n", n, p, s, n / s, b / s / 1e6, r / 1024 }'
    done
done
