#!/usr/bin/env bash
# `traversion query` and `traversion shell` end to end on a demo store:
# the table, JSON lines and CSV outputs (CSV parsed back with Python's csv
# module, counts checked against `traversion stats`), --limit, --param,
# --explain, the exit codes of usage and query errors with the caret
# message, and the shell reading statements from a pipe.
# Usage: cli_query.sh <traversion binary> <source dir> <build dir>
set -euo pipefail

cli=${1:?usage: cli_query.sh <traversion> <source dir> <build dir>}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/traversion-cli-query.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
same() {  # same WHAT GOT WANT
  [[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

store="$tmp/demo"
run 0 "$cli" demo --store "$store" --events 5000 --end 2024-01-15T15:50:00Z
run 0 "$cli" stats "$store"
total=$(awk '/^events / { gsub(",", "", $2); print $2 }' "$tmp/out")
[[ "$total" =~ ^[0-9]+$ ]] || fail "no event count in stats"

echo "== jsonl: COUNT(*) over everything equals the store's event count"
run 0 "$cli" query "$store" "EVENTS COUNT(*) AS n" --format jsonl
same "COUNT(*)" "$(cat "$tmp/out")" "{\"n\":$total}"

echo "== jsonl: one JSON object per row, GROUP BY counts add up"
run 0 "$cli" query "$store" \
  "EVENTS service, COUNT(*) AS n GROUP BY service ORDER BY n DESC" --format json
python3 - "$tmp/out" "$total" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
assert rows, "no rows"
assert all(set(r) == {"service", "n"} for r in rows), rows
counts = [r["n"] for r in rows]
assert counts == sorted(counts, reverse=True), counts
assert sum(counts) == int(sys.argv[2]), (sum(counts), sys.argv[2])
PY

echo "== csv: parsed back, the same rows as jsonl"
run 0 "$cli" query "$store" \
  "EVENTS service, COUNT(*) AS n GROUP BY service ORDER BY n DESC" --format csv
python3 - "$tmp/out" "$total" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["service", "n"], rows[0]
assert sum(int(r[1]) for r in rows[1:]) == int(sys.argv[2])
PY

echo "== csv: RFC 4180 quoting of commas, quotes and newlines"
# An imported log whose body needs quoting.
run 0 "$cli" export "$store" "$tmp/all.jsonl"
python3 - "$tmp/all.jsonl" "$tmp/odd.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    event = json.loads(line)
    if event.get("type") == "EVENT_TYPE_LOG":
        break
event["log"]["body"] = 'a, "quoted"\nsecond line'
open(sys.argv[2], "w").write(json.dumps(event) + "\n")
PY
odd_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$tmp/odd.jsonl")
run 0 "$cli" import "$tmp/odd" "$tmp/odd.jsonl"
run 0 "$cli" query "$tmp/odd" "EVENTS id, message" --format csv
python3 - "$tmp/out" "$odd_id" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows == [["id", "message"], [sys.argv[2], 'a, "quoted"\nsecond line']], rows
PY
contains "$tmp/out" '"a, ""quoted""'

echo "== table: a header, a rule, aligned columns, the row count on stderr"
run 0 "$cli" query "$store" \
  "TIMELINE FROM '2024-01-15 15:45:00' TO '2024-01-15 15:50:00' WHERE type = 'error' LIMIT 3"
head -n1 "$tmp/out" | grep -qE '^time +id +type +service' ||
  fail "table header: $(head -n1 "$tmp/out")"
sed -n 2p "$tmp/out" | grep -qE '^-+  -+' || fail "no rule under the header"
same "table lines" "$(wc -l <"$tmp/out")" 5
contains "$tmp/err" "(3 rows)"
# Every row starts its second column where the header does.
python3 - "$tmp/out" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
start = lines[0].index("id ")
assert all(line[start - 2:start] == "  " and line[start] != " " for line in lines[2:]), lines
PY

echo "== table: long cells are cut, CSV keeps them whole"
run 0 "$cli" query "$tmp/odd" "EVENTS message" --max-cell 8
contains "$tmp/out" "a, \"quo…"
run 0 "$cli" query "$tmp/odd" "EVENTS message" --max-cell 0
contains "$tmp/out" 'a, "quoted" second line'

echo "== --limit stops the output and says so"
run 0 "$cli" query "$store" "EVENTS" --limit 7 --format jsonl
same "rows with --limit 7" "$(wc -l <"$tmp/out")" 7
run 0 "$cli" query "$store" "EVENTS" --limit 7
contains "$tmp/err" "(7 rows shown; more rows: raise --limit)"

echo "== --param binds TRAVERSE FROM <name>"
run 0 "$cli" query "$store" "TIMELINE WHERE type = 'error' LIMIT 1" --format jsonl
error_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$tmp/out")
run 0 "$cli" query "$store" "TRAVERSE FROM event_id FOLLOWING backward" \
  --param "event_id=$error_id" --format jsonl
contains "$tmp/out" "$error_id"
run 1 "$cli" query "$store" "TRAVERSE FROM event_id FOLLOWING backward"
contains "$tmp/err" "event_id"

echo "== --explain prints the canonical query and the plan"
run 0 "$cli" query "$store" "state at '2024-01-15 15:47:23'   where service='api-gateway'" --explain
contains "$tmp/out" "query:     STATE AT '2024-01-15 15:47:23' WHERE service = 'api-gateway'"
contains "$tmp/out" "kind:      state"
contains "$tmp/out" "plan:"

echo "== --structured prints the span tree of TRACE as one JSON document"
run 0 "$cli" query "$store" "TIMELINE WHERE type = 'error' AND trace_id != '' LIMIT 1" --format jsonl
trace_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["trace_id"])' "$tmp/out")
run 0 "$cli" query "$store" "TRACE '$trace_id'" --structured
python3 - "$tmp/out" "$trace_id" <<'PY'
import json, sys
tree = json.load(open(sys.argv[1]))
assert tree["trace_id"] == sys.argv[2], tree.get("trace_id")
assert tree["roots"], "no root span"
PY
run 1 "$cli" query "$store" "EVENTS LIMIT 1" --structured
contains "$tmp/err" "has no structured form"
run 2 "$cli" query "$store" "EVENTS" --structured --explain

echo "== every seed example runs as written (with a real id for 'abc-123')"
while IFS= read -r seed; do
  run 0 "$cli" query "$store" "$seed" --param event_id="$error_id"
done <<SEEDS
STATE AT '2024-01-15 15:47:23' WHERE service = 'api-gateway'
TIMELINE FROM '10 minutes ago' TO 'now' WHERE type = 'error'
TRAVERSE FROM event_id FOLLOWING backward UNTIL error_occurred = true
TRAVERSE FROM event_id = '$error_id' FOLLOWING causality UNTIL error_occurred = true
MATCH PATTERN WHERE cpu > 80% FOLLOWED BY memory > 90% WITHIN 5 minutes IN LAST 30 days
COMPARE '2024-01-15 15:45:00' WITH '2024-01-15 15:50:00' FOR cpu, memory, errorRate
PREDICT NEXT 5 minutes FROM 'now'
SEEDS

echo "== a query error exits 1 with line:col, the line and a caret"
run 1 "$cli" query "$store" "MATCH PATTERN WHERE cpu > 80% FOLLOWD BY memory > 90%"
contains "$tmp/err" "traversion: query: 1:31: unexpected 'FOLLOWD', expected FOLLOWED BY"
contains "$tmp/err" "MATCH PATTERN WHERE cpu > 80% FOLLOWD BY memory > 90%"
contains "$tmp/err" "                              ^~~~~~~"
[[ ! -s "$tmp/out" ]] || fail "a failed query printed rows"
run 1 "$cli" query "$store" "EVENTS WHERE sevrity = 'error'"
contains "$tmp/err" "1:14:"
run 1 "$cli" query "$store" ""
contains "$tmp/err" "empty query"
run 1 "$cli" query "$tmp/missing" "EVENTS"
contains "$tmp/err" "cannot open store"

echo "== usage errors exit 2"
run 2 "$cli" query "$store"
run 2 "$cli" query "$store" "EVENTS" --format xml
contains "$tmp/err" "--format: unknown format 'xml'"
run 2 "$cli" query "$store" "EVENTS" --param nonsense
contains "$tmp/err" "--param: expected NAME=VALUE"
run 2 "$cli" query "$store" "EVENTS" --limit -1
run 2 "$cli" shell "$store" --format xml
run 0 "$cli" query --help
contains "$tmp/out" "Usage: traversion query <store> <query>"
run 0 "$cli" shell --help
contains "$tmp/out" "Usage: traversion shell <store>"

echo "== shell: statements from a pipe, multi-line, commands, errors"
cat >"$tmp/script.tql" <<'TQL'
.format csv
-- a comment line is part of the statement
EVENTS service, COUNT(*) AS n
GROUP BY service
ORDER BY n DESC
LIMIT 2;
.format
EVENTS COUNT(*) AS n WHERE message = 'two;

lines'

.format jsonl
EVENTS COUNT(*) AS n
EVENTS WHER x = 1

.limit 1
EVENTS service
.bogus
EVENTS COUNT(*) AS last_one
TQL
run 1 "$cli" shell "$store" <"$tmp/script.tql"
python3 - "$tmp/out" "$total" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "service,n", lines
assert len(lines[1].split(",")) == 2 and len(lines[2].split(",")) == 2, lines
assert lines[3] == "csv", lines
assert lines[4:6] == ["n", "0"], lines
# The two EVENTS lines without ';' between them are one (bad) statement.
assert lines[6].startswith('{"service":'), lines
assert lines[7] == '{"last_one":%s}' % sys.argv[2], lines
assert len(lines) == 8, lines
PY
contains "$tmp/err" "error: 2:1: unexpected 'EVENTS'"
contains "$tmp/err" "error: unknown command '.bogus' (try .help)"

echo "== shell: a clean script exits 0; .quit stops reading"
printf 'EVENTS COUNT(*) AS n;\n.quit\nEVENTS WHER\n' | {
  run 0 "$cli" shell "$store" --format jsonl
}
same "shell output" "$(cat "$tmp/out")" "{\"n\":$total}"
printf '.help\n' | { run 0 "$cli" shell "$store"; }
contains "$tmp/out" ".format [table|jsonl|csv]"

echo "PASS"
