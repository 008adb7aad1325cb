#!/usr/bin/env python3
"""End-to-end tests of the `s3insights` runner against moto_server (issue 4, "Must show").

Each test starts from a reset server, seeds an estate with boto3 (examples/demo/seed_estate.py,
independent of the library), runs the runner as a separate process and checks the outcome
with boto3: the consolidated gzip CSVs hold every seeded object version exactly once under
the right account=/region=/bucketname= partition, the statuses and reasons are right, Athena
saw the table and partition statements, the e-mail lists every bucket and query, and nothing
transient is left behind.

Environment: S3I_RUNNER (the runner binary), S3I_SOURCE_DIR (the source tree),
S3I_E2E_SCALE (objects in a typical bucket; default 20), S3I_E2E_ONLY (a test name filter).
"""

import calendar
import csv
import hashlib
import gzip
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from collections import Counter

import boto3
from botocore.config import Config

SOURCE = os.environ.get("S3I_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
RUNNER = os.environ.get("S3I_RUNNER", os.path.join(SOURCE, "build", "examples", "runner", "s3insights"))
SCALE = int(os.environ.get("S3I_E2E_SCALE", "20"))
sys.path.insert(0, os.path.join(SOURCE, "examples", "demo"))
import seed_estate  # noqa: E402

HOST, MEMBER = seed_estate.HOST, seed_estate.MEMBER
DEPLOYMENT = "e2etest"
ALL_REGIONS = seed_estate.REGIONS + [seed_estate.OUTSIDE]


def read_text(path):
    with open(path) as f:
        return f.read()


class Moto:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="s3i-e2e-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "moto.log"), "w")
        env = dict(os.environ, S3_UPLOAD_PART_MIN_SIZE="64")
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(SOURCE, "tests", "moto_launcher.py"), "-p", "0",
             "--port-file", port_file], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(port_file) and read_text(port_file).strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("moto_server did not start; see " + self.log.name)
            time.sleep(0.1)
        self.port = int(read_text(port_file).strip())
        self.url = "http://127.0.0.1:%d" % self.port

    def post(self, path, body=b"", content_type="text/plain"):
        req = urllib.request.Request(self.url + path, data=body, method="POST",
                                     headers={"Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return r.read()

    def reset(self):
        req = urllib.request.Request(self.url + "/_fault", method="DELETE")
        urllib.request.urlopen(req, timeout=30).read()
        self.post("/moto-api/reset-auth", b"inf")
        self.post("/moto-api/reset")

    def fault(self, rule):
        self.post("/_fault", json.dumps(rule).encode(), "application/json")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


moto = None


def setUpModule():
    global moto
    moto = Moto()


def tearDownModule():
    moto.stop()


def aws(service, region="us-east-1", account=HOST, creds=None):
    kw = dict(endpoint_url=moto.url, region_name=region,
              config=Config(s3={"addressing_style": "path"}))
    if account == MEMBER and creds is None:
        creds = seed_estate.member_creds(moto.url, DEPLOYMENT)
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"],
                  aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kw)


class RunnerTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        moto.reset()
        self.tmp = tempfile.mkdtemp(prefix="s3i-e2e-run-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="testing",
                        AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                        AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                        AWS_EC2_METADATA_DISABLED="true", S3I_DEPLOYMENT=DEPLOYMENT,
                        S3I_RETRY_BASE_MS="10")

    # ---- helpers

    def seed(self, run_id="r1", scale=SCALE):
        inp = os.path.join(self.tmp, "input-%s.json" % run_id)
        exp = os.path.join(self.tmp, "expect.json")
        seed_estate.main(["--endpoint", moto.url, "--deployment", DEPLOYMENT, "--run-id", run_id,
                          "--scale", str(scale), "--input", inp, "--expect", exp])
        with open(exp) as f:
            self.expect = json.load(f)
        return inp

    def cli(self, *args, env=None, check=None, timeout=600):
        e = dict(self.env)
        if env:
            e.update(env)
        p = subprocess.run([RUNNER, "--quiet"] + list(args), env=e, capture_output=True,
                           text=True, timeout=timeout)
        if check is not None and p.returncode != check:
            self.fail("s3insights %s exited %d (wanted %d)\nstdout:\n%s\nstderr:\n%s"
                      % (" ".join(args), p.returncode, check, p.stdout[-4000:], p.stderr[-4000:]))
        return p

    def init(self):
        p = self.cli("--json", "init", check=0)
        self.dep = json.loads(p.stdout)
        return self.dep

    def status(self, run_id):
        p = self.cli("--json", "status", "--run", run_id, check=0)
        return json.loads(p.stdout)

    def consolidated_rows(self, run_id):
        """Every row of the run's consolidated data: (account, bucket, key, version, partition)."""
        s3 = aws("s3")
        bucket = self.dep["consolidated_bucket"]
        rows = []
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="inventory/%s/" % run_id):
            for o in page.get("Contents", []):
                parts = dict(p.split("=", 1) for p in o["Key"].split("/") if "=" in p)
                data = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                text = gzip.decompress(data).decode("utf-8")
                for r in csv.reader(io.StringIO(text)):
                    rows.append((parts.get("account"), parts.get("region"),
                                 parts.get("bucketname"), r))
        return rows

    def check_rows_exactly_once(self, run_id):
        got = Counter()
        regions = {(b["account"], b["bucket"]): b["region"] for b in self.expect["buckets"]}
        for account, region, bucketname, r in self.consolidated_rows(run_id):
            bucket, key = r[0], urllib.parse.unquote_plus(r[1])
            version = r[2] if len(r) > 2 else ""
            self.assertEqual(bucket, bucketname, "row of %s under partition %s" % (bucket, bucketname))
            self.assertEqual(region, regions[(account, bucket)], "partition region of %s" % bucket)
            got[(account, bucket, key, version)] += 1
        want = Counter((v["account"], v["bucket"], v["key"], v["version_id"])
                       for v in self.expect["versions"])
        twice = {k: n for k, n in got.items() if n > 1}
        self.assertEqual(twice, {}, "rows present more than once")
        missing = set(want) - set(got)
        extra = set(got) - set(want)
        self.assertEqual((sorted(missing)[:10], sorted(extra)[:10]), ([], []),
                         "%d rows missing, %d unexpected" % (len(missing), len(extra)))

    def check_statuses(self, st):
        by = {(b["account"], b["bucket"]): b for b in st["buckets"]}
        for b in self.expect["buckets"]:
            got = by.get((b["account"], b["bucket"]))
            self.assertIsNotNone(got, "bucket %s not recorded" % b["bucket"])
            self.assertEqual(got["status"], b["expect"], "status of %s: %s" % (b["bucket"], got))
            self.assertEqual(got["region"], b["region"])
            if b["expect"] in ("excluded", "skipped_region", "empty"):
                self.assertTrue(got["reason"], "no reason for %s" % b["bucket"])

    def check_nothing_transient_left(self, run_id):
        prefix = "%s-%s-" % (DEPLOYMENT, run_id)
        for account in (HOST, MEMBER):
            s3 = aws("s3", account=account)
            names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
            self.assertEqual([n for n in names if n.startswith(prefix)], [],
                             "staging buckets left in %s" % account)
            for name in names:
                if name.startswith(DEPLOYMENT):
                    continue
                cfgs = s3.list_bucket_inventory_configurations(Bucket=name)
                self.assertEqual(cfgs.get("InventoryConfigurationList", []), [],
                                 "inventory configuration left on %s" % name)
        for region in ALL_REGIONS:
            cfn = aws("cloudformation", region)
            live = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
                    if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"]
            self.assertEqual(live, [], "stacks left in %s" % region)
            sns = aws("sns", region)
            topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if prefix in t["TopicArn"]]
            self.assertEqual(topics, [], "topics left in %s" % region)

    def sent_mail(self):
        data = json.loads(moto.get("/moto-api/data.json"))
        ses = data.get("ses", {})
        return [m.get("raw_data", "") for m in ses.get("RawMessage", [])]

    # ---- tests

    def test_full_run_list_snapshot(self):
        inp = self.seed("r1")
        self.init()
        p = self.cli("--json", "run", inp, check=0)
        st = json.loads(p.stdout)
        self.assertEqual(st["phase"], "done")
        self.assertTrue(st["finished"])
        self.check_statuses(st)
        self.check_rows_exactly_once("r1")
        # Athena saw the database, the table and one partition per harvested bucket
        ath = aws("athena")
        ids = ath.list_query_executions()["QueryExecutionIds"]
        sql = [ath.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
        text = "\n".join(sql)
        self.assertIn("CREATE DATABASE IF NOT EXISTS", text)
        self.assertIn("CREATE EXTERNAL TABLE", text)
        for b in self.expect["buckets"]:
            if b["expect"] == "done":
                self.assertIn("`bucketname`='%s'" % b["bucket"], re.sub(r"\s*=\s*", "=", text),
                              "no partition for %s" % b["bucket"])
        # the e-mail lists every bucket and every query
        mails = self.sent_mail()
        self.assertTrue(mails, "no e-mail sent")
        mail = mails[-1]
        for b in self.expect["buckets"]:
            self.assertIn(b["bucket"], mail)
        for q in ("secrets", "largest", "by month"):
            self.assertIn(q, mail)
        self.check_nothing_transient_left("r1")
        # a finished run id cannot be used again
        again = self.cli("run", inp)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("finished", again.stderr)

    def write_delivery(self, account, bucket, cfg, stamp, extra_rows=(), multipart=False):
        """A delivery in S3 Inventory's own layout and order, built here from the bucket's
        listing with the csv/gzip/hashlib modules (not by the library): data files with
        quoted fields and +-encoded keys (the first uploaded by multipart when asked), then
        the dated folder's manifest.json, then manifest.checksum, then hive/.../symlink.txt."""
        dest = cfg["Destination"]["S3BucketDestination"]
        staging = dest["Bucket"].split(":::", 1)[1]
        base = "%s/%s/%s" % (dest["Prefix"], bucket, cfg["Id"])
        src = aws("s3", self.region_of[(account, bucket)], account=account)
        rows = []
        for page in src.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                # S3 Inventory leaves VersionId empty for objects stored while unversioned
                vid = "" if v["VersionId"] == "null" else v["VersionId"]
                rows.append([bucket, urllib.parse.quote_plus(v["Key"], safe="/"), vid,
                             str(v["IsLatest"]).lower(), "false", str(v["Size"]),
                             v["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                             v["ETag"].strip('"'), v.get("StorageClass", "STANDARD")])
            for d in page.get("DeleteMarkers", []):
                rows.append([bucket, urllib.parse.quote_plus(d["Key"], safe="/"), d["VersionId"],
                             str(d["IsLatest"]).lower(), "true", "", 
                             d["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"), "", ""])
        rows += list(extra_rows)
        st = aws("s3", "us-east-1")
        files = []
        half = max(1, len(rows) // 2)
        for n, chunk in enumerate((rows[:half], rows[half:])):
            if not chunk:
                continue
            out = io.StringIO()
            csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(chunk)
            body = gzip.compress(out.getvalue().encode("utf-8"))
            key = "%s/data/%s-%d.csv.gz" % (base, stamp, n)
            if multipart and n == 0:
                up = st.create_multipart_upload(Bucket=staging, Key=key)
                cut = max(1, len(body) // 2)
                parts = []
                for i, piece in enumerate((body[:cut], body[cut:]), 1):
                    r = st.upload_part(Bucket=staging, Key=key, PartNumber=i,
                                       UploadId=up["UploadId"], Body=piece)
                    parts.append({"PartNumber": i, "ETag": r["ETag"]})
                st.complete_multipart_upload(Bucket=staging, Key=key, UploadId=up["UploadId"],
                                             MultipartUpload={"Parts": parts})
            else:
                st.put_object(Bucket=staging, Key=key, Body=body)
            files.append({"key": key, "size": len(body),
                          "MD5checksum": hashlib.md5(body).hexdigest()})
        when = time.strptime(stamp, "%Y-%m-%dT%H-%MZ")
        manifest = json.dumps({
            "sourceBucket": bucket, "destinationBucket": dest["Bucket"], "version": "2016-11-30",
            "creationTimestamp": str(int(calendar.timegm(when)) * 1000), "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, "
                          "LastModifiedDate, ETag, StorageClass",
            "files": files}).encode()
        st.put_object(Bucket=staging, Key="%s/%s/manifest.json" % (base, stamp), Body=manifest)
        checksum_key = "%s/%s/manifest.checksum" % (base, stamp)
        st.put_object(Bucket=staging, Key=checksum_key,
                      Body=hashlib.md5(manifest).hexdigest().encode())
        st.put_object(Bucket=staging, Key="%s/hive/dt=%s/symlink.txt" % (
            base, time.strftime("%Y-%m-%d-%H-%M", when)),
            Body="".join("s3://%s/%s\n" % (staging, f["key"]) for f in files).encode())
        return staging, checksum_key

    def test_inventory_path_from_a_realistic_delivery(self):
        inp = self.seed("v1", scale=max(5, SCALE // 2))
        with open(inp) as f:
            doc = json.load(f)
        doc["snapshot"] = "inventory"
        with open(inp, "w") as f:
            json.dump(doc, f)
        self.region_of = {(b["account"], b["bucket"]): b["region"] for b in self.expect["buckets"]}
        self.init()
        proc = subprocess.Popen([RUNNER, "--quiet", "--json", "run", inp], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 300
            while True:
                p = self.cli("--json", "status", "--run", "v1")
                st = json.loads(p.stdout) if p.returncode == 0 else {"phase": "not started"}
                if st["phase"] == "waiting":
                    break
                self.assertIsNone(proc.poll(), proc.stderr.read() if proc.poll() else "")
                self.assertLess(time.time(), deadline, "never reached the wait: %s" % st)
                time.sleep(1)
            waiting = [(b["account"], b["bucket"]) for b in st["buckets"]
                       if b["status"] == "in_progress"]
            expected = sorted((b["account"], b["bucket"]) for b in self.expect["buckets"]
                              if b["expect"] == "done")
            self.assertEqual(sorted(waiting), expected)
            cfgs = {}
            for account, bucket in waiting:
                s3 = aws("s3", self.region_of[(account, bucket)], account=account)
                lst = s3.list_bucket_inventory_configurations(Bucket=bucket)
                cfgs[(account, bucket)] = lst["InventoryConfigurationList"][0]
            # a test event first, as S3 sends when a notification is put
            sqs = aws("sqs")
            qurl = sqs.get_queue_url(QueueName="%s-sqs-consolidate-inventory-files" % DEPLOYMENT)["QueueUrl"]
            sqs.send_message(QueueUrl=qurl, MessageBody=json.dumps(
                {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-04T00:00:00.000Z",
                 "Bucket": "x", "RequestId": "1", "HostId": "2"}))
            first = waiting[0]
            staging, ck = self.write_delivery(*first, cfgs[first], "2026-12-04T00-00Z", multipart=True)
            while self.bucket_status("v1", first) != "done":
                self.assertIsNone(proc.poll())
                time.sleep(1)
            # a later delivery for the same bucket: recorded and ignored
            ghost = [first[1], "ghost.txt", "v-ghost", "true", "false", "1",
                     "2026-12-04T00:00:00.000Z", "x", "STANDARD"]
            self.write_delivery(*first, cfgs[first], "2026-12-05T00-00Z", extra_rows=[ghost])
            for n, key in enumerate(waiting[1:]):
                staging, ck = self.write_delivery(*key, cfgs[key], "2026-12-04T00-00Z",
                                                  multipart=(n == 0))
                if n == 1:
                    # the same event once more inside an SNS envelope (as without raw delivery)
                    event = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
                             "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": staging, "arn": "arn:aws:s3:::" + staging},
                                    "object": {"key": urllib.parse.quote_plus(ck, safe="/"),
                                               "size": 32}}}]}
                    sqs.send_message(QueueUrl=qurl, MessageBody=json.dumps(
                        {"Type": "Notification", "MessageId": "m-1",
                         "TopicArn": "arn:aws:sns:us-east-1:%s:t" % HOST,
                         "Subject": "Amazon S3 Notification", "Message": json.dumps(event),
                         "Timestamp": "2026-12-04T00:00:00.000Z"}))
            out, err = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, err[-3000:])
        st = json.loads(out)
        self.assertEqual(st["phase"], "done")
        self.check_statuses(st)
        self.check_rows_exactly_once("v1")
        self.check_nothing_transient_left("v1")

    def bucket_status(self, run_id, key):
        for b in self.status(run_id)["buckets"]:
            if (b["account"], b["bucket"]) == key:
                return b["status"]
        return None

    def test_bad_input_lists_every_problem_and_creates_nothing(self):
        bad = {"run_id": "Bad-Run", "accounts": [{"id": "12345"}],
               "athena_table_name": "x; drop table y", "athena_queries": [],
               "sender_email_address": "a@example.com", "recipient_email_addresses": []}
        path = os.path.join(self.tmp, "bad.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        p = self.cli("run", path)
        self.assertEqual(p.returncode, 2, p.stderr)
        for field in ("run_id", "accounts[0].id", "athena_table_name", "recipient_email_addresses"):
            self.assertIn(field, p.stderr)
        self.assertIn("4 problems", p.stderr)
        self.assertEqual(aws("dynamodb").list_tables()["TableNames"], [])
        self.assertEqual(aws("s3").list_buckets()["Buckets"], [])
        self.assertEqual(aws("sqs").list_queues().get("QueueUrls", []), [])

    def test_crash_and_resume_at_each_point(self):
        points = ["snapshot.mid_data_file", "ingest.after_manifest_check", "ingest.after_copy",
                  "ingest.before_delete_message", "teardown.mid"]
        only = os.environ.get("S3I_E2E_CRASH_POINTS")
        if only:
            points = only.split(",")
        for point in points:
            with self.subTest(point=point):
                moto.reset()
                run_id = "c%d" % points.index(point)
                inp = self.seed(run_id, scale=max(5, SCALE // 2))
                self.init()
                p = self.cli("run", inp, env={"S3I_TEST_CRASH_AT": point})
                self.assertEqual(p.returncode, -signal.SIGKILL,
                                 "not killed at %s: exit %d\n%s" % (point, p.returncode, p.stderr[-3000:]))
                p = self.cli("--json", "run", inp, check=0)
                st = json.loads(p.stdout)
                self.assertEqual(st["phase"], "done")
                self.check_statuses(st)
                self.check_rows_exactly_once(run_id)
                self.check_nothing_transient_left(run_id)

    def test_crash_after_send_sends_the_report_at_most_twice(self):
        # docs/stages.md "Sent once": a kill between SES's answer and the notify#report record
        # is the one window for a duplicate (at-least-once). The resumed run sends the report
        # again exactly once more and finishes; no other message is sent twice.
        inp = self.seed("m1", scale=5)
        self.init()
        p = self.cli("run", inp, env={"S3I_TEST_CRASH_AT": "notify.after_send"})
        self.assertEqual(p.returncode, -signal.SIGKILL, p.stderr[-3000:])
        before = self.sent_mail()
        self.assertEqual(len(before), 1, "one report accepted by SES before the kill")
        p = self.cli("--json", "run", inp, check=0)
        st = json.loads(p.stdout)
        self.assertEqual(st["phase"], "done")
        after = self.sent_mail()
        self.assertEqual(len(after), 2, "the unrecorded report is sent once more, no more")
        subject = [l for l in before[0].splitlines() if l.startswith("Subject:")]
        self.assertTrue(subject)
        self.assertIn(subject[0], after[1])
        # a further resume of the finished run is refused and sends nothing
        p = self.cli("run", inp)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(len(self.sent_mail()), 2)
        self.check_rows_exactly_once("m1")
        self.check_nothing_transient_left("m1")

    def test_resume_rides_out_a_failing_consolidated_bucket(self):
        # A kill after a data file was copied leaves a claimed manifest for the resumed run's
        # wait to partition. Copies into the consolidated bucket then fail with 503 for longer
        # than the partition's own retries: the run waits, tries again and finishes, instead of
        # failing on a failure that passes.
        inp = self.seed("t1", scale=5)
        self.init()
        p = self.cli("run", inp, env={"S3I_TEST_CRASH_AT": "ingest.after_copy"})
        self.assertEqual(p.returncode, -signal.SIGKILL, p.stderr[-3000:])
        moto.fault({"method": "PUT", "path": "^/%s/" % self.dep["consolidated_bucket"],
                    "status": 503, "count": 40,
                    "body": "<Error><Code>SlowDown</Code><Message>injected</Message></Error>"})
        p = self.cli("--json", "run", inp, check=0)
        st = json.loads(p.stdout)
        self.assertEqual(st["phase"], "done", p.stderr[-3000:])
        self.assertIn("trying again", p.stderr)
        self.check_statuses(st)
        self.check_rows_exactly_once("t1")
        self.check_nothing_transient_left("t1")

    def test_cleanup_after_failure_removes_everything_twice(self):
        inp = self.seed("f1")
        self.init()
        # every Athena statement fails: the run fails in the table stage, after ingest
        moto.fault({"target": "AmazonAthena.StartQueryExecution", "status": 400, "count": -1,
                    "content_type": "application/x-amz-json-1.1",
                    "body": json.dumps({"__type": "InvalidRequestException",
                                        "Message": "injected: no Athena today"})})
        p = self.cli("run", "--keep-on-failure", inp)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("table", p.stderr)
        self.assertIn("no Athena today", p.stderr)
        st = self.status("f1")
        self.assertEqual(st["phase"], "failed")
        self.assertEqual(st["error_stage"], "table")
        # something transient exists before cleanup
        names = [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
        self.assertTrue([n for n in names if n.startswith("%s-f1-" % DEPLOYMENT)])
        self.cli("cleanup", "--run", "f1", check=0)
        self.check_nothing_transient_left("f1")
        self.assertEqual(self.status("f1")["phase"], "cleaned")
        self.cli("cleanup", "--run", "f1", check=0)
        self.check_nothing_transient_left("f1")

    def test_cleanup_all_cleans_every_unfinished_run(self):
        inp = self.seed("m1")
        self.init()
        # nothing unfinished yet
        p = self.cli("--json", "cleanup", "--all", check=0)
        self.assertEqual(json.loads(p.stdout), {"runs": []})
        # a run kept after a failure is unfinished (failed, not cleaned)
        moto.fault({"target": "AmazonAthena.StartQueryExecution", "status": 400, "count": -1,
                    "content_type": "application/x-amz-json-1.1",
                    "body": json.dumps({"__type": "InvalidRequestException",
                                        "Message": "injected: no Athena today"})})
        self.assertEqual(self.cli("run", "--keep-on-failure", inp).returncode, 1)
        self.assertEqual(self.status("m1")["phase"], "failed")
        p = self.cli("--json", "cleanup", "--all", check=0)
        self.assertEqual(json.loads(p.stdout), {"runs": [{"run_id": "m1", "cleaned": True}]})
        self.assertEqual(self.status("m1")["phase"], "cleaned")
        self.check_nothing_transient_left("m1")
        # cleaned runs are finished: a second --all has nothing to do
        p = self.cli("cleanup", "--all", check=0)
        self.assertIn("no unfinished run", p.stdout)

    def test_two_runs_at_once_do_not_disturb_each_other(self):
        inp1 = self.seed("p1")
        self.init()
        with open(inp1) as f:
            doc = json.load(f)
        doc["run_id"] = "p2"
        inp2 = os.path.join(self.tmp, "input-p2.json")
        with open(inp2, "w") as f:
            json.dump(doc, f)
        e = dict(self.env)
        procs = [subprocess.Popen([RUNNER, "--quiet", "--json", "run", i], env=e,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in (inp1, inp2)]
        outs = [pr.communicate(timeout=900) for pr in procs]
        for pr, (out, err) in zip(procs, outs):
            self.assertEqual(pr.returncode, 0, err[-3000:])
            self.assertEqual(json.loads(out)["phase"], "done")
        self.check_rows_exactly_once("p1")
        self.check_rows_exactly_once("p2")

    def test_full_run_with_signature_checking(self):
        # one account: the member account's cross-account role does not exist in moto's IAM
        moto.post("/moto-api/reset-auth", b"4")
        iam = aws("iam")
        iam.create_user(UserName="ci")
        iam.put_user_policy(UserName="ci", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"],
                 "SessionToken": None}
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1",
                          aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"],
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="signed-a")
        for i in range(SCALE):
            s3.put_object(Bucket="signed-a", Key="safe/object-%d.txt" % i, Body=b"x" * i)
        boto3.client("ses", endpoint_url=moto.url, region_name="us-east-1",
                     aws_access_key_id=key["AccessKeyId"],
                     aws_secret_access_key=key["SecretAccessKey"]).verify_email_identity(
            EmailAddress="s3insights@example.com")
        self.env.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                        AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        del creds
        doc = seed_estate.run_input("s1")
        doc["accounts"] = [{"id": HOST}]
        path = os.path.join(self.tmp, "signed.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        self.init()
        p = self.cli("--json", "run", path, check=0)
        st = json.loads(p.stdout)
        self.assertEqual(st["phase"], "done")
        mine = [b for b in st["buckets"] if b["bucket"] == "signed-a"]
        self.assertEqual([b["status"] for b in mine], ["done"], mine)
        self.assertEqual(st["objects"], SCALE)
        # a wrong secret is refused: signatures really are checked
        bad = dict(self.env, AWS_SECRET_ACCESS_KEY="wrong")
        p = subprocess.run([RUNNER, "status", "--run", "s1"], env=bad, capture_output=True,
                           text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)


    def test_smoke_test_changes_nothing_lasting(self):
        """DESIGN §3: a smoke test copied from a real input (only run_id and is_smoke_test
        changed; here "snapshot": "inventory" too) still lists, at most 1,000 objects per
        bucket, under random database and table names recorded on the run, and its teardown
        drops them and deletes its data: nothing lasting is left."""
        inp = self.seed("sm1", scale=max(5, SCALE // 2))
        with open(inp) as f:
            doc = json.load(f)
        doc["is_smoke_test"] = True
        doc["snapshot"] = "inventory"
        with open(inp, "w") as f:
            json.dump(doc, f)
        s3 = aws("s3")
        s3.create_bucket(Bucket="demo-a-big")
        for i in range(1100):
            s3.put_object(Bucket="demo-a-big", Key="big/%04d.txt" % i, Body=b"x")
        dep = self.init()
        p = self.cli("--json", "run", inp, check=0)
        st = json.loads(p.stdout)
        self.assertEqual(st["phase"], "done")
        self.assertTrue(st["finished"])
        by = {(b["account"], b["bucket"]): b for b in st["buckets"]}
        big = by[(HOST, "demo-a-big")]
        self.assertEqual((big["status"], big["objects"]), ("done", 1000))
        for b in st["buckets"]:
            self.assertLessEqual(b["objects"], 1000, b)
        self.assertEqual(by[(HOST, "demo-a-logs")]["status"], "done")
        # the random names, recorded on the run item
        item = aws("dynamodb").get_item(
            TableName=dep["state_table"], ConsistentRead=True,
            Key={"partitionkey": {"S": "run#sm1"}, "sortkey": {"S": "#run"}})["Item"]
        db, table = item["smoke_database"]["S"], item["smoke_table"]["S"]
        self.assertRegex(db, r"^s3i_smoke_[a-z0-9]{10}$")
        self.assertEqual(table, "smoke_" + db[len("s3i_smoke_"):])
        # the executed statements use them (never the input's names) and end with the DROPs
        ath = aws("athena")
        ids = ath.list_query_executions()["QueryExecutionIds"]
        sql = [ath.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
        self.assertEqual(sql[0], "CREATE DATABASE IF NOT EXISTS `%s`" % db)
        self.assertTrue(any("CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s_raw`" % (db, table) in q
                            for q in sql), sql)
        self.assertTrue(any("from %s " % table in q for q in sql), "no query on the smoke table")
        text = "\n".join(sql)
        self.assertNotIn("`s3insights`", text)
        self.assertNotIn("sm1inventorytable", text)
        self.assertEqual(sql[-3:], [
            'DROP VIEW IF EXISTS "%s"."%s"' % (db, table),
            "DROP TABLE IF EXISTS `%s`.`%s_raw`" % (db, table),
            "DROP DATABASE IF EXISTS `%s` CASCADE" % db])
        names = [d["Name"] for d in ath.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]]
        self.assertNotIn(db, names)
        # no consolidated data, no query results left; the mail went out
        for prefix in ("inventory/sm1/", "athena/sm1/"):
            left = s3.list_objects_v2(Bucket=dep["consolidated_bucket"], Prefix=prefix)
            self.assertEqual(left.get("KeyCount", 0), 0, "objects left under " + prefix)
        self.assertTrue(self.sent_mail(), "no e-mail sent")
        self.check_nothing_transient_left("sm1")

if __name__ == "__main__":
    only = os.environ.get("S3I_E2E_ONLY")
    if only:
        sys.argv[1:1] = ["-k", only]
    unittest.main(verbosity=2)
