"""Owning wrappers of C handles, safe to free in any order.

A child (a deployment of a context, a run of a deployment) keeps a Python reference to its
parent, and the parent's C handle is freed only once the parent was closed (or collected) and
every child it has is gone. So `ctx.close()` before `deployment.close()`, or the garbage
collector finalising them in any order, never frees a handle still in use.
"""

import threading
from ctypes import c_char_p

_lock = threading.Lock()


def enc(s, what="argument"):
    """str -> UTF-8 bytes for a `const char *`; bytes pass unchanged; None stays NULL."""
    if s is None or isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    raise TypeError(f"{what} must be str or bytes, not {type(s).__name__}")


def dec(b):
    """A `const char *` result (bytes or None) -> str or None."""
    return None if b is None else b.decode("utf-8", "surrogateescape")


class Handle:
    """Base of every object owning a C handle: a context manager with close()."""

    _free = None  # the C function that frees the handle

    def __init__(self, ptr, parent=None):
        self._ptr = ptr
        self._parent = parent
        self._children = 0
        self._close_asked = False
        if parent is not None:
            with _lock:
                parent._children += 1

    @property
    def closed(self):
        """True once close() was called."""
        return self._close_asked or not self._ptr

    def _p(self):
        """The C handle; ValueError after close()."""
        if self._close_asked or not self._ptr:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    def close(self):
        """Free the C handle now, or as soon as every handle made from it is closed."""
        with _lock:
            if self._close_asked:
                return
            self._close_asked = True
            free_now = self._children == 0
        if free_now:
            self._release()

    def _release(self):
        ptr, self._ptr = self._ptr, None
        if ptr and self._free is not None:
            type(self)._free(ptr)
        parent, self._parent = self._parent, None
        if parent is not None:
            with _lock:
                parent._children -= 1
                release_parent = parent._children == 0 and parent._close_asked
            if release_parent:
                parent._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def string_list(count, get):
    return [dec(get(i)) for i in range(count)]


__all__ = ["Handle", "enc", "dec", "c_char_p"]
