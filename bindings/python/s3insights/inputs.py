"""Run inputs and Cleanup inputs (run_input.h, docs/run-input.md)."""

import ctypes
import json as _json
from collections import namedtuple
from ctypes import byref

from . import _ffi, errors
from ._handle import Handle, dec, enc

lib = _ffi.lib

Account = namedtuple("Account", "id exclude role_name external_id")
Account.__doc__ = ("One account of a run input: id, excluded buckets, the role name (None: "
                   "the deployment's) and the external id for AssumeRole (None: none).")
Query = namedtuple("Query", "name text")
Query.__doc__ = "One Athena query of a run input, as written (placeholders not substituted)."
Problem = namedtuple("Problem", "field message")
Problem.__doc__ = "One problem of a refused input: its field ('accounts[2].id') and line."


def _document(doc):
    if isinstance(doc, (dict, list)):
        return _json.dumps(doc).encode("utf-8")
    return enc(doc, "input")


def _parse(fn, doc):
    data = _document(doc)
    out, problems = ctypes.c_void_p(), ctypes.c_void_p()
    rc = fn(byref(out), data, len(data), None, byref(problems))
    if rc >= 0:
        return out.value
    try:
        p = problems.value
        found = [Problem(dec(lib.s3i_input_problems_get_field(p, i)),
                         dec(lib.s3i_input_problems_get_message(p, i)))
                 for i in range(lib.s3i_input_problems_count(p))] if p else []
        cls = errors.InputError if rc in (errors.EINVALID, errors.EPARSE) else None
        raise errors.last_error(rc, cls=cls, **({"problems": found} if cls else {}))
    finally:
        lib.s3i_input_problems_free(problems)


def _take(buf):
    try:
        return ctypes.string_at(buf.ptr, buf.size).decode("utf-8") if buf.ptr else ""
    finally:
        lib.s3i_buf_dispose(byref(buf))


class RunInput(Handle):
    """A parsed, validated run input (immutable). ``RunInput(doc)`` parses `doc` (a str,
    UTF-8 bytes, or a dict that is serialised first) and raises errors.InputError, whose
    ``problems`` lists every (field, message), when it is refused."""

    _free = lib.s3i_run_input_free

    def __init__(self, doc=None, _borrowed=None, _owner=None):
        if _borrowed is not None:
            # A run's recorded input: owned by the run, which this object keeps alive.
            super().__init__(_borrowed, parent=_owner)
            self._borrowed = True
            return
        super().__init__(_parse(lib.s3i_run_input_parse, doc))
        self._borrowed = False

    def _release(self):
        if self._borrowed:
            self._ptr = None  # the run frees it
        super()._release()

    def to_json(self):
        """The canonical JSON (defaults filled in, fixed order): equal inputs give equal text."""
        buf = _ffi.s3i_buf()
        rc = lib.s3i_run_input_to_json(self._p(), byref(buf))
        if rc < 0:
            lib.s3i_buf_dispose(byref(buf))
            errors.check(rc)
        return _take(buf)

    def __eq__(self, other):
        if not isinstance(other, RunInput):
            return NotImplemented
        return bool(lib.s3i_run_input_equal(self._p(), other._p()))

    __hash__ = None

    @property
    def run_id(self):
        return dec(lib.s3i_run_input_get_run_id(self._p()))

    @property
    def accounts(self):
        p = self._p()
        out = []
        for i in range(lib.s3i_run_input_get_account_count(p)):
            excl = [dec(lib.s3i_run_input_get_exclude(p, i, j))
                    for j in range(lib.s3i_run_input_get_exclude_count(p, i))]
            out.append(Account(dec(lib.s3i_run_input_get_account_id(p, i)), excl,
                               dec(lib.s3i_run_input_get_role_name(p, i)),
                               dec(lib.s3i_run_input_get_account_external_id(p, i))))
        return out

    def find_account(self, account_id):
        """The index of an account in `accounts`, or -1."""
        return lib.s3i_run_input_find_account(self._p(), enc(account_id, "account_id"))

    def is_excluded(self, account_index, bucket):
        return bool(lib.s3i_run_input_is_excluded(self._p(), account_index,
                                                  enc(bucket, "bucket")))

    @property
    def queries(self):
        p = self._p()
        return [Query(dec(lib.s3i_run_input_get_query_name(p, i)),
                      dec(lib.s3i_run_input_get_query_text(p, i)))
                for i in range(lib.s3i_run_input_get_query_count(p))]

    def render_query(self, index):
        """Query `index` with {ATHENA_TABLE} and {ATHENA_DATABASE} substituted."""
        buf = _ffi.s3i_buf()
        rc = lib.s3i_run_input_render_query(self._p(), index, byref(buf))
        if rc < 0:
            lib.s3i_buf_dispose(byref(buf))
            errors.check(rc)
        return _take(buf)

    @property
    def sender(self):
        return dec(lib.s3i_run_input_get_sender(self._p()))

    @property
    def recipients(self):
        p = self._p()
        return [dec(lib.s3i_run_input_get_recipient(p, i))
                for i in range(lib.s3i_run_input_get_recipient_count(p))]

    @property
    def database(self):
        return dec(lib.s3i_run_input_get_database(self._p()))

    @property
    def table(self):
        return dec(lib.s3i_run_input_get_table(self._p()))

    @property
    def regions(self):
        p = self._p()
        return [dec(lib.s3i_run_input_get_region(p, i))
                for i in range(lib.s3i_run_input_get_region_count(p))]

    def is_region_supported(self, region):
        return bool(lib.s3i_run_input_is_region_supported(self._p(), enc(region, "region")))

    @property
    def is_smoke_test(self):
        return bool(lib.s3i_run_input_is_smoke_test(self._p()))

    @property
    def external_id(self):
        return dec(lib.s3i_run_input_get_external_id(self._p()))

    @property
    def snapshot(self):
        """"inventory" or "list"."""
        return dec(lib.s3i_snapshot_name(lib.s3i_run_input_get_snapshot(self._p())))

    @property
    def inventory_format(self):
        """"CSV", "ORC" or "Parquet"."""
        return dec(lib.s3i_inventory_format_name(
            lib.s3i_run_input_get_inventory_format(self._p())))

    @property
    def object_versions(self):
        """"All" or "Current"."""
        return dec(lib.s3i_object_versions_name(
            lib.s3i_run_input_get_object_versions(self._p())))

    @property
    def inventory_timeout_ms(self):
        return lib.s3i_run_input_get_inventory_timeout_ms(self._p())

    @property
    def engine(self):
        """"athena" or "local"."""
        return dec(lib.s3i_engine_name(lib.s3i_run_input_get_engine(self._p())))


class CleanupInput(Handle):
    """A parsed Cleanup input: ``run_id`` is the run to clean up, or None for every
    unfinished run (``{"manual_cleanup": true}``)."""

    _free = lib.s3i_cleanup_input_free

    def __init__(self, doc):
        super().__init__(_parse(lib.s3i_cleanup_input_parse, doc))

    @property
    def run_id(self):
        return dec(lib.s3i_cleanup_input_get_run_id(self._p()))


def query_substitute(query, database, table):
    """Replace every {ATHENA_TABLE} and {ATHENA_DATABASE} of a query text."""
    buf = _ffi.s3i_buf()
    rc = lib.s3i_query_substitute(byref(buf), enc(query, "query"), enc(database, "database"),
                                  enc(table, "table"))
    if rc < 0:
        lib.s3i_buf_dispose(byref(buf))
        errors.check(rc)
    return _take(buf)


__all__ = ["RunInput", "CleanupInput", "Account", "Query", "Problem", "query_substitute"]
