#!/usr/bin/env python3
"""The Lambda handlers (examples/lambda/handlers.c) driven the way Lambda and Step Functions
drive them, against moto_server.

Each Lambda function is the real `bootstrap` as a child process with its own _HANDLER,
talking to a loopback implementation of the Lambda Runtime API written here (one server per
function, like one execution environment kept warm). The driver invokes the functions in the
order of templates/harvester.asl.json: start, provision until finished, configure until
finished, wait_check with the SQS-triggered `ingest` function fed from the central queue (as
Lambda's event source mapping would: a batch of Records in, the messages not named in
batchItemFailures deleted), table, query, notify, teardown. The estate and the checks are the
runner's end-to-end test's (tests/e2e/test_runner.py): every object version exactly once in
the consolidated layout, every bucket's status, nothing transient left.

The fan-out of the Harvester (docs/deploy.md) is driven the same way, in the state machine's
order, as the distributed Maps run their children: start answers the accounts, `discover`
loops per account, `provision` once over the whole run, `plan_configure` writes the items
file, which is read back from moto's S3 and cut into batches as the ItemBatcher would, each
batch loops `configure` with `Items`, and the whole-run `configure` sweep moves the run to
waiting; then the wait and the later stages as before. Cleanup's `list_runs` lists the
unfinished runs for {"manual_cleanup": true}.

Also: an invocation killed mid-handler (a crash point, as Lambda kills an environment at its
timeout) and the same invocation retried in a fresh environment; an invocation with too
little time left; a batch with one poison message, where batchItemFailures names exactly
it; the failure path (fail, notify, teardown) and the Cleanup function.

Environment: S3I_LAMBDA_BOOTSTRAP (the bootstrap), S3I_RUNNER (the runner, for `init` and
`status`), S3I_SOURCE_DIR.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import botocore.exceptions
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE = os.environ.get("S3I_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BOOTSTRAP = os.environ.get("S3I_LAMBDA_BOOTSTRAP",
                           os.path.join(SOURCE, "build", "lambda", "stage", "bootstrap"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import test_runner  # noqa: E402  (the runner's e2e helpers: Moto, aws, the checks)
from test_runner import HOST, DEPLOYMENT, aws  # noqa: E402

FUNCTION_ARN = "arn:aws:lambda:us-east-1:%s:function:%s-%%s" % (HOST, DEPLOYMENT)
ASAN_EXIT = 86


class Killed(Exception):
    """The function's process died during the invocation (what a Lambda timeout looks like)."""


class Function:
    """One Lambda function: a loopback Runtime API and the bootstrap process polling it."""

    def __init__(self, handler, env, extra_env=None):
        self.handler = handler
        self.env = dict(env, _HANDLER=handler, **(extra_env or {}))
        self.pending = queue.Queue()      # invocations waiting for invocation/next
        self.results = {}                 # request id -> (kind, error type, body)
        self.cond = threading.Condition()
        self.count = 0
        outer = self

        class Api(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self.reply(404)
                inv = outer.pending.get()
                if inv is None:
                    return self.reply(410, b'{"errorMessage":"shutting down"}')
                rid, event, deadline = inv
                self.reply(200, event.encode(), [
                    ("Lambda-Runtime-Aws-Request-Id", rid),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN % outer.handler),
                    ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"),
                    ("Content-Type", "application/json")])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = self.path.split("/")
                if len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    with outer.cond:
                        outer.results[parts[4]] = (parts[5], self.headers.get(
                            "Lambda-Runtime-Function-Error-Type", ""), body.decode())
                        outer.cond.notify_all()
                    return self.reply(202, b'{"status":"OK"}')
                if self.path == "/2018-06-01/runtime/init/error":
                    with outer.cond:
                        outer.results["init"] = ("init", self.headers.get(
                            "Lambda-Runtime-Function-Error-Type", ""), body.decode())
                        outer.cond.notify_all()
                    return self.reply(202, b'{"status":"OK"}')
                self.reply(404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.log = tempfile.NamedTemporaryFile(prefix="s3i-lambda-%s-" % handler, suffix=".log",
                                               delete=False)
        self.start_process()

    def start_process(self):
        env = dict(self.env, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % self.server.server_port)
        self.proc = subprocess.Popen([BOOTSTRAP], env=env, stdout=self.log, stderr=self.log)

    def invoke(self, event, time_ms=60000):
        """Invoke once; returns the response (parsed) or raises LambdaError / Killed."""
        if self.proc.poll() is not None:
            self.start_process()          # a new environment after one died
        self.count += 1
        rid = "%s-%d-%s" % (self.handler, self.count, uuid.uuid4().hex[:8])
        text = event if isinstance(event, str) else json.dumps(event)
        self.pending.put((rid, text, int(time.time() * 1000) + time_ms))
        with self.cond:
            while rid not in self.results:
                if self.proc.poll() is not None:
                    # the environment died: Lambda starts a new one for the next invocation
                    code = self.proc.returncode
                    self.drain()
                    raise Killed("%s died with %s during %s" % (self.handler, code, rid))
                self.cond.wait(0.2)
            kind, etype, body = self.results.pop(rid)
        if kind == "error":
            raise LambdaError(etype, json.loads(body))
        return json.loads(body)

    def drain(self):
        try:
            while True:
                self.pending.get_nowait()
        except queue.Empty:
            pass

    def stop(self):
        """End the bootstrap's loop (invocation/next answers 410); returns its exit status."""
        self.pending.put(None)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.server.shutdown()
        self.server.server_close()
        return code

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()


class LambdaError(Exception):
    def __init__(self, error_type, body):
        super().__init__("%s: %s" % (error_type, body.get("errorMessage")))
        self.error_type = error_type
        self.body = body


moto = None


def setUpModule():
    global moto
    moto = test_runner.Moto()
    test_runner.moto = moto


def tearDownModule():
    moto.stop()


class HandlersTest(unittest.TestCase):
    maxDiff = None
    # the runner's e2e checks, reused as they are
    seed = test_runner.RunnerTest.seed
    cli = test_runner.RunnerTest.cli
    init = test_runner.RunnerTest.init
    status = test_runner.RunnerTest.status
    consolidated_rows = test_runner.RunnerTest.consolidated_rows
    check_rows_exactly_once = test_runner.RunnerTest.check_rows_exactly_once
    check_statuses = test_runner.RunnerTest.check_statuses
    check_nothing_transient_left = test_runner.RunnerTest.check_nothing_transient_left
    sent_mail = test_runner.RunnerTest.sent_mail

    def setUp(self):
        test_runner.RunnerTest.setUp(self)
        self.env["S3I_LAMBDA_MANIFEST_WAIT_MS"] = "200"
        self.env["ASAN_OPTIONS"] = "exitcode=%d" % ASAN_EXIT
        self.functions = {}

    def tearDown(self):
        for name, fn in self.functions.items():
            code = fn.stop()
            # 1: the loop ended because invocation/next answered 410; anything else (a
            # sanitizer report, a crash) fails the test
            self.assertEqual(code, 1, "%s exited %s; log:\n%s" % (name, code, fn.log_text()[-3000:]))

    def fn(self, handler, **extra_env):
        if handler not in self.functions:
            self.functions[handler] = Function(handler, self.env, extra_env)
        return self.functions[handler]

    def loop(self, handler, run_id, limit=200, time_ms=60000):
        """Task -> Choice(finished?) -> Task ... as the state machine loops a stage."""
        for _ in range(limit):
            out = self.fn(handler).invoke({"run_id": run_id, "step": {"finished": False}},
                                          time_ms)
            self.assertEqual(out["run_id"], run_id)
            if out["finished"]:
                return out
        self.fail("%s did not finish in %d invocations" % (handler, limit))

    def loop_event(self, handler, event, limit=200):
        """A Map child's Task -> Choice loop: the same event until finished."""
        for n in range(1, limit + 1):
            out = self.fn(handler).invoke(event)
            self.assertEqual(out["run_id"], event["run_id"])
            if out["finished"]:
                return out, n
        self.fail("%s did not finish in %d invocations" % (handler, limit))

    def buckets_with(self, run_id, status):
        return sorted((b["account"], b["bucket"]) for b in self.status(run_id)["buckets"]
                      if b["status"] == status and b["bucket"] != "*")

    def queue_url(self):
        return aws("sqs").get_queue_url(QueueName="%s-sqs-consolidate-inventory-files" % DEPLOYMENT)["QueueUrl"]

    def pump(self, url, extra_records=(), source_arn=None):
        """One batch from the queue through `ingest`, as an SQS event source mapping does:
        the messages it does not name in batchItemFailures are deleted. Returns (records
        sent, failures named)."""
        sqs = aws("sqs")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  VisibilityTimeout=30, AttributeNames=["All"])
        msgs = got.get("Messages", [])
        arn = source_arn or "arn:aws:sqs:us-east-1:%s:%s-sqs-consolidate-inventory-files" % (HOST, DEPLOYMENT)
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"], "attributes": m.get("Attributes", {}),
                    "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs", "eventSourceARN": arn,
                    "awsRegion": "us-east-1"} for m in msgs]
        records = list(extra_records) + records
        if not records:
            return [], []
        out = self.fn("ingest").invoke({"Records": records})
        failed = [f["itemIdentifier"] for f in out["batchItemFailures"]]
        for m in msgs:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return records, failed

    def record(self, body, source_queue="sqs-consolidate-inventory-files"):
        return {"messageId": str(uuid.uuid4()), "receiptHandle": "AQEB" + uuid.uuid4().hex,
                "body": body, "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:%s:%s-%s" % (HOST, DEPLOYMENT, source_queue),
                "awsRegion": "us-east-1"}

    def poison_body(self, run_id, account, bucket, region):
        """An S3 event for a manifest.checksum of a pending bucket whose manifest.json never
        appears (the message can only ever fail)."""
        staging = "%s-%s-dest-%s-%s" % (DEPLOYMENT, run_id, HOST, region)
        key = "%s/%s/%s/%s-%s-s3-inventory/2026-12-04T00-00Z/manifest.checksum" % (
            account, region, bucket, DEPLOYMENT, run_id)
        return json.dumps({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region,
            "eventTime": "2026-12-04T00:05:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "inventory-delivered",
                   "bucket": {"name": staging, "arn": "arn:aws:s3:::" + staging},
                   "object": {"key": key, "size": 33,
                              "eTag": "d41d8cd98f00b204e9800998ecf8427e"}}}]})

    def pending_bucket(self, run_id, status):
        return [b for b in self.status(run_id)["buckets"] if b["status"] == status][0]

    # ---- tests

    def test_harvester_invocation_by_invocation(self):
        inp = self.seed("r1")
        self.init()
        with open(inp) as f:
            run_input = f.read()

        # start: the execution input is the run input
        out = self.fn("start").invoke(run_input)
        self.assertEqual(out, {"run_id": "r1", "phase": "provisioning", "finished": True,
                               "accounts": [a["id"] for a in json.loads(run_input)["accounts"]]})
        # a retried start (same input) resumes; a different input for the same id is refused
        self.assertEqual(self.fn("start").invoke(run_input)["run_id"], "r1")
        changed = json.loads(run_input)
        changed["athena_table_name"] = "other"
        with self.assertRaises(LambdaError) as e:
            self.fn("start").invoke(json.dumps(changed))
        self.assertEqual(e.exception.error_type, "S3i.Conflict")

        self.loop("provision", "r1")
        # a retried invocation of a finished stage is harmless
        self.assertTrue(self.fn("provision").invoke({"run_id": "r1"})["finished"])

        # too little time left: the step is not even begun, and says why (Retry matches it)
        with self.assertRaises(LambdaError) as e:
            self.fn("configure").invoke({"run_id": "r1"}, time_ms=500)
        self.assertEqual(e.exception.error_type, "S3i.DeadlineExceeded")
        # killed mid-handler (as Lambda kills an environment at its timeout): the list
        # snapshot's crash point, in the middle of a data file
        crashing = Function("configure", dict(self.env, S3I_TEST_CRASH_AT="snapshot.mid_data_file"))
        with self.assertRaises(Killed):
            crashing.invoke({"run_id": "r1"})
        crashing.env.pop("S3I_TEST_CRASH_AT")
        self.functions["configure-crashing"] = crashing
        # the retried invocation, in a fresh environment, goes on from the state table
        for _ in range(100):
            if crashing.invoke({"run_id": "r1"})["finished"]:
                break
        else:
            self.fail("configure did not finish after the crash")
        self.loop("configure", "r1")

        # the wait: wait_check between Wait states, ingest fed by the queue meanwhile
        url = self.queue_url()
        b = self.pending_bucket("r1", "in_progress")
        poison = self.record(self.poison_body("r1", b["account"], b["bucket"], b["region"]))
        not_json = self.record("this is not JSON")
        first = True
        for _ in range(200):
            w = self.fn("wait_check").invoke({"run_id": "r1"})
            self.assertGreaterEqual(w["wait_seconds"], 300)
            if w["finished"]:
                break
            # the poison first, before the bucket's real delivery in the batch claims it
            extra = [poison, not_json] if first else []
            records, failed = self.pump(url, extra)
            if first:
                # one bad message never re-runs the batch: only it comes back
                self.assertGreater(len(records), 2, "no delivery on the queue")
                self.assertEqual(failed, [poison["messageId"]])
                first = False
        else:
            self.fail("the wait did not end")
        self.assertEqual(w["pending"], 0)
        self.assertEqual(w["timed_out"], 0)
        self.assertFalse(first, "wait ended before any ingest")

        for stage in ("table", "query", "notify", "teardown"):
            self.loop(stage, "r1")
        st = self.status("r1")
        self.assertEqual(st["phase"], "done")
        self.check_statuses(st)
        self.check_rows_exactly_once("r1")
        self.check_nothing_transient_left("r1")
        self.assertTrue(self.sent_mail(), "no report sent")
        # one context per environment, reused by every invocation
        for name, f in self.functions.items():
            self.assertLessEqual(f.log_text().count("context created"), 1 if name != "configure-crashing" else 2)

    def test_harvester_fan_out_in_state_machine_order(self):
        inp = self.seed("r6")
        self.init()
        with open(inp) as f:
            run_input = f.read()
        accounts = [a["id"] for a in json.loads(run_input)["accounts"]]
        out = self.fn("start").invoke(run_input)
        self.assertEqual(out["accounts"], accounts)
        self.assertGreater(len(accounts), 1, "the estate should span accounts")

        # DiscoverAccounts: one child per account, each looping discover
        with self.assertRaises(LambdaError) as e:
            self.fn("discover").invoke({"run_id": "r6"})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")
        self.assertIn("account_id", e.exception.body["errorMessage"])
        expected = sorted((b["account"], b["bucket"]) for b in self.expect["buckets"])
        for i, account in enumerate(accounts):
            out, _ = self.loop_event("discover", {"run_id": "r6", "account_id": account})
            self.assertEqual(out["stage"], "discover")
            got = {a for a, _ in self.buckets_with("r6", "discovered")}
            self.assertEqual(got, set(accounts[:i + 1]), "discover of %s only" % account)
            # a retried child of a discovered account is harmless
            self.assertTrue(self.fn("discover").invoke({"run_id": "r6", "account_id": account})["finished"])
        discovered = self.buckets_with("r6", "discovered")
        self.assertEqual([x for x in discovered if x in expected], discovered)
        self.assertEqual(self.status("r6")["phase"], "provisioning")

        # the whole-run Provision: the accounts are discovered, only the stacks are left
        self.loop("provision", "r6")
        self.assertEqual(self.buckets_with("r6", "discovered"), discovered)

        # PlanConfigure: the items file holds exactly the discovered buckets
        plan = self.fn("plan_configure").invoke({"run_id": "r6"})
        self.assertEqual(plan["items_bucket"], self.dep["consolidated_bucket"])
        self.assertEqual(plan["items_key"], "stepfunctions/r6/configure-items.json")
        self.assertEqual(plan["bucket_count"], len(discovered))
        body = aws("s3").get_object(Bucket=plan["items_bucket"], Key=plan["items_key"])["Body"].read()
        items = json.loads(body)
        self.assertEqual(sorted((i["account_id"], i["bucket"]) for i in items), discovered)

        # ConfigureBuckets: batches as the ItemBatcher cuts them (small here, to have several),
        # each child looping configure with its Items; none moves the run to waiting
        with self.assertRaises(LambdaError) as e:
            self.fn("configure").invoke({"run_id": "r6", "Items": "bucket-a"})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")
        with self.assertRaises(LambdaError) as e:
            self.fn("configure").invoke({"run_id": "r6", "Items": [{"account_id": "1"}]})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")
        # an item's account (read by key, not by a query of the run) must be a 12-digit id
        with self.assertRaises(LambdaError) as e:
            self.fn("configure").invoke({"run_id": "r6", "Items": [{"bucket": "b", "account_id": "12345"}]})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")
        self.assertIn("Items[0].account_id", str(e.exception))
        self.assertTrue(self.fn("configure").invoke({"run_id": "r6", "Items": []})["finished"])
        size = max(1, len(items) // 3)
        # the last batch is left out: the sweep must do it
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        left = batches.pop()
        for batch in batches:
            self.loop_event("configure", {"run_id": "r6", "Items": batch,
                                          "BatchInput": {"run_id": "r6"}})
            self.assertNotEqual(self.status("r6")["phase"], "waiting")
            still = set(self.buckets_with("r6", "discovered"))
            for it in batch:
                self.assertNotIn((it["account_id"], it["bucket"]), still)
        # a batch naming unknown buckets is skipped, not an error
        self.assertTrue(self.fn("configure").invoke(
            {"run_id": "r6", "Items": [{"bucket": "no-such-bucket-r6", "account_id": accounts[0]}]})["finished"])
        self.assertEqual(sorted((i["account_id"], i["bucket"]) for i in left),
                         self.buckets_with("r6", "discovered"))

        # the whole-run sweep: the left batch, then the run waits
        self.loop("configure", "r6")
        self.assertEqual(self.buckets_with("r6", "discovered"), [])
        self.assertEqual(self.status("r6")["phase"], "waiting")

        # Cleanup's ListRuns sees the unfinished run
        listed = self.fn("list_runs").invoke({"manual_cleanup": True})
        self.assertIn("r6", listed["run_ids"])
        self.assertEqual(listed["run_count"], len(listed["run_ids"]))

        url = self.queue_url()
        for _ in range(200):
            w = self.fn("wait_check").invoke({"run_id": "r6"})
            if w["finished"]:
                break
            self.pump(url)
        else:
            self.fail("the wait did not end")
        self.assertEqual((w["pending"], w["timed_out"]), (0, 0))
        for stage in ("table", "query", "notify"):
            self.loop(stage, "r6")
        aws("s3").head_object(Bucket=plan["items_bucket"], Key=plan["items_key"])
        self.loop("teardown", "r6")
        # the items file went with the run (and a teardown invoked again finds nothing to do)
        with self.assertRaises(botocore.exceptions.ClientError):
            aws("s3").head_object(Bucket=plan["items_bucket"], Key=plan["items_key"])
        self.assertTrue(self.fn("teardown").invoke({"run_id": "r6"})["finished"])
        st = self.status("r6")
        self.assertEqual(st["phase"], "done")
        self.check_statuses(st)
        self.check_rows_exactly_once("r6")
        self.check_nothing_transient_left("r6")
        # a finished run is never listed again
        self.assertNotIn("r6", self.fn("list_runs").invoke({"manual_cleanup": True})["run_ids"])

    def test_list_runs(self):
        self.init()
        # no run at all: an empty list, not an error
        self.assertEqual(self.fn("list_runs").invoke({"manual_cleanup": True}),
                         {"run_ids": [], "run_count": 0})
        inp = self.seed("r7")
        with open(inp) as f:
            self.fn("start").invoke(f.read())
        self.assertEqual(self.fn("list_runs").invoke({"manual_cleanup": True}),
                         {"run_ids": ["r7"], "run_count": 1})
        # a named run is answered as it is (cleanup says whether it exists)
        self.assertEqual(self.fn("list_runs").invoke({"run_id": "r9"}),
                         {"run_ids": ["r9"], "run_count": 1})
        for bad in ({}, {"manual_cleanup": False}, {"manual_cleanup": "yes"}, "not json"):
            with self.assertRaises(LambdaError) as e:
                self.fn("list_runs").invoke(bad)
            self.assertEqual(e.exception.error_type, "S3i.InvalidInput", bad)
        self.loop("cleanup", "r7")
        self.assertEqual(self.fn("list_runs").invoke({"manual_cleanup": True})["run_ids"], [])

    def test_failure_path_and_cleanup(self):
        inp = self.seed("r2")
        self.init()
        with open(inp) as f:
            run_input = f.read()
        # an input with problems: not retried by the state machine
        with self.assertRaises(LambdaError) as e:
            self.fn("start").invoke({"run_id": "Bad-Run", "accounts": []})
        self.assertEqual(e.exception.error_type, "S3i.InvalidInput")
        self.assertIn("run_id", e.exception.body["errorMessage"])
        # fail with no run (start failed): nothing to record
        out = self.fn("fail").invoke({"stage": "start", "error": {
            "Error": "S3i.InvalidInput", "Cause": "{\"errorMessage\":\"bad\"}"}})
        self.assertEqual(out["recorded"], False)

        self.fn("start").invoke(run_input)
        self.loop("provision", "r2")
        # a stage failed and its Catch ran: fail records it, the failure report goes out,
        # teardown removes what the run made
        cause = json.dumps({"errorMessage": "configure of run r2: boom", "errorType": "S3i.Failed",
                            "stackTrace": []})
        out = self.fn("fail").invoke({"run_id": "r2", "stage": "configure",
                                      "error": {"Error": "S3i.Failed", "Cause": cause}})
        self.assertEqual(out, {"run_id": "r2", "stage": "configure", "recorded": True,
                               "finished": True})
        st = self.status("r2")
        self.assertEqual(st["phase"], "failed")
        self.assertIn("boom", st.get("error", ""))
        self.loop("notify", "r2")
        self.assertTrue(any("r2" in m for m in self.sent_mail()), "no failure report")
        self.loop("teardown", "r2")
        self.assertEqual(self.status("r2")["phase"], "cleaned")
        self.check_nothing_transient_left("r2")
        # the Cleanup machine on the same run: safe to run again
        self.loop("cleanup", "r2")
        # a stage of a run that does not exist is not retried
        with self.assertRaises(LambdaError) as e:
            self.fn("table").invoke({"run_id": "nosuch"})
        self.assertEqual(e.exception.error_type, "S3i.NotFound")
        with self.assertRaises(LambdaError) as e:
            self.fn("table").invoke({"no": "run id"})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")

    def test_cleanup_cancels_a_run_midway(self):
        inp = self.seed("r3")
        self.init()
        with open(inp) as f:
            self.fn("start").invoke(f.read())
        self.loop("provision", "r3")
        self.fn("configure").invoke({"run_id": "r3"})
        self.loop("cleanup", "r3")
        st = self.status("r3")
        self.assertEqual(st["phase"], "cleaned")
        self.check_nothing_transient_left("r3")

    def test_wait_times_out_pending_buckets(self):
        inp = self.seed("r5")
        self.init()
        with open(inp) as f:
            run_input = json.load(f)
        # S3 Inventory (moto never delivers a report) and a timeout of 1.8 s
        run_input.pop("snapshot", None)
        run_input["inventory_timeout_hours"] = 0.0005
        self.fn("start").invoke(run_input)
        self.loop("provision", "r5")
        self.loop("configure", "r5")
        w = self.fn("wait_check").invoke({"run_id": "r5"})
        self.assertFalse(w["finished"])
        pending = w["pending"]
        self.assertGreater(pending, 0)
        self.assertEqual(w["wait_seconds"], 300)     # never below 5 minutes
        time.sleep(max(0, (w["deadline_ms"] - time.time() * 1000) / 1000) + 0.5)
        w = self.fn("wait_check").invoke({"run_id": "r5"})
        self.assertEqual((w["finished"], w["pending"], w["timed_out"]), (True, 0, pending))
        st = self.status("r5")
        timed_out = [b for b in st["buckets"] if b["status"] == "timed_out"]
        self.assertEqual(len(timed_out), pending)
        for b in timed_out:
            self.assertIn("inventory_timeout_hours", b["reason"])
        # idempotent: a retried check changes nothing
        w = self.fn("wait_check").invoke({"run_id": "r5"})
        self.assertEqual((w["finished"], w["timed_out"]), (True, 0))
        self.loop("cleanup", "r5")
        self.check_nothing_transient_left("r5")

    def test_dead_letter_record_fails_its_bucket(self):
        inp = self.seed("r4")
        self.init()
        with open(inp) as f:
            self.fn("start").invoke(f.read())
        self.loop("provision", "r4")
        # a bucket of the run, still pending, named by a message on the dead-letter queue
        b = self.pending_bucket("r4", "discovered")
        dead = self.record(self.poison_body("r4", b["account"], b["bucket"], b["region"]),
                           source_queue="sqs-dlq")
        out = self.fn("ingest").invoke({"Records": [dead]})
        self.assertEqual(out, {"batchItemFailures": []})
        got = {(x["account"], x["bucket"]): x for x in self.status("r4")["buckets"]}
        self.assertEqual(got[(b["account"], b["bucket"])]["status"], "failed")
        self.assertIn("dead-letter", got[(b["account"], b["bucket"])]["reason"])
        # not an SQS event at all: the invocation fails
        with self.assertRaises(LambdaError) as e:
            self.fn("ingest").invoke({"detail": {}})
        self.assertEqual(e.exception.error_type, "S3i.InvalidEvent")
        self.loop("cleanup", "r4")


if __name__ == "__main__":
    unittest.main()
