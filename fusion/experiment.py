"""One experiment end to end: a config, data in, a trained model, history and metrics out.

:class:`RunConfig` names the method and holds that method's small config
(:class:`~fusion.models.JointConfig`, :class:`~fusion.models.AttentionConfig`,
:class:`~fusion.models.BaselineConfig` or :class:`CCAConfig`) plus the
:class:`~fusion.train.TrainConfig`. :func:`run_experiment` validates it against
the data before any work, splits the data (seeded), builds the model and its
:class:`~fusion.train.Task`, calls :func:`fusion.train.fit` and returns a
:class:`RunResult`. On labelled data it then adds logistic-regression baselines fitted on
the same split (:mod:`fusion.baselines`) to the metrics. The dashboard's worker, the
lessons and ``python -m fusion train`` all call it.

Methods:
- ``joint``: joint embedding learning with a contrastive or alignment loss;
- ``attention``: attention fusion classifier;
- ``early`` / ``late`` / ``single``: classification baselines;
- ``cca``: linear CCA (Hotelling 1936; scikit-learn), the classical joint embedding.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.cross_decomposition import CCA
from torch import nn

from fusion import baselines, losses, metrics, registry, shared_space
from fusion import verdicts as verdicts_
from fusion.config import DEFAULT_BATCH_SIZE, RunConfig, default_config, monitored_metric
from fusion.data import PairedData, plan_roles
from fusion.models import input_stats
from fusion.runtime import is_oom, one_blas_thread
from fusion.train import (
    Callback,
    History,
    Snapshot,
    TensorData,
    fit,
    resolve_device,
)

# RunConfig and default_config live in fusion.config (no torch); importable from here too.
__all__ = [
    "JointTask",
    "ClassifyTask",
    "RunConfig",
    "RunResult",
    "attention_frame",
    "build_model",
    "default_config",
    "embeddings_frame",
    "run_cca",
    "run_experiment",
]

PROBE_TRAIN_ROWS = 5000  # the final linear probe is fitted on at most this many training rows
EVAL_CHUNK = 8192  # forward passes during evaluation run in chunks of this many rows


# ---------------------------------------------------------------------------
# Tasks


def _forward_chunks(model: nn.Module, data: TensorData):
    """Model outputs on ``data`` in chunks of EVAL_CHUNK rows (bounded memory on large data)."""
    for start in range(0, data.n, EVAL_CHUNK):
        yield model({k: v[start : start + EVAL_CHUNK] for k, v in data.inputs.items()})


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


class JointTask:
    """Joint embedding: a pairwise loss over all modality pairs; retrieval metrics on validation.

    Deep CCA's network outputs share no coordinates across modalities; its metrics and
    snapshots are taken after the method's last step, a linear CCA fitted on (at most
    PROBE_TRAIN_ROWS seeded) training rows at every evaluation (:mod:`fusion.shared_space`).
    The last fitted projection is kept as ``projection`` and saved with the run.
    """

    def __init__(self, loss: str, params: dict[str, Any], train: TensorData | None = None):
        self.loss_name = loss
        self.spec = registry.LOSSES[loss]
        self.params = {**{k: p.default for k, p in self.spec.params.items()}, **params}
        self.fn = self.spec.fn
        self.train_data = train
        self.monitor = monitored_metric("joint", loss)  # what early stopping watches
        self.projection: shared_space.CCAProjection | None = None
        self._train_rows: TensorData | None = None

    def loss(self, model, inputs, labels):
        """A training step's loss parts (:meth:`objective`; tests inject faults here)."""
        return self.objective(model, inputs, labels)

    def objective(self, model, inputs, labels):
        """The loss's parts on a batch; early stopping watches it on validation rows."""
        emb = model(inputs)
        kw = dict(self.params)
        if self.spec.uses_temperature:
            kw["temperature"] = model.temperature
            kw["normalize"] = False  # the model decides (JointConfig.normalize)
        if self.spec.uses_labels:
            kw["labels"] = labels
        return losses.pairwise(self.fn, emb, **kw)

    def embed(self, model, data: TensorData) -> dict[str, np.ndarray]:
        chunks = [{k: _np(v) for k, v in out.items()} for out in _forward_chunks(model, data)]
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}

    def _probe_rows(self) -> TensorData:
        """The training rows for the probe and the CCA step: at most PROBE_TRAIN_ROWS, seeded."""
        if self._train_rows is None:
            tr = self.train_data
            assert tr is not None, "JointTask needs its training data to fit on"
            if tr.n > PROBE_TRAIN_ROWS:
                rows = np.random.default_rng(0).choice(tr.n, PROBE_TRAIN_ROWS, replace=False)
                tr = TensorData.from_paired(
                    tr.data.subset(np.sort(rows)), next(iter(tr.inputs.values())).device
                )
            self._train_rows = tr
        return self._train_rows

    def live_arrays(self, model, data: TensorData) -> dict[str, np.ndarray]:
        """The embeddings alone, for a live frame within an epoch (no metrics; Deep CCA
        through the projection fitted at the last evaluation, none is refitted here)."""
        emb = self.embed(model, data)
        if self.spec.cca_step and self.projection is not None:
            emb = self.projection.transform(emb)
        return {f"emb:{k}": v for k, v in emb.items()}

    @staticmethod
    def _metrics(emb: dict[str, np.ndarray], data: PairedData, kw: dict[str, Any]):
        # Ties count as broken at random, so collapsed embeddings score chance, not a perfect 1.0.
        m = metrics.joint_metrics(emb, data.labels, ties="random", **kw)
        m["retrieval_rows"] = float(metrics.retrieval_rows(data.n))  # ranked rows (subsample)
        return m

    def metrics_from(self, arrays: dict[str, np.ndarray], data: PairedData) -> dict[str, float]:
        """An epoch's metrics from its snapshot outputs ``arrays`` on the snapshot rows
        ``data`` (what :meth:`evaluate` measures there, the learned temperature aside): for
        an epoch the time budget left unmeasured whose weights a stopped run keeps."""
        emb = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
        return self._metrics(emb, data, {})

    def evaluate(self, model, data: TensorData, final: bool = False, with_metrics: bool = True):
        """Metrics and snapshot outputs; ``with_metrics=False``: the outputs alone (the
        per-epoch evaluation over its time budget, see :mod:`fusion.train`)."""
        emb = self.embed(model, data)
        labels = data.data.labels
        kw: dict[str, Any] = {}
        train_emb = None
        if self.spec.cca_step and self.train_data is not None:
            train_emb = self.embed(model, self._probe_rows())
            self.projection = shared_space.fit_cca(train_emb, eps=self.params["eps"])
            emb = self.projection.transform(emb)
            train_emb = self.projection.transform(train_emb)
        if not with_metrics:
            return {}, {f"emb:{k}": v for k, v in emb.items()}
        if final and labels is not None and self.train_data is not None:
            tr = self._probe_rows()
            if train_emb is None:
                train_emb = self.embed(model, tr)
            kw = {"train_embeddings": train_emb, "train_labels": tr.data.labels}
        m = self._metrics(emb, data.data, kw)
        if self.spec.uses_temperature:
            m["temperature"] = float(model.temperature)
        arrays = {f"emb:{k}": v for k, v in emb.items()}
        if kw:  # the probe's prediction per row, for the paired verdict (fusion.verdicts)
            for name, z in emb.items():
                arrays[f"probe_pred:{name}"] = metrics.probe_predictions(
                    kw["train_embeddings"][name], kw["train_labels"], z
                )
        return m, arrays


class ClassifyTask:
    """Attention fusion and the classification baselines: cross-entropy; accuracy and attention stats."""

    def __init__(self, n_classes: int, names: Sequence[str], entropy_weight: float = 0.0):
        self.n_classes = n_classes
        self.names = list(names)
        self.entropy_weight = entropy_weight
        self.monitor = monitored_metric("attention", "cross_entropy")  # i.e. accuracy

    def loss(self, model, inputs, labels):
        out = model(inputs)
        return losses.cross_entropy(out.logits, labels, out.weights, self.entropy_weight)

    def evaluate(self, model, data: TensorData, final: bool = False, with_metrics: bool = True):
        """Accuracy and attention statistics, and the snapshot outputs; ``with_metrics=False``:
        the outputs alone (the per-epoch evaluation over its budget, see :mod:`fusion.train`)."""
        outs = [out for out in _forward_chunks(model, data)]
        logits = np.concatenate([_np(o.logits) for o in outs])
        pred = logits.argmax(1)
        arrays: dict[str, np.ndarray] = {"pred": pred, **self._arrays(outs)}
        if not with_metrics:
            return {}, arrays
        return self.metrics_from(arrays, data.data), arrays

    def metrics_from(self, arrays: dict[str, np.ndarray], data: PairedData) -> dict[str, float]:
        """Accuracy and attention statistics from snapshot outputs ``arrays`` (``pred``,
        ``weights``) on the rows ``data``: what :meth:`evaluate` measures from them."""
        m = metrics.classification(data.labels, arrays["pred"], self.n_classes)
        if "weights" in arrays:
            w = arrays["weights"]
            for j, name in enumerate(self.names):
                m[f"attention_mean_{name}"] = float(w[:, j].mean())
            if data.mask is not None:
                m.update(metrics.attention_mask_agreement(w, data.mask))
        return m

    def live_arrays(self, model, data: TensorData) -> dict[str, np.ndarray]:
        """Attention weights and embeddings alone, for a live frame within an epoch."""
        return self._arrays(list(_forward_chunks(model, data)))

    def _arrays(self, outs: list[Any]) -> dict[str, np.ndarray]:
        """The outputs' attention weights (per modality, per head) and shared-space points."""
        arrays: dict[str, np.ndarray] = {}
        if outs[0].weights is not None:
            arrays["weights"] = np.concatenate([_np(o.weights) for o in outs])
        if outs[0].head_weights is not None:
            arrays["head_weights"] = np.concatenate([_np(o.head_weights) for o in outs])
        if outs[0].tokens is not None:
            tokens = np.concatenate([_np(o.tokens) for o in outs])  # (n, M, D)
            for j, name in enumerate(self.names):
                arrays[f"emb:{name}"] = tokens[:, j]
        elif outs[0].fused is not None:
            arrays["emb:fused"] = np.concatenate([_np(o.fused) for o in outs])
        return arrays


# ---------------------------------------------------------------------------
# Running


@dataclass
class RunResult:
    config: RunConfig
    history: History
    metrics: dict[str, float]  # measured on the test rows (see run_experiment)
    model: nn.Module | None
    val: PairedData  # the validation split; snapshots hold rows ``history.snapshot_rows`` of it
    data_source: dict[str, Any] = field(default_factory=dict)
    modality_names: list[str] = field(default_factory=list)
    # Deep CCA: the shared space its metrics and snapshots are in (fitted on training rows).
    projection: shared_space.CCAProjection | None = None
    # The paired verdicts against the baselines (fusion.verdicts.Verdict.to_dict), saved in
    # metrics.json beside the metrics: "verdict", and for joint embeddings with labels
    # "verdict_class_structure" (the linear probe against logistic regression).
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # rows -> (metrics, outputs) of the trained model on other rows (the test rows); not saved
    evaluate_rows: Any = None
    # The ids of the rows the metrics were measured on (all rows after cross-validation)
    test_ids: np.ndarray | None = None
    # The map of every validation row (fusion.bigmap.map_frame: (frame, info)), made after
    # training when the snapshots keep only some rows; saved as map.parquet
    full_map: tuple[pd.DataFrame, dict[str, Any]] | None = None

    @property
    def status(self) -> str:
        return self.history.status


def build_model(config: RunConfig, data: PairedData, train: PairedData | None = None) -> nn.Module:
    """The method's model (fusion.registry names it): cls(shapes, [n_classes,] config, stats).

    With ``train`` (the training rows) and ``config.train.standardize``, every encoder
    standardises its modality with those rows' mean and standard deviation.
    """
    spec = registry.METHODS[config.method]
    cls = registry.resolve(spec.model)
    stats = (
        input_stats(train.modalities) if train is not None and config.train.standardize else None
    )
    if spec.needs_labels:
        return cls(data.input_shapes(), data.n_classes, config.model, stats)
    cfg = config.model
    if getattr(cfg, "normalize", False) is None:  # the loss's geometry, unless chosen
        cfg.normalize = registry.LOSSES[config.loss].normalize
    return cls(data.input_shapes(), cfg, stats)


def run_experiment(
    data: PairedData,
    config: RunConfig,
    callbacks: Sequence[Callback] = (),
    stop_event: threading.Event | None = None,
) -> RunResult:
    """Validate, split, build, train and evaluate; never loses a partial result.

    The rows have three roles (:func:`fusion.data.plan_roles`): training rows fit the
    model and the baselines, validation rows serve every choice (early stopping, the
    standardisation check, the baseline the run is set against), and the run's metrics and
    verdicts are measured on test rows that nothing chose on. Small data, whose test split
    would hold fewer than ``TrainConfig.min_test_rows`` rows, is evaluated by k-fold
    cross-validation: each fold trains a model (choices made inside the fold) and tests it
    on its own rows, and the metrics pool every row; the returned model, history and maps
    are the first fold's (``cv_folds`` in the metrics says so). ``test_rows`` in the metrics
    counts the rows the numbers rest on.

    Raises :class:`~fusion.errors.ConfigError` for an invalid configuration
    before any work; faults during training come back as the history's status.
    """
    config.validate(data)
    plan = plan_roles(data, config.train)
    if registry.LOSSES[config.loss].family == "none":  # nothing is trained or chosen
        # Vectors as they are: measured (and mapped) on the first split's test rows, the
        # rows a trained run on the same data reports on; the probe fits the training rows.
        train, test = data.subset(plan[0].train), data.subset(plan[0].test)
        result = registry.LOSSES[config.loss].fn(data, train, test, config, callbacks)
        result.metrics["test_rows"] = float(test.n)
        result.test_ids = test.ids
        return result
    pristine = copy.deepcopy(config)
    folds: list[FoldResult] = []
    for roles in plan:
        cfg = config if roles.fold == 0 else copy.deepcopy(pristine)
        if roles.fold > 0:
            cfg.train.n_snapshots = 0  # only the first fold's maps are kept
        folds.append(run_fold(data, roles, cfg, callbacks if roles.fold == 0 else (), stop_event))
        if stop_event is not None and stop_event.is_set():
            break  # a stopped run reports the folds it finished
    result = folds[0].result
    result.metrics, result.verdicts = pool_folds(folds, config)
    result.test_ids = np.concatenate([data.ids[r.test] for r in plan[: len(folds)]])
    return result


@dataclass
class FoldResult:
    """One split's trained run and its test-row outcomes."""

    result: RunResult
    metrics: dict[str, float]  # on the test rows, baselines included
    outcomes: dict[str, np.ndarray]  # per test row: "run", "probe", "base:<key>", "cca"
    val_scores: dict[str, float]  # the baselines' validation accuracy (to pick one)
    n_test: int


def run_fold(data: PairedData, roles, config: RunConfig, callbacks, stop_event) -> FoldResult:
    """Train on ``roles.train`` (choices on ``roles.val``) and measure on ``roles.test``."""
    train, val, test = (data.subset(r) for r in (roles.train, roles.val, roles.test))
    if config.train.batch_size == DEFAULT_BATCH_SIZE:  # the default adapts to small data
        config.train.batch_size = max(2, min(config.train.batch_size, train.n))
    config.train.validate(train.n)
    check = needs_standardize_check(config, train.n)
    if check:
        config.train.standardize = choose_standardize(data, train, val, config)
    if registry.METHODS[config.method].gradient_free:
        result = registry.LOSSES[config.loss].fn(data, train, val, config, callbacks)
    else:
        result = _train(data, train, val, config, callbacks, stop_event)
    try:
        m, arrays = result.evaluate_rows(test)
    except RuntimeError as exc:
        if not is_oom(exc):
            raise
        # Out of memory measuring the test rows: the run is kept unmeasured; its message
        # (fusion.train) already says what to change.
        m, arrays = {}, {}
    m = dict(m)
    outcomes: dict[str, np.ndarray] = {}
    seed = config.train.seed
    if "pred" in arrays and test.labels is not None:
        outcomes["run"] = (arrays["pred"] == test.labels).astype(float)
    emb = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
    spec = registry.LOSSES[config.loss]
    rows = metrics.retrieval_subsample(test.n, metrics.RETRIEVAL_MAX_ROWS, 0)
    if spec.family in ("joint", "cca") and len(emb) >= 2 and test.n >= 2:
        a, b = data.names[:2]
        za, zb = (emb[x] if rows is None else emb[x][rows] for x in (a, b))
        if spec.family == "joint":  # linear CCA is the retrieval baseline of a trained space
            outcomes["run"] = metrics.recall_hits(za, zb)
            cca = baselines.cca_baseline(train, val, test, rows)
            if cca is not None:
                outcomes["cca"] = cca.test_hits
                m[baselines.CCA_R1] = float(cca.test_hits.mean())
                m[f"{baselines.CCA_R1}_chance"] = 1.0 / len(cca.test_hits)
                m["baseline_cca_dim"] = float(cca.dim)
        probe = [arrays[k] for k in arrays if k.startswith("probe_pred:")]
        if probe and test.labels is not None:
            outcomes["probe"] = np.mean([p == test.labels for p in probe], axis=0)
    with one_blas_thread():  # BLAS threads gain nothing on these fits and thrash (7x slower)
        fitted = baselines.fit_baselines(train, val, test, seed, check_scaling=check)
    m.update(baselines.baseline_metrics(fitted, test, train.n))
    for key, f in fitted.items():
        outcomes[f"base:{key}"] = f.test_correct
    return FoldResult(result, m, outcomes, {k: f.val_accuracy for k, f in fitted.items()}, test.n)


def pool_folds(
    folds: list[FoldResult], config: RunConfig
) -> tuple[dict[str, float], dict[str, Any]]:
    """The run's metrics and verdicts over every fold's test rows.

    One fold: its metrics. Several: each metric's mean over folds weighted by their test
    rows (for accuracy and Recall@K exactly the pooled score; each row's retrieval is
    ranked within its own fold), ``cv_folds`` set. The baseline set against is the one with
    the best validation accuracy summed over folds; the paired verdicts use every test row.
    """
    sizes = np.array([f.n_test for f in folds], dtype=np.float64)
    if len(folds) == 1:
        pooled = dict(folds[0].metrics)
    else:
        keys = set.intersection(*(set(f.metrics) for f in folds))
        pooled = {
            k: float(np.average([f.metrics[k] for f in folds], weights=sizes))
            for k in sorted(keys)
            if all(np.isfinite(f.metrics[k]) for f in folds)
        }
        pooled["cv_folds"] = float(len(folds))
    pooled["test_rows"] = float(sizes.sum())
    joined = {
        k: np.concatenate([f.outcomes[k] for f in folds])
        for k in folds[0].outcomes
        if all(k in f.outcomes for f in folds)
    }
    verdicts: dict[str, Any] = {}
    seed = config.train.seed
    base_keys = [k[5:] for k in joined if k.startswith("base:")]
    best = None
    if base_keys:
        val_sum = {k: sum(f.val_scores.get(k, 0.0) for f in folds) for k in base_keys}
        best = baselines.pick({k: _Score(v) for k, v in val_sum.items()})
    family = registry.LOSSES[config.loss].family
    if family == "classifier" and "run" in joined and best is not None:
        v = verdicts_.compare(joined["run"], joined[f"base:{best}"], best, "accuracy", seed)
        verdicts["verdict"] = v.to_dict()
    if family == "joint" and "run" in joined and "cca" in joined:
        v = verdicts_.compare(joined["run"], joined["cca"], "cca", "recall_at_1", seed)
        verdicts["verdict"] = v.to_dict()
    if "probe" in joined and best is not None:
        v = verdicts_.compare(
            joined["probe"], joined[f"base:{best}"], best, "linear_probe_accuracy", seed
        )
        verdicts["verdict_class_structure"] = v.to_dict()
        verdicts.setdefault("verdict", v.to_dict())  # CCA itself: no retrieval baseline
    return pooled, verdicts


@dataclass
class _Score:
    val_accuracy: float


def needs_standardize_check(config: RunConfig, n_train: int) -> bool:
    """Whether :func:`choose_standardize` runs: standardisation on, a trained classifier,
    and fewer training rows than ``TrainConfig.standardize_check_rows``."""
    spec = registry.METHODS[config.method]
    t = config.train
    return bool(
        t.standardize
        and spec.needs_labels
        and not spec.gradient_free
        and n_train < t.standardize_check_rows
    )


def choose_standardize(
    data: PairedData, train: PairedData, val: PairedData, config: RunConfig
) -> bool:
    """With few training rows, whether to standardise: train with and without it on the
    training rows and keep the lower cross-entropy on the validation rows (a tie
    standardises). The logistic baselines follow the same rule on the same rows
    (:func:`fusion.baselines.fit_logistic`); the test rows are never looked at.

    Few rows give noisy per-feature statistics, and a wide modality (120 gene columns
    for 30 mice) scaled to unit variance can be memorised; without scaling, its small
    spread may leave it quiet. Which of the two generalises is measured, not assumed.
    """
    if train.n < 4 or val.n < 2:  # too few rows to tell: keep the default
        return True
    losses_: dict[bool, float] = {}
    for standardize in (True, False):
        cfg = copy.deepcopy(config)
        cfg.train.standardize = standardize
        cfg.train.n_snapshots = 0
        result = _train(data, train, val, cfg, (), None)
        val_t = TensorData.from_paired(val, next(result.model.parameters()).device)
        result.model.eval()
        with torch.no_grad():
            logits = torch.cat([o.logits for o in _forward_chunks(result.model, val_t)])
            loss = nn.functional.cross_entropy(logits, val_t.labels)
        losses_[standardize] = float(loss)
    return losses_[True] <= losses_[False]


def _train(data, train, val, config: RunConfig, callbacks, stop_event) -> RunResult:
    """Build the model and its task and train them with :func:`fusion.train.fit`."""
    device, reason = resolve_device(config.train.device)
    torch.manual_seed(config.train.seed)  # model initialisation is part of the seeded run
    model = build_model(config, data, train)
    if registry.LOSSES[config.loss].family == "joint":
        task: Any = JointTask(config.loss, config.loss_params)
        task.train_data = TensorData.from_paired(train, device)
    else:
        ew = config.model.entropy_weight if config.method == "attention" else 0.0
        task = ClassifyTask(data.n_classes, model.names, ew)
    history = fit(model, task, train, val, config.train, callbacks, stop_event, device, reason)
    result = RunResult(
        config,
        history,
        history.final_metrics,
        model,
        val,
        dict(data.source),
        data.names,
        getattr(task, "projection", None),
    )
    result.evaluate_rows = _ModelRows(model, task, device)
    return result


def validation_embeddings(result: RunResult) -> dict[str, np.ndarray] | None:
    """The final embeddings of every validation row (modality -> (n_val, D)), or None.

    The shared space a run's map is drawn in: a model's outputs (the kept epoch's weights,
    Deep CCA through its projection) or linear CCA's components; None for other methods.
    """
    ev, val = result.evaluate_rows, result.val
    if isinstance(ev, _ModelRows):
        ev.model.eval()
        with torch.no_grad(), one_blas_thread():
            arrays = ev.task.live_arrays(ev.model, TensorData.from_paired(val, ev.device))
    elif isinstance(ev, _CCARows):
        arrays = ev(val)[1]
    else:  # vectors as they are: fusion.pretrained.as_is_embeddings (a layer above this one)
        return None
    return {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}


@dataclass
class _ModelRows:
    """A trained model's metrics and outputs on other rows (``RunResult.evaluate_rows``)."""

    model: nn.Module
    task: Any
    device: torch.device

    def __call__(self, rows: PairedData) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        self.model.eval()
        with torch.no_grad(), one_blas_thread():
            return self.task.evaluate(self.model, TensorData.from_paired(rows, self.device), True)


def run_cca(data, train, val, config: RunConfig, callbacks) -> RunResult:
    """Linear CCA between the first two modalities (flattened); one 'epoch', no gradient steps."""
    a, b = data.names[:2]
    dim = min(config.model.dim, train.flat(a).shape[1], train.flat(b).shape[1])
    history = History(device="cpu", device_reason="scikit-learn CCA runs on the CPU")
    t0 = time.perf_counter()
    cca = CCA(n_components=dim, max_iter=1000)
    cca.fit(train.flat(a), train.flat(b))
    evaluate = _CCARows(cca, train, a, b)
    m, arrays = evaluate(val)
    emb = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
    history.seconds = time.perf_counter() - t0
    history.epochs.append(
        {
            "epoch": 1,
            "seconds": history.seconds,
            "samples_per_sec": train.n / max(history.seconds, 1e-9),
            **{f"val_{k}": v for k, v in m.items()},
        }
    )
    rows = np.arange(val.n)
    if val.n > config.train.snapshot_rows:
        rows = np.sort(
            np.random.default_rng(config.train.seed).choice(
                val.n, config.train.snapshot_rows, replace=False
            )
        )
    history.snapshot_rows = rows
    history.snapshots.append(Snapshot(1, {f"emb:{k}": v[rows] for k, v in emb.items()}))
    history.status = "finished"
    history.say("messages.experiment.cca_finished", dim=dim)
    history.final_metrics = m
    for cb in callbacks:
        cb.on_train_end(history)
    result = RunResult(config, history, m, None, val, dict(data.source), data.names)
    result.evaluate_rows = evaluate
    return result


@dataclass
class _CCARows:
    """A fitted scikit-learn CCA's metrics and outputs on other rows."""

    cca: CCA
    train: PairedData
    a: str
    b: str

    def __call__(self, rows: PairedData) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        a, b, tr = self.a, self.b, self.train
        za, zb = self.cca.transform(rows.flat(a), rows.flat(b))
        ta, tb = self.cca.transform(tr.flat(a), tr.flat(b))
        emb = {a: za.astype(np.float32), b: zb.astype(np.float32)}
        kw: dict[str, Any] = {}
        arrays = {f"emb:{k}": v for k, v in emb.items()}
        if tr.labels is not None and rows.labels is not None:
            kw = {"train_embeddings": {a: ta, b: tb}, "train_labels": tr.labels}
            for m, z_train in ((a, ta), (b, tb)):
                arrays[f"probe_pred:{m}"] = metrics.probe_predictions(z_train, tr.labels, emb[m])
        m = metrics.joint_metrics(emb, rows.labels, ties="random", **kw)
        m["retrieval_rows"] = float(metrics.retrieval_rows(rows.n))
        return m, arrays


# ---------------------------------------------------------------------------
# Tables for plots, exports and runs on disk


def embeddings_frame(result: RunResult) -> pd.DataFrame:
    """All snapshots in long form: one row per (epoch, sample, modality) with z0..z{D-1}.

    Columns: epoch, sample (row in the snapshot), id, modality, label, label_name,
    reliability (the mask value, NaN without a mask), z0, z1, ...
    """
    h, val = result.history, result.val
    rows = h.snapshot_rows if h.snapshot_rows is not None else np.arange(val.n)
    sub = val.subset(rows)
    names = list(sub.modalities)
    frames = []
    for snap in h.snapshots:
        for key, z in snap.arrays.items():
            if not key.startswith("emb:"):
                continue
            mod = key[4:]
            df = pd.DataFrame(z, columns=[f"z{i}" for i in range(z.shape[1])])
            df.insert(0, "epoch", snap.epoch)
            df.insert(1, "sample", np.arange(len(z)))
            df.insert(2, "id", sub.ids)
            df.insert(3, "modality", mod)
            df.insert(4, "label", sub.labels if sub.labels is not None else -1)
            df.insert(
                5,
                "label_name",
                [sub.label_names[i] for i in sub.labels] if sub.labels is not None else "",
            )
            rel = sub.mask[:, names.index(mod)] if sub.mask is not None and mod in names else np.nan
            df.insert(6, "reliability", rel)
            frames.append(df)
    if not frames:
        return pd.DataFrame(
            columns=["epoch", "sample", "id", "modality", "label", "label_name", "reliability"]
        )
    return pd.concat(frames, ignore_index=True)


def attention_frame(result: RunResult) -> pd.DataFrame:
    """Attention weights per snapshot: epoch, sample, id, label, weight_<m>..., mask_<m>..."""
    h, val = result.history, result.val
    rows = h.snapshot_rows if h.snapshot_rows is not None else np.arange(val.n)
    sub = val.subset(rows)
    frames = []
    for snap in h.snapshots:
        w = snap.arrays.get("weights")
        if w is None:
            continue
        df = pd.DataFrame({"epoch": snap.epoch, "sample": np.arange(len(w)), "id": sub.ids})
        df["label"] = sub.labels if sub.labels is not None else -1
        for j, name in enumerate(result.modality_names):
            df[f"weight_{name}"] = w[:, j]
            if sub.mask is not None:
                df[f"mask_{name}"] = sub.mask[:, j]
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
