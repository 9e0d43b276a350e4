#!/usr/bin/env bash
# Builds the TimeQL parser fuzzer with clang into build/fuzz and runs it for
# a bounded time from the seed corpus tests/fuzz/corpus/timeql/. Exits
# non-zero if the build fails or the fuzzer finds a crash, a leak, undefined
# behaviour or a broken round trip (the input is left in build/fuzz/).
#
#   bash tests/fuzz/run.sh [SECONDS]     default 60
#
# CXX picks the compiler (default clang++-14); TRAVERSION_JOBS the build
# parallelism (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds="${1:-60}"
case "$seconds" in
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  ''|*[!0-9]*) echo "run.sh: SECONDS must be a whole number" >&2; exit 2 ;;
esac
cxx="${CXX:-clang++-14}"
command -v "$cxx" >/dev/null 2>&1 || {
  echo "run.sh: $cxx not found (bash scripts/install-deps installs clang-14)" >&2
  exit 1
}

out=build/fuzz
cmake -S tests/fuzz -B "$out" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" -j"${TRAVERSION_JOBS:-2}"

# New inputs go to a scratch corpus; the seeds stay as committed.
mkdir -p "$out/corpus" "$out/artifacts"
"$out/timeql_parse_fuzz" "$out/corpus" tests/fuzz/corpus/timeql \
  -dict=tests/fuzz/timeql.dict -max_total_time="$seconds" -max_len=4096 \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/artifacts/"
