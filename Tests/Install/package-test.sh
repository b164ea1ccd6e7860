#!/usr/bin/env bash
# Builds the .deb, lints it (errors fail), and, in CI (CI=true, as root) or with
# TOKENBROKER_PACKAGE_INSTALL=1, installs it, runs both programs, verifies the units,
# finds the man pages, purges it and checks nothing of it is left. Prints the sizes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
deb=$(scripts/package-deb.sh | tail -n 1)
echo "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
lintian --fail-on error --info "$deb" || { echo "package-test: lintian reports errors" >&2; exit 1; }

if [ "${CI:-}" != "true" ] && [ "${TOKENBROKER_PACKAGE_INSTALL:-}" != "1" ]; then
    echo "package-test: not installing (set CI=true or TOKENBROKER_PACKAGE_INSTALL=1 on a throwaway machine)"
    exit 0
fi
# Every path of the package that the system does not have yet: after the purge none of
# them may exist (files, and the directories only this package made).
mapfile -t paths < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' | grep -v '^/\?$')
new_paths=()
for path in "${paths[@]}"; do [ -e "$path" ] || new_paths+=("$path"); done
# dpkg -i, not apt: it refuses a Depends the machine does not meet instead of fetching it,
# so a wrong Depends from dpkg-shlibdeps shows here (the build machine has every library).
dpkg -i "$(realpath "$deb")" >/dev/null
tokenbroker --version
tokenbrokerd --version
tokenbroker-proxy --help >/dev/null
ls -l /usr/bin/tokenbroker /usr/bin/tokenbrokerd /usr/bin/tokenbroker-proxy
if command -v systemd-analyze >/dev/null; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir -p "$scratch/home" "$scratch/run"
    HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run" systemd-analyze verify --user \
        /usr/lib/systemd/user/tokenbroker.socket /usr/lib/systemd/user/tokenbroker.service
else
    echo "package-test: no systemd-analyze, the installed units are not verified"
fi
# Slim images tell dpkg not to install man pages (path-exclude in /etc/dpkg/dpkg.cfg.d);
# say so rather than fail at man -w.
[ -f /usr/share/man/man1/tokenbroker.1.gz ] ||
    { echo "package-test: dpkg did not install the man pages (a path-exclude in /etc/dpkg/dpkg.cfg.d?)" >&2; exit 1; }
for page in tokenbroker tokenbrokerd tokenbroker-proxy tokenbroker.conf tokenbroker-protocol; do man -w "$page" >/dev/null; done
mapfile -t files < <(dpkg -L tokenbroker | while read -r path; do [ -f "$path" ] && echo "$path"; done)
[ ${#files[@]} -gt 10 ] || { echo "package-test: the package installed only ${#files[@]} files" >&2; exit 1; }
dpkg --purge tokenbroker >/dev/null
left=0
for path in "${files[@]}" "${new_paths[@]}"; do
    if [ -e "$path" ]; then echo "package-test: $path is left after the purge" >&2; left=1; fi
done
[ "$left" = 0 ] || exit 1
! dpkg -s tokenbroker >/dev/null 2>&1 || { echo "package-test: dpkg still knows tokenbroker" >&2; exit 1; }
echo "package-test: installed ${#files[@]} files (${#new_paths[@]} new paths), ran, verified, purged clean"
