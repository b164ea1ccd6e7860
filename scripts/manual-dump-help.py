#!/usr/bin/env python3
"""Runs PROGRAM --experimental-dump-help and prints its JSON fixed for generate-manual.

    scripts/manual-dump-help.py NAME PROGRAM

scripts/package-deb.sh hands generate-manual a wrapper that runs this instead of the
program, because generate-manual (swift-argument-parser 1.x) takes the dump as it is:
- it drops every non-ASCII character ("Goose, ...)" came out as "Goose, )"), so the
  few typographic characters the help texts use are spelled in ASCII, and any other
  one fails the build rather than vanishing from the page;
- a command whose only subcommand is the automatic `help` got "subcommand" in its
  synopsis and a `help` entry, though it takes no subcommand;
- the page's name is the command's: the proxy calls itself "tokenbroker proxy" (how
  hosts run it), its page is named for its binary, NAME.
"""
import json
import subprocess
import sys

ASCII = {
    "\u2026": "...",  # ellipsis
    "\u2013": "-",  # en dash
    "\u2014": "--",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u00a0": " ",  # no-break space
}


def plain(value):
    if isinstance(value, str):
        for character, spelling in ASCII.items():
            value = value.replace(character, spelling)
        left = sorted({c for c in value if ord(c) > 127})
        if left:
            sys.exit(f"manual-dump-help: no ASCII spelling for {left!r} in: {value}")
        return value
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def prune(command):
    subcommands = command.get("subcommands")
    if subcommands is None:
        return
    if [sub.get("commandName") for sub in subcommands] == ["help"]:
        del command["subcommands"]
        return
    for sub in subcommands:
        prune(sub)


def main():
    name, program = sys.argv[1], sys.argv[2]
    dump = json.loads(
        subprocess.run([program, "--experimental-dump-help"], check=True, capture_output=True).stdout)
    dump = plain(dump)
    dump["command"]["commandName"] = name
    prune(dump["command"])
    json.dump(dump, sys.stdout)


if __name__ == "__main__":
    main()
