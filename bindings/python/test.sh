#!/usr/bin/env bash
# The Python package's test stage (scripts/test runs it; it runs alone too):
#   1. build/python-venv: a virtualenv of Debian's /usr/bin/python3 (not a
#      pyenv or conda python that happens to be first on PATH), with the
#      pinned requirements of bindings/python/requirements-test.txt;
#   2. the package built by scikit-build-core from the root CMake project
#      into build/python-ext (kept, so a second run only recompiles what
#      changed) with TRAVERSION_JOBS (default 2) compile jobs, and installed;
#   3. a wheel built from the same build tree into build/python-dist;
#   4. mypy --strict on the package (py.typed, _core.pyi);
#   5. pytest on tests/python, which also executes the notebook
#      examples/notebooks/postmortem.ipynb on a store made by the release
#      CLI (build/release/src/traversion, or $TRAVERSION_CLI); the executed
#      notebook is kept as build/test-logs/postmortem.ipynb.
# Every step runs even after a failure. The last line reads
#   python-stage: P passed, F failed
# (pytest's tests, one for mypy, and one failure per failed step).
#
#   bash bindings/python/test.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
root="$PWD"

python="${TRAVERSION_PYTHON:-/usr/bin/python3}"
venv="$root/build/python-venv"
logdir="$root/build/test-logs"
jobs="${TRAVERSION_JOBS:-2}"
mkdir -p "$logdir"

passed=0
failed=0
say() { printf '\n---- python: %s ----\n' "$*"; }
fail() { echo "python: FAILED: $*"; failed=$((failed + 1)); }
finish() { echo "python-stage: $passed passed, $failed failed"; ((failed == 0)); exit; }

say "virtualenv ($python) and test requirements"
t0=$(date +%s)
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv" || { fail "venv (is python3-venv installed?)"; finish; }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r bindings/python/requirements-test.txt ||
  { fail "pip install -r bindings/python/requirements-test.txt"; finish; }
echo "python: $("$venv/bin/python" --version) in $venv ($(($(date +%s) - t0)) s)"

say "build and install the package (build/python-ext, -j$jobs)"
t0=$(date +%s)
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
# --no-build-isolation: the build requirements are already in the venv
# (pinned), so pip does not download them again into a temporary one.
if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall \
    --config-settings=build-dir="$root/build/python-ext" ./bindings/python; then
  echo "python: built and installed ($(($(date +%s) - t0)) s)"
else
  fail "building the package"
  finish  # nothing below can run without it
fi

say "wheel (build/python-dist)"
t0=$(date +%s)
rm -rf "$root/build/python-dist"
if "$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps --config-settings=build-dir="$root/build/python-ext" \
    -w "$root/build/python-dist" ./bindings/python; then
  echo "python: $(ls "$root/build/python-dist") ($(($(date +%s) - t0)) s)"
else
  fail "pip wheel"
fi

say "mypy --strict"
if (cd bindings/python && "$venv/bin/python" -m mypy); then
  passed=$((passed + 1))
else
  fail "mypy"
fi

say "pytest tests/python (and the notebook)"
t0=$(date +%s)
cli="${TRAVERSION_CLI:-$root/build/release/src/traversion}"
pytest_log="$logdir/pytest.log"
# Run from the tests' directory: the source tree's bindings/python/traversion
# must not shadow the installed package.
(cd tests/python &&
  TRAVERSION_CLI="$cli" TRAVERSION_REQUIRE_CLI=1 \
  TRAVERSION_NOTEBOOK_OUT="$logdir/postmortem.ipynb" \
  "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfEs) 2>&1 | tee "$pytest_log"
pytest_rc=${PIPESTATUS[0]}
# pytest's closing line: "== 2 failed, 51 passed, 1 skipped in 20.1s ==".
summary=$(grep -E '^=*[ ]*[0-9]+ (passed|failed|error)' "$pytest_log" | tail -n1)
[[ -n "$summary" ]] || summary=$(grep -E '[0-9]+ (passed|failed)' "$pytest_log" | tail -n1)
count() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '[0-9]+' || echo 0; }
n_passed=$(count passed)
n_failed=$(($(count failed) + $(count errors?)))
passed=$((passed + n_passed))
failed=$((failed + n_failed))
if ((pytest_rc != 0 && n_failed == 0)); then fail "pytest exited $pytest_rc"; fi
echo "python: pytest $n_passed passed, $n_failed failed ($(($(date +%s) - t0)) s)"
finish
