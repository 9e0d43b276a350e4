#!/usr/bin/env bash
# End-to-end check of traversion_nezha_eval on a tiny corpus made here in the
# corpus's layout and formats: one fault-free period and one labelled fault
# (svc-b starts throwing). It checks that the tool runs, finds the files and
# the window, skips a corrupt row with file:line, and prints every summary
# key — not how well the engine ranks (that is the real corpus's job).
#
#   bash benchmarks/rca/nezha_smoke.sh <traversion_nezha_eval> [scratch-dir]
set -euo pipefail
tool="$1"
scratch="${2:-$(mktemp -d)}"
mkdir -p "$scratch"
rm -rf "$scratch/corpus"
day=2023-01-01
corpus="$scratch/corpus"
construct="$corpus/construct_data/$day"
rca="$corpus/rca_data/$day"
mkdir -p "$construct"/{trace,log,metric} "$rca"/{trace,log,metric}

fail() { echo "nezha_smoke: FAIL: $*" >&2; exit 1; }

base=1672531200  # 2023-01-01 00:00:00 UTC
gw=ts-gw-service-6f6cfc45b-h5m2n
a=ts-a-service-866bd68c97-xcqfx
b=ts-b-service-5dc8d4f9fd-46997

# Spans and logs, one trace every 2 s over [from, to) seconds after $base;
# with `faulty`, svc-b logs an exception in every trace.
traffic() {
  local from=$1 to=$2 faulty=$3 trace_file=$4 log_file=$5 s n tid
  echo "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration" >"$trace_file"
  echo "Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log" >"$log_file"
  for ((s = from; s < to; s += 2)); do
    n=$((base + s))
    tid=$(printf '%032x' "$n")
    printf '%s,%016x,root,%s,/api,%d000000000,%d030000000,30000\n' \
      "$tid" $((s * 4 + 1)) "$gw" "$n" "$n" >>"$trace_file"
    printf '%s,%016x,%016x,%s,GET /a,%d001000000,%d028000000,27000\n' \
      "$tid" $((s * 4 + 2)) $((s * 4 + 1)) "$a" "$n" "$n" >>"$trace_file"
    printf '%s,%016x,%016x,%s,GET /b,%d002000000,%d020000000,18000\n' \
      "$tid" $((s * 4 + 3)) $((s * 4 + 2)) "$b" "$n" "$n" >>"$trace_file"
    if [[ "$faulty" == yes ]]; then
      printf '2023-01-01T00:00:00Z,%d010000000,10.0.0.1,%s,server,%s,%016x,"{""log"":""08:00:00.000 ERROR  b.s.BServiceImpl#42 TraceID: %s SpanID: %016x [query][failed: java.lang.RuntimeException: injected]\\n"",""stream"":""stdout""}"\n' \
        "$n" "$b" "$tid" $((s * 4 + 3)) "$tid" $((s * 4 + 3)) >>"$log_file"
    else
      printf '2023-01-01T00:00:00Z,%d010000000,10.0.0.1,%s,server,%s,%016x,"{""log"":""08:00:00.000 INFO  b.s.BServiceImpl#40 TraceID: %s SpanID: %016x [query][ok]\\n"",""stream"":""stdout""}"\n' \
        "$n" "$b" "$tid" $((s * 4 + 3)) "$tid" $((s * 4 + 3)) >>"$log_file"
    fi
  done
}

traffic 600 780 no "$construct/trace/00_13_trace.csv" "$construct/log/00_13_log.csv"
# The fault at 00:20:00 (1200 s): a healthy minute before, two faulty after.
traffic 1140 1200 no "$rca/trace/00_20_trace.csv" "$rca/log/00_20_log.csv"
traffic 1200 1260 yes "$rca/trace/00_21_trace.csv" "$rca/log/00_21_log.csv"
traffic 1260 1320 yes "$rca/trace/00_22_trace.csv" "$rca/log/00_22_log.csv"
# A corrupt row, as the real corpus has: text glued after a closing quote.
echo '2023-01-01T00:21:00Z,1672532460000000000,10.0.0.1,'"$b"',server,,,"{""log"":""x""}"junk' \
  >>"$rca/log/00_21_log.csv"

# Per-pod metrics, one row a minute over the first half hour.
for pod in "$gw" "$a" "$b"; do
  for dir in "$construct/metric" "$rca/metric"; do
    f="$dir/${pod}_metric.csv"
    echo "Time,TimeStamp,PodName,CpuUsageRate(%),MemoryUsage(Mi),PodWorkload(Ops)" >"$f"
    for ((m = 0; m < 30; m++)); do
      printf 'x,%d,%s,%d.5,400,NaN\n' $((base + m * 60 + 10)) "$pod" $((3 + m % 2)) >>"$f"
    done
  done
done
cat >"$rca/$day-fault_list.json" <<'EOF'
{"00": [{"inject_time": "2023-01-01 00:20:00", "inject_timestamp": "0",
         "inject_pod": "ts-b-service-5dc8d4f9fd-46997",
         "inject_type": "exception"}]}
EOF

out="$scratch/out.txt"
status=0
"$tool" "$corpus" "$day" --tmp-dir "$scratch" >"$out" 2>&1 || status=$?
cat "$out"
[[ $status -eq 0 ]] || fail "exit status $status"
grep -q "^1 .* exception .* ts-b-service " "$out" || fail "no line for case 1"
grep -q "00_21_log.csv:$(( $(wc -l <"$rca/log/00_21_log.csv") )): unexpected character after a closing quote" "$out" ||
  fail "the corrupt row is not reported with file:line"
for key in rca.cases rca.ac1 rca.ac3 rca.ac5 rca.seconds_per_case; do
  grep -Eq "^$key: [0-9]+(\.[0-9]+)?$" "$out" || fail "no '$key' line"
done
grep -q "^rca.cases: 1$" "$out" || fail "rca.cases is not 1"
# Nothing is left behind in the scratch directory but the corpus and output.
leftover=$(find "$scratch" -maxdepth 1 -name 'nezha-eval-*' | wc -l)
[[ $leftover -eq 0 ]] || fail "the per-case stores were not removed"
# Usage errors.
status=0
"$tool" "$corpus" "$day" --case 2 >/dev/null 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "--case 2 of 1 exited $status, not 2"
status=0
"$tool" "$corpus" >/dev/null 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "a missing <day> exited $status, not 2"
echo "nezha_smoke: OK"
