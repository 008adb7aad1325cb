#!/usr/bin/env python3
"""The code in docs/*.md compiles: so a guide cannot drift from the API it shows.

Usage: check_doc_snippets.py DOCS_DIR INCLUDE_DIR LIBRARY CC [EXTRA_FLAGS]
(EXTRA_FLAGS: one string, e.g. "-fsanitize=address,undefined" for a sanitizer build's library)

Only blocks marked by the line `<!-- checked: unit/doc_snippets -->` right before their fence
are checked (sketches such as `s3i_<stage>_new` are not code):
* A ```c block that is a whole program (it has `int main(`) is compiled as strict C11 with
  -Wall -Wextra -Werror against INCLUDE_DIR and linked with LIBRARY.
* Any other ```c block is a fragment: it is compiled inside a function body with the public
  header included and its free names declared from the list in FRAGMENT_NAMES, so that a
  misspelt function or a wrong argument count fails.
* A ```python block must be valid Python (compile()).
Prints one line per snippet and exits 1 when any fails.
"""

import os
import re
import subprocess
import sys
import tempfile

MARK = "<!-- checked: unit/doc_snippets -->"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)

# Names the fragments use without declaring them: what a reader's surrounding code would have.
FRAGMENT_PRELUDE = """
#include <stdio.h>
#include <string.h>
#include <s3insights/s3insights.h>
int snippet(s3i_ctx *ctx, const char *json, s3i_buf buf);
int snippet(s3i_ctx *ctx, const char *json, s3i_buf buf)
{
	(void)ctx; (void)json; (void)buf;
"""
FRAGMENT_END = "\n\treturn 0;\n}\n"


def compile_c(cc, include, lib, code, whole, tmp, n, extra):
    src = os.path.join(tmp, f"snippet{n}.c")
    with open(src, "w", encoding="utf-8") as f:
        f.write(code if whole else FRAGMENT_PRELUDE + code + FRAGMENT_END)
    out = os.path.join(tmp, f"snippet{n}")
    cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
           "-Wno-unused-parameter", "-I", include] + extra
    if whole:
        cmd += [src, lib, "-o", out, f"-Wl,-rpath,{os.path.dirname(os.path.abspath(lib))}"]
    else:
        cmd += ["-c", src, "-o", out + ".o"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode == 0, p.stderr


def main():
    docs, include, lib, cc = sys.argv[1:5]
    extra = sys.argv[5].split() if len(sys.argv) > 5 else []
    failed = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(docs)):
            if not name.endswith(".md"):
                continue
            with open(os.path.join(docs, name), encoding="utf-8") as f:
                text = f.read()
            for m in FENCE.finditer(text):
                if not text[:m.start()].rstrip().endswith(MARK):
                    continue
                lang, code = m.group(1), m.group(2)
                line = text.count("\n", 0, m.start()) + 1
                where = f"docs/{name}:{line}"
                if lang == "c":
                    whole = re.search(r"\bint\s+main\s*\(", code) is not None
                    ok, err = compile_c(cc, include, lib, code, whole, tmp, checked, extra)
                    kind = "program" if whole else "fragment"
                elif lang == "python":
                    kind = "python"
                    try:
                        compile(code, where, "exec")
                        ok, err = True, ""
                    except SyntaxError as e:
                        ok, err = False, str(e)
                else:
                    continue
                checked += 1
                print(f"{'ok' if ok else 'FAILED'}: {where} ({kind})")
                if not ok:
                    failed += 1
                    print(err.rstrip())
    print(f"doc snippets: {checked - failed} passed, {failed} failed")
    return 1 if failed or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
