"""Exports: paired data as one table, so it can be downloaded and loaded back.

A table holds every modality's columns under a ``<modality>__<column>`` prefix
(the convention :mod:`fusion.loaders` reads back), plus ``id`` and ``label``.
Image modalities are flattened row-major into ``<modality>__r<row>c<col>``.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from fusion.data import PairedData


def data_to_frame(data: PairedData) -> pd.DataFrame:
    """One DataFrame: id, label (name), then each modality's prefixed columns."""
    cols: dict[str, np.ndarray] = {"id": data.ids}
    if data.labels is not None:
        names = data.label_names or [str(i) for i in range(data.n_classes)]
        cols["label"] = np.array([names[i] for i in data.labels])
    for name, arr in data.modalities.items():
        if arr.ndim == 3:
            h, w = arr.shape[1:]
            keys = [f"{name}__r{r}c{c}" for r in range(h) for c in range(w)]
        else:
            keys = [f"{name}__{j}" for j in range(arr.shape[1])]
        flat = arr.reshape(len(arr), -1)
        cols.update({k: flat[:, j] for j, k in enumerate(keys)})
    return pd.DataFrame(cols)


def data_to_bytes(data: PairedData, fmt: str = "csv") -> bytes:
    """The table of :func:`data_to_frame` as CSV or Parquet bytes (for downloads)."""
    df = data_to_frame(data)
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    return df.to_csv(index=False).encode("utf-8")
