"""`pip install bindings/python` works offline and gives an importable package."""

import os
import subprocess
import sys
import tempfile
import unittest

PROJECT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


class Install(unittest.TestCase):
    def test_pip_install_offline(self):
        with tempfile.TemporaryDirectory() as target:
            pip_env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
            p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                                "--disable-pip-version-check", "--target", target, PROJECT],
                               capture_output=True, text=True, env=pip_env)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertTrue(os.path.exists(os.path.join(target, "s3insights", "_ffi.py")))
            self.assertTrue(os.path.exists(os.path.join(target, "s3insights-0.1.0.dist-info",
                                                        "RECORD")))
            # The installed copy imports and finds the library S3I_LIBRARY names.
            env = dict(os.environ, PYTHONPATH=target)
            q = subprocess.run([sys.executable, "-c",
                                "import s3insights, sys; print(s3insights.__file__); "
                                "print(s3insights.version())"],
                               capture_output=True, text=True, env=env, cwd=target)
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertTrue(q.stdout.startswith(os.path.join(target, "s3insights")), q.stdout)
            self.assertRegex(q.stdout.splitlines()[1], r"^0\.1\.\d+$")


if __name__ == "__main__":
    unittest.main()
