"""A new executor is one class and one entry in the name -> class table.

The toy executor below trains each job in a thread of its own, with nothing but the
:class:`~fusion.jobs.executors.base.Executor` protocol and the job's executor side; once
it is in :data:`fusion.jobs.executors.EXECUTORS`, ``FUSION_EXECUTOR`` finds it and a real
training runs through :class:`fusion.jobs.TrainingJob` end to end and is saved.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fusion.config import default_config
from fusion.errors import ConfigError
from fusion.jobs import TrainingJob, executor_name, executors
from fusion.jobs.executors import EXECUTORS, Executor, ThreadExecutor
from fusion.runs import load_run


class ToyExecutor:
    """Each job in a thread of its own, at once (no slots, no queue)."""

    name = "toy"

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def submit(self, job: Any) -> None:
        self.jobs.append(job.id)
        threading.Thread(target=self._run, args=(job,), daemon=True).start()

    def _run(self, job: Any) -> None:
        from fusion.worker import run_task

        job.dispatched()
        job.finish(run_task(job.task, lambda kind, p: job.events([(kind, p)]), job.stop_event))

    def cancel(self, job: Any) -> None:
        pass  # the training sees the stop event itself

    def warm(self) -> None:
        pass

    def device_info(self, timeout: float = 0.0) -> dict[str, Any]:
        return {"label": "toy", "cuda": False, "gpu": ""}

    def shutdown(self) -> None:
        pass


def test_the_executors_follow_the_protocol():
    assert isinstance(ToyExecutor(), Executor)
    assert isinstance(ThreadExecutor(), Executor)
    assert not isinstance(object(), Executor)


def test_a_toy_executor_trains_a_job_end_to_end(small_latent, runs_dir, monkeypatch):
    monkeypatch.setitem(EXECUTORS, "toy", ToyExecutor)  # the one entry a new executor needs
    monkeypatch.setattr(executors, "_made", {})  # this test's executors, forgotten after it
    monkeypatch.setenv("FUSION_EXECUTOR", "toy")
    assert executor_name() == "toy"

    job = TrainingJob(small_latent, default_config("joint", epochs=2, batch_size=64), root=runs_dir)
    job.start()
    assert isinstance(job.executor, ToyExecutor) and job.executor.jobs == [job.id]
    assert job.join(120)
    p = job.progress()
    assert p.state == "done", (p.message, job.error)
    assert len(p.epoch_rows) == 2 and p.steps and p.worker["pid"]
    assert job.result.history.status == "finished" and job.result.history.completed_epochs == 2
    run = load_run(job.saved_path)  # the run the server wrote from the toy's outcome
    assert run.name == job.saved_path.name
    assert (job.saved_path / "weights.pt").is_file()


def test_without_its_entry_the_toy_is_unknown(monkeypatch):
    monkeypatch.setenv("FUSION_EXECUTOR", "toy")
    assert "toy" not in EXECUTORS
    with pytest.raises(ConfigError, match="toy"):
        executor_name()
