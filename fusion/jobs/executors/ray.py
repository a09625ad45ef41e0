"""The ``ray`` executor: jobs on a Ray cluster.

``FUSION_EXECUTOR=ray``, or ``python -m fusion train --executor ray``.

Which cluster is Ray's own business: ``RAY_ADDRESS`` (as in every Ray program), e.g.
``127.0.0.1:6379`` for a head started with ``ray start --head``; without it ``ray.init()``
starts a private one on this machine. The ``fusion`` package travels with the jobs
(``runtime_env={"py_modules": [fusion]}``), so nodes need the project's requirements
installed but not its source, and no disk shared with the server.

Each job runs on a Ray actor (:func:`_trainer_class`) that asks for ``num_cpus``
(``FUSION_RAY_CPUS``, default 1: its torch threads) and ``num_gpus=1`` when the config
asks for CUDA, so GPU jobs land on GPU nodes and Ray queues what does not fit. An actor
that finished a job is kept for the next one of its kind (a new actor is a new process
that loads torch: seconds), and ends after ``FUSION_WORKER_IDLE_SECONDS`` idle. The actor
runs :func:`fusion.worker.run_task` in one of its threads; the server polls its events
(:meth:`drain`) a few times a second from a thread of its own, and gets back the
:class:`~fusion.jobs.protocol.Outcome` with the run's files, which the server writes into the
workspace. Stopping sets the actor's stop event (training ends within one batch; a job
not yet placed is cancelled). An actor whose process dies (killed, out of memory, a lost
node) fails its job with the same message as a local worker's death.

An owner's jobs (``job.owner``) go to the cluster one at a time: a second job of the same
owner is held here until the first ends, and held jobs go in order of arrival
(:mod:`fusion.jobs.executors.fair`); the cluster then places what it is sent.

Ray is optional (``requirements-ray.txt``): without it, this executor raises a
:class:`~fusion.errors.ConfigError` that names the install command.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from fusion.errors import ConfigError
from fusion.jobs.executors.base import Job
from fusion.jobs.executors.fair import FairQueue, owner_of
from fusion.jobs.protocol import FAILED_KEY, Outcome

POLL_S = 0.25
CPUS_PER_JOB = max(1, int(os.environ.get("FUSION_RAY_CPUS", "1")))
IDLE_S = float(os.environ.get("FUSION_WORKER_IDLE_SECONDS", "120"))  # an idle actor ends


def _trainer_class(ray: Any) -> Any:
    """The actor class: trains one job at a time, events buffered until the server drains
    them. An actor is reused for the next job (its process has torch loaded already)."""

    @ray.remote(max_concurrency=4)  # run, drain and stop at the same time
    class FusionTrainer:
        def __init__(self) -> None:
            from fusion.child import lower_priority

            lower_priority()  # below a web server on the same node (see fusion.child)
            self.events: list[tuple[str, Any]] = []
            self.lock = threading.Lock()
            self.stops: dict[str, threading.Event] = {}

        def _emit(self, kind: str, payload: Any) -> None:
            with self.lock:
                self.events.append((kind, payload))

        def run(self, job_id: str, task: Any, threads: int) -> Any:
            from fusion.worker import run_task

            with self.lock:
                stop = self.stops.setdefault(job_id, threading.Event())
            try:
                return run_task(task, self._emit, stop, threads)
            finally:
                with self.lock:
                    self.stops.pop(job_id, None)

        def drain(self) -> list[tuple[str, Any]]:
            with self.lock:
                out, self.events = self.events, []
            return out

        def stop(self, job_id: str) -> None:
            with self.lock:
                self.stops.setdefault(job_id, threading.Event()).set()

    return FusionTrainer


class RayExecutor:
    """Send each job to a Ray cluster as an actor (see the module's docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        try:
            import ray
        except ImportError:
            raise ConfigError("errors.jobs.ray_missing") from None
        import fusion

        self.ray = ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address,  # None: RAY_ADDRESS, else a private local instance
                    runtime_env={"py_modules": [fusion]},
                    namespace="fusion-playground",
                    ignore_reinit_error=True,
                    include_dashboard=False,
                    logging_level="WARNING",
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError("errors.jobs.ray_unreachable", error=str(exc)[:200]) from None
        self.trainer = _trainer_class(ray)
        self._lock = threading.Lock()
        self._idle: list[tuple[int, float, Any]] = []  # (GPUs, idle since, actor), reusable
        self._following: set[str] = set()  # the ids of the jobs whose actor is followed
        self._sent: list[Job] = []  # the jobs sent to the cluster and not ended, in order
        self._held = FairQueue()  # jobs whose owner has a job on the cluster already
        self._slots: tuple[float, int] = (0.0, 1)  # (when read, the cluster's job slots)

    def warm(self) -> None:
        pass  # Ray keeps its own worker pool

    def _actor(self, gpus: int) -> Any:
        """An idle actor of that kind (its process warm), else a new one; idle ones retire."""
        now = time.monotonic()
        with self._lock:
            old = [a for g, t, a in self._idle if now - t >= IDLE_S]
            self._idle = [(g, t, a) for g, t, a in self._idle if now - t < IDLE_S]
            found = next((i for i, (g, _, _) in enumerate(self._idle) if g == gpus), None)
            actor = self._idle.pop(found)[2] if found is not None else None
        for a in old:
            with contextlib.suppress(Exception):
                self.ray.kill(a)
        if actor is None:
            actor = self.trainer.options(num_cpus=CPUS_PER_JOB, num_gpus=gpus).remote()
        return actor

    def submit(self, job: Job) -> None:
        with self._lock:
            busy = [owner_of(j) for j in self._sent]
            if owner_of(job) is not None and owner_of(job) in busy:
                self._held.append(job)  # its owner's running job ends first
                return
            self._sent.append(job)
        try:
            self._send(job)
        except BaseException:
            with self._lock:
                self._sent.remove(job)
            raise

    def _send(self, job: Job) -> None:
        gpus = 1 if job.config.train.device == "cuda" else 0
        actor = self._actor(gpus)
        ref = actor.run.remote(job.id, job.task, CPUS_PER_JOB)
        job.say("messages.jobs.ray_waiting")
        threading.Thread(
            target=self._follow,
            args=(job, actor, ref, gpus),
            name="fusion-ray-follow",
            daemon=True,
        ).start()

    def _follow(self, job: Job, actor: Any, ref: Any, gpus: int) -> None:
        """Poll the actor's events until its run returns; then finish (or fail) the job."""
        with self._lock:
            self._following.add(job.id)
        try:
            self._poll(job, actor, ref, gpus)
        finally:
            with self._lock:
                self._following.discard(job.id)
                if job in self._sent:
                    self._sent.remove(job)
                ready = []
                while True:  # the held jobs whose owner has no job on the cluster now
                    nxt = self._held.pop_next([owner_of(j) for j in self._sent])
                    if nxt is None:
                        break
                    self._sent.append(nxt)
                    ready.append(nxt)
            for nxt in ready:
                try:
                    self._send(nxt)
                except Exception as exc:  # the cluster refused it: end it, keep going
                    with self._lock:
                        if nxt in self._sent:
                            self._sent.remove(nxt)
                    nxt.finish(
                        Outcome(
                            error_key=FAILED_KEY,
                            error_params={
                                "error_type": exc.__class__.__name__,
                                "error": str(exc)[:300],
                            },
                        )
                    )

    def _poll(self, job: Job, actor: Any, ref: Any, gpus: int) -> None:
        ray = self.ray
        drain = None
        stop_sent = reusable = False
        try:
            while True:
                done, _ = ray.wait([ref], timeout=POLL_S)
                if drain is None:
                    drain = actor.drain.remote()
                ready, _ = ray.wait([drain], timeout=0 if done else POLL_S)
                if ready:
                    events, drain = ray.get(drain), None
                    if events:
                        if job.waiting:
                            job.dispatched()
                        job.events(events)
                if job.stop_event.is_set() and not stop_sent:
                    stop_sent = True
                    if job.waiting:  # not placed on a node yet: nothing to keep
                        ray.kill(actor)
                        job.cancelled()
                        return
                    actor.stop.remote(job.id)
                if done:
                    break
            if drain is not None:  # a drain still in flight holds events too
                job.events(ray.get(drain, timeout=30))
            job.events(ray.get(actor.drain.remote(), timeout=30))
            outcome = ray.get(ref)
            reusable = True
            job.finish(outcome)
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
            job.crashed(exc.__class__.__name__)  # Ray does not say the exit code
        except ray.exceptions.RayError as exc:
            job.finish(
                Outcome(
                    error_key=FAILED_KEY,
                    error_params={"error_type": exc.__class__.__name__, "error": str(exc)[:300]},
                )
            )
        finally:
            if reusable:
                with self._lock:
                    self._idle.append((gpus, time.monotonic(), actor))
            else:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(actor)

    def cancel(self, job: Job) -> None:
        with self._lock:
            held = job in self._held
            self._held.discard(job)
        if held:  # never sent: nothing trained
            job.cancelled()
        # else the follower thread sees the stop event within one poll

    def queue_snapshot(self) -> tuple[int, list[Job], list[Job]]:
        """(the cluster's job slots, the jobs training, the jobs waiting in order): for
        :func:`fusion.jobs.executors.fair.plan`. The jobs sent but not yet placed by the
        cluster count as waiting ahead of the held ones."""
        now = time.monotonic()
        if now - self._slots[0] > 10.0:  # the cluster's size, read at most every 10 s
            try:
                cpus = int(self.ray.cluster_resources().get("CPU", 0))
            except Exception:
                cpus = 0
            self._slots = (now, max(1, cpus // CPUS_PER_JOB))
        with self._lock:
            sent = list(self._sent)
            held = list(self._held)
        running = [j for j in sent if not j.waiting]
        return self._slots[1], running, [j for j in sent if j.waiting] + held

    def device_info(self, timeout: float = 0.0) -> dict[str, Any]:
        res = self.ray.cluster_resources()
        cpus, gpus = int(res.get("CPU", 0)), int(res.get("GPU", 0))
        return {
            "label": f"Ray cluster: {cpus} CPU, {gpus} GPU",
            "cuda": gpus > 0,
            "gpu": f"{gpus} GPU(s) in the Ray cluster" if gpus else "",
        }

    def shutdown(self, wait: float = 5.0) -> None:
        """Leave the cluster once the jobs it follows have ended (up to ``wait`` s; they
        were stopped by :func:`fusion.jobs.shutdown_executors`)."""
        end = time.monotonic() + wait
        while self._following and time.monotonic() < end:
            time.sleep(0.1)
        with self._lock:
            idle, self._idle = self._idle, []
            held = self._held.clear()
        for job in held:
            job.cancelled()
        for _, _, actor in idle:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        self.ray.shutdown()
