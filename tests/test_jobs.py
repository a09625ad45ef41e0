"""Training jobs through the one job API, on the thread executor and on real worker processes.

Every test runs on both in-machine executors: ``thread`` (this process) and ``local``
(a pool of ``python -m fusion.worker`` processes). Nothing is mocked: the local pool's
workers are real processes, killed for real in the fault test.
"""

import os
import signal
import threading
import time

import pytest

from fusion import jobs
from fusion.config import default_config
from fusion.errors import ConfigError
from fusion.executors import LocalExecutor, ThreadExecutor
from fusion.jobs import TrainingJob, active_jobs


def _wait(pred, timeout=90.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def pool():
    ex = LocalExecutor(workers=2)
    ex.warm()
    yield ex
    ex.shutdown()
    assert not ex.workers()


@pytest.fixture(params=["thread", "local"])
def executor(request, pool):
    return pool if request.param == "local" else ThreadExecutor()


def test_job_runs_reports_progress_and_saves(small_latent, runs_dir, executor):
    job = TrainingJob(
        small_latent,
        default_config("joint", epochs=3, batch_size=64),
        root=runs_dir,
        executor=executor,
    ).start()
    assert job.join(120)
    p = job.progress()
    assert p.state == "done" and p.fraction == 1.0, (p.state, p.message, job.error)
    assert p.steps and len(p.epoch_rows) == 3 and p.epoch == 3
    assert job.saved_path is not None and (job.saved_path / "weights.pt").is_file()
    assert job.result.history.status == "finished"
    assert job.result.metrics["recall_at_1_mean"] > job.result.metrics["recall_at_1_mean_chance"]
    from fusion.runs import load_run

    run = load_run(job.saved_path)  # the files written by the server make a whole run
    assert run.name == job.saved_path.name == run.run["name"]
    assert active_jobs() == 0


def test_local_jobs_train_in_another_process(small_latent, pool):
    job = TrainingJob(
        small_latent, default_config("joint", epochs=1, batch_size=64), executor=pool
    ).start()
    assert job.join(120)
    worker = job.progress().worker
    assert worker["pid"] != os.getpid() and worker["pid"] in pool.workers()


def test_stop_ends_training_within_a_batch_and_keeps_partial_result(
    small_latent, runs_dir, executor
):
    job = TrainingJob(
        small_latent,
        default_config("joint", epochs=500, batch_size=64),
        root=runs_dir,
        executor=executor,
    ).start()
    assert _wait(lambda: job.progress().step >= 3)
    job.stop()
    assert job.join(30)
    assert job.result.history.status == "stopped"
    assert 3 <= job.result.history.completed_epochs < 500 or job.progress().step >= 3
    assert job.saved_path is not None  # what was learned is kept as a run


def test_invalid_config_refused_in_caller(small_latent, executor):
    with pytest.raises(ConfigError):
        TrainingJob(
            small_latent, default_config("joint", batch_size=100_000), executor=executor
        ).start()
    assert active_jobs() == 0


def test_jobs_beyond_the_cap_wait_and_say_so(small_latent):
    one = LocalExecutor(workers=1)
    try:
        first = TrainingJob(
            small_latent, default_config("joint", epochs=500, batch_size=64), executor=one
        ).start()
        assert _wait(lambda: first.progress().state == "running")
        second = TrainingJob(
            small_latent, default_config("joint", epochs=1, batch_size=64), executor=one
        ).start()
        time.sleep(0.5)
        assert second.waiting and second.progress().state == "waiting"
        assert "Waiting" in second.progress().message
        first.stop()
        assert second.join(120) and first.join(30)
        assert second.progress().state == "done"
    finally:
        one.shutdown()
    assert active_jobs() == 0


def test_thread_executor_cancel_while_waiting(small_latent, monkeypatch):
    monkeypatch.setattr(jobs, "_slots", threading.BoundedSemaphore(1))
    jobs._slots.acquire()
    try:
        job = TrainingJob(
            small_latent, default_config("joint", epochs=1, batch_size=64), executor="thread"
        ).start()
        assert _wait(lambda: job.progress().state == "waiting")
        job.stop()
        assert job.join(10)
        assert job.progress().state == "failed" and job.progress().message_key.endswith("cancelled")
    finally:
        jobs._slots.release()


def test_killed_worker_fails_only_its_job_with_a_clear_message(small_latent, runs_dir, pool):
    victim = TrainingJob(
        small_latent,
        default_config("joint", epochs=500, batch_size=64),
        root=runs_dir,
        executor=pool,
    ).start()
    other = TrainingJob(
        small_latent, default_config("joint", epochs=500, batch_size=64), executor=pool
    ).start()
    assert _wait(lambda: victim.progress().step >= 5 and other.progress().step >= 1)
    steps_before = victim.progress().step
    os.kill(victim.progress().worker["pid"], signal.SIGKILL)  # as the OOM killer would
    assert victim.join(30)
    p = victim.progress()
    assert p.state == "failed" and p.message_key == jobs.WORKER_DIED_KEY
    assert "ended unexpectedly" in victim.error
    assert len(p.steps) > 0 and p.step >= steps_before  # the curve so far is kept
    assert other.running and not other.error  # everyone else keeps training
    other.stop()
    assert other.join(30) and other.result.history.status == "stopped"
    assert _wait(lambda: len(pool.workers()) == 2, 60)  # the pool replaced its worker
    again = TrainingJob(
        small_latent, default_config("joint", epochs=1, batch_size=64), executor=pool
    ).start()
    assert again.join(120) and again.result.history.status == "finished"


def test_generated_task_trains_in_the_worker(runs_dir, pool):
    task = jobs.TrainTask(
        default_config("joint", epochs=1, batch_size=64),
        generator="shared_latent",
        params={"n": 300, "seed": 1},
        run_name="made-in-worker",
    )
    job = TrainingJob(task=task, root=runs_dir, executor=pool).start()
    assert job.join(120) and job.saved_path.name == "made-in-worker"


def test_unknown_executor_is_a_clear_message(small_latent):
    with pytest.raises(ConfigError) as err:
        TrainingJob(small_latent, default_config("joint"), executor="gpu-farm").start()
    assert "FUSION_EXECUTOR" in str(err.value)


def test_shutdown_stops_jobs_keeps_their_runs_and_ends_every_worker(small_latent, runs_dir):
    ex = LocalExecutor(workers=1)
    job = TrainingJob(
        small_latent,
        default_config("joint", epochs=500, batch_size=64),
        root=runs_dir,
        executor=ex,
    ).start()
    assert _wait(lambda: job.progress().step >= 3)
    pids = ex.workers()
    job.stop()
    assert job.join(30)
    ex.shutdown()
    assert job.result.history.status == "stopped" and job.saved_path is not None
    for pid in pids:  # reaped, not a zombie: the pid is gone
        assert not os.path.exists(f"/proc/{pid}") or _wait(
            lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 10
        )
