"""Fair waiting and the children's priority.

Queued jobs start in order of arrival, at most one running job per owner (a workspace):
on the thread executor and on a pool of real worker processes. Each waiting job says its
place in line and an estimated wait. Worker and projection processes run at a lower
scheduling priority than the process that started them.
"""

import os
import threading

import pytest

from fusion.config import default_config
from fusion.jobs import TrainingJob, active_jobs
from fusion.jobs.executors import LocalExecutor, ThreadExecutor
from fusion.jobs.executors.fair import FairQueue, plan
from tests.job_helpers import long_config, wait_until


class _J:
    def __init__(self, name, owner=None):
        self.name, self.owner = name, owner

    def __repr__(self):
        return self.name


def test_queue_serves_arrival_order_one_running_job_per_owner():
    a1, a2, b1, n1, b2 = _J("a1", "a"), _J("a2", "a"), _J("b1", "b"), _J("n1"), _J("b2", "b")
    q = FairQueue()
    for j in (a1, a2, b1, n1, b2):
        q.append(j)
    assert q.eligible([]) == [a1, b1, n1]  # an owner's second job waits behind its first
    assert q.pop_next([]) is a1
    assert q.eligible(["a"]) == [b1, n1]  # a trains: its next job waits, b's goes ahead
    assert q.pop_next(["a"]) is b1
    assert q.pop_next(["a", "b"]) is n1  # no owner: never held back
    assert q.pop_next(["a", "b"]) is None  # only owners whose job trains are left
    assert q.pop_next(["b"]) is a2


def test_plan_places_and_waits():
    # One slot, busy for 10 s more; three waiting jobs of 20 s each, in order of arrival.
    places = plan(1, [(None, 10.0)], [("x", None, 20.0), ("y", None, 20.0), ("z", None, 20.0)])
    assert [places[k].place for k in "xyz"] == [1, 2, 3]
    assert [places[k].wait_s for k in "xyz"] == [10.0, 30.0, 50.0]
    assert [places[k].ahead for k in "xyz"] == [0, 1, 2]
    # Two slots, one free: owner a trains (30 s left), a's second job waits for it even
    # though a slot is free; b's job, queued behind it, starts at once.
    places = plan(2, [("a", 30.0)], [("a2", "a", 5.0), ("b1", "b", 5.0)])
    assert (places["b1"].place, places["b1"].wait_s) == (1, 0.0)
    assert places["a2"].place == 2 and places["a2"].wait_s == 30.0
    # One owner's jobs go one at a time, however many slots are free.
    places = plan(4, [], [("a1", "a", 10.0), ("a2", "a", 10.0), ("a3", "a", 10.0)])
    assert [places[k].wait_s for k in ("a1", "a2", "a3")] == [0.0, 10.0, 20.0]


def _short():
    return default_config("joint", epochs=1, batch_size=64)


def _check_fairness(data, ex):
    """Two slots: a's long job trains; a's second job waits although a slot is free, and
    b's job, submitted after it, trains at once; a's second starts when its first ends."""
    a1 = TrainingJob(data, long_config(), executor=ex, owner="ws-a").start()
    assert wait_until(lambda: a1.progress().state == "running")
    a2 = TrainingJob(data, _short(), executor=ex, owner="ws-a").start()
    b1 = TrainingJob(data, _short(), executor=ex, owner="ws-b").start()
    assert b1.join(120), b1.progress().message
    assert b1.progress().state == "done", (b1.progress().message, b1.error)
    assert a2.running and a2.waiting  # a slot is free, but its owner trains
    p = a2.progress()
    assert p.state == "waiting" and p.place == 1 and p.wait_s is not None and p.wait_s >= 0
    assert a2.queue_place().ahead == 0
    a1.stop()
    assert a1.join(30) and a2.join(120)
    assert a2.progress().state == "done" and a2.progress().place == 0


@pytest.mark.slow
def test_thread_executor_one_running_job_per_owner(small_latent):
    ex = ThreadExecutor(slots=threading.BoundedSemaphore(2))
    _check_fairness(small_latent, ex)
    assert active_jobs() == 0


@pytest.mark.slow
def test_worker_pool_one_running_job_per_owner(small_latent, pool):
    _check_fairness(small_latent, pool)
    assert active_jobs() == 0


@pytest.mark.slow
def test_waiting_jobs_say_their_place_and_a_growing_wait(small_latent):
    ex = ThreadExecutor(slots=threading.BoundedSemaphore(1))
    first = TrainingJob(small_latent, long_config(), executor=ex, owner="ws-a").start()
    try:
        assert wait_until(lambda: first.progress().state == "running")
        second = TrainingJob(small_latent, _short(), executor=ex, owner="ws-b").start()
        third = TrainingJob(small_latent, _short(), executor=ex, owner="ws-c").start()
        p2, p3 = second.progress(), third.progress()
        assert (p2.place, p3.place) == (1, 2)
        # the long job's remaining time is ahead of both; the second's expected time too
        assert 0 < p2.wait_s < p3.wait_s
        assert p3.wait_s - p2.wait_s == pytest.approx(second.expected_seconds(), rel=0.2)
        assert first.progress().place == 0  # a training job has no place in line
        third.stop()  # a waiting job leaves the line: the others move up
        assert third.join(10) and third.progress().message_key.endswith("cancelled")
        assert second.progress().place == 1
    finally:
        first.stop()
        first.join(30)
        second.join(120)
    assert active_jobs() == 0


def _nice(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX only")
def test_workers_run_at_a_lower_priority_than_the_server():
    ex = LocalExecutor(workers=1, keep=1)
    try:
        ex.warm()
        assert wait_until(lambda: bool(ex.workers()), 60)
        (pid,) = ex.workers()
        # the child lowers its own priority as it starts: wait for it to have done so
        assert wait_until(lambda: _nice(pid) > _nice(0), 60), (_nice(pid), _nice(0))
        assert _nice(pid) >= min(19, _nice(0) + 10)
    finally:
        ex.shutdown()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX only")
def test_projection_process_runs_at_a_lower_priority():
    from fusion.projector import _Child

    child = _Child()
    try:
        pid = child.process.pid
        assert wait_until(lambda: _nice(pid) > _nice(0), 60), (_nice(pid), _nice(0))
    finally:
        child.close()


@pytest.mark.parametrize(
    "lang, place, wait, expected",
    [
        ("en", 3, 70.0, "Waiting: 3rd in line, about 1 min to go."),
        ("en", 1, 20.0, "Waiting: next in line, less than a minute to go."),
        ("en", 12, 600.0, "Waiting: 12th in line, about 10 min to go."),
        ("zh", 3, 70.0, "排队中：你排在第 3 位，预计约 1 分钟。"),
    ],
)
def test_the_panel_says_the_place_in_line_and_the_wait(monkeypatch, lang, place, wait, expected):
    import views.parts.job_panel as panel
    from fusion.i18n import translate
    from fusion.jobs import Progress

    monkeypatch.setattr(panel, "t", lambda key, **kw: translate(key, lang, **kw))
    note = panel.queue_note(Progress(state="waiting", place=place, wait_s=wait), 2)
    assert note.startswith(expected) and "2" in note[len(expected) :]
    # no place known (a Ray cluster's own queue): the slot message as before
    plain = panel.queue_note(Progress(state="waiting"), 2)
    assert plain == translate("common.waiting_free_training_slot", lang, n=2)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX only")
def test_a_childs_own_child_is_not_lowered_twice():
    """A worker's projection process runs beside the worker's training, not below it."""
    import subprocess
    import sys

    base = os.nice(0)
    code = (
        "import os; os.nice(10); from fusion.child import lower_priority; print(lower_priority())"
    )
    env = {**os.environ, "FUSION_NICE_BASE": str(base), "FUSION_CHILD_NICE": "10"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert int(out.stdout) == min(19, base + 10), out.stderr
    fresh = subprocess.run(
        [sys.executable, "-c", "from fusion.child import lower_priority; print(lower_priority())"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert int(fresh.stdout) == min(19, base + 10), fresh.stderr


@pytest.mark.slow
def test_an_ended_job_lets_go_of_its_live_frames_and_data(small_latent, pool):
    """A page keeps an ended job while its workspace is visited: what only a running job
    needs (the live map's frames, the training data) is dropped when it ends."""
    from fusion import live

    job = TrainingJob(small_latent, long_config(), executor=pool, owner="ws-a").start()
    assert wait_until(lambda: bool(job.progress().live.get(live.POINTS)), 120)
    assert job.task.data is small_latent
    job.stop()
    assert job.join(30)
    assert job.progress().live == {} and job.task.data is None and job.data is None
    assert job.progress().steps  # the curves a page shows with the outcome stay
    assert job.result is not None and job.result.history.status == "stopped"


def test_freed_memory_goes_back_once_departed_sessions_are_forgotten():
    """The server trims its heap after sessions leave: once Streamlit has forgotten them
    (the session TTL) and no one left since, once per wave of departures, and at most
    every TRIM_EVERY_S while people keep leaving."""
    from views.parts.jobs import TRIM_DELAY_S, TRIM_EVERY_S, JobBoard

    board = JobBoard(abandon_s=3600)
    ttl = 5.0
    assert not board.trim_due(100.0, ttl, None, 0.0)  # nobody left yet
    board.visit("ws-a", "tab-1")
    board.leave("ws-a", "tab-1")
    left = board.last_leave
    assert not board.trim_due(left + ttl, ttl, None, left)  # its state not freed yet
    assert board.trim_due(left + ttl + TRIM_DELAY_S, ttl, None, left)
    assert not board.trim_due(left + ttl + 30, ttl, left, left + ttl)  # trimmed after it
    # people keep leaving: a trim at least every TRIM_EVERY_S
    assert board.trim_due(left + 1, ttl, None, left + 1 - TRIM_EVERY_S)


def _rss_mb() -> float:
    from benchmarks.appserver import rss_mb

    return rss_mb(os.getpid())


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux only")
def test_trim_memory_gives_the_holes_in_the_heap_back():
    from fusion.runtime import trim_memory

    trim_memory()
    blocks = [bytearray(64 * 1024) for _ in range(3000)]  # ~190 MB, each under mmap's bar
    keep = blocks[::50]  # a few survivors pin the heap: freeing the rest leaves holes
    del blocks
    held = _rss_mb()
    assert trim_memory()
    assert held - _rss_mb() > 100, (held, _rss_mb())
    del keep


@pytest.mark.slow
def test_ray_holds_an_owners_second_job_until_its_first_ends(small_latent, ray_address):
    """On a real local Ray head: an owner's second job is held back by the server, not
    sent to the cluster, while other owners' jobs go ahead."""
    pytest.importorskip("ray")
    from fusion.jobs.executors import RayExecutor

    ex = RayExecutor(address=ray_address)
    try:
        a1 = TrainingJob(small_latent, long_config(), executor=ex, owner="ws-a").start()
        assert wait_until(lambda: a1.progress().state == "running", 180), a1.progress().message
        a2 = TrainingJob(small_latent, _short(), executor=ex, owner="ws-a").start()
        b1 = TrainingJob(small_latent, _short(), executor=ex, owner="ws-b").start()
        with ex._lock:  # a2 is held here while a1 trains; b1 went to the cluster
            assert a2 in ex._held and b1 in ex._sent and a2 not in ex._sent
        assert a2.waiting and a2.progress().place >= 1
        a1.stop()
        assert a1.join(60) and a2.join(180) and b1.join(180)
        assert b1.progress().state == "done", b1.progress().message
        assert a2.progress().state == "done", (a2.progress().message, a2.error)
    finally:
        ex.shutdown()
