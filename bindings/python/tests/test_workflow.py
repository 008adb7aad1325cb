"""Deployments and runs (deployment.h, run.h) against moto_server."""

import gc
import unittest

import s3insights as s3i
from motoserver import client_env, server

INPUT = {
    "run_id": "r1",
    "accounts": [{"id": "123456789012"}, {"id": "111111111111", "external_id": "ext-1234"}],
    "athena_queries": [], "sender_email_address": "a@example.com",
    "recipient_email_addresses": ["b@example.com"], "supported_regions": ["us-east-1"],
    "snapshot": "list",
}


def seed_bucket(moto, table, run_id, account, bucket, status, rank, reason="", objects=0,
                partitioned_files=0, nbytes=0, counted_ms=None):
    """A bucket item as the stages write it (docs/stages.md), put with boto3 so the state is
    seeded independently of the code under test."""
    import boto3
    ddb = boto3.client("dynamodb", endpoint_url=moto.url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    item = {
        "partitionkey": {"S": f"run#{run_id}"}, "sortkey": {"S": f"bucket#{account}#{bucket}"},
        "account": {"S": account}, "region": {"S": "us-east-1"}, "bucket": {"S": bucket},
        "status": {"S": status}, "status_rank": {"N": str(rank)}, "reason": {"S": reason},
        "partitioned_files": {"N": str(partitioned_files)}, "objects": {"N": str(objects)},
        "bytes": {"N": str(nbytes)}, "created_ms": {"N": "10"}, "updated_ms": {"N": "10"}}
    if counted_ms is not None:
        item["counted_ms"] = {"N": str(counted_ms)}
    ddb.put_item(TableName=table, Item=item)


class Workflow(unittest.TestCase):
    def setUp(self):
        self.moto = server()
        client_env(self.moto)
        self.ctx = s3i.Context(max_attempts=1)

    def tearDown(self):
        self.ctx.close()

    def test_deployment_names_and_init(self):
        with s3i.Deployment(self.ctx, name="pydep") as d:
            self.assertEqual(d.name, "pydep")
            self.assertEqual(d.host_account, "123456789012")  # moto's, from STS
            self.assertEqual(d.host_region, "us-east-1")
            self.assertEqual(d.state_table, "pydep_configuration_table")
            self.assertEqual(d.queue_name, "pydep-sqs-consolidate-inventory-files")
            self.assertEqual(d.dlq_name, "pydep-sqs-dlq")
            self.assertIn("123456789012", d.consolidated_bucket)
            with self.assertRaises(s3i.NotFoundError):
                d.queue_url()
            d.init()
            d.init()  # idempotent
            self.assertTrue(d.queue_url().endswith("/pydep-sqs-consolidate-inventory-files"))
            self.assertTrue(d.dlq_url().endswith("/pydep-sqs-dlq"))
            self.assertEqual(list(self.ctx.s3.list_objects(d.consolidated_bucket)), [])
        with s3i.Deployment(self.ctx, name="other", host_account_id="222222222222",
                            host_region="eu-west-1") as d:
            self.assertEqual((d.host_account, d.host_region), ("222222222222", "eu-west-1"))

    def test_bad_name(self):
        with self.assertRaises(s3i.InvalidError) as cm:
            s3i.Deployment(self.ctx, name="Bad_Name")
        self.assertIn("Bad_Name", cm.exception.message)

    def test_run_start_status_buckets(self):
        d = s3i.Deployment(self.ctx, name="pydep")
        d.init()
        run = s3i.Run.start(d, INPUT)
        self.assertEqual(run.id, "r1")
        self.assertEqual(run.input, s3i.RunInput(INPUT))
        self.assertEqual(run.input.snapshot, "list")
        st = run.status()
        self.assertEqual((st.run_id, st.phase, st.finished), ("r1", "provisioning", False))
        self.assertEqual(st.buckets, [])

        seed_bucket(self.moto, d.state_table, "r1", "123456789012", "zeta", "discovered", 0)
        seed_bucket(self.moto, d.state_table, "r1", "111111111111", "alpha", "excluded", 9,
                    "excluded by input")
        st = run.status()
        self.assertEqual((st.buckets_total, st.buckets_pending), (2, 1))
        # ordered by account then bucket
        self.assertEqual([(b.account, b.bucket, b.status, b.reason) for b in run.buckets()],
                         [("111111111111", "alpha", "excluded", "excluded by input"),
                          ("123456789012", "zeta", "discovered", "")])
        self.assertEqual(st.buckets[0].expected_files, -1)
        run.close()

        # resume with the same input; another input for the unfinished run is refused
        with s3i.Run.start(d, s3i.RunInput(INPUT)) as again:
            self.assertEqual(len(again.status().buckets), 2)
        with self.assertRaises(s3i.ConflictError) as cm:
            s3i.Run.start(d, dict(INPUT, accounts=[{"id": "123456789012"}]))
        self.assertIn("r1", cm.exception.message)
        with s3i.Run.open(d, "r1") as opened:
            self.assertEqual(opened.status().phase, "provisioning")
        self.assertEqual(d.runs(), [("r1", "provisioning", False)])
        self.assertEqual(d.runs(unfinished_only=True), [("r1", "provisioning", False)])
        with self.assertRaises(s3i.NotFoundError):
            s3i.Run.open(d, "nosuch")
        with self.assertRaises(s3i.InvalidError):
            s3i.Run.open(d, "BAD!")
        d.close()


    def test_orc_buckets_not_counted_are_none(self):
        """ORC/Parquet rows are counted by Athena in the table stage: until then a bucket with
        data reads back as objects and bytes None (never 0), and the run's totals too."""
        d = s3i.Deployment(self.ctx, name="pyorc")
        d.init()
        orc = dict(INPUT, snapshot="inventory", inventory_format="ORC")
        with s3i.Run.start(d, orc) as run:
            seed_bucket(self.moto, d.state_table, "r1", "123456789012", "orc-a", "done", 9,
                        partitioned_files=2)
            seed_bucket(self.moto, d.state_table, "r1", "123456789012", "orc-empty", "empty", 9)
            st = run.status()
            self.assertEqual(st.buckets_not_counted, 1)
            self.assertIsNone(st.objects)
            self.assertIsNone(st.bytes)
            by_name = {b.bucket: b for b in st.buckets}
            self.assertIsNone(by_name["orc-a"].objects)
            self.assertIsNone(by_name["orc-a"].bytes)
            self.assertEqual((by_name["orc-empty"].objects, by_name["orc-empty"].bytes), (0, 0))

            # counted (the table stage's set-once write): numbers again
            seed_bucket(self.moto, d.state_table, "r1", "123456789012", "orc-a", "done", 9,
                        partitioned_files=2, objects=41, nbytes=4100, counted_ms=2000)
            st = run.status()
            self.assertEqual(st.buckets_not_counted, 0)
            self.assertEqual((st.objects, st.bytes), (41, 4100))
            self.assertEqual(st.buckets[0].objects, 41)
        # a CSV run's buckets are counted while copied: never None
        with s3i.Run.start(d, dict(INPUT, run_id="r2")) as run:
            seed_bucket(self.moto, d.state_table, "r2", "123456789012", "csv", "done", 9,
                        partitioned_files=2, objects=3, nbytes=30)
            st = run.status()
            self.assertEqual((st.objects, st.bytes, st.buckets_not_counted), (3, 30, 0))
        d.close()


class Lifetimes(unittest.TestCase):
    """Closing or collecting handles in any order never frees one still in use."""

    def setUp(self):
        self.moto = server()
        client_env(self.moto)

    def chain(self):
        ctx = s3i.Context(max_attempts=1)
        d = s3i.Deployment(ctx, name="pylife")
        d.init()
        run = s3i.Run.start(d, INPUT)
        return ctx, d, run, run.input

    def test_parent_closed_first(self):
        ctx, d, run, inp = self.chain()
        ctx.close()
        d.close()
        self.assertTrue(ctx.closed and d.closed)
        with self.assertRaises(ValueError):
            ctx.region
        with self.assertRaises(ValueError):
            d.name
        # The run still works: its deployment and context are freed after it.
        self.assertEqual(run.status().run_id, "r1")
        self.assertEqual(inp.run_id, "r1")
        run.close()
        self.assertEqual(inp.run_id, "r1")  # the borrowed input keeps its run alive
        inp.close()
        self.assertIsNone(ctx._ptr)

    def test_every_order_of_collection(self):
        import itertools
        for order in itertools.permutations(range(4)):
            objs = list(self.chain())
            for i in order:
                objs[i] = None
                gc.collect()
            gc.collect()

    def test_dropping_the_last_reference_frees(self):
        import weakref
        ctx = s3i.Context(max_attempts=1)
        s3 = ctx.s3
        ref = weakref.ref(ctx)
        del ctx
        self.assertIsNotNone(ref())  # the S3 object keeps it
        s3.create_bucket("pydrop")
        del s3
        self.assertIsNone(ref())  # freed without the cycle collector

    def test_listing_outlives_context(self):
        ctx = s3i.Context(max_attempts=1)
        ctx.s3.create_bucket("pylife")
        for i in range(5):
            ctx.s3.put_object("pylife", f"k{i}", b"x")
        it = ctx.s3.list_objects("pylife", max_keys=2)
        self.assertEqual(next(it).key, "k0")
        ctx.close()  # the running listing holds its own reference
        self.assertEqual([o.key for o in it], ["k1", "k2", "k3", "k4"])
        with self.assertRaises(ValueError):
            next(iter(ctx.s3.list_objects("pylife")))


if __name__ == "__main__":
    unittest.main()
