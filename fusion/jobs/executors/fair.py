"""Fair waiting: the order queued jobs start in, and each one's place and wait.

Every executor serves its queued jobs in order of arrival, with one rule: at most one
running job per *owner* (``job.owner``, e.g. a workspace; ``None`` is unrestricted). An
owner's second job waits, even while a slot is free, and the jobs queued behind it that
belong to other owners go ahead. A class of thirty students then shares the slots one
training per student at a time, however often one of them clicks Train.

:class:`FairQueue` keeps the waiting jobs and picks the next one (:meth:`FairQueue.next_job`);
:func:`plan` says, for each waiting job, its place in line (1 = next) and roughly how many
seconds until it starts, by playing the queue forward: the running jobs end after their
remaining seconds, and each freed slot takes the first waiting job whose owner has no job
running then, for that job's expected seconds. Torch-free, no locks: the executors call
it under their own.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


def owner_of(job: Any) -> str | None:
    """The job's owner (None: a job that may run beside any other)."""
    return getattr(job, "owner", None) or None


class FairQueue:
    """Jobs waiting for a slot, in order of arrival (see the module's docstring)."""

    def __init__(self) -> None:
        self._jobs: collections.deque[Any] = collections.deque()

    def append(self, job: Any) -> None:
        self._jobs.append(job)

    def appendleft(self, job: Any) -> None:
        """Put ``job`` first (a job whose run is saved before any new one starts)."""
        self._jobs.appendleft(job)

    def remove(self, job: Any) -> None:
        self._jobs.remove(job)

    def discard(self, job: Any) -> None:
        if job in self._jobs:
            self._jobs.remove(job)

    def clear(self) -> list[Any]:
        """Empty the queue; the jobs it held, in order."""
        jobs, self._jobs = list(self._jobs), collections.deque()
        return jobs

    def __contains__(self, job: Any) -> bool:
        return job in self._jobs

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._jobs))

    def eligible(self, busy: Iterable[str | None]) -> list[Any]:
        """The jobs that could start now, in order: the first waiting job of each owner
        that has no job in ``busy`` (the owners of the running jobs), and every unowned one."""
        taken = {o for o in busy if o is not None}
        out = []
        for job in self._jobs:
            owner = owner_of(job)
            if owner is None:
                out.append(job)
            elif owner not in taken:
                out.append(job)
                taken.add(owner)
        return out

    def next_job(self, busy: Iterable[str | None]) -> Any | None:
        """The job to start in the next free slot (None: every waiting owner is busy)."""
        first = self.eligible(busy)
        return first[0] if first else None

    def pop_next(self, busy: Iterable[str | None]) -> Any | None:
        job = self.next_job(busy)
        if job is not None:
            self._jobs.remove(job)
        return job


@dataclass(frozen=True)
class Place:
    """A waiting job's place in line (1 = next to start) and its estimated wait."""

    place: int
    wait_s: float
    ahead: int  # waiting jobs that start before it


def plan(
    capacity: int,
    running: Iterable[tuple[str | None, float]],
    queued: Iterable[tuple[Any, str | None, float]],
) -> dict[Any, Place]:
    """Each queued job's :class:`Place`, by playing the queue forward.

    ``capacity``: slots in all; ``running``: (owner, seconds left) of each running job;
    ``queued``: (key, owner, expected seconds) of each waiting job, in order of arrival.
    Returns key -> Place. The waits are as good as the seconds given (an estimate)."""
    waiting = list(queued)
    busy: dict[str, float] = {}  # owner -> when its running job ends
    slots: list[float] = []  # when each slot is free
    for owner, left in running:
        left = max(0.0, float(left))
        slots.append(left)
        if owner is not None:
            busy[owner] = max(busy.get(owner, 0.0), left)
    slots += [0.0] * max(0, capacity - len(slots))
    if not slots:
        slots = [0.0]
    heapq.heapify(slots)
    out: dict[Any, Place] = {}
    while waiting:
        now = heapq.heappop(slots)
        pick = next(
            (i for i, (_, o, _) in enumerate(waiting) if o is None or busy.get(o, 0.0) <= now),
            None,
        )
        if pick is None:  # every waiting owner still trains: this slot idles until one ends
            heapq.heappush(slots, min(busy[o] for _, o, _ in waiting if o is not None))
            continue
        key, owner, seconds = waiting.pop(pick)
        out[key] = Place(len(out) + 1, now, len(out))
        end = now + max(0.0, float(seconds))
        heapq.heappush(slots, end)
        if owner is not None:
            busy[owner] = end
    return out
