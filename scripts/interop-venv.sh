#!/usr/bin/env bash
# Creates or updates the interop fixture's virtualenv at .venv-interop/ from
# Tests/Interop/requirements.txt. Idempotent: a venv whose requirements are already
# installed is left alone. Progress goes to stderr; the last line on stdout is the
# venv's python, e.g.  PY=$(scripts/interop-venv.sh | tail -n 1)
# Needs python3 (>= 3.10) and, the first time on a bare Debian, apt-get for python3-venv.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-interop"
requirements="$root/Tests/Interop/requirements.txt"
stamp="$venv/.requirements.sha256"
python=${PYTHON:-python3}

say() { echo "interop-venv: $*" >&2; }

command -v "$python" >/dev/null || { say "$python not found; install python3"; exit 1; }

# Debian ships venv's ensurepip in a separate package; without it `python3 -m venv` fails.
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    say "python3 -m venv is unavailable; installing python3-venv with apt-get"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >&2
fi

# A venv whose interpreter no longer runs (python upgraded or removed) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    say "rebuilding broken $venv"
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    "$python" -m venv "$venv" >&2
fi

wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing $(grep -c '==' "$requirements") pinned packages"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
    echo "$wanted" > "$stamp"
else
    say "up to date"
fi

echo "$venv/bin/python"
