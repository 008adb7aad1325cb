#!/usr/bin/env python3
"""Seed a small multi-account, multi-region S3 estate into a local moto_server.

Used by the demo (scripts/demo.sh) and the end-to-end tests (tests/e2e/). It talks to the
endpoint with boto3 only — independently of libs3insights — and writes:

  --input FILE     a run input for the estate (snapshot "list", the demo's queries)
  --expect FILE    every object version it created, as JSON, for checking the harvest

The estate: two accounts (the host 123456789012 and 111111111111, reached through
AssumeRole as the cross-account role), three supported regions plus one outside them, about
12 buckets: plain ones, a versioned bucket with noncurrent versions and a delete marker, a
bucket holding only delete markers, an empty bucket, an excluded bucket, an out-of-region
bucket, and planted "secret" files (.pem, .key, id_rsa) among ordinary keys with spaces,
unicode, commas and quotes.
"""

import argparse
import json
import random
import sys

import boto3
from botocore.config import Config

HOST = "123456789012"
MEMBER = "111111111111"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
OUTSIDE = "ap-southeast-2"

ODD_KEYS = [
    "reports/2024 q1/summary final.csv",
    "naïve/über/ファイル.txt",
    "a,b,c/comma,key.txt",
    'quotes/"quoted" name.txt',
    "plus+sign/a+b=c.txt",
    "deep/" + "/".join("d%d" % i for i in range(8)) + "/leaf.json",
]
SECRETS = ["keys/server.pem", "home/alice/.ssh/id_rsa", "tls/private.key", "old/backup.PEM"]


def client(endpoint, service, region, creds=None):
    kw = dict(endpoint_url=endpoint, region_name=region,
              config=Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"}))
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"],
                  aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kw)


def member_creds(endpoint, deployment):
    sts = client(endpoint, "sts", "us-east-1")
    arn = "arn:aws:iam::%s:role/%s-cross-account-iam-role" % (MEMBER, deployment)
    return sts.assume_role(RoleArn=arn, RoleSessionName="seed")["Credentials"]


class Estate:
    def __init__(self, endpoint, deployment, scale, seed):
        self.endpoint = endpoint
        self.creds = {HOST: None, MEMBER: member_creds(endpoint, deployment)}
        self.rng = random.Random(seed)
        self.scale = scale
        self.versions = []          # every object version / delete marker created
        self.buckets = {}           # (account, bucket) -> {"region", "expect"}

    def s3(self, account, region):
        return client(self.endpoint, "s3", region, self.creds[account])

    def make_bucket(self, account, name, region, expect, versioned=False):
        s3 = self.s3(account, region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.buckets[(account, name)] = {"region": region, "expect": expect}
        return s3

    def put(self, s3, account, bucket, key, size):
        body = (key.encode() * (size // max(1, len(key.encode())) + 1))[:size]
        r = s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.versions.append({"account": account, "bucket": bucket, "key": key,
                              "version_id": r.get("VersionId", ""), "size": size,
                              "delete_marker": False})

    def fill(self, s3, account, bucket, count, secrets=()):
        keys = ["data/%05d/object-%d.bin" % (i // 50, i) for i in range(count)]
        keys += ODD_KEYS + list(secrets)
        for k in keys:
            self.put(s3, account, bucket, k, self.rng.randint(0, 4096))

    def seed(self):
        n = self.scale
        a, m = HOST, MEMBER
        s3 = self.make_bucket(a, "demo-a-logs", "us-east-1", "done")
        self.fill(s3, a, "demo-a-logs", n)
        s3 = self.make_bucket(a, "demo-a-data", "us-west-2", "done")
        self.fill(s3, a, "demo-a-data", n * 2, SECRETS[:2])
        s3 = self.make_bucket(a, "demo-a-versioned", "eu-west-1", "done", versioned=True)
        for i in range(max(3, n // 10)):
            key = "doc-%d.txt" % i
            for v in range(3):
                self.put(s3, a, "demo-a-versioned", key, 100 + v)
        r = s3.delete_object(Bucket="demo-a-versioned", Key="doc-0.txt")
        self.versions.append({"account": a, "bucket": "demo-a-versioned", "key": "doc-0.txt",
                              "version_id": r.get("VersionId", ""), "size": 0,
                              "delete_marker": True})
        self.make_bucket(a, "demo-a-empty", "us-east-1", "empty")
        s3 = self.make_bucket(a, "demo-a-excluded", "us-east-1", "excluded")
        self.put(s3, a, "demo-a-excluded", "not-listed.txt", 10)
        self.versions.pop()   # excluded: never harvested
        s3 = self.make_bucket(a, "demo-a-secrets", "us-west-2", "done")
        self.fill(s3, a, "demo-a-secrets", n // 2, SECRETS)

        s3 = self.make_bucket(m, "demo-b-archive", "us-east-1", "done")
        self.fill(s3, m, "demo-b-archive", n)
        s3 = self.make_bucket(m, "demo-b-media", "eu-west-1", "done")
        self.fill(s3, m, "demo-b-media", n)
        s3 = self.make_bucket(m, "demo-b-backup", "us-west-2", "done")
        self.fill(s3, m, "demo-b-backup", n // 2, SECRETS[2:])
        s3 = self.make_bucket(m, "demo-b-tombstones", "eu-west-1", "done", versioned=True)
        # only a delete marker left: with "All" versions this bucket is not empty
        self.put(s3, m, "demo-b-tombstones", "gone.txt", 5)
        s3.delete_object(Bucket="demo-b-tombstones", Key="gone.txt")
        first = self.versions[-1]
        s3.delete_object(Bucket="demo-b-tombstones", Key="gone.txt", VersionId=first["version_id"])
        self.versions.pop()
        r = s3.list_object_versions(Bucket="demo-b-tombstones")
        for dm in r.get("DeleteMarkers", []):
            self.versions.append({"account": m, "bucket": "demo-b-tombstones", "key": dm["Key"],
                                  "version_id": dm["VersionId"], "size": 0,
                                  "delete_marker": True})
        s3 = self.make_bucket(m, "demo-b-sydney", OUTSIDE, "skipped_region")
        self.put(s3, m, "demo-b-sydney", "far-away.txt", 10)
        self.versions.pop()   # out of region: never harvested
        s3 = self.make_bucket(m, "demo-b-small", "us-east-1", "done")
        self.fill(s3, m, "demo-b-small", 3)


def run_input(run_id, scale_queries=True):
    return {
        "run_id": run_id,
        "accounts": [
            {"id": HOST, "exclude": ["demo-a-excluded"]},
            {"id": MEMBER, "external_id": "demo-external-id"},
        ],
        "supported_regions": REGIONS,
        "athena_queries": [
            {"name": "secrets",
             "query": "select bucket, key from {ATHENA_TABLE} where "
                      "lower(substr(key,-4)) in ('.pem','.key') or key like '%id_rsa'"},
            {"name": "largest",
             "query": "select bucket, key, size from {ATHENA_TABLE} order by size desc limit 10"},
            {"name": "by month",
             "query": "select date_format(last_modified_date, '%Y-%m') as month, count(*) "
                      "from {ATHENA_TABLE} group by 1"},
        ],
        "sender_email_address": "s3insights@example.com",
        "recipient_email_addresses": ["team@example.com", "audit@example.com"],
        "snapshot": "list",
        "object_versions": "All",
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--deployment", default="demo")
    p.add_argument("--run-id", default="demo1")
    p.add_argument("--scale", type=int, default=200, help="objects in a typical bucket")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--input", help="write the run input here")
    p.add_argument("--expect", help="write the expected harvest here")
    a = p.parse_args(argv)
    e = Estate(a.endpoint, a.deployment, a.scale, a.seed)
    e.seed()
    # SES in moto: the sender must be verified for SendRawEmail to succeed
    client(a.endpoint, "ses", "us-east-1").verify_email_identity(
        EmailAddress="s3insights@example.com")
    if a.input:
        with open(a.input, "w") as f:
            json.dump(run_input(a.run_id), f, indent=2)
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump({"versions": e.versions,
                       "buckets": [{"account": k[0], "bucket": k[1], **v}
                                   for k, v in sorted(e.buckets.items())]}, f, indent=1)
    print("seeded %d buckets, %d object versions in 2 accounts and %d regions"
          % (len(e.buckets), len(e.versions), len(REGIONS) + 1), file=sys.stderr)


if __name__ == "__main__":
    main()
