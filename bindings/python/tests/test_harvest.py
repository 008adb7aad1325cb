"""A whole harvest, the stages one by one, and query rows (harvest.h, stage_*.h) against
moto_server: issue 6's "small harvest with snapshot list, its status, the query stage and its
rows".

The estate (two buckets of the host account in us-east-1) and the canned Athena results are
put with boto3 and moto's own API, independently of the code under test. moto's canned
results are one FIFO per account and region consumed by every StartQueryExecution (DDL
included, moto-notes §9), so the query test drives the stages one by one and enqueues the
results only after the table stage's statements.
"""

import gc
import json
import threading
import unittest

import boto3

import s3insights as s3i
from s3insights import _ffi, stages
from motoserver import client_env, server

HOST = "123456789012"
KEYS = ["a.txt", "keys/server.pem", "dir/x y.txt", "naïve/ファイル.pem"]
SECRETS_QUERY = ("select bucket, key, size from {ATHENA_TABLE} where lower(substr(key,-4)) = "
                 "'.pem'")


def run_input(run_id):
    return {"run_id": run_id, "accounts": [{"id": HOST}],
            "athena_queries": [{"name": "secrets", "query": SECRETS_QUERY},
                               {"name": "count", "query": "select count(*) from {ATHENA_TABLE}"}],
            "sender_email_address": "sender@example.com",
            "recipient_email_addresses": ["team@example.com"],
            "supported_regions": ["us-east-1"], "snapshot": "list"}


def aws(moto, service):
    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def seed(moto):
    s3 = aws(moto, "s3")
    for b in ("py-alpha", "py-beta"):
        s3.create_bucket(Bucket=b)
        for k in KEYS:
            s3.put_object(Bucket=b, Key=k, Body=b"x" * 10)
    aws(moto, "ses").verify_email_identity(EmailAddress="sender@example.com")


def canned(moto, rows, columns):
    """Enqueue one Athena result (header row first, as Athena's SELECT results have; None is
    an SQL NULL) for the next StartQueryExecution of the host account in us-east-1."""
    data = [{"Data": [{"VarCharValue": c} for c in columns]}]
    data += [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in rows]
    body = {"account_id": HOST, "region": "us-east-1",
            "results": [{"rows": data,
                         "column_info": [{"Name": c, "Type": "varchar"} for c in columns]}]}
    status, text = moto.http("POST", "/moto-api/static/athena/query-results", json.dumps(body))
    assert status == 201, (status, text)


class Base(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.moto = server()
        client_env(self.moto)
        seed(self.moto)
        self.ctx = s3i.Context(max_attempts=1)
        self.d = s3i.Deployment(self.ctx, name="pyharv")
        self.d.init()

    def tearDown(self):
        self.d.close()
        self.ctx.close()

    def staging_buckets(self, run_id):
        names = [b["Name"] for b in aws(self.moto, "s3").list_buckets()["Buckets"]]
        return [n for n in names if n.startswith(f"pyharv-{run_id}-")]

    def stages_until_table(self, run):
        """provision, configure, ingest until no bucket is pending, partition, table."""
        with s3i.ProvisionStage(run) as st:
            st.run()
        with s3i.ConfigureStage(run, concurrency=2) as st:
            self.assertTrue(st.step())
            self.assertIsNone(st.error)
        with s3i.IngestStage(self.d, wait_seconds=1) as ing:
            for _ in range(30):
                ing.step(timeout=10)
                if run.status().buckets_pending == 0:
                    break
            stats = ing.stats()
        self.assertEqual((stats.manifests_claimed, stats.buckets_done, stats.buckets_failed),
                         (2, 2, 0))
        self.assertGreaterEqual(stats.files_copied + stats.files_rewritten, 2)
        with s3i.PartitionStage(run) as st:
            st.run()
        with s3i.TableStage(run) as st:
            st.run()


class Harvest(Base):
    def test_harvest_in_one_call_with_progress(self):
        seen = []
        with s3i.Run.start(self.d, run_input("h1")) as run:
            run.harvest(progress=seen.append, progress_interval_ms=100)
            st = run.status()
            self.assertEqual((st.phase, st.finished, st.error), ("done", True, ""))
            self.assertEqual(st.objects, 2 * len(KEYS))
            got = {b.bucket: (b.status, b.objects) for b in st.buckets if b.status != "excluded"}
            self.assertEqual(got, {"py-alpha": ("done", 4), "py-beta": ("done", 4)})
            stage_order = []
            for p in seen:
                self.assertIsInstance(p, s3i.HarvestProgress)
                if not stage_order or stage_order[-1] != p.stage:
                    stage_order.append(p.stage)
            for s in ("provision", "configure", "wait", "table", "query", "notify", "teardown"):
                self.assertIn(s, stage_order)
            self.assertLess(stage_order.index("provision"), stage_order.index("table"))
            self.assertEqual(seen[0].status.run_id, "h1")
            # no canned results: both queries succeeded with no rows
            qs = run.queries()
            self.assertEqual([(q.index, q.name, q.state, q.rows) for q in qs],
                             [(0, "secrets", "SUCCEEDED", 0), (1, "count", "SUCCEEDED", 0)])
            self.assertTrue(qs[0].output_location.startswith("s3://"))
            self.assertEqual(list(run.query_results("secrets")), [])
            self.assertEqual(self.staging_buckets("h1"), [])
            with self.assertRaises(s3i.ExistsError):
                run.harvest()
            run.cleanup()  # a done run stays done
            self.assertEqual(run.status().phase, "done")

    def test_exception_in_progress_stops_and_is_reraised(self):
        class Boom(Exception):
            pass

        def progress(p):
            if p.stage == "configure":
                raise Boom("stop here")

        run = s3i.Run.start(self.d, run_input("h2"))
        with self.assertRaises(Boom) as cm:
            run.harvest(progress=progress)
        self.assertIsInstance(cm.exception.__cause__, s3i.StoppedError)
        self.assertNotIn(run.status().phase, ("failed", "done"))
        # returning False stops it as well
        with self.assertRaises(s3i.StoppedError):
            run.harvest(progress=lambda p: False)
        run.harvest()  # resumed
        self.assertEqual(run.status().phase, "done")
        run.close()

    def test_cleanup_of_an_unfinished_run(self):
        with s3i.Run.start(self.d, run_input("h3")) as run:
            with s3i.ProvisionStage(run) as st:
                st.run()
            self.assertTrue(self.staging_buckets("h3"))
            stages_seen = []
            run.cleanup(progress=lambda p: stages_seen.append(p.stage))
            st = run.status()
            self.assertEqual(st.phase, "cleaned")
            self.assertEqual(self.staging_buckets("h3"), [])
            run.cleanup()  # again: nothing left, no error
            with self.assertRaises(s3i.ExistsError):  # cleaned: finished for good
                run.harvest()


class StagesAndRows(Base):
    ROWS = [["py-alpha", "keys/server.pem", "10"], ["py-alpha", "naïve/ファイル.pem", None],
            ["py-beta", "keys/server.pem", "10"]]

    def test_stages_one_by_one_then_query_rows(self):
        run = s3i.Run.start(self.d, run_input("s1"))
        self.stages_until_table(run)
        self.assertEqual(run.status().buckets_pending, 0)
        canned(self.moto, self.ROWS, ["bucket", "key", "size"])
        canned(self.moto, [["8"]], ["_col0"])
        self.assertEqual(run.queries(), [])  # the query stage has not run
        with s3i.QueryStage(run, poll_interval_ms=10) as q:
            q.run()
            self.assertIsNone(q.error)
        qs = run.queries()
        self.assertEqual([(q.name, q.state, q.rows) for q in qs],
                         [("secrets", "SUCCEEDED", 3), ("count", "SUCCEEDED", 1)])

        rows = list(run.query_results("secrets"))
        self.assertEqual([tuple(r) for r in rows], [tuple(r) for r in self.ROWS])
        self.assertEqual(rows[0].columns, ("bucket", "key", "size"))
        self.assertEqual([r.index for r in rows], [0, 1, 2])
        self.assertEqual(rows[1]["key"], "naïve/ファイル.pem")
        self.assertIsNone(rows[1]["size"])  # SQL NULL
        with self.assertRaises(KeyError):
            rows[0]["nosuch"]
        self.assertEqual(rows[2].as_dict(), {"bucket": "py-beta", "key": "keys/server.pem",
                                             "size": "10"})
        self.assertEqual(list(run.query_results("secrets", as_dict=True))[1],
                         {"bucket": "py-alpha", "key": "naïve/ファイル.pem", "size": None})
        self.assertEqual([tuple(r) for r in run.query_results(1)], [("8",)])  # by index
        self.assertEqual(len(list(run.query_results("secrets", max_rows=2))), 2)
        with self.assertRaises(s3i.NotFoundError):
            list(run.query_results("nosuch"))

        # the rest of the harvest: notify (the e-mail shows the rows) and teardown
        with s3i.NotifyStage(run) as n:
            n.run()
            self.assertGreaterEqual(n.sent, 1)
        with s3i.TeardownStage(run) as t:
            t.run()
        self.assertEqual(run.status().phase, "done")
        self.assertEqual(self.staging_buckets("s1"), [])
        run.close()

    def test_leaving_the_loop_stops_the_walk(self):
        run = s3i.Run.start(self.d, run_input("s2"))
        self.stages_until_table(run)
        many = [["py-alpha", f"k{i}.pem", str(i)] for i in range(2500)]
        canned(self.moto, many, ["bucket", "key", "size"])
        canned(self.moto, [], ["_col0"])
        with s3i.QueryStage(run) as q:
            q.run()
        calls = []
        real = _ffi.QUERY_ROW_FN

        def counting(fn):
            def wrapper(user, p):
                calls.append(1)
                return fn(user, p)
            return real(wrapper)

        before = set(threading.enumerate())
        stages._ffi.QUERY_ROW_FN = counting
        try:
            it = run.query_results("secrets")
            first = next(it)
            self.assertEqual(first["key"], "k0.pem")
            it.close()
        finally:
            stages._ffi.QUERY_ROW_FN = real
        # the worker handed over at most a queue's worth (1000) and stopped the C walk
        self.assertLess(len(calls), 1100)
        self.assertFalse([t for t in set(threading.enumerate()) - before
                          if t.name == "s3insights-listing"])  # its worker has ended
        self.assertEqual(run._children, 0)  # the iterator's hold on the run is gone
        self.assertEqual(len(list(run.query_results("secrets"))), 2500)
        run.close()
        self.assertIsNone(run._ptr)

    def test_stage_errors_carry_the_detail(self):
        run = s3i.Run.start(self.d, run_input("s3"))
        with self.assertRaises(TypeError):
            s3i.QueryStage(run, no_such_option=1)
        with self.assertRaises(s3i.InvalidError) as cm:
            s3i.ConfigureStage(run, concurrency=1000)
        self.assertIn("concurrency", cm.exception.message)
        # the scopes of the state machine's Maps: one account, a batch of buckets
        with self.assertRaises(s3i.InvalidError) as cm:
            s3i.ProvisionStage(run, account_id="999999999999")
        self.assertIn("999999999999", cm.exception.message)
        with self.assertRaises(s3i.InvalidError) as cm:
            s3i.ConfigureStage(run, buckets=[""])
        self.assertIn("buckets", cm.exception.message)
        with s3i.ProvisionStage(run) as st:
            st.run()
        with s3i.ConfigureStage(run, buckets=["no-such-bucket"]) as st:
            st.run()   # a name that is not the run's is skipped; the run stays configuring
        self.assertEqual(run.status().phase, "configuring")
        self.moto.add_fault({"target": "AmazonAthena.StartQueryExecution", "status": 400,
                             "count": -1, "content_type": "application/x-amz-json-1.1",
                             "body": json.dumps({"__type": "InvalidRequestException",
                                                 "Message": "injected: no Athena today"})})
        with s3i.TableStage(run) as t:
            with self.assertRaises(s3i.Error) as cm:
                t.run()
            self.assertIn("no Athena today", cm.exception.message)
            self.assertEqual(cm.exception.aws_code, "InvalidRequestException")
            self.assertEqual(t.error.code, cm.exception.code)
            self.assertIn("no Athena today", t.error.message)
        with self.assertRaises(ValueError):
            t.step()  # closed
        with self.assertRaises(s3i.NotFoundError):
            list(run.query_results("secrets"))  # the query stage never ran
        run.close()


class StageLifetimes(Base):
    def test_any_order_of_closing_and_collection(self):
        import itertools
        with s3i.Run.start(self.d, run_input("l1")):
            pass
        # every 4th of the 120 orders (each Run.open costs a state table read)
        for order in itertools.islice(itertools.permutations(range(5)), 0, None, 4):
            # cheap to make: no STS (host account given), the run opened, not started
            ctx = s3i.Context(max_attempts=1)
            d = s3i.Deployment(ctx, name="pyharv", host_account_id=HOST)
            run = s3i.Run.open(d, "l1")
            objs = [ctx, d, run, s3i.TeardownStage(run), s3i.IngestStage(d)]
            objs.append(run.query_results("secrets"))  # never started: holds the run
            del ctx, d, run
            for i in order:
                objs[i] = None  # freed by reference counting, in this order
            objs = None
        gc.collect()
        # a stage still works after everything above it was closed
        ctx = s3i.Context(max_attempts=1)
        d = s3i.Deployment(ctx, name="pyharv")
        run = s3i.Run.start(d, run_input("l2"))
        st = s3i.ProvisionStage(run)
        ctx.close()
        d.close()
        run.close()
        st.run()
        self.assertIsNotNone(ctx._ptr)
        st.close()
        self.assertIsNone(ctx._ptr)
        self.assertIsNone(run._ptr)


if __name__ == "__main__":
    unittest.main()
