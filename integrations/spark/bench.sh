#!/usr/bin/env bash
# The Spark job in local mode against one `covenant report` over the same
# generated log, in alternating rounds (BENCHMARKS.md, "The Spark job").
# Prints each run's seconds, then a Markdown table of the medians.
#
#   EVENTS   events in the generated log (default 1000000)
#   SHARDS   the job's --shards (default 4)
#   MASTER   the job's --master (default local[2]: this machine's two cores)
#   ROUNDS   alternating rounds of the two runs (default 3)
#   COVENANT the binary (default target/release/covenant; build it first)
set -euo pipefail
cd "$(dirname "$0")/../.."

EVENTS=${EVENTS:-1000000}
SHARDS=${SHARDS:-4}
MASTER=${MASTER:-local[2]}
ROUNDS=${ROUNDS:-3}
COVENANT=${COVENANT:-target/release/covenant}

work=target/bench/spark
mkdir -p "$work"
log="$work/generated-$EVENTS.jsonl"
[ -f "$log" ] || "$COVENANT" generate --events "$EVENTS" -o "$log"

# Seconds of wall time of a run that exits 0 or 1 (a report with findings).
seconds_of() {
    local start end rc=0
    start=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/stderr" || rc=$?
    end=$(date +%s.%N)
    if [ "$rc" -gt 1 ]; then
        cat "$work/stderr" >&2
        echo "bench.sh: $1 exited $rc" >&2
        exit "$rc"
    fi
    echo "$end - $start" | bc
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

report_runs=() spark_runs=()
for round in $(seq "$ROUNDS"); do
    s=$(seconds_of "$COVENANT" report --quiet -o "$work/single.json" "$log")
    echo "round $round: covenant report $s s"
    report_runs+=("$s")
    s=$(seconds_of python3 integrations/spark/covenant_spark.py --master "$MASTER" \
        --shards "$SHARDS" --covenant "$COVENANT" -o "$work/merged.json" "$log")
    echo "round $round: spark job $s s"
    spark_runs+=("$s")
done

# The two must agree, or the timing means nothing.
python3 - "$work/single.json" "$work/merged.json" <<'EOF'
import json, sys
single, merged = (json.load(open(path)) for path in sys.argv[1:])
findings = lambda report: sorted((r["id"], len(r["findings"])) for r in report["rules"])
if findings(single) != findings(merged):
    sys.exit(f"bench.sh: the job's findings differ from one run's: {findings(merged)} against {findings(single)}")
EOF

report=$(median "${report_runs[@]}")
spark=$(median "${spark_runs[@]}")
echo
echo "| run ($EVENTS events, $ROUNDS rounds, medians) | seconds | events/s | × one report's time |"
echo "|---|---:|---:|---:|"
printf '| one `covenant report` | %.2f | %.0f | 1.00 |\n' "$report" "$(echo "$EVENTS / $report" | bc -l)"
printf '| Spark job, `%s`, %s shards | %.2f | %.0f | %.2f |\n' "$MASTER" "$SHARDS" "$spark" \
    "$(echo "$EVENTS / $spark" | bc -l)" "$(echo "$spark / $report" | bc -l)"
