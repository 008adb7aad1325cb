"""Exceptions carrying the library's error detail (docs/error-handling.md).

Every failing call raises a subclass of :class:`Error` chosen by its status code, with the
fields of the C `s3i_error`: ``code``, ``message``, ``aws_code``, ``request_id``,
``http_status`` and ``resource``.
"""

from . import _ffi

OK = 0
ERROR = -1
EINVALID = -2
ENOMEM = -3
ENOTFOUND = -4
EEXISTS = -5
ECONFLICT = -6
EIO = -7
EPARSE = -8
ETIMEOUT = -9
EAUTH = -10
ETHROTTLED = -11
EAWS = -12
ENETWORK = -13
ESERVICE = -14
ECHECKSUM = -15
EUNKNOWN_OPTION = -20
EUSER = -30


def _text(b):
    return b.decode("utf-8", "replace") if b else ""


class Error(Exception):
    """A failure reported by libs3insights.

    Attributes: code (an s3i_status, negative), message (one line naming the operation and
    the thing at fault), aws_code ("" when none), request_id ("" when none), http_status
    (0 when no response arrived), resource (the bucket, key, field... at fault, "" when none).
    """

    def __init__(self, code, message, aws_code="", request_id="", http_status=0, resource=""):
        super().__init__(message or strerror(code))
        self.code = code
        self.message = message or strerror(code)
        self.aws_code = aws_code
        self.request_id = request_id
        self.http_status = http_status
        self.resource = resource

    @property
    def retryable(self):
        """True when trying the whole operation again later may succeed."""
        return bool(_ffi.lib.s3i_status_is_retryable(self.code))

    def __repr__(self):
        return (f"{type(self).__name__}(code={self.code}, message={self.message!r}, "
                f"aws_code={self.aws_code!r}, request_id={self.request_id!r}, "
                f"http_status={self.http_status}, resource={self.resource!r})")


class InvalidError(Error, ValueError):
    """S3I_EINVALID: an argument, input field or option is invalid."""


class InputError(InvalidError):
    """A run input or Cleanup input was refused; ``problems`` lists every (field, message)."""

    def __init__(self, *args, problems=(), **kw):
        super().__init__(*args, **kw)
        self.problems = list(problems)


class NoMemoryError(Error, MemoryError):
    """S3I_ENOMEM."""


class NotFoundError(Error, LookupError):
    """S3I_ENOTFOUND: the named bucket, key, queue, table or run does not exist."""


class ExistsError(Error):
    """S3I_EEXISTS: it already exists (owned by someone else, or a finished run)."""


class ConflictError(Error):
    """S3I_ECONFLICT: a condition failed (bucket not empty, If-Match, another run input)."""


class LocalIOError(Error, OSError):
    """S3I_EIO: a local file or stream failed."""


class ParseError(Error, ValueError):
    """S3I_EPARSE: a response or document could not be parsed."""


class TimeoutError_(Error, TimeoutError):
    """S3I_ETIMEOUT (retryable)."""


class AuthError(Error, PermissionError):
    """S3I_EAUTH: credentials missing or invalid, signature refused, access denied."""


class ThrottledError(Error):
    """S3I_ETHROTTLED: throttled after the client's own retries (retryable)."""


class AWSError(Error):
    """S3I_EAWS: any other AWS error; see ``aws_code``."""


class NetworkError(Error, ConnectionError):
    """S3I_ENETWORK: connection, DNS or TLS failure after retries (retryable)."""


class ServiceError(Error):
    """S3I_ESERVICE: a 5xx from the service after retries (retryable)."""


class ChecksumError(Error):
    """S3I_ECHECKSUM: a checksum or size did not match."""


class UnknownOptionError(Error):
    """S3I_EUNKNOWN_OPTION."""


class StoppedError(Error):
    """S3I_EUSER: a callback asked to stop."""


_CLASSES = {
    EINVALID: InvalidError, ENOMEM: NoMemoryError, ENOTFOUND: NotFoundError,
    EEXISTS: ExistsError, ECONFLICT: ConflictError, EIO: LocalIOError, EPARSE: ParseError,
    ETIMEOUT: TimeoutError_, EAUTH: AuthError, ETHROTTLED: ThrottledError, EAWS: AWSError,
    ENETWORK: NetworkError, ESERVICE: ServiceError, ECHECKSUM: ChecksumError,
    EUNKNOWN_OPTION: UnknownOptionError, EUSER: StoppedError,
}


def strerror(code):
    """Static English text for a status code (any int)."""
    return _text(_ffi.lib.s3i_strerror(code))


def from_detail(code, detail, cls=None, **kw):
    """The exception for status `code` with the fields of an s3i_error (may be None)."""
    cls = cls or _CLASSES.get(code, Error)
    if not detail or detail.code != code:
        # The detail belongs to an earlier failure (it can be stale): keep only the code.
        return cls(code, strerror(code), **kw)
    return cls(code, _text(detail.message), _text(detail.aws_code), _text(detail.request_id),
               detail.http_status, _text(detail.resource), **kw)


def last_error(code, **kw):
    """The exception for a call without a handle: the detail is the thread's s3i_error_last().

    Must run on the thread that made the call, right after it."""
    p = _ffi.lib.s3i_error_last()
    return from_detail(code, p.contents if p else None, **kw)


def check(code):
    """Raise the exception for a negative status returned by a call without a handle."""
    if code < 0:
        raise last_error(code)
    return code
