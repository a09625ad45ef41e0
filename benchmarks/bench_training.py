"""Training engine overhead: ``fusion.train.fit`` and ``TrainingJob`` vs a bare PyTorch loop.

The bare loop is what anyone would write by hand: the same model (same seed), data (the
same training split, on the CPU as tensors, batched by indexing a random permutation),
batch size, optimiser, loss function (from :mod:`fusion.losses`) and torch threads, in
the main thread, with no evaluation, callbacks or logging.

Each comparison is a throughput ratio (library / bare, higher is better), taken within
each of at least five interleaved rounds (``benchmarks.common.interleaved``: every round
runs the bare loop and each library variant once, the order rotated), reported as the
median with its minimum and maximum over the rounds:

- "steady-state": fit's own per-epoch samples/s (``History.epochs``, median over epochs),
  which times only the training steps of an epoch, not its evaluation;
- "whole epochs incl. eval": the samples of epochs 2 to the last over the wall time from
  the end of epoch 1 to the end of the last (``on_epoch_end`` callbacks), i.e. training
  steps plus the per-epoch evaluation and snapshots, on its time budget
  (``fusion.train.EVAL_SHARE``; the last epoch is always evaluated), target >= 0.75;
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

from benchmarks.common import MIN_ROUNDS, Entry, interleaved, median, paired_entry


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


def library_fit(data: Any, cfg: Any, epochs: int) -> tuple[list[float], float]:
    """(steady-state samples/s per epoch, whole epochs incl. eval: samples/s over epochs 2+)."""
    from fusion.experiment import run_experiment

    cfg.train.epochs = epochs
    clock = _EpochClock()
    result = run_experiment(data, cfg, [clock])
    h = result.history
    steady = [row["samples_per_sec"] for row in h.epochs[1:]]
    seen = [row["samples_per_sec"] * row["seconds"] for row in h.epochs[1:]]
    # All epochs after the first together: the budget skips the metrics of some epochs
    # and measures others, so a per-epoch median would hide the measured ones.
    whole = sum(seen[1:]) / (clock.ends[-1] - clock.ends[0])
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


def run(quick: bool, fit_only: bool = False) -> list[Entry]:
    """Every comparison; ``fit_only``: fit against the bare loop alone (no jobs, no
    diagnostics), for a shorter look at the per-epoch evaluation's cost."""
    n = 4000 if quick else 10_000
    epochs = 12 if quick else 20  # enough epochs for the evaluation budget to show its mean
    rounds = MIN_ROUNDS
    from fusion.jobs.executors import LocalExecutor, ThreadExecutor

    threads = torch.get_num_threads()
    from fusion.jobs.executors.local import worker_threads

    pool = None if fit_only else LocalExecutor(workers=1)  # a lone worker: worker_threads(1)
    if pool is not None:
        pool.warm()
    job_threads = worker_threads(1)
    entries: list[Entry] = []
    for kind, label in (("joint", "joint InfoNCE"), ("attention", "attention fusion")):
        data, cfg, train = _setup(kind, n)
        # One untimed pass each so first-call costs (allocator, kernels) are out of the way.
        bare_loop(kind, data, cfg, train, 1)
        library_fit(data, _fresh_cfg(cfg), 2)

        def fit_both(data=data, cfg=cfg):
            s, w = library_fit(data, _fresh_cfg(cfg), epochs)
            return (median(s), w)

        def bare_at(n_threads, kind=kind, data=data, cfg=cfg, train=train):
            torch.set_num_threads(n_threads)  # e.g. the bare loop at the worker's thread count
            try:
                return median(bare_loop(kind, data, cfg, train, epochs))
            finally:
                torch.set_num_threads(threads)

        fns = {"bare": lambda: bare_at(threads), "fit": fit_both}
        if not fit_only:
            fns |= {
                "job": lambda data=data, cfg=cfg: median(
                    training_job(data, _fresh_cfg(cfg), epochs, pool)
                ),
                "bare_at_job": lambda: bare_at(job_threads),
                "thread_job": lambda data=data, cfg=cfg: median(
                    training_job(data, _fresh_cfg(cfg), epochs, ThreadExecutor())
                ),
            }
        got = interleaved(fns, rounds)
        bare, bare_at_job = got["bare"], got.get("bare_at_job", [])
        steady = [f[0] for f in got["fit"]]
        whole = [f[1] for f in got["fit"]]
        setting = (
            f"n_train={train.n}, batch {cfg.train.batch_size}, {threads} threads, {epochs} epochs"
        )
        for name, xs, target, base, note in (
            (f"train {label}: fit steady-state (train steps only) vs bare loop", steady, 0.90,
             bare, setting),
            (f"train {label}: fit whole epochs incl. per-epoch eval vs bare loop", whole, 0.75,
             bare, setting),
            (f"train {label}: job in a local worker process vs bare loop, same threads",
             got.get("job"), 0.90, bare_at_job,
             f"{job_threads} torch thread(s) in both (fusion.jobs.executors.local.worker_threads)"),
            (f"train {label}: job on the thread executor (1 torch thread) vs bare loop",
             got.get("thread_job"), None, bare, setting),
        ):  # fmt: skip
            if fit_only and xs is None:
                continue
            entries.append(
                paired_entry(
                    name,
                    xs,
                    base,
                    "samples/s",
                    "ours/base",
                    ("ratio", ">=", target) if target else None,
                    note=note,
                )
            )
    if pool is None:
        return entries
    # Diagnostics: the same bare loop in a background thread (as a job runs), joint only.
    data, cfg, train = _setup("joint", n)
    got = interleaved(
        {
            "main": lambda: median(bare_loop("joint", data, cfg, train, epochs)),
            "t1": lambda: median(bare_loop_in_thread("joint", data, cfg, train, epochs, 1)),
            "t2": lambda: median(bare_loop_in_thread("joint", data, cfg, train, epochs, threads)),
        },
        rounds,
    )
    for label, key in (("1 torch thread", "t1"), (f"{threads} torch threads", "t2")):
        entries.append(
            paired_entry(
                f"train joint InfoNCE: bare loop in a background thread, {label}, vs main thread",
                got[key],
                got["main"],
                "samples/s",
                "ours/base",
                note="diagnostic",
            )
        )
    pool.shutdown()
    return entries


def _fresh_cfg(cfg: Any) -> Any:
    from fusion.experiment import RunConfig

    return RunConfig.from_dict(cfg.to_dict())


if __name__ == "__main__":  # python -m benchmarks.bench_training [--full] [--fit-only]
    import sys

    from benchmarks.common import table

    print(table(run(quick="--full" not in sys.argv, fit_only="--fit-only" in sys.argv)))
