"""s3i_secrets_followup against moto_server (ctest integration/extensibility).

A run of two buckets is driven stage by stage through the Python binding up to its table;
then moto gets canned Athena results for the run's queries (one FIFO per account and region,
consumed by every StartQueryExecution, so only after the table stage's statements), the query
stage runs, and the program under test is run as a separate process. The manifest it writes
(a local file and s3://) and the tags it sets are read back with boto3: --tag adds to the
tags an object has (same keys replaced, the others kept), and an object that would end up with
more than S3's 10 tags is reported and left as it was while the others are tagged.

Environment: S3I_FOLLOWUP (the program), S3I_LIBRARY (the library, for the binding).
"""

import json
import os
import subprocess
import tempfile
import unittest
import urllib.parse

import boto3

import s3insights as s3i
from motoserver import client_env, server

FOLLOWUP = os.environ.get("S3I_FOLLOWUP", "s3i_secrets_followup")
HOST = "123456789012"
DEPLOYMENT = "pyfollow"
# keys that need URL-encoding in a Batch Operations manifest
FLAGGED = [("fu-alpha", "keys/server.pem"), ("fu-alpha", "home/al ice/id_rsa"),
           ("fu-beta", "a,b/c+d=ファイル.key"), ("fu-beta", 'quo"te%25.pem')]
PLAIN = [("fu-alpha", "readme.txt"), ("fu-beta", "data/x.csv")]


def aws(moto, service):
    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def canned(moto, rows, columns):
    data = [{"Data": [{"VarCharValue": c} for c in columns]}]
    data += [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in rows]
    body = {"account_id": HOST, "region": "us-east-1",
            "results": [{"rows": data,
                         "column_info": [{"Name": c, "Type": "varchar"} for c in columns]}]}
    status, text = moto.http("POST", "/moto-api/static/athena/query-results", json.dumps(body))
    assert status == 201, (status, text)


class SecretsFollowup(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.moto = m = server()
        client_env(m)
        s3 = aws(m, "s3")
        for b in ("fu-alpha", "fu-beta"):
            s3.create_bucket(Bucket=b)
        for b, k in FLAGGED + PLAIN:
            s3.put_object(Bucket=b, Key=k, Body=b"x")
        aws(m, "ses").verify_email_identity(EmailAddress="sender@example.com")
        cls.ctx = s3i.Context(max_attempts=2)
        cls.d = s3i.Deployment(cls.ctx, name=DEPLOYMENT)
        cls.d.init()
        run_input = {
            "run_id": "f1", "accounts": [{"id": HOST}], "supported_regions": ["us-east-1"],
            "snapshot": "list", "sender_email_address": "sender@example.com",
            "recipient_email_addresses": ["team@example.com"],
            "athena_queries": [
                {"name": "secrets", "query": "select bucket, key from {ATHENA_TABLE} where "
                 "lower(substr(key,-4)) in ('.pem','.key') or key like '%id_rsa'"},
                {"name": "odd", "query": "select 1 as first, 2 as second"}]}
        with s3i.Run.start(cls.d, run_input) as run:
            with s3i.ProvisionStage(run) as st:
                st.run()
            with s3i.ConfigureStage(run) as st:
                st.run()
            with s3i.IngestStage(cls.d, wait_seconds=1) as st:
                for _ in range(30):
                    st.step(timeout=10)
                    if run.status().buckets_pending == 0:
                        break
            with s3i.PartitionStage(run) as st:
                st.run()
            with s3i.TableStage(run) as st:
                st.run()
            # what Athena would have found: the flagged keys, one row with an SQL NULL key
            canned(m, [list(r) for r in FLAGGED] + [["fu-beta", None]], ["bucket", "key"])
            canned(m, [["1", "2"]], ["first", "second"])
            with s3i.QueryStage(run, poll_interval_ms=10) as st:
                st.run()
            assert [q.state for q in run.queries()] == ["SUCCEEDED", "SUCCEEDED"]
        cls.s3 = s3
        cls.tmp = tempfile.mkdtemp(prefix="s3i-followup-")

    @classmethod
    def tearDownClass(cls):
        cls.d.close()
        cls.ctx.close()

    # the tags each flagged object has before a test (other tests tag them too)
    BEFORE = {("fu-alpha", "keys/server.pem"): {"owner": "ops", "cost-center": "sec-7"}}

    def setUp(self):
        for b, k in FLAGGED + PLAIN:
            self.set_tags(b, k, self.BEFORE.get((b, k), {}))

    def set_tags(self, bucket, key, tags):
        if tags:
            self.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [
                {"Key": k, "Value": v} for k, v in tags.items()]})
        else:
            self.s3.delete_object_tagging(Bucket=bucket, Key=key)

    def tags(self, bucket, key):
        return {t["Key"]: t["Value"]
                for t in self.s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}

    def followup(self, *args, expect=0):
        env = dict(os.environ, S3I_DEPLOYMENT=DEPLOYMENT)
        env.pop("ASAN_OPTIONS", None)   # the program is instrumented: leaks count there
        p = subprocess.run([FOLLOWUP] + list(args), capture_output=True, text=True, env=env,
                           timeout=300)
        self.assertEqual(p.returncode, expect, f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def expected_rows(self):
        return [f"{b},{urllib.parse.quote(k, safe='/')}" for b, k in FLAGGED]

    def check_manifest_text(self, text):
        lines = text.splitlines()
        self.assertEqual(lines, self.expected_rows())
        self.assertTrue(text.endswith("\n"))
        for line, (b, k) in zip(lines, FLAGGED):
            bucket, key = line.split(",")   # one comma: the key's are encoded
            self.assertEqual((bucket, urllib.parse.unquote(key)), (b, k))
            self.assertNotIn("+", key)   # '+' means a space to some decoders: always %2B
        self.assertIn("a%2Cb/c%2Bd%3D%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.key", text)

    def test_manifest_to_a_local_file(self):
        path = os.path.join(self.tmp, "manifest.csv")
        p = self.followup("--manifest", path, "f1")
        with open(path, encoding="utf-8") as f:
            self.check_manifest_text(f.read())
        self.assertIn("4 objects", p.stdout)
        self.assertIn("row 4 skipped: no key", p.stderr)
        self.assertFalse(os.path.exists(path + ".tmp"))

    def test_manifest_to_stdout(self):
        p = self.followup("--manifest", "-", "f1")
        self.check_manifest_text(p.stdout)

    def test_manifest_to_s3_then_tags(self):
        self.s3.create_bucket(Bucket="fu-manifests")
        p = self.followup("--manifest", "s3://fu-manifests/jobs/f1.csv", "--tag",
                          "s3insights=secret", "--tag", "run=f1", "f1")
        obj = self.s3.get_object(Bucket="fu-manifests", Key="jobs/f1.csv")
        self.check_manifest_text(obj["Body"].read().decode("utf-8"))
        self.assertIn("ETag " + obj["ETag"].strip('"'), p.stdout)   # CreateJob needs it
        self.assertIn("tagged: 4 of 4 objects (0 failed)", p.stdout)
        for b, k in FLAGGED:
            self.assertEqual(self.tags(b, k), dict(self.BEFORE.get((b, k), {}), run="f1",
                                                   s3insights="secret"), k)
        for b, k in PLAIN:
            self.assertEqual(self.tags(b, k), {}, k)

    def test_tags_are_added_to_those_an_object_has(self):
        # two tags of its own are kept; a given key it has already gets the new value
        self.set_tags("fu-beta", FLAGGED[2][1], {"retention": "7y", "review": "old"})
        p = self.followup("--tag", "review=secrets", "--tag", "empty=", "f1")
        self.assertIn("tagged: 4 of 4 objects (0 failed)", p.stdout)
        self.assertEqual(self.tags("fu-alpha", "keys/server.pem"),
                         {"owner": "ops", "cost-center": "sec-7", "review": "secrets",
                          "empty": ""})
        self.assertEqual(self.tags("fu-beta", FLAGGED[2][1]),
                         {"retention": "7y", "review": "secrets", "empty": ""})
        self.assertEqual(self.tags("fu-alpha", "home/al ice/id_rsa"),
                         {"review": "secrets", "empty": ""})
        # a second time changes nothing: the same keys are set again, none added
        self.followup("--tag", "review=secrets", "--tag", "empty=", "f1")
        self.assertEqual(self.tags("fu-beta", FLAGGED[2][1]),
                         {"retention": "7y", "review": "secrets", "empty": ""})

    def test_more_than_ten_tags_is_a_failure_of_that_object_only(self):
        nine = {f"t{i}": str(i) for i in range(9)}
        self.set_tags("fu-alpha", "home/al ice/id_rsa", nine)
        p = self.followup("--tag", "s3insights=secret", "--tag", "run=f1", "f1", expect=1)
        self.assertIn("s3://fu-alpha/home/al ice/id_rsa", p.stderr)
        self.assertIn("11 tags", p.stderr)
        self.assertIn("tagged: 3 of 4 objects (1 failed)", p.stdout)
        self.assertEqual(self.tags("fu-alpha", "home/al ice/id_rsa"), nine)   # unchanged
        for b, k in FLAGGED:
            if k != "home/al ice/id_rsa":
                self.assertEqual(self.tags(b, k)["s3insights"], "secret", k)

    def test_a_flagged_object_gone_is_reported_and_the_rest_tagged(self):
        self.s3.delete_object(Bucket="fu-alpha", Key="home/al ice/id_rsa")
        try:
            p = self.followup("--tag", "flag=2", "f1", expect=1)
        finally:
            self.s3.put_object(Bucket="fu-alpha", Key="home/al ice/id_rsa", Body=b"x")
        self.assertIn("home/al ice/id_rsa", p.stderr)
        self.assertIn("NoSuchKey", p.stderr)
        self.assertIn("tagged: 3 of 4 objects (1 failed)", p.stdout)
        self.assertEqual(self.tags("fu-beta", FLAGGED[2][1]), {"flag": "2"})

    def test_failures_and_usage(self):
        p = self.followup("--manifest", os.path.join(self.tmp, "x.csv"), "--query", "odd",
                          "f1", expect=1)
        self.assertIn("no column 'bucket'", p.stderr)
        self.assertIn("first second", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.csv")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.csv.tmp")))
        p = self.followup("--manifest", "-", "--query", "nosuch", "f1", expect=1)
        self.assertIn("nosuch", p.stderr)
        p = self.followup("--manifest", "-", "nosuchrun", expect=1)
        self.assertIn("nosuchrun", p.stderr)
        self.followup("f1", expect=2)                          # nothing to do
        self.followup("--tag", "novalue", "f1", expect=2)
        self.followup("--tag", "=value", "f1", expect=2)
        eleven = [a for i in range(11) for a in ("--tag", f"k{i}=v")]
        self.followup(*eleven, "f1", expect=2)
        self.followup("--manifest", "s3://bucketonly", "f1", expect=2)
        p = self.followup("--manifest", "s3://no-such-bucket-fu/m.csv", "f1", expect=1)
        self.assertIn("no-such-bucket-fu", p.stderr)


if __name__ == "__main__":
    unittest.main()
