"""Deployments and runs (deployment.h, run.h, docs/stages.md)."""

import ctypes
from collections import namedtuple
from ctypes import byref

from . import _ffi, errors, stages
from ._handle import Handle, dec, enc
from .inputs import RunInput

lib = _ffi.lib

BucketStatus = namedtuple("BucketStatus", "account region bucket status reason expected_files "
                                          "partitioned_files objects bytes updated_ms")
BucketStatus.__doc__ = ("One source bucket's recorded state (status: discovered, in_progress, "
                        "ingesting, done, excluded, ...; expected_files -1 before a manifest "
                        "was verified; objects and bytes None when not counted: ORC/Parquet "
                        "data whose rows the create-table stage has not counted with Athena).")
RunStatus = namedtuple("RunStatus", "run_id phase finished error error_stage created_ms "
                                    "updated_ms buckets_total buckets_pending objects bytes "
                                    "buckets buckets_not_counted")
RunStatus.__doc__ = ("A run as a whole, with the list of its BucketStatus in `buckets`; "
                     "objects and bytes None when buckets_not_counted > 0 (the total is not "
                     "known).")


def _count(n):
    """A count of run.h: -1 means not counted (None), never 0."""
    return None if n < 0 else n
HarvestProgress = namedtuple("HarvestProgress", "stage status elapsed_ms wait_deadline_ms")
HarvestProgress.__doc__ = ("Where a harvest is: stage (provision, configure, wait, table, "
                           "query, notify, teardown, cleanup), status (a RunStatus with "
                           "buckets=[], or None), elapsed_ms, wait_deadline_ms (0 outside the "
                           "wait for reports).")


def _run_status(st, buckets):
    return RunStatus(dec(st.run_id), dec(st.phase), bool(st.finished), dec(st.error),
                     dec(st.error_stage), st.created_ms, st.updated_ms, st.buckets_total,
                     st.buckets_pending, _count(st.objects), _count(st.bytes), buckets,
                     st.buckets_not_counted)


def _ffi_fn(name):
    return _ffi.require(name)


class Deployment(Handle):
    """One installation of the system on a Context: ``Deployment(ctx, name="demo")``.

    Opening touches nothing in AWS but STS (for the host account when it is not given);
    ``init()`` creates the host resources. The deployment keeps its Context alive."""

    _free = lib.s3i_deployment_free if "s3i_deployment_free" not in _ffi.missing else None

    def __init__(self, ctx, name=None, host_region=None, host_account_id=None,
                 data_retention_days=0):
        o = _ffi.new(_ffi.s3i_deployment_options)
        o.name = enc(name, "name")
        o.host_region = enc(host_region, "host_region")
        o.host_account_id = enc(host_account_id, "host_account_id")
        o.data_retention_days = int(data_retention_days)
        out = ctypes.c_void_p()
        errors.check(_ffi_fn("s3i_deployment_open")(byref(out), ctx._p(), byref(o)))
        super().__init__(out.value, parent=ctx)

    def init(self):
        """Create or complete, idempotently, the state table, consolidated bucket and queues."""
        errors.check(_ffi_fn("s3i_deployment_init")(self._p()))

    def _url(self, fn):
        buf = ctypes.create_string_buffer(1024)
        errors.check(_ffi_fn(fn)(self._p(), buf, len(buf)))
        return dec(buf.value)

    def queue_url(self):
        """The central queue's URL (NotFoundError before init())."""
        return self._url("s3i_deployment_queue_url")

    def dlq_url(self):
        """The dead-letter queue's URL."""
        return self._url("s3i_deployment_dlq_url")

    def runs(self, unfinished_only=False):
        """The deployment's runs in id order, as (run_id, phase, finished) tuples; only those
        not finished (not done or cleaned) with unfinished_only, as S3Insights' manual
        cleanup takes them."""
        found = []

        def on_run(user, run_id, phase, finished):
            found.append((dec(run_id), dec(phase), bool(finished)))
            return 0

        cb = _ffi.RUN_LIST_FN(on_run)
        errors.check(_ffi_fn("s3i_deployment_list_runs")(self._p(), int(bool(unfinished_only)),
                                                          cb, None))
        return found

    def _name(self, fn):
        return dec(_ffi_fn(fn)(self._p()))

    name = property(lambda self: self._name("s3i_deployment_name"))
    host_region = property(lambda self: self._name("s3i_deployment_host_region"))
    host_account = property(lambda self: self._name("s3i_deployment_host_account"))
    state_table = property(lambda self: self._name("s3i_deployment_state_table"))
    consolidated_bucket = property(
        lambda self: self._name("s3i_deployment_consolidated_bucket"))
    queue_name = property(lambda self: self._name("s3i_deployment_queue_name"))
    dlq_name = property(lambda self: self._name("s3i_deployment_dlq_name"))


class Run(Handle):
    """One run of a deployment. ``Run.start(d, run_input)`` records a new run (or resumes an
    unfinished one with the same input); ``Run.open(d, run_id)`` opens any recorded run.
    The run keeps its Deployment (and so its Context) alive."""

    _free = lib.s3i_run_free if "s3i_run_free" not in _ffi.missing else None

    def __init__(self, ptr, deployment):
        super().__init__(ptr, parent=deployment)

    @classmethod
    def start(cls, deployment, run_input):
        if not isinstance(run_input, RunInput):
            run_input = RunInput(run_input)
        out = ctypes.c_void_p()
        errors.check(_ffi_fn("s3i_run_start")(byref(out), deployment._p(), run_input._p()))
        return cls(out.value, deployment)

    @classmethod
    def open(cls, deployment, run_id):
        out = ctypes.c_void_p()
        errors.check(_ffi_fn("s3i_run_open")(byref(out), deployment._p(), enc(run_id, "run_id")))
        return cls(out.value, deployment)

    @property
    def id(self):
        return dec(_ffi_fn("s3i_run_id")(self._p()))

    @property
    def input(self):
        """The run's input as recorded (a RunInput that keeps this run alive)."""
        return RunInput(_borrowed=_ffi_fn("s3i_run_get_input")(self._p()), _owner=self)

    def buckets(self):
        """Iterate the source buckets' recorded states (BucketStatus), by account then
        bucket, read from the state table."""
        return iter(self.status().buckets)

    def status(self):
        """Read the run's status back from the state table (consistent reads)."""
        found = []

        def on_bucket(user, p):
            b = p.contents
            found.append(BucketStatus(dec(b.account), dec(b.region), dec(b.bucket),
                                      dec(b.status), dec(b.reason), b.expected_files,
                                      b.partitioned_files, _count(b.objects),
                                      _count(b.bytes), b.updated_ms))
            return 0

        st = _ffi.new(_ffi.s3i_run_status)
        cb = _ffi.BUCKET_STATUS_FN(on_bucket)
        errors.check(_ffi_fn("s3i_run_status_read")(self._p(), byref(st), cb, None))
        return _run_status(st, found)

    def _harvest(self, fn, progress, progress_interval_ms, failure_report, cleanup_on_failure):
        o = _ffi.new(_ffi.s3i_harvest_options)
        o.progress_interval_ms = int(progress_interval_ms)
        o.no_failure_report = 0 if failure_report else 1
        o.no_cleanup_on_failure = 0 if cleanup_on_failure else 1
        failure = []
        stopped = []
        cb = None
        if progress is not None:
            def on_progress(user, p):
                try:
                    h = p.contents
                    status = _run_status(h.status.contents, []) if h.status else None
                    if progress(HarvestProgress(dec(h.stage), status, h.elapsed_ms,
                                                h.wait_deadline_ms)) is False:
                        stopped.append(True)
                        return 1
                    return 0
                except BaseException as e:  # stops the harvest; re-raised below
                    failure.append(e)
                    return 1
            # Kept referenced (cb, and o through it) until the call returns: the library calls
            # it from inside s3i_harvest_run on this thread.
            cb = _ffi.HARVEST_PROGRESS_FN(on_progress)
            o.progress = cb
        rc = _ffi_fn(fn)(self._p(), byref(o))
        del cb
        if rc < 0:
            err = errors.last_error(rc)
            if failure:
                raise failure[0] from err
            raise err

    def harvest(self, progress=None, progress_interval_ms=0, failure_report=True,
                cleanup_on_failure=True):
        """Run (or resume) the whole Harvester for this run in one call (harvest.h): every
        stage in order, with the wait for reports, until the run is done.

        progress: a callable taking a HarvestProgress, called on this thread between stages
        and about every progress_interval_ms (0: 1 s) while waiting. Returning False stops
        the harvest (StoppedError; resumable by calling harvest() again); an exception it
        raises stops the harvest too and is re-raised with the library's error as its
        __cause__. failure_report=False: a failed run sends no e-mail;
        cleanup_on_failure=False: a failed run keeps its transient resources.
        Raises ExistsError when the run had finished before, ConflictError when it had failed
        (call cleanup())."""
        self._harvest("s3i_harvest_run", progress, progress_interval_ms, failure_report,
                      cleanup_on_failure)

    def cleanup(self, progress=None, progress_interval_ms=0):
        """The Cleanup workflow (s3i_cleanup_run): remove every transient resource of the
        run; an unfinished run is first recorded as failed. Safe to call any number of
        times."""
        self._harvest("s3i_cleanup_run", progress, progress_interval_ms, True, True)

    def queries(self):
        """The run's recorded queries (QueryInfo), in input order; queries the query stage
        has not reached yet are left out."""
        return stages.query_list(self)

    def query_results(self, query, max_rows=0, as_dict=False):
        """Iterate the result rows of a SUCCEEDED query (its name, or its index in
        athena_queries): stages.Row tuples with ``columns`` and access by column name, or
        dicts with as_dict=True; None for an SQL NULL. Streamed page by page through a worker
        thread; leaving the loop early stops reading (no further GetQueryResults page).
        max_rows: stop after that many (0: all). The iterator keeps the run alive.
        Raises NotFoundError (no such query, never started) or InvalidError (it did not
        succeed: the message gives its state and reason)."""
        return stages.query_rows(self, query, max_rows, as_dict)


__all__ = ["Deployment", "Run", "RunStatus", "BucketStatus", "HarvestProgress"]
