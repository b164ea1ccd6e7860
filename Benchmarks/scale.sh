#!/usr/bin/env bash
# The daemon holding RESOURCES grants next to the same daemon holding one, in one run
# (issue 16): start to first answer, grants/list's first page, the whole listing through
# `tokenbroker status` and `status --json`, cache-hit token/get p50/p99, and RSS around a
# full listing, each beside the issue's goal. One real sign-in against the conformance
# fixture; the other grants are copies of it in SQLite under other paths of the same
# server, which the daemon restores from storage with no network (see Benchmarks/scale.py).
#
#   Benchmarks/scale.sh [--binaries DIR] [RESOURCES]     RESOURCES: default 10000
#
# --binaries DIR uses DIR/tokenbrokerd and DIR/tokenbroker instead of building release
# binaries with scripts/build-release.sh. It reports; it fails only when something breaks
# (a command fails, a count is wrong), never on a time. Prints no token.
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

usage() { echo "usage: Benchmarks/scale.sh [--binaries DIR] [RESOURCES]" >&2; exit 2; }
binaries_dir=""
resources=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --binaries) [ $# -ge 2 ] || usage; binaries_dir=$2; shift 2 ;;
        --binaries=*) binaries_dir=${1#--binaries=}; shift ;;
        -h|--help) usage ;;
        *) [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 2 ] || usage; resources=$1; shift ;;
    esac
done

if [ -n "$binaries_dir" ]; then
    daemon="$binaries_dir/tokenbrokerd"
    cli="$binaries_dir/tokenbroker"
else
    binaries=$(scripts/build-release.sh)
    mapfile -t built <<<"$binaries"
    daemon=${built[0]}
    cli=${built[1]}
fi
for binary in "$daemon" "$cli"; do
    [ -x "$binary" ] || { echo "scale: $binary is not an executable" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    # scale.py stops its daemon itself; its pid file covers a run cut short.
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -s "$work/daemon.pid" ]; then kill "$(cat "$work/daemon.pid")" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
# A signal ends the script through the EXIT trap (the waits below let it in at once).
trap 'exit 130' INT
trap 'exit 143' TERM

# The fixture serves until its stdin closes; fd 3 holds it open, fd 4 reads its handshake.
mkfifo "$work/fixture-in" "$work/fixture-out"
python3 Tests/Conformance/fixture.py auth/metadata-default --spec-version 2026-07-28 \
    <"$work/fixture-in" >"$work/fixture-out" &
pids+=($!)
exec 3>"$work/fixture-in" 4<"$work/fixture-out"
read -r handshake <&4
resource=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["serverUrl"])' "$handshake")

# The browser stand-in follows the sign-in at once; a config file's array keeps paths whole.
python3 - "$work/config.toml" "$root/Tests/Conformance/browser.py" <<'TOML'
import json, sys
with open(sys.argv[1], "w") as config:
    config.write(f"allow_http_loopback = true\nbrowser_command = {json.dumps([sys.executable, sys.argv[2]])}\n")
TOML

# The interop venv's python has `cryptography`, for sealing the copied tokens as the daemon does.
"${TOKENBROKER_INTEROP_PYTHON:-python3}" Benchmarks/scale.py --daemon "$daemon" --cli "$cli" --work "$work" \
    --resource "$resource" --resources "$resources" &
pids+=($!)
wait "${pids[-1]}"
