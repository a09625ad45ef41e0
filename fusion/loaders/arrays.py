"""Embeddings as researchers keep them: array columns of a table, and one ``.npy`` per modality.

- A Parquet table (or a DataFrame) with one **list column per modality**, each cell a
  fixed-length vector (``image: [0.1, …]`` of 512 numbers, ``text: [...]`` of 512), plus
  the usual optional label, id and group columns. :func:`list_columns` finds them (a
  prefixed column such as ``txt__f1`` holding lists is an error: that one is
  one feature, not a modality); :func:`list_column_array` checks one column (a ragged
  row, a non-number, an empty vector get a message naming the column and row).
- **Several .npy files**, one (N, d) array per modality, named by the file stem; a file
  named ``label(s).npy``, ``id(s).npy`` or ``group(s).npy`` holds that 1-D vector.
  :func:`from_npy_files` reads each header first (shape and dtype against the memory
  budget, a truncated file, an object array) before loading anything, with
  ``allow_pickle=False``; row counts that differ name every file and its count.

Missing and infinite values, constant modalities and labels go through the shared checks
of :func:`fusion.loaders.assemble._assemble`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion import budget
from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.loaders import assemble
from fusion.loaders.messages import Place

NPY_MAGIC = b"\x93NUMPY"
_ROLES = {
    "label": "labels",
    "labels": "labels",
    "id": "ids",
    "ids": "ids",
    "group": "groups",
    "groups": "groups",
}


def _is_vector(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def list_columns(df: pd.DataFrame, skip: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The columns (not in ``skip``, not ``<modality>__`` prefixed) whose cells are vectors."""
    found = []
    for col in df.columns:
        name = str(col)
        if name in skip or "__" in name or df[col].dtype != object:
            continue
        first = df[col].dropna()
        if len(first) and _is_vector(first.iloc[0]):
            found.append(name)
    return found


def list_column_array(series: pd.Series, column: str, file: str) -> np.ndarray:
    """A vector column as float64 (N, d); a missing cell becomes a row of NaN.

    Raises DataError for a ragged column (naming the first row whose length differs), an
    empty vector, or elements that are not numbers.
    """
    cells = series.tolist()
    lengths = [len(v) if _is_vector(v) else -1 for v in cells]
    present = [n for n in lengths if n >= 0]
    want = present[0] if present else 0
    if want == 0:
        raise DataError("errors.loaders.list_empty", column=column, file=file)
    for i, (cell, n) in enumerate(zip(cells, lengths, strict=True)):
        if n < 0 and not _missing_cell(cell):
            raise DataError(
                "errors.loaders.list_not_vector",
                column=column,
                file=file,
                row=i + 1,
                value=str(cell)[:40],
            )
        if n >= 0 and n != want:
            raise DataError(
                "errors.loaders.list_ragged", column=column, file=file, row=i + 1, got=n, want=want
            )
    assemble._check_total_columns({column: want}, f"'{file}'")
    out = np.full((len(cells), want), np.nan)
    for i, (cell, n) in enumerate(zip(cells, lengths, strict=True)):
        if n < 0:
            continue
        try:
            out[i] = np.asarray(cell, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(
                "errors.loaders.list_not_numbers", column=column, file=file, row=i + 1
            ) from None
    return out


def _missing_cell(cell: Any) -> bool:
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def list_column_arrays(df: pd.DataFrame, columns: list[str], file: str) -> dict[str, np.ndarray]:
    """Each vector column of ``columns`` as one modality's float64 (N, d) array."""
    return {c: list_column_array(df[c], c, file) for c in columns}


def array_place(mod: str, j: int) -> Place:
    """How messages name feature ``j`` of array (or vector column) ``mod``."""
    return Place("array_column", array=mod, index=j)


# -- .npy files -----------------------------------------------------------------------------


def is_npy(data: bytes) -> bool:
    """Whether ``data`` is a NumPy ``.npy`` file (by its magic bytes)."""
    return bytes(data[:6]) == NPY_MAGIC


def _npy_array(data: bytes, display: str, where: str) -> np.ndarray:
    """The array of one .npy file; its header is checked against the budget first."""
    try:
        shape, dtype, header_len = budget._npy_header(io.BytesIO(data))
    except Exception as e:  # header errors of many types
        raise DataError("errors.loaders.npy_unreadable", file=display, error=str(e)[:200]) from None
    if dtype.hasobject:
        raise DataError("errors.loaders.object_array", array=display, where=where)
    values = math.prod(shape)
    if values > budget.max_values():
        raise DataError(
            "errors.loaders.npy_too_big",
            file=display,
            shape=shape,
            values=values,
            budget=budget.max_values(),
        )
    if len(data) < header_len + values * dtype.itemsize:
        raise DataError("errors.loaders.npy_truncated", file=display, shape=shape, dtype=str(dtype))
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # a damaged body
        raise DataError("errors.loaders.npy_unreadable", file=display, error=str(e)[:200]) from None


def _modality_array(arr: np.ndarray, display: str, where: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(
            "errors.loaders.not_numbers", array=display, where=where, dtype=str(arr.dtype)
        )
    if arr.ndim == 1:
        raise DataError("errors.loaders.vector_array", array=display, where=where, shape=arr.shape)
    if arr.ndim == 0 or arr.ndim > 3:
        raise DataError("errors.loaders.too_many_axes", array=display, where=where, shape=arr.shape)
    return arr.astype(np.float64)


@budget.memory_guard
def from_npy_files(
    items: Sequence[tuple[str, bytes]],
    names: Sequence[str] | None = None,
    nan_policy: str = "reject",
) -> PairedData:
    """Paired data from several .npy files: one (N, d) array per modality, row i = pair i.

    ``items`` are (file name, bytes). A modality is named by its file's stem (or by
    ``names``, one per modality file, in order); ``label(s).npy``, ``id(s).npy`` and
    ``group(s).npy`` hold 1-D vectors of those roles.
    """
    assemble._check_policy(nan_policy)
    where = ", ".join(f"'{d}'" for d, _ in items)
    arrays: dict[str, np.ndarray] = {}
    roles: dict[str, np.ndarray] = {}
    sizes: dict[str, int] = {}
    mod_files = [(d, b) for d, b in items if Path(d).stem.lower() not in _ROLES]
    if names is not None and len(names) != len(mod_files):
        raise DataError("errors.loaders.npy_names", n=len(mod_files), given=len(names))
    given = iter(names or [])
    total = 0
    for display, data in items:
        stem = Path(display).stem
        arr = _npy_array(data, display, f"'{display}'")
        total += arr.size
        if total > budget.max_values():
            raise DataError(
                "errors.loaders.npy_too_big",
                file=display,
                shape=arr.shape,
                values=total,
                budget=budget.max_values(),
            )
        sizes[display] = arr.shape[0] if arr.ndim else 0
        role = _ROLES.get(stem.lower())
        if role is not None:
            if arr.ndim == 2 and 1 in arr.shape:
                arr = arr.reshape(-1)
            if arr.ndim != 1:
                raise DataError(
                    "errors.loaders.not_vector", array=stem, where=f"'{display}'", shape=arr.shape
                )
            roles[role] = arr
            continue
        name = (next(given, None) or stem).strip()
        if not name or name in arrays:
            raise DataError("errors.loaders.npy_same_name", name=name, file=display)
        arrays[name] = _modality_array(arr, display, f"'{display}'")
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"'{k}': {v}" for k, v in sizes.items())
        raise DataError("errors.loaders.npy_rows", sizes=shown)
    if len(arrays) < 2:
        raise DataError("errors.loaders.npy_one_modality", where=where, n=len(arrays))
    if next(iter(arrays.values())).shape[0] == 0:
        raise DataError("errors.loaders.npz_empty", where=where, min_rows=MIN_ROWS)
    assemble._check_total_columns({k: int(np.prod(a.shape[1:])) for k, a in arrays.items()}, where)
    ids = assemble._id_strings(roles["ids"]) if "ids" in roles else None
    if ids is not None:
        assemble._check_unique_ids(ids, None, where)
    groups = (
        assemble._group_strings(roles["groups"], "groups", where) if "groups" in roles else None
    )
    return assemble._assemble(
        arrays,
        array_place,
        labels_raw=roles.get("labels"),
        labels_as=Place("array"),
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source={"files": [d for d, _ in items], "format": "npy", "warnings": [], "dropped_rows": 0},
        groups=groups,
    )
