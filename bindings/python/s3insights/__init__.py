"""Python binding of libs3insights over ctypes.

    import s3insights
    with s3insights.Context(region="us-east-1") as ctx:
        ctx.s3.put_object("bucket", "a/b.txt", b"hello")
        for obj in ctx.s3.list_objects("bucket", prefix="a/"):
            print(obj.key, obj.size)

The C library is the file named by the S3I_LIBRARY environment variable, else the installed
SONAME (libs3insights.so.0.1). Failures raise subclasses of s3insights.Error carrying the
library's error detail (code, message, aws_code, request_id, http_status, resource).
Handles are context managers; closing or collecting them in any order is safe.
"""

from . import _ffi, errors
from ._ffi import LIBRARY_PATH, SONAME
from .context import (LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_NONE, LOG_TRACE, LOG_WARN,
                      CommonPrefix, Context, DeleteFailure, DeleteObjectsError, ObjectInfo,
                      ObjectMeta, S3, VersionInfo)
from .errors import (AWSError, AuthError, ChecksumError, ConflictError, Error, ExistsError,
                     InputError, InvalidError, LocalIOError, NetworkError, NoMemoryError,
                     NotFoundError, ParseError, ServiceError, StoppedError, ThrottledError,
                     TimeoutError_, UnknownOptionError, strerror)
from .inputs import Account, CleanupInput, Problem, Query, RunInput, query_substitute
from .stages import (ConfigureStage, IngestStage, IngestStats, NotifyStage, PartitionStage,
                     ProvisionStage, QueryInfo, QueryStage, Row, Stage, TableStage,
                     TeardownStage, now_ms)
from .workflow import BucketStatus, Deployment, HarvestProgress, Run, RunStatus

FEATURE_THREADS = 1 << 0
FEATURE_HTTPS = 1 << 1

__version__ = "0.1.0"


def version():
    """The C library's version, "major.minor.patch"."""
    return _ffi.lib.s3i_version_string().decode("ascii")


def version_num():
    """The C library's version as 0xMMmmpp."""
    return _ffi.lib.s3i_version_num()


def features():
    """The FEATURE_* bits of the C library."""
    return _ffi.lib.s3i_features()


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("context", "inputs",
                                                                    "workflow", "stages")]
