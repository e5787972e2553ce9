#!/usr/bin/env bash
# Steward's benchmark suite, on this machine and on loopback only:
#
#   bash bench/run.sh [small|full]
#
# small finishes in about 5 minutes (2,000 devices, 10,000 for the API); full in about 15
# (10,000 and 50,000 devices, capped by the open-files limit; 100,000 for the API). It builds
# the release binaries, installs oha into bench/.tools on first use, runs every scenario beside
# its floor and prints a table. It writes nothing outside a scratch folder (removed at the end; set
# STEWARD_BENCH_KEEP=1 to keep its logs) and its own PostgreSQL database (dropped at the end).
#
# Needs: the Rust toolchain, mosquitto (Debian: apt-get install mosquitto), a PostgreSQL
# server (STEWARD_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail

scale="${1:-small}"
case "$scale" in
  small) limit=1200 ;;
  full) limit=5400 ;;
  *) echo "usage: bash bench/run.sh [small|full]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# Every connection holds a descriptor in the server and in the load generator.
ulimit -n "$(ulimit -Hn)"

cargo build --release -p steward -p steward-agent -p steward-bench
target="${CARGO_TARGET_DIR:-$root/target}"
oha="$root/bench/.tools/bin/oha"
if [ ! -x "$oha" ]; then
  cargo install oha --version 1.16.0 --locked --root "$root/bench/.tools"
fi
mosquitto="$(command -v mosquitto || true)"
if [ -z "$mosquitto" ] && [ -x /usr/sbin/mosquitto ]; then mosquitto=/usr/sbin/mosquitto; fi
if [ -z "$mosquitto" ]; then
  echo "mosquitto is needed for the connection floor (apt-get install mosquitto)" >&2
  exit 1
fi

pg_url="${STEWARD_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
run_id="$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/steward-bench.XXXXXX")"
bench_pid=""

cleanup() {
  # The bench runs in its own process group with every server, broker and client it starts.
  if [ -n "$bench_pid" ]; then
    kill -TERM -- "-$bench_pid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$bench_pid" 2>/dev/null || true
  fi
  if command -v psql >/dev/null; then
    psql "$pg_url" -qAtc "DROP DATABASE IF EXISTS steward_bench_$run_id WITH (FORCE)" \
      >/dev/null 2>&1 || true
  fi
  if [ "${STEWARD_BENCH_KEEP:-}" = 1 ]; then
    echo "logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), open files $(ulimit -n)" >&2
echo "scale: $scale; scratch folder: $work" >&2

# timeout puts itself and everything under it in a process group of its own (id: its pid).
timeout --kill-after=30 "$limit" \
  "$target/release/steward-bench" run \
  --scale "$scale" \
  --steward "$target/release/steward" \
  --oha "$oha" \
  --mosquitto "$mosquitto" \
  --work "$work" \
  --pg-url "$pg_url" \
  --run-id "$run_id" \
  "${@:2}" &
bench_pid=$!
wait "$bench_pid"
