"""The ctypes structs of s3insights/_ffi.py have the C headers' exact layout.

A C program printing sizeof and offsetof of every member is compiled against the headers
(S3I_INCLUDE_DIR, else the source tree's include/) and compared with ctypes. A struct the
library fills must never be smaller in Python than in C (the library may write all of it),
and the members the binding reads must be where C has them.
"""

import ctypes
import os
import shutil
import subprocess
import tempfile
import unittest

from s3insights import _ffi

INCLUDE = os.environ.get("S3I_INCLUDE_DIR") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include"))
STRUCTS = [v for v in vars(_ffi).values()
           if isinstance(v, type) and issubclass(v, ctypes.Structure) and v.__name__.startswith("s3i_")]


class Layout(unittest.TestCase):
    def test_structs_match_the_headers(self):
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc or not os.path.isdir(INCLUDE):
            self.skipTest("needs a C compiler and the headers")
        lines = ["#include <stdio.h>", "#include <stddef.h>",
                 "#include <s3insights/s3insights.h>"]
        # The umbrella header leaves out the harvest and the stages: include them by name.
        lines += [f"#include <s3insights/{h}>" for h in sorted(os.listdir(
            os.path.join(INCLUDE, "s3insights"))) if h.startswith(("stage_", "harvest"))]
        lines.append("int main(void) {")
        for st in STRUCTS:
            lines.append(f'printf("{st.__name__} %zu\\n", sizeof({st.__name__}));')
            for name, _ in st._fields_:
                lines.append(f'printf("{st.__name__}.{name} %zu\\n", '
                             f'offsetof({st.__name__}, {name}));')
        lines += ["return 0;", "}"]
        with tempfile.TemporaryDirectory() as tmp:
            src, exe = os.path.join(tmp, "layout.c"), os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            p = subprocess.run([cc, "-std=c11", "-I", INCLUDE, src, "-o", exe],
                               capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
            self.assertEqual(p.returncode, 0, p.stderr)
            out = subprocess.run([exe], capture_output=True, text=True, check=True,
                                 env={k: v for k, v in os.environ.items()
                                      if k != "LD_PRELOAD"}).stdout
        c = dict(line.rsplit(" ", 1) for line in out.splitlines())
        self.assertGreaterEqual(len(STRUCTS), 27)
        for st in STRUCTS:
            self.assertEqual(ctypes.sizeof(st), int(c[st.__name__]),
                             f"sizeof({st.__name__}): ctypes and C differ")
            for name, _ in st._fields_:
                self.assertEqual(getattr(st, name).offset, int(c[f"{st.__name__}.{name}"]),
                                 f"offsetof({st.__name__}, {name}): ctypes and C differ")


if __name__ == "__main__":
    unittest.main()
