"""A moto_server for the binding's tests, started as tests/support/moto.c does.

tests/moto_launcher.py runs on a free port (-p 0 --port-file, so no race for the port), is
ready when GET /moto-api/config answers 201, and dies with the test process (SIGTERM through
PR_SET_PDEATHSIG, and stop() at exit). Its output goes to $S3I_MOTO_LOG or a file in the
temporary directory, whose tail is shown when it does not start.
"""

import atexit
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.environ.get("S3I_MOTO_LAUNCHER") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "tests", "moto_launcher.py"))
_server = None


def _die_with_parent():
    libc = ctypes.CDLL(None)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Moto:
    def __init__(self):
        fd, self.port_file = tempfile.mkstemp(prefix="moto-python-", suffix=".port")
        os.close(fd)
        os.unlink(self.port_file)
        self.log_path = os.environ.get("S3I_MOTO_LOG") or os.path.join(
            tempfile.gettempdir(), f"moto-python-{os.getpid()}.log")
        # The server ignores the client settings; and a sanitizer runtime preloaded for the
        # library under test (ASan builds) is not the server's business either.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
        # Multipart tests use parts of kilobytes, as tests/integration/test_s3_multipart.c does.
        env["S3_UPLOAD_PART_MIN_SIZE"] = "1024"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [os.environ.get("S3I_PYTHON") or sys.executable, LAUNCHER, "-H", "127.0.0.1",
             "-p", "0", "--port-file", self.port_file],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"the server exited during start-up (status {self.proc.returncode})")
            if self.url is None and os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    port = f.read().strip()
                if port.isdigit():
                    self.url = f"http://127.0.0.1:{port}"
                    os.unlink(self.port_file)
            if self.url:
                try:
                    if self.http("GET", "/moto-api/config")[0] == 201:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        self._fail("the server was not ready within 60 s")

    def _fail(self, why):
        self.stop()
        with open(self.log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf-8", "replace")
        raise RuntimeError(f"moto: {why}; log {self.log_path}:\n{tail}")

    def http(self, method, path, body=None, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def reset(self):
        """Every backend emptied, fault rules removed."""
        assert self.http("POST", "/moto-api/reset")[0] == 200
        assert self.http("DELETE", "/_fault")[0] in (200, 204)

    def add_fault(self, rule):
        status, body = self.http("POST", "/_fault", json.dumps(rule))
        assert status in (200, 201), (status, body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def server():
    """The test process's one server (started on first use), reset for the caller."""
    global _server
    if _server is None:
        _server = Moto()
        atexit.register(_server.stop)
    _server.reset()
    return _server


def client_env(m):
    """Point the library at moto the way the C harness does."""
    os.environ.update({"AWS_ENDPOINT_URL": m.url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "AWS_CONFIG_FILE": "/nonexistent",
                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                       "AWS_EC2_METADATA_DISABLED": "true"})
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(k, None)
