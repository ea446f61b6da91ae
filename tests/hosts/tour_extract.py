#!/usr/bin/env python3
"""Extract the commands shown in README.md and in the EXAMPLES of the man
pages, for tests/hosts/tour.sh. Writes DIR/NNN.sh (one command, or one
"$ " session of a literal block), DIR/NNN.src (where it was shown) and,
for sessions, DIR/NNN.want (the output shown after the commands).

  README.md: the 4-space indented lines of the sections "On a fresh
  machine" and "A short tour"; '\\' continues a line, '#' lines are
  comments.
  man pages: in EXAMPLES, every .Dl line, and in .Bd -literal blocks the
  lines starting with "$ " (what follows each, up to the next "$ " or .Ed,
  is its output); blocks without "$ " are file contents, not commands.
"""
import os
import re
import sys


def roff(text):
    for a, b in (("\\(dq", '"'), ("\\-", "-"), ("\\e", "\\"), ("\\&", ""), ("\\(aq", "'")):
        text = text.replace(a, b)
    return text


def readme(path):
    out, section, pending = [], "", ""
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("## "):
            section = line[3:]
            continue
        if not (section.startswith("On a fresh machine") or section.startswith("A short tour")):
            continue
        if not line.startswith("    "):
            continue
        text = line[4:]
        if not pending and text.lstrip().startswith("#"):
            continue
        if text.endswith("\\"):
            pending += text[:-1].rstrip() + " "
            continue
        out.append(("%s:%d" % (os.path.basename(path), n), (pending + text.strip()).strip(), None))
        pending = ""
    return out


def man(path):
    out, in_ex, block, sess, start = [], False, False, None, 0
    name = os.path.basename(path)
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith(".Sh "):
            in_ex = line == ".Sh EXAMPLES"
            continue
        if not in_ex:
            continue
        if line.startswith(".Dl "):
            out.append(("%s:%d" % (name, n), roff(line[4:]), None))
        elif line.startswith(".Bd -literal"):
            block, sess, start = True, None, n
        elif line.startswith(".Ed"):
            if sess:
                out.append(("%s:%d" % (name, start), "\n".join(sess[0]), "\n".join(sess[1])))
            block, sess = False, None
        elif block and line.startswith("$ "):
            sess = sess or ([], [])
            sess[0].append(roff(line[2:]))
        elif block and sess:
            sess[1].append(roff(line))
    return out


def main():
    outdir, files = sys.argv[1], sys.argv[2:]
    cmds = []
    for f in files:
        cmds += readme(f) if f.endswith(".md") else man(f)
    for i, (src, cmd, want) in enumerate(cmds):
        base = os.path.join(outdir, "%03d" % i)
        open(base + ".sh", "w").write(cmd + "\n")
        open(base + ".src", "w").write(src + "\n")
        if want is not None:
            open(base + ".want", "w").write(want + "\n")
    print(len(cmds))


main()
