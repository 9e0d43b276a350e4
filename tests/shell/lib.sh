# Helpers shared by the CLI shell tests. The sourcing script sets `tmp` (a
# scratch directory) first.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
run() {  # run CODE CMD...: output in $tmp/out, $tmp/err; exit status must be CODE
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
  if grep -qiE 'terminate called|stack trace|Segmentation|Aborted|AddressSanitizer' \
    "$tmp/err"; then
    cat "$tmp/err" >&2
    fail "'$*' crashed"
  fi
}
contains() {  # contains FILE TEXT
  grep -qF -- "$2" "$1" || {
    head -c 4000 "$1" >&2
    fail "$(basename "$1") lacks '$2'"
  }
}
