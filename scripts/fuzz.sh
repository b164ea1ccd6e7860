#!/usr/bin/env bash
# Fuzzes one parser of outside bytes with libFuzzer (issue 12).
#
#   scripts/fuzz.sh TARGET [SECONDS]     one target, for SECONDS (default 60)
#   scripts/fuzz.sh TARGET --runs N      one target, for N executions (a campaign: 10000000)
#   scripts/fuzz.sh --smoke [SECONDS]    every target, SECONDS each (default 3): CI's smoke
#   scripts/fuzz.sh --list               the targets
#
# Builds tokenbroker-fuzz with -sanitize=fuzzer,address into .build-fuzz (a release
# build: several minutes the first time), seeds from Fuzz/corpus/TARGET and grows
# .build-fuzz/corpus/TARGET. A crash leaves its input in .build-fuzz/crashes/TARGET/ and
# exits non-zero: copy it into Fuzz/corpus/TARGET/ with the fix, and `swift run
# tokenbroker-fuzz` replays it in every later run.
set -euo pipefail
cd "$(dirname "$0")/.."

targets() { ls Fuzz/corpus; }
if [[ "${1:-}" == "--list" ]]; then targets; exit 0; fi
[[ $# -ge 1 ]] || { echo "usage: scripts/fuzz.sh TARGET [SECONDS] | --smoke [SECONDS] | --list" >&2; exit 64; }

build() {
    # lld: gold fails on the sanitized objects' debug information (an internal error).
    swift build -c release --scratch-path .build-fuzz --product tokenbroker-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DTOKENBROKER_FUZZING -Xswiftc -use-ld=lld >&2
}

run() {
    local target=$1 seconds=$2 runs_limit=${3:--1}
    [[ -d "Fuzz/corpus/$target" ]] || { echo "unknown target $target; scripts/fuzz.sh --list" >&2; exit 64; }
    mkdir -p ".build-fuzz/corpus/$target" ".build-fuzz/crashes/$target"
    # -rss_limit_mb and -max_len bound the work; the parsers take far less than 64 KiB.
    TOKENBROKER_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0 \
        .build-fuzz/release/tokenbroker-fuzz ".build-fuzz/corpus/$target" "Fuzz/corpus/$target" \
        -max_total_time="$seconds" -runs="$runs_limit" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/crashes/$target/" 2> ".build-fuzz/$target.log" || {
        tail -40 ".build-fuzz/$target.log" >&2
        echo "fuzz: $target FAILED; the input is in .build-fuzz/crashes/$target/" >&2
        return 1
    }
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' ".build-fuzz/$target.log" | grep -o '[0-9]*$' || echo "?")
    local took
    took=$(grep -o 'Done [0-9]* runs in [0-9]* second' ".build-fuzz/$target.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "$seconds")
    echo "fuzz: $target: $runs executions in ${took}s, no crash"
}

build
if [[ "$1" == "--smoke" ]]; then
    status=0
    for target in $(targets); do run "$target" "${2:-3}" || status=1; done
    exit $status
fi
if [[ "${2:-}" == "--runs" ]]; then
    [[ "${3:-}" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh TARGET --runs N" >&2; exit 64; }
    run "$1" 0 "$3"
else
    run "$1" "${2:-60}"
fi
