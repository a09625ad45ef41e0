"""What the live views send and hand on: the event kinds the training worker emits to the
server, the evaluations the callback hands to the frame thread, and the switch that turns
the live views off.

Events (``emit(kind, payload)``; :mod:`fusion.live` describes their payloads):
:data:`POINTS` once, :data:`FRAME` per evaluation or peek (again as an ``update`` when its
UMAP layout is ready), :data:`ATTENTION` per evaluation of an attention-fusion run, and
``frame_error`` when a frame failed (training goes on).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

Emit = Callable[[str, Any], None]
POINTS, FRAME, ATTENTION = "points", "frame", "attention"  # event kinds
ENV_SWITCH = "FUSION_LIVE_MAP"  # "0" turns the live views off (benchmarks compare both)


class Evaluation(NamedTuple):
    """One look at the model, handed from the callback to the frame thread."""

    epoch: int  # the evaluation's epoch (a peek: the epoch in progress)
    X: np.ndarray  # (P, d) the kept points' embeddings, modality blocks stacked
    t: float  # perf_counter when it was taken
    at: float | None = None  # a peek within an epoch: the fractional epoch (not saved)


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1") != "0"


@contextlib.contextmanager
def switched(on: bool):
    """Turn the live views on or off for the ``with`` block (benchmarks, tests)."""
    old = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_SWITCH, None)
        else:
            os.environ[ENV_SWITCH] = old
