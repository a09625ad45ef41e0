"""Storing the live frames: what a run keeps of them while it trains (:class:`FrameRecord`),
and the run folder's :data:`FRAMES_FILE`, which Explore replays (:func:`load_frames`).

The file holds every kept evaluation's PCA frame, the UMAP frames with their own epochs,
and which sample and modality each point is. Torch-free: pages read it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FRAMES_FILE = "live_frames.npz"


class FrameRecord:
    """The frames a run keeps while it trains (each evaluation's PCA, UMAP where made), and
    the points they place; :meth:`saved` gives them as :data:`FRAMES_FILE`'s arrays."""

    def __init__(self) -> None:
        self.rows: np.ndarray | None = None  # kept samples (indices into the snapshot rows)
        self.names: list[str] = []  # the modalities on the map, in row-block order
        self.epochs: list[int] = []  # every frame's epoch (each has PCA)
        self.umap_epochs: list[int] = []  # the frames with UMAP too
        self.coords: dict[str, list[np.ndarray]] = {"pca": [], "umap": []}

    def add(self, method: str, epoch: int, coords: np.ndarray) -> None:
        """Keep ``epoch``'s (P, 2) frame on ``method`` ("pca" or "umap")."""
        (self.epochs if method == "pca" else self.umap_epochs).append(epoch)
        self.coords[method].append(coords)

    def pca_of(self, epoch: int) -> np.ndarray:
        return self.coords["pca"][self.epochs.index(epoch)]

    def saved(self) -> dict[str, np.ndarray]:
        """The frames as arrays for :data:`FRAMES_FILE` (UMAP with its own epochs)."""
        assert self.rows is not None
        S = len(self.rows)
        by_epoch = np.argsort(self.epochs, kind="stable")  # catch-up frames come last
        out = {
            "epochs": np.asarray(self.epochs, dtype=np.int32)[by_epoch],
            "pca": np.stack([self.coords["pca"][i] for i in by_epoch]).astype(np.float32),
            "sample": np.tile(self.rows.astype(np.int32), len(self.names)),
            "modality": np.repeat(np.asarray(self.names, dtype=str), S),
        }
        if self.coords["umap"]:
            order = np.argsort(self.umap_epochs, kind="stable")  # catch-up frames come last
            out["umap"] = np.stack([self.coords["umap"][i] for i in order]).astype(np.float32)
            out["umap_epochs"] = np.asarray(self.umap_epochs, dtype=np.int32)[order]
        return out


@dataclass
class SavedFrames:
    epochs: np.ndarray  # (E,) evaluation epochs with a frame
    coords: dict[str, np.ndarray]  # "pca" / "umap" -> (E_m, P, 2) float32
    sample: np.ndarray  # (P,) the point's row in the run's snapshots
    modality: np.ndarray  # (P,) its modality
    method_epochs: dict[str, np.ndarray] = field(default_factory=dict)  # E_m, if not epochs

    def epochs_of(self, method: str) -> np.ndarray:
        return self.method_epochs.get(method, self.epochs)


def save_frames(folder: str | os.PathLike, history: Any) -> None:
    """Write ``history.live_frames`` to ``folder/FRAMES_FILE`` when training kept any."""
    frames = getattr(history, "live_frames", None)
    if frames:
        np.savez_compressed(Path(folder) / FRAMES_FILE, **frames)


def load_frames(folder: str | os.PathLike) -> SavedFrames | None:
    """A run's live frames, or None (runs before the live map, or an unreadable file)."""
    path = Path(folder) / FRAMES_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            coords = {m: z[m].astype(np.float32) for m in ("pca", "umap") if m in z.files}
            own = {m: z[f"{m}_epochs"] for m in coords if f"{m}_epochs" in z.files}
            frames = SavedFrames(z["epochs"], coords, z["sample"], z["modality"].astype(str), own)
    except (OSError, ValueError, KeyError):
        return None
    P = len(frames.sample)
    ok = all(
        c.shape == (len(frames.epochs_of(m)), P, 2) and np.isfinite(c).all()
        for m, c in coords.items()
    )
    return frames if ok and len(frames.epochs) and len(frames.modality) == P else None
