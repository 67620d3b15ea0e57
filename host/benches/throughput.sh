#!/usr/bin/env bash
# Whole-run throughput and peak memory, measured with /usr/bin/time -v on
# logs from `covenant generate`, all in one run so the rows compare:
#   - serde-baseline: a plain one-thread serde_json parse of the v1 fields
#     into owned structs, no checks (host/examples/serde_baseline.rs): the
#     yardstick every target is a ratio to, in the last column;
#   - parse-only: `covenant validate`, which reads and checks the log as a
#     report does, with no rule: the practical limit;
#   - each built-in rule alone, with the default policy's configuration;
#   - the four foundation rules together (segregation, ai-training-consent,
#     advertising-ban, retention): the set issue #5's targets name;
#   - all ten rules (the default policy);
#   - all ten, and the four, over the same log shuffled, which a report
#     has to sort (`shuffled`, `four-shuffled`);
#   - validate, and the four, over the same events dealt round-robin into
#     4 files, each in time order and all overlapping, which a report
#     merges (`parse-only-4files`, `four-4files`).
# Each row runs REPEAT times (default 3), the rows alternating within each
# round so that a change in the machine's load falls on all of them; the
# table gives each row's median time and peak RSS. Prints a Markdown table.
# The native, no-wasm comparison of the rules' logic is the criterion bench
# beside this script (`--bench rules`).
#
#   host/benches/throughput.sh                  # 10^5 and 10^6 events
#   SIZES="100000 1000000 10000000" host/benches/throughput.sh
#   ROWS="parse-only four all" SIZES=10000000 host/benches/throughput.sh
#   SMOKE=1 host/benches/throughput.sh          # one tiny run of each row (debug build, for CI)
#
# Compiled plugins are cached (COVENANT_CACHE_DIR); the script warms the
# cache first, so start-up is not counted against the first row.
set -euo pipefail
cd "$(dirname "$0")/../.."

sizes="${SIZES:-100000 1000000}"
if [ -n "${SMOKE:-}" ]; then
    # A check that every row still runs, with the build the tests made.
    sizes=2000
    repeat=1
    cargo build --quiet -p covenant --bin covenant --example serde_baseline
    bin=target/debug/covenant
    baseline=target/debug/examples/serde_baseline
else
    repeat="${REPEAT:-3}"
    cargo build --release --quiet -p covenant --bin covenant --example serde_baseline
    bin=target/release/covenant
    baseline=target/release/examples/serde_baseline
fi
work=target/bench
mkdir -p "$work"

policy=policies/defender-for-cloud.toml
rules=$(grep -o 'plugin = "builtin:[a-z-]*"' "$policy" | sed 's/.*builtin:\(.*\)"/\1/')
four="segregation ai-training-consent advertising-ban retention"

# A policy holding the default policy's own entries for the rules named,
# with its [shared] table, which their configurations may name.
policy_of() {
    local title=$1; shift
    printf '[policy]\ntitle = "%s"\n' "$title"
    awk '/^\[shared\]/ { on = 1; print; next } /^\[/ { on = 0 } on' "$policy"
    for rule in "$@"; do
        awk -v rule="$rule" '
            /^\[\[(rule|coverage)\]\]/ { keep = 0 }
            /^\[\[rule\]\]/ { block = $0 "\n"; inrule = 1; next }
            /^\[\[coverage\]\]/ { inrule = 0 }
            inrule && /^plugin = / { keep = ($0 ~ "builtin:" rule "\"") }
            inrule { block = block $0 "\n"; if (keep) { printf "%s", block; block = "" } }
        ' "$policy"
    done
}
for rule in $rules; do policy_of "$rule alone" "$rule" > "$work/$rule.toml"; done
# shellcheck disable=SC2086
policy_of "the four foundation rules" $four > "$work/four.toml"

rows="${ROWS:-serde-baseline parse-only parse-only-4files $rules four four-4files four-shuffled all shuffled}"

# The median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A seconds_of rss_of sizes_bytes
warmed=
for n in $sizes; do
    log="$work/generated-$n.jsonl"
    [ -s "$log" ] || "$bin" generate --events "$n" --tenants 1000 --seed 1 --violation-rate 0.001 -o "$log" 2>/dev/null
    bytes=$(stat -c %s "$log")
    if [ -z "$warmed" ]; then
        head -n 1000 "$log" > "$work/warm.jsonl"
        "$bin" report --quiet -o "$work/out.json" "$work/warm.jsonl" >/dev/null 2>&1 || true
        warmed=1
    fi
    for round in $(seq "$repeat"); do
        for row in $rows; do
            case $row in
                serde-baseline) cmd=("$baseline" "$log") ;;
                parse-only) cmd=("$bin" validate "$log") ;;
                parse-only-4files | four-4files)
                    parts="$work/parts-$n"
                    if [ ! -s "$parts/part-3.jsonl" ]; then
                        mkdir -p "$parts"
                        for k in 0 1 2 3; do awk -v k="$k" 'NR % 4 == k' "$log" > "$parts/part-$k.jsonl"; done
                    fi
                    if [ "$row" = parse-only-4files ]; then
                        cmd=("$bin" validate "$parts")
                    else
                        cmd=("$bin" report --quiet --policy "$work/four.toml" -o "$work/out.json" "$parts")
                    fi ;;
                all) cmd=("$bin" report --quiet -o "$work/out.json" "$log") ;;
                shuffled | four-shuffled)
                    shuffled="$work/shuffled-$n.jsonl"
                    [ -s "$shuffled" ] || shuf --random-source=<(yes) "$log" > "$shuffled"
                    policy_flag=()
                    [ "$row" = shuffled ] || policy_flag=(--policy "$work/four.toml")
                    cmd=("$bin" report --quiet "${policy_flag[@]}" -o "$work/out.json" "$shuffled") ;;
                *) cmd=("$bin" report --quiet --policy "$work/$row.toml" -o "$work/out.json" "$log") ;;
            esac
            # 1 only means there were findings; 2 or 3 means the run failed.
            status=0
            /usr/bin/time -v "${cmd[@]}" > /dev/null 2> "$work/time.txt" || status=$?
            if [ "$status" -gt 1 ]; then
                cat "$work/time.txt" >&2
                echo "throughput.sh: $row on $n events failed (exit $status)" >&2
                exit 1
            fi
            wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
            rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
            seconds=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
            seconds_of[$n $row]+="$seconds "
            rss_of[$n $row]+="$rss_kb "
        done
    done
    sizes_bytes[$n]=$bytes
done

echo "| events | run | seconds | events/s | MB/s | peak RSS (MB) | × baseline |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for n in $sizes; do
    # shellcheck disable=SC2086
    base=$(median ${seconds_of[$n serde-baseline]:-0})
    for row in $rows; do
        # shellcheck disable=SC2086
        s=$(median ${seconds_of[$n $row]})
        # shellcheck disable=SC2086
        r=$(median ${rss_of[$n $row]})
        awk -v n="$n" -v p="$row" -v s="$s" -v b="${sizes_bytes[$n]}" -v r="$r" -v base="$base" 'BEGIN {
            if (s == 0) s = 0.01
            ratio = (base > 0) ? sprintf("%.2f", s / base) : "n/a"
            printf "| %d | %s | %.2f | %.0f | %.1f | %.0f | %s |\n", n, p, s, n / s, b / s / 1e6, r / 1024, ratio }'
    done
done
