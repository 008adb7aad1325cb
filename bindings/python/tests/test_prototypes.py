"""Every C function the binding calls has a prototype, and each prototype has the header's
number of parameters (STYLE R18: argtypes/restype for every function used)."""

import os
import re
import unittest

from s3insights import _ffi

PACKAGE = os.path.dirname(os.path.abspath(_ffi.__file__))
INCLUDE = os.environ.get("S3I_INCLUDE_DIR") or os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include"))
DECL = re.compile(r"S3I_API\s[^;{]*?\b(s3i_\w+)\s*\(([^;]*?)\)\s*;", re.S)


def header_params():
    found = {}
    for root, _, files in os.walk(INCLUDE):
        for f in files:
            if f.endswith(".h"):
                with open(os.path.join(root, f), encoding="utf-8") as h:
                    text = re.sub(r"/\*.*?\*/", "", h.read(), flags=re.S)
                for name, params in DECL.findall(text):
                    params = params.strip()
                    found[name] = 0 if params in ("", "void") else params.count(",") + 1
    return found


class Prototypes(unittest.TestCase):
    def test_every_called_function_is_declared(self):
        used = set()
        for f in os.listdir(PACKAGE):
            if f.endswith(".py") and f != "_ffi.py":
                with open(os.path.join(PACKAGE, f), encoding="utf-8") as src:
                    text = src.read()
                used |= set(re.findall(r"\blib\.(s3i_\w+)", text))
                used |= set(re.findall(r"_ffi_fn\(\"(s3i_\w+)\"\)", text))
        self.assertGreater(len(used), 60)
        self.assertEqual(sorted(used - set(_ffi._PROTOTYPES)), [])

    def test_prototypes_match_the_headers(self):
        if not os.path.isdir(INCLUDE):
            self.skipTest("headers not found")
        params = header_params()
        for name, (_, argtypes) in _ffi._PROTOTYPES.items():
            self.assertIn(name, params, f"{name} is declared in no public header")
            self.assertEqual(len(argtypes), params[name], f"{name}: argument count")

    def test_every_prototype_is_exported(self):
        self.assertEqual(_ffi.missing, [])


if __name__ == "__main__":
    unittest.main()
