"""Executors: where jobs train, by name (``FUSION_EXECUTOR``, ``--executor``).

:data:`EXECUTORS` is the one name -> class table; each class follows
:class:`~fusion.jobs.executors.base.Executor`:

- ``local`` (the app's default): a pool of worker processes on this machine
  (:class:`~fusion.jobs.executors.local.LocalExecutor`); the web server never imports torch.
- ``thread``: a thread in this process (:class:`~fusion.jobs.executors.thread.ThreadExecutor`),
  for notebooks and as the benchmarks' baseline.
- ``ray``: a Ray cluster (:class:`~fusion.jobs.executors.ray.RayExecutor`); ``RAY_ADDRESS``
  says which, as in every Ray program.

:func:`get_executor` makes one of each per process, on first use. No torch at import.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from fusion.errors import ConfigError
from fusion.jobs.executors.base import JOB_THREADS, MAX_CONCURRENT, Executor, Job
from fusion.jobs.executors.local import LocalExecutor
from fusion.jobs.executors.ray import RayExecutor
from fusion.jobs.executors.thread import ThreadExecutor

__all__ = [
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "JOB_THREADS",
    "MAX_CONCURRENT",
    "Executor",
    "Job",
    "LocalExecutor",
    "RayExecutor",
    "ThreadExecutor",
    "executor_name",
    "get_executor",
    "release_all",
]

EXECUTORS: dict[str, type[Executor]] = {
    "local": LocalExecutor,
    "thread": ThreadExecutor,
    "ray": RayExecutor,
}
DEFAULT_EXECUTOR = "local"

_made: dict[str, Executor] = {}
_made_lock = threading.Lock()


def executor_name(name: str | None = None) -> str:
    """The executor to use: ``name``, else ``$FUSION_EXECUTOR``, else ``local``."""
    chosen = (name or os.environ.get("FUSION_EXECUTOR") or DEFAULT_EXECUTOR).strip().lower()
    if chosen not in EXECUTORS:
        raise ConfigError("errors.jobs.unknown_executor", name=chosen, choices=", ".join(EXECUTORS))
    return chosen


def get_executor(executor: Any = None) -> Executor:
    """This process's executor of that name (made once), or ``executor`` itself."""
    if executor is not None and not isinstance(executor, str):
        return executor
    name = executor_name(executor)
    with _made_lock:
        if name not in _made:
            _made[name] = EXECUTORS[name]()
        return _made[name]


def release_all() -> list[Executor]:
    """Forget the executors made so far and return them (the caller shuts them down)."""
    with _made_lock:
        made = list(_made.values())
        _made.clear()
    return made
