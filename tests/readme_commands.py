#!/usr/bin/python3
"""The shell commands of a Markdown file's sh code blocks, or of a man
page's .EX blocks, for tests/e2e/readme.sh: one per command, continuation
lines (ending in |, \\ or &&) joined, comment lines left out; each written
as LINE<TAB>COMMAND and a NUL.

usage: readme_commands.py README.md|PAGE.1"""
import re
import sys

# the roff escapes man pages' examples use
ROFF = {"\\e": "\\", "\\-": "-", "\\(dq": '"', "\\(aq": "'", "\\\\": "\\", "\\(ti": "~", "\\&": ""}


def unroff(line):
    return re.sub(r"\\\\|\\e|\\-|\\\(dq|\\\(aq|\\\(ti|\\&", lambda m: ROFF[m.group(0)], line)


def main():
    path = sys.argv[1]
    roff = not path.endswith(".md")
    lines = open(path, encoding="utf-8").read().split("\n")
    out = sys.stdout
    inside = False
    cmd, at = "", 0
    for n, line in enumerate(lines, 1):
        if roff and line.startswith((".EX", ".EE")):
            inside = line.startswith(".EX")
            continue
        if not roff and line.startswith("```"):
            inside = not inside and line.strip() == "```sh"
            continue
        if not inside:
            continue
        if roff:
            line = unroff(line)
        s = line.strip()
        if not cmd and (not s or s.startswith("#")):
            continue
        if not cmd:
            at = n
        cmd = cmd + ("\n" if cmd else "") + line
        body = s.split("  #")[0].rstrip()
        if body.endswith("\\") or body.endswith("|") or body.endswith("&&"):
            continue
        out.write(f"{at}\t{cmd}\0")
        cmd = ""
    if cmd:
        out.write(f"{at}\t{cmd}\0")


if __name__ == "__main__":
    main()
