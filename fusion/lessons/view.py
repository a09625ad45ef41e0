"""A finished run as the lessons read it, and the points and series they take from it.

:class:`RunView` is the same few tables whether the run is a
:class:`~fusion.experiment.RunResult` just trained, a :class:`~fusion.runs.LoadedRun` or a
run folder (:func:`as_view`). :func:`map_points` projects a snapshot to 2-D (PCA or UMAP),
:func:`gap_points` shows it along the modality gap.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion.errors import ConfigError
from fusion.lessons.specs import Translate
from fusion.projection import project
from fusion.rundata import snapshot, snapshot_epochs
from fusion.runs import LoadedRun, load_run


@dataclass
class RunView:
    """What the analyses read from a finished run, whichever form it came in."""

    epochs: pd.DataFrame  # one row per epoch: epoch, val_<metric>, ...
    embeddings: pd.DataFrame  # long form: epoch, sample, modality, label, label_name, z0..
    attention: pd.DataFrame  # epoch, sample, label, weight_<m>, mask_<m> (attention runs)
    metrics: dict[str, float]  # final validation metrics, with _chance keys
    config: dict[str, Any]  # RunConfig.to_dict() plus "data" (the generator and params)
    modalities: list[str]
    path: Path | None = None

    @property
    def last_epoch(self) -> int:
        epochs = self.snapshot_epochs
        return epochs[-1] if epochs else 0

    @property
    def snapshot_epochs(self) -> list[int]:
        return snapshot_epochs(self.embeddings)


def as_view(run: Any) -> RunView:
    """A :class:`RunView` of a RunResult, a LoadedRun, or a run folder's path."""
    # Imported here: fusion.experiment imports torch, and a page that only reads saved runs
    # (a LoadedRun or a folder) must not pay for it.
    from fusion.experiment import RunResult, attention_frame, embeddings_frame

    if isinstance(run, RunView):
        return run
    if isinstance(run, (str, os.PathLike)):
        run = load_run(run)
    if isinstance(run, RunResult):
        return RunView(
            pd.DataFrame(run.history.epochs),
            embeddings_frame(run),
            attention_frame(run),
            dict(run.metrics),
            {**run.config.to_dict(), "data": dict(run.data_source)},
            list(run.modality_names),
        )
    if isinstance(run, LoadedRun):
        return RunView(
            run.epochs,
            run.embeddings,
            run.attention,
            dict(run.metrics),
            dict(run.config),
            run.modalities,
            run.info.path,
        )
    raise TypeError(f"expected a RunResult, LoadedRun or run folder, got {type(run).__name__}")


def _class_names(t: Translate, names: pd.Series) -> np.ndarray:
    """'class 3' (the generators' class names) as the page's language says it."""
    out = names.astype(str).to_numpy(dtype=object)
    for i, s in enumerate(out):
        m = re.fullmatch(r"class (\d+)", s)
        if m:
            out[i] = t("lessons.common.class_n", k=int(m.group(1)))
    return out


def map_points(view: RunView, epoch: int, t: Translate, method: str = "pca") -> pd.DataFrame:
    """The 2-D map (u, v) of one snapshot epoch, all modalities projected together.

    ``method="pca"`` keeps distances within the top two directions, so a shrinking cloud
    (collapse) shows as shrinking; ``"umap"`` (McInnes et al. 2018, seeded) keeps
    neighbourhoods, so clusters show, but its axes and sizes mean nothing.
    """
    snap = snapshot(view.embeddings, epoch).finite()
    d, z = snap.meta, snap.Z.astype(np.float32)
    uv = project(z, method=method, seed=0) if method == "umap" else project(z, method="pca")
    return pd.DataFrame(
        {
            "u": uv[:, 0],
            "v": uv[:, 1],
            "sample": d["sample"].to_numpy(),
            "modality": d["modality"].astype(str).to_numpy(),
            "label_name": _class_names(t, d["label_name"]),
        }
    )


def gap_points(view: RunView, epoch: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The two modalities' unit-length embeddings seen along their gap (Liang et al. 2022).

    u: the coordinate along the gap direction (mean(a/|a|) - mean(b/|b|), normalised), where
    the gap shows; v: the first principal direction of what is left. Returns the points
    (u, v, modality) and each modality's centre in the same coordinates.
    """
    snap = snapshot(view.embeddings, epoch)
    d, z = snap.meta, snap.Z
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    mods = d["modality"].astype(str).to_numpy()
    names = list(dict.fromkeys(mods))
    a, b = names[0], names[1]
    gap = z[mods == a].mean(0) - z[mods == b].mean(0)
    axis = gap / max(np.linalg.norm(gap), 1e-12)
    u = z @ axis
    rest = z - np.outer(u, axis)
    rest_c = rest - rest.mean(0)
    _, _, vt = np.linalg.svd(rest_c, full_matrices=False)
    pc = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    v = rest @ pc
    pts = pd.DataFrame({"u": u, "v": v, "modality": mods})
    centres = {m: np.array([u[mods == m].mean(), v[mods == m].mean()]) for m in names}
    return pts, centres


def val_series(view: RunView, key: str) -> pd.Series:
    col = f"val_{key}"
    return view.epochs[col] if col in view.epochs.columns else pd.Series(dtype=float)


def first_last(view: RunView, key: str) -> tuple[float, float]:
    s = val_series(view, key).dropna()
    return (float(s.iloc[0]), float(s.iloc[-1])) if len(s) else (float("nan"), float("nan"))


def require_runs(views: Mapping[str, RunView], *keys: str) -> None:
    missing = [k for k in keys if k not in views]
    if missing:
        raise ConfigError("lessons.errors.missing_runs", runs=", ".join(missing))
