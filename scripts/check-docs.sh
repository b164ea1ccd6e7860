#!/usr/bin/env bash
# Builds the TokenBrokerClient documentation (its DocC article and every `///` comment)
# with the toolchain's docc, failing on any warning: a broken symbol link or an
# undocumented parameter of the public API.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
graphs=$(mktemp -d)
trap 'rm -rf "$graphs"' EXIT
swift build --scratch-path .build-docs --target TokenBrokerClient \
    -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$graphs" >&2
docc convert Sources/TokenBrokerClient/Documentation.docc --additional-symbol-graph-dir "$graphs" \
    --analyze --warnings-as-errors --output-path "$graphs/TokenBrokerClient.doccarchive" \
    --fallback-display-name TokenBrokerClient --fallback-bundle-identifier tokenbroker.TokenBrokerClient
echo "check-docs: TokenBrokerClient's documentation builds without warnings"
