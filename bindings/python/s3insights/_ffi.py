"""The C library: loading it, its structs, and argtypes/restype for every function used.

Everything here mirrors include/s3insights/*.h exactly; the rest of the package never calls
the library without a prototype declared below (STYLE R18).
"""

import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_int, c_int32, c_int64,
                    c_size_t, c_uint32, c_void_p, sizeof)

#: The SONAME this binding was written against (docs/api-stability.md: 0.x is major.minor).
SONAME = "libs3insights.so.0.1"
#: The library versions the declarations below match: 0.1.x.
ABI_MAJOR, ABI_MINOR = 0, 1


def _load():
    path = os.environ.get("S3I_LIBRARY") or SONAME
    try:
        return ctypes.CDLL(path), path
    except OSError as e:
        where = ("S3I_LIBRARY=" + path) if os.environ.get("S3I_LIBRARY") else \
            f"the installed {SONAME} (cmake --install, then ldconfig)"
        raise ImportError(f"s3insights: cannot load the C library from {where}: {e}. Set "
                          f"S3I_LIBRARY to the path of libs3insights.so.") from None


lib, LIBRARY_PATH = _load()

# ---------------------------------------------------------------- structs (append-only)


class s3i_error(Structure):
    _fields_ = [("struct_size", c_uint32), ("code", c_int32), ("http_status", c_int32),
                ("message", c_char_p), ("aws_code", c_char_p), ("request_id", c_char_p),
                ("resource", c_char_p)]


class s3i_buf(Structure):
    # ptr as c_void_p: c_char_p would stop at the first NUL byte of a body.
    _fields_ = [("ptr", c_void_p), ("size", c_size_t), ("asize", c_size_t), ("alloc", c_void_p)]


LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class s3i_ctx_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("allocator", c_void_p), ("region", c_char_p),
                ("endpoint_url", c_char_p), ("profile", c_char_p),
                ("access_key_id", c_char_p), ("secret_access_key", c_char_p),
                ("session_token", c_char_p), ("log_fn", LOG_FN), ("log_user", c_void_p),
                ("log_level", c_int32), ("max_attempts", c_int32),
                ("connect_timeout_ms", c_int32), ("request_timeout_ms", c_int32),
                ("max_connections", c_int32), ("io_hooks", c_void_p), ("ca_bundle", c_char_p),
                ("insecure_skip_tls_verify", c_int32)]


class s3i_s3_object_info(Structure):
    _fields_ = [("struct_size", c_uint32), ("key", c_char_p), ("size", c_int64),
                ("last_modified_ms", c_int64), ("etag", c_char_p), ("storage_class", c_char_p),
                ("owner_id", c_char_p), ("owner_name", c_char_p)]


class s3i_s3_version_info(Structure):
    _fields_ = [("struct_size", c_uint32), ("key", c_char_p), ("version_id", c_char_p),
                ("is_latest", c_int32), ("is_delete_marker", c_int32), ("size", c_int64),
                ("last_modified_ms", c_int64), ("etag", c_char_p), ("storage_class", c_char_p),
                ("owner_id", c_char_p), ("owner_name", c_char_p)]


OBJECT_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_s3_object_info))
VERSION_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_s3_version_info))
PREFIX_FN = CFUNCTYPE(c_int, c_void_p, c_char_p)


class s3i_s3_list_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("prefix", c_char_p), ("delimiter", c_char_p),
                ("start_after", c_char_p), ("max_keys", c_int32), ("fetch_owner", c_int32),
                ("continuation_token", c_char_p), ("key_marker", c_char_p),
                ("version_id_marker", c_char_p), ("prefix_fn", PREFIX_FN)]


class s3i_s3_object_id(Structure):
    _fields_ = [("key", c_char_p), ("version_id", c_char_p)]


class s3i_s3_delete_error(Structure):
    _fields_ = [("struct_size", c_uint32), ("key", c_char_p), ("version_id", c_char_p),
                ("code", c_char_p), ("message", c_char_p)]


TAG_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_char_p)
DELETE_ERROR_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_s3_delete_error))


class s3i_s3_tag(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]
READ_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_char), c_size_t, POINTER(c_size_t))
WRITE_FN = CFUNCTYPE(c_int, c_void_p, POINTER(c_char), c_size_t)
RESET_FN = CFUNCTYPE(c_int, c_void_p)


class s3i_s3_object_meta(Structure):
    _fields_ = [("struct_size", c_uint32), ("content_length", c_int64),
                ("object_size", c_int64), ("range_start", c_int64),
                ("last_modified_ms", c_int64), ("partial", c_int32), ("parts", c_int32),
                ("etag", c_char * 128), ("version_id", c_char * 128),
                ("content_type", c_char * 256)]


class s3i_s3_get_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("range_start", c_int64), ("range_length", c_int64),
                ("if_match", c_char_p), ("version_id", c_char_p)]


class s3i_s3_transfer_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("multipart_threshold", c_int64),
                ("part_size", c_int64), ("copy_threshold", c_int64),
                ("copy_part_size", c_int64), ("max_concurrency", c_int32),
                ("content_type", c_char_p), ("source_version_id", c_char_p),
                ("source_if_match", c_char_p), ("source_size", c_int64)]


class s3i_deployment_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("name", c_char_p), ("host_region", c_char_p),
                ("host_account_id", c_char_p), ("data_retention_days", c_int32)]


class s3i_bucket_status(Structure):
    _fields_ = [("struct_size", c_uint32), ("account", c_char_p), ("region", c_char_p),
                ("bucket", c_char_p), ("status", c_char_p), ("reason", c_char_p),
                ("expected_files", c_int64), ("partitioned_files", c_int64),
                ("objects", c_int64), ("bytes", c_int64), ("updated_ms", c_int64)]


class s3i_run_status(Structure):
    _fields_ = [("struct_size", c_uint32), ("run_id", c_char_p), ("phase", c_char_p),
                ("finished", c_int), ("error", c_char_p), ("error_stage", c_char_p),
                ("created_ms", c_int64), ("updated_ms", c_int64), ("buckets_total", c_int64),
                ("buckets_pending", c_int64), ("objects", c_int64), ("bytes", c_int64),
                ("buckets_not_counted", c_int64)]


BUCKET_STATUS_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_bucket_status))


class s3i_harvest_progress(Structure):
    _fields_ = [("struct_size", c_uint32), ("stage", c_char_p),
                ("status", POINTER(s3i_run_status)), ("elapsed_ms", c_int64),
                ("wait_deadline_ms", c_int64)]


RUN_LIST_FN = CFUNCTYPE(c_int, c_void_p, c_char_p, c_char_p, c_int)
HARVEST_PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_harvest_progress))


class s3i_harvest_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("progress", HARVEST_PROGRESS_FN),
                ("progress_user", c_void_p), ("progress_interval_ms", c_int32),
                ("no_failure_report", c_int32), ("no_cleanup_on_failure", c_int32)]


# The stages' options (stage_*.h), in the headers' order.
class s3i_provision_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("max_in_flight", c_int32),
                ("stack_timeout_ms", c_int64), ("staging_retention_days", c_int32),
                ("skip_sender_check", c_int), ("account_id", c_char_p)]


class s3i_configure_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("concurrency", c_int32),
                ("snapshot_file_bytes", c_int64), ("snapshot_page_size", c_int32),
                ("snapshot_gzip_level", c_int32), ("snapshot_max_objects", c_int64),
                ("buckets", POINTER(c_char_p)), ("bucket_count", c_int32)]


class s3i_ingest_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("queue_url", c_char_p), ("queue_name", c_char_p),
                ("max_messages", c_int32), ("visibility_timeout", c_int32),
                ("wait_seconds", c_int32), ("concurrency", c_int32), ("dlq_mode", c_int32),
                ("dlq_url", c_char_p), ("copy_threshold", c_int64),
                ("manifest_wait_ms", c_int64)]


class s3i_ingest_stats(Structure):
    _fields_ = [("struct_size", c_uint32), ("messages_received", c_int64),
                ("messages_deleted", c_int64), ("messages_skipped", c_int64),
                ("messages_retried", c_int64), ("manifests_claimed", c_int64),
                ("deliveries_ignored", c_int64), ("files_copied", c_int64),
                ("files_rewritten", c_int64), ("files_already_done", c_int64),
                ("buckets_done", c_int64), ("buckets_failed", c_int64),
                ("dlq_messages", c_int64)]


class s3i_partition_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("concurrency", c_int32),
                ("copy_threshold", c_int64)]


class s3i_table_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("poll_interval_ms", c_int64),
                ("max_poll_interval_ms", c_int64), ("statement_timeout_ms", c_int64),
                ("workgroup", c_char_p)]


class s3i_query_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("poll_interval_ms", c_int64),
                ("max_poll_interval_ms", c_int64), ("query_timeout_ms", c_int64),
                ("max_concurrent", c_int32), ("workgroup", c_char_p)]


class s3i_notify_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("rows_per_query", c_int32),
                ("max_buckets_listed", c_int32), ("recipients_per_message", c_int32),
                ("configuration_set", c_char_p)]


class s3i_teardown_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("stack_timeout_ms", c_int64),
                ("keep_phase", c_int), ("cleanup", c_int)]


class s3i_query_info(Structure):
    _fields_ = [("struct_size", c_uint32), ("index", c_size_t), ("name", c_char_p),
                ("execution_id", c_char_p), ("state", c_char_p), ("reason", c_char_p),
                ("rows", c_int64), ("scanned_bytes", c_int64), ("output_location", c_char_p)]


class s3i_query_row(Structure):
    # values as void pointers: an SQL NULL is a NULL pointer, read one by one.
    _fields_ = [("struct_size", c_uint32), ("index", c_int64), ("count", c_size_t),
                ("values", POINTER(c_char_p)), ("columns", POINTER(c_char_p))]


QUERY_INFO_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_query_info))
QUERY_ROW_FN = CFUNCTYPE(c_int, c_void_p, POINTER(s3i_query_row))


def new(struct):
    """A zeroed struct with struct_size set, as the S3I_*_INIT macros give."""
    s = struct()
    if "struct_size" in dict(struct._fields_):
        s.struct_size = sizeof(struct)
    return s


# ---------------------------------------------------------------- prototypes

_P = c_void_p          # every opaque handle
_PP = POINTER(c_void_p)  # T **out
_S = c_char_p
_PROTOTYPES = {
    # version.h
    "s3i_version_num": (c_uint32, []),
    "s3i_version_string": (_S, []),
    "s3i_features": (c_uint32, []),
    # errors.h
    "s3i_strerror": (_S, [c_int]),
    "s3i_status_is_retryable": (c_int, [c_int]),
    "s3i_error_last": (POINTER(s3i_error), []),
    "s3i_error_clear": (None, []),
    # alloc.h
    "s3i_buf_dispose": (None, [POINTER(s3i_buf)]),
    # ctx.h
    "s3i_ctx_options_init": (c_int, [POINTER(s3i_ctx_options), c_uint32]),
    "s3i_ctx_new": (c_int, [_PP, POINTER(s3i_ctx_options)]),
    "s3i_ctx_acquire": (_P, [_P]),
    "s3i_ctx_release": (None, [_P]),
    "s3i_ctx_region": (_S, [_P]),
    # s3.h
    "s3i_s3_create_bucket": (c_int, [_P, _S, _S]),
    "s3i_s3_delete_bucket": (c_int, [_P, _S]),
    "s3i_s3_put_object": (c_int, [_P, _S, _S, c_void_p, c_size_t]),
    "s3i_s3_put_object_file": (c_int, [_P, _S, _S, _S]),
    "s3i_s3_get_object": (c_int, [_P, _S, _S, POINTER(s3i_buf)]),
    "s3i_s3_get_object_file": (c_int, [_P, _S, _S, _S]),
    "s3i_s3_delete_object": (c_int, [_P, _S, _S]),
    "s3i_s3_list_objects_v2": (c_int, [_P, _S, POINTER(s3i_s3_list_options), OBJECT_FN,
                                       c_void_p]),
    "s3i_s3_list_object_versions": (c_int, [_P, _S, POINTER(s3i_s3_list_options), VERSION_FN,
                                            c_void_p]),
    "s3i_s3_get_object_to": (c_int, [_P, _S, _S, POINTER(s3i_s3_get_options),
                                     POINTER(s3i_s3_object_meta), WRITE_FN, RESET_FN,
                                     c_void_p]),
    "s3i_s3_upload": (c_int, [_P, _S, _S, c_int64, POINTER(s3i_s3_transfer_options),
                              POINTER(s3i_s3_object_meta), READ_FN, RESET_FN, c_void_p]),
    "s3i_s3_upload_file": (c_int, [_P, _S, _S, _S, POINTER(s3i_s3_transfer_options),
                                   POINTER(s3i_s3_object_meta)]),
    "s3i_s3_copy_object": (c_int, [_P, _S, _S, _S, _S, POINTER(s3i_s3_transfer_options),
                                   POINTER(s3i_s3_object_meta)]),
    "s3i_s3_delete_objects": (c_int, [_P, _S, POINTER(s3i_s3_object_id), c_size_t,
                                      DELETE_ERROR_FN, c_void_p]),
    "s3i_s3_put_object_tagging": (c_int, [_P, _S, _S, _S, POINTER(s3i_s3_tag), c_size_t]),
    "s3i_s3_get_object_tagging": (c_int, [_P, _S, _S, _S, TAG_FN, c_void_p]),
    # run_input.h
    "s3i_run_input_parse": (c_int, [_PP, c_char_p, c_size_t, c_void_p, _PP]),
    "s3i_run_input_free": (None, [_P]),
    "s3i_run_input_to_json": (c_int, [_P, POINTER(s3i_buf)]),
    "s3i_run_input_equal": (c_int, [_P, _P]),
    "s3i_run_input_get_run_id": (_S, [_P]),
    "s3i_run_input_get_account_count": (c_size_t, [_P]),
    "s3i_run_input_get_account_id": (_S, [_P, c_size_t]),
    "s3i_run_input_get_exclude_count": (c_size_t, [_P, c_size_t]),
    "s3i_run_input_get_exclude": (_S, [_P, c_size_t, c_size_t]),
    "s3i_run_input_is_excluded": (c_int, [_P, c_size_t, _S]),
    "s3i_run_input_get_role_name": (_S, [_P, c_size_t]),
    "s3i_run_input_get_account_external_id": (_S, [_P, c_size_t]),
    "s3i_run_input_find_account": (c_int64, [_P, _S]),
    "s3i_run_input_get_query_count": (c_size_t, [_P]),
    "s3i_run_input_get_query_name": (_S, [_P, c_size_t]),
    "s3i_run_input_get_query_text": (_S, [_P, c_size_t]),
    "s3i_run_input_render_query": (c_int, [_P, c_size_t, POINTER(s3i_buf)]),
    "s3i_query_substitute": (c_int, [POINTER(s3i_buf), _S, _S, _S]),
    "s3i_run_input_get_sender": (_S, [_P]),
    "s3i_run_input_get_recipient_count": (c_size_t, [_P]),
    "s3i_run_input_get_recipient": (_S, [_P, c_size_t]),
    "s3i_run_input_get_database": (_S, [_P]),
    "s3i_run_input_get_table": (_S, [_P]),
    "s3i_run_input_get_region_count": (c_size_t, [_P]),
    "s3i_run_input_get_region": (_S, [_P, c_size_t]),
    "s3i_run_input_is_region_supported": (c_int, [_P, _S]),
    "s3i_run_input_is_smoke_test": (c_int, [_P]),
    "s3i_run_input_get_external_id": (_S, [_P]),
    "s3i_run_input_get_snapshot": (c_int, [_P]),
    "s3i_run_input_get_inventory_format": (c_int, [_P]),
    "s3i_run_input_get_object_versions": (c_int, [_P]),
    "s3i_run_input_get_inventory_timeout_ms": (c_int64, [_P]),
    "s3i_run_input_get_engine": (c_int, [_P]),
    "s3i_snapshot_name": (_S, [c_int]),
    "s3i_inventory_format_name": (_S, [c_int]),
    "s3i_object_versions_name": (_S, [c_int]),
    "s3i_engine_name": (_S, [c_int]),
    "s3i_input_problems_count": (c_size_t, [_P]),
    "s3i_input_problems_get_field": (_S, [_P, c_size_t]),
    "s3i_input_problems_get_message": (_S, [_P, c_size_t]),
    "s3i_input_problems_free": (None, [_P]),
    "s3i_cleanup_input_parse": (c_int, [_PP, c_char_p, c_size_t, c_void_p, _PP]),
    "s3i_cleanup_input_get_run_id": (_S, [_P]),
    "s3i_cleanup_input_free": (None, [_P]),
    # deployment.h
    "s3i_deployment_open": (c_int, [_PP, _P, POINTER(s3i_deployment_options)]),
    "s3i_deployment_init": (c_int, [_P]),
    "s3i_deployment_queue_url": (c_int, [_P, POINTER(c_char), c_size_t]),
    "s3i_deployment_dlq_url": (c_int, [_P, POINTER(c_char), c_size_t]),
    "s3i_deployment_name": (_S, [_P]),
    "s3i_deployment_host_region": (_S, [_P]),
    "s3i_deployment_host_account": (_S, [_P]),
    "s3i_deployment_state_table": (_S, [_P]),
    "s3i_deployment_consolidated_bucket": (_S, [_P]),
    "s3i_deployment_queue_name": (_S, [_P]),
    "s3i_deployment_dlq_name": (_S, [_P]),
    "s3i_deployment_list_runs": (c_int, [_P, c_int, RUN_LIST_FN, c_void_p]),
    "s3i_deployment_free": (None, [_P]),
    # run.h
    "s3i_run_start": (c_int, [_PP, _P, _P]),
    "s3i_run_open": (c_int, [_PP, _P, _S]),
    "s3i_run_id": (_S, [_P]),
    "s3i_run_get_input": (_P, [_P]),
    "s3i_run_status_read": (c_int, [_P, POINTER(s3i_run_status), BUCKET_STATUS_FN, c_void_p]),
    "s3i_run_free": (None, [_P]),
    # harvest.h
    "s3i_harvest_run": (c_int, [_P, POINTER(s3i_harvest_options)]),
    "s3i_cleanup_run": (c_int, [_P, POINTER(s3i_harvest_options)]),
    # stage_ingest.h (on a deployment)
    "s3i_ingest_get_stats": (c_int, [_P, POINTER(s3i_ingest_stats)]),
    # stage_notify.h
    "s3i_notify_sent": (c_int64, [_P]),
    # stage_query.h (reading back)
    "s3i_query_list": (c_int, [_P, QUERY_INFO_FN, c_void_p]),
    "s3i_query_results": (c_int, [_P, _S, c_int64, QUERY_ROW_FN, c_void_p]),
}

#: The stages (stage_<name>.h) with their options struct; each has s3i_<name>_new, _step,
#: _run, _error and _free of the same shapes.
STAGES = {
    "provision": s3i_provision_options, "configure": s3i_configure_options,
    "ingest": s3i_ingest_options, "partition": s3i_partition_options,
    "table": s3i_table_options, "query": s3i_query_options, "notify": s3i_notify_options,
    "teardown": s3i_teardown_options,
}
for _stage, _opts in STAGES.items():
    _PROTOTYPES[f"s3i_{_stage}_new"] = (c_int, [_PP, _P, POINTER(_opts)])
    _PROTOTYPES[f"s3i_{_stage}_step"] = (c_int, [_P, c_int64, POINTER(c_int)])
    _PROTOTYPES[f"s3i_{_stage}_run"] = (c_int, [_P])
    _PROTOTYPES[f"s3i_{_stage}_error"] = (POINTER(s3i_error), [_P])
    _PROTOTYPES[f"s3i_{_stage}_free"] = (None, [_P])

missing = []
for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        # A function of a later release, or one not implemented yet: the wrapper that needs
        # it raises when called (see require()).
        missing.append(_name)
        continue
    _f.restype = _restype
    _f.argtypes = _argtypes


def require(name):
    """The C function `name`, or NotImplementedError naming the library that lacks it."""
    if name in missing:
        raise NotImplementedError(f"{name} is not exported by {LIBRARY_PATH} "
                                  f"(version {lib.s3i_version_string().decode()})")
    return getattr(lib, name)


_found = lib.s3i_version_num()
if (_found >> 16, (_found >> 8) & 0xff) != (ABI_MAJOR, ABI_MINOR):
    raise ImportError(f"s3insights: {LIBRARY_PATH} is version "
                      f"{lib.s3i_version_string().decode()}, this binding needs "
                      f"{ABI_MAJOR}.{ABI_MINOR}.x")
