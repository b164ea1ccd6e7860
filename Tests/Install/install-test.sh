#!/usr/bin/env bash
# scripts/install.sh, then --uninstall, into a scratch HOME with systemctl stubbed (no
# user manager runs here): every file lands where the README says, the installed CLI
# runs, the socket unit is enabled, and uninstalling removes it all but the grants.
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/stub" "$home/.local/state/tokenbroker"
touch "$home/.local/state/tokenbroker/broker.sqlite3"
cat >"$home/stub/systemctl" <<'STUB'
#!/bin/sh
echo "systemctl $*" >>"$HOME/systemctl.log"
STUB
chmod +x "$home/stub/systemctl"
in_home() {
    env -u XDG_CONFIG_HOME -u XDG_DATA_HOME -u XDG_STATE_HOME HOME="$home" PATH="$home/stub:$PATH" "$@"
}
fail() { echo "install-test: $*" >&2; exit 1; }

installed=(
    .local/bin/tokenbrokerd
    .local/bin/tokenbroker
    .local/bin/tokenbroker-proxy
    .config/systemd/user/tokenbroker.socket
    .config/systemd/user/tokenbroker.service
    .local/share/bash-completion/completions/tokenbroker
    .local/share/zsh/site-functions/_tokenbroker
    .config/fish/completions/tokenbroker.fish
)

in_home "$root/scripts/install.sh" >"$home/install.out" 2>"$home/install.err" || {
    cat "$home/install.err" >&2
    fail "install.sh failed"
}
for file in "${installed[@]}"; do
    [ -s "$home/$file" ] || fail "install.sh did not install ~/$file"
done
[ "$(in_home "$home/.local/bin/tokenbroker" --version)" = "$(in_home "$home/.local/bin/tokenbrokerd" --version)" ] ||
    fail "the installed binaries disagree on their version"
in_home "$home/.local/bin/tokenbroker" proxy --help | grep -q "USAGE: tokenbroker proxy <url>" ||
    fail "the installed tokenbroker proxy does not run tokenbroker-proxy"
grep -qx "systemctl --user enable --now tokenbroker.socket" "$home/systemctl.log" || fail "the socket unit was not enabled"
grep -q "complete .*-F _tokenbroker tokenbroker" "$home/.local/share/bash-completion/completions/tokenbroker" || fail "no bash completion"

in_home "$root/scripts/install.sh" --uninstall >/dev/null
for file in "${installed[@]}"; do
    [ ! -e "$home/$file" ] || fail "--uninstall left ~/$file"
done
[ -e "$home/.local/state/tokenbroker/broker.sqlite3" ] || fail "--uninstall removed the grants"
echo "install-test: installed ${#installed[@]} files, ran them, removed them; the grants stayed"
