#!/usr/bin/env bash
# Installs tokenbroker for the current user: binaries in ~/.local/bin, systemd user
# units in ~/.config/systemd/user, socket enabled (the daemon starts on first use).
#   scripts/install.sh              build (release, see scripts/build-release.sh) and install
#   scripts/install.sh --uninstall  stop, disable and remove binaries and units (keeps
#                                   the database in ~/.local/state/tokenbroker)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${HOME}/.local/bin"
units="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"

if [ "${1:-}" = "--uninstall" ]; then
    systemctl --user disable --now tokenbroker.socket tokenbroker.service 2>/dev/null || true
    rm -f "$bin/tokenbrokerd" "$bin/tokenbroker" "$units/tokenbroker.socket" "$units/tokenbroker.service"
    systemctl --user daemon-reload 2>/dev/null || true
    echo "tokenbroker removed; your grants stay in ${XDG_STATE_HOME:-$HOME/.local/state}/tokenbroker (delete it to forget them)."
    exit 0
fi

cd "$root"
binaries=$(scripts/build-release.sh)
mapfile -t built <<<"$binaries"
install -d -m 0755 "$bin" "$units"
install -m 0755 "${built[@]}" "$bin/"
install -m 0644 systemd/tokenbroker.socket systemd/tokenbroker.service "$units/"
systemctl --user daemon-reload
systemctl --user enable --now tokenbroker.socket
echo "tokenbroker installed: the daemon starts when a client first connects to \$XDG_RUNTIME_DIR/tokenbroker/socket."
echo "Try: tokenbroker status"
