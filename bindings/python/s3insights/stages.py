"""The stages of a run (stage_*.h), one handle each, and reading back a run's queries.

Every stage has the same shape in C: ``s3i_<stage>_new(&out, owner, &options)``,
``_step(deadline_ms, &finished)``, ``_run()``, ``_error()`` and ``_free()``. The Stage class
wraps that shape once; each subclass only names its stage. A stage is made on a Run (ingest:
on a Deployment), keeps it alive (so closing or collecting the run, its deployment and its
context first is safe) and is a context manager.
"""

import ctypes
import time
from collections import namedtuple
from ctypes import byref

from . import _ffi, errors
from ._handle import Handle, dec, enc
from .context import stream

lib = _ffi.lib

IngestStats = namedtuple("IngestStats", [n for n, _ in _ffi.s3i_ingest_stats._fields_[1:]])
IngestStats.__doc__ = "What an Ingest handle did so far (counts since it was made)."
QueryInfo = namedtuple("QueryInfo", "index name execution_id state reason rows scanned_bytes "
                                    "output_location")
QueryInfo.__doc__ = ("One query of a run as the query stage recorded it (state: SUCCEEDED, "
                     "FAILED, CANCELLED, QUEUED, RUNNING or '' when not started; rows: result "
                     "rows without the header).")

#: Stage.step() deadline: none.
NO_DEADLINE = 0


def now_ms():
    """Wall-clock ms since the epoch, as the step deadlines count."""
    return int(time.time() * 1000)


class Stage(Handle):
    """One stage of a run: ``with s3i.ProvisionStage(run) as st: st.run()``.

    Keyword arguments are the fields of the stage's options struct (s3i_<stage>_options:
    e.g. ``ConfigureStage(run, concurrency=4)``, ``QueryStage(run, workgroup="wg")``); strings are
    copied by the library. Failures raise errors.Error subclasses carrying the detail of
    ``s3i_<stage>_error()``. One thread at a time per handle (as in C)."""

    stage = None          # "provision", ... : the C name
    _owner_type = "Run"   # what the stage is made on

    def __init__(self, owner, **options):
        name = self.stage
        o = _ffi.new(_ffi.STAGES[name])
        known = [f for f, _ in o._fields_ if f != "struct_size"]
        keep = []
        for key, value in options.items():
            if key not in known:
                raise TypeError(f"{type(self).__name__}: unknown option {key!r} "
                                f"(s3i_{name}_options has {', '.join(known)})")
            if value is None:
                continue
            ftype = dict(o._fields_)[key]
            if ftype is ctypes.POINTER(ctypes.c_char_p):
                # a list of names with its count beside it (ConfigureStage(run, buckets=[...]));
                # the library copies them in _new, so keeping the array until then suffices
                names = [enc(v, key) for v in value]
                keep.append((ctypes.c_char_p * max(1, len(names)))(*names))
                setattr(o, key, keep[-1])
                setattr(o, key[:-1] + "_count", len(names))
            else:
                setattr(o, key, enc(value, key) if ftype is ctypes.c_char_p else int(value))
        self._fn = {op: _ffi.require(f"s3i_{name}_{op}")
                    for op in ("new", "step", "run", "error", "free")}
        out = ctypes.c_void_p()
        errors.check(self._fn["new"](byref(out), owner._p(), byref(o)))
        self._free_fn = self._fn["free"]
        super().__init__(out.value, parent=owner)

    def _release(self):
        # The free function depends on the stage, so it is this instance's, not the class's.
        ptr, self._ptr = self._ptr, None
        if ptr:
            self._free_fn(ptr)
        super()._release()

    def _check(self, rc):
        if rc < 0:
            raise errors.from_detail(rc, self._detail())
        return rc

    def _detail(self):
        p = self._fn["error"](self._ptr) if self._ptr else None
        return p.contents if p else None

    def step(self, deadline_ms=NO_DEADLINE, timeout=None):
        """Do a bounded amount of work; returns True when the stage is finished.

        deadline_ms: wall-clock ms since the epoch by which the step returns (0: none), or
        timeout: seconds from now."""
        if timeout is not None:
            deadline_ms = now_ms() + int(timeout * 1000)
        finished = ctypes.c_int(0)
        self._check(self._fn["step"](self._p(), int(deadline_ms), byref(finished)))
        return bool(finished.value)

    def run(self):
        """Step until finished, without a deadline."""
        self._check(self._fn["run"](self._p()))

    @property
    def error(self):
        """The last failure of a call on this handle as an Error (not raised), or None."""
        d = self._detail() if not self.closed else None
        if d is None or d.code == 0:
            return None
        return errors.from_detail(d.code, d)

    def __repr__(self):
        return f"<{type(self).__name__} stage{' (closed)' if self.closed else ''}>"


class ProvisionStage(Stage):
    """The provision stage (stage_provision.h): discover buckets, deploy regional stacks."""
    stage = "provision"


class ConfigureStage(Stage):
    """The configure stage (stage_configure.h): inventory configurations or list snapshots."""
    stage = "configure"


class IngestStage(Stage):
    """The ingest stage (stage_ingest.h), made on a Deployment: consumes its central queue
    for every run. ``step()`` returns True when the queue gave no message."""
    stage = "ingest"
    DLQ_DRAIN, DLQ_NONE = 0, 1

    def __init__(self, deployment, **options):
        super().__init__(deployment, **options)

    def stats(self):
        """What this handle did so far (IngestStats)."""
        st = _ffi.new(_ffi.s3i_ingest_stats)
        self._check(_ffi.require("s3i_ingest_get_stats")(self._p(), byref(st)))
        return IngestStats(*(getattr(st, f) for f in IngestStats._fields))


class PartitionStage(Stage):
    """The partition stage (stage_partition.h): finish the partitioning of claimed
    manifests from the state table alone."""
    stage = "partition"


class TableStage(Stage):
    """The table stage (stage_table.h): the run's Athena database, table and partitions."""
    stage = "table"


class QueryStage(Stage):
    """The query stage (stage_query.h): run the input's athena_queries and record them.
    Read them back with Run.queries() and Run.query_results() (s3insights.Query is
    a query of a run input, not this stage)."""
    stage = "query"


class NotifyStage(Stage):
    """The notify stage (stage_notify.h): e-mail the run's report."""
    stage = "notify"

    @property
    def sent(self):
        """Messages this handle sent."""
        return _ffi.require("s3i_notify_sent")(self._p())


class TeardownStage(Stage):
    """The teardown stage (stage_teardown.h): remove the run's transient resources."""
    stage = "teardown"


STAGES = {c.stage: c for c in (ProvisionStage, ConfigureStage, IngestStage, PartitionStage,
                               TableStage, QueryStage, NotifyStage, TeardownStage)}

# ---------------------------------------------------------------- query rows


class Row(tuple):
    """One result row: a tuple of str (None for an SQL NULL) that also answers by column
    name (``row["bucket"]``), with ``columns`` (the names, shared by the rows of a result)
    and ``index`` (0-based among the data rows)."""

    columns = ()
    index = -1

    def __getitem__(self, i):
        if isinstance(i, str):
            try:
                return tuple.__getitem__(self, self.columns.index(i))
            except ValueError:
                raise KeyError(i) from None
        return tuple.__getitem__(self, i)

    def as_dict(self):
        """{column: value}, in column order."""
        return dict(zip(self.columns, self))

    def __repr__(self):
        return f"Row({self.as_dict()!r})"


def _row_class(columns):
    """A Row subclass for one result's columns (so a row carries them without copying)."""
    return type("Row", (Row,), {"columns": tuple(columns)})


class _Borrow(Handle):
    """Keeps a Run's C handle alive while a worker thread reads through it."""

    def __init__(self, run):
        super().__init__(run._p(), parent=run)


def query_rows(run, query, max_rows=0, as_dict=False):
    """Generator of the rows of `query` (its name, or its index) of `run`. See
    Run.query_results()."""
    if isinstance(query, int):
        query = str(query)
    q = enc(query, "query")
    holder = _Borrow(run)

    def start(emit, c_run):
        cls = [None, None]  # the Row class, for the columns it was made for

        def on_row(user, p):
            r = p.contents
            n = r.count
            cols = tuple(dec(r.columns[i]) for i in range(n))
            vals = [dec(r.values[i]) for i in range(n)]
            if as_dict:
                item = dict(zip(cols, vals))
            else:
                if cls[1] != cols:
                    cls[0], cls[1] = _row_class(cols), cols
                item = cls[0](vals)
                item.index = r.index
            return 0 if emit(item) else 1

        fn = _ffi.QUERY_ROW_FN(on_row)
        rc = _ffi.require("s3i_query_results")(c_run, q, int(max_rows), fn, None)
        if rc < 0 and rc != errors.EUSER:
            raise errors.last_error(rc)

    return stream(start, holder._ptr, holder.close)


def query_list(run):
    """Every recorded query of `run` (QueryInfo), in input order."""
    found = []

    def on_query(user, p):
        i = p.contents
        found.append(QueryInfo(i.index, dec(i.name), dec(i.execution_id), dec(i.state),
                               dec(i.reason), i.rows, i.scanned_bytes,
                               dec(i.output_location)))
        return 0

    cb = _ffi.QUERY_INFO_FN(on_query)
    errors.check(_ffi.require("s3i_query_list")(run._p(), cb, None))
    return found


__all__ = ["Stage", "ProvisionStage", "ConfigureStage", "IngestStage", "PartitionStage",
           "TableStage", "QueryStage", "NotifyStage", "TeardownStage", "STAGES", "IngestStats", "QueryInfo", "Row", "now_ms",
           "NO_DEADLINE"]
