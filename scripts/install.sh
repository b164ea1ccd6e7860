#!/usr/bin/env bash
# Installs tokenbroker for the current user: binaries in ~/.local/bin, systemd user
# units in ~/.config/systemd/user, socket enabled (the daemon starts on first use),
# shell completions for bash, zsh and fish.
#   scripts/install.sh              build (release, see scripts/build-release.sh) and install
#   scripts/install.sh --uninstall  stop, disable and remove binaries and units (keeps
#                                   the database in ~/.local/state/tokenbroker)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${HOME}/.local/bin"
units="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
completions=(
    "bash:$data/bash-completion/completions/tokenbroker"
    "zsh:$data/zsh/site-functions/_tokenbroker"
    "fish:${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/tokenbroker.fish"
)

if [ "${1:-}" = "--uninstall" ]; then
    systemctl --user disable --now tokenbroker.socket tokenbroker.service 2>/dev/null || true
    rm -f "$bin/tokenbrokerd" "$bin/tokenbroker" "$bin/tokenbroker-proxy" "$units/tokenbroker.socket" "$units/tokenbroker.service"
    for entry in "${completions[@]}"; do rm -f "${entry#*:}"; done
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
for entry in "${completions[@]}"; do
    file=${entry#*:}
    install -d -m 0755 "$(dirname "$file")"
    "$bin/tokenbroker" --generate-completion-script "${entry%%:*}" >"$file"
done
systemctl --user daemon-reload
systemctl --user enable --now tokenbroker.socket
echo "tokenbroker installed: the daemon starts when a client first connects to \$XDG_RUNTIME_DIR/tokenbroker/socket."
echo "Shell completions: bash and fish find them; for zsh add $data/zsh/site-functions to fpath."
echo "Try: tokenbroker status"
