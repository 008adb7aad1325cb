"""The context (ctx.h) and the S3 calls made on it (s3.h)."""

import ctypes
import os
import queue
import threading
from collections import namedtuple
from ctypes import byref, memmove

from . import _ffi, errors
from ._handle import Handle, dec, enc

lib = _ffi.lib

LOG_NONE, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE = range(6)

ObjectInfo = namedtuple("ObjectInfo", "key size last_modified_ms etag storage_class "
                                      "owner_id owner_name")
ObjectInfo.__doc__ = "One object of a listing (last_modified_ms: ms since the epoch, UTC)."
VersionInfo = namedtuple("VersionInfo", "key version_id is_latest is_delete_marker size "
                                        "last_modified_ms etag storage_class owner_id "
                                        "owner_name")
VersionInfo.__doc__ = "One object version or delete marker of a version listing."
CommonPrefix = namedtuple("CommonPrefix", "prefix")
CommonPrefix.__doc__ = "A common prefix (a 'folder' under the delimiter) of a listing."
ObjectMeta = namedtuple("ObjectMeta", "content_length object_size range_start "
                                      "last_modified_ms partial parts etag version_id "
                                      "content_type")
ObjectMeta.__doc__ = "What a download, upload or copy learnt about the object."
DeleteFailure = namedtuple("DeleteFailure", "key version_id code message")
DeleteFailure.__doc__ = "A key DeleteObjects did not delete, with S3's code and message."


class DeleteObjectsError(errors.Error):
    """Some keys were not deleted; ``failures`` lists each (key, version_id, code, message)."""

    def __init__(self, *args, failures=(), **kw):
        super().__init__(*args, **kw)
        self.failures = list(failures)


def _meta(m):
    return ObjectMeta(m.content_length, m.object_size, m.range_start, m.last_modified_ms,
                      bool(m.partial), m.parts, dec(m.etag), dec(m.version_id),
                      dec(m.content_type))


def _stream(start, context, page=1000):
    """Iterate what a callback-driven C listing reports, with bounded memory.

    The listing holds its own reference on the C context of `context` while it runs (taken
    when the iteration starts, dropped when it ends or the iterator is collected), so closing
    the Context meanwhile is safe.

    `start(emit, ctx)` makes the C call on the C context ctx; `emit(item)` is called from its callbacks and returns
    whether to go on. The call runs on a worker thread (its callbacks, and its error detail
    in s3i_error_last(), stay on that thread) and hands items over through a queue of at
    most `page` items, so a listing of any size is never held whole. Leaving the loop early
    stops the listing (the callback returns non-zero)."""
    ctx = lib.s3i_ctx_acquire(context._p())
    yield from stream(start, ctx, lambda: lib.s3i_ctx_release(ctx), page)


def stream(start, ctx, release, page=1000):
    """The worker-thread iteration of _stream for any C handle (a generator):
    `start(emit, ctx)` makes the C call on `ctx`; `release()` runs once when the iteration
    ends, however it ends (it drops what kept `ctx` alive)."""
    q = queue.Queue(maxsize=page)
    stop = threading.Event()
    done = object()

    def emit(item):
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            start(emit, ctx)
            result = None
        except BaseException as e:  # handed to the consumer
            result = e
        while True:
            try:
                q.put((done, result), timeout=0.1)
                return
            except queue.Full:
                if stop.is_set():
                    return

    t = threading.Thread(target=work, name="s3insights-listing", daemon=True)
    try:
        t.start()
        while True:
            item = q.get()
            if isinstance(item, tuple) and len(item) == 2 and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        release()


class Context(Handle):
    """An s3i_ctx: credentials, region, endpoint, HTTP pool, logging; shareable by threads.

    Every argument left None comes from the environment as the AWS SDKs take it (AWS_REGION,
    AWS_ENDPOINT_URL, AWS_PROFILE, the credentials chain). `log` is a callable
    ``log(level, line)`` (line: str, secrets already redacted), called on the thread making
    the call. Use it as a context manager, or call close().
    """

    _free = lib.s3i_ctx_release

    def __init__(self, region=None, endpoint_url=None, profile=None, access_key_id=None,
                 secret_access_key=None, session_token=None, log=None, log_level=0,
                 max_attempts=0, connect_timeout_ms=0, request_timeout_ms=0,
                 max_connections=0, ca_bundle=None, insecure_skip_tls_verify=False):
        o = _ffi.new(_ffi.s3i_ctx_options)
        errors.check(lib.s3i_ctx_options_init(byref(o), ctypes.sizeof(o)))
        o.region = enc(region, "region")
        o.endpoint_url = enc(endpoint_url, "endpoint_url")
        o.profile = enc(profile, "profile")
        o.access_key_id = enc(access_key_id, "access_key_id")
        o.secret_access_key = enc(secret_access_key, "secret_access_key")
        o.session_token = enc(session_token, "session_token")
        o.ca_bundle = enc(ca_bundle, "ca_bundle")
        o.log_level = int(log_level)
        o.max_attempts = int(max_attempts)
        o.connect_timeout_ms = int(connect_timeout_ms)
        o.request_timeout_ms = int(request_timeout_ms)
        o.max_connections = int(max_connections)
        o.insecure_skip_tls_verify = 1 if insecure_skip_tls_verify else 0
        self._log_cb = None
        if log is not None:
            def on_log(user, level, line, _log=log):
                try:
                    _log(int(level), dec(line))
                except Exception:  # a logger must not break the library call
                    pass
            # Kept for the context's life: the library calls it until the context is freed.
            self._log_cb = _ffi.LOG_FN(on_log)
            o.log_fn = self._log_cb
        ptr = ctypes.c_void_p()
        errors.check(lib.s3i_ctx_new(byref(ptr), byref(o)))
        super().__init__(ptr.value)

    @property
    def s3(self):
        """The S3 calls on this context (an S3 object holding the context; no cycle, so
        dropping the last reference to the context frees it at once)."""
        return S3(self)

    @property
    def region(self):
        """The region calls default to."""
        return dec(lib.s3i_ctx_region(self._p()))


def _call(rc):
    if rc < 0:
        raise errors.last_error(rc)
    return rc


def _data(data):
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)


def _list_options(prefix, delimiter, start_after, max_keys, fetch_owner, continuation_token,
                  key_marker=None, version_id_marker=None):
    o = _ffi.new(_ffi.s3i_s3_list_options)
    o.prefix = enc(prefix, "prefix")
    o.delimiter = enc(delimiter, "delimiter")
    o.start_after = enc(start_after, "start_after")
    o.max_keys = int(max_keys)
    o.fetch_owner = 1 if fetch_owner else 0
    o.continuation_token = enc(continuation_token, "continuation_token")
    o.key_marker = enc(key_marker, "key_marker")
    o.version_id_marker = enc(version_id_marker, "version_id_marker")
    return o


def _transfer_options(multipart_threshold=0, part_size=0, copy_threshold=0, copy_part_size=0,
                      max_concurrency=0, content_type=None, source_version_id=None,
                      source_if_match=None, source_size=0):
    o = _ffi.new(_ffi.s3i_s3_transfer_options)
    o.multipart_threshold, o.part_size = multipart_threshold, part_size
    o.copy_threshold, o.copy_part_size = copy_threshold, copy_part_size
    o.max_concurrency = max_concurrency
    o.content_type = enc(content_type, "content_type")
    o.source_version_id = enc(source_version_id, "source_version_id")
    o.source_if_match = enc(source_if_match, "source_if_match")
    o.source_size = source_size
    return o


class S3:
    """The S3 calls of s3.h on a context (``ctx.s3``). Keys and names are str (UTF-8);
    bodies are bytes (a str body is sent as UTF-8). Failures raise errors.Error subclasses
    with the detail: NotFoundError for a missing bucket or key, and so on."""

    def __init__(self, ctx):
        self._ctx = ctx

    def _c(self):
        return self._ctx._p()

    def create_bucket(self, bucket, region=None):
        """Create a bucket (an existing bucket of yours is not an error)."""
        _call(lib.s3i_s3_create_bucket(self._c(), enc(bucket, "bucket"), enc(region, "region")))

    def delete_bucket(self, bucket):
        """Delete an empty bucket (ConflictError when it is not empty)."""
        _call(lib.s3i_s3_delete_bucket(self._c(), enc(bucket, "bucket")))

    def put_object(self, bucket, key, data):
        """Upload bytes (or a str, as UTF-8) as one object."""
        body = _data(data)
        _call(lib.s3i_s3_put_object(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                    body, len(body)))

    def put_object_file(self, bucket, key, path):
        """Upload a local file, streamed."""
        _call(lib.s3i_s3_put_object_file(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                         os.fsencode(path)))

    def get_object(self, bucket, key):
        """Download a whole object; returns bytes."""
        buf = _ffi.s3i_buf()
        _call(lib.s3i_s3_get_object(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                    byref(buf)))
        try:
            return ctypes.string_at(buf.ptr, buf.size) if buf.ptr else b""
        finally:
            lib.s3i_buf_dispose(byref(buf))

    def get_object_file(self, bucket, key, path):
        """Download an object into a local file (replaced only when all of it arrived)."""
        _call(lib.s3i_s3_get_object_file(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                         os.fsencode(path)))

    def get_object_to(self, bucket, key, write, reset=None, range_start=0, range_length=0,
                      if_match=None, version_id=None):
        """Stream an object (or a byte range) to ``write(bytes)``; ``reset()`` (optional)
        empties the sink before a retry restarts the body. Returns an ObjectMeta."""
        o = _ffi.new(_ffi.s3i_s3_get_options)
        o.range_start, o.range_length = range_start, range_length
        o.if_match = enc(if_match, "if_match")
        o.version_id = enc(version_id, "version_id")
        meta = _ffi.new(_ffi.s3i_s3_object_meta)
        failure = []

        def on_data(payload, data, n):
            try:
                write(ctypes.string_at(data, n))
                return 0
            except BaseException as e:
                failure.append(e)
                return errors.EUSER

        def on_reset(payload):
            try:
                reset()
                return 0
            except BaseException as e:
                failure.append(e)
                return errors.EUSER

        sink = _ffi.WRITE_FN(on_data)
        rs = _ffi.RESET_FN(on_reset) if reset else _ffi.RESET_FN()
        rc = lib.s3i_s3_get_object_to(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                      byref(o), byref(meta), sink, rs, None)
        if rc < 0:
            err = errors.last_error(rc)
            if failure:
                raise failure[0] from err
            raise err
        return _meta(meta)

    def delete_object(self, bucket, key):
        """Delete one object (a missing key is not an error)."""
        _call(lib.s3i_s3_delete_object(self._c(), enc(bucket, "bucket"), enc(key, "key")))

    def list_objects(self, bucket, prefix=None, delimiter=None, start_after=None, max_keys=0,
                     fetch_owner=False, continuation_token=None):
        """Iterate the objects (ObjectInfo) and, with a delimiter, common prefixes
        (CommonPrefix) under `prefix`, page by page; memory stays bounded by a page.
        Within a page, objects come before its common prefixes."""
        o = _list_options(prefix, delimiter, start_after, max_keys, fetch_owner,
                          continuation_token)
        b = enc(bucket, "bucket")

        def start(emit, ctx):
            def on_obj(payload, p):
                i = p.contents
                return 0 if emit(ObjectInfo(dec(i.key), i.size, i.last_modified_ms,
                                            dec(i.etag), dec(i.storage_class),
                                            dec(i.owner_id), dec(i.owner_name))) else 1

            def on_prefix(payload, prefix):
                return 0 if emit(CommonPrefix(dec(prefix))) else 1

            fn, pfn = _ffi.OBJECT_FN(on_obj), _ffi.PREFIX_FN(on_prefix)
            o.prefix_fn = pfn
            rc = lib.s3i_s3_list_objects_v2(ctx, b, byref(o), fn, None)
            if rc < 0 and rc != errors.EUSER:
                raise errors.last_error(rc)

        return _stream(start, self._ctx)

    def list_object_versions(self, bucket, prefix=None, delimiter=None, max_keys=0,
                             key_marker=None, version_id_marker=None):
        """Iterate every version and delete marker (VersionInfo) under `prefix`, in S3's
        order (key, then newest first), with common prefixes (CommonPrefix) when a delimiter
        is given."""
        o = _list_options(prefix, delimiter, None, max_keys, False, None, key_marker,
                          version_id_marker)
        b = enc(bucket, "bucket")

        def start(emit, ctx):
            def on_version(payload, p):
                v = p.contents
                return 0 if emit(VersionInfo(dec(v.key), dec(v.version_id), bool(v.is_latest),
                                             bool(v.is_delete_marker), v.size,
                                             v.last_modified_ms, dec(v.etag),
                                             dec(v.storage_class), dec(v.owner_id),
                                             dec(v.owner_name))) else 1

            def on_prefix(payload, prefix):
                return 0 if emit(CommonPrefix(dec(prefix))) else 1

            fn, pfn = _ffi.VERSION_FN(on_version), _ffi.PREFIX_FN(on_prefix)
            o.prefix_fn = pfn
            rc = lib.s3i_s3_list_object_versions(ctx, b, byref(o), fn, None)
            if rc < 0 and rc != errors.EUSER:
                raise errors.last_error(rc)

        return _stream(start, self._ctx)

    def upload(self, bucket, key, source, length=-1, **transfer):
        """Upload from a binary file object (``read(n)``; ``seek(0)`` is used for retries
        when it is seekable), multipart above the threshold. `transfer`: the fields of
        s3i_s3_transfer_options (part_size, content_type, ...). Returns an ObjectMeta."""
        o = _transfer_options(**transfer)
        meta = _ffi.new(_ffi.s3i_s3_object_meta)
        failure = []
        start = source.tell() if hasattr(source, "seekable") and source.seekable() else None

        def on_read(payload, buf, cap, out_len):
            try:
                chunk = source.read(cap) or b""
                if len(chunk) > cap:
                    raise ValueError("read() returned more bytes than asked for")
                memmove(buf, chunk, len(chunk))
                out_len[0] = len(chunk)
                return 0
            except BaseException as e:
                failure.append(e)
                return errors.EUSER

        def on_rewind(payload):
            try:
                source.seek(start)
                return 0
            except BaseException as e:
                failure.append(e)
                return errors.EUSER

        rd = _ffi.READ_FN(on_read)
        rw = _ffi.RESET_FN(on_rewind) if start is not None else _ffi.RESET_FN()
        rc = lib.s3i_s3_upload(self._c(), enc(bucket, "bucket"), enc(key, "key"), length,
                               byref(o), byref(meta), rd, rw, None)
        if rc < 0:
            err = errors.last_error(rc)
            if failure:
                raise failure[0] from err
            raise err
        return _meta(meta)

    def upload_file(self, bucket, key, path, **transfer):
        """Upload a local file, multipart above the threshold. Returns an ObjectMeta."""
        o = _transfer_options(**transfer)
        meta = _ffi.new(_ffi.s3i_s3_object_meta)
        _call(lib.s3i_s3_upload_file(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                     os.fsencode(path), byref(o), byref(meta)))
        return _meta(meta)

    def copy_object(self, src_bucket, src_key, dst_bucket, dst_key, **transfer):
        """Server-side copy (metadata carried over). Returns the new object's ObjectMeta."""
        o = _transfer_options(**transfer)
        meta = _ffi.new(_ffi.s3i_s3_object_meta)
        _call(lib.s3i_s3_copy_object(self._c(), enc(src_bucket, "src_bucket"),
                                     enc(src_key, "src_key"), enc(dst_bucket, "dst_bucket"),
                                     enc(dst_key, "dst_key"), byref(o), byref(meta)))
        return _meta(meta)

    def put_object_tagging(self, bucket, key, tags, version_id=None):
        """Replace the object's whole tag set with `tags` (a dict or (key, value) pairs; at
        most 10; empty: remove every tag). The tags the object had are gone afterwards."""
        items = list(tags.items()) if isinstance(tags, dict) else [tuple(t) for t in tags]
        arr = (_ffi.s3i_s3_tag * max(1, len(items)))()
        keep = []
        for i, (k, v) in enumerate(items):
            kb, vb = enc(k, "tag key"), enc(v, "tag value")
            keep += [kb, vb]
            arr[i].key, arr[i].value = kb, vb
        _call(lib.s3i_s3_put_object_tagging(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                            enc(version_id, "version_id"), arr, len(items)))

    def get_object_tagging(self, bucket, key, version_id=None):
        """The object's tags (of one version when given) as a dict; {} when it has none."""
        tags = {}

        def on_tag(payload, k, v):
            tags[dec(k)] = dec(v)
            return 0

        cb = _ffi.TAG_FN(on_tag)
        _call(lib.s3i_s3_get_object_tagging(self._c(), enc(bucket, "bucket"), enc(key, "key"),
                                            enc(version_id, "version_id"), cb, None))
        return tags

    def delete_objects(self, bucket, keys):
        """Delete keys (str, or (key, version_id) pairs) in batches of 1000. Raises
        DeleteObjectsError listing every key S3 did not delete."""
        items = [(k, None) if isinstance(k, (str, bytes)) else (k[0], k[1]) for k in keys]
        arr = (_ffi.s3i_s3_object_id * max(1, len(items)))()
        keep = []
        for i, (k, v) in enumerate(items):
            kb, vb = enc(k, "key"), enc(v, "version_id")
            keep += [kb, vb]
            arr[i].key, arr[i].version_id = kb, vb
        failures = []

        def on_error(payload, p):
            e = p.contents
            failures.append(DeleteFailure(dec(e.key), dec(e.version_id) or None, dec(e.code),
                                          dec(e.message)))
            return 0

        cb = _ffi.DELETE_ERROR_FN(on_error)
        rc = lib.s3i_s3_delete_objects(self._c(), enc(bucket, "bucket"), arr, len(items), cb,
                                       None)
        if rc < 0:
            cls = DeleteObjectsError if failures else None
            kw = {"failures": failures} if failures else {}
            raise errors.last_error(rc, cls=cls, **kw)


__all__ = ["Context", "S3", "ObjectInfo", "VersionInfo", "CommonPrefix", "ObjectMeta",
           "DeleteFailure", "DeleteObjectsError", "LOG_NONE", "LOG_ERROR", "LOG_WARN",
           "LOG_INFO", "LOG_DEBUG", "LOG_TRACE"]
