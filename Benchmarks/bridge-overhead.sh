#!/usr/bin/env bash
# What `tokenbroker proxy` adds to an MCP tool call: the MCP Python SDK client calls the
# same tool of the SDK's own server through the bridge (stdio) and directly (Streamable
# HTTP with the same bearer token), side by side in one run. Release builds as installed
# (scripts/build-release.sh), the interop venv (scripts/interop-venv.sh), a real daemon
# signed in once by a stand-in browser.
#
#   Benchmarks/bridge-overhead.sh [CALLS]     CALLS: timed tools/call each way (default 500)
#
# Times depend on the machine; compare the ratio. Prints no token.
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
calls=${1:-500}

binaries=$(scripts/build-release.sh)
mapfile -t built <<<"$binaries"
daemon=${built[0]}
python=$(scripts/interop-venv.sh | tail -n 1)

work=$(mktemp -d)
# As installed: tokenbroker runs the tokenbroker-proxy beside it.
mkdir "$work/bin"
cp "${built[1]}" "${built[2]}" "$work/bin/"
cli="$work/bin/tokenbroker"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The fixture serves until its stdin closes; fd 3 holds it open, fd 4 reads its handshake.
mkfifo "$work/fixture-in" "$work/fixture-out"
"$python" Tests/Interop/mcp_sdk_fixture.py --log-level WARNING <"$work/fixture-in" >"$work/fixture-out" 2>"$work/fixture.log" &
pids+=($!)
exec 3>"$work/fixture-in" 4<"$work/fixture-out"
read -r handshake <&4
resource=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rs"])' "$handshake")

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
    kill -0 "$daemon_pid" 2>/dev/null || { echo "bridge-overhead: tokenbrokerd did not start" >&2; exit 1; }
    sleep 0.05
done
"$cli" login "$resource" --scope files:read --socket "$socket" >/dev/null

"$python" Benchmarks/bridge_overhead.py --url "$resource" --calls "$calls" \
    --token-command "$cli token $resource --scope files:read --socket $socket" \
    -- "$cli" proxy "$resource" --scope files:read --socket "$socket"
