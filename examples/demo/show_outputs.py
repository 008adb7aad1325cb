#!/usr/bin/env python3
"""Print where a demo run's e-mail and data went (reads moto_server back with boto3)."""
import argparse
import email
import email.policy
import json
import urllib.request

import boto3
from botocore.config import Config


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--bucket", required=True, help="the consolidated bucket")
    p.add_argument("--run-id", required=True)
    a = p.parse_args()
    with urllib.request.urlopen(a.endpoint + "/moto-api/data.json", timeout=30) as r:
        data = json.load(r)
    raws = data.get("ses", {}).get("RawMessage", [])
    print("\ne-mail (SES in moto, %d message%s):" % (len(raws), "" if len(raws) == 1 else "s"))
    for m in raws:
        msg = email.message_from_string(m.get("raw_data", ""), policy=email.policy.default)
        print("  From: %s\n  To: %s\n  Subject: %s" % (msg["From"], msg["To"], msg["Subject"]))
        text = msg.get_body(preferencelist=("plain",))
        if text is not None:
            body = text.get_content().strip().splitlines()
            for line in body[:40]:
                print("  | " + line)
            if len(body) > 40:
                print("  | ... (%d more lines; an HTML part too)" % (len(body) - 40))
    s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=Config(s3={"addressing_style": "path"}))
    files, size, parts = 0, 0, set()
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=a.bucket, Prefix="inventory/%s/" % a.run_id):
        for o in page.get("Contents", []):
            files += 1
            size += o["Size"]
            parts.add(o["Key"].rsplit("/", 1)[0])
    print("\ndata: s3://%s/inventory/%s/ — %d gzip CSV files (%d bytes) in %d partitions:"
          % (a.bucket, a.run_id, files, size, len(parts)))
    for part in sorted(parts):
        print("  " + part)


if __name__ == "__main__":
    main()
