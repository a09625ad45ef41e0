"""Reading an NPZ archive: one array per modality, plus optional labels, ids and groups.

Opened with ``allow_pickle=False``, so object arrays are refused with a message that says
how to store strings; declared shapes are checked against the memory budget before the
arrays are inflated.
"""

from __future__ import annotations

import io

import numpy as np

from fusion import budget
from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.loaders.assemble import (
    _assemble,
    _check_policy,
    _check_total_columns,
    _check_unique_ids,
    _group_strings,
    _id_strings,
)
from fusion.loaders.formats import Source, _detect, _read_source
from fusion.loaders.messages import Place


@budget.memory_guard
def load_npz(obj: Source, name: str | None = None, nan_policy: str = "reject") -> PairedData:
    """Paired data from an NPZ archive: one array per modality.

    Arrays are (N, d) features or (N, H, W) images; ``label``/``labels``,
    ``id``/``ids`` and ``group``/``groups`` arrays (N,) are optional. Opened with allow_pickle=False, so
    object arrays are refused: store strings as a fixed-width unicode array
    (``np.array(names, dtype=str)``).
    """
    _check_policy(nan_policy)
    data, display = _read_source(obj, name)
    fmt = _detect(data, display)
    if fmt != "npz":
        raise DataError("errors.loaders.table_not_npz", file=display, format=fmt.upper())
    budget.check_npz(data, display)  # declared shapes against the budget, before inflating
    where = f"'{display}'"
    arrays: dict[str, np.ndarray] = {}
    labels_raw = ids = groups = None
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # zip and format errors of many types
        raise DataError("errors.loaders.unreadable_npz", where=where, error=str(e)) from None
    with archive:
        for key in archive.files:
            try:
                arr = archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    raise DataError("errors.loaders.object_array", array=key, where=where) from None
                raise DataError(
                    "errors.loaders.unreadable_array", array=key, where=where, error=str(e)
                ) from None
            except Exception as e:
                raise DataError(
                    "errors.loaders.truncated_array", array=key, where=where, error=str(e)
                ) from None
            if key in ("label", "labels"):
                labels_raw = _vector(arr, key, where)
            elif key in ("id", "ids"):
                ids = _id_strings(_vector(arr, key, where))
            elif key in ("group", "groups"):
                groups = _group_strings(_vector(arr, key, where), key, where)
            else:
                arrays[key] = _npz_features(arr, key, where)

    lengths = {k: a.shape[0] for k, a in arrays.items()}
    if labels_raw is not None:
        lengths["labels"] = len(labels_raw)
    if ids is not None:
        lengths["ids"] = len(ids)
    if groups is not None:
        lengths["groups"] = len(groups)
    if len(set(lengths.values())) > 1:
        sizes = ", ".join(f"'{k}': {v}" for k, v in lengths.items())
        raise DataError("errors.loaders.array_lengths", where=where, sizes=sizes)
    if not arrays:
        raise DataError("errors.loaders.npz_no_modalities", where=where)
    if len(arrays) < 2:
        raise DataError(
            "errors.loaders.npz_one_modality", where=where, n=len(arrays), names=", ".join(arrays)
        )
    if next(iter(arrays.values())).shape[0] == 0:
        raise DataError("errors.loaders.npz_empty", where=where, min_rows=MIN_ROWS)
    _check_total_columns({k: int(np.prod(a.shape[1:])) for k, a in arrays.items()}, where)
    if ids is not None:
        _check_unique_ids(ids, None, where)

    def column_name(mod: str, j: int) -> Place:
        shape = arrays[mod].shape
        if len(shape) == 3:
            return Place("array_pixel", array=mod, y=j // shape[2], x=j % shape[2])
        return Place("array_column", array=mod, index=j)

    return _assemble(
        arrays,
        column_name,
        labels_raw=labels_raw,
        labels_as=Place("array"),
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source={"files": [display], "format": "npz", "warnings": [], "dropped_rows": 0},
        groups=groups,
    )


def _vector(arr: np.ndarray, key: str, where: str) -> np.ndarray:
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DataError("errors.loaders.not_vector", array=key, where=where, shape=arr.shape)
    return arr


def _npz_features(arr: np.ndarray, key: str, where: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError("errors.loaders.not_numbers", array=key, where=where, dtype=str(arr.dtype))
    if arr.ndim == 0:
        raise DataError("errors.loaders.scalar_array", array=key, where=where)
    if arr.ndim == 1:
        raise DataError("errors.loaders.vector_array", array=key, where=where, shape=arr.shape)
    if arr.ndim > 3:
        raise DataError("errors.loaders.too_many_axes", array=key, where=where, shape=arr.shape)
    return arr.astype(np.float64)
