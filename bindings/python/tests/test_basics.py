"""Loading, version, errors and run inputs: no server needed."""

import json
import os
import subprocess
import sys
import unittest

import s3insights as s3i

GOOD = {
    "run_id": "r1",
    "accounts": [{"id": "123456789012", "exclude": ["skip-me"]},
                 {"id": "210987654321", "role_name": "reader", "external_id": "x-1"}],
    "athena_queries": [{"name": "big", "query": "SELECT * FROM {ATHENA_DATABASE}.{ATHENA_TABLE}"}],
    "sender_email_address": "sender@example.com",
    "recipient_email_addresses": ["ops@example.com", "sec@example.com"],
    "supported_regions": ["us-east-1", "eu-west-1"],
    "snapshot": "list",
}


class Library(unittest.TestCase):
    def test_version_and_features(self):
        self.assertRegex(s3i.version(), r"^\d+\.\d+\.\d+$")
        major, minor, patch = map(int, s3i.version().split("."))
        self.assertEqual(s3i.version_num(), (major << 16) | (minor << 8) | patch)
        self.assertEqual((major, minor), (0, 1))
        self.assertTrue(s3i.features() & s3i.FEATURE_THREADS)

    def test_strerror_and_retryable(self):
        self.assertNotEqual(s3i.strerror(s3i.errors.ENOTFOUND), "unknown error")
        self.assertEqual(s3i.strerror(-9999), "unknown error")
        self.assertTrue(s3i.ThrottledError(s3i.errors.ETHROTTLED, "x").retryable)
        self.assertFalse(s3i.NotFoundError(s3i.errors.ENOTFOUND, "x").retryable)

    def test_library_not_found(self):
        env = dict(os.environ, S3I_LIBRARY="/nonexistent/libs3insights.so")
        p = subprocess.run([sys.executable, "-c", "import s3insights"], env=env,
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ImportError: s3insights: cannot load the C library from "
                      "S3I_LIBRARY=/nonexistent/libs3insights.so", p.stderr)


class Inputs(unittest.TestCase):
    def test_parse_and_read_back(self):
        with s3i.RunInput(GOOD) as r:
            self.assertEqual(r.run_id, "r1")
            self.assertEqual(r.accounts, [
                s3i.Account("123456789012", ["skip-me"], None, None),
                s3i.Account("210987654321", [], "reader", "x-1")])
            self.assertEqual(r.find_account("210987654321"), 1)
            self.assertEqual(r.find_account("000000000000"), -1)
            self.assertTrue(r.is_excluded(0, "skip-me"))
            self.assertFalse(r.is_excluded(0, "other"))
            self.assertEqual(r.queries, [s3i.Query("big", GOOD["athena_queries"][0]["query"])])
            self.assertEqual(r.render_query(0), "SELECT * FROM s3insights.r1inventorytable")
            self.assertEqual(r.sender, "sender@example.com")
            self.assertEqual(r.recipients, GOOD["recipient_email_addresses"])
            self.assertEqual(r.database, "s3insights")
            self.assertEqual(r.table, "r1inventorytable")
            self.assertEqual(r.regions, ["us-east-1", "eu-west-1"])
            self.assertTrue(r.is_region_supported("eu-west-1"))
            self.assertFalse(r.is_region_supported("ap-south-1"))
            self.assertFalse(r.is_smoke_test)
            self.assertIsNone(r.external_id)
            self.assertEqual(r.snapshot, "list")
            self.assertEqual(r.inventory_format, "CSV")
            self.assertEqual(r.object_versions, "All")
            self.assertEqual(r.engine, "athena")
            self.assertEqual(r.inventory_timeout_ms, 60 * 3600 * 1000)
            with self.assertRaises(s3i.InvalidError):
                r.render_query(5)

    def test_canonical_json_round_trip(self):
        a = s3i.RunInput(json.dumps(GOOD))
        text = a.to_json()
        b = s3i.RunInput(text.encode("utf-8"))  # bytes are taken as UTF-8 as they are
        self.assertEqual(a, b)
        self.assertEqual(b.to_json(), text)
        c = s3i.RunInput(dict(GOOD, run_id="r2"))
        self.assertNotEqual(a, c)

    def test_every_problem_listed(self):
        bad = dict(GOOD, run_id="BAD!", accounts=[{"id": "12345"}])
        del bad["sender_email_address"]
        with self.assertRaises(s3i.InputError) as cm:
            s3i.RunInput(bad)
        e = cm.exception
        self.assertEqual(e.code, s3i.errors.EINVALID)
        self.assertIsInstance(e, ValueError)
        fields = [p.field for p in e.problems]
        self.assertEqual(fields, ["run_id", "accounts[0].id", "sender_email_address"])
        self.assertTrue(e.problems[1].message.startswith("accounts[0].id: "))
        self.assertEqual(e.resource, "run_id")
        self.assertIn("accounts[0].id", e.message)

    def test_not_json(self):
        with self.assertRaises(s3i.InputError) as cm:
            s3i.RunInput("{not json")
        self.assertEqual(cm.exception.code, s3i.errors.EPARSE)
        self.assertEqual(len(cm.exception.problems), 1)

    def test_non_ascii_text(self):
        doc = dict(GOOD, athena_queries=[{"name": "größe", "query": "SELECT 'ünïcode ✓'"}])
        r = s3i.RunInput(doc)
        self.assertEqual(r.queries[0], s3i.Query("größe", "SELECT 'ünïcode ✓'"))
        self.assertIn("größe", r.to_json())

    def test_types(self):
        with self.assertRaises(TypeError):
            s3i.RunInput(42)

    def test_cleanup_input(self):
        self.assertIsNone(s3i.CleanupInput('{"manual_cleanup": true}').run_id)
        self.assertEqual(s3i.CleanupInput({"run_id": "r7"}).run_id, "r7")
        with self.assertRaises(s3i.InputError):
            s3i.CleanupInput("[]")

    def test_query_substitute(self):
        self.assertEqual(s3i.query_substitute("SELECT {x} FROM {ATHENA_DATABASE}.{ATHENA_TABLE}",
                                              "db", "t"), "SELECT {x} FROM db.t")

    def test_use_after_close(self):
        r = s3i.RunInput(GOOD)
        r.close()
        r.close()  # twice is fine
        self.assertTrue(r.closed)
        with self.assertRaises(ValueError):
            r.run_id


if __name__ == "__main__":
    unittest.main()
