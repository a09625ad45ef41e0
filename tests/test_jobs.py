"""Background training jobs: progress, stop, the server-wide cap, no orphaned threads."""

import threading
import time

import pytest

from fusion import jobs
from fusion.errors import ConfigError
from fusion.experiment import default_config
from fusion.jobs import TrainingJob, active_jobs


def _wait(pred, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_job_runs_reports_progress_and_saves(small_latent, runs_dir):
    from fusion.runs import save_run

    job = TrainingJob(
        small_latent, default_config("joint", epochs=3, batch_size=64), on_done=save_run
    ).start()
    job.join(60)
    p = job.progress()
    assert p.state == "done" and p.fraction == 1.0
    assert p.steps and p.epoch_rows and p.epoch == 3
    assert job.saved_path is not None and job.saved_path.is_dir()
    assert active_jobs() == 0


def test_stop_ends_the_thread_and_keeps_partial_result(small_latent):
    job = TrainingJob(small_latent, default_config("joint", epochs=500, batch_size=64)).start()
    assert _wait(lambda: job.progress().step >= 3)
    job.stop()
    job.join(30)
    assert not job.running
    assert job.result.history.status == "stopped"
    assert job.result.history.steps


def test_invalid_config_refused_in_caller(small_latent):
    with pytest.raises(ConfigError):
        TrainingJob(small_latent, default_config("joint", batch_size=100_000)).start()
    assert active_jobs() == 0


def test_jobs_beyond_the_cap_wait_and_say_so(small_latent, monkeypatch):
    monkeypatch.setattr(jobs, "_slots", threading.BoundedSemaphore(1))
    first = TrainingJob(small_latent, default_config("joint", epochs=500, batch_size=64)).start()
    assert _wait(lambda: first.progress().state == "running")
    second = TrainingJob(small_latent, default_config("joint", epochs=1, batch_size=64)).start()
    assert _wait(lambda: second.progress().state == "waiting")
    assert "Waiting" in second.progress().message
    first.stop()
    second.join(60)
    first.join(30)
    assert second.progress().state == "done"
    assert active_jobs() == 0


def test_cancel_while_waiting(small_latent, monkeypatch):
    monkeypatch.setattr(jobs, "_slots", threading.BoundedSemaphore(1))
    jobs._slots.acquire()
    try:
        job = TrainingJob(small_latent, default_config("joint", epochs=1, batch_size=64)).start()
        assert _wait(lambda: job.progress().state == "waiting")
        job.stop()
        job.join(10)
        assert not job.running and job.progress().state == "failed"
    finally:
        jobs._slots.release()
