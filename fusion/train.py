"""The training engine: one ``fit`` function that knows nothing of the UI.

``fit`` takes a model, a :class:`Task` (what the loss is and how to evaluate),
train and validation data, a :class:`TrainConfig`, callbacks and a stop event,
and returns a :class:`History`. Pages and the command line turn callbacks into
progress bars; the engine never draws anything.

Design notes (measured on a 2-core CPU, see benchmarks/):
- In-memory data is moved to the device once and batched by tensor indexing;
  torch's ``DataLoader`` costs about half the throughput for such data.
- Loss parts are read back once per step (one ``tolist``) and validation
  metrics once per epoch; snapshots of validation outputs are kept only at a
  bounded number of epochs, each capped in rows, so memory stays bounded.
- Per-epoch evaluation is on a time budget, as the live map's frames are: the task's
  metrics are measured at an epoch only while all metric time so far, this epoch's
  included, stays within :data:`EVAL_SHARE` of the wall time since training started
  (a paced demo's waits count, so its short epochs keep their metrics). Epoch 0 (before
  training), the first trained epoch (a person's first reading, in the app's curves and the
  command line's first line), the last planned epoch and an epoch where early stopping ends
  training are always measured, and
  what early stopping watches (the validation loss, or a task metric, for which every epoch
  is measured) is computed every epoch, so which weights are kept never depends on timing.
  Snapshot outputs (the maps) are made every epoch. A skipped epoch's row carries no task
  metrics (curves join the measured epochs, whose markers show them); the final metrics
  and every reported number are measured on all rows, never on this schedule.
- Per-epoch evaluation runs numpy's BLAS on one thread
  (:func:`fusion.runtime.one_blas_thread`): OpenBLAS's idle workers spin for a while
  after each call and, on a small machine, then fight torch's OpenMP threads for the
  cores, so the next epoch's steps ran 3-30x slower (joint InfoNCE, 2 cores, 2 torch
  threads).
- Faults end training without losing work: the stop event ends it within one
  batch ("stopped"); a NaN/inf loss ends it ("diverged") and restores the
  weights from the last completed epoch; a device out-of-memory error ends it
  ("out_of_memory") with a suggestion.
- Early stopping (Prechelt 1998, "Early Stopping - But When?"): with
  ``TrainConfig.patience`` > 0 and a task that names a validation metric to watch
  (``task.monitor``: a metric, higher is better, or ``"loss"``, the task's own loss on the
  validation snapshot rows, lower is better), training ends once it has not improved
  for ``patience`` epochs, and a run that finishes keeps the weights of its best epoch, the
  latest of equals (``History.best_epoch``, saved in run.json; the final metrics are that
  epoch's): on a plateau of validation accuracy the longer-trained weights are kept, whose
  attention is sharper. The faults above keep their own rule.
- The outcome message is kept in English (``History.message``) and as a catalogue key
  with parameters (``message_key``, ``message_params``); :func:`localized_message`
  shows it in a page's language.
"""

from __future__ import annotations

import copy
import inspect
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from fusion.config import EVAL_SHARE, TrainConfig  # noqa: F401  (also importable from here)
from fusion.data import PairedData
from fusion.errors import ConfigError
from fusion.i18n import (
    DEFAULT_LANGUAGE,
    localized_message,  # noqa: F401  (torch-free there; also importable from here)
    translate,
)
from fusion.registry import DEVICES
from fusion.runtime import is_oom, one_blas_thread


def resolve_device(requested: str = "auto") -> tuple[torch.device, str]:
    """The device to train on and why: auto picks CUDA, then MPS, then CPU."""
    if requested not in DEVICES:
        raise ConfigError("errors.train.unknown_device", device=requested, choices=DEVICES)
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if requested == "cuda":
        if not cuda:
            raise ConfigError("errors.train.no_cuda")
        return torch.device("cuda"), f"requested; {torch.cuda.get_device_name(0)}"
    if requested == "mps":
        if not mps:
            raise ConfigError("errors.train.no_mps")
        return torch.device("mps"), "requested"
    if requested == "cpu":
        return torch.device("cpu"), "requested"
    if cuda:
        return torch.device("cuda"), f"auto: CUDA available ({torch.cuda.get_device_name(0)})"
    if mps:
        return torch.device("mps"), "auto: no CUDA, Apple MPS available"
    return torch.device("cpu"), "auto: no CUDA or MPS GPU found"


def device_label() -> str:
    """A human name for the device ``auto`` would pick: 'CPU' or the GPU's name."""
    dev, _ = resolve_device("auto")
    if dev.type == "cuda":
        return torch.cuda.get_device_name(0)
    return "Apple GPU (MPS)" if dev.type == "mps" else "CPU"


class Task(Protocol):
    """What is trained: the loss on a batch, and the evaluation of a data set."""

    def loss(
        self, model: nn.Module, inputs: dict[str, torch.Tensor], labels: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Named scalar parts; ``"loss"`` is the total that is back-propagated."""
        ...

    def evaluate(
        self, model: nn.Module, data: TensorData, final: bool = False
    ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Metrics (flat name -> float) and the outputs to snapshot (name -> array).

        A task whose ``evaluate`` also takes ``with_metrics`` (False: the outputs alone,
        no metrics) has its per-epoch metrics put on the trainer's time budget."""
        ...


@dataclass
class TensorData:
    """A PairedData moved to a device once, for indexing into batches."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor | None
    data: PairedData

    @classmethod
    def from_paired(cls, data: PairedData, device: torch.device) -> TensorData:
        inputs = {k: torch.from_numpy(v).to(device) for k, v in data.modalities.items()}
        labels = None if data.labels is None else torch.from_numpy(data.labels).to(device)
        return cls(inputs, labels, data)

    @property
    def n(self) -> int:
        return self.data.n

    def batch(self, idx: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        return (
            {k: v[idx] for k, v in self.inputs.items()},
            None if self.labels is None else self.labels[idx],
        )


@dataclass
class Snapshot:
    epoch: int
    arrays: dict[str, np.ndarray]  # e.g. per-modality embeddings (n, D), attention weights (n, M)


@dataclass
class History:
    device: str = "cpu"
    device_reason: str = ""
    status: str = "running"  # running | finished | stopped | diverged | out_of_memory
    message: str = ""  # the outcome in English; message_key/_params give other languages
    steps: list[dict[str, float]] = field(default_factory=list)  # step, epoch, each loss part
    epochs: list[dict[str, float]] = field(
        default_factory=list
    )  # epoch, seconds, samples/s, train & val values
    snapshots: list[Snapshot] = field(default_factory=list)
    snapshot_rows: np.ndarray | None = None  # validation row indices used in every snapshot
    final_metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    message_key: str = ""  # catalogue key of ``message`` (see :func:`localized_message`)
    message_params: dict[str, Any] = field(default_factory=dict)
    monitor: str = ""  # the validation metric early stopping watched ("" = none)
    best_epoch: int = 0  # the epoch whose weights the run kept (0 = the last one trained)
    best_value: float | None = None  # the watched metric at best_epoch
    live_frames: dict[str, np.ndarray] | None = None  # the live map's frames (fusion.live)

    @property
    def completed_epochs(self) -> int:
        return int(self.epochs[-1]["epoch"]) if self.epochs else 0

    def say(self, key: str, /, **params: Any) -> None:
        """Set the outcome message from catalogue ``key`` (English text, key and params)."""
        self.message = translate(key, DEFAULT_LANGUAGE, **params)
        self.message_key, self.message_params = key, params

    def summary(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "device_reason": self.device_reason,
            "status": self.status,
            "message": self.message,
            "message_key": self.message_key,
            "message_params": self.message_params,
            "completed_epochs": self.completed_epochs,
            "seconds": round(self.seconds, 3),
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
        }


class Callback:
    """Hooks called by :func:`fit`; override what you need. Called in the training thread."""

    def on_train_start(self, info: dict[str, Any]) -> None: ...

    def on_model(self, model: nn.Module) -> None:
        """The model about to be trained, on its device (a checkpoint keeps its weights)."""

    def on_task(self, task: Any) -> None:
        """The task being trained (its ``metrics_from``, when it has one, measures an
        epoch's snapshot outputs again: a checkpoint's kept epoch the budget skipped)."""

    def on_step(self, info: dict[str, float]) -> None: ...

    def on_epoch_end(self, info: dict[str, float], history: History) -> None: ...

    def on_evaluate(self, epoch: int, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        """After each epoch's evaluation (epoch 0 too): the task's outputs (``emb:<modality>``,
        attention ``weights``, ...) on the fixed validation rows ``data`` (the snapshot rows)."""

    # > 0: within an epoch, call on_peek after the step that ends each such stretch of time
    peek_seconds: float = 0.0

    def on_peek(self, at: float, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        """Within an epoch, every ``peek_seconds`` of training (the live map's frames on a
        long epoch): the task's ``live_arrays`` (embeddings, attention weights; no metrics)
        on the snapshot rows ``data``. ``at`` is the fractional epoch: 2.5 = half of epoch 3.
        Peeking runs the model in eval mode without gradients, so training is unchanged."""

    def on_train_end(self, history: History) -> None: ...


def snapshot_epochs(epochs: int, n_snapshots: int) -> set[int]:
    """Evenly spaced epochs (0 = before training, and the last) at which to keep snapshots."""
    if n_snapshots <= 0:
        return set()
    if n_snapshots == 1:
        return {epochs}
    return {int(round(e)) for e in np.linspace(0, epochs, min(n_snapshots, epochs + 1))}


def _make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)


def fit(
    model: nn.Module,
    task: Task,
    train: PairedData,
    val: PairedData,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
    device: torch.device | None = None,
    device_reason: str = "",
) -> History:
    """Train ``model`` on ``train`` with ``task``'s loss; evaluate on ``val`` every epoch.

    Returns the history whatever happens: status ``finished``, ``stopped``
    (stop event set; ends within one batch), ``diverged`` (non-finite loss;
    weights restored to the last completed epoch) or ``out_of_memory``.
    Deterministic on CPU for a given seed.
    """
    config.validate(train.n)
    if device is None:
        device, device_reason = resolve_device(config.device)
    run = _Fit(model, task, train, val, config, callbacks, stop_event, device, device_reason)
    try:
        run.history.epochs.append(
            {"epoch": 0, "seconds": 0.0, "samples_per_sec": 0.0, **run.evaluate(0)}
        )
        for epoch in range(1, config.epochs + 1):
            if not run.epoch(epoch) or run.patience_ran_out(epoch):
                break
    except RuntimeError as exc:
        if not is_oom(exc):
            raise
        model.load_state_dict(run.good_state)
        run.out_of_memory(run.history.completed_epochs + 1)
    if run.history.status == "running":
        run.finish()
    run.final_evaluation()
    run.history.seconds = time.perf_counter() - run.t_start
    for cb in callbacks:
        cb.on_train_end(run.history)
    return run.history


class _Fit:
    """The state of one :func:`fit`: data on the device, optimiser, history, snapshots."""

    def __init__(
        self, model, task, train, val, config, callbacks, stop_event, device, device_reason
    ) -> None:
        self.model, self.task, self.config, self.callbacks = model, task, config, callbacks
        self.device = device
        self.history = History(device=str(device), device_reason=device_reason)
        self.stop_event = stop_event or threading.Event()
        self.t_start = time.perf_counter()
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.gen = torch.Generator().manual_seed(config.seed)
        model.to(device)
        for cb in callbacks:  # a callback written before this hook may not have it
            getattr(cb, "on_model", lambda m: None)(model)
            getattr(cb, "on_task", lambda t: None)(task)
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = _make_optimizer(params, config)
        self.train_t = TensorData.from_paired(train, device)
        rows = np.arange(val.n)
        if val.n > config.snapshot_rows:
            rng = np.random.default_rng(config.seed)
            rows = np.sort(rng.choice(val.n, config.snapshot_rows, replace=False))
        self.history.snapshot_rows = rows
        self.val_t = TensorData.from_paired(val, device)
        self.snap_t = (
            self.val_t if len(rows) == val.n else TensorData.from_paired(val.subset(rows), device)
        )
        self.keep = snapshot_epochs(config.epochs, config.n_snapshots)
        self.n, self.bs = train.n, config.batch_size
        # A trailing batch of one row is dropped.
        self.n_batches = self.n // self.bs + (1 if self.n % self.bs >= 2 else 0)
        self.scheduler = None
        if config.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, config.epochs * self.n_batches
            )
        self.good_state = copy.deepcopy(model.state_dict())
        # A model that starts as its input keeps its start unless training beats it.
        self.start_state = self.good_state if getattr(model, "starts_as_input", False) else None
        self.start_arrays: dict[str, np.ndarray] = {}
        self.restored = False  # finish() went back to an earlier epoch's weights
        self.step = 0
        self.monitor = getattr(task, "monitor", None) if config.patience > 0 else None
        if self.start_state is not None and self.monitor:  # an adapter is kept for retrieval
            self.monitor = "recall_at_1_mean"
        self.history.monitor = self.monitor or ""
        self.best_state: dict[str, Any] | None = None
        self.improved = 0  # the last epoch that strictly improved the watched metric
        self.best_arrays: dict[str, np.ndarray] = {}  # the best epoch's snapshot outputs
        self.last_arrays: dict[str, np.ndarray] = {}
        # The per-epoch metrics' budget: a task metric early stopping watches is measured
        # every epoch; otherwise metrics go on the budget when the task can skip them.
        takes_flag = "with_metrics" in inspect.signature(task.evaluate).parameters
        self.budgeted = takes_flag and self.monitor in (None, "loss")
        self.metric_seconds = 0.0  # per-epoch task metrics so far
        self.metric_cost = 0.0  # the last measured metrics' seconds: the next one's estimate
        self.peekers = [cb for cb in callbacks if getattr(cb, "peek_seconds", 0) > 0]
        if not hasattr(task, "live_arrays"):
            self.peekers = []
        self.peek_every = min((cb.peek_seconds for cb in self.peekers), default=math.inf)
        self.next_peek = math.inf  # set by each evaluation
        for cb in callbacks:
            cb.on_train_start(
                {
                    "epochs": config.epochs,
                    "batches_per_epoch": self.n_batches,
                    "device": str(device),
                    "n_val": val.n,
                }
            )

    def evaluate(self, epoch: int) -> dict[str, float]:
        """Validation metrics (``val_`` keys), and a snapshot when ``epoch`` keeps one.

        Per-epoch metrics use the fixed snapshot rows (at most snapshot_rows), so an epoch's
        evaluation costs the same on 1k or 100k pairs; the final metrics use all of ``val``.
        """
        self.model.eval()
        with torch.no_grad(), one_blas_thread():
            loss = self.validation_loss() if self.monitor == "loss" else None
            if self.measures_metrics(epoch, loss):
                t0 = time.perf_counter()
                metrics, arrays = self.task.evaluate(self.model, self.snap_t, final=False)
                self.metric_cost = time.perf_counter() - t0
                self.metric_seconds += self.metric_cost
            else:
                metrics, arrays = self.task.evaluate(
                    self.model, self.snap_t, final=False, with_metrics=False
                )
            if loss is not None:
                metrics["loss"] = loss
        if epoch in self.keep:
            self.history.snapshots.append(Snapshot(epoch, arrays))
        self.last_arrays = arrays
        if epoch == 0:
            self.start_arrays = arrays
        for cb in self.callbacks:  # a callback written before this hook may not have it
            hook = getattr(cb, "on_evaluate", None)
            if hook is not None:
                hook(epoch, arrays, self.snap_t.data)
        self.model.train()
        self.next_peek = time.perf_counter() + self.peek_every
        return {f"val_{k}": v for k, v in metrics.items()}

    def measures_metrics(self, epoch: int, loss: float | None) -> bool:
        """Whether epoch ``epoch``'s evaluation measures the task's metrics (the budget of
        the module notes); ``loss`` is its validation loss when early stopping watches it."""
        if not self.budgeted or epoch <= 1 or epoch >= self.config.epochs:
            return True
        if loss is not None and self.stops_at(epoch, loss):
            return True
        elapsed = time.perf_counter() - self.t_start
        return self.metric_seconds + self.metric_cost <= EVAL_SHARE * elapsed

    def stops_at(self, epoch: int, value: float) -> bool:
        """Whether :meth:`patience_ran_out` will end training after this epoch, whose
        watched value is ``value`` (the same rule, without recording anything)."""
        if not math.isfinite(value):
            return False
        h = self.history
        sign = -1.0 if self.monitor == "loss" else 1.0
        better = h.best_value is None or sign * value > sign * h.best_value
        improved = epoch if better else self.improved
        return epoch - improved >= self.config.patience and epoch < self.config.epochs

    def peek(self, at: float) -> None:
        """The peeking callbacks' view within an epoch (see :meth:`Callback.on_peek`)."""
        self.model.eval()
        with torch.no_grad(), one_blas_thread():
            arrays = self.task.live_arrays(self.model, self.snap_t)
        self.model.train()
        for cb in self.peekers:
            cb.on_peek(at, arrays, self.snap_t.data)
        self.next_peek = time.perf_counter() + self.peek_every

    def validation_loss(self) -> float:
        """The task's loss on the snapshot rows, in fixed batches of the training batch size
        (a contrastive loss depends on the batch), weighted by batch length."""
        n, bs = self.snap_t.n, self.bs
        total, seen = 0.0, 0
        for start in range(0, n, bs):
            idx = torch.arange(start, min(start + bs, n), device=self.device)
            if len(idx) < 2:  # a batch of one row has no pairs to contrast
                continue
            inputs, labels = self.snap_t.batch(idx)
            objective = getattr(self.task, "objective", self.task.loss)  # not a training step
            total += float(objective(self.model, inputs, labels)["loss"]) * len(idx)
            seen += len(idx)
        return total / max(seen, 1)

    def patience_ran_out(self, epoch: int) -> bool:
        """Track the best epoch of the watched metric; True when ``patience`` epochs in a row
        brought no improvement (training then ends early)."""
        if self.monitor is None:
            return False
        h = self.history
        value = h.epochs[-1].get(f"val_{self.monitor}")
        if value is None or not math.isfinite(value):
            return False
        sign = -1.0 if self.monitor == "loss" else 1.0  # a loss is better lower
        better = h.best_value is None or sign * value > sign * h.best_value
        if better:
            self.improved = epoch
        if better or value == h.best_value:  # a tie keeps the later, longer-trained weights
            h.best_epoch, h.best_value = epoch, float(value)
            self.best_state = copy.deepcopy(self.model.state_dict())
            self.best_arrays = self.last_arrays
        # Patience counts epochs since the last strict improvement (a plateau runs out).
        return epoch - self.improved >= self.config.patience and epoch < self.config.epochs

    def finish(self) -> None:
        """A run that no fault stopped: keep its best epoch's weights and say so.

        The map ends at the kept epoch: snapshots of later, discarded weights are dropped,
        so every map and metric shows the same model. A model that starts as its input
        (``starts_as_input``: an adapter on vectors that already share a space) keeps its
        starting weights unless a trained epoch beat them on validation Recall@1.
        """
        h, last = self.history, self.history.completed_epochs
        h.status = "finished"
        if self.start_state is not None and self.keep_start():
            return
        stopped_early = last < self.config.epochs and self.best_state is not None
        if self.best_state is None or (h.best_epoch >= last and not stopped_early):
            h.best_epoch = last if self.best_state is not None else 0
            h.say("messages.train.finished", epochs=last)
            return
        if h.best_epoch < last:
            self.model.load_state_dict(self.best_state)
            self.restored = True
        self.keep_snapshots(h.best_epoch, self.best_arrays)
        kind = "early_stopped" if stopped_early else "finished_best"
        h.say(
            f"messages.train.{kind}.{h.monitor}",
            epochs=last,
            max_epochs=self.config.epochs,
            best=h.best_epoch,
            patience=self.config.patience,
            value=f"{h.best_value:.3f}",
        )

    def keep_snapshots(self, epoch: int, arrays: dict[str, np.ndarray]) -> None:
        """The snapshots up to the kept ``epoch``, ending with that epoch's."""
        h = self.history
        h.snapshots = [s for s in h.snapshots if s.epoch <= epoch]
        if not any(s.epoch == epoch for s in h.snapshots):
            h.snapshots.append(Snapshot(epoch, arrays))
            h.snapshots.sort(key=lambda s: s.epoch)

    def keep_start(self) -> bool:
        """For a model that starts as its input: restore the start (epoch 0) when the epoch
        the run would keep is not above it on validation Recall@1; True when it did so."""
        h, key, last = self.history, "val_recall_at_1_mean", self.history.completed_epochs
        epoch = h.best_epoch if self.best_state is not None and h.best_epoch < last else last
        rows = {int(r["epoch"]): r.get(key) for r in h.epochs}
        start, best = rows.get(0), rows.get(epoch)
        if epoch == 0 or start is None or best is None or not math.isfinite(best) or best > start:
            return False
        self.model.load_state_dict(self.start_state)
        self.restored = True
        h.best_epoch, h.best_value, h.monitor = 0, float(start), "recall_at_1_mean"
        self.keep_snapshots(0, self.start_arrays)
        h.say(
            "messages.train.kept_start",
            epochs=h.completed_epochs,
            start=f"{start:.3f}",
            trained=f"{best:.3f}",
            epoch=epoch,
        )
        return True

    def epoch(self, epoch: int) -> bool:
        """One pass over the training data; False when training must end (stop, divergence)."""
        model, task, history, optimizer = self.model, self.task, self.history, self.optimizer
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(self.n, generator=self.gen).to(self.device)
        sums: dict[str, float] = {}
        seen = 0
        for b in range(self.n_batches):
            if self.stop_event.is_set():
                history.status = "stopped"
                history.say("messages.train.stopped", epoch=epoch)
                return False
            idx = perm[b * self.bs : (b + 1) * self.bs]
            inputs, labels = self.train_t.batch(idx)
            parts = task.loss(model, inputs, labels)
            names = list(parts)
            values = torch.stack([parts[k].detach() for k in names]).tolist()
            total = values[names.index("loss")]
            if not math.isfinite(total):
                model.load_state_dict(self.good_state)
                history.status = "diverged"
                history.say("messages.train.diverged", epoch=epoch, step=self.step + 1, value=total)
                return False
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            self.step += 1
            rec = {"step": self.step, "epoch": epoch, **dict(zip(names, values, strict=True))}
            history.steps.append(rec)
            for k, v in zip(names, values, strict=True):
                sums[k] = sums.get(k, 0.0) + v * len(idx)
            seen += len(idx)
            for cb in self.callbacks:
                cb.on_step(rec)
            if b + 1 < self.n_batches and time.perf_counter() >= self.next_peek:
                self.peek(epoch - 1 + (b + 1) / self.n_batches)  # the epoch's end evaluates
        seconds = time.perf_counter() - t0
        row: dict[str, float] = {
            "epoch": epoch,
            "seconds": seconds,
            "samples_per_sec": seen / max(seconds, 1e-9),
        }
        row.update({f"train_{k}": v / max(seen, 1) for k, v in sums.items()})
        row.update(self.evaluate(epoch))
        history.epochs.append(row)
        self.good_state = copy.deepcopy(model.state_dict())
        for cb in self.callbacks:
            cb.on_epoch_end(row, history)
        return True

    def out_of_memory(self, epoch: int) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.history.status = "out_of_memory"
        _say_out_of_memory(self.history, self.device, epoch)

    def final_evaluation(self) -> None:
        """Final metrics on all of ``val``; a stopped or diverged run still ends on a frame."""
        history = self.history
        self.model.eval()
        last = history.completed_epochs
        # A run that kept an earlier epoch's weights already has that epoch's snapshot.
        kept = history.status == "finished" and self.restored
        try:
            with torch.no_grad():
                history.final_metrics, _ = self.task.evaluate(self.model, self.val_t, final=True)
                if not kept and not any(s.epoch == last for s in history.snapshots):
                    _, arrays = self.task.evaluate(self.model, self.snap_t, final=False)
                    history.snapshots.append(Snapshot(last, arrays))
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            # Out of memory while evaluating: keep the run (history, snapshots so far,
            # weights) with the last per-epoch metrics, and say what to change.
            epoch_row = history.epochs[-1] if history.epochs else {}
            history.final_metrics = {k[4:]: v for k, v in epoch_row.items() if k.startswith("val_")}
            if history.status != "out_of_memory":
                self.out_of_memory(last + 1)
            elif self.device.type == "cuda":
                torch.cuda.empty_cache()


def _say_out_of_memory(history: History, device: torch.device, epoch: int) -> None:
    if device.type == "cpu":
        history.say("messages.train.out_of_memory_machine", epoch=epoch)
    else:
        history.say("messages.train.out_of_memory_gpu", epoch=epoch)


def config_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass config as a JSON-ready dict."""
    return asdict(cfg)
