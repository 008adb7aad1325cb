#!/usr/bin/env python3
"""botocore's SigV4Auth.add_auth on the same requests as bench_sigv4.c.

    s3-get       GET https://examplebucket.s3.us-east-1.amazonaws.com/photos/2024/01/img_NNNNNN.jpg
                 with x-amz-content-sha256: UNSIGNED-PAYLOAD, service s3, us-east-1
    ddb-putitem  POST https://dynamodb.us-east-1.amazonaws.com/ with a 1 KiB PutItem body
                 (item user#NNNNNN), Content-Type application/x-amz-json-1.0 and X-Amz-Target;
                 add_auth hashes the body on every call
Every request is a new one (the key or item number counts up). Each is built, signed once and
dropped, as a client signs a new request; only add_auth is timed, and the clock's own cost,
measured at start, is subtracted from each sample (the "-resign" rows sign one request again
and again, as a retry does). Output, one tab-separated line per scenario (as bench_sigv4):
    name  signatures  seconds  signatures_per_s  us_per_signature
With --print-auth EPOCH it prints the Authorization header of request 0 of each scenario
signed at that time instead, so run.sh can check that both sign the very same requests.
"""
import argparse
import datetime
import sys
import time

import botocore
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY_LEN = 1024
CREDS = Credentials('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')
S3_URL = 'https://examplebucket.s3.us-east-1.amazonaws.com/photos/2024/01/img_%06d.jpg'
DDB_URL = 'https://dynamodb.us-east-1.amazonaws.com/'


def ddb_body(i):
    """The PutItem body bench_sigv4.c builds for request i: exactly BODY_LEN bytes."""
    head = b'{"TableName":"bench","Item":{"pk":{"S":"user#%06d"},"data":{"S":"' % (i % 1000000)
    tail = b'"}}}'
    return head + b'x' * (BODY_LEN - len(head) - len(tail)) + tail


def s3_get(i):
    return AWSRequest(method='GET', url=S3_URL % (i % 1000000),
                      headers={'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'})


def ddb_putitem(i):
    return AWSRequest(method='POST', url=DDB_URL, data=ddb_body(i), headers={
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.PutItem',
    })


SCENARIOS = [
    # name, request factory, signer, sign one request repeatedly
    ('s3-get', s3_get, SigV4Auth(CREDS, 's3', 'us-east-1'), False),
    ('ddb-putitem', ddb_putitem, SigV4Auth(CREDS, 'dynamodb', 'us-east-1'), False),
    ('s3-get-resign', s3_get, SigV4Auth(CREDS, 's3', 'us-east-1'), True),
    ('ddb-putitem-resign', ddb_putitem, SigV4Auth(CREDS, 'dynamodb', 'us-east-1'), True),
]


def clock_cost():
    """What one clock reading costs, as seen by a sample (the mean of back-to-back pairs)."""
    clock = time.perf_counter
    n, total = 100000, 0.0
    for _ in range(n):
        t0 = clock()
        total += clock() - t0
    return total / n


def run(name, make, auth, resign, seconds, cost):
    clock = time.perf_counter
    add_auth = auth.add_auth
    for i in range(100):                          # warm-up
        add_auth(make(i))
    spent, done, i = 0.0, 0, 0
    req = make(0)
    while spent < seconds:
        if not resign:
            i += 1
            req = make(i)
        t0 = clock()
        add_auth(req)
        spent += clock() - t0 - cost
        done += 1
    print(f'{name}\t{done}\t{spent:.3f}\t{done / spent:.0f}\t{spent / done * 1e6:.3f}', flush=True)


def print_auth(epoch):
    fixed = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(tzinfo=None)
    botocore.auth.get_current_datetime = lambda *a, **k: fixed
    for name, make, auth, resign in SCENARIOS:
        if resign:
            continue
        r = make(0)
        auth.add_auth(r)
        print(f"{name}\t{r.headers['Authorization']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('seconds', nargs='?', type=float, default=2.0, help='per scenario')
    ap.add_argument('scenario', nargs='?', help='only this one')
    ap.add_argument('--print-auth', type=int, metavar='EPOCH')
    args = ap.parse_args()
    if args.print_auth is not None:
        print_auth(args.print_auth)
        return 0
    cost = clock_cost()
    for name, make, auth, resign in SCENARIOS:
        if args.scenario in (None, name):
            run(name, make, auth, resign, args.seconds, cost)
    return 0


if __name__ == '__main__':
    sys.exit(main())
