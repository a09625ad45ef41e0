"""Pretrained embeddings explored as they are, and the modality-gap shift control.

A researcher who already has paired vectors in one shared space (CLIP's image and text
embeddings of the same width, one row per pair) can look at that space without training:
the ``asis`` method (registered in :mod:`fusion.registry`) takes each modality's vectors as
its embedding, optionally L2-normalised, and scores them with
:func:`fusion.metrics.joint_metrics` (retrieval with chance, modality gap, alignment and
uniformity, class precision and a linear probe when labels exist). The run it makes is an
ordinary run folder with one snapshot at epoch 0, so Explore, Compare and Export read it
unchanged; a small adapter (the ``joint`` method with a linear or MLP encoder and InfoNCE)
trained on the same data and split is then its "after".

The modality gap (Liang et al. 2022, "Mind the Gap: Understanding the Modality Gap in
Multi-modal Contrastive Representation Learning", NeurIPS, https://arxiv.org/abs/2203.02053)
is the distance between the modalities' centroids on the unit sphere. Their control
experiment shifts each modality along the gap vector and re-normalises, to see whether
closing the gap changes retrieval: :func:`shift_along_gap` and :func:`gap_shift_table`.
Tools built for this question are Amumo (Ruppel et al.) and ModalChorus (Ye et al., IEEE
VIS 2024).

This module imports neither torch nor streamlit, except :func:`run_asis`, which builds the
engine's result objects and runs where training runs (a job or the command line).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from fusion import metrics
from fusion.data import PairedData
from fusion.errors import ConfigError, DataError

GAP_SHIFTS = tuple(np.round(np.linspace(-1.0, 1.0, 9), 2))  # λ of the shift table


@dataclass
class AsIsConfig:
    """The ``asis`` method's only setting: how to read the uploaded vectors."""

    normalize: bool = True  # L2-normalise every row first (cosine geometry, as CLIP)

    def validate(self) -> None:
        if not isinstance(self.normalize, bool):
            raise ConfigError("errors.pretrained.normalize_not_bool", value=self.normalize)


def shared_width(data: PairedData) -> int:
    """The common width of every modality's (flattened) vectors; DataError when they differ.

    Vectors explored as they are must already live in one space: same width, one row per
    pair. Different widths mean different spaces, which need a trained method instead.
    """
    if data.n_modalities < 2:
        raise DataError("errors.pretrained.one_modality", n=data.n_modalities)
    widths = {name: int(np.prod(x.shape[1:])) for name, x in data.modalities.items()}
    if len(set(widths.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in widths.items())
        raise DataError("errors.pretrained.widths_differ", widths=shown)
    return next(iter(widths.values()))


def can_explore_as_is(data: PairedData | None) -> bool:
    """Whether ``data`` can be explored as it is (two or more modalities of one width)."""
    if data is None:
        return False
    try:
        shared_width(data)
    except DataError:
        return False
    return True


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows divided by their Euclidean norm; an all-zero row stays zero. (N, d) -> (N, d)."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def normalized(data: PairedData) -> PairedData:
    """A copy of ``data`` whose every modality's rows have unit L2 norm (the loader's choice);
    the copy has no per-sample ``flags``."""
    return replace(
        data,
        modalities={k: l2_normalize(v) for k, v in data.modalities.items()},
        texts=dict(data.texts),
        flags={},
        source={**data.source, "l2_normalized": True},
    )


def as_is_embeddings(data: PairedData, normalize: bool) -> dict[str, np.ndarray]:
    """Each modality's vectors as its embedding, float32 (N, d), unit rows if ``normalize``."""
    shared_width(data)
    if normalize:
        return {k: l2_normalize(v) for k, v in data.modalities.items()}
    return {k: data.flat(k).astype(np.float32) for k in data.names}


def as_is_metrics(
    data: PairedData, train: PairedData, val: PairedData, normalize: bool
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics of the validation rows as they are (probe fitted on the training rows).

    Returns (metrics, validation embeddings). The same :func:`fusion.metrics.joint_metrics`
    as a trained joint run, ties broken at random, so both are scored alike.
    """
    del data  # the split is what is scored; the whole data only names the run
    emb = as_is_embeddings(val, normalize)
    kw: dict[str, Any] = {}
    if val.labels is not None and train.labels is not None:
        kw = {"train_embeddings": as_is_embeddings(train, normalize), "train_labels": train.labels}
    m = metrics.joint_metrics(emb, val.labels, ties="random", **kw)
    m["retrieval_rows"] = float(metrics.retrieval_rows(val.n))
    return m, emb


def run_asis(data: PairedData, train: PairedData, val: PairedData, config: Any, callbacks):
    """The ``asis`` method: no training; one snapshot at epoch 0 of the vectors as they are.

    Called by :func:`fusion.experiment.run_experiment` like every gradient-free method
    (after the config is validated and the data split), and returns its ``RunResult``.
    """
    from fusion.experiment import RunResult
    from fusion.train import History, Snapshot

    shared_width(data)
    t0 = time.perf_counter()
    m, emb = as_is_metrics(data, train, val, config.model.normalize)
    history = History(device="cpu", device_reason="no training: numpy on the CPU")
    history.seconds = time.perf_counter() - t0
    history.epochs.append(
        {"epoch": 0, "seconds": history.seconds, **{f"val_{k}": v for k, v in m.items()}}
    )
    rows = np.arange(val.n)
    cap = config.train.snapshot_rows
    if val.n > cap:
        rows = np.sort(np.random.default_rng(config.train.seed).choice(val.n, cap, replace=False))
    history.snapshot_rows = rows
    history.snapshots.append(Snapshot(0, {f"emb:{k}": v[rows] for k, v in emb.items()}))
    history.status = "finished"
    history.say("messages.pretrained.as_is_finished", n=f"{val.n:,}")
    history.final_metrics = m
    for cb in callbacks:
        cb.on_train_end(history)
    return RunResult(config, history, m, None, val, dict(data.source), data.names)


# ---------------------------------------------------------------------------------------
# The gap-shift control (Liang et al. 2022)


def gap_vector(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """Δ = mean_i a_i/|a_i| − mean_i b_i/|b_i|, the modality gap vector (d,)."""
    return l2_normalize(za).mean(0) - l2_normalize(zb).mean(0)


def shift_along_gap(za: np.ndarray, zb: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Both modalities moved towards each other along the gap vector, then re-normalised.

    Liang et al. 2022 ("Mind the Gap", their embedding-shift experiment): with Δ the gap vector of the unit rows,

        a_i' = normalise(a_i/|a_i| − (λ/2) Δ),    b_i' = normalise(b_i/|b_i| + (λ/2) Δ)

    λ = 0 leaves the embeddings as they are, λ = 1 moves both centroids onto their midpoint
    before re-normalising (the gap nearly closes), λ < 0 widens it. Pairs and ranks within
    one modality are unchanged; only the cross-modal similarities move.
    """
    delta = gap_vector(za, zb)
    a = l2_normalize(za) - 0.5 * amount * delta
    b = l2_normalize(zb) + 0.5 * amount * delta
    return l2_normalize(a), l2_normalize(b)


def gap_shift_table(
    za: np.ndarray,
    zb: np.ndarray,
    amounts: tuple[float, ...] = GAP_SHIFTS,
    max_rows: int | None = metrics.RETRIEVAL_MAX_ROWS,
) -> pd.DataFrame:
    """Gap and Recall@1 (both directions, their mean, chance 1/N) after each shift λ.

    One row per λ: ``shift``, ``modality_gap``, ``recall_at_1_a_to_b``,
    ``recall_at_1_b_to_a``, ``recall_at_1_mean``, ``recall_at_1_chance``. Above
    ``max_rows`` rows, a seeded subsample is ranked (as in joint_metrics).
    """
    za = np.asarray(za, dtype=np.float32).reshape(len(za), -1)
    zb = np.asarray(zb, dtype=np.float32).reshape(len(zb), -1)
    rows = metrics.retrieval_subsample(len(za), max_rows)
    if rows is not None:
        za, zb = za[rows], zb[rows]
    out = []
    for lam in amounts:
        a, b = shift_along_gap(za, zb, float(lam))
        ret = metrics.retrieval(a, b, "a", "b", ks=(1,), ties="random")
        r_ab, r_ba = ret["recall_at_1_a_to_b"], ret["recall_at_1_b_to_a"]
        out.append(
            {
                "shift": float(lam),
                "modality_gap": metrics.modality_gap(a, b)["modality_gap"],
                "recall_at_1_a_to_b": r_ab,
                "recall_at_1_b_to_a": r_ba,
                "recall_at_1_mean": (r_ab + r_ba) / 2,
                "recall_at_1_chance": 1.0 / len(a),
            }
        )
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------
# The adapter: a small head trained on top (the "after" of the before/after comparison)


def adapter_config(data: PairedData, kind: str = "linear", seed: int = 0, epochs: int = 30):
    """The ``joint`` InfoNCE run that trains a small ``kind`` head ("linear" or "mlp") on top.

    The head starts where the vectors are (:class:`fusion.models.IdentityStart`: the
    identity, plus a zero-initialised residual for "mlp"), in a shared space of the vectors'
    own width, on the vectors as they are (not standardised). Training watches validation
    Recall@1 and keeps the start when no epoch beats it (:mod:`fusion.train`), so an adapter
    cannot leave retrieval worse than the vectors themselves. Same seed and validation
    fraction as the ``asis`` run, so both are scored on the same validation rows.
    """
    from fusion.config import default_config

    if kind not in ("linear", "mlp"):
        raise ConfigError("errors.pretrained.adapter_kind", kind=kind)
    width = shared_width(data)
    cfg = default_config("joint", "info_nce", epochs=epochs, seed=seed)
    cfg.model.dim = width
    cfg.model.encoder.kind = f"adapter_{kind}"
    cfg.train.standardize = False
    n_train = data.n - max(1, int(round(data.n * cfg.train.val_fraction)))
    cfg.train.batch_size = int(min(cfg.train.batch_size, max(2, n_train)))
    return cfg


def same_pairs(samples: PairedData | None, data: PairedData | None, n_check: int = 20) -> bool:
    """Whether ``data`` holds a run's saved validation ``samples`` (same modalities, ids, vectors).

    An adapter is the "after" of an as-is run only when it trains on the same vectors, so
    the page checks the active dataset against the run before offering one.
    """
    if samples is None or data is None or samples.names != data.names:
        return False
    where = {str(i): k for k, i in enumerate(data.ids)}
    for j, sample_id in enumerate(samples.ids[:n_check]):
        k = where.get(str(sample_id))
        if k is None:
            return False
        for name in data.names:
            if not np.allclose(samples.flat(name)[j], data.flat(name)[k], atol=1e-5):
                return False
    return True
