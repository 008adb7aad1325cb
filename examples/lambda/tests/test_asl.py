#!/usr/bin/env python3
"""The state machine definitions (templates/harvester.asl.json, templates/cleanup.asl.json)
checked for structure, against the SAM template that includes them and the handler table
that runs their tasks:

- every state a Next, Default, Choice or Catch names exists in the same scope, every state is
  reachable from StartAt, and from every state a terminal state can be reached;
- every Task has Retry (with backoff, on Lambda's service errors, throttling and the library's
  retryable errors) and Catch (States.ALL); a Harvester stage's Catch leads to the failure
  report and then to the teardown;
- Wait states wait at least 5 minutes (a SecondsPath comes from wait_check, whose minimum is
  checked in handlers.c), and the wait stays well inside 25,000 history events for the
  largest inventory_timeout_hours the run input accepts;
- every ${...} of a definition is one of its state machine's DefinitionSubstitutions in
  templates/host.yaml, naming a function whose Handler is in the bootstrap's handler table;
- the fan-out (docs/deploy.md): DiscoverAccounts and ConfigureBuckets are DISTRIBUTED Maps
  (ConfigureBuckets reads the items file PlanConfigure writes, in batches), each followed by
  the whole-run step that does what it left, their history stays constant whatever the number
  of accounts and buckets, and the Harvester's role may start its own children and read the
  items file, nothing more; Cleanup's {"manual_cleanup": true} goes through ListRuns.

Each rule is also shown to catch a broken copy of a definition, so the test can fail.
"""

import copy
import json
import os
import re
import sys
import unittest

import yaml

SOURCE = os.environ.get("S3I_SOURCE_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEMPLATES = os.path.join(SOURCE, "templates")
HANDLERS_C = os.path.join(SOURCE, "examples", "lambda", "handlers.c")

LAMBDA_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException",
                 "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}
LIBRARY_RETRYABLE = {"S3i.Throttled", "S3i.Retryable"}
HISTORY_LIMIT = 25000
MAX_TIMEOUT_HOURS = 8760          # run_input.c: inventory_timeout_hours at most
# History events of one round of the wait: Wait entered/exited, the wait_check Task
# (TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded,
# TaskStateExited) and the Choice entered/exited.
EVENTS_PER_WAIT_ROUND = 9
# A Task -> Choice loop iteration: TaskStateEntered, LambdaFunctionScheduled, Started,
# Succeeded, TaskStateExited, ChoiceStateEntered, ChoiceStateExited.
EVENTS_PER_LOOP_ROUND = 7
# A distributed Map in its parent's history: MapStateEntered, MapStateStarted, MapRunStarted,
# MapRunSucceeded, MapStateSucceeded, MapStateExited (the children have their own histories).
EVENTS_PER_DISTRIBUTED_MAP = 6
# One item of an inline Map, one step long: MapIterationStarted, a loop round (7), the
# Succeed state entered/exited, MapIterationSucceeded.
EVENTS_PER_INLINE_ITEM = 1 + EVENTS_PER_LOOP_ROUND + 2 + 1
ITEMS_KEY_PREFIX = "stepfunctions/"


def load(name):
    with open(os.path.join(TEMPLATES, name)) as f:
        return json.load(f)


def scopes(defn, path="top"):
    """Every (path, StartAt, States) scope: the machine, Map processors, Parallel branches."""
    yield path, defn["StartAt"], defn["States"]
    for name, st in defn["States"].items():
        proc = st.get("ItemProcessor") or st.get("Iterator")
        if proc:
            yield from scopes(proc, "%s/%s" % (path, name))
        for i, br in enumerate(st.get("Branches", [])):
            yield from scopes(br, "%s/%s[%d]" % (path, name, i))


def targets(st):
    t = []
    if "Next" in st:
        t.append(st["Next"])
    if "Default" in st:
        t.append(st["Default"])
    t += [c["Next"] for c in st.get("Choices", [])]
    t += [c["Next"] for c in st.get("Catch", [])]
    return t


def is_terminal(st):
    return st["Type"] in ("Succeed", "Fail") or st.get("End") is True


def problems(defn):
    """Everything wrong with a definition, as messages naming the state."""
    out = []
    for path, start, states in scopes(defn):
        if start not in states:
            out.append("%s: StartAt %s does not exist" % (path, start))
            continue
        for name, st in states.items():
            for t in targets(st):
                if t not in states:
                    out.append("%s/%s: names %s, which does not exist" % (path, name, t))
            if not is_terminal(st) and st["Type"] != "Choice" and "Next" not in st:
                out.append("%s/%s: neither Next nor End" % (path, name))
            if st["Type"] == "Choice" and not st.get("Choices"):
                out.append("%s/%s: a Choice without Choices" % (path, name))
            if st["Type"] == "Task":
                out += task_problems("%s/%s" % (path, name), st)
            if st["Type"] == "Wait":
                if "Seconds" in st and st["Seconds"] < 300:
                    out.append("%s/%s: waits %s s, less than 5 minutes" % (path, name, st["Seconds"]))
                if not ("Seconds" in st or st.get("SecondsPath") == "$.step.wait_seconds"):
                    out.append("%s/%s: waits neither Seconds nor wait_check's wait_seconds" % (path, name))
        # reachability from StartAt
        seen, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n in seen or n not in states:
                continue
            seen.add(n)
            todo += targets(states[n])
        for name in states:
            if name not in seen:
                out.append("%s/%s: not reachable from %s" % (path, name, start))
        # every state can end
        can_end = {n for n, st in states.items() if is_terminal(st)}
        changed = True
        while changed:
            changed = False
            for n, st in states.items():
                if n not in can_end and any(t in can_end for t in targets(st)):
                    can_end.add(n)
                    changed = True
        for name in states:
            if name not in can_end:
                out.append("%s/%s: no terminal state can be reached from it" % (path, name))
    return out


def task_problems(where, st):
    out = []
    retry = st.get("Retry") or []
    if not retry:
        out.append("%s: a Task without Retry" % where)
    covered = set()
    for r in retry:
        covered |= set(r.get("ErrorEquals", []))
        if r.get("BackoffRate", 1.0) < 1.5 or r.get("IntervalSeconds", 1) < 1 or r.get("MaxAttempts", 3) < 2:
            out.append("%s: a retrier without backoff: %s" % (where, r))
    for e in sorted((LAMBDA_ERRORS | LIBRARY_RETRYABLE) - covered):
        out.append("%s: Retry does not cover %s" % (where, e))
    if "States.ALL" in covered:
        out.append("%s: Retry on States.ALL would retry errors that cannot pass" % where)
    catch = st.get("Catch") or []
    if not any("States.ALL" in c.get("ErrorEquals", []) for c in catch):
        out.append("%s: a Task without a Catch of States.ALL" % where)
    if "TimeoutSeconds" not in st:
        out.append("%s: a Task without TimeoutSeconds" % where)
    return out


def sam_template():
    class Loader(yaml.SafeLoader):
        pass

    def tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return {suffix: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {suffix: loader.construct_sequence(node, deep=True)}
        return {suffix: loader.construct_mapping(node, deep=True)}

    Loader.add_multi_constructor("!", tag)
    with open(os.path.join(TEMPLATES, "host.yaml")) as f:
        return yaml.load(f, Loader=Loader)


def handler_table():
    with open(HANDLERS_C) as f:
        text = f.read()
    table = text[text.index("s3i_lambda_handlers[] = {"):]
    return set(re.findall(r'\{ "([a-z_]+)", s3i_lambda_handler_', table)), text


class AslTest(unittest.TestCase):
    def setUp(self):
        self.harvester = load("harvester.asl.json")
        self.cleanup = load("cleanup.asl.json")

    def test_definitions_are_sound(self):
        self.assertEqual(problems(self.harvester), [])
        self.assertEqual(problems(self.cleanup), [])

    def test_broken_copies_are_caught(self):
        d = copy.deepcopy(self.harvester)
        del d["States"]["Configure"]["Retry"]
        self.assertIn("top/Configure: a Task without Retry", problems(d))
        d = copy.deepcopy(self.harvester)
        d["States"]["Table"]["Retry"] = [r for r in d["States"]["Table"]["Retry"]
                                         if "S3i.Throttled" not in r["ErrorEquals"]]
        self.assertIn("top/Table: Retry does not cover S3i.Throttled", problems(d))
        d = copy.deepcopy(self.harvester)
        del d["States"]["Query"]["Catch"]
        self.assertIn("top/Query: a Task without a Catch of States.ALL", problems(d))
        d = copy.deepcopy(self.harvester)
        d["States"]["Notify"]["Next"] = "Nowhere"
        self.assertIn("top/Notify: names Nowhere, which does not exist", problems(d))
        d = copy.deepcopy(self.harvester)
        d["States"]["Orphan"] = {"Type": "Succeed"}
        self.assertIn("top/Orphan: not reachable from Start", problems(d))
        d = copy.deepcopy(self.harvester)
        d["States"]["WaitForInventories"] = {"Type": "Wait", "Seconds": 60, "Next": "WaitCheck"}
        self.assertIn("top/WaitForInventories: waits 60 s, less than 5 minutes", problems(d))
        d = copy.deepcopy(self.cleanup)
        it = d["States"]["Runs"]["ItemProcessor"]["States"]
        it["CleanupFinished?"]["Choices"][0]["Next"] = "Cleanup"
        it["CleanupFailed"] = {"Type": "Pass", "Next": "Cleanup"}
        self.assertIn("top/Runs/Cleaned: not reachable from Cleanup", problems(d))
        self.assertTrue(any("no terminal state" in p for p in problems(d)))

    def test_every_harvester_catch_reports_then_tears_down(self):
        states = self.harvester["States"]
        teardown = {n for n, s in states.items() if s.get("Resource") == "${TeardownFunctionArn}"}
        sweeps = {"DiscoverAccounts": "Provision", "ConfigureBuckets": "Configure"}
        for name, st in states.items():
            for c in st.get("Catch", []):
                if "States.ALL" not in c["ErrorEquals"]:
                    # a fan-out past its tolerated failures: the whole-run step takes over
                    self.assertEqual(c["ErrorEquals"], ["States.ExceedToleratedFailureThreshold"], name)
                    self.assertEqual(c["Next"], sweeps[name], name)
                    continue
                # follow the failure path: it must pass the failure report and the teardown
                seen, n, path = set(), c["Next"], []
                while n not in seen and n in states:
                    seen.add(n)
                    path.append(n)
                    s = states[n]
                    if is_terminal(s):
                        break
                    # a loop's Choice: the way out (finished) is its first choice
                    n = s["Choices"][0]["Next"] if s["Type"] == "Choice" else s.get("Next")
                if name in ("Start",):
                    # nothing was created when the run could not be recorded
                    self.assertEqual(states[path[-1]]["Type"], "Fail")
                    continue
                if name in ("CleanupAfterFailure",):
                    continue
                self.assertTrue(teardown & set(path), "%s's Catch never tears down: %s" % (name, path))
                if name not in ("RecordFailure", "FailureReport"):
                    self.assertIn("RecordFailure", path, name)
                    self.assertIn("FailureReport", path, name)
                self.assertEqual(states[path[-1]]["Type"], "Fail", name)

    def test_wait_stays_inside_the_history_limit(self):
        names, text = handler_table()
        self.assertIn("#define S3I_LAMBDA_WAIT_MIN_S 300", text)
        m = re.search(r"#define S3I_LAMBDA_WAIT_MAX_CHECKS (\d+)", text)
        max_checks = int(m.group(1))
        # handlers.c: wait_s = max(300, ceil(timeout_s / max_checks)), so the number of checks
        # is at most timeout_s / wait_s + 1 <= max_checks + 1, whatever the timeout
        worst = 0
        for hours in (1, 24, 60, 125, 1000, MAX_TIMEOUT_HOURS):
            timeout_s = hours * 3600
            wait_s = max(300, -(-timeout_s // max_checks))
            checks = timeout_s // wait_s + 1
            worst = max(worst, checks * EVENTS_PER_WAIT_ROUND)
        self.assertLessEqual(worst, (max_checks + 1) * EVENTS_PER_WAIT_ROUND)
        # well inside: the rest of the run keeps more than 10,000 events
        self.assertLess(worst, HISTORY_LIMIT - 10000)
        # the default 60 h at 5-minute waits
        self.assertEqual((60 * 3600 // 300 + 1) * EVENTS_PER_WAIT_ROUND, 6489)

    def test_substitutions_name_functions_of_the_handler_table(self):
        handlers, _ = handler_table()
        tpl = sam_template()
        res = tpl["Resources"]
        machines = {r["Properties"]["DefinitionUri"]: r["Properties"]
                    for r in res.values() if r["Type"] == "AWS::Serverless::StateMachine"}
        self.assertEqual(sorted(machines), ["cleanup.asl.json", "harvester.asl.json"])
        for uri, props in machines.items():
            with open(os.path.join(TEMPLATES, uri)) as f:
                used = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", f.read()))
            subs = props["DefinitionSubstitutions"]
            self.assertEqual(used, set(subs), uri)
            for key, value in subs.items():
                fn = value["GetAtt"]
                fn = fn.split(".")[0] if isinstance(fn, str) else fn[0]
                self.assertEqual(res[fn]["Type"], "AWS::Serverless::Function", key)
                self.assertIn(res[fn]["Properties"]["Handler"], handlers, key)
        # every function's handler exists; the ingest function reports partial failures
        for name, r in res.items():
            if r["Type"] == "AWS::Serverless::Function":
                self.assertIn(r["Properties"]["Handler"], handlers, name)
        ing = res["IngestFunction"]["Properties"]["Events"]
        for ev in ing.values():
            self.assertEqual(ev["Properties"]["FunctionResponseTypes"], ["ReportBatchItemFailures"])

    # ---- the fan-out

    def test_harvester_fans_out_with_distributed_maps(self):
        states = self.harvester["States"]
        order = []
        n = self.harvester["StartAt"]
        while n not in order:
            order.append(n)
            st = states[n]
            if st["Type"] in ("Succeed", "Fail"):
                break
            n = st["Choices"][0]["Next"] if st["Type"] == "Choice" else st["Next"]
        # the happy path, a loop's way out first
        self.assertEqual(order[:9], ["Start", "DiscoverAccounts", "Provision", "ProvisionFinished?",
                                     "PlanConfigure", "AnyBucketToConfigure?", "ConfigureBuckets",
                                     "Configure", "ConfigureFinished?"])
        self.assertEqual(states["AnyBucketToConfigure?"]["Default"], "Configure")
        self.assertEqual(states["Start"]["ResultSelector"]["accounts.$"], "$.accounts")

        acc = states["DiscoverAccounts"]
        self.assertEqual(acc["Type"], "Map")
        self.assertEqual(acc["ItemsPath"], "$.accounts")
        self.assertEqual(acc["ItemProcessor"]["ProcessorConfig"],
                         {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"})
        self.assertEqual(acc["ItemSelector"], {"run_id.$": "$.run_id",
                                               "account_id.$": "$$.Map.Item.Value"})
        self.assertLessEqual(acc["MaxConcurrency"], 10)
        self.assertIsNone(acc["ResultPath"])      # no per-account results in the run's state
        child = acc["ItemProcessor"]["States"]["Discover"]
        self.assertEqual(child["Resource"], "${DiscoverFunctionArn}")
        self.assertEqual(child["Parameters"], {"run_id.$": "$.run_id", "account_id.$": "$.account_id"})

        cb = states["ConfigureBuckets"]
        self.assertEqual(cb["ItemProcessor"]["ProcessorConfig"]["Mode"], "DISTRIBUTED")
        self.assertEqual(cb["ItemReader"]["Resource"], "arn:aws:states:::s3:getObject")
        self.assertEqual(cb["ItemReader"]["ReaderConfig"], {"InputType": "JSON"})
        self.assertEqual(cb["ItemReader"]["Parameters"], {"Bucket.$": "$.plan.items_bucket",
                                                         "Key.$": "$.plan.items_key"})
        self.assertEqual(cb["ItemBatcher"]["BatchInput"], {"run_id.$": "$.run_id"})
        self.assertTrue(1 < cb["ItemBatcher"]["MaxItemsPerBatch"] <= 1000)
        self.assertIsNone(cb["ResultPath"])
        for m in (acc, cb):
            self.assertTrue(0 < m["ToleratedFailurePercentage"] < 100)
            self.assertTrue(0 < m["MaxConcurrency"] <= 40)
        child = cb["ItemProcessor"]["States"]["ConfigureBatch"]
        self.assertEqual(child["Resource"], "${ConfigureFunctionArn}")
        self.assertEqual(child["Parameters"], {"run_id.$": "$.BatchInput.run_id", "Items.$": "$.Items"})
        # a child's failure fails the child (counted against the tolerance), with its error
        for m, fail in ((acc, "AccountNotDiscovered"), (cb, "BatchNotConfigured")):
            st = m["ItemProcessor"]["States"][fail]
            self.assertEqual((st["Type"], st["ErrorPath"], st["CausePath"]),
                             ("Fail", "$.error.Error", "$.error.Cause"))

    def test_fan_out_history_is_constant(self):
        """The run's history with the fan-out, against the inline alternative."""
        # before the wait, happy path, each whole-run step one round: ExecutionStarted, Start
        # (5), DiscoverAccounts, Provision, PlanConfigure (5) + Choice (2), ConfigureBuckets,
        # Configure
        def before_wait(accounts, inline):
            discover = (4 + accounts * EVENTS_PER_INLINE_ITEM) if inline else EVENTS_PER_DISTRIBUTED_MAP
            return 1 + 5 + discover + EVENTS_PER_LOOP_ROUND + 5 + 2 + EVENTS_PER_DISTRIBUTED_MAP \
                + EVENTS_PER_LOOP_ROUND
        self.assertEqual(before_wait(1, False), before_wait(5000, False))
        self.assertEqual(before_wait(5000, False), 39)
        # the largest wait leaves more than 11,000 events for the stages
        worst_wait = (1500 + 1) * EVENTS_PER_WAIT_ROUND
        self.assertGreater(HISTORY_LIMIT - worst_wait - before_wait(10 ** 6, False), 11000)
        # inline over 1,000 accounts would leave under 500 events for every later stage next
        # to the longest wait (and break the limit from ~1,050 accounts on)
        self.assertLess(HISTORY_LIMIT - worst_wait - before_wait(1000, True), 500)
        self.assertGreater(worst_wait + before_wait(1050, True), HISTORY_LIMIT)
        self.assertEqual(EVENTS_PER_INLINE_ITEM, 11)

    def test_plan_configure_items_key_stays_out_of_the_data(self):
        _, text = handler_table()
        m = re.search(r'#define S3I_LAMBDA_ITEMS_KEY "([^"]+)"', text)
        self.assertIsNotNone(m, "handlers.c defines S3I_LAMBDA_ITEMS_KEY")
        key = m.group(1)
        self.assertTrue(key.startswith(ITEMS_KEY_PREFIX), key)
        # the table's location (inventory/R/) and the query results (athena/R/) are elsewhere
        self.assertFalse(key.startswith("inventory/") or key.startswith("athena/"))
        res = sam_template()["Resources"]
        rules = res["ConsolidatedBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        self.assertIn(ITEMS_KEY_PREFIX, [r["Prefix"] for r in rules])

    def test_harvester_role_runs_its_own_children_only(self):
        res = sam_template()["Resources"]
        machine = res["HarvesterStateMachine"]["Properties"]
        self.assertEqual(machine["Role"], {"GetAtt": "HarvesterStateMachineRole.Arn"})
        name = machine["Name"]["Sub"]
        stmts = {}
        for pol in res["HarvesterStateMachineRole"]["Properties"]["Policies"]:
            for st in pol["PolicyDocument"]["Statement"]:
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                for a in acts:
                    stmts.setdefault(a, []).append(st["Resource"])
        # the ARN built from the Name (no !Ref of the machine: that would be a cycle)
        self.assertEqual(stmts["states:StartExecution"], [
            {"Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + name}])
        for a in ("states:DescribeExecution", "states:StopExecution"):
            self.assertEqual(stmts[a], [{"Sub": "arn:${AWS::Partition}:states:${AWS::Region}:"
                                         "${AWS::AccountId}:execution:" + name + "/*"}])
        self.assertEqual(stmts["s3:GetObject"], [
            {"Sub": "${ConsolidatedBucket.Arn}/" + ITEMS_KEY_PREFIX + "*/configure-items.json"}])
        self.assertNotIn("s3:PutObject", stmts)
        self.assertNotIn("HarvesterStateMachine", json.dumps(res["HarvesterStateMachineRole"]))
        # the Cleanup machine's role invokes its two functions and starts nothing
        text = json.dumps(res["CleanupStateMachineRole"])
        self.assertNotIn("states:", text)
        self.assertIn("ListRunsFunction", text)

    def test_cleanup_manual_path(self):
        states = self.cleanup["States"]
        self.assertEqual(self.cleanup["StartAt"], "WhatToClean?")
        choice = {c["Variable"]: c["Next"] for c in states["WhatToClean?"]["Choices"]}
        self.assertEqual(choice, {"$.run_ids": "Runs", "$.manual_cleanup": "ListRuns",
                                  "$.run_id": "ListRuns"})
        self.assertEqual(states[states["WhatToClean?"]["Default"]]["Type"], "Fail")
        lr = states["ListRuns"]
        self.assertEqual(lr["Resource"], "${ListRunsFunctionArn}")
        self.assertNotIn("Parameters", lr)       # the whole input: list_runs validates it
        self.assertEqual(lr["ResultPath"], "$")
        self.assertEqual(lr["Next"], "AnyRun?")
        self.assertEqual(states["AnyRun?"]["Choices"][0]["Next"], "Runs")
        self.assertEqual(states[states["AnyRun?"]["Default"]]["Type"], "Succeed")


if __name__ == "__main__":
    unittest.main()
