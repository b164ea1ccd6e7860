#!/usr/bin/env bash
# Builds tokenbroker_<version>_<arch>.deb from the release builds (scripts/build-release.sh)
# and prints its path. The version is TokenBrokerVersion.current, what --version prints.
# Binaries are stripped (debug info left out); the user units are systemd/'s with
# ExecStart=/usr/bin/tokenbrokerd; Depends comes from dpkg-shlibdeps.
#   scripts/package-deb.sh [OUTPUT-DIRECTORY]   (default: .build-deb)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=$(realpath -m "${1:-.build-deb}")
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/TokenBrokerProtocol/BrokerProtocol.swift)
[ -n "$version" ] || { echo "package-deb: no version in BrokerProtocol.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture)
mapfile -t built < <(scripts/build-release.sh)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/systemd/user" \
    "$pkg/usr/share/doc/tokenbroker" "$pkg/usr/share/man/man1" "$pkg/usr/share/man/man5" \
    "$pkg/usr/share/man/man7" "$pkg/usr/share/man/man8" "$pkg/usr/share/lintian/overrides" \
    "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
    "$pkg/usr/share/fish/vendor_completions.d"
for binary in "${built[@]}"; do
    install -m 0755 "$binary" "$pkg/usr/bin/"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/$(basename "$binary")"
done

# One copy of the units: install.sh uses systemd/ as is, the package points them at /usr/bin.
for unit in systemd/tokenbroker.socket systemd/tokenbroker.service; do
    sed -e 's|^ExecStart=%h/.local/bin/tokenbrokerd|ExecStart=/usr/bin/tokenbrokerd|' \
        -e 's|Install with scripts/install.sh.|Enable with systemctl --user enable --now tokenbroker.socket.|' \
        "$unit" >"$pkg/usr/lib/systemd/user/$(basename "$unit")"
    chmod 0644 "$pkg/usr/lib/systemd/user/$(basename "$unit")"
done

cli="$pkg/usr/bin/tokenbroker"
# bash sources its completions: no interpreter line.
"$cli" --generate-completion-script bash | sed '1{/^#!/d}' >"$pkg/usr/share/bash-completion/completions/tokenbroker"
"$cli" --generate-completion-script zsh >"$pkg/usr/share/zsh/vendor-completions/_tokenbroker"
"$cli" --generate-completion-script fish >"$pkg/usr/share/fish/vendor_completions.d/tokenbroker.fish"

# Man pages from the argument parsers (swift-argument-parser's generate-manual tool).
manual=$(swift build -c release --package-path .build/checkouts/swift-argument-parser \
    --scratch-path .build-manual --product generate-manual --show-bin-path)/generate-manual
[ -x "$manual" ] || swift build -c release --package-path .build/checkouts/swift-argument-parser \
    --scratch-path .build-manual --product generate-manual >&2
# generate-manual runs the program it is given with --experimental-dump-help; it gets a
# wrapper whose dump is fixed by scripts/manual-dump-help.py (ASCII spellings, no lone
# `help` subcommand, the page named for its binary: see there). Dated by the last commit,
# like the changelog, so the same tree builds the same pages.
manual_date=$(date -u -d "@$(git log -1 --format=%ct)" +%F)
manual_page() { # PROGRAM SECTION
    local name wrapper
    name=$(basename "$1")
    wrapper="$work/dump-$name"
    printf '#!/bin/bash\nexec python3 %q %q %q\n' "$root/scripts/manual-dump-help.py" "$name" "$1" >"$wrapper"
    chmod +x "$wrapper"
    install -d "$work/man$2"
    "$manual" "$wrapper" --section "$2" --date "$manual_date" --output-directory "$work/man$2" >&2
    [ -s "$work/man$2/$name.$2" ] || { echo "package-deb: no man page for $name" >&2; exit 1; }
    # generate-manual writes no SEE ALSO for a program's siblings; the pages name each other.
    {
        # (its last line has no newline)
        [ -z "$(tail -c 1 "$work/man$2/$name.$2")" ] || echo
        printf '.Sh "SEE ALSO"\n'
        local others=() page
        for page in "${man_pages[@]}"; do [ "$page" = "$name $2" ] || others+=("$page"); done
        for page in "${others[@]::${#others[@]}-1}"; do printf '.Xr %s ,\n' "$page"; done
        printf '.Xr %s\n' "${others[-1]}"
    } >>"$work/man$2/$name.$2"
    gzip -9n <"$work/man$2/$name.$2" >"$pkg/usr/share/man/man$2/$name.$2.gz"
}
man_pages=("tokenbroker 1" "tokenbroker-proxy 1" "tokenbroker.conf 5" "tokenbroker-protocol 7" "tokenbrokerd 8")
manual_page "$cli" 1
manual_page "$pkg/usr/bin/tokenbroker-proxy" 1
manual_page "$pkg/usr/bin/tokenbrokerd" 8
# Written by hand: the config file and a pointer to the protocol.
gzip -9n <docs/man/tokenbroker.conf.5 >"$pkg/usr/share/man/man5/tokenbroker.conf.5.gz"
gzip -9n <docs/man/tokenbroker-protocol.7 >"$pkg/usr/share/man/man7/tokenbroker-protocol.7.gz"

# What lintian flags by design (each with its reason, shipped in the override file).
cat >"$pkg/usr/share/lintian/overrides/tokenbroker" <<'OVERRIDES'
# The CLI is a static executable on purpose: scripts run `tokenbroker token` per request,
# and without the dynamic loader it starts several times faster (README, How fast).
tokenbroker: statically-linked-binary [usr/bin/tokenbroker]
# swift-nio-extras (NIOHTTPCompression, which async-http-client uses for compressed
# answers) compiles its own copy of zlib into the daemon and the proxy (CNIOExtrasZlib,
# symbols prefixed so they do not clash with libz); it is a source dependency of the
# Swift packages, not something this package can link against the system's zlib.
tokenbroker: embedded-library zlib [usr/bin/tokenbrokerd]
tokenbroker: embedded-library zlib [usr/bin/tokenbroker-proxy]
OVERRIDES

doc="$pkg/usr/share/doc/tokenbroker"
for file in README.md docs/protocol.md docs/hosts.md; do gzip -9n <"$file" >"$doc/$(basename "$file").gz"; done
printf 'tokenbroker (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- tokenbroker maintainers <maintainers@tokenbroker.invalid>  %s\n' \
    "$version" "$version" "$(date -R -d "@$(git log -1 --format=%ct)")" | gzip -9n >"$doc/changelog.gz"
# Machine-readable: the project and the third-party code linked into the programs.
install -m 0644 scripts/package-deb.copyright "$doc/copyright"
find "$pkg/usr/share" -type f -exec chmod 0644 {} +

# dpkg-shlibdeps wants a debian/control beside it.
install -d "$work/shlibs/debian"
printf 'Source: tokenbroker\n\nPackage: tokenbroker\nArchitecture: any\n' >"$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$pkg"/usr/bin/* 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: tokenbroker
Version: $version
Architecture: $arch
Maintainer: tokenbroker maintainers <maintainers@tokenbroker.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: per-user OAuth token broker for MCP clients
 tokenbroker is the ssh-agent of MCP authorization: one small daemon per user
 (tokenbrokerd, a socket-activated systemd user service) holds the OAuth tokens
 for every remote MCP server, signs in once in the browser and refreshes them,
 and MCP clients ask it for tokens over a Unix socket or with the tokenbroker
 command.
CONTROL
(cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"
install -d "$out"
deb="$out/tokenbroker_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
