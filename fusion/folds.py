"""One fold of a cross-validation, as a worker trains it (:mod:`fusion.evaluation`).

A fold task is a :class:`~fusion.jobs.protocol.TrainTask` with ``folds > 0``: the worker
(:func:`fusion.worker.run_task`) hands it to :func:`run_fold_task`, which trains fold
``task.fold`` of :func:`fold_roles` and sends back its test rows' outcomes
(:class:`FoldOutcome`) instead of a run. The server side, which fans the folds out as jobs
and scores them, is :mod:`fusion.evaluation`. Torch-free at import (:func:`run_fold_task`
imports it when called); no streamlit.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusion.config import RunConfig
from fusion.data import PairedData, Roles, cross_validation_roles

# ---------------------------------------------------------------------------------------
# What a fold sends back


@dataclass
class FoldOutcome:
    """One fold's test rows and per-row outcomes (picklable: numpy arrays, no torch).

    outcomes: per test row, "run" (a classifier: 1 when right), "probe" (a joint
    embedding's linear probe, mean over modalities), "base:<key>" (each logistic baseline).
    val_scores: each logistic baseline's validation accuracy (to pick the one set against).
    status: how the training ended (fusion.train.History.status).
    """

    fold: int
    status: str
    metrics: dict[str, float]
    outcomes: dict[str, np.ndarray]
    val_scores: dict[str, float]
    test_rows: np.ndarray  # the test rows' indices in the data
    pid: int = 0  # the process that trained it
    started: float = 0.0  # wall-clock times (time.time()) the fold started and ended
    ended: float = 0.0


def fold_roles(data: PairedData, folds: int, config: RunConfig) -> list[Roles]:
    """The roles of every fold (the same for every method of one evaluation)."""
    t = config.train
    return cross_validation_roles(data.n, folds, t.val_fraction, t.seed, data.labels, data.groups)


def run_fold_task(task: Any, data: PairedData, callbacks: Sequence[Any], stop_event: Any) -> Any:
    """The worker side: train fold ``task.fold`` of ``task.folds`` and return an
    :class:`~fusion.jobs.protocol.Outcome` holding its :class:`FoldOutcome` (no run is saved).
    Imports torch."""
    from fusion.experiment import run_fold
    from fusion.jobs.protocol import Outcome, summary_of

    started = time.time()
    config = copy.deepcopy(task.config)  # run_fold adapts the batch and records choices
    roles = fold_roles(data, task.folds, config)[task.fold]
    result = run_fold(data, roles, config, callbacks, stop_event)
    result.result.metrics = dict(result.metrics)
    fold = FoldOutcome(
        task.fold,
        result.result.history.status,
        dict(result.metrics),
        {k: np.asarray(v, dtype=np.float64) for k, v in result.outcomes.items()},
        dict(result.val_scores),
        np.asarray(roles.test, dtype=np.int64),
        os.getpid(),
        started,
        time.time(),
    )
    return Outcome(summary=summary_of(result.result), fold=fold)
