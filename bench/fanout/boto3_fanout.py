#!/usr/bin/env python3
"""boto3 head_object on the same calls as bench_fanout.c, against the same loopback server.

    seq        one client, one call after the other
    threads16  one client (boto3 clients are thread-safe) shared by a 16-thread
               concurrent.futures.ThreadPoolExecutor, max_pool_connections=16

usage: boto3_fanout.py ENDPOINT_URL [requests=2000] [modes=seq,threads16]

Every answer is checked (ContentLength 434234, the ETag); a wrong one exits with status 1.
Before the timed runs, 200 calls warm up the client (endpoint resolution, the model, the
connection pool), as bench_fanout warms up its own. Output, one tab-separated line per mode
(the shape bench_fanout prints):
    mode  requests  seconds  requests_per_s  cpu_us_per_request
CPU is getrusage(RUSAGE_SELF) user + system of this process, which is only the client.
"""
import concurrent.futures
import resource
import sys
import time

import boto3
from botocore.config import Config

EXPECT_LENGTH = 434234
EXPECT_ETAG = '"fba9dede5f27731c9771645a39863328"'
WARMUP = 200


def keys(n):
    """The keys bench_fanout.c asks for, in the same order."""
    return ['inventory/source-bucket/config/data/%08x-5c1e-4a7b-9d2f-%012x.csv.gz'
            % (i * 2654435761 % 0xffffffff, i) for i in range(n)]


def make_client(endpoint, pool):
    return boto3.session.Session().client(
        's3', endpoint_url=endpoint, region_name='us-east-1',
        aws_access_key_id='AKIAIOSFODNN7EXAMPLE',
        aws_secret_access_key='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        config=Config(max_pool_connections=pool, s3={'addressing_style': 'path'},
                      retries={'mode': 'standard'}))


def cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def check(resp, key):
    if resp['ContentLength'] != EXPECT_LENGTH or resp['ETag'] != EXPECT_ETAG:
        sys.exit('boto3_fanout: wrong answer for %s: %r' % (key, resp))


def run_seq(client, names):
    head = client.head_object
    for k in names:
        check(head(Bucket='bench-bucket', Key=k), k)


def run_threads(client, names, pool):
    head = client.head_object

    def one(k):
        check(head(Bucket='bench-bucket', Key=k), k)

    with concurrent.futures.ThreadPoolExecutor(max_workers=pool) as ex:
        for f in [ex.submit(one, k) for k in names]:
            f.result()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    endpoint = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    modes = (sys.argv[3] if len(sys.argv) > 3 else 'seq,threads16').split(',')
    names = keys(n)
    for mode in modes:
        if mode == 'seq':
            client = make_client(endpoint, 10)
            warm = lambda: run_seq(client, names[:WARMUP])
            timed = lambda: run_seq(client, names)
        elif mode.startswith('threads'):
            pool = int(mode[len('threads'):])
            client = make_client(endpoint, pool)
            warm = lambda: run_threads(client, names[:WARMUP], pool)
            timed = lambda: run_threads(client, names, pool)
        else:
            sys.exit('boto3_fanout: unknown mode %s' % mode)
        warm()
        c0, t0 = cpu_s(), time.perf_counter()
        timed()
        t1, c1 = time.perf_counter(), cpu_s()
        print('%s\t%d\t%.4f\t%.1f\t%.2f' % (mode, n, t1 - t0, n / (t1 - t0), (c1 - c0) * 1e6 / n),
              flush=True)


if __name__ == '__main__':
    main()
