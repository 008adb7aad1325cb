#!/usr/bin/env python3
"""The list snapshot done with boto3, for bench/snapshot/run.sh: the same bucket listed with
boto3's ListObjectsV2 paginator and written as the same S3 Inventory CSV report (every field
quoted, the key URL-encoded form-style, the canonical Current-version columns, gzip data files
closed at FILE_BYTES of CSV, then symlink.txt, manifest.json and manifest.checksum put into the
staging bucket on the same server). One bucket per process, so the peak RSS is this bucket's.

usage: boto3_snapshot.py ENDPOINT_URL OBJECTS [FILE_BYTES=67108864]
Output, one tab-separated line (the shape bench_snapshot prints):
    boto3  objects  seconds  objects_per_s  cpu_us_per_object  peak_rss_kib  data_files
"""
import csv
import gzip
import hashlib
import io
import json
import resource
import sys
import time
import urllib.parse
import uuid

import boto3
from botocore.config import Config

OPTIONAL = ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded",
            "ReplicationStatus", "EncryptionStatus", "ObjectLockRetainUntilDate", "ObjectLockMode",
            "ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier", "BucketKeyStatus",
            "ChecksumAlgorithm", "ObjectAccessControlList", "ObjectOwner",
            "LifecycleExpirationDate"]
SCHEMA = ["Bucket", "Key"] + OPTIONAL
STAGING = "staging-bucket"
PREFIX = "123456789012/us-east-1"
CONFIG_ID = "bench-r1-s3-inventory"


def main():
    url, objects = sys.argv[1], int(sys.argv[2])
    file_bytes = int(sys.argv[3]) if len(sys.argv) > 3 and int(sys.argv[3]) > 0 else 64 << 20
    bucket = "bench-%d" % objects
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                      aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                      config=Config(s3={"addressing_style": "path"}))
    base = "%s/%s/%s" % (PREFIX, bucket, CONFIG_ID)
    files = []
    state = {"raw": None, "gz": None, "text": None, "writer": None, "n": 0}

    def open_file():
        state["raw"] = io.BytesIO()
        state["gz"] = gzip.GzipFile(fileobj=state["raw"], mode="wb")
        state["text"] = io.TextIOWrapper(state["gz"], encoding="utf-8", newline="")
        state["writer"] = csv.writer(state["text"], quoting=csv.QUOTE_ALL, lineterminator="\n")
        state["n"] = 0

    def close_file():
        state["text"].flush()
        state["text"].detach()
        state["gz"].close()
        data = state["raw"].getvalue()
        key = "%s/data/%s.csv.gz" % (base, uuid.uuid4())
        s3.put_object(Bucket=STAGING, Key=key, Body=data)
        files.append({"key": key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest()})
        state["writer"] = None

    rows = 0
    c0, t0 = time.process_time(), time.perf_counter()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, FetchOwner=True, PaginationConfig={"PageSize": 1000}):
        for o in page.get("Contents", []):
            if state["writer"] is None:
                open_file()
            etag = o["ETag"].strip('"')
            row = [bucket, urllib.parse.quote_plus(o["Key"], safe="*"), str(o["Size"]),
                   o["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.") +
                   "%03dZ" % (o["LastModified"].microsecond // 1000),
                   etag, o.get("StorageClass", ""), "true" if "-" in etag else "false",
                   "", "", "", "", "", "", "", "", "", o.get("Owner", {}).get("ID", ""), ""]
            state["writer"].writerow(row)
            state["n"] += sum(len(f) + 3 for f in row)
            rows += 1
            if state["n"] >= file_bytes:
                close_file()
    if state["writer"] is not None:
        close_file()
    stamp = time.strftime("%Y-%m-%dT%H-%MZ", time.gmtime(1733300000))
    symlink = "".join("s3://%s/%s\n" % (STAGING, f["key"]) for f in files)
    s3.put_object(Bucket=STAGING, Key="%s/hive/dt=%s/symlink.txt" % (base, stamp), Body=symlink.encode())
    manifest = json.dumps({"sourceBucket": bucket, "destinationBucket": "arn:aws:s3:::" + STAGING,
                           "version": "2016-11-30", "creationTimestamp": "1733300000000",
                           "fileFormat": "CSV", "fileSchema": ", ".join(SCHEMA), "files": files},
                          separators=(",", ":")).encode()
    s3.put_object(Bucket=STAGING, Key="%s/%s/manifest.json" % (base, stamp), Body=manifest)
    s3.put_object(Bucket=STAGING, Key="%s/%s/manifest.checksum" % (base, stamp),
                  Body=hashlib.md5(manifest).hexdigest().encode())
    t1, c1 = time.perf_counter(), time.process_time()
    if rows != objects:
        print("boto3_snapshot: %d rows, expected %d" % (rows, objects), file=sys.stderr)
        return 1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("boto3\t%d\t%.4f\t%.0f\t%.2f\t%d\t%d" % (objects, t1 - t0, objects / (t1 - t0),
                                                 (c1 - c0) * 1e6 / objects, rss, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
