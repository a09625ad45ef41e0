"""Evaluate methods on one labelled data set by k-fold cross-validation, each fold a job.

:func:`evaluate` trains every chosen method (:func:`method_choices`: attention, the early,
late and single-modality classifiers, one per modality for ``single``, and the joint
embedding with its linear probe) on each of ``folds`` folds of
:func:`fusion.data.cross_validation_roles`: in fold k the test rows are the k-th part,
never seen by the model tested on them; validation rows, drawn from the other parts, do
every choosing (early stopping, the standardisation check, the baseline to set against).
Each (method, fold) is a :class:`~fusion.jobs.TrainingJob` whose task carries
``fold``/``folds`` (:func:`fusion.folds.run_fold_task`, in the worker): the folds fan out over the
executor (worker processes, threads or Ray actors) and run in parallel, up to
``parallel`` at once.

Each method's score is pooled over every test row of its finished folds: accuracy (a
joint embedding: its linear probe's accuracy, mean over modalities) ``s = 1/N sum_i s_i``,
which is the mean over folds weighted by their test rows, with a 95 % interval of that
mean: Clopper-Pearson (Clopper & Pearson 1934) for 0/1 outcomes, else the percentile
interval of a seeded bootstrap over rows. Each method is set against the logistic
baseline with the best validation accuracy summed over its folds (as
:func:`fusion.experiment.pool_folds` does), paired on the same test rows
(:func:`fusion.verdicts.compare`). The logistic baselines themselves, fitted in every
fold, are rows of the table too.

A stop (``stop_event``) ends the folds still training and never starts the rest; the
folds that finished are kept and every score says how many folds it rests on.
:func:`save_evaluation` writes ``<runs folder>/evaluations/<name>/evaluation.json`` and
``table.csv``.

Torch-free at import (the worker side, :mod:`fusion.folds`, imports it when called);
no streamlit.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion import baselines, registry
from fusion import verdicts as verdicts_
from fusion.config import RunConfig, default_config
from fusion.data import PairedData
from fusion.errors import DataError, FusionError
from fusion.folds import FoldOutcome, fold_roles
from fusion.i18n import DEFAULT_LANGUAGE, translate
from fusion.runs import EVALUATIONS, json_default, runs_root, safe_name

FILE = "evaluation.json"
TABLE = "table.csv"
DEFAULT_FOLDS = 5
POLL_S = 0.2
KEPT_STATUSES = ("finished", "diverged")  # a fold that ended on its own (kept weights)
LOGISTIC = "logistic"  # the method name of the logistic baselines' rows


def method_choices() -> tuple[str, ...]:
    """The methods an evaluation can train: the registry's trained methods."""
    return tuple(m for m, spec in registry.METHODS.items() if not spec.gradient_free)


# ---------------------------------------------------------------------------------------
# What an evaluation trains


@dataclass
class Arm:
    """One method as evaluated: its key in the table ("single:<m>" per modality)."""

    key: str
    method: str
    modality: str
    config: RunConfig


def arms_for(
    data: PairedData, methods: Sequence[str], epochs: int | None = None, seed: int = 0
) -> list[Arm]:
    """The configs an evaluation trains: each method's defaults (``epochs`` if given), the
    joint embedding with its default loss, ``single`` once per modality; no maps kept."""
    unknown = [m for m in methods if m not in method_choices()]
    if unknown or not methods:
        raise DataError(
            "errors.evaluate.unknown_methods",
            methods=", ".join(unknown) or "–",
            choices=", ".join(method_choices()),
        )
    out: list[Arm] = []
    for method in dict.fromkeys(methods):
        train: dict[str, Any] = {"seed": seed, "n_snapshots": 0}
        if epochs is not None:
            train["epochs"] = epochs
        for modality in data.names if method == "single" else [""]:
            cfg = default_config(method, **train)
            if modality:
                cfg.model.modality = modality
            key = f"{method}:{modality}" if modality else method
            cfg.name = key
            out.append(Arm(key, method, modality, cfg))
    return out


# ---------------------------------------------------------------------------------------
# Scores, intervals, the table


def score_interval(
    outcomes: np.ndarray, level: float = verdicts_.LEVEL, seed: int = 0
) -> list[float]:
    """95 % interval of the mean of per-row outcomes: Clopper-Pearson for 0/1 outcomes,
    else a seeded percentile bootstrap over rows."""
    x = np.asarray(outcomes, dtype=np.float64)
    n = len(x)
    if n == 0:
        return [math.nan, math.nan]
    alpha = 1.0 - level
    if np.isin(x, (0.0, 1.0)).all():
        from scipy.stats import beta

        k = int(x.sum())
        lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
        return [lo, hi]
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, n, size=(verdicts_.BOOTSTRAP_RESAMPLES, n))].mean(1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return [float(lo), float(hi)]


@dataclass
class Score:
    """One row of an evaluation's table.

    key: "attention", "single:<m>", "logistic:concat", "logistic:<m>"; method: the
    registry's method or "logistic"; modality: for one-modality rows; metric: "accuracy"
    or "linear_probe_accuracy"; score: mean over every test row of the folds it rests on
    (``folds`` of ``folds_total``), with ``interval``; verdict: against the chosen
    logistic baseline (a :class:`~fusion.verdicts.Verdict` as a dict; None for the
    baselines); chosen: this baseline was picked on validation rows; error_key /
    error_params: why a method has no score (every fold failed).
    """

    key: str
    method: str
    modality: str
    metric: str
    score: float
    interval: list[float]
    test_rows: int
    folds: int
    folds_total: int
    fold_scores: list[float] = field(default_factory=list)
    verdict: dict[str, Any] | None = None
    chosen: bool = False
    error_key: str = ""
    error_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    """An evaluation's result: the table's rows and what they rest on."""

    name: str
    data: str  # the data set, described in English
    n: int  # rows in the data
    folds: int  # folds asked for
    seed: int
    epochs: int | None
    methods: list[str]
    scores: list[Score]
    stopped: bool = False
    executor: str = ""
    seconds: float = 0.0
    created: str = ""
    # Every fold job as it ended: method, fold, status ("finished", "stopped", "failed",
    # "cancelled"), and for trained ones the pid and wall-clock start and end.
    jobs: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""  # its folder, once saved

    @property
    def folds_done(self) -> int:
        """The fewest folds any trained method rests on (the table's weakest row)."""
        trained = [s.folds for s in self.scores if s.method != LOGISTIC]
        return min(trained) if trained else 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("path")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "") -> Evaluation:
        scores = [Score(**s) for s in d.get("scores", [])]
        fields_ = {k: d[k] for k in cls.__dataclass_fields__ if k in d and k != "scores"}
        return cls(**{**fields_, "scores": scores, "path": path})

    def table(self) -> pd.DataFrame:
        """The table as plain columns (what ``table.csv`` holds)."""
        rows = []
        for s in self.scores:
            v = verdicts_.Verdict.from_dict(s.verdict)
            rows.append(
                {
                    "method": s.key,
                    "metric": s.metric,
                    "score": s.score,
                    "low": s.interval[0],
                    "high": s.interval[1],
                    "test_rows": s.test_rows,
                    "folds": s.folds,
                    "folds_total": s.folds_total,
                    "verdict": v.outcome if v else ("chosen baseline" if s.chosen else ""),
                    "against": v.against if v else "",
                    "difference": v.difference if v else math.nan,
                    "difference_low": v.interval[0] if v else math.nan,
                    "difference_high": v.interval[1] if v else math.nan,
                }
            )
        return pd.DataFrame(rows)


def row_label(s: Score, lang: str = DEFAULT_LANGUAGE) -> str:
    """A table row's name in ``lang``: the method (with its modality), or the baseline."""
    if s.method == LOGISTIC:
        what = s.key.split(":", 1)[1]
        return translate("evaluate.logistic", lang, what=baselines.baseline_label(what, lang))
    name = translate(f"common.method_labels.{s.method}", lang)
    return (
        translate("evaluate.with_modality", lang, name=name, m=s.modality) if s.modality else name
    )


def _pool(folds: list[FoldOutcome], key: str) -> np.ndarray:
    return np.concatenate([f.outcomes[key] for f in folds]) if folds else np.zeros(0)


def score_arm(arm: Arm, folds: list[FoldOutcome], total: int, seed: int) -> Score:
    """A trained method's row: its pooled score, interval and verdict."""
    metric, outcome = (
        ("linear_probe_accuracy", "probe")
        if registry.LOSSES[arm.config.loss].family == "joint"
        else ("accuracy", "run")
    )
    folds = [f for f in folds if outcome in f.outcomes]
    s = _pool(folds, outcome)
    score = Score(
        arm.key,
        arm.method,
        arm.modality,
        metric,
        float(s.mean()) if len(s) else math.nan,
        score_interval(s, seed=seed),
        len(s),
        len(folds),
        total,
        [float(f.outcomes[outcome].mean()) for f in folds],
    )
    keys = [k[5:] for k in (folds[0].outcomes if folds else {}) if k.startswith("base:")]
    keys = [k for k in keys if all(f"base:{k}" in f.outcomes for f in folds)]
    if keys:
        val = {k: _Val(sum(f.val_scores.get(k, 0.0) for f in folds)) for k in keys}
        best = baselines.pick(val)
        v = verdicts_.compare(s, _pool(folds, f"base:{best}"), best, metric, seed)
        score.verdict = v.to_dict()
    return score


@dataclass
class _Val:
    val_accuracy: float


def score_baselines(by_fold: dict[int, FoldOutcome], total: int, seed: int) -> list[Score]:
    """The logistic baselines' rows, from one finished fold result per fold; the one with
    the best validation accuracy summed over those folds is marked ``chosen``."""
    folds = [by_fold[k] for k in sorted(by_fold)]
    if not folds:
        return []
    keys = [k[5:] for k in folds[0].outcomes if k.startswith("base:")]
    keys = [k for k in keys if all(f"base:{k}" in f.outcomes for f in folds)]
    if not keys:
        return []
    best = baselines.pick({k: _Val(sum(f.val_scores.get(k, 0.0) for f in folds)) for k in keys})
    rows = []
    for k in sorted(keys, key=lambda k: (k != "concat", keys.index(k))):
        s = _pool(folds, f"base:{k}")
        rows.append(
            Score(
                f"{LOGISTIC}:{k}",
                LOGISTIC,
                "" if k == "concat" else k,
                "accuracy",
                float(s.mean()),
                score_interval(s, seed=seed),
                len(s),
                len(folds),
                total,
                [float(f.outcomes[f"base:{k}"].mean()) for f in folds],
                chosen=k == best,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------
# Running one


@dataclass
class MethodProgress:
    done: int = 0  # folds finished
    total: int = 0
    running: int = 0
    failed: int = 0


@dataclass
class EvaluationProgress:
    """Folds done out of the total, and per method (``methods``: key -> progress)."""

    done: int = 0
    total: int = 0
    running: int = 0
    failed: int = 0
    methods: dict[str, MethodProgress] = field(default_factory=dict)
    state: str = "running"  # running | stopping | done


def check_evaluation(data: PairedData, arms: list[Arm], folds: int) -> None:
    """Refuse, before any work, what an evaluation cannot do (a clear message)."""
    if data.labels is None:
        raise DataError("errors.evaluate.needs_labels")
    for arm in arms:
        arm.config.validate(data)
    fold_roles(data, folds, arms[0].config)


def evaluate(
    data: PairedData,
    methods: Sequence[str],
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    executor: Any = None,
    on_progress: Callable[[EvaluationProgress], None] | None = None,
    stop_event: threading.Event | None = None,
    epochs: int | None = None,
    parallel: int | None = None,
    name: str = "",
) -> Evaluation:
    """Cross-validate ``methods`` on ``data`` (see the module docstring).

    ``executor``: an executor or its name (default ``FUSION_EXECUTOR``, else ``local``);
    ``parallel``: folds training at once (default ``FUSION_MAX_TRAININGS``);
    ``on_progress``: called with an :class:`EvaluationProgress` whenever a fold starts or
    ends; ``stop_event``: set it to stop (finished folds are kept). Bad input raises a
    :class:`~fusion.errors.FusionError` before any training.
    """
    from fusion import jobs

    arms = arms_for(data, methods, epochs, seed)
    check_evaluation(data, arms, folds)
    ex = jobs.get_executor(executor)
    parallel = max(1, parallel or jobs.MAX_CONCURRENT)
    stop_event = stop_event or threading.Event()
    t0 = time.perf_counter()
    # Fold-major order: a stopped evaluation has about as many folds of every method.
    pending = [(arm, k) for k in range(folds) for arm in arms]
    running: list[tuple[Arm, int, Any]] = []
    ended: list[tuple[Arm, int, Any]] = []
    progress = EvaluationProgress(
        total=len(pending), methods={a.key: MethodProgress(total=folds) for a in arms}
    )

    def report() -> None:
        for mp in progress.methods.values():
            mp.running = 0
        for arm, _, _ in running:
            progress.methods[arm.key].running += 1
        progress.running = len(running)
        if on_progress is not None:
            on_progress(copy.deepcopy(progress))

    report()
    while pending or running:
        if stop_event.is_set() and progress.state == "running":
            progress.state = "stopping"
            pending.clear()
            for _, _, job in running:
                job.stop()
            report()
        changed = False
        while pending and len(running) < parallel:
            arm, k = pending.pop(0)
            task = jobs.TrainTask(copy.deepcopy(arm.config), data, save=False, fold=k, folds=folds)
            job = jobs.TrainingJob(task=task, executor=ex)
            try:
                job.start()
            except FusionError as exc:  # refused: counted as a failed fold
                job.error_key, job.error_params = exc.key, dict(exc.params)
                ended.append((arm, k, job))
                progress.methods[arm.key].failed += 1
                progress.failed += 1
                continue
            running.append((arm, k, job))
            changed = True
        for item in list(running):
            arm, k, job = item
            if job.running:
                continue
            running.remove(item)
            ended.append(item)
            changed = True
            mp = progress.methods[arm.key]
            if _kept(job):
                mp.done += 1
                progress.done += 1
            elif job.error_key:
                mp.failed += 1
                progress.failed += 1
        if changed:
            report()
        if running:
            running[0][2].join(POLL_S)
    progress.state = "done"
    report()
    # Stopped: by the caller, or fold jobs stopped from outside (a server shutting down).
    stopped = stop_event.is_set() or any(
        not _kept(job) and not job.error_key for _, _, job in ended
    )
    return _result(data, arms, ended, folds, seed, epochs, stopped, ex, t0, name)


def _kept(job: Any) -> bool:
    fold = getattr(job, "fold", None)
    return fold is not None and fold.status in KEPT_STATUSES


def _result(data, arms, ended, folds, seed, epochs, stopped, ex, t0, name) -> Evaluation:
    by_arm: dict[str, list[FoldOutcome]] = {a.key: [] for a in arms}
    errors: dict[str, Any] = {}
    base_folds: dict[int, FoldOutcome] = {}
    log = []
    for arm, k, job in ended:
        fold = getattr(job, "fold", None)
        status = fold.status if fold is not None else ("failed" if job.error_key else "cancelled")
        entry: dict[str, Any] = {"method": arm.key, "fold": k, "status": status}
        if fold is not None:
            entry.update(pid=fold.pid, started=fold.started, ended=fold.ended)
        log.append(entry)
        if _kept(job):
            by_arm[arm.key].append(job.fold)
            # The baselines' rows: a classifier's fold first (its standardisation rule).
            prefer = registry.LOSSES[arm.config.loss].family != "joint"
            if k not in base_folds or (prefer and base_folds[k].outcomes.get("probe") is not None):
                base_folds[k] = job.fold
        elif job.error_key:
            errors.setdefault(arm.key, job)
    scores = []
    for arm in arms:
        fs = sorted(by_arm[arm.key], key=lambda f: f.fold)
        s = score_arm(arm, fs, folds, seed)
        if not fs and arm.key in errors:
            s.error_key, s.error_params = errors[arm.key].error_key, errors[arm.key].error_params
        scores.append(s)
    scores += score_baselines(base_folds, folds, seed)
    return Evaluation(
        name=name or default_name(data, folds, seed),
        data=data.describe(),
        n=data.n,
        folds=folds,
        seed=seed,
        epochs=epochs,
        methods=[a.key for a in arms],
        scores=scores,
        stopped=stopped,
        executor=getattr(ex, "name", str(ex)),
        seconds=time.perf_counter() - t0,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        jobs=sorted(log, key=lambda e: (e["fold"], e["method"])),
    )


def default_name(data: PairedData, folds: int, seed: int) -> str:
    """``<data>-<k>fold-s<seed>``: the data's generator or first file's stem."""
    src = data.source or {}
    files = src.get("files") or []
    what = src.get("generator") or (Path(str(files[0])).stem if files else src.get("name"))
    return safe_name(f"{what or 'data'}-{folds}fold-s{seed}")


class EvaluationRun:
    """An evaluation running in a thread of this process: poll :meth:`progress`, call
    :meth:`stop`; ``result`` (an :class:`Evaluation`, saved under ``root`` when given) or
    ``error_key``/``error_params`` once it has ended."""

    def __init__(self, data: PairedData, methods: Sequence[str], root: Any = None, **kw: Any):
        self.stop_event = threading.Event()
        self.result: Evaluation | None = None
        self.error_key, self.error_params = "", {}
        self._progress = EvaluationProgress()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(data, list(methods), root, kw),
            name="fusion-evaluate",
            daemon=True,
        )

    def start(self) -> EvaluationRun:
        self._thread.start()
        return self

    def _on_progress(self, p: EvaluationProgress) -> None:
        with self._lock:
            self._progress = p

    def _run(self, data, methods, root, kw) -> None:
        try:
            ev = evaluate(
                data, methods, on_progress=self._on_progress, stop_event=self.stop_event, **kw
            )
            if root is not None:
                save_evaluation(ev, root)
            self.result = ev
        except FusionError as exc:
            self.error_key, self.error_params = exc.key, dict(exc.params)
        except OSError as exc:  # the workspace's disk
            self.error_key, self.error_params = (
                "errors.runs.write_failed",
                {"error": str(exc)[:200]},
            )
        except Exception as exc:  # never leave the page waiting forever
            self.error_key = "messages.jobs.failed_unexpectedly"
            self.error_params = {"error_type": exc.__class__.__name__, "error": str(exc)[:300]}
        finally:
            self._done.set()

    def progress(self) -> EvaluationProgress:
        with self._lock:
            return copy.deepcopy(self._progress)

    @property
    def running(self) -> bool:
        return self._thread.ident is not None and not self._done.is_set()

    def stop(self) -> None:
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end (True when it has ended). An event, not ``Thread.join``: a
        Ctrl-C that interrupts ``Thread.join`` can leave the thread marked as ended on
        Python 3.11 while it still runs."""
        return self._done.wait(timeout)


# ---------------------------------------------------------------------------------------
# On disk


def evaluations_root(runs_folder: str | os.PathLike | None = None) -> Path:
    """Where evaluations are saved: ``evaluations`` inside the runs folder."""
    return runs_root(runs_folder) / EVALUATIONS


def save_evaluation(ev: Evaluation, runs_folder: str | os.PathLike | None = None) -> Path:
    """Write ``ev`` as ``evaluations/<name>/`` (``-2``, ``-3``… when taken): ``evaluation.json``
    and ``table.csv``. Sets ``ev.path``."""
    root = evaluations_root(runs_folder)
    root.mkdir(parents=True, exist_ok=True)
    base = safe_name(ev.name)
    path, k = root / base, 2
    while path.exists():
        path, k = root / f"{base}-{k}", k + 1
    tmp = root / f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}"
    tmp.mkdir()
    ev.name = path.name
    (tmp / FILE).write_text(
        json.dumps(ev.to_dict(), indent=2, ensure_ascii=False, default=json_default),
        encoding="utf-8",
    )
    ev.table().to_csv(tmp / TABLE, index=False)
    tmp.rename(path)
    ev.path = str(path)
    return path


def load_evaluation(path: str | os.PathLike) -> Evaluation:
    """A saved evaluation; a missing or unreadable one raises DataError."""
    p = Path(path)
    try:
        d = json.loads((p / FILE).read_text(encoding="utf-8"))
        return Evaluation.from_dict(d, str(p))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DataError("errors.evaluate.unreadable", name=p.name, error=str(exc)[:200]) from None


def list_evaluations(runs_folder: str | os.PathLike | None = None) -> list[Evaluation]:
    """The saved evaluations, newest first (unreadable ones left out)."""
    root = evaluations_root(runs_folder)
    out = []
    for p in root.iterdir() if root.is_dir() else ():
        if p.is_dir() and not p.name.startswith("."):
            try:
                out.append(load_evaluation(p))
            except DataError:
                continue
    return sorted(out, key=lambda e: (e.created, e.name), reverse=True)
