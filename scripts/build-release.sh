#!/usr/bin/env bash
# Release builds of tokenbrokerd, tokenbroker and tokenbroker-proxy, as installed; prints
# the three binaries' paths, daemon first, then the CLI, then the proxy.
#
# tokenbrokerd links the Swift runtime statically (--static-swift-stdlib): it needs only
# libsqlite3, libstdc++ and libc at run time. tokenbroker is a fully static executable
# (-static-executable): scripts run `tokenbroker token` once per request, and with no
# dynamic loader it starts in a fraction of the time (the loader's symbol lookups for
# libstdc++ were most of a static-stdlib binary's start). It uses no glibc function
# that needs NSS or dlopen at run time. It builds in its own folder because other flags
# rebuild every module. tokenbroker-proxy (what `tokenbroker proxy` runs, found next to
# tokenbroker) links the HTTP stack like the daemon, and is built like it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
swift build -c release --static-swift-stdlib --product tokenbrokerd >&2
swift build -c release --static-swift-stdlib --product tokenbroker-proxy >&2
swift build -c release --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-cli \
    --product tokenbroker >&2
daemon_products=$(swift build -c release --show-bin-path)
cli_products=$(swift build -c release --scratch-path .build-cli --show-bin-path)
echo "$daemon_products/tokenbrokerd"
echo "$cli_products/tokenbroker"
echo "$daemon_products/tokenbroker-proxy"
