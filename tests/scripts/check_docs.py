#!/usr/bin/env python3
"""Every public s3i_* symbol is documented in its header (STYLE R16, docs/api-stability.md).

Usage:
  check_docs.py --include DIR [--lib LIBRARY | --symbols NAME,NAME...]

The symbols checked are those exported by LIBRARY (`nm -D --defined-only`, or the names given
with --symbols) together with every `S3I_API` declaration in the headers under DIR. Each one
must be
  * declared in a header under DIR (an exported symbol without a public declaration fails),
  * preceded by a Doxygen comment (`/** ... */`, nothing but S3I_DEPRECATED(...) between it
    and the declaration), or be a member of a documented group: a `/** ... @{ */` comment
    opening it and `/** @} */` closing it, whose text then counts for every member,
  * documented with `@since`,
  * documented with `@return` or `@retval` when it returns `int` (a status or a 0/1 answer).

Prints one line per problem, `header:line: symbol: what is missing`, and exits 1 when there
is any; 0 with a count otherwise. A declared function the library does not export is listed
as a note (a header committed ahead of its implementation), not a failure.
"""

import argparse
import os
import re
import subprocess
import sys

COMMENT = re.compile(r"/\*.*?\*/", re.S)
API = re.compile(r"\bS3I_API\b")
NAME = re.compile(r"\b(s3i_\w+)\s*[(;\[]")
DEPRECATED = re.compile(r"S3I_DEPRECATED\s*\(\s*\"(?:[^\"\\]|\\.)*\"\s*\)\s*$", re.S)


class Decl:
    def __init__(self, name, header, line, ret, doc):
        self.name, self.header, self.line, self.ret, self.doc = name, header, line, ret, doc


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def is_doc(comment):
    # `/**<` documents the member before it, never what follows; `/***` rulers are not docs.
    return comment.startswith("/**") and not comment.startswith("/**<") \
        and not comment.startswith("/***") and comment != "/**/"


def parse_header(path, rel):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    comments = [(m.start(), m.end(), m.group(0)) for m in COMMENT.finditer(text)]

    def inside_comment(pos):
        return any(s <= pos < e for s, e, _ in comments)

    # Open groups: (start, end, text of the opener). A group opener is a doc comment holding
    # "@{"; its closer is the next comment holding "@}".
    groups = []
    opener = None
    for s, e, c in comments:
        if "@{" in c and is_doc(c):
            opener = (s, c)
        elif "@}" in c and opener is not None:
            groups.append((opener[0], e, opener[1]))
            opener = None

    decls = []
    for m in API.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if inside_comment(m.start()) or text[line_start:m.start()].lstrip().startswith("#"):
            continue
        end = text.find(";", m.end())
        if end < 0:
            continue
        stmt = text[m.end():end + 1]
        n = NAME.search(stmt)
        if not n:
            continue
        ret = " ".join(stmt[:n.start()].split())
        # What stands right before the declaration: skip S3I_DEPRECATED("...") and spaces.
        before = text[:m.start()].rstrip()
        dep = DEPRECATED.search(before)
        if dep:
            before = before[:dep.start()].rstrip()
        doc = ""
        if before.endswith("*/"):
            start = before.rfind("/*")
            c = before[start:]
            if is_doc(c) and "@{" not in c and "@}" not in c:
                doc = c
        d = Decl(n.group(1), rel, line_of(text, m.start()), ret, doc)
        d.pos = m.start()
        decls.append(d)

    # Doxygen's DISTRIBUTE_GROUP_DOC: the first member's documentation (and the opener's own
    # text) stands for every member of a group that has none of its own.
    for gs, ge, gtext in groups:
        members = [d for d in decls if gs < d.pos < ge]
        opener = re.sub(r"[/*\s]|[@\\][{}]", "", gtext)
        shared = "\n".join(t for t in (opener and gtext, members[0].doc if members else "") if t)
        for d in members:
            d.doc = "\n".join(t for t in (shared, d.doc) if t)

    if decls and not any(is_doc(c) and re.search(r"[@\\]file\b", c) for _, _, c in comments):
        decls[0].file_problem = (f"{rel}:1: no /** @file */ comment (Doxygen leaves the "
                                 f"functions of an undocumented file out of the reference)")
    return decls


def exported_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVWiu" and parts[2].startswith("s3i_"):
            names.add(parts[2].split("@")[0])
    return names


def problems_of(d):
    missing = []
    if not d.doc:
        return ["no Doxygen comment (/** ... */ right before it, or a documented @{ group)"]
    if not re.search(r"[@\\]since\b", d.doc):
        missing.append("no @since")
    if re.fullmatch(r"(const\s+)?int", d.ret) and not re.search(r"[@\\](return|retval)\b", d.doc):
        missing.append("returns int but no @return/@retval stating the codes")
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--include", required=True, help="directory of the public headers")
    ap.add_argument("--lib", help="shared library whose exports are checked")
    ap.add_argument("--symbols", help="comma-separated names, instead of --lib")
    args = ap.parse_args()

    decls = {}
    # Names are shown from the project's top: include/s3insights/ctx.h.
    top = os.path.dirname(os.path.dirname(os.path.abspath(args.include.rstrip("/"))))
    for root, _, files in os.walk(args.include):
        for f in sorted(files):
            if f.endswith(".h"):
                path = os.path.join(root, f)
                for d in parse_header(path, os.path.relpath(path, top)):
                    decls.setdefault(d.name, d)

    if args.lib:
        exported = exported_symbols(args.lib)
    elif args.symbols:
        exported = {s for s in args.symbols.split(",") if s}
    else:
        exported = set(decls)

    failures = []
    for d in decls.values():
        if getattr(d, "file_problem", None):
            failures.append(d.file_problem)
    for name in sorted(exported - set(decls)):
        failures.append(f"{name}: exported but declared with S3I_API in no header under "
                        f"{args.include}")
    for name in sorted(decls):
        d = decls[name]
        for p in problems_of(d):
            failures.append(f"{d.header}:{d.line}: {name}: {p}")
    for name in sorted(set(decls) - exported):
        d = decls[name]
        print(f"note: {d.header}:{d.line}: {name} is declared but not exported")

    for f in failures:
        print(f)
    if failures:
        print(f"FAILED: {len(failures)} documentation problem(s) in {len(decls)} public symbols")
        return 1
    print(f"docs: {len(decls)} public symbols documented ({len(exported)} exported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
