#!/usr/bin/env bash
# tokenbrokerd's cache hit next to a raw echo floor and oidc-agent, with one C load
# generator for every server, side by side in one run: one connection reused and a new
# connection per request, 1 and 8 clients, p50/p99 and throughput, `tokenbroker token`
# per process next to `oidc-token` and /bin/true, and the daemon's memory and threads.
# Every number is the median of ROUNDS rounds, the servers taking turns in each round,
# so a busy machine slows them alike; the ratios are the point.
#
#   Benchmarks/socket-suite.sh [--short] [--rounds N] [--binaries DIR] [--no-oidc-agent]
#
# --short: fewer requests (CI; under two minutes). --rounds: default 3. --binaries DIR:
# tokenbrokerd and tokenbroker from DIR instead of scripts/build-release.sh. oidc-agent's
# column needs oidc-agent-cli and liboidc-agent-dev; without them (or with
# --no-oidc-agent) it says so and goes on.
# Fails only when something breaks (a command fails, an answer is wrong), never on
# timing. Prints no token.
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

short=false rounds=3 binaries_dir="" want_oidc=true
while [ $# -gt 0 ]; do
    case $1 in
        --short) short=true ;;
        --rounds) rounds=$2; shift ;;
        --binaries) binaries_dir=$2; shift ;;
        --no-oidc-agent) want_oidc=false ;;
        *) echo "usage: $0 [--short] [--rounds N] [--binaries DIR] [--no-oidc-agent]" >&2; exit 2 ;;
    esac
    shift
done
if $short; then
    reuse_n=5000 fresh_n=2000 oidc_n=600 proc_runs=100 hits=100000
else
    reuse_n=20000 fresh_n=5000 oidc_n=1500 proc_runs=400 hits=1000000
fi
for tool in cc python3 hyperfine; do
    command -v "$tool" >/dev/null || { echo "socket-suite: needs $tool" >&2; exit 1; }
done

if [ -n "$binaries_dir" ]; then
    daemon=$binaries_dir/tokenbrokerd cli=$binaries_dir/tokenbroker
else
    mapfile -t built < <(scripts/build-release.sh)
    daemon=${built[0]} cli=${built[1]}
fi

work=$(mktemp -d)
pids=()
oidcd_pid=""
cleanup() {
    [ -n "$oidcd_pid" ] && kill "$oidcd_pid" 2>/dev/null
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The load generator and the floor, built in this run with the same compiler and flags.
cc -O2 -Wall -o "$work/loadgen" Benchmarks/loadgen/loadgen.c
cc -O2 -Wall -pthread -o "$work/echo" Benchmarks/loadgen/echo.c

wait_for_socket() {  # PATH PID NAME
    local tries=0
    until [ -S "$1" ]; do
        kill -0 "$2" 2>/dev/null || { echo "socket-suite: $3 did not start" >&2; exit 1; }
        tries=$((tries + 1))
        [ $tries -lt 400 ] || { echo "socket-suite: $3 did not listen within 20 s" >&2; exit 1; }
        sleep 0.05
    done
}

# --- tokenbrokerd, signed in once against the conformance fixture's fake servers.
# The fixture serves until its stdin closes; fd 3 holds it open, fd 4 reads its handshake.
mkfifo "$work/fixture-in" "$work/fixture-out"
python3 Tests/Conformance/fixture.py auth/metadata-default --spec-version 2026-07-28 \
    <"$work/fixture-in" >"$work/fixture-out" &
pids+=($!)
exec 3>"$work/fixture-in" 4<"$work/fixture-out"
read -r handshake <&4
resource=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["serverUrl"])' "$handshake")
python3 - "$work/config.toml" "$root/Tests/Conformance/browser.py" <<'TOML'
import json, sys
with open(sys.argv[1], "w") as config:
    config.write(f"allow_http_loopback = true\nbrowser_command = {json.dumps([sys.executable, sys.argv[2]])}\n")
TOML
tb_socket=$work/tokenbroker.sock
"$daemon" --socket "$tb_socket" --database "$work/broker.sqlite3" --key-file "$work/key" --config "$work/config.toml" --log-level error &
daemon_pid=$!
pids+=("$daemon_pid")
wait_for_socket "$tb_socket" "$daemon_pid" tokenbrokerd
"$cli" login "$resource" --socket "$tb_socket" >"$work/login.log" 2>&1 ||
    { cat "$work/login.log" >&2; echo "socket-suite: tokenbroker login failed" >&2; exit 1; }
line=$(python3 -c 'import json,sys; print(json.dumps({"jsonrpc":"2.0","id":1,"method":"token/get","params":{"resource":sys.argv[1],"interactive":False,"application":"loadgen"}}, separators=(",",":")))' "$resource")
# The floor answers with a line as long as the daemon's (its length, never its token).
answer_bytes=$(python3 - "$tb_socket" "$line" <<'PY'
import socket, sys
with socket.socket(socket.AF_UNIX) as s:
    s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: sys.exit("tokenbrokerd closed the connection")
        data += chunk
if b'"accessToken"' not in data: sys.exit("tokenbrokerd did not answer with a token")
print(len(data))
PY
)

# --- the floor in its two shapes: epoll workers (an event loop, as the daemon's) and a
# thread per connection (no event loop). Each row's floor is the faster of the two.
for model in epoll threads; do
    "$work/echo" --socket "$work/echo-$model.sock" --answer-bytes "$answer_bytes" --model "$model" &
    pids+=($!)
    [ "$model" = epoll ] && echo_pid=$!
    wait_for_socket "$work/echo-$model.sock" "$!" "echo ($model)"
done

# --- oidc-agent holding a real account: a fake provider on loopback, a refresh token
# imported with oidc-gen --rt, all under this run's own config folder and socket.
oidc=false
if $want_oidc && command -v oidc-agent >/dev/null && command -v oidc-gen >/dev/null && command -v oidc-token >/dev/null &&
    [ -f /usr/include/oidc-agent/api.h ]; then
    cc -O2 -Wall -DWITH_OIDC_AGENT -o "$work/loadgen-oidc" Benchmarks/loadgen/loadgen.c -loidc-agent
    mkfifo "$work/oidc-in" "$work/oidc-out"
    python3 Benchmarks/fake_oidc.py <"$work/oidc-in" >"$work/oidc-out" &
    pids+=($!)
    exec 5>"$work/oidc-in" 6<"$work/oidc-out"
    read -r issuer <&6
    export OIDC_CONFIG_DIR=$work/oidc-config
    mkdir -m 700 "$OIDC_CONFIG_DIR"
    eval "$(oidc-agent --no-autoload --quiet -a "$work/oidc-XXXXXX/agent.sock")" >/dev/null
    oidcd_pid=$OIDCD_PID
    # A fixed password for a throw-away account file; the refresh token is a dummy.
    OIDC_ENCRYPTION_PW=benchmark oidc-gen benchmark --iss="$issuer" --client-id=benchmark \
        --client-secret=benchmark --rt=benchmark-refresh --scope="openid offline_access" \
        --pw-env --confirm-default --prompt=none --no-url-call >"$work/oidc-gen.log" 2>&1 ||
        { cat "$work/oidc-gen.log" >&2; echo "socket-suite: oidc-gen failed" >&2; exit 1; }
    oidc-token benchmark >/dev/null
    oidc=true
else
    $want_oidc && echo "socket-suite: oidc-agent is not installed (apt-get install oidc-agent-cli liboidc-agent-dev): its column is left out"
fi

status() {  # PID FIELD: a /proc status field's number (VmRSS, RssAnon in kB; Threads)
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
rss() {  # PID: "total/anonymous" kB; the rest is the binary's and libraries' clean file pages
    echo "$(status "$1" VmRSS)/$(status "$1" RssAnon)"
}
# The daemon at rest after its sign-in, before any load.
sleep 1
rss_idle=$(rss "$daemon_pid") threads=$(status "$daemon_pid" Threads)

results=$work/results  # row server round p50 p99 per_s
measure() {  # ROW SERVER ROUND loadgen-arguments...
    local row=$1 server=$2 round=$3 out
    shift 3
    out=$("$@") || { echo "socket-suite: $server failed in '$row'" >&2; exit 1; }
    read -r _ p50 _ p99 _ per_s _ <<<"$out"
    echo "$row $server $round $p50 $p99 $per_s" >>"$results"
}
servers=("tokenbroker:$tb_socket" "echo-epoll:$work/echo-epoll.sock" "echo-threads:$work/echo-threads.sock")
for round in $(seq 1 "$rounds"); do
    for spec in "reuse 1 $reuse_n" "reuse 8 $((reuse_n / 4))" "fresh 1 $fresh_n" "fresh 8 $((fresh_n / 2))"; do
        read -r mode clients n <<<"$spec"
        for server in "${servers[@]}"; do
            measure "$mode-$clients" "${server%%:*}" "$round" "$work/loadgen" --socket "${server#*:}" \
                --line "$line"$'\n' --mode "$mode" --clients "$clients" --requests "$n"
        done
        # oidc-agent's client library opens a new connection (and key exchange) per call.
        if $oidc && [ "$mode" = fresh ]; then
            measure "$mode-$clients" oidc-agent "$round" "$work/loadgen-oidc" --oidc-account benchmark \
                --clients "$clients" --requests "$((oidc_n / (clients > 1 ? 2 : 1)))"
        fi
    done
    # A process per request: the CLI's start, connection and answer; /bin/true is the floor.
    procs=("true:/bin/true" "tokenbroker:$cli token $resource --socket $tb_socket")
    $oidc && procs+=("oidc-agent:oidc-token benchmark")
    for spec in "${procs[@]}"; do
        rm -f "$work/run.json"
        hyperfine -N --warmup 20 --runs "$proc_runs" --export-json "$work/run.json" "${spec#*:}" \
            >"$work/hyperfine.log" 2>&1 || { cat "$work/hyperfine.log" >&2; exit 1; }
        median=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1e6))' "$work/run.json")
        echo "process ${spec%%:*} $round $median 0 0" >>"$results"
    done
done

rss_rounds=$(rss "$daemon_pid")
# $hits more cache hits on 8 connections, then the memory again.
"$work/loadgen" --socket "$tb_socket" --line "$line"$'\n' --clients 8 --requests "$((hits / 8))" --warmup 0 >/dev/null ||
    { echo "socket-suite: tokenbrokerd failed the $hits hits" >&2; exit 1; }
rss_after=$(rss "$daemon_pid")
oidc_rss=""
$oidc && oidc_rss=$(rss "$oidcd_pid")
echo_rss=$(rss "$echo_pid")

python3 - "$results" "$rounds" "$oidc" "$rss_idle" "$rss_rounds" "$rss_after" "$threads" "$hits" "$oidc_rss" "$echo_rss" <<'PY'
import statistics, sys
path, rounds, oidc, rss_idle, rss_rounds, rss_after, threads, hits, oidc_rss, echo_rss = sys.argv[1:]
oidc = oidc == "true"
data = {}
for line in open(path):
    row, server, _, p50, p99, per_s = line.split()
    data.setdefault((row, server), []).append((float(p50), float(p99), float(per_s)))
def med(row, server, i):
    values = data.get((row, server))
    return statistics.median(v[i] for v in values) if values else None
def floor(row, i, faster):
    candidates = [(med(row, s, i), s[5:]) for s in ("echo-epoll", "echo-threads")]
    return faster(candidates)
def cell(value, unit):
    return "–" if value is None else (f"{value:.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}")
def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}×"
rows = []
for row, label in (("reuse-1", "cache hit, one connection"), ("fresh-1", "cache hit, a new connection per request")):
    for i, stat in ((0, "p50"), (1, "p99")):
        tb, (fl, shape), oa = med(row, "tokenbroker", i), floor(row, i, min), med(row, "oidc-agent", i)
        rows.append((f"{label}, {stat}", cell(tb, " µs"), f"{cell(fl, ' µs')} ({shape})", cell(oa, " µs"), ratio(tb, fl), ratio(tb, oa)))
for row, label in (("reuse-8", "cache hits, 8 clients on their own connections"), ("fresh-8", "cache hits, 8 clients, a new connection per request")):
    tb, (fl, shape), oa = med(row, "tokenbroker", 2), floor(row, 2, max), med(row, "oidc-agent", 2)
    k = lambda v: "–" if v is None else f"{v / 1000:.1f}k/s"
    rows.append((f"{label}, throughput", k(tb), f"{k(fl)} ({shape})", k(oa), ratio(tb, fl), ratio(tb, oa)))
tb, tr, oa = med("process", "tokenbroker", 0), med("process", "true", 0), med("process", "oidc-agent", 0)
rows.append(("`tokenbroker token` / `oidc-token` per process, median", cell(tb, " µs"), f"{cell(tr, ' µs')} (/bin/true)", cell(oa, " µs"), ratio(tb, tr), ratio(tb, oa)))
def mb(pair):  # "total/anonymous" kB
    total, anon = (int(x) for x in pair.split("/"))
    return f"{total / 1024:.1f} MB ({anon / 1024:.1f} anon)"
def total(pair):
    return int(pair.split("/")[0])
rows.append(("daemon RSS at rest after sign-in; threads", f"{mb(rss_idle)}; {threads}", "", "", "", ""))
rows.append(("RSS after the rounds", mb(rss_rounds), mb(echo_rss) + " (echo)", mb(oidc_rss) if oidc_rss else "–", "", ratio(total(rss_rounds), total(oidc_rss)) if oidc_rss else "–"))
rows.append((f"daemon RSS after {int(hits):,} more cache hits (growth)", mb(rss_after), "", "", "", f"{(total(rss_after) - total(rss_rounds)) / 1024:+.1f} MB"))
header = ("what (medians of %s rounds)" % rounds, "tokenbroker", "floor", "oidc-agent", "÷ floor", "÷ oidc-agent")
print("| " + " | ".join(header) + " |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print("Ratios are tokenbroker ÷ the other: above 1 is slower for times and larger for memory, faster for throughput.")
if not oidc:
    print("(no oidc-agent in this run: its column is empty)")
PY
