"""Training engine overhead: ``fusion.train.fit`` and ``TrainingJob`` vs a bare PyTorch loop.

The bare loop is what anyone would write by hand: the same model (same seed), data (the
same training split, on the CPU as tensors, batched by indexing a random permutation),
batch size, optimiser, loss function (from :mod:`fusion.losses`) and torch threads, in
the main thread, with no evaluation, callbacks or logging.

Each comparison is a throughput ratio (library / bare, higher is better), median over
epochs within a run and then over repeated runs, the bare loop and the library
alternating so that machine noise hits both:

- "steady-state": fit's own per-epoch samples/s (``History.epochs``), which times only
  the training steps of an epoch, not its evaluation;
- "whole epochs incl. eval": wall time between consecutive ``on_epoch_end`` callbacks,
  i.e. training steps plus the per-epoch evaluation and snapshot fit does every epoch;
- a job in a local worker process (``fusion.jobs.executors.LocalExecutor``, as the app runs
  training; a lone worker gets one torch thread per core, as the bare loop has), steady-
  state, vs the same main-thread loop (target >= 0.9); and, without a target, a job on the
  thread executor (``fusion.jobs.JOB_THREADS`` torch threads in a background thread).

A few diagnostic entries without targets show the bare loop in a background thread.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import torch

from benchmarks.common import Entry, entry, median, ratio


def _setup(kind: str, n: int) -> tuple[Any, Any, Any]:
    from fusion import generators
    from fusion.experiment import default_config

    if kind == "joint":
        data = generators.generate("shared_latent", n=n, seed=0)
        cfg = default_config("joint", "info_nce")
    else:
        data = generators.generate("gated_reliability", n=n, seed=0)
        cfg = default_config("attention")
    cfg.train.device = "cpu"
    train, _ = data.split(cfg.train.val_fraction, cfg.train.seed)
    return data, cfg, train


def bare_loop(kind: str, data: Any, cfg: Any, train: Any, epochs: int) -> list[float]:
    """Samples/s of each epoch of a hand-written loop (main thread or whoever calls it)."""
    from fusion import losses
    from fusion.experiment import build_model

    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, data)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    x = {k: torch.from_numpy(v) for k, v in train.modalities.items()}
    y = torch.from_numpy(train.labels) if train.labels is not None else None
    n, bs = train.n, cfg.train.batch_size
    n_batches = n // bs + (1 if n % bs >= 2 else 0)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    names = list(x)
    rates = []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        seen = 0
        for b in range(n_batches):
            idx = perm[b * bs : (b + 1) * bs]
            xb = {k: v[idx] for k, v in x.items()}
            if kind == "joint":
                emb = model(xb)
                loss = losses.info_nce(
                    emb[names[0]], emb[names[1]], temperature=model.temperature, normalize=False
                )["loss"]
            else:
                out = model(xb)
                loss = losses.cross_entropy(out.logits, y[idx], out.weights)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
        rates.append(seen / (time.perf_counter() - t0))
    return rates


def bare_loop_in_thread(kind, data, cfg, train, epochs, threads: int) -> list[float]:
    out: list[float] = []

    def work():
        torch.set_num_threads(threads)
        out.extend(bare_loop(kind, data, cfg, train, epochs))

    before = torch.get_num_threads()
    th = threading.Thread(target=work)
    th.start()
    th.join()
    torch.set_num_threads(before)  # the thread's call sets the process-wide value
    return out


class _EpochClock:
    """Callback recording when each epoch (training + its evaluation) ended."""

    def __init__(self):
        self.ends: list[float] = []

    def on_train_start(self, info):
        pass

    def on_step(self, info):
        pass

    def on_epoch_end(self, info, history):
        self.ends.append(time.perf_counter())

    def on_train_end(self, history):
        pass


def library_fit(data: Any, cfg: Any, epochs: int) -> tuple[list[float], list[float]]:
    """(steady-state samples/s per epoch, whole-epoch-incl.-eval samples/s per epoch)."""
    from fusion.experiment import run_experiment

    cfg.train.epochs = epochs
    clock = _EpochClock()
    result = run_experiment(data, cfg, [clock])
    h = result.history
    steady = [row["samples_per_sec"] for row in h.epochs[1:]]
    seen = [row["samples_per_sec"] * row["seconds"] for row in h.epochs[1:]]
    whole = [
        seen[i + 1] / (b - a)
        for i, (a, b) in enumerate(zip(clock.ends[:-1], clock.ends[1:], strict=True))
    ]
    assert h.steps, "fit ran no steps"
    return steady, whole


def training_job(data: Any, cfg: Any, epochs: int, executor: Any) -> list[float]:
    """Steady-state samples/s per epoch of a job on ``executor`` (as the app runs it)."""
    from fusion.jobs import TrainingJob

    cfg.train.epochs = epochs
    cfg.train.patience = 0  # every epoch is measured
    before = torch.get_num_threads()
    job = TrainingJob(data, cfg, executor=executor).start()
    job.join()
    torch.set_num_threads(before)  # a thread job sets the process-wide value
    assert job.result is not None, job.error
    return [row["samples_per_sec"] for row in job.result.history.epochs[1:]]


def run(quick: bool) -> list[Entry]:
    n = 4000 if quick else 10_000
    epochs = 3 if quick else 5
    repeats = 1 if quick else 5
    from fusion.jobs.executors import LocalExecutor, ThreadExecutor

    threads = torch.get_num_threads()
    from fusion.jobs.executors.local import worker_threads

    pool = LocalExecutor(workers=1)  # a lone worker: worker_threads(1) torch threads
    pool.warm()
    job_threads = worker_threads(1)
    entries: list[Entry] = []
    for kind, label in (("joint", "joint InfoNCE"), ("attention", "attention fusion")):
        data, cfg, train = _setup(kind, n)
        # One untimed pass each so first-call costs (allocator, kernels) are out of the way.
        bare_loop(kind, data, cfg, train, 1)
        library_fit(data, _fresh_cfg(cfg), 2)
        bare, steady, whole, job, thread_job, bare_at_job = [], [], [], [], [], []
        for _ in range(repeats):
            bare.append(median(bare_loop(kind, data, cfg, train, epochs)))
            s, w = library_fit(data, _fresh_cfg(cfg), epochs)
            steady.append(median(s))
            whole.append(median(w))
            job.append(median(training_job(data, _fresh_cfg(cfg), epochs, pool)))
            torch.set_num_threads(job_threads)  # the bare loop at the worker's thread count
            bare_at_job.append(median(bare_loop(kind, data, cfg, train, epochs)))
            torch.set_num_threads(threads)
            thread_job.append(median(training_job(data, _fresh_cfg(cfg), epochs, ThreadExecutor())))
        b, bj = median(bare), median(bare_at_job)
        setting = f"n_train={train.n}, batch {cfg.train.batch_size}, {threads} threads"
        for name, xs, target, base, note in (
            (f"train {label}: fit steady-state (train steps only) vs bare loop", steady, 0.90,
             b, setting),
            (f"train {label}: fit whole epochs incl. per-epoch eval vs bare loop", whole, None,
             b, setting),
            (f"train {label}: job in a local worker process vs bare loop, same threads", job,
             0.90, bj, f"{job_threads} torch thread(s) in both (fusion.jobs.executors.local.worker_threads)"),
            (f"train {label}: job on the thread executor (1 torch thread) vs bare loop",
             thread_job, None, b, setting),
        ):  # fmt: skip
            v = median(xs)
            entries.append(
                entry(
                    name,
                    v,
                    "samples/s",
                    base,
                    ratio(v, base),
                    ("ratio", ">=", target) if target else None,
                    note=note,
                )
            )
    # Diagnostics: the same bare loop in a background thread (as a job runs), joint only.
    data, cfg, train = _setup("joint", n)
    main, t1, t2 = [], [], []
    for _ in range(repeats):
        main.append(median(bare_loop("joint", data, cfg, train, epochs)))
        t1.append(median(bare_loop_in_thread("joint", data, cfg, train, epochs, 1)))
        t2.append(median(bare_loop_in_thread("joint", data, cfg, train, epochs, threads)))
    m = median(main)
    for label, xs in (("1 torch thread", t1), (f"{threads} torch threads", t2)):
        v = median(xs)
        entries.append(
            entry(
                f"train joint InfoNCE: bare loop in a background thread, {label}, vs main thread",
                v,
                "samples/s",
                m,
                ratio(v, m),
                note="diagnostic",
            )
        )
    pool.shutdown()
    return entries


def _fresh_cfg(cfg: Any) -> Any:
    from fusion.experiment import RunConfig

    return RunConfig.from_dict(cfg.to_dict())
