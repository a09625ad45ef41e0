"""Process helpers shared by the training engine, the worker and the live map's frames.

- :func:`one_blas_thread`: numpy/scipy's BLAS on one thread for a ``with`` block.
- :func:`is_oom`: whether an exception is a device (or host) out-of-memory error.
- :func:`trim_memory`: give the memory freed in this process back to the system (glibc).

No torch at import: :func:`is_oom` looks at torch only when it is loaded already (an
exception from torch cannot happen in a process that has not imported it).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
from typing import Any

_blas_controller: Any = None  # threadpoolctl's view of the loaded BLAS libraries, made once
_libc: Any = None  # glibc, for malloc_trim (False: not glibc)


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit numpy/scipy's BLAS (OpenBLAS) to one thread for the ``with`` block.

    The metrics of an epoch's evaluation (at most ``snapshot_rows`` rows) gain nothing from
    BLAS threads, and idle OpenBLAS workers keep spinning after the call, stealing the
    cores torch's training threads need (see :mod:`fusion.train`). threadpoolctl comes with
    scikit-learn; without it this is a no-op.
    """
    global _blas_controller
    try:
        if _blas_controller is None:
            from threadpoolctl import ThreadpoolController

            _blas_controller = ThreadpoolController()
        return _blas_controller.limit(limits=1, user_api="blas")
    except ImportError:
        return contextlib.nullcontext()


def is_oom(exc: BaseException) -> bool:
    """True for torch's CUDA out-of-memory error, or any error that says "out of memory"."""
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    oom_type = getattr(cuda, "OutOfMemoryError", ())
    return isinstance(exc, oom_type) or "out of memory" in str(exc).lower()


def trim_memory() -> bool:
    """Collect garbage, then ask glibc's allocator to return the free memory of its heaps
    to the system (``malloc_trim(0)``); True when it did.

    Freed memory stays in a process's heaps for reuse, and the holes that sessions' data,
    figures and messages leave in the middle of a heap keep its resident size at the peak
    of the busiest moment; ``malloc_trim`` releases such free pages, wherever they lie. A
    no-op elsewhere than on glibc (musl, macOS, Windows). It takes the allocator's locks
    for a few milliseconds: call it after big frees, not in a hot loop."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL("libc.so.6")
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                libc.malloc_trim.restype = ctypes.c_int
                _libc = libc
    gc.collect()
    if not _libc:
        return False
    return bool(_libc.malloc_trim(0))
