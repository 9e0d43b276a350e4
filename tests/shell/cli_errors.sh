#!/usr/bin/env bash
# Every error of the CLI is a clear message and a documented exit status,
# never a crash: bad input lines (malformed JSON, invalid UTF-8, an event over
# 1 MiB, a line over 8 MiB), missing or foreign stores, bad command lines.
# Usage: cli_errors.sh <traversion binary> <source dir> <build dir>
set -euo pipefail

cli=${1:?usage: cli_errors.sh <traversion> <source dir> <build dir>}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/traversion-cli-errors.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
event_count() {
  run 0 "$cli" stats "$1"
  awk '/^events / { gsub(",", "", $2); print $2 }' "$tmp/out"
}

# 40 valid events to build bad files from.
run 0 "$cli" demo --store "$tmp/demo" --events 3000 --end 2024-01-15T15:50:00Z
run 0 "$cli" export "$tmp/demo" "$tmp/all.jsonl"
head -n 40 "$tmp/all.jsonl" >"$tmp/good.jsonl"

echo "== a malformed JSON line stops the import; earlier lines are kept"
{
  head -n 16 "$tmp/good.jsonl"
  echo '{"id": "zz", broken'
  sed -n '17,40p' "$tmp/good.jsonl"
} >"$tmp/malformed.jsonl"
run 1 "$cli" import "$tmp/s1" "$tmp/malformed.jsonl"
contains "$tmp/err" "traversion: import: line 17: "
contains "$tmp/err" "lines 1-16 committed: imported 16 events"
[[ $(tail -n1 "$tmp/err") == "traversion: import: line 17: "* ]] ||
  fail "the last line of stderr is not the error: $(tail -n1 "$tmp/err")"
[[ $(event_count "$tmp/s1") -eq 16 ]] || fail "the 16 lines before the bad one were not kept"

echo "== --skip-invalid skips it, exits 3, and imports the rest"
run 3 "$cli" import "$tmp/s1" "$tmp/malformed.jsonl" --skip-invalid
contains "$tmp/err" "line 17:"
contains "$tmp/err" "(skipped)"
contains "$tmp/out" "imported 24 events (16 already present)"
contains "$tmp/out" "skipped 1 invalid line"
[[ $(event_count "$tmp/s1") -eq 40 ]] || fail "--skip-invalid lost events"

echo "== not JSON of an event at all"
printf '[1, 2, 3]\n' >"$tmp/array.jsonl"
run 1 "$cli" import "$tmp/s2" "$tmp/array.jsonl"
contains "$tmp/err" "traversion: import: line 1: "
printf '{"no_such_field": 1}\n' >"$tmp/unknown.jsonl"
run 1 "$cli" import "$tmp/s2" "$tmp/unknown.jsonl"
contains "$tmp/err" "traversion: import: line 1: "

echo "== invalid UTF-8"
{
  head -n 3 "$tmp/good.jsonl"
  printf '{"time_unix_nano":"1705333500000000000","name":"bad \xff\xfe name"}\n'
} >"$tmp/utf8.jsonl"
run 1 "$cli" import "$tmp/s3" "$tmp/utf8.jsonl"
contains "$tmp/err" "traversion: import: line 4: not valid UTF-8"
[[ $(event_count "$tmp/s3") -eq 3 ]] || fail "lines before the invalid UTF-8 were not kept"

echo "== an event over 1 MiB"
{
  printf '{"time_unix_nano":"1705333500000000000","name":"big","log":{"body":"'
  head -c 1200000 /dev/zero | tr '\0' x
  printf '"}}\n'
} >"$tmp/big.jsonl"
run 1 "$cli" import "$tmp/s4" "$tmp/big.jsonl"
contains "$tmp/err" "traversion: import: line 1: "
[[ $(wc -l <"$tmp/err") -le 2 ]] || fail "the error for a big event is not short"
grep -qE '1048576|1 MiB|limit' "$tmp/err" || fail "the error does not name the size limit"

echo "== a line over 8 MiB"
{
  head -n 2 "$tmp/good.jsonl"
  printf '{"name":"'
  head -c 9000000 /dev/zero | tr '\0' y
  printf '"}\n'
  sed -n '3,5p' "$tmp/good.jsonl"
} >"$tmp/huge.jsonl"
run 1 "$cli" import "$tmp/s5" "$tmp/huge.jsonl"
contains "$tmp/err" "traversion: import: line 3: line is longer than"
run 3 "$cli" import "$tmp/s5" "$tmp/huge.jsonl" --skip-invalid
contains "$tmp/out" "imported 3 events (2 already present)"
contains "$tmp/out" "skipped 1 invalid line"

echo "== a missing input file"
run 1 "$cli" import "$tmp/s6" "$tmp/no-such-file.jsonl"
contains "$tmp/err" "traversion: import: cannot open $tmp/no-such-file.jsonl"

run 1 "$cli" import "$tmp/s6" "$tmp"
contains "$tmp/err" "it is a directory"
[[ ! -e "$tmp/s6" ]] || fail "a failed import created a store"

echo "== stores that are missing, foreign or corrupt"
run 1 "$cli" stats "$tmp/no-such-store"
contains "$tmp/err" "traversion: stats: cannot open store"
[[ $(wc -l <"$tmp/err") -eq 1 ]] || fail "the error is not one line"
for cmd in events export; do
  run 1 "$cli" "$cmd" "$tmp/no-such-store"
  contains "$tmp/err" "traversion: $cmd: cannot open store"
done
[[ ! -e "$tmp/no-such-store" ]] || fail "reading a missing store created it"
mkdir "$tmp/corrupt"
head -c 65536 /dev/urandom >"$tmp/corrupt/data.mdb"
run 1 "$cli" stats "$tmp/corrupt"
contains "$tmp/err" "traversion: stats: "
touch "$tmp/plain-file"
run 1 "$cli" stats "$tmp/plain-file"

echo "== demo refuses to replace what is not a store"
mkdir "$tmp/precious"
echo "keep me" >"$tmp/precious/notes.txt"
run 1 "$cli" demo --store "$tmp/precious"
contains "$tmp/err" "not a Traversion store"
[[ $(cat "$tmp/precious/notes.txt") == "keep me" ]] || fail "demo touched a foreign directory"
run 1 "$cli" demo --store "$tmp/plain-file"
contains "$tmp/err" "not a directory"

echo "== --help everywhere"
run 0 "$cli" --help
contains "$tmp/out" "Usage: traversion <command>"
run 0 "$cli" help
for cmd in demo stats import export events; do
  run 0 "$cli" "$cmd" --help
  contains "$tmp/out" "Usage: traversion $cmd"
  contains "$tmp/out" "Flags:"
  run 0 "$cli" "$cmd" -h
  run 0 "$cli" help "$cmd"
  contains "$tmp/out" "Usage: traversion $cmd"
done

echo "== bad command lines exit 2 with a hint"
expect_usage() {  # expect_usage MESSAGE CMD...
  local message=$1
  shift
  run 2 "$@"
  contains "$tmp/err" "$message"
  contains "$tmp/err" "--help"
}
expect_usage "missing command" "$cli"
expect_usage "unknown command 'frobnicate'" "$cli" frobnicate
expect_usage "unknown command 'nope'" "$cli" help nope
expect_usage "unknown flag --verbose" "$cli" --verbose
expect_usage "unknown flag --bogus" "$cli" stats "$tmp/demo" --bogus
expect_usage "unknown flag --bogus" "$cli" events "$tmp/demo" --bogus=1
expect_usage "missing argument <store>" "$cli" stats
expect_usage "missing argument <store>" "$cli" import
expect_usage "unexpected argument" "$cli" stats "$tmp/demo" extra
expect_usage "flag --limit needs a value" "$cli" events "$tmp/demo" --limit
expect_usage "--limit: expected a non-negative integer" "$cli" events "$tmp/demo" --limit -3
expect_usage "--batch: expected 1 to" "$cli" import "$tmp/s7" --batch 0
expect_usage "--from: bad time" "$cli" events "$tmp/demo" --from yesterday
expect_usage "--type: unknown type 'bogus'" "$cli" events "$tmp/demo" --type bogus
expect_usage "--min-severity: unknown level" "$cli" events "$tmp/demo" --min-severity loud
expect_usage "--trace:" "$cli" events "$tmp/demo" --trace xyz
expect_usage "must be before" "$cli" events "$tmp/demo" --from now --to -1h
expect_usage "--json: expected true or false" "$cli" stats "$tmp/demo" --json=maybe
expect_usage "--seed: expected a non-negative integer" "$cli" demo --seed x
expect_usage "--fault: unknown fault 'bogus'" "$cli" demo --fault bogus
expect_usage "--topology: unknown topology 'mesh'" "$cli" demo --topology mesh
expect_usage "cannot have fault pool_exhaustion (it has no connection pool)" \
  "$cli" demo --service api-gateway
[[ ! -e "$tmp/s7" ]] || fail "a bad command line created a store"

echo "PASS cli_errors"
