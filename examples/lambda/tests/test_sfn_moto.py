#!/usr/bin/env python3
"""The state machine definitions executed by moto_server's Step Functions in execute mode
(a real ASL interpreter; moto-notes section 11), one execution per path of Choice, Wait,
Map, Retry and Catch, each checked through GetExecutionHistory.

moto's Lambda does not run our code (use_docker false: it answers canned responses, queued
per region, in order), so the handlers' answers are scripted here; failures come from the
launcher's fault rules, which answer an invocation with X-Amz-Function-Error as Lambda does
for a function error. moto runs one execution per account and region between resets, so
every test resets first.

The Harvester's distributed Maps run in moto too (children as in-process jobs, items read
from moto's S3 by the ItemReader), with two limits the tests work around:
- moto 5.2.1's ASL grammar has no ItemBatcher (CreateStateMachine answers ASLParserException
  "mismatched input '\"ItemBatcher\"'"), so for moto the definition's ItemBatcher becomes an
  ItemSelector giving each child the same shape as a batch of one item, {"BatchInput":
  {"run_id"}, "Items": [item]} (for_moto below); batching itself is checked in unit/lambda_asl;
- a distributed Map's children keep their events to themselves (moto records them nowhere,
  as AWS keeps them in the children's own histories), so what the children did is seen through
  the canned answers they consumed: each answer says whose it is, and the parent's history
  shows which answer each of its own tasks got.

Environment: S3I_SOURCE_DIR.
"""

import json
import os
import sys
import time
import unittest

SOURCE = os.environ.get("S3I_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))
import test_runner  # noqa: E402  (Moto, aws)
from test_runner import aws  # noqa: E402

REGION = "us-east-1"
HARVESTER_FUNCTIONS = ["Start", "Discover", "Provision", "PlanConfigure", "Configure", "WaitCheck",
                       "Table", "Query", "Notify", "Teardown", "Fail"]
CLEANUP_FUNCTIONS = ["ListRuns", "Cleanup"]
ITEMS_BUCKET = "dep1-123456789012-consolidated"

moto = None


def setUpModule():
    global moto
    moto = test_runner.Moto()
    test_runner.moto = moto


def tearDownModule():
    moto.stop()


def function_error(function, error_type, message, count=1):
    """A fault rule: `function`'s next invocation(s) fail as Lambda reports a function error."""
    return {"method": "POST", "path": "^/2015-03-31/functions/[^/]*%s/invocations" % function,
            "status": 200, "count": count, "content_type": "application/json",
            "headers": {"X-Amz-Function-Error": "Unhandled"},
            "body": json.dumps({"errorType": error_type, "errorMessage": message,
                                "stackTrace": []})}


def for_moto(defn):
    """The definition as moto can parse it: an ItemBatcher becomes the ItemSelector of a batch
    of one item (see the module's docstring)."""
    for st in defn["States"].values():
        batcher = st.pop("ItemBatcher", None)
        if batcher is not None:
            st["ItemSelector"] = {"BatchInput": batcher["BatchInput"],
                                  "Items.$": "States.Array($$.Map.Item.Value)"}
        if "ItemProcessor" in st:
            for_moto(st["ItemProcessor"])
    return defn


def started(run_id="r1", accounts=()):
    return {"run_id": run_id, "phase": "provisioning", "finished": True, "accounts": list(accounts)}


def planned(count, run_id="r1"):
    return {"run_id": run_id, "stage": "plan_configure", "finished": True, "bucket_count": count,
            "items_bucket": ITEMS_BUCKET, "items_key": "stepfunctions/%s/configure-items.json" % run_id}


class SfnTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        moto.reset()
        moto.post("/moto-api/config", json.dumps({
            "stepfunctions": {"execute_state_machine": True},
            "lambda": {"use_docker": False}}).encode(), "application/json")
        iam = aws("iam")
        self.role = iam.create_role(
            RoleName="states", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        self.lam = aws("lambda", REGION)
        self.sfn = aws("stepfunctions", REGION)

    def tearDown(self):
        moto.post("/moto-api/config", json.dumps({
            "stepfunctions": {"execute_state_machine": False}}).encode(), "application/json")

    def function(self, logical):
        name = "dep1-" + logical.lower()
        return self.lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Role=self.role, Handler=logical.lower(),
            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})["FunctionArn"]

    def answers(self, *payloads):
        """The functions' next answers, in the order the execution invokes them."""
        moto.post("/moto-api/static/lambda-simple/response", json.dumps({
            "results": [json.dumps(p) for p in payloads], "region": REGION}).encode(),
            "application/json")

    def execute(self, asl, functions, execution_input):
        with open(os.path.join(SOURCE, "templates", asl)) as f:
            definition = f.read()
        for logical in functions:
            definition = definition.replace("${%sFunctionArn}" % logical, self.function(logical))
        self.assertNotIn("${", definition)
        definition = json.dumps(for_moto(json.loads(definition)))
        sm = self.sfn.create_state_machine(name="m", definition=definition,
                                           roleArn=self.role)["stateMachineArn"]
        ex = self.sfn.start_execution(stateMachineArn=sm, name="e1",
                                      input=json.dumps(execution_input))["executionArn"]
        deadline = time.time() + 240
        while time.time() < deadline:
            d = self.sfn.describe_execution(executionArn=ex)
            if d["status"] != "RUNNING":
                break
            time.sleep(0.3)
        events = self.sfn.get_execution_history(executionArn=ex, maxResults=1000)["events"]
        return d, events

    @staticmethod
    def entered(events):
        """The names of the states entered, in order."""
        out = []
        for e in events:
            det = e.get("stateEnteredEventDetails")
            if det:
                out.append(det["name"])
        return out

    @staticmethod
    def outputs(events, state):
        """The Lambda answers the parent's `state` got, in order (raw, before ResultSelector)."""
        out, current = [], None
        for e in events:
            if "stateEnteredEventDetails" in e:
                current = e["stateEnteredEventDetails"]["name"]
            if e["type"] == "LambdaFunctionSucceeded" and current == state:
                out.append(json.loads(e["lambdaFunctionSucceededEventDetails"]["output"]))
        return out

    def seed_items(self, items, run_id="r1"):
        s3 = aws("s3", REGION)
        s3.create_bucket(Bucket=ITEMS_BUCKET)
        s3.put_object(Bucket=ITEMS_BUCKET, Key="stepfunctions/%s/configure-items.json" % run_id,
                      Body=json.dumps(items).encode())

    @staticmethod
    def of_type(events, t):
        return [e for e in events if e["type"] == t]

    # ---- Harvester

    def test_harvester_all_stages_with_one_wait_round(self):
        self.answers(
            started(),                                                      # Start: no account
            {"run_id": "r1", "stage": "provision", "finished": False},     # Provision loops
            {"run_id": "r1", "stage": "provision", "finished": True},
            planned(0),                                                     # nothing to fan out
            {"run_id": "r1", "stage": "configure", "finished": True},
            {"run_id": "r1", "stage": "wait", "finished": False, "pending": 3, "timed_out": 0,
             "deadline_ms": 0, "wait_seconds": 1},                          # WaitCheck: wait
            {"run_id": "r1", "stage": "wait", "finished": True, "pending": 0, "timed_out": 0,
             "deadline_ms": 0, "wait_seconds": 300},
            {"run_id": "r1", "stage": "table", "finished": True},
            {"run_id": "r1", "stage": "query", "finished": True},
            {"run_id": "r1", "stage": "notify", "finished": True},
            {"run_id": "r1", "stage": "teardown", "finished": True})
        d, events = self.execute("harvester.asl.json", HARVESTER_FUNCTIONS,
                                 {"run_id": "r1", "accounts": [{"id": "123456789012"}]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(self.entered(events), [
            "Start", "DiscoverAccounts", "Provision", "ProvisionFinished?", "Provision",
            "ProvisionFinished?", "PlanConfigure", "AnyBucketToConfigure?", "Configure",
            "ConfigureFinished?", "WaitCheck", "WaitOver?", "WaitForInventories",
            "WaitCheck", "WaitOver?", "Table", "TableFinished?", "Query", "QueryFinished?",
            "Notify", "NotifyFinished?", "Teardown", "TeardownFinished?", "Done"])
        # the Wait took the seconds wait_check answered
        self.assertEqual(len(self.of_type(events, "WaitStateEntered")), 1)
        # every stage got the run id only (the state stays small)
        for e in self.of_type(events, "LambdaFunctionScheduled")[1:]:
            self.assertEqual(json.loads(e["lambdaFunctionScheduledEventDetails"]["input"]),
                             {"run_id": "r1"})
        # Start got the run input itself
        first = self.of_type(events, "LambdaFunctionScheduled")[0]
        self.assertEqual(json.loads(first["lambdaFunctionScheduledEventDetails"]["input"])["run_id"], "r1")

    def test_harvester_catch_reports_then_tears_down(self):
        self.answers(
            started(),                                                      # Start
            {"run_id": "r1", "stage": "provision", "finished": True},
            planned(0),
            # Configure fails (fault below); then:
            {"run_id": "r1", "stage": "configure", "recorded": True, "finished": True},  # Fail
            {"run_id": "r1", "stage": "notify", "finished": True},          # FailureReport
            {"run_id": "r1", "stage": "teardown", "finished": False},       # CleanupAfterFailure
            {"run_id": "r1", "stage": "teardown", "finished": True})
        moto.fault(function_error("-configure", "S3i.Failed", "configure of run r1: boom"))
        d, events = self.execute("harvester.asl.json", HARVESTER_FUNCTIONS, {"run_id": "r1"})
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "S3i.HarvestFailed")
        self.assertEqual(self.entered(events), [
            "Start", "DiscoverAccounts", "Provision", "ProvisionFinished?", "PlanConfigure",
            "AnyBucketToConfigure?", "Configure", "ConfigureFailed",
            "RecordFailure", "FailureReport", "FailureReportFinished?", "CleanupAfterFailure",
            "CleanupAfterFailureFinished?", "CleanupAfterFailure", "CleanupAfterFailureFinished?",
            "HarvestFailed"])
        # not retried: S3i.Failed cannot pass
        failed = self.of_type(events, "LambdaFunctionFailed")
        self.assertEqual([e["lambdaFunctionFailedEventDetails"]["error"] for e in failed],
                         ["S3i.Failed"])
        # the fail function got the run, the stage and the Catch's error and cause
        sched = self.of_type(events, "LambdaFunctionScheduled")
        fail_input = json.loads(sched[4]["lambdaFunctionScheduledEventDetails"]["input"])
        self.assertEqual(fail_input["run_id"], "r1")
        self.assertEqual(fail_input["stage"], "configure")
        self.assertEqual(fail_input["error"]["Error"], "S3i.Failed")
        self.assertIn("boom", json.loads(fail_input["error"]["Cause"])["errorMessage"])

    def test_harvester_start_refused(self):
        moto.fault(function_error("start", "S3i.InvalidInput", "run_id: \"Bad\" is not ..."))
        d, events = self.execute("harvester.asl.json", HARVESTER_FUNCTIONS, {"run_id": "Bad"})
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d.get("error"), "S3i.StartFailed")
        self.assertEqual(self.entered(events), ["Start", "StartFailed"])
        self.assertEqual(len(self.of_type(events, "LambdaFunctionScheduled")), 1)

    def test_harvester_fans_out_over_accounts_and_buckets(self):
        items = [{"bucket": "bucket-%d" % i, "account_id": "11111111111%d" % (i % 2)}
                 for i in range(5)]
        self.seed_items(items)
        answers = [started(accounts=["111111111110", "111111111111"])]
        # the two accounts' children: one finishes at once, the other loops once
        answers += [{"who": "discover", "finished": True}, {"who": "discover", "finished": False},
                    {"who": "discover", "finished": True}]
        answers += [{"who": "provision", "run_id": "r1", "finished": True}, planned(5)]
        # one child per item in moto (a batch of one): five answers
        answers += [{"who": "batch", "finished": True}] * 5
        answers += [{"who": "sweep", "run_id": "r1", "finished": True},
                    {"run_id": "r1", "finished": True, "pending": 0, "wait_seconds": 300}]
        answers += [{"who": stage, "finished": True} for stage in ("table", "query", "notify", "teardown")]
        self.answers(*answers)
        d, events = self.execute("harvester.asl.json", HARVESTER_FUNCTIONS,
                                 {"run_id": "r1", "accounts": [{"id": "111111111110"},
                                                               {"id": "111111111111"}]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(self.entered(events), [
            "Start", "DiscoverAccounts", "Provision", "ProvisionFinished?", "PlanConfigure",
            "AnyBucketToConfigure?", "ConfigureBuckets", "Configure", "ConfigureFinished?",
            "WaitCheck", "WaitOver?", "Table", "TableFinished?", "Query", "QueryFinished?",
            "Notify", "NotifyFinished?", "Teardown", "TeardownFinished?", "Done"])
        # two Map Runs, each 6 events in this history whatever the number of items
        self.assertEqual(len(self.of_type(events, "MapRunStarted")), 2)
        self.assertEqual(len(self.of_type(events, "MapRunSucceeded")), 2)
        for name in ("DiscoverAccounts", "ConfigureBuckets"):
            span = [e["type"] for e in events[self.index_entered(events, name):]]
            self.assertEqual(span[:6], ["MapStateEntered", "MapStateStarted", "MapRunStarted",
                                        "MapRunSucceeded", "MapStateSucceeded", "MapStateExited"])
        # the children took exactly their answers: three discover steps (one account looped),
        # five batches, so the whole-run steps got theirs
        self.assertEqual(self.outputs(events, "Provision")[0]["who"], "provision")
        self.assertEqual(self.outputs(events, "Configure")[0]["who"], "sweep")
        # the parent itself invoked only its own tasks, each with the run id alone
        sched = self.of_type(events, "LambdaFunctionScheduled")
        self.assertEqual(len(sched), 9)
        for e in sched[1:]:
            self.assertEqual(json.loads(e["lambdaFunctionScheduledEventDetails"]["input"]),
                             {"run_id": "r1"})
        # the Map's input carried the plan (where the ItemReader read from)
        entered = [e for e in events if e["type"] == "MapStateEntered"
                   and e["stateEnteredEventDetails"]["name"] == "ConfigureBuckets"][0]
        state = json.loads(entered["stateEnteredEventDetails"]["input"])
        self.assertEqual(state["plan"], {"bucket_count": 5, "items_bucket": ITEMS_BUCKET,
                                         "items_key": "stepfunctions/r1/configure-items.json"})
        self.assertEqual(state["accounts"], ["111111111110", "111111111111"])

    def test_harvester_failed_batch_leaves_its_buckets_to_the_sweep(self):
        self.seed_items([{"bucket": "bucket-0", "account_id": "111111111110"}])
        self.answers(started(accounts=[]),
                     {"who": "provision", "run_id": "r1", "finished": True}, planned(1),
                     # the batch's invocation fails (fault below), the sweep configures it
                     {"who": "sweep", "run_id": "r1", "finished": True},
                     {"run_id": "r1", "finished": True, "pending": 0, "wait_seconds": 300},
                     *[{"who": stage, "finished": True} for stage in ("table", "query", "notify", "teardown")])
        moto.fault(function_error("-configure", "S3i.AccessDenied", "PutBucketInventoryConfiguration denied"))
        d, events = self.execute("harvester.asl.json", HARVESTER_FUNCTIONS,
                                 {"run_id": "r1", "accounts": [{"id": "111111111110"}]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        names = self.entered(events)
        self.assertEqual(names[:9], [
            "Start", "DiscoverAccounts", "Provision", "ProvisionFinished?", "PlanConfigure",
            "AnyBucketToConfigure?", "ConfigureBuckets", "Configure", "ConfigureFinished?"])
        self.assertNotIn("ConfigureFailed", names)
        # On AWS one failed child of one is past the 10 % tolerated: the Map Run fails with
        # States.ExceedToleratedFailureThreshold and its Catch goes on to the sweep (that
        # Catch is checked in unit/lambda_asl). moto 5.2.1 counts a failed child
        # (distributed_item_processor_worker: item_counter.failed) but never compares the
        # count with ToleratedFailurePercentage, so here the Map Run succeeds and its Next is
        # the same sweep. Either way: the failed child consumed no answer (the fault answered
        # it), the run did not fail, the sweep got its own answer.
        self.assertEqual(len(self.of_type(events, "MapRunSucceeded"))
                         + len(self.of_type(events, "MapRunFailed")), 2)
        self.assertEqual(self.outputs(events, "Configure")[0]["who"], "sweep")
        self.assertEqual(d.get("error"), None)

    def index_entered(self, events, name):
        for i, e in enumerate(events):
            if e.get("stateEnteredEventDetails", {}).get("name") == name:
                return i
        self.fail("%s never entered" % name)

    # ---- Cleanup

    def test_cleanup_manual_cleans_every_unfinished_run(self):
        self.answers({"run_ids": ["r1", "r2"], "run_count": 2},
                     {"run_id": "any", "stage": "cleanup", "finished": True},
                     {"run_id": "any", "stage": "cleanup", "finished": True})
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"manual_cleanup": True})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        names = self.entered(events)
        self.assertEqual(names[:4], ["WhatToClean?", "ListRuns", "AnyRun?", "Runs"])
        self.assertEqual(names[-3:], ["Failures", "AnyFailed?", "AllCleaned"])
        sched = self.of_type(events, "LambdaFunctionScheduled")
        # ListRuns got the input itself (list_runs validates it), each run its own cleanup
        self.assertEqual(json.loads(sched[0]["lambdaFunctionScheduledEventDetails"]["input"]),
                         {"manual_cleanup": True})
        self.assertEqual(sorted(json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])["run_id"]
                                for e in sched[1:]), ["r1", "r2"])
        self.assertEqual(sorted(r["run_id"] for r in json.loads(d["output"])["results"]), ["r1", "r2"])

    def test_cleanup_manual_with_no_unfinished_run(self):
        self.answers({"run_ids": [], "run_count": 0})
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"manual_cleanup": True})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(self.entered(events), ["WhatToClean?", "ListRuns", "AnyRun?", "NoRunToClean"])
        self.assertEqual(len(self.of_type(events, "LambdaFunctionScheduled")), 1)

    def test_cleanup_input_naming_nothing(self):
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"manual": True})
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "S3i.InvalidInput")
        self.assertEqual(self.entered(events), ["WhatToClean?", "NothingNamed"])
        self.assertEqual(self.of_type(events, "LambdaFunctionScheduled"), [])

    def test_cleanup_loops_until_finished(self):
        self.answers({"run_id": "r1", "stage": "cleanup", "finished": False},
                     {"run_id": "r1", "stage": "cleanup", "finished": True})
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"run_ids": ["r1"]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"])["results"], [{"run_id": "r1", "failed": False}])
        self.assertEqual(self.entered(events), [
            "WhatToClean?", "Runs", "Cleanup", "CleanupFinished?", "Cleanup", "CleanupFinished?", "Cleaned",
            "Failures", "AnyFailed?", "AllCleaned"])

    def test_cleanup_retries_a_retryable_error(self):
        self.answers({"run_id": "r1", "stage": "cleanup", "finished": True})
        moto.fault(function_error("cleanup", "S3i.Throttled", "SlowDown from S3"))
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"run_ids": ["r1"]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        types = [e["type"] for e in events if e["type"].startswith("LambdaFunction")]
        self.assertEqual(types, ["LambdaFunctionScheduled", "LambdaFunctionStarted",
                                 "LambdaFunctionFailed", "LambdaFunctionScheduled",
                                 "LambdaFunctionStarted", "LambdaFunctionSucceeded"])
        self.assertEqual(self.of_type(events, "LambdaFunctionFailed")[0]
                         ["lambdaFunctionFailedEventDetails"]["error"], "S3i.Throttled")

    def test_cleanup_catch_reports_the_run(self):
        moto.fault(function_error("cleanup", "S3i.AccessDenied", "DeleteStack denied"))
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"run_ids": ["r1"]})
        self.assertEqual(d["status"], "FAILED", d)
        self.assertEqual(d.get("error"), "S3i.CleanupFailed")
        self.assertEqual(self.entered(events), [
            "WhatToClean?", "Runs", "Cleanup", "CleanupFailed", "Failures", "AnyFailed?", "CleanupFailedFor"])
        self.assertEqual(len(self.of_type(events, "LambdaFunctionScheduled")), 1)
        out = [e for e in events if e["type"] == "PassStateExited"
               and e["stateExitedEventDetails"]["name"] == "CleanupFailed"][0]
        result = json.loads(out["stateExitedEventDetails"]["output"])
        self.assertEqual((result["run_id"], result["failed"], result["error"]["Error"]),
                         ("r1", True, "S3i.AccessDenied"))

    def test_cleanup_map_over_two_runs(self):
        self.answers({"run_id": "any", "stage": "cleanup", "finished": True},
                     {"run_id": "any", "stage": "cleanup", "finished": True})
        d, events = self.execute("cleanup.asl.json", CLEANUP_FUNCTIONS, {"run_ids": ["r1", "r2"]})
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(len(self.of_type(events, "MapIterationSucceeded")), 2)
        self.assertEqual(sorted(r["run_id"] for r in json.loads(d["output"])["results"]),
                         ["r1", "r2"])
        inputs = sorted(json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])["run_id"]
                        for e in self.of_type(events, "LambdaFunctionScheduled"))
        self.assertEqual(inputs, ["r1", "r2"])


if __name__ == "__main__":
    unittest.main()
