#!/usr/bin/env bash
# End to end: demo -> stats -> export -> import -> export is lossless and
# idempotent; demo is deterministic for a seed; events and export filter.
# Usage: cli_roundtrip.sh <traversion binary> <source dir> <build dir>
set -euo pipefail

cli=${1:?usage: cli_roundtrip.sh <traversion> <source dir> <build dir>}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/traversion-cli-roundtrip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# run CODE CMD...: runs CMD, keeps its output in $tmp/out and $tmp/err, and
# fails unless it exits with CODE.
run() {
  local want=$1
  shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [[ $got -ne $want ]]; then
    echo "--- stdout" >&2
    head -c 4000 "$tmp/out" >&2
    echo "--- stderr" >&2
    head -c 4000 "$tmp/err" >&2
    fail "'$*' exited $got, expected $want"
  fi
}
contains() {  # contains FILE TEXT
  grep -qF -- "$2" "$1" || {
    head -c 4000 "$1" >&2
    fail "$(basename "$1") lacks '$2'"
  }
}
# The value of a line "events   12,345" of `stats`, without separators.
event_count() {
  run 0 "$cli" stats "$1"
  awk '/^events / { gsub(",", "", $2); print $2 }' "$tmp/out"
}

end=2024-01-15T15:50:00Z

echo "== demo: the postmortem of the default incident"
run 0 "$cli" demo --store "$tmp/demo" --events 4000 --seed 3 --end "$end"
cp "$tmp/out" "$tmp/demo.txt"
for text in "Recorded" "pool_exhaustion in the shop topology, seed 3" \
  "Events by service and type" "Postmortem" "CHANGES BETWEEN" \
  "config/payments-service" "db.pool.max_size" "PoolTimeoutException" \
  "STATE AT" "ROOT CAUSE OF WINDOW" "MATCH PATTERN pool_exhaustion" \
  "the ground truth" "fault       pool_exhaustion in payments-service" \
  "cache/inventory-node-3" "traversion events $tmp/demo --type error"; do
  contains "$tmp/demo.txt" "$text"
done
echo "== demo: every statement it prints runs as printed"
grep -F '  $ traversion query ' "$tmp/demo.txt" |
  sed 's/^  \$ traversion query [^ ]* "\(.*\)"$/\1/' >"$tmp/statements"
[[ $(wc -l <"$tmp/statements") -ge 6 ]] ||
  fail "the demo printed $(wc -l <"$tmp/statements") statements"
while IFS= read -r statement; do
  run 0 "$cli" query "$tmp/demo" "$statement"
  [[ -s "$tmp/out" ]] || fail "no rows for: $statement"
done <"$tmp/statements"
echo "== demo: another fault on a generated call graph"
run 0 "$cli" demo --store "$tmp/demo-layered" --fault retry_storm \
  --topology layered --services 8 --seed 7 --events 8000 --end "$end"
contains "$tmp/out" "retry_storm in the layered topology, seed 7"
contains "$tmp/out" "MATCH PATTERN retry_storm"
contains "$tmp/out" "fault       retry_storm in "

demo_events=$(event_count "$tmp/demo")
[[ $demo_events -ge 3600 && $demo_events -le 4400 ]] ||
  fail "demo --events 4000 recorded $demo_events events"

echo "== demo again into the same directory replaces the store"
run 0 "$cli" demo --store "$tmp/demo" --events 4000 --seed 3 --end "$end"
[[ $(event_count "$tmp/demo") -eq $demo_events ]] ||
  fail "second demo changed the count from $demo_events"

echo "== demo is deterministic for a seed"
run 0 "$cli" demo --store "$tmp/demo-b" --events 4000 --seed 3 --end "$end"
run 0 "$cli" export "$tmp/demo" "$tmp/demo-a.jsonl"
run 0 "$cli" export "$tmp/demo-b" "$tmp/demo-b.jsonl"
cmp "$tmp/demo-a.jsonl" "$tmp/demo-b.jsonl" ||
  fail "two demos with the same seed differ"
run 0 "$cli" demo --store "$tmp/demo-c" --events 4000 --seed 4 --end "$end"
run 0 "$cli" export "$tmp/demo-c" "$tmp/demo-c.jsonl"
if cmp -s "$tmp/demo-a.jsonl" "$tmp/demo-c.jsonl"; then
  fail "demos with different seeds are identical"
fi

echo "== stats"
run 0 "$cli" stats "$tmp/demo"
for text in "format version" "first event       2024-01-15T15:40:00" \
  "last event        2024-01-15T15:50:00" "payments-service" "entities" \
  "revisions" "current revision" "live bytes" "file bytes" "map size" \
  "tables"; do
  contains "$tmp/out" "$text"
done
run 0 "$cli" stats "$tmp/demo" --json
[[ $(wc -l <"$tmp/out") -eq 1 ]] || fail "stats --json is not one line"
contains "$tmp/out" "\"events\":$demo_events,"
if command -v python3 >/dev/null; then
  python3 -c '
import json, sys
stats = json.load(open(sys.argv[1]))
assert stats["events"] == int(sys.argv[2]), stats["events"]
assert "payments-service" in stats["services"], stats["services"]
assert stats["first_event"].startswith("2024-01-15T15:40:00"), stats
' "$tmp/out" "$demo_events" || fail "stats --json is not the expected JSON"
fi

echo "== export -> import -> export is byte-identical"
run 0 "$cli" export "$tmp/demo" "$tmp/a.jsonl"
[[ $(wc -l <"$tmp/a.jsonl") -eq $demo_events ]] ||
  fail "export wrote $(wc -l <"$tmp/a.jsonl") lines, expected $demo_events"
run 0 "$cli" export "$tmp/demo"
cmp "$tmp/out" "$tmp/a.jsonl" || fail "export to stdout differs from a file"
run 0 "$cli" import "$tmp/copy" "$tmp/a.jsonl"
contains "$tmp/out" "imported $demo_events events (0 already present)"
run 0 "$cli" export "$tmp/copy" "$tmp/b.jsonl"
cmp "$tmp/a.jsonl" "$tmp/b.jsonl" || fail "export of the imported copy differs"

echo "== importing the same events again adds nothing"
run 0 "$cli" import "$tmp/copy" - <"$tmp/a.jsonl"
contains "$tmp/out" "imported 0 events ($demo_events already present)"
[[ $(event_count "$tmp/copy") -eq $demo_events ]] ||
  fail "re-import changed the event count"

echo "== small batches, blank lines and CRLF line ends"
{
  head -n 100 "$tmp/a.jsonl"
  printf '\n   \n'
  sed -n '101,200p' "$tmp/a.jsonl" | sed 's/$/\r/'
} >"$tmp/c.jsonl"
run 0 "$cli" import "$tmp/small" "$tmp/c.jsonl" --batch 7
contains "$tmp/out" "imported 200 events (0 already present)"
run 0 "$cli" export "$tmp/small" "$tmp/c-out.jsonl"
cmp "$tmp/c-out.jsonl" <(head -n 200 "$tmp/a.jsonl") ||
  fail "import of a file with blank lines and CRLF is not lossless"

echo "== events without ids get stable ones"
printf '%s\n' \
  '{"time_unix_nano":"1705333500000000000","service":{"name":"svc"},"name":"hello","log":{"body":"first"}}' \
  '{"time_unix_nano":"1705333501000000000","service":{"name":"svc"},"name":"hello","log":{"body":"second"}}' \
  >"$tmp/noid.jsonl"
run 0 "$cli" import "$tmp/noid" "$tmp/noid.jsonl"
contains "$tmp/out" "imported 2 events (0 already present)"
run 0 "$cli" import "$tmp/noid" "$tmp/noid.jsonl"
contains "$tmp/out" "imported 0 events (2 already present)"

echo "== export filters"
run 0 "$cli" export "$tmp/demo" --type error --service payments-service
[[ -s "$tmp/out" ]] || fail "no payments-service errors exported"
if grep -v '"EVENT_TYPE_ERROR"' "$tmp/out" | grep -q .; then
  fail "export --type error wrote other types"
fi
if grep -v '"name":"payments-service"' "$tmp/out" | grep -q .; then
  fail "export --service payments-service wrote other services"
fi
run 0 "$cli" export "$tmp/demo" --from 2024-01-15T15:45:00Z \
  --to '2024-01-15 15:46:00'
[[ -s "$tmp/out" ]] || fail "export --from --to wrote nothing"
first_ns=$(head -n1 "$tmp/out" | sed 's/.*"time_unix_nano":"\([0-9]*\)".*/\1/')
last_ns=$(tail -n1 "$tmp/out" | sed 's/.*"time_unix_nano":"\([0-9]*\)".*/\1/')
[[ $first_ns -ge 1705333500000000000 && $last_ns -lt 1705333560000000000 ]] ||
  fail "export --from --to wrote events outside the range ($first_ns..$last_ns)"

echo "== events"
run 0 "$cli" events "$tmp/demo" --type error --limit 5 --width 160
contains "$tmp/out" "TIME"
contains "$tmp/out" "SEVERITY"
[[ $(wc -l <"$tmp/out") -eq 6 ]] || fail "events --limit 5 printed $(wc -l <"$tmp/out") lines"
contains "$tmp/err" "more match"
run 0 "$cli" events "$tmp/demo" --type error --json --limit 0
[[ $(wc -l <"$tmp/out") -eq $(grep -c '"EVENT_TYPE_ERROR"' "$tmp/a.jsonl") ]] ||
  fail "events --type error --json --limit 0 did not list every error"
run 0 "$cli" events "$tmp/demo" --min-severity error --newest-first --limit 3 \
  --service payments-service,web-frontend
contains "$tmp/out" "error"
run 0 "$cli" query "$tmp/demo" \
  "EVENTS trace_id WHERE name = 'POST /checkout' ORDER BY duration DESC LIMIT 1" \
  --format csv
trace=$(sed -n 2p "$tmp/out")
[[ ${#trace} -eq 32 ]] || fail "no trace id of the slowest checkout"
run 0 "$cli" events "$tmp/demo" --trace "$trace" --limit 0
contains "$tmp/out" "POST /checkout"
run 0 "$cli" events "$tmp/demo" --entity pool/payments-db --limit 0
contains "$tmp/out" "active="
run 0 "$cli" events "$tmp/demo" --from 1705333800000000000 --to now
run 0 "$cli" events "$tmp/demo" --from -1h
contains "$tmp/err" "no events match"

echo "== equivalent time forms and flag spellings give the same answer"
same_output() {  # same_output CMD... -- CMD...: both print the same
  local first=() second=() seen=0
  for arg in "$@"; do
    if [[ $arg == "--" && $seen -eq 0 ]]; then
      seen=1
    elif [[ $seen -eq 0 ]]; then
      first+=("$arg")
    else
      second+=("$arg")
    fi
  done
  run 0 "${first[@]}"
  cp "$tmp/out" "$tmp/first"
  run 0 "${second[@]}"
  cmp -s "$tmp/first" "$tmp/out" || {
    diff "$tmp/first" "$tmp/out" | head -20 >&2
    fail "'${first[*]}' and '${second[*]}' differ"
  }
  [[ -s "$tmp/out" ]] || fail "'${second[*]}' printed nothing"
}
q=(events "$tmp/demo" --json --limit 0)
same_output "$cli" "${q[@]}" --from 2024-01-15T15:45:00Z --to 2024-01-15T15:45:10Z -- \
  "$cli" "${q[@]}" --from '2024-01-15 15:45:00' --to '2024-01-15 15:45:10'
same_output "$cli" "${q[@]}" --from 2024-01-15T15:45:00Z --to 2024-01-15T15:45:10Z -- \
  "$cli" "${q[@]}" --from=2024-01-15T16:45:00+01:00 --to=1705333510000000000
same_output "$cli" "${q[@]}" --from 2024-01-15T15:45:00.5Z --to 2024-01-15T15:45:09Z -- \
  "$cli" "${q[@]}" --from 1705333500500000000 --to '2024-01-15 15:45:09.000'
same_output "$cli" "${q[@]}" --from 2024-01-15 --to 2024-01-15T15:41 -- \
  "$cli" "${q[@]}" --to '2024-01-15 15:41:00'
same_output "$cli" "${q[@]}" --service payments-service --service orders-service --type error,log -- \
  "$cli" "${q[@]}" --service=payments-service,orders-service --type error --type log
same_output "$cli" "${q[@]}" --type error -- \
  "$cli" "${q[@]}" --type=error --newest-first=false

echo "== relative times count back from now"
run 0 "$cli" demo --store "$tmp/now" --events 3000
run 0 "$cli" events "$tmp/now" --from -2m --json --limit 0
[[ -s "$tmp/out" ]] || fail "a demo ending now has no events in the last 2 minutes"
run 0 "$cli" events "$tmp/now" --to -11m --json --limit 0
[[ ! -s "$tmp/out" ]] || fail "a demo of the last 10 minutes has events before -11m"
run 0 "$cli" events "$tmp/now" --from -1h --to now --json --limit 0
[[ $(wc -l <"$tmp/out") -eq $(event_count "$tmp/now") ]] ||
  fail "--from -1h --to now does not list every event of the demo"

echo "PASS cli_roundtrip"
