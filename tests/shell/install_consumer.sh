#!/usr/bin/env bash
# shell.install_consumer — the installed package works for a consumer.
#
# Installs the build tree into a scratch prefix, builds examples/cpp against
# it with find_package(traversion CONFIG REQUIRED), as a user's project would,
# and runs the example on a scratch store (twice: the second run must add
# nothing). Also checks that the installed CMake files do not point back into
# the build or source tree, so the prefix can be moved or packaged.
#
# Usage (ctest passes these): install_consumer.sh CLI SOURCE_DIR BUILD_DIR
set -euo pipefail

if (($# != 3)); then
  echo "usage: $0 CLI SOURCE_DIR BUILD_DIR" >&2
  exit 2
fi
src_dir="$(cd "$2" && pwd)"
build_dir="$(cd "$3" && pwd)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/traversion-install-consumer.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

fail() {
  echo "install_consumer: FAIL: $*" >&2
  exit 1
}
# run LOG COMMAND...: runs quietly, shows the log if it fails.
run() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "command failed: $*"
  fi
}
cache_value() {
  sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n1
}

echo "install_consumer: installing $build_dir into a scratch prefix"
run "$tmp/install.log" cmake --install "$build_dir" --prefix "$prefix"

config_dir="$(dirname "$(find "$prefix" -name traversionConfig.cmake -print -quit)")"
[[ -f "$config_dir/traversionConfig.cmake" ]] ||
  fail "no traversionConfig.cmake installed"
for f in "$config_dir/traversionConfigVersion.cmake" \
         "$config_dir/traversionTargets.cmake" \
         "$prefix/include/traversion/store.h" \
         "$prefix/include/traversion/event.h"; do
  [[ -f "$f" ]] || fail "not installed: ${f#"$prefix"/}"
done
find "$prefix" -name 'libtraversion.a' | grep -q . || fail "libtraversion.a not installed"
if grep -rlF -e "$build_dir" -e "$src_dir" "$config_dir" >"$tmp/leaks"; then
  echo "these installed files name the build or source tree:" >&2
  cat "$tmp/leaks" >&2
  fail "the installed package is not relocatable"
fi

# Build the example the way a user would, with the compiler and sanitizers
# the library was built with (a sanitized static library needs a sanitized
# link).
cmake_args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_COMPILE_WARNING_AS_ERROR=ON)
cxx="$(cache_value CMAKE_CXX_COMPILER)"
[[ -n "$cxx" ]] && cmake_args+=(-DCMAKE_CXX_COMPILER="$cxx")
build_type="$(cache_value CMAKE_BUILD_TYPE)"
[[ -n "$build_type" ]] && cmake_args+=(-DCMAKE_BUILD_TYPE="$build_type")
sanitize="$(cache_value TRAVERSION_SANITIZE)"
if [[ -n "$sanitize" ]]; then
  cmake_args+=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize -fno-omit-frame-pointer"
               -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
command -v ninja >/dev/null 2>&1 && cmake_args+=(-G Ninja)

echo "install_consumer: building examples/cpp against the prefix"
run "$tmp/configure.log" cmake -S "$src_dir/examples/cpp" -B "$tmp/example" "${cmake_args[@]}"
run "$tmp/build.log" cmake --build "$tmp/example"
example="$tmp/example/store_basics"
[[ -x "$example" ]] || fail "the example was not built"

echo "install_consumer: running the example"
if ! "$example" "$tmp/store" >"$tmp/run1.out" 2>&1; then
  cat "$tmp/run1.out" >&2
  fail "store_basics failed"
fi
cat "$tmp/run1.out"
expect() {  # expect FILE TEXT
  grep -qF -- "$2" "$1" || fail "expected '$2' in the output of store_basics"
}
expect "$tmp/run1.out" "wrote 8 events (0 already stored), 3 new revisions"
expect "$tmp/run1.out" "trace 4bf92f3577b34da6a3ce929d0e0e4736: 4 events"
expect "$tmp/run1.out" "PoolTimeoutError: no connection available within 1000 ms"
expect "$tmp/run1.out" "in_use=20 max=20"
expect "$tmp/run1.out" "history: 3 revisions"
expect "$tmp/run1.out" "store_basics: OK"
[[ -d "$tmp/store" ]] || fail "no store directory was created"

# Again on the same store: idempotent by event id.
if ! "$example" "$tmp/store" >"$tmp/run2.out" 2>&1; then
  cat "$tmp/run2.out" >&2
  fail "store_basics failed on its second run"
fi
expect "$tmp/run2.out" "wrote 0 events (8 already stored), 0 new revisions"
expect "$tmp/run2.out" "history: 3 revisions"
expect "$tmp/run2.out" "store_basics: OK"

# The installed CLI runs from the prefix (when the CLI is built).
if [[ -x "$prefix/bin/traversion" ]]; then
  run "$tmp/cli.log" "$prefix/bin/traversion" --help
fi

echo "install_consumer: PASS"
