#!/usr/bin/env python3
"""check_docs.py finds every documentation fault of a fixture header and passes a clean one.

Usage: test_check_docs.py [DOXYGEN]
With DOXYGEN (a path), the good fixture must also give Doxygen no warning, so the checker's
idea of "documented" is Doxygen's, and the bad one must make Doxygen warn about its
undocumented functions.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_docs.py")
FIXTURES = os.path.join(HERE, "..", "fixtures", "docs")
GOOD = os.path.join(FIXTURES, "good", "s3insights")
BAD = os.path.join(FIXTURES, "bad", "s3insights")
DOXYGEN = None


def check(*args):
    p = subprocess.run([sys.executable, CHECK] + list(args), capture_output=True, text=True)
    problems = [l for l in p.stdout.splitlines() if not l.startswith(("note:", "FAILED:", "docs:"))]
    return p.returncode, problems, p.stdout


class CheckDocs(unittest.TestCase):
    def test_good_header_passes(self):
        rc, problems, out = check("--include", GOOD)
        self.assertEqual(rc, 0, out)
        self.assertEqual(problems, [])
        self.assertIn("docs: 6 public symbols documented", out)

    def test_bad_header_fails_with_every_fault(self):
        rc, problems, out = check("--include", BAD,
                                  "--symbols", "s3i_fixture_fine,s3i_fixture_not_declared")
        self.assertEqual(rc, 1, out)
        want = {
            ("nofile.h:1", "no /** @file */ comment"),
            ("s3i_fixture_not_declared", "exported but declared with S3I_API in no header"),
            ("s3i_fixture_undocumented", "no Doxygen comment"),
            ("s3i_fixture_no_since", "no @since"),
            ("s3i_fixture_no_return", "returns int but no @return/@retval"),
            ("s3i_fixture_trailing", "no Doxygen comment"),
            ("s3i_fixture_group_a", "no Doxygen comment"),
            ("s3i_fixture_group_b", "no Doxygen comment"),
        }
        for name, what in want:
            self.assertTrue(any(name in p and what in p for p in problems),
                            f"{name}: '{what}' not reported in:\n{out}")
        self.assertEqual(len(problems), len(want), out)
        # The documented one, the deprecated-style one and the member comment are not faults.
        self.assertFalse(any("s3i_fixture_fine" in p for p in problems), out)
        self.assertFalse(any("s3i_fixture_second" in p for p in problems), out)
        self.assertIn("FAILED: 8 documentation problem(s)", out)

    def test_exports_from_a_library(self):
        # --lib reads nm -D; a library exporting a name no header declares fails.
        if not shutil.which("nm") or not shutil.which("cc"):
            self.skipTest("needs nm and cc")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "x.c")
            lib = os.path.join(tmp, "libx.so")
            with open(src, "w") as f:
                f.write("int s3i_fixture_do(void *h, const char *n) { return 0; }\n"
                        "int s3i_fixture_secret(void) { return 1; }\n")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src], check=True)
            rc, problems, out = check("--include", GOOD, "--lib", lib)
            self.assertEqual(rc, 1, out)
            self.assertEqual(problems, ["s3i_fixture_secret: exported but declared with S3I_API "
                                        f"in no header under {GOOD}"], out)
            self.assertIn("note: good/s3insights/fixture.h", out)

    def doxygen_warnings(self, inc):
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "warnings.log")
            conf = os.path.join(tmp, "Doxyfile")
            with open(conf, "w") as f:
                f.write(f"INPUT = {inc}\nOUTPUT_DIRECTORY = {tmp}\nGENERATE_LATEX = NO\n"
                        "QUIET = YES\nWARN_IF_UNDOCUMENTED = YES\nDISTRIBUTE_GROUP_DOC = YES\n"
                        "OPTIMIZE_OUTPUT_FOR_C = YES\nJAVADOC_AUTOBRIEF = YES\n"
                        f"WARN_LOGFILE = {log}\nHAVE_DOT = NO\n")
            subprocess.run([DOXYGEN, conf], check=True, capture_output=True)
            with open(log) as f:
                return f.read()

    def test_doxygen_agrees(self):
        if not DOXYGEN:
            self.skipTest("doxygen not installed")
        self.assertEqual(self.doxygen_warnings(GOOD).strip(), "")
        bad = self.doxygen_warnings(BAD)
        for name in ("s3i_fixture_undocumented", "s3i_fixture_trailing", "s3i_fixture_group_a"):
            self.assertIn(name, bad)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        # CMake passes "S3I_DOXYGEN-NOTFOUND" (or "") when doxygen is not installed.
        DOXYGEN = sys.argv.pop(1)
        if not os.path.isfile(DOXYGEN):
            DOXYGEN = None
    unittest.main(verbosity=2)
