"""The context and the S3 calls against moto_server (through tests/moto_launcher.py)."""

import io
import os
import tempfile
import unittest

import s3insights as s3i
from motoserver import client_env, server

SLOWDOWN = ("<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message>"
            "<RequestId>FAULT123</RequestId></Error>")


class S3Calls(unittest.TestCase):
    def setUp(self):
        self.moto = server()
        client_env(self.moto)
        self.ctx = s3i.Context(max_attempts=1)
        self.s3 = self.ctx.s3
        self.s3.create_bucket("pybkt")

    def tearDown(self):
        self.ctx.close()

    def test_options_explicit(self):
        # Everything from options, nothing from the environment.
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            os.environ.pop(k)
        try:
            with s3i.Context(region="eu-west-1", endpoint_url=self.moto.url,
                             access_key_id="AKIDEXAMPLE", secret_access_key="secret",
                             session_token="token", max_attempts=2,
                             connect_timeout_ms=5000) as ctx:
                self.assertEqual(ctx.region, "eu-west-1")
                ctx.s3.create_bucket("pyexplicit")
                ctx.s3.put_object("pyexplicit", "k", "v")
                self.assertEqual(ctx.s3.get_object("pyexplicit", "k"), b"v")
        finally:
            client_env(self.moto)

    def test_bad_option(self):
        with self.assertRaises(s3i.InvalidError) as cm:
            s3i.Context(region="not a region!")
        self.assertEqual(cm.exception.resource, "region")
        self.assertIn("not a region!", cm.exception.message)

    def test_bytes_and_text(self):
        body = bytes(range(256)) * 4 + b"\0end"
        key = "dir/ünïcode key ✓.bin"
        self.s3.put_object("pybkt", key, body)
        self.assertEqual(self.s3.get_object("pybkt", key), body)
        self.s3.put_object("pybkt", "text.txt", "größe ✓")
        self.assertEqual(self.s3.get_object("pybkt", "text.txt").decode("utf-8"), "größe ✓")
        self.s3.put_object("pybkt", "empty", b"")
        self.assertEqual(self.s3.get_object("pybkt", "empty"), b"")
        keys = [o.key for o in self.s3.list_objects("pybkt")]
        self.assertIn(key, keys)

    def test_error_detail(self):
        with self.assertRaises(s3i.NotFoundError) as cm:
            self.s3.get_object("pybkt", "missing/key")
        e = cm.exception
        self.assertEqual(e.code, s3i.errors.ENOTFOUND)
        self.assertEqual(e.aws_code, "NoSuchKey")
        self.assertEqual(e.http_status, 404)
        self.assertIn("missing/key", e.resource)
        self.assertIn("missing/key", e.message)
        self.assertIn("pybkt", e.message)
        self.assertIsInstance(e, LookupError)
        with self.assertRaises(s3i.NotFoundError) as cm:
            self.s3.get_object("no-such-bucket-py", "k")
        self.assertEqual(cm.exception.aws_code, "NoSuchBucket")

    def test_fault_detail_and_retryable(self):
        self.moto.add_fault({"method": "PUT", "path": "^/pybkt/throttled", "status": 503,
                             "count": 1, "body": SLOWDOWN})
        with self.assertRaises(s3i.Error) as cm:
            self.s3.put_object("pybkt", "throttled", b"x")
        e = cm.exception
        self.assertIn(e.code, (s3i.errors.ETHROTTLED, s3i.errors.ESERVICE))
        self.assertTrue(e.retryable)
        self.assertEqual(e.aws_code, "SlowDown")
        self.assertEqual(e.http_status, 503)
        self.assertEqual(e.request_id, "FAULT123")
        # The rule is used up: the same call goes through now.
        self.s3.put_object("pybkt", "throttled", b"x")

    def test_listing(self):
        for k in ("a/1", "a/2", "a/sub/3", "b/4", "top"):
            self.s3.put_object("pybkt", k, k.encode())
        objs = list(self.s3.list_objects("pybkt", prefix="a/"))
        self.assertEqual([o.key for o in objs], ["a/1", "a/2", "a/sub/3"])
        self.assertEqual(objs[0].size, 3)
        self.assertTrue(objs[0].etag and '"' not in objs[0].etag)
        self.assertGreater(objs[0].last_modified_ms, 1_600_000_000_000)
        rolled = list(self.s3.list_objects("pybkt", delimiter="/"))
        self.assertEqual([o.key for o in rolled if isinstance(o, s3i.ObjectInfo)], ["top"])
        self.assertEqual(sorted(p.prefix for p in rolled if isinstance(p, s3i.CommonPrefix)),
                         ["a/", "b/"])
        # Pages of 2 give the same listing.
        self.assertEqual([o.key for o in self.s3.list_objects("pybkt", max_keys=2)],
                         ["a/1", "a/2", "a/sub/3", "b/4", "top"])
        self.assertEqual([o.key for o in self.s3.list_objects("pybkt", start_after="b/4")],
                         ["top"])
        with self.assertRaises(s3i.NotFoundError):
            list(self.s3.list_objects("no-such-bucket-py"))

    def test_listing_stops_early_and_is_streamed(self):
        for i in range(30):
            self.s3.put_object("pybkt", f"k{i:03d}", b"")
        it = self.s3.list_objects("pybkt", max_keys=5)
        first = [next(it) for _ in range(3)]
        self.assertEqual([o.key for o in first], ["k000", "k001", "k002"])
        it.close()  # stops the C listing (its callback returns non-zero)
        # The context is still usable, and so is a listing after it.
        self.assertEqual(len(list(self.s3.list_objects("pybkt"))), 30)

    def test_versions(self):
        self.s3.put_object("pybkt", "v", b"1")
        self.s3.put_object("pybkt", "v", b"2")
        vs = list(self.s3.list_object_versions("pybkt", prefix="v"))
        self.assertEqual(len(vs), 1)  # not versioned: one "null" version
        self.assertEqual(vs[0].version_id, "null")
        self.assertTrue(vs[0].is_latest)
        self.assertFalse(vs[0].is_delete_marker)

    def test_files_streams_and_copies(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "src.bin")
            with open(src, "wb") as f:
                f.write(b"0123456789" * 1000)
            self.s3.put_object_file("pybkt", "f1", src)
            meta = self.s3.upload_file("pybkt", "f2", src, content_type="text/plain")
            self.assertTrue(meta.etag)
            dst = os.path.join(tmp, "dst.bin")
            self.s3.get_object_file("pybkt", "f2", dst)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), b"0123456789" * 1000)
            with self.assertRaises(s3i.NotFoundError):
                self.s3.get_object_file("pybkt", "nope", dst)
            with self.assertRaises(s3i.LocalIOError):
                self.s3.put_object_file("pybkt", "f3", os.path.join(tmp, "absent"))
        # A stream, multipart with small parts (moto accepts parts under 5 MiB).
        data = os.urandom(300_000)
        meta = self.s3.upload("pybkt", "multi", io.BytesIO(data), multipart_threshold=100_000,
                              part_size=100_000)
        self.assertEqual(meta.parts, 3)
        self.assertTrue(meta.etag.endswith("-3"))
        got = io.BytesIO()
        m = self.s3.get_object_to("pybkt", "multi", got.write, reset=lambda: got.seek(0),
                                  range_start=10, range_length=100)
        self.assertEqual(got.getvalue(), data[10:110])
        self.assertEqual(m.content_length, 100)
        self.assertEqual(m.object_size, len(data))
        self.assertTrue(m.partial)
        c = self.s3.copy_object("pybkt", "multi", "pybkt", "copy")
        self.assertTrue(c.etag)
        self.assertEqual(self.s3.get_object("pybkt", "copy"), data)

    def test_callback_exception_propagates(self):
        self.s3.put_object("pybkt", "k", b"data")

        def sink(b):
            raise KeyError("from the sink")

        with self.assertRaises(KeyError) as cm:
            self.s3.get_object_to("pybkt", "k", sink)
        self.assertIsInstance(cm.exception.__cause__, s3i.Error)

        class Broken(io.RawIOBase):
            def read(self, n=-1):
                raise OSError("disk gone")

        with self.assertRaises(OSError):
            self.s3.upload("pybkt", "k2", Broken())

    def test_delete(self):
        for k in ("d1", "d2", "d3"):
            self.s3.put_object("pybkt", k, b"x")
        with self.assertRaises(s3i.ConflictError):
            self.s3.delete_bucket("pybkt")
        self.s3.delete_object("pybkt", "d1")
        self.s3.delete_objects("pybkt", ["d2", ("d3", None), "never-there"])
        self.assertEqual(list(self.s3.list_objects("pybkt")), [])
        self.moto.add_fault({"method": "POST", "path": "^/pybkt", "query": "delete",
                             "status": 200, "body":
                             "<DeleteResult><Error><Key>x1</Key><Code>AccessDenied</Code>"
                             "<Message>Access Denied</Message></Error></DeleteResult>"})
        with self.assertRaises(s3i.DeleteObjectsError) as cm:
            self.s3.delete_objects("pybkt", ["x1", "x2"])
        self.assertEqual(cm.exception.failures,
                         [s3i.DeleteFailure("x1", None, "AccessDenied", "Access Denied")])
        self.s3.delete_bucket("pybkt")
        with self.assertRaises(s3i.NotFoundError):
            self.s3.delete_bucket("pybkt")

    def test_put_object_tagging(self):
        import boto3
        cli = boto3.client("s3", endpoint_url=self.moto.url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        key = "dir/ファイル +1.pem"
        self.s3.put_object("pybkt", key, b"x")

        def tags():
            return sorted((t["Key"], t["Value"]) for t in
                          cli.get_object_tagging(Bucket="pybkt", Key=key)["TagSet"])
        self.s3.put_object_tagging("pybkt", key, {"s3insights": "secret", "größe": "ü"})
        self.assertEqual(tags(), [("größe", "ü"), ("s3insights", "secret")])
        self.assertEqual(self.s3.get_object_tagging("pybkt", key),
                         {"s3insights": "secret", "größe": "ü"})
        self.s3.put_object_tagging("pybkt", key, [("only", "one")])   # replaces the set
        self.assertEqual(tags(), [("only", "one")])
        self.s3.put_object_tagging("pybkt", key, {})
        self.assertEqual(tags(), [])
        self.assertEqual(self.s3.get_object_tagging("pybkt", key), {})
        with self.assertRaises(s3i.NotFoundError):
            self.s3.get_object_tagging("pybkt", "missing")
        with self.assertRaises(s3i.InvalidError) as cm:
            self.s3.put_object_tagging("pybkt", key, {f"k{i}": "v" for i in range(11)})
        self.assertIn("11 tags", cm.exception.message)
        with self.assertRaises(s3i.NotFoundError) as cm:
            self.s3.put_object_tagging("pybkt", "missing", {"a": "b"})
        self.assertEqual(cm.exception.aws_code, "NoSuchKey")

    def test_threads_share_a_context(self):
        import threading
        failures = []

        def work(n):
            try:
                for i in range(10):
                    key = f"t{n}/k{i}"
                    self.s3.put_object("pybkt", key, key.encode() * 100)
                    if self.s3.get_object("pybkt", key) != key.encode() * 100:
                        failures.append(key)
                if len(list(self.s3.list_objects("pybkt", prefix=f"t{n}/"))) != 10:
                    failures.append(f"listing of t{n}/")
                try:
                    self.s3.get_object("pybkt", f"t{n}/missing")
                except s3i.NotFoundError as e:  # this thread's detail, not another's
                    if f"t{n}/missing" not in e.message:
                        failures.append(e.message)
            except Exception as e:  # reported below
                failures.append(repr(e))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])

    def test_log_callback(self):
        lines = []
        with s3i.Context(log=lambda level, line: lines.append((level, line)),
                         log_level=s3i.LOG_DEBUG, secret_access_key="very-secret-value",
                         access_key_id="AKIAEXAMPLEEXAMPLE") as ctx:
            ctx.s3.create_bucket("pylog")
        self.assertTrue(lines)
        self.assertTrue(all(isinstance(l, str) for _, l in lines))
        self.assertFalse(any("very-secret-value" in l for _, l in lines))


if __name__ == "__main__":
    unittest.main()
