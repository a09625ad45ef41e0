"""What the job tests share (tests/test_jobs.py, tests/test_ray.py): waiting, a long
training, and starting a job on an executor."""

from __future__ import annotations

import time
from collections.abc import Callable

from fusion.config import RunConfig, default_config
from fusion.jobs import TrainingJob


def wait_until(pred: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Poll ``pred`` until it holds (True) or ``timeout`` seconds pass (False)."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def long_config() -> RunConfig:
    """A training of minutes (500 epochs, no early stopping): stopped or killed by the test."""
    cfg = default_config("joint", epochs=500, batch_size=64)
    cfg.train.patience = 0
    return cfg


def started(data, cfg: RunConfig, executor, root=None) -> TrainingJob:
    """A job of ``cfg`` on ``data``, started on ``executor`` (saved under ``root`` if given)."""
    return TrainingJob(data, cfg, root=root, executor=executor).start()
