#!/usr/bin/env bash
# The daemon as a systemd user service starts it (soft open-file limit 1,024, which it
# raises to the hard limit), and with the hard limit at 1,024 too (where its connection cap
# does the work), release build: 8 busy clients' p50/p99 without and with 1,100 idle
# connections, side by side in one run.
#
#   Benchmarks/idle-crowd.sh [REQUESTS]     REQUESTS: per busy client and phase (default 2000)
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
requests=${1:-2000}

binaries=$(scripts/build-release.sh)
mapfile -t built <<<"$binaries"
daemon=${built[0]}

work=$(mktemp -d)
daemon_pid=""
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

for limit in "-S -n 1024" "-n 1024"; do
    echo "== tokenbrokerd under ulimit $limit"
    socket="$work/socket"
    rm -f "$socket" "$work"/broker.sqlite3*
    # shellcheck disable=SC2086 # the limit's words are options
    (ulimit $limit && exec "$daemon" --socket "$socket" --database "$work/broker.sqlite3" --key-file "$work/key" --log-level info) 2>"$work/daemon.log" &
    daemon_pid=$!
    until [ -S "$socket" ]; do
        kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; echo "idle-crowd: tokenbrokerd did not start" >&2; exit 1; }
        sleep 0.05
    done
    grep -o 'max_connections=[0-9]* open_files=[0-9]*' "$work/daemon.log" || true
    python3 Benchmarks/idle_crowd.py "$socket" --requests "$requests"
    kill "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
done
