"""What the pages draw from the live events (:mod:`views.parts.live_map`): the table a frame's
points make, which frame the map shows and on which map, fixed axes, the attention summary,
how far the cloud collapsed, and Explore's view of a run's saved frames.

Torch-free; no Streamlit (the pages call these with what the worker sent).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fusion.live.store import SavedFrames
    from fusion.rundata import MapData

# The live map shows the newest PCA frame instead of an older UMAP one when the newest UMAP
# frame is more than this many epochs, or seconds, behind the newest frame.
STALE_UMAP_EPOCHS = 3.0
STALE_UMAP_SECONDS = 10.0


def points_frame(points: dict[str, Any], coords: np.ndarray) -> Any:
    """The table :func:`fusion.plots.shared_space` takes, from a ``points`` event and a
    frame's (P, 2) coordinates: u, v, sample, modality, label, label_name, reliability."""
    import pandas as pd

    names = np.asarray(points["modalities"], dtype=object)
    M = len(names)
    df = pd.DataFrame(
        {
            "u": coords[:, 0].astype(float),
            "v": coords[:, 1].astype(float),
            "sample": points["sample"],
            "modality": names[points["modality"]],
        }
    )
    labels = points.get("labels")
    if labels is not None:
        lab = np.tile(labels, M)
        names_l = np.asarray(points.get("label_names") or [], dtype=object)
        df["label"] = lab
        df["label_name"] = names_l[lab] if len(names_l) > lab.max(initial=0) else lab.astype(str)
    df["reliability"] = np.asarray(points["reliability"], dtype=float)
    return df


def shown_frame(
    frames: list[dict[str, Any]],
    method: str,
    stale_epochs: float = STALE_UMAP_EPOCHS,
    stale_seconds: float = STALE_UMAP_SECONDS,
) -> tuple[dict[str, Any], str, str]:
    """The frame the live map draws when ``method`` is asked for, the map it is drawn on,
    and why it differs from the newest frame on ``method`` ("" when it does not).

    PCA: the newest frame. UMAP (the worker's budget gives UMAP to some frames only): the
    newest frame when it has UMAP; else the newest frame with UMAP ("umap_behind"), unless
    that frame's evaluation is more than ``stale_epochs`` epochs or ``stale_seconds``
    seconds older than the newest one: then the newest frame on PCA ("umap_stale"), as
    before the first UMAP frame ("umap_first") and once UMAP was given up ("umap_fallback").
    """
    newest = frames[-1]
    if method != "umap" or newest.get("umap") is not None:
        return newest, method, ""
    if newest.get("umap_fallback"):
        return newest, "pca", "umap_fallback"
    with_umap = [f for f in frames if f.get("umap") is not None]
    if not with_umap:
        return newest, "pca", "umap_first"
    last = with_umap[-1]
    behind = float(newest["epoch"]) - float(last["epoch"])
    if behind > stale_epochs or _taken(newest) - _taken(last) > stale_seconds:
        return newest, "pca", "umap_stale"
    return last, "umap", "umap_behind"


def in_order_index(frames: list[dict[str, Any]], drawn: float | None) -> int:
    """The frame a view that draws every frame in order (a demo's, one per poll) draws
    next: the first when it has drawn none (``drawn``: the epoch it drew last), else the
    one after ``drawn``; the newest when there is none later. A paced training sends about
    one frame per poll, so such a view stays within a frame or two of the training, and a
    page that first draws late (a busy machine) still shows the space from its start."""
    if drawn is None:
        return 0
    return next((i for i, f in enumerate(frames) if float(f["epoch"]) > drawn), len(frames) - 1)


def _taken(frame: dict[str, Any]) -> float:
    """When a frame's evaluation was taken (time.time; an update's ``sent`` is later)."""
    return float(frame.get("sent", 0.0)) - float(frame.get("lag", 0.0))


def epoch_label(frame: dict[str, Any]) -> str:
    """A frame's epoch as the map says it: "3", or "2.4" for a peek within epoch 3."""
    if frame.get("partial"):
        return f"{math.floor(float(frame['epoch']) * 10) / 10:.1f}"
    return str(int(frame["epoch"]))


def axis_ranges(frames: list[np.ndarray], method: str) -> tuple[tuple[float, float], ...]:
    """Fixed axis ranges for the newest of ``frames`` ((P, 2) each).

    PCA: every frame so far, so the axes keep the first frame's scale and a collapsing
    cloud shrinks on them. UMAP (one size every frame): the last three frames, so the view
    follows the map without jumping when one frame reaches a little further.
    """
    recent = frames if method == "pca" else frames[-3:]
    pts = np.concatenate([np.asarray(f, dtype=np.float64) for f in recent])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    pad = np.where(span > 1e-12, 0.05 * span, 1.0)
    return tuple((float(a - p), float(b + p)) for a, b, p in zip(lo, hi, pad, strict=True))


def attention_summary(
    events: list[dict[str, Any]], mask: np.ndarray | None
) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """(epochs, mean weight (E, M), mean weight where the mask is 0 (E, M) or None)."""
    epochs = [int(e["epoch"]) for e in events]
    W = [np.asarray(e["weights"], dtype=np.float64) for e in events]
    means = np.stack([w.mean(axis=0) for w in W])
    if mask is None:
        return epochs, means, None
    off = np.asarray(mask, dtype=float) == 0
    unrel = np.array(
        [
            [w[off[:, j], j].mean() if off[:, j].any() else np.nan for j in range(w.shape[1])]
            for w in W
        ]
    )
    return epochs, means, unrel


def collapse_factor(frame: dict[str, Any]) -> float:
    """How many times smaller the cloud is than in the first frame (see fusion.metrics)."""
    first, now = float(frame.get("spread0") or 0.0), float(frame.get("spread") or 0.0)
    if now <= 0.0:
        return float("inf") if first > 0.0 else 1.0
    return first / now


def explore_view(
    frames: SavedFrames, data: MapData, method: str
) -> tuple[MapData, np.ndarray] | None:
    """The run's map data on the live frames' points and epochs, and their coordinates.

    Explore shows these instead of projecting the snapshots again, so its map is the one
    seen while training. Each live epoch's embeddings (for neighbours) are those of the
    latest snapshot at or before it. None when the frames lack ``method`` or do not match
    the run's snapshots (then Explore projects the snapshots as before).
    """
    from fusion.rundata import MapData

    if method not in frames.coords or not data.epochs:
        return None
    index = {
        (str(m), int(s)): i
        for i, (m, s) in enumerate(zip(data.meta["modality"], data.meta["sample"], strict=True))
    }
    rows = [
        index.get((str(m), int(s)), -1) for m, s in zip(frames.modality, frames.sample, strict=True)
    ]
    if min(rows) < 0:
        return None
    snap_epochs = np.asarray(data.epochs)
    live_epochs = frames.epochs_of(method)
    snap_idx = np.maximum(np.searchsorted(snap_epochs, live_epochs, side="right") - 1, 0)
    Z = data.Z[:, rows][snap_idx]  # (E_live, P, d)
    meta = data.meta.iloc[rows].reset_index(drop=True)
    epochs = [int(e) for e in live_epochs]
    return MapData(epochs, meta, Z, data.dropped), frames.coords[method]
