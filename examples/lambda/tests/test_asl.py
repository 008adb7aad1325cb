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
  templates/host.yaml, naming a function whose Handler is in the bootstrap's handler table.

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
        for name, st in states.items():
            for c in st.get("Catch", []):
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


if __name__ == "__main__":
    unittest.main()
