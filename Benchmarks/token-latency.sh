#!/usr/bin/env bash
# How long `tokenbroker token` takes a call, next to what bounds it: starting a process
# (/bin/true), the daemon's own cache hit over the socket, and oidc-agent's oidc-token
# when it is installed. Release builds as installed (scripts/build-release.sh), against
# the conformance fixture's fake authorization and MCP server, signed in once.
#
#   Benchmarks/token-latency.sh [RUNS]        RUNS: timed calls a command (default 1000)
#
# Needs hyperfine (apt-get install hyperfine); oidc-token is optional (oidc-agent-cli).
# Times depend on the machine; compare the ratios. Prints no token.
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${1:-1000}
command -v hyperfine >/dev/null || { echo "token-latency: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

binaries=$(scripts/build-release.sh)
mapfile -t built <<<"$binaries"
daemon=${built[0]}
cli=${built[1]}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${OIDCD_PID:-}" ]; then kill "$OIDCD_PID" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The fixture serves until its stdin closes; fd 3 holds it open, fd 4 reads its handshake.
mkfifo "$work/fixture-in" "$work/fixture-out"
python3 Tests/Conformance/fixture.py auth/metadata-default --spec-version 2026-07-28 \
    <"$work/fixture-in" >"$work/fixture-out" &
pids+=($!)
exec 3>"$work/fixture-in" 4<"$work/fixture-out"
read -r handshake <&4
resource=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["serverUrl"])' "$handshake")

# The browser stand-in follows the sign-in at once; a config file's array keeps paths whole.
socket="$work/socket"
python3 - "$work/config.toml" "$root/Tests/Conformance/browser.py" <<'TOML'
import json, sys
with open(sys.argv[1], "w") as config:
    config.write(f"allow_http_loopback = true\nbrowser_command = {json.dumps([sys.executable, sys.argv[2]])}\n")
TOML
"$daemon" --socket "$socket" --database "$work/broker.sqlite3" --key-file "$work/key" --config "$work/config.toml" --log-level error &
daemon_pid=$!
pids+=("$daemon_pid")
until [ -S "$socket" ]; do
    kill -0 "$daemon_pid" 2>/dev/null || { echo "token-latency: tokenbrokerd did not start" >&2; exit 1; }
    sleep 0.05
done
"$cli" login "$resource" --socket "$socket" >/dev/null

hyperfine_mean_us() {  # hyperfine arguments...; prints the mean in microseconds
    rm -f "$work/run.json"
    hyperfine -N --warmup 50 --runs "$runs" --export-json "$work/run.json" "$@" >/dev/null
    python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["mean"]*1e6))' "$work/run.json"
}

token_us=$(hyperfine_mean_us "$cli token $resource --socket $socket")
true_us=$(hyperfine_mean_us "/bin/true")
read -r same_us fresh_us info_us < <(python3 Benchmarks/socket_latency.py "$socket" "$resource")
oidc_us=""
if command -v oidc-agent >/dev/null && command -v oidc-token >/dev/null; then
    eval "$(oidc-agent)" >/dev/null
    # An account the agent does not have: the process and the agent round trip, no crypto.
    oidc_us=$(hyperfine_mean_us -i "oidc-token tokenbroker-benchmark")
    oidc-agent -k >/dev/null 2>&1 && OIDCD_PID=""
fi

ratio() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / int(sys.argv[2]):.2f}")' "$1" "$2"; }
printf '%-58s %9s %8s\n' "what" "µs/call" "÷ true"
printf '%-58s %9s %8s\n' "/bin/true (starting a process)" "$true_us" "1.00"
printf '%-58s %9s %8s\n' "tokenbroker token (new process, new connection)" "$token_us" "$(ratio "$token_us" "$true_us")"
[ -n "$oidc_us" ] && printf '%-58s %9s %8s\n' "oidc-token for an unknown account (its lower bound)" "$oidc_us" "$(ratio "$oidc_us" "$true_us")"
printf '%-58s %9s\n' "daemon cache hit, new connection each (python client)" "$fresh_us"
printf '%-58s %9s\n' "daemon cache hit, one connection (python client)" "$same_us"
printf '%-58s %9s\n' "broker/info, one connection (python client)" "$info_us"
echo "tokenbroker token over the daemon's cache hit on a new connection: $(ratio "$token_us" "$fresh_us")x"
