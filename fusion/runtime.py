"""Process helpers shared by the training engine, the worker and the live map's frames.

- :func:`one_blas_thread`: numpy/scipy's BLAS on one thread for a ``with`` block.
- :func:`is_oom`: whether an exception is a device (or host) out-of-memory error.

No torch at import: :func:`is_oom` looks at torch only when it is loaded already (an
exception from torch cannot happen in a process that has not imported it).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

_blas_controller: Any = None  # threadpoolctl's view of the loaded BLAS libraries, made once


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
