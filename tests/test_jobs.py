"""Training jobs through the one job API, on the thread executor and on real worker processes.

Every test runs on both in-machine executors: ``thread`` (this process) and ``local``
(a pool of ``python -m fusion.worker`` processes). Nothing is mocked: the local pool's
workers are real processes, killed for real in the fault test.
"""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from fusion import jobs
from fusion.config import default_config
from fusion.errors import ConfigError
from fusion.jobs import TrainingJob, active_jobs
from fusion.jobs.executors import LocalExecutor, ThreadExecutor, thread
from tests.job_helpers import long_config, started, wait_until


@pytest.fixture(params=["thread", "local"])
def executor(request, pool):
    return pool if request.param == "local" else ThreadExecutor()


@pytest.mark.slow
def test_job_runs_reports_progress_and_saves(small_latent, runs_dir, executor):
    job = started(
        small_latent, default_config("joint", epochs=3, batch_size=64), executor, root=runs_dir
    )
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


@pytest.mark.slow
def test_local_jobs_train_in_another_process(small_latent, pool):
    job = started(small_latent, default_config("joint", epochs=1, batch_size=64), pool)
    assert job.join(120)
    worker = job.progress().worker
    assert worker["pid"] != os.getpid() and worker["pid"] in pool.workers()


def test_stop_ends_training_within_a_batch_and_keeps_partial_result(
    small_latent, runs_dir, executor
):
    job = started(small_latent, long_config(), executor, root=runs_dir)
    assert wait_until(lambda: job.progress().step >= 3)
    job.stop()
    assert job.join(30)
    assert job.result.history.status == "stopped"
    assert 3 <= job.result.history.completed_epochs < 500 or job.progress().step >= 3
    assert job.saved_path is not None  # what was learned is kept as a run


def test_invalid_config_refused_in_caller(small_latent, executor):
    with pytest.raises(ConfigError):
        started(small_latent, default_config("joint", batch_size=100_000), executor)
    assert active_jobs() == 0


@pytest.mark.slow
def test_jobs_beyond_the_cap_wait_and_say_so(small_latent):
    one = LocalExecutor(workers=1)
    try:
        first = TrainingJob(small_latent, long_config(), executor=one).start()
        assert wait_until(lambda: first.progress().state == "running")
        second = started(small_latent, default_config("joint", epochs=1, batch_size=64), one)
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
    monkeypatch.setattr(thread, "TRAINING_SLOTS", threading.BoundedSemaphore(1))
    thread.TRAINING_SLOTS.acquire()
    try:
        job = TrainingJob(
            small_latent, default_config("joint", epochs=1, batch_size=64), executor="thread"
        ).start()
        assert wait_until(lambda: job.progress().state == "waiting")
        job.stop()
        assert job.join(10)
        assert job.progress().state == "failed" and job.progress().message_key.endswith("cancelled")
    finally:
        thread.TRAINING_SLOTS.release()


@pytest.mark.slow
def test_killed_worker_fails_only_its_job_with_a_clear_message(small_latent, pool):
    victim = started(small_latent, long_config(), pool)  # not saved: no checkpoint to keep
    other = TrainingJob(small_latent, long_config(), executor=pool).start()
    assert wait_until(lambda: victim.progress().step >= 5 and other.progress().step >= 1)
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
    assert wait_until(lambda: len(pool.workers()) == 2, 60)  # the pool replaced its worker
    again = started(small_latent, default_config("joint", epochs=1, batch_size=64), pool)
    assert again.join(120) and again.result.history.status == "finished"


@pytest.mark.slow
def test_killed_worker_job_is_saved_from_the_weights_it_kept(small_latent, runs_dir, pool):
    """A worker killed with SIGKILL cannot save anything: the weights it wrote as it trained
    (the last completed epoch, without early stopping) become a stopped run."""
    import torch

    from fusion.runs import load_run, load_weights

    job = started(small_latent, long_config(), pool, root=runs_dir)
    folder = Path(job.task.checkpoint_dir)
    assert wait_until(lambda: jobs.checkpoint_epoch(folder) >= 3)
    os.kill(job.progress().worker["pid"], signal.SIGKILL)
    assert wait_until(lambda: job.progress().message_key == jobs.SALVAGING_KEY, 30)
    kept = jobs.checkpoint_epoch(folder)  # the dead worker's last word
    at_kill = torch.load(folder / jobs.CHECKPOINT_WEIGHTS, weights_only=True)
    assert job.running  # saving from the checkpoint
    assert job.join(120)
    p, h = job.progress(), job.result.history
    assert p.state == "done" and p.message_key == jobs.WORKER_DIED_KEPT_KEY, (p, job.error)
    assert h.status == "stopped" and h.message_params["kept"] == kept
    assert "weights it kept from epoch" in h.message
    run = load_run(job.saved_path)
    assert run.run["status"] == "stopped" and run.run["best_epoch"] == kept
    assert run.run["completed_epochs"] == kept  # no early stopping: the last completed epoch
    assert run.snapshot_epochs == [kept] and len(run.epochs) == kept + 1  # epoch 0 too
    assert len(run.steps) > 0 and run.metrics["recall_at_1_mean"] > 0
    saved = load_weights(job.saved_path)
    assert saved.keys() == at_kill.keys()
    assert all(torch.equal(saved[k], at_kill[k]) for k in saved)  # those very weights
    assert not folder.exists()  # the checkpoint is dropped once the run is saved
    assert wait_until(lambda: len(pool.workers()) == 2, 60)


def test_shutdown_stop_says_the_server_shut_down(small_latent, executor):
    """Without a checkpoint (a job that saves no run keeps none), the training's own end
    says why it stopped."""
    job = started(small_latent, long_config(), executor)
    assert wait_until(lambda: job.progress().step >= 3)
    assert not job.task.checkpoint_dir
    job.stop(jobs.SHUTDOWN)
    assert job.join(60)
    h = job.result.history
    assert h.status == "stopped" and h.message_key == jobs.SHUTDOWN_KEY
    assert "the server shut down" in h.message


def test_shutdown_saves_a_pool_job_at_once_from_its_kept_epoch(small_latent, runs_dir, pool):
    """A worker told the server shuts down answers with the kept epoch's run at once,
    without waiting for the training's own end (its final evaluation and baselines)."""
    import torch

    from fusion.runs import load_run, load_weights

    job = started(small_latent, long_config(), pool, root=runs_dir)
    folder = Path(job.task.checkpoint_dir)
    assert wait_until(lambda: jobs.checkpoint_epoch(folder) >= 2)
    job.stop(jobs.SHUTDOWN)
    at_stop = jobs.checkpoint_epoch(folder)
    on_disk = torch.load(folder / jobs.CHECKPOINT_WEIGHTS, weights_only=True)
    assert job.join(60)
    h = job.result.history
    # Only the worker's answer at once says so (the training's own end says SHUTDOWN_KEY).
    assert h.status == "stopped" and h.message_key == jobs.SHUTDOWN_KEPT_KEY, h.message
    kept = h.message_params["kept"]
    assert kept >= 2 and h.best_epoch == kept
    # The stop lands in the epoch after the kept one, or in the kept epoch's own end (its
    # last batch done, its checkpoint taken: the window the assertion on at_stop allows).
    assert h.message_params["epoch"] in (kept, kept + 1), h.message
    run = load_run(job.saved_path)
    assert run.run["status"] == "stopped" and run.snapshot_epochs[-1] == kept
    assert run.metrics and all(k in run.epochs for k in ("epoch", "train_loss"))
    saved = load_weights(job.saved_path)
    assert saved.keys() == on_disk.keys()
    assert kept in (at_stop, at_stop + 1)  # an epoch may end within the batch the stop cuts
    if kept == at_stop:
        assert all(torch.equal(saved[k], on_disk[k]) for k in on_disk)  # the kept epoch's
    assert not folder.exists()  # the checkpoint is dropped once the run is saved


def test_a_stopped_run_measures_the_kept_epoch_the_budget_skipped(
    small_latent, tmp_path, monkeypatch
):
    """With no budget for per-epoch metrics, an epoch between the first and the last has
    none; a run stopped right after it (a server shutting down) keeps its weights, so its
    metrics are measured from that epoch's outputs, and equal those of a run that
    measured every epoch."""
    import json

    import fusion.train as train_mod
    from fusion.experiment import run_experiment
    from fusion.jobs.protocol import TrainTask
    from fusion.train import Callback
    from fusion.worker import _checkpoint

    cfg = default_config("joint", epochs=6, batch_size=64)
    cfg.train.patience = 0  # the kept epoch is the last completed one

    class StopAfter(Callback):
        def __init__(self, event):
            self.event = event

        def on_epoch_end(self, info, history):
            if int(info["epoch"]) == 2:
                self.event.set()

    def fit(share, folder):
        monkeypatch.setattr(train_mod, "EVAL_SHARE", share)
        stop = threading.Event()
        cp = _checkpoint(str(tmp_path / folder), cfg)
        result = run_experiment(small_latent, cfg, [cp, StopAfter(stop)], stop)
        return result, cp

    skipped, cp = fit(0.0, "none")
    assert skipped.history.status == "stopped"
    row = next(r for r in skipped.history.epochs if int(r["epoch"]) == 2)
    assert "val_recall_at_1_mean" not in row  # the budget skipped epoch 2's metrics
    outcome = cp.stopped_run(TrainTask(config=cfg, data=small_latent))
    metrics = json.loads(outcome.files["metrics.json"])
    every, _ = fit(float("inf"), "every")
    expected = next(r for r in every.history.epochs if int(r["epoch"]) == 2)
    assert metrics["recall_at_1_mean"] == pytest.approx(expected["val_recall_at_1_mean"])
    assert metrics["alignment"] == pytest.approx(expected["val_alignment"])


@pytest.mark.slow
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


@pytest.mark.slow
def test_shutdown_stops_jobs_keeps_their_runs_and_ends_every_worker(small_latent, runs_dir):
    ex = LocalExecutor(workers=1)
    job = started(small_latent, long_config(), ex, root=runs_dir)
    assert wait_until(lambda: job.progress().step >= 3)
    pids = ex.workers()
    job.stop()
    assert job.join(30)
    ex.shutdown()
    assert job.result.history.status == "stopped" and job.saved_path is not None
    for pid in pids:  # reaped, not a zombie: the pid is gone
        assert not os.path.exists(f"/proc/{pid}") or wait_until(
            lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 10
        )


@pytest.mark.slow
def test_a_workspace_nobody_visits_has_its_job_stopped_after_the_abandon_time(small_latent):
    """Jobs belong to the workspace: a session leaving does not stop them; an abandoned
    workspace (no session for ``abandon_s``) does, keeping what was learned."""
    from views.parts.jobs import JobBoard

    board = JobBoard(abandon_s=1.0)
    slot = board.slot("ws-a")
    slot.job = TrainingJob(small_latent, long_config(), executor="thread").start()
    board.visit("ws-a", "tab-1")
    board.visit("ws-a", "tab-2")
    board.leave("ws-a", "tab-1")  # one tab closed: someone is still there
    assert wait_until(lambda: slot.job.progress().step >= 3)
    assert board.reap() == [] and slot.job.running
    board.leave("ws-a", "tab-2")  # the last tab closed: the clock starts
    time.sleep(0.3)
    assert board.reap() == [] and slot.job.running  # not yet abandoned
    board.visit("ws-a", "tab-3")  # back within the time: nothing happens
    time.sleep(1.1)
    assert board.reap() == [] and slot.job.running
    board.leave("ws-a", "tab-3")
    assert wait_until(lambda: board.reap() == ["ws-a"], 10)
    assert slot.job.join(30) and slot.job.result.history.status == "stopped"


@pytest.mark.slow
def test_extra_workers_start_for_queued_jobs_and_retire_when_idle(small_latent):
    ex = LocalExecutor(workers=2, keep=1, idle_s=0.5)
    try:
        ex.warm()
        assert wait_until(lambda: len(ex.workers()) == 1)
        cfg = default_config("joint", epochs=2, batch_size=64)
        a, b = (started(small_latent, cfg, ex) for _ in range(2))
        assert wait_until(lambda: len(ex.workers()) == 2, 60)  # the second job got its own
        assert a.join(120) and b.join(120)
        assert a.progress().worker["pid"] != b.progress().worker["pid"]
        assert wait_until(lambda: len(ex.workers()) == 1, 30)  # the extra one retired
    finally:
        ex.shutdown()
