"""Run data: what a saved run's snapshots hold, read as arrays by pages, CLI, export and lessons.

A run keeps its validation embeddings at every snapshot epoch in one long table
(``embeddings.parquet``: epoch, sample, id, modality, label, label_name, reliability,
z0, z1, ...). Everything that reads it goes through here:

- :func:`snapshot`: one epoch's rows and its embedding matrix (n, d), per modality too.
- :func:`build_map_data`: every snapshot stacked (E, n, d) in one fixed row order, so maps
  can be projected once and aligned across epochs (``fusion.projection.project_sequence``).
- :func:`spread_by_epoch`: the collapse signal per epoch (VICReg's per-dimension std,
  Bardes et al. 2022; :func:`fusion.metrics.spread`).
- :func:`cross_modal_neighbours`: cosine top-k of points in the other modalities at one
  epoch, the retrieval protocol behind Recall@K (open_clip's retrieval evaluation).
- :func:`run_signature` and :func:`data_fingerprint`: cache keys for a run folder and a
  dataset, so a re-trained run or different data is never served from a stale cache.

Torch-free: a page or the CLI reads runs without importing torch.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fusion.metrics import spread

if TYPE_CHECKING:
    from fusion.data import PairedData

_Z_COLUMN = re.compile(r"z\d+")
# Columns describing a map point (beside its embedding), in the order pages show them.
MAP_COLUMNS = ["sample", "id", "modality", "label", "label_name", "reliability"]
NON_EMBEDDING_MODALITIES = ("fused",)  # shown on a map, never a retrieval target


# ---------------------------------------------------------------------------
# One snapshot


def embedding_columns(frame: pd.DataFrame) -> list[str]:
    """The embedding columns of a long table (``z0``, ``z1``, ...), in numeric order."""
    return sorted(
        (c for c in frame.columns if _Z_COLUMN.fullmatch(str(c))), key=lambda c: int(c[1:])
    )


def snapshot_epochs(embeddings: pd.DataFrame) -> list[int]:
    """The epochs that have a snapshot, ascending ([] when the run saved none)."""
    return sorted(int(e) for e in embeddings["epoch"].unique()) if len(embeddings) else []


@dataclass(frozen=True)
class Snapshot:
    """One snapshot epoch of a run: a row per (sample, modality) and its embedding."""

    epoch: int
    meta: pd.DataFrame  # every column but z0.. (epoch, sample, id, modality, ...), index 0..n-1
    Z: np.ndarray  # (n, d) float64 in meta's row order; d: this snapshot's own width

    @property
    def modalities(self) -> list[str]:
        """Modality names in the order their rows first appear."""
        return list(dict.fromkeys(self.meta["modality"].astype(str)))

    def modality(self, name: str) -> np.ndarray:
        """The (n_m, d) embeddings of one modality, in sample order as stored."""
        return self.Z[self.meta["modality"].astype(str).to_numpy() == name]

    def by_modality(self) -> dict[str, np.ndarray]:
        """Each modality's (n_m, d) embedding matrix."""
        return {m: self.modality(m) for m in self.modalities}

    def finite(self) -> Snapshot:
        """The rows whose vector is finite (a diverged model writes NaN or inf)."""
        keep = np.isfinite(self.Z).all(axis=1)
        return Snapshot(self.epoch, self.meta[keep].reset_index(drop=True), self.Z[keep])


def snapshot(embeddings: pd.DataFrame, epoch: int | None = None) -> Snapshot | None:
    """The snapshot at ``epoch`` (default: the last) of a long embeddings table, or None
    when the run has no snapshot at that epoch (callers say so in their own words).

    Embedding columns empty throughout this epoch (NaN in every row: they belong to a
    snapshot of another width) are left out of ``Z``.
    """
    epochs = snapshot_epochs(embeddings)
    if not epochs:
        return None
    epoch = epochs[-1] if epoch is None else int(epoch)
    rows = embeddings[embeddings["epoch"] == epoch]
    if rows.empty:
        return None
    zcols = embedding_columns(rows)
    Z = rows[zcols].to_numpy(dtype=np.float64)  # (n, D)
    Z = Z[:, ~np.isnan(Z).all(axis=0)]  # (n, d)
    return Snapshot(epoch, rows.drop(columns=zcols).reset_index(drop=True), Z)


# ---------------------------------------------------------------------------
# Every snapshot, aligned for maps


@dataclass
class MapData:
    epochs: list[int]  # snapshot epochs with finite embeddings
    meta: pd.DataFrame  # one row per map point: MAP_COLUMNS and "hover"
    Z: np.ndarray  # (E, n, d) float32 embeddings, rows in the order of ``meta``
    dropped: list[int]  # snapshot epochs left out (NaN or infinite embeddings, uneven rows)


def _row_keys(meta: pd.DataFrame) -> np.ndarray:
    return meta[["modality", "sample"]].astype(str).agg("|".join, axis=1).to_numpy()


def build_map_data(
    embeddings: pd.DataFrame,
    modalities: Sequence[str] = (),
    texts: Mapping[str, Sequence[str]] | None = None,
) -> MapData:
    """Stack the long embeddings table into (E, n, d) with one fixed row order per epoch.

    Rows are ordered by modality (``modalities`` first, in that order), then sample; the
    last snapshot fixes the rows, and an epoch with other rows or non-finite vectors is
    dropped. ``texts``: captions per text modality, quoted in the points' hover text.
    """
    zc = embedding_columns(embeddings)
    if not len(embeddings) or not zc:
        return MapData([], pd.DataFrame(columns=[*MAP_COLUMNS, "hover"]), np.empty((0, 0, 0)), [])
    mods = list(dict.fromkeys([*modalities, *embeddings["modality"].astype(str).unique()]))
    order = pd.Categorical(embeddings["modality"].astype(str), categories=mods)
    emb = embeddings.assign(_m=order).sort_values(["epoch", "_m", "sample"], kind="stable")
    emb = emb.drop(columns="_m")
    snaps = [snapshot(emb, e) for e in snapshot_epochs(emb)]
    last = snaps[-1]
    keys = _row_keys(last.meta)
    frames, epochs, dropped = [], [], []
    for s in snaps:
        same = len(s.meta) == len(keys) and np.array_equal(_row_keys(s.meta), keys)
        if same and s.Z.shape[1] == len(zc) and np.isfinite(s.Z).all():
            frames.append(s.Z.astype(np.float32))
            epochs.append(s.epoch)
        else:
            dropped.append(s.epoch)
    meta = last.meta[MAP_COLUMNS].copy()
    meta["modality"] = meta["modality"].astype(str)
    meta["hover"] = _hover_texts(meta, texts or {})
    Z = np.stack(frames) if frames else np.empty((0, len(keys), len(zc)), dtype=np.float32)
    return MapData(epochs, meta, Z, dropped)


def _hover_texts(meta: pd.DataFrame, texts: Mapping[str, Sequence[str]]) -> np.ndarray:
    out = ("id " + meta["id"].astype(str)).to_numpy(dtype=object)
    for m, captions in texts.items():
        for i in np.flatnonzero(meta["modality"].to_numpy() == m):
            s = int(meta.at[i, "sample"])
            if 0 <= s < len(captions):
                cap = str(captions[s])
                out[i] = f"{out[i]}<br>“{cap[:60]}{'…' if len(cap) > 60 else ''}”"
    return out


def points_frame(data: MapData, coords: np.ndarray) -> pd.DataFrame:
    """The frame :func:`fusion.plots.shared_space` takes: meta plus map coordinates u, v.

    coords: (n, 2), one epoch of a projection of ``data.Z``.
    """
    df = data.meta.copy()
    df["u"] = coords[:, 0]
    df["v"] = coords[:, 1]
    return df


def spread_by_epoch(data: MapData, run_name: str) -> pd.DataFrame:
    """Mean per-dimension std per epoch, averaged over modalities (the library's 'spread');
    columns run, epoch, spread."""
    mods = data.meta["modality"].to_numpy()
    rows = []
    for e, Z in zip(data.epochs, data.Z, strict=True):
        per_mod = [spread(Z[mods == m])["spread"] for m in dict.fromkeys(mods)]
        rows.append({"run": run_name, "epoch": e, "spread": float(np.mean(per_mod))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Cross-modal neighbours


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def cross_modal_neighbours(
    Z: np.ndarray, meta: pd.DataFrame, query_rows: Sequence[int], k: int = 5
) -> pd.DataFrame:
    """Top-k cosine neighbours of each query point in every other modality, at one epoch.

    Z: (n, d) embeddings in ``meta``'s row order. Returns one row per (query, target
    modality, rank) with the neighbour's row, sample, similarity and whether it is the
    query's true partner (same sample), plus ``partner_rank`` (1-based rank of the true
    partner among all items of that modality; -1 when it has none).
    """
    U = _unit(Z.astype(np.float64))
    mods = meta["modality"].to_numpy()
    samples = meta["sample"].to_numpy()
    out = []
    for q in query_rows:
        m_q = mods[q]
        for m in dict.fromkeys(mods):
            if m == m_q or m in NON_EMBEDDING_MODALITIES:
                continue
            cand = np.flatnonzero(mods == m)
            sims = U[cand] @ U[q]  # (n_m,)
            order = np.argsort(-sims, kind="stable")[:k]
            partner = np.flatnonzero(samples[cand] == samples[q])
            p_rank = int((sims > sims[partner[0]]).sum()) + 1 if partner.size else -1
            for r, j in enumerate(order, start=1):
                out.append(
                    {
                        "query_row": q,
                        "query_sample": int(samples[q]),
                        "query_modality": m_q,
                        "target_modality": m,
                        "rank": r,
                        "row": int(cand[j]),
                        "sample": int(samples[cand[j]]),
                        "similarity": float(sims[j]),
                        "is_partner": bool(samples[cand[j]] == samples[q]),
                        "partner_rank": p_rank,
                    }
                )
    return pd.DataFrame(out)


def rows_across_modalities(rows: Sequence[int], modality: np.ndarray, k: int) -> list[int]:
    """Up to k of ``rows``, taken in turn from each modality so none crowds the others out
    (sorted). modality: the modality of every map row."""
    rows = list(rows)
    groups = [[r for r in rows if modality[r] == m] for m in dict.fromkeys(modality[rows])]
    out: list[int] = []
    for i in range(max(map(len, groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return sorted(out[:k])


# ---------------------------------------------------------------------------
# Cache keys


def run_signature(path: str | os.PathLike) -> str:
    """Changes whenever a file in the run folder is written, added or removed."""
    p = Path(path)
    try:
        stamps = [p.stat().st_mtime_ns] + [f.stat().st_mtime_ns for f in p.iterdir() if f.is_file()]
    except OSError:
        return "missing"
    return f"{max(stamps)}-{len(stamps)}"


def data_fingerprint(data: PairedData | None) -> str:
    """A content digest of a dataset (its arrays, labels and ids): equal digests, equal
    data. Keys caches shared by all sessions, where object identity means nothing."""
    if data is None:
        return "none"
    h = hashlib.blake2b(digest_size=16)
    for name, arr in data.modalities.items():
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    if data.labels is not None:
        h.update(data.labels.tobytes())
    h.update("\x00".join(map(str, data.ids)).encode())
    return h.hexdigest()
