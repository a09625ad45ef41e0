"""The training side of a job: what runs in a worker process, a thread or a Ray actor.

:func:`run_task` is the one function every executor runs (:mod:`fusion.jobs.executors`).
It takes a :class:`~fusion.jobs.protocol.TrainTask`, trains it with
:func:`fusion.experiment.run_experiment`, reports progress as events through ``emit`` and
returns a :class:`~fusion.jobs.protocol.Outcome`: a small summary of the run and, when the task
asks for it, the run's files as bytes. The server writes those files into the workspace
(:func:`fusion.runs.place_run`), so a worker needs no shared disk with the server.

With ``TrainTask.checkpoint_dir`` (the local pool sets it), a :class:`Checkpoint` keeps
the kept epoch's weights in that folder as training goes; if the worker is then killed,
:func:`salvage_task`, in another worker, saves the job as a stopped run from them.

Events are ``(kind, payload)`` pairs (:mod:`fusion.jobs.protocol`; :meth:`fusion.jobs.handle.Progress.apply`): ``worker``
(pid, host, device), ``start``, ``step``, ``epoch``, ``say``, and any kind a live view adds
(:func:`fusion.live.live_callbacks`).

:func:`worker_main` is the body of a local pool's worker process (``python -m
fusion.worker``, never a ``fork`` of the server): it loads torch once, says it is ready, then trains the tasks the server
sends one at a time, and ends when the server's end of the pipe closes, so no worker
outlives its server (on Linux it also asks for SIGKILL when its parent dies). It ignores
SIGINT: a Ctrl-C in the server's terminal is the server's to handle (it stops the jobs,
saves what they learned, then ends its workers).

This module imports torch; the web server never imports it.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import io
import json
import math
import os
import queue
import signal
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fusion.child import name_os_thread
from fusion.errors import FusionError
from fusion.jobs.protocol import (
    CHECKPOINT_INFO,
    CHECKPOINT_WEIGHTS,
    DONE,
    EPOCH,
    EVENTS,
    EXIT,
    FAILED_KEY,
    MAP_EVENT,
    READY,
    RUN,
    SALVAGE,
    SHUTDOWN,
    SHUTDOWN_KEPT_KEY,
    SHUTDOWN_KEY,
    START,
    STEPS,
    STOP,
    THREAD_NAME,
    WORKER,
    WORKER_DIED_KEPT_KEY,
    WORKER_DIED_KEY,
    Outcome,
    StopEvent,
    TrainTask,
    summary_of,
)
from fusion.runtime import is_oom, one_blas_thread

Emit = Callable[[str, Any], None]
IDLE_NAME = "fusion-idle"  # a worker's thread between trainings
FLUSH_SECONDS = 0.05  # step events are sent in batches at most this often


def _live_callbacks(config: Any, emit: Emit, pace: float = 0.0) -> list:
    """The live views' training callbacks (the live map's frames), when that module is present."""
    try:
        from fusion.live import live_callbacks
    except ImportError:
        return []
    return list(live_callbacks(config, emit, pace))


def device_info() -> dict[str, Any]:
    """What this process would train on: {"label", "cuda", "gpu"} (imports torch)."""
    import torch

    from fusion.train import device_label

    cuda = bool(torch.cuda.is_available())
    return {
        "label": device_label(),
        "cuda": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else "",
    }


def _recorder(emit: Emit):
    from fusion.train import Callback

    class Recorder(Callback):
        """Turns fit's callbacks into events (steps batched, everything else at once)."""

        def __init__(self):
            self.pending: list[dict] = []
            self.last = time.perf_counter()

        def flush(self):
            if self.pending:
                emit(STEPS, self.pending)
                self.pending = []
            self.last = time.perf_counter()

        def on_train_start(self, info):
            emit(START, dict(info))

        def on_step(self, info):
            self.pending.append(dict(info))
            if time.perf_counter() - self.last >= FLUSH_SECONDS:
                self.flush()

        def on_epoch_end(self, info, history):
            self.flush()
            emit(EPOCH, dict(info))

        def on_train_end(self, history):
            self.flush()

    return Recorder()


def _write_atomically(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through ``write(file)`` under a temporary name, then rename it: a
    worker killed midway leaves the previous file whole. Best effort: a checkpoint that
    cannot be written (a full disk, its job already saved) never stops the training."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError:
        pass


def _checkpoint(folder: str, config: Any):
    import torch

    from fusion.train import Callback

    class Checkpoint(Callback):
        """Keeps the kept epoch's weights on disk as training goes: the best epoch of the
        watched metric with early stopping (fit's rule: the later of equals), else the last
        completed epoch. ``checkpoint.json`` says which epoch, with the epoch rows so far.

        It also holds that epoch's weights and map in memory (before the first epoch ends:
        the starting weights, epoch 0), so that a server shutting down gets the job's
        stopped run at once (:meth:`stopped_run`), without waiting for the training's own
        end (its final evaluation and baselines take seconds).
        """

        def __init__(self):
            self.path = Path(folder)
            self.path.mkdir(parents=True, exist_ok=True)
            self.lock = threading.Lock()
            self.model: Any = None
            self.task: Any = None
            self.history: Any = None
            self.device = ""
            self.steps: list[dict[str, float]] = []
            self.started = time.perf_counter()
            self.best: float | None = None
            self.kept = 0
            self.kept_state: dict[str, Any] | None = None
            self.kept_arrays: dict[str, Any] | None = None
            self.evaluated: tuple[int, dict[str, Any], Any] | None = None  # epoch, arrays, rows
            self.rows: list[dict[str, Any]] = []  # the epoch rows as of the last epoch's end

        def on_train_start(self, info):
            self.device = str(info.get("device", ""))

        def on_model(self, model):
            self.model = model

        def on_task(self, task):
            self.task = task

        def on_step(self, info):
            self.steps.append(info)

        def on_evaluate(self, epoch, arrays, data):
            self.evaluated = (epoch, arrays, data)
            if epoch == 0 and self.model is not None and self.kept_state is None:
                state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
                with self.lock:  # kept in memory only: a killed worker had learned nothing
                    self.kept_state, self.kept_arrays = state, arrays

        def _improves(self, info: dict[str, float], monitor: str) -> bool:
            if not monitor:
                return True
            value = info.get(f"val_{monitor}")
            if value is None or not math.isfinite(value):
                return False
            sign = -1.0 if monitor == "loss" else 1.0  # a loss is better lower
            if self.best is None or sign * value >= sign * self.best:
                self.best = float(value)
                return True
            return False

        def on_epoch_end(self, info, history):
            if self.model is None:
                return
            self.history = history
            epoch = int(info["epoch"])
            if self._improves(info, history.monitor):
                state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
                ev = self.evaluated
                with self.lock:
                    self.kept, self.kept_state = epoch, state
                    self.kept_arrays = ev[1] if ev is not None and ev[0] == epoch else None
                _write_atomically(self.path / CHECKPOINT_WEIGHTS, lambda f: torch.save(state, f))
            with self.lock:  # the rows up to this epoch: the trainer appends the next one early
                self.rows = [dict(r) for r in history.epochs if int(r["epoch"]) <= epoch]
            about = {
                "epoch": self.kept,
                "standardize": bool(config.train.standardize),  # as the training decided
                "epochs": history.epochs,
            }
            text = json.dumps(about).encode()
            _write_atomically(self.path / CHECKPOINT_INFO, lambda f: f.write(text))

        def _measure(self, arrays: dict[str, Any], data: Any) -> dict[str, float]:
            measure = getattr(self.task, "metrics_from", None)
            if measure is None or not arrays:
                return {}
            try:
                return dict(measure(arrays, data))
            except Exception:  # the run still saves, with its curves and weights
                traceback.print_exc()
                return {}

        def stopped_run(self, task: TrainTask) -> Outcome | None:
            """The job as a stopped run of the kept epoch's weights, made now from what this
            holds (None before an epoch was kept): its curves so far, its maps up to that
            epoch, and that epoch's validation metrics (those of the snapshot rows, as a
            run that ran out of memory while evaluating keeps)."""
            from fusion.experiment import RunResult
            from fusion.train import History, Snapshot

            with self.lock:
                kept, state, arrays = self.kept, self.kept_state, self.kept_arrays
                rows = [dict(r) for r in self.rows]
            h0, ev = self.history, self.evaluated
            if state is None or arrays is None or ev is None:
                return None
            kept_row = next((r for r in rows if int(r["epoch"]) == kept), {})
            if not any(k.startswith("val_") and k != "val_loss" for k in kept_row):
                # The per-epoch evaluation's time budget skipped the kept epoch's metrics:
                # measure its saved outputs on the same snapshot rows now (a second or less).
                measured = self._measure(arrays, ev[2])
                kept_row = {**kept_row, **{f"val_{k}": v for k, v in measured.items()}}
                rows = [kept_row if int(r["epoch"]) == kept else r for r in rows]
            snaps = [s for s in list(h0.snapshots) if s.epoch < kept] if h0 is not None else []
            h = History(
                device=self.device,
                device_reason=h0.device_reason if h0 is not None else "",
                status="stopped",
                epochs=rows,
                steps=list(self.steps),
                snapshots=[*snaps, Snapshot(kept, arrays)],
                seconds=time.perf_counter() - self.started,
                monitor=h0.monitor if h0 is not None else "",
                best_epoch=kept,
                best_value=self.best,
            )
            h.final_metrics = {k[4:]: v for k, v in kept_row.items() if k.startswith("val_")}
            during = int(rows[-1]["epoch"]) + 1 if rows else kept + 1
            h.say(SHUTDOWN_KEPT_KEY, epoch=during, kept=kept)
            rows_data = ev[2]  # the validation rows every snapshot was made on
            result = RunResult(
                config=task.config,
                history=h,
                metrics=dict(h.final_metrics),
                model=None,
                val=rows_data,
                data_source=dict(getattr(rows_data, "source", {}) or {}),
                modality_names=list(rows_data.names),
            )
            name, files = _run_files(result, task.run_name)
            buffer = io.BytesIO()
            torch.save(state, buffer)
            files[CHECKPOINT_WEIGHTS] = buffer.getvalue()  # a run's weights.pt
            return Outcome(summary=summary_of(result), name=name, files=files)

    return Checkpoint()


def _one_blas_thread_for(config: Any) -> contextlib.AbstractContextManager:
    """Linear CCA fits on one BLAS thread (idle OpenBLAS workers fight training threads)."""
    if config.method != "cca":
        return contextlib.nullcontext()
    return one_blas_thread()


def run_task(
    task: TrainTask,
    emit: Emit,
    stop_event: threading.Event,
    threads: int | None = None,
    checkpoint: Any = None,
) -> Outcome:
    """Train ``task`` here; report through ``emit``; return its :class:`Outcome`.

    ``checkpoint``: the task's :func:`_checkpoint` callback, when the caller wants to reach
    it while the task trains (a worker does); made here otherwise, when the task asks for one.

    Configuration and data errors come back as an outcome with ``error_key`` (a message
    for the user), never as an exception; a device out-of-memory error too.
    """
    import torch

    from fusion import registry
    from fusion.experiment import run_experiment

    if threads:
        torch.set_num_threads(threads)
    name_os_thread(THREAD_NAME)
    emit(WORKER, {"pid": os.getpid(), "host": socket.gethostname(), "threads": threads or 0})
    try:
        data = task.dataset()
        recorder = _recorder(emit)
        if task.folds:  # one fold of a cross-validation: its test outcomes, no run saved
            from fusion.folds import run_fold_task

            return run_fold_task(task, data, [recorder], stop_event)
        callbacks = [recorder, *_live_callbacks(task.config, emit, task.live_pace)]
        if checkpoint is None and task.checkpoint_dir:
            checkpoint = _checkpoint(task.checkpoint_dir, task.config)
        if checkpoint is not None:
            callbacks.append(checkpoint)
        with _one_blas_thread_for(task.config):
            result = run_experiment(data, task.config, callbacks, stop_event)
        recorder.flush()
        h = result.history
        if getattr(stop_event, "reason", "") == SHUTDOWN and h.status == "stopped":
            h.say(SHUTDOWN_KEY, epoch=h.message_params.get("epoch", h.completed_epochs + 1))
        outcome = Outcome(summary=summary_of(result))
        gradient_free = registry.METHODS[result.config.method].gradient_free  # cca, asis
        if task.save and (result.history.steps or gradient_free):
            _full_map(result, emit)
            outcome.name, outcome.files = _run_files(result, task.run_name)
        outcome.run_result = result if task.keep_result else None
        return outcome
    except FusionError as exc:
        return Outcome(error_key=exc.key, error_params=dict(exc.params))
    except Exception as exc:
        if is_oom(exc):  # the user's choice of size, not a bug: say what to change
            return Outcome(error_key="messages.jobs.out_of_memory")
        traceback.print_exc()
        return Outcome(
            error_key=FAILED_KEY,
            error_params={"error_type": exc.__class__.__name__, "error": str(exc)[:300]},
        )
    finally:
        name_os_thread(IDLE_NAME)


# Where each stage of the map of all validation rows starts and ends in its progress bar
# (UMAP's layout epochs take most of its time; the exact neighbours most of the rest).
_MAP_STAGES = {
    "embed": (0.0, 0.05),
    "neighbours": (0.05, 0.3),
    "graph": (0.3, 0.4),
    "layout": (0.4, 1.0),
    "pca": (0.05, 1.0),
    "done": (1.0, 1.0),
}


def _full_map(result: Any, emit: Emit) -> None:
    """Give a finished run whose snapshots leave validation rows out a map of all of them
    (:mod:`fusion.bigmap`), reporting ``map`` events: stage, fraction of the whole, points,
    seconds. A failure only costs the map: Explore then shows the snapshots' rows."""
    from fusion import bigmap
    from fusion.experiment import validation_embeddings

    h = result.history
    n_snap = None if h.snapshot_rows is None else len(h.snapshot_rows)
    if h.status != "finished" or not bigmap.needs_full_map(result.val.n, n_snap):
        return
    t0 = time.perf_counter()
    n_points = result.val.n * len(result.modality_names or [])
    sent = [0.0]

    def progress(stage: str, fraction: float) -> None:
        now = time.perf_counter()
        if stage == "layout" and 0.0 < fraction < 1.0 and now - sent[0] < 0.5:
            return  # at most two layout events a second
        sent[0] = now
        lo, hi = _MAP_STAGES.get(stage, (0.0, 1.0))
        emit(
            MAP_EVENT,
            {
                "stage": stage,
                "fraction": lo + (hi - lo) * float(fraction),
                "points": n_points,
                "seconds": now - t0,
            },
        )

    try:
        progress("embed", 0.0)
        emb = validation_embeddings(result)
        if emb is None and result.config.method == "asis":
            from fusion.pretrained import as_is_embeddings

            emb = as_is_embeddings(result.val, result.config.model.normalize)
        if not emb:
            return
        n_points = result.val.n * len(emb)
        frame, info = bigmap.map_frame(emb, result.val, progress, seed=result.config.train.seed)
        info["epoch"] = int(h.snapshots[-1].epoch) if h.snapshots else h.completed_epochs
        result.full_map = (frame, info)
    except Exception:
        traceback.print_exc()
        progress("done", 1.0)


def salvage_task(task: TrainTask, exitcode: Any, steps: list[dict[str, float]]) -> Outcome:
    """Save a job whose worker died as a stopped run, from its checkpoint.

    The checkpoint's weights are loaded into the model :func:`run_experiment` builds (same
    config, same split), with the stop event already set, so no step is taken: the run's
    metrics and map are those weights' on the validation rows. The curves are the epoch
    rows the checkpoint kept and ``steps`` (what the server received).
    """
    import torch

    from fusion.experiment import run_experiment
    from fusion.train import Callback, Snapshot

    folder = Path(task.checkpoint_dir)
    try:
        about = json.loads((folder / CHECKPOINT_INFO).read_text())
        state = torch.load(folder / CHECKPOINT_WEIGHTS, map_location="cpu", weights_only=True)
        kept = int(about["epoch"])
        config = copy.deepcopy(task.config)
        config.train.standardize = bool(about["standardize"])
        check_rows = config.train.standardize_check_rows
        config.train.standardize_check_rows = 0  # decided by the training: not measured again

        class Load(Callback):
            def on_model(self, model):
                model.load_state_dict(state)

        stop = StopEvent()
        stop.set()
        result = run_experiment(task.dataset(), config, [Load()], stop)
        config.train.standardize_check_rows = check_rows
        h = result.history
        arrays = h.snapshots[-1].arrays if h.snapshots else None
        h.snapshots = [Snapshot(kept, arrays)] if arrays is not None else []
        h.epochs, h.steps = list(about["epochs"]), list(steps)
        h.status, h.best_epoch = "stopped", kept
        h.say(WORKER_DIED_KEPT_KEY, code=exitcode, epoch=h.completed_epochs + 1, kept=kept)
        outcome = Outcome(summary=summary_of(result))
        outcome.name, outcome.files = _run_files(result, task.run_name)
        return outcome
    except Exception:  # the job then fails as it would have without a checkpoint
        traceback.print_exc()
        return Outcome(error_key=WORKER_DIED_KEY, error_params={"code": exitcode})


def _run_files(result: Any, name: str | None) -> tuple[str, dict[str, bytes]]:
    """Save ``result`` as a run in a temporary folder and return (its name, its files)."""
    from fusion.runs import save_run

    with tempfile.TemporaryDirectory(prefix="fusion-run-") as tmp:
        path = save_run(result, root=tmp, name=name)
        files = {
            str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
        }
        return path.name, files


# ---------------------------------------------------------------------------
# A local pool's worker process


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the server that spawned it dies (best effort)."""
    try:
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        name_os_thread(IDLE_NAME)
    except (OSError, AttributeError):
        pass


def _warm_projection() -> None:
    """Start the live map's projection process, which compiles UMAP once per worker
    (seconds), so a task's first live frame need not wait; without one, compile here."""
    with contextlib.suppress(Exception):
        from fusion import projector

        if not projector.start():
            projector.prepare_thread()  # niced: the first training comes first


def _niced(fn: Callable[[], Any]) -> Any:
    """``fn()`` in a thread of lowered priority, its result or its error here.

    A worker starts with the server, while the first visitor's page is being made: on a
    small machine its seconds of imports (torch, the trainer) would take a core from that
    page. Nice is per thread on Linux, so the thread that trains keeps its normal priority.
    """
    from fusion.projection import lower_priority

    out: dict[str, Any] = {}

    def call() -> None:
        lower_priority()
        try:
            out["value"] = fn()
        except BaseException as exc:  # raised again in the calling thread
            out["error"] = exc

    thread = threading.Thread(target=call, name="fusion-load", daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _import_trainer() -> None:
    import fusion.experiment  # noqa: F401  (warm: the first task starts at once)


def worker_main(conn: Any, parent_pid: int) -> None:
    """A local worker process: load torch, say ready, train tasks until the pipe closes.

    The messages both ways are :mod:`fusion.jobs.protocol`'s (``RUN``, ``SALVAGE``, ``STOP``,
    ``EXIT`` from the server; ``READY``, ``EVENTS``, ``DONE`` to it).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server drives the shutdown
    _die_with_parent()
    if os.getppid() != parent_pid:  # the server died while this process was starting
        os._exit(0)
    send_lock = threading.Lock()

    def send(msg: tuple) -> None:
        with send_lock:
            conn.send(msg)

    send((READY, {"pid": os.getpid(), **_niced(device_info)}))
    _niced(_import_trainer)

    threading.Thread(target=_warm_projection, name="fusion-warm-umap", daemon=True).start()

    tasks: queue.Queue = queue.Queue()
    stops: dict[str, StopEvent] = {}
    answer = threading.Lock()  # one "done" per job: from the task's end or from a shutdown
    current: dict[str, Any] = {"job": None}  # the task training now, its checkpoint, answered

    def answer_at_once(job_id: str) -> None:
        """The server shuts down: send the job's stopped run from its checkpoint now."""
        with answer:
            if current["job"] != job_id or current["checkpoint"] is None or current["answered"]:
                return
            try:
                outcome = current["checkpoint"].stopped_run(current["task"])
            except Exception:  # the task's own end answers then
                traceback.print_exc()
                return
            if outcome is not None:
                current["answered"] = True
                send((DONE, job_id, outcome))

    def listen() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the server is gone: nothing left to train for
                os._exit(0)
            if msg[0] in (RUN, SALVAGE):
                stops.setdefault(msg[1], StopEvent())
                tasks.put(msg)
            elif msg[0] == STOP:
                reason = msg[2] if len(msg) > 2 else ""
                stops.setdefault(msg[1], StopEvent()).stop(reason)
                if reason == SHUTDOWN:
                    answer_at_once(msg[1])
            elif msg[0] == EXIT:
                if current["job"] is not None:  # its end is not awaited any more
                    _end_projection()
                    os._exit(0)
                tasks.put(None)
                return

    threading.Thread(target=listen, name="fusion-listen", daemon=True).start()
    while (item := tasks.get()) is not None:
        kind, job_id, task, *rest = item

        def emit(kind: str, payload: Any, job_id: str = job_id) -> None:
            send((EVENTS, job_id, [(kind, payload)]))

        checkpoint = None
        if kind == RUN and task.checkpoint_dir:
            checkpoint = _checkpoint(task.checkpoint_dir, task.config)
        with answer:
            current.update(job=job_id, task=task, checkpoint=checkpoint, answered=False)
        if kind == SALVAGE:
            outcome = salvage_task(task, *rest)
        else:
            outcome = run_task(task, emit, stops[job_id], *rest, checkpoint=checkpoint)
        with answer:
            if not current["answered"]:
                send((DONE, job_id, outcome))
            current.update(job=None, task=None, checkpoint=None)
        stops.pop(job_id, None)
    conn.close()
    _end_projection()


def _end_projection() -> None:
    """End this worker's projection process, reaped here (not left to notice its parent
    is gone)."""
    with contextlib.suppress(Exception):
        from fusion import projector

        projector.shutdown()


if __name__ == "__main__":  # python -m fusion.worker <socket fd> <server pid>
    from fusion.child import child_args

    worker_main(*child_args())
