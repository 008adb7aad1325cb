#!/usr/bin/env python3
"""moto_server for libs3insights' tests, examples and local development.

Usage:  python3 tests/moto_launcher.py [-H 127.0.0.1] -p PORT [--port-file FILE]

Runs moto 5.2.1's server (exactly that version: the fixes below patch its private
internals) with these additions, all in-process:

* S3 inventory configuration fixes
  - DELETE /bucket?inventory&id=X removes that configuration (204) or answers 404
    NoSuchInventoryConfig; stock moto routes it to DeleteBucket and deletes the bucket.
  - IncludedObjectVersions round-trips (stock moto always reads back "All").
  - A single OptionalField reads back correctly from Get and List (stock moto returns
    ["S","i","z","e"] from Get and ["Field"] from List).

* /moto-api/data.json keeps working after a bucket with objects was deleted (stock moto
  answers 500 from then on).

* Fault injection at /_fault (bucket names cannot start with "_", so the path is free)
    POST   /_fault   body: one JSON rule or a list of rules, appended in order
    DELETE /_fault   removes every rule
    GET    /_fault   lists the rules with their remaining counts
  A request is answered by the first rule with count != 0 whose given fields all match:
    method        "PUT"                        exact
    path          "^/bucket/"                  regular expression searched in the path
    query         "list-type=2"                substring of the query string
    target        "DynamoDB_20120810.PutItem"  exact X-Amz-Target (JSON protocols)
    action        "DescribeStacks"             exact Action= of a query-protocol call
    service       "sqs"                        exact service of the SigV4 credential scope
    region        "eu-west-1"                  exact region of the SigV4 credential scope
    body_contains "bucket#"                    substring of the request body
  and the rule supplies the answer:
    status 500, body "", content_type "application/xml", headers {"Retry-After": "1"},
    count 1 (times it applies; -1 = for ever).
  Example: {"method": "PUT", "path": "^/src/", "status": 503, "count": 2,
            "body": "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"}

-p 0 binds a free port itself (no race); the port is then written to --port-file, if given,
once the server is listening, and shown in the start-up banner. With another port, exit
status 1 and "Port N is in use" on stderr mean the port is taken (as moto_server does).
The server ignores the AWS_* client settings (profiles, endpoints, keys) of the environment
it starts in. SIGTERM and SIGINT stop the server within a second. The launcher prints nothing of its own beyond
moto_server's usual output (banner and access log on stderr), except errors.
"""

import argparse
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse

MOTO_VERSION = "5.2.1"


def _check_moto():
    try:
        from importlib.metadata import PackageNotFoundError, version
        found = version("moto")
    except PackageNotFoundError:
        found = None
    if found != MOTO_VERSION:
        what = "is not installed" if found is None else f"is {found}"
        sys.stderr.write(
            f"moto_launcher: needs moto=={MOTO_VERSION} (it patches moto's internals), but moto "
            f"{what} for {sys.executable}.\n"
            f"  Install it with: {sys.executable} -m pip install 'moto[server]=={MOTO_VERSION}'\n"
            f"  (or run scripts/setup-deps.sh)\n")
        sys.exit(2)


_check_moto()


def _forget_aws_client_settings():
    # moto's backends call botocore internally (regions, partitions). The AWS_* settings of
    # the shell or test that starts the server are meant for the clients: an empty
    # AWS_PROFILE, as the test environment sets it, makes every first call of a service 500
    # (ProfileNotFound), and AWS_ENDPOINT_URL could point moto's own calls elsewhere.
    for name in list(os.environ):
        if name.startswith("AWS_") and not name.startswith("AWS_XRAY_"):
            del os.environ[name]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


_forget_aws_client_settings()

from moto.core.exceptions import _RESTError  # noqa: E402
from moto.iam import access_control as iam_ac  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from moto.s3 import models as s3m  # noqa: E402
from moto.s3 import responses as s3r  # noqa: E402
from moto.s3.exceptions import MissingBucket, MissingInventoryConfig, S3AccessDeniedError  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402


# ---------------------------------------------------------------- S3 inventory fixes

_orig_from_body = s3r.S3Response._inventory_config_from_body


def _inventory_config_from_body(self):
    cfg = _orig_from_body(self)
    fields = cfg.get("OptionalFields")
    if isinstance(fields, dict):                  # <OptionalFields><Field>x</Field>...
        f = fields.get("Field", [])
        cfg["OptionalFields"] = [f] if isinstance(f, str) else list(f)
    return cfg


_orig_put = s3m.S3Backend.put_bucket_inventory_configuration


def _put_bucket_inventory_configuration(self, bucket_name, cfg):
    _orig_put(self, bucket_name, cfg)
    inv = self.get_bucket(bucket_name).inventory_configs[cfg["Id"]]
    inv.included_object_versions = cfg.get("IncludedObjectVersions", "All")


def _inventory_dict(inv):
    d = {"Destination": inv.destination, "IsEnabled": inv.is_enabled in (True, "true"),
         "Id": inv.id, "IncludedObjectVersions": getattr(inv, "included_object_versions", "All"),
         "Schedule": inv.schedule}
    if inv.filters:
        d["Filter"] = inv.filters
    if inv.optional_fields:
        d["OptionalFields"] = inv.optional_fields
    return d


def _get_bucket_inventory_configuration(self):
    inv = self.backend.get_bucket_inventory_configuration(
        bucket_name=self.bucket_name, id=self.querystring["id"][0])
    self.data["Action"] = "GetBucketInventoryConfiguration"
    return self.serialized(s3r.ActionResult({"InventoryConfiguration": _inventory_dict(inv)}))


def _list_bucket_inventory_configurations(self):
    invs = self.backend.list_bucket_inventory_configurations(bucket_name=self.bucket_name)
    self.data["Action"] = "ListBucketInventoryConfigurations"
    return self.serialized(s3r.ActionResult({
        "InventoryConfigurationList": [_inventory_dict(i) for i in invs], "IsTruncated": False}))


_orig_delete = s3r.S3Response._bucket_response_delete


def _bucket_response_delete(self, bucket_name, querystring):
    if "inventory" in querystring:                # stock moto treats this as DeleteBucket
        self._authenticate_and_authorize_s3_action(bucket_name=bucket_name)
        configs = self.backend.get_bucket(bucket_name).inventory_configs
        if configs.pop(querystring["id"][0], None) is None:
            raise MissingInventoryConfig()
        return 204, {}, ""
    return _orig_delete(self, bucket_name, querystring)


s3r.S3Response._inventory_config_from_body = _inventory_config_from_body
s3m.S3Backend.put_bucket_inventory_configuration = _put_bucket_inventory_configuration
s3r.S3Response.get_bucket_inventory_configuration = _get_bucket_inventory_configuration
s3r.S3Response.list_bucket_inventory_configurations = _list_bucket_inventory_configurations
s3r.S3Response._bucket_response_delete = _bucket_response_delete


# /moto-api/data.json reads every property of every tracked model. FakeKey.status looks up
# the key's bucket, so once a bucket with objects has been deleted (a torn-down staging
# bucket) it raises NoSuchBucket and the whole answer becomes a 500: keep the last status.
_orig_key_status = s3m.FakeKey.status


def _key_status(self):
    try:
        return _orig_key_status.fget(self)
    except MissingBucket:
        return self._status


s3m.FakeKey.status = property(_key_status)


# ---------------------------------------------------------------- signature checking mode

class MissingAuthenticationTokenError(_RESTError):
    code = 403

    def __init__(self):
        super().__init__("MissingAuthenticationToken", "Request is missing Authentication Token")


_orig_iam_request_init = iam_ac.IAMRequestBase.__init__


def _iam_request_init(self, account_id, method, path, data, body, headers, action):
    # With checking on, stock moto answers 500 (KeyError) to a request without an
    # Authorization header; AWS refuses it with 403. Presigned URLs land here too.
    if not headers.get("Authorization"):
        if isinstance(self, iam_ac.S3IAMRequest):
            raise S3AccessDeniedError()
        raise MissingAuthenticationTokenError()
    _orig_iam_request_init(self, account_id, method, path, data, body, headers, action)


iam_ac.IAMRequestBase.__init__ = _iam_request_init


# ---------------------------------------------------------------- fault injection

class FaultMiddleware:
    """WSGI wrapper serving /_fault and answering matching requests from its rules."""

    def __init__(self, app):
        self.app = app
        self.rules = []
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self.app, name)

    def _control(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        status = "200 OK"
        try:
            if method == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                new = json.loads(environ["wsgi.input"].read(size) or b"[]")
                new = new if isinstance(new, list) else [new]
                if not all(isinstance(r, dict) for r in new):
                    raise ValueError("a rule must be a JSON object")
                with self.lock:
                    self.rules.extend(new)
            elif method == "DELETE":
                with self.lock:
                    self.rules.clear()
            with self.lock:
                body = json.dumps(self.rules).encode()
        except ValueError as e:
            status, body = "400 Bad Request", json.dumps({"error": str(e)}).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _scope(environ):
        """(region, service) from the SigV4 credential scope, as moto routes by it."""
        m = re.search(r"Credential=[^/,]*/[^/,]*/([^/,]*)/([^/,]*)/",
                      environ.get("HTTP_AUTHORIZATION", ""))
        return (m.group(1), m.group(2)) if m else (None, None)

    @staticmethod
    def _action(environ):
        """Action=... of a query-protocol call (form body or query string)."""
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size) if size > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)          # moto reads it again
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            if "Action" in form:
                return form["Action"][0]
        return urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("Action", [None])[0]

    @staticmethod
    def _body(environ):
        """The request body as text (put back for moto to read)."""
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body.decode("utf-8", "replace")

    def _match(self, environ, path):
        region, service = self._scope(environ)
        with self.lock:
            live = [r for r in self.rules if r.get("count", 1) != 0]
        need_action = any("action" in r for r in live)
        action = (self._action(environ) or "") if need_action else None   # reads the body
        body = self._body(environ) if any("body_contains" in r for r in live) else None
        with self.lock:
            for r in self.rules:
                count = r.get("count", 1)
                if count == 0:
                    continue
                if "method" in r and r["method"] != environ["REQUEST_METHOD"]:
                    continue
                if "path" in r and not re.search(r["path"], path):
                    continue
                if "query" in r and r["query"] not in environ.get("QUERY_STRING", ""):
                    continue
                if "target" in r and r["target"] != environ.get("HTTP_X_AMZ_TARGET"):
                    continue
                if "service" in r and r["service"] != service:
                    continue
                if "region" in r and r["region"] != region:
                    continue
                if "action" in r and r["action"] != action:
                    continue
                if "body_contains" in r and (body is None or r["body_contains"] not in body):
                    continue
                if count > 0:
                    r["count"] = count - 1
                return dict(r)
        return None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_fault":
            return self._control(environ, start_response)
        rule = self._match(environ, path)
        if rule is None:
            return self.app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        if size > 0:                                # drain the request body
            environ["wsgi.input"].read(size)
        body = rule.get("body", "").encode()
        headers = [("Content-Type", rule.get("content_type", "application/xml")),
                   ("Content-Length", str(len(body)))]
        headers += [(str(k), str(v)) for k, v in rule.get("headers", {}).items()]
        start_response(f'{int(rule.get("status", 500))} INJECTED', headers)
        return [body]


# ---------------------------------------------------------------- server

def _stop(signum, frame):
    # moto keeps everything in memory, so there is nothing to save: skip the interpreter's
    # slow shutdown (moto_server takes seconds to exit on SIGTERM). Requests in flight get up
    # to a second to finish, so their log lines (tracebacks included) reach the log.
    deadline = time.monotonic() + 1.0
    for t in threading.enumerate():
        if t is not threading.current_thread():
            t.join(max(0.0, deadline - time.monotonic()))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(description="moto_server with the libs3insights test fixes")
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)),
                        help="port to listen on; 0 picks a free one")
    parser.add_argument("--port-file", help="write the port here once listening")
    args = parser.parse_args(argv)
    # moto prints tracebacks of 500s to stdout: keep the log complete when it is a file.
    sys.stdout.reconfigure(line_buffering=True)

    fd = None
    port = args.port
    if port == 0:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        fd = sock.fileno()

    # moto builds URLs back to itself from MOTO_PORT (Step Functions' execute mode).
    os.environ["MOTO_PORT"] = str(port)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    app = FaultMiddleware(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, port, app, threaded=True, fd=fd)   # exits 1 if taken
    if args.port_file:
        tmp = f"{args.port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    server.log_startup()
    server.serve_forever()


if __name__ == "__main__":
    main()
