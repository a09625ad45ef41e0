"""Columns into arrays, and the checks every loader shares before building PairedData.

:func:`_assemble` takes each modality's array (from a table, several files or an NPZ)
and applies the same rules to all: a column without values, a value beyond float32 and a
missing cell are errors that name the place (or, with ``nan_policy="drop"``, the rows are
dropped with a warning); too few rows, or a modality of constant columns, are errors;
labels become class indices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.loaders.messages import (
    Place,
    _fmt_value,
    _id_note,
    _names,
    _preview_name,
    _q,
    _warn,
    place_error,
)

MAX_TOTAL_COLUMNS = 20_000  # beyond this, training a playground model is hopeless
NAN_POLICIES = ("reject", "drop")
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # PairedData stores float32


def _numeric(series: pd.Series, column: str, file: str, ids: np.ndarray | None) -> np.ndarray:
    """Column as float64 (N,), missing values as NaN; non-numbers raise DataError."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        raise DataError("errors.loaders.dates", column=column, file=file)
    first = series.dropna()
    if len(first) and isinstance(first.iloc[0], (list, tuple, dict, np.ndarray)):
        raise DataError("errors.loaders.nested_values", column=column, file=file)
    converted = pd.to_numeric(series, errors="coerce")
    bad = series.notna().to_numpy() & converted.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        value = series.iloc[i]
        row, id_note, shown, n_bad = i + 1, _id_note(i, ids), _fmt_value(value), int(bad.sum())
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+,\d+\s*", value):
            raise DataError(
                "errors.loaders.decimal_comma",
                column=column,
                file=file,
                row=row,
                id_note=id_note,
                value=shown,
                n_bad=n_bad,
            )
        raise DataError(
            "errors.loaders.not_numeric",
            column=column,
            file=file,
            row=row,
            id_note=id_note,
            value=shown,
            n_bad=n_bad,
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def _columns(df: pd.DataFrame, cols: list[str], file: str, ids: np.ndarray | None) -> np.ndarray:
    """float64 (N, len(cols)) from table columns of ``file``; non-numeric ones raise DataError."""
    block = df[cols]
    if all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
        return block.to_numpy(dtype="float64", na_value=np.nan)
    return np.column_stack([_numeric(df[c], c, file, ids) for c in cols])


def _missing(values: pd.Series | np.ndarray) -> np.ndarray:
    """Boolean (N,): NaN/None or blank strings."""
    s = pd.Series(values)
    blank = s.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    return s.isna().to_numpy(dtype=bool) | blank


def _id_strings(values: pd.Series | np.ndarray) -> np.ndarray:
    """Ids as strings; integral floats (an int column with NaNs) lose their '.0'."""
    s = pd.Series(values)
    if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna(), 1) == 0):
        return np.array([str(int(v)) if pd.notna(v) else "" for v in s])
    return np.array(["" if pd.isna(v) else str(v).strip() for v in s])


def _check_unique_ids(ids: np.ndarray, column: str | None, where: str) -> None:
    """Ids are non-empty and unique; ``column`` names the id column (None: the 'ids' array)."""
    place = Place("array") if column is None else Place("column", column=column)
    empty = np.flatnonzero(ids == "")
    if len(empty):
        raise place_error("ids_empty", where, place, row=int(empty[0]) + 1, n_empty=len(empty))
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise place_error(
            "ids_duplicate",
            where,
            place,
            id=str(dup[0]),
            count=int(counts[counts > 1][0]),
            n_repeated=len(dup),
        )


def _group_strings(values: pd.Series | np.ndarray, column: str, where: str) -> np.ndarray:
    """A group column's values as strings; an empty cell is an error that names its row."""
    groups = _id_strings(values)
    empty = np.flatnonzero(groups == "")
    if len(empty):
        raise DataError(
            "errors.loaders.missing_group",
            where=where,
            column=column,
            row=int(empty[0]) + 1,
            n=len(empty),
        )
    return groups


# -- labels, missing values, constant columns: shared by tables and NPZ --------------------


def _encode_labels(
    raw: np.ndarray, lab: Place, source: dict[str, Any], where: str
) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and sorted display names; numbers sort numerically.

    ``lab`` says how messages name the labels, ``where`` the file(s) they come from; soft
    problems are recorded in ``source`` (see :func:`_warn`).
    """
    s = pd.Series(raw)
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype="float64")
        classes = np.unique(values)
        names = [str(int(c)) if float(c).is_integer() else str(c) for c in classes]
        labels = np.searchsorted(classes, values)
    else:
        strings = np.array([str(v).strip() for v in s], dtype=object)
        names = sorted(set(strings))
        index = {n: i for i, n in enumerate(names)}
        labels = np.array([index[v] for v in strings], dtype=np.int64)
    if len(names) < 2:
        raise place_error("single_class", where, lab, name=names[0])
    counts = np.bincount(labels, minlength=len(names))
    lonely = [names[c] for c in np.flatnonzero(counts == 1)]
    if lonely:
        n, shown = len(lonely), ", ".join(map(repr, lonely[:5]))
        if lab.kind == "column":
            _warn(
                source,
                "messages.loaders.lonely_classes.column",
                column=lab.column,
                n=n,
                names=shown,
            )
        elif lab.kind == "file_column":
            _warn(
                source,
                "messages.loaders.lonely_classes.file_column",
                column=lab.column,
                file=lab.file,
                n=n,
                names=shown,
            )
        else:
            _warn(source, "messages.loaders.lonely_classes.array", where=where, n=n, names=shown)
    return labels.astype(np.int64), names


def _assemble(
    arrays: dict[str, np.ndarray],
    column_name: Callable[[str, int], Place],
    *,
    labels_raw: np.ndarray | None,
    labels_as: Place,
    ids: np.ndarray | None,
    nan_policy: str,
    where: str,
    source: dict[str, Any],
    extra_texts: dict[str, list[str]] | None = None,
    groups: np.ndarray | None = None,
) -> PairedData:
    """Shared checks and PairedData construction for tables and NPZ archives.

    arrays: modality -> float64 (N, d) or (N, H, W); column_name(modality, j)
    names flat column j in messages, ``labels_as`` the labels; ids are strings or None.
    """
    source.setdefault("warnings", [])
    bad, first_bad = _bad_rows(arrays, column_name, labels_raw, ids, where)
    dropped = 0
    if bad.any():
        assert first_bad is not None
        if nan_policy == "reject":
            i, column, value = first_bad
            row, id_note, n_bad = i + 1, _id_note(i, ids), int(bad.sum())
            if column is None:
                raise place_error(
                    "missing_label", where, labels_as, row=row, id_note=id_note, n_bad=n_bad
                )
            raise place_error(
                "missing_cell", where, column, value=value, row=row, id_note=id_note, n_bad=n_bad
            )
        keep = ~bad
        dropped = int(bad.sum())
        arrays = {k: v[keep] for k, v in arrays.items()}
        labels_raw = None if labels_raw is None else np.asarray(labels_raw)[keep]
        ids = None if ids is None else ids[keep]
        groups = None if groups is None else groups[keep]
        extra_texts = {
            k: [t for t, ok in zip(v, keep, strict=True) if ok]
            for k, v in (extra_texts or {}).items()
        }
        if ids is None:  # keep the original row numbers, so dropped rows can be found
            ids = np.flatnonzero(keep).astype(str)
        _warn(source, "messages.loaders.dropped_rows", n=dropped)
    source["dropped_rows"] = dropped
    _check_rows_left(next(iter(arrays.values())).shape[0], dropped, where)
    _check_constant(arrays, column_name, source, where)

    labels = label_names = None
    if labels_raw is not None:
        labels, label_names = _encode_labels(np.asarray(labels_raw), labels_as, source, where)

    return PairedData(
        modalities=arrays,
        labels=labels,
        label_names=label_names,
        ids=ids,
        texts=extra_texts or {},
        source=source,
        groups=groups,
    )


def _bad_rows(
    arrays: dict[str, np.ndarray],
    column_name: Callable[[str, int], Place],
    labels_raw: np.ndarray | None,
    ids: np.ndarray | None,
    where: str,
) -> tuple[np.ndarray, tuple[int, Place | None, str] | None]:
    """Rows with a missing value or label (N,) and the first such cell: (row, column, value);
    column None: the label. An empty column or a value beyond float32 raises DataError."""
    n = next(iter(arrays.values())).shape[0]
    bad = np.zeros(n, dtype=bool)
    first_bad: tuple[int, Place | None, str] | None = None
    for mod, arr in arrays.items():
        flat = arr.reshape(n, -1)
        finite = np.isfinite(flat)
        empty = np.flatnonzero(~finite.any(axis=0))
        if len(empty):
            raise place_error("no_values", where, column_name(mod, int(empty[0])))
        huge = np.argwhere(finite & (np.abs(flat) > _FLOAT32_MAX))
        if len(huge):
            i, j = (int(v) for v in huge[0])
            raise place_error(
                "beyond_float32",
                where,
                column_name(mod, j),
                value=float(flat[i, j]),
                row=i + 1,
                id_note=_id_note(i, ids),
                limit=_FLOAT32_MAX,
            )
        rows = ~finite.all(axis=1)
        if rows.any():
            i = int(np.argmax(rows))
            j = int(np.argmax(~finite[i]))
            if first_bad is None or i < first_bad[0]:
                first_bad = (i, column_name(mod, j), _fmt_value(flat[i, j]))
            bad |= rows
    if labels_raw is not None:
        missing = _missing(labels_raw)
        if missing.any():
            i = int(np.argmax(missing))
            if first_bad is None or i < first_bad[0]:
                first_bad = (i, None, "")
            bad |= missing
    return bad, first_bad


def _check_rows_left(n: int, dropped: int, where: str) -> None:
    """At least MIN_ROWS rows, once ``dropped`` rows with missing values are gone."""
    if n >= MIN_ROWS:
        return
    if dropped and n == 1:
        raise DataError(
            "errors.loaders.too_few_rows.one_after_drop",
            where=where,
            dropped=dropped,
            min_rows=MIN_ROWS,
        )
    if dropped:
        raise DataError(
            "errors.loaders.too_few_rows.many_after_drop",
            where=where,
            n=n,
            dropped=dropped,
            min_rows=MIN_ROWS,
        )
    if n == 1:
        raise DataError("errors.loaders.too_few_rows.one", where=where, min_rows=MIN_ROWS)
    raise DataError("errors.loaders.too_few_rows.many", where=where, n=n, min_rows=MIN_ROWS)


def _check_constant(
    arrays: dict[str, np.ndarray],
    column_name: Callable[[str, int], Place],
    source: dict[str, Any],
    where: str,
) -> None:
    """A modality with only constant columns raises DataError; some constant: a warning."""
    for mod, arr in arrays.items():
        flat = arr.reshape(arr.shape[0], -1)
        constant = np.flatnonzero(np.ptp(flat, axis=0) == 0)
        if len(constant) == flat.shape[1]:
            raise DataError("errors.loaders.constant_modality", where=where, modality=mod)
        if len(constant):
            given = [column_name(mod, int(j)).short() for j in constant[:3]]
            shown = [_q(_preview_name(mod, int(j), arr.shape)) for j in constant[:3]]
            renamed = given != shown  # the preview names it <modality>__<j>: say both
            _warn(
                source,
                "messages.loaders.constant_columns_renamed"
                if renamed
                else "messages.loaders.constant_columns",
                modality=mod,
                n=len(constant),
                total=flat.shape[1],
                columns=", ".join(given),
                more=", ..." if len(constant) > 3 else "",
                **({"preview": ", ".join(shown)} if renamed else {}),
            )


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in NAN_POLICIES:
        raise DataError("errors.loaders.bad_nan_policy", value=nan_policy)


def _check_total_columns(counts: dict[str, int], where: str | None) -> None:
    """At most MAX_TOTAL_COLUMNS features; ``where`` names the file (None: several files)."""
    total = sum(counts.values())
    if total > MAX_TOTAL_COLUMNS:
        sizes = ", ".join(f"{k}: {v}" for k, v in counts.items())
        if where is None:
            raise DataError(
                "errors.loaders.too_many_columns.files",
                total=total,
                sizes=sizes,
                limit=MAX_TOTAL_COLUMNS,
            )
        raise DataError(
            "errors.loaders.too_many_columns.one",
            where=where,
            total=total,
            sizes=sizes,
            limit=MAX_TOTAL_COLUMNS,
        )


def _reshape_images(
    arrays: dict[str, np.ndarray], image_shapes: dict[str, Sequence[int]] | None, where: str | None
) -> dict[str, np.ndarray]:
    """Flat columns reshaped to (H, W) images; ``where`` names the file (None: several files)."""
    for mod, shape in (image_shapes or {}).items():
        if mod not in arrays:
            known = _names(arrays)
            if where is None:
                raise DataError(
                    "errors.loaders.image_shapes_unknown.files", modality=mod, modalities=known
                )
            raise DataError(
                "errors.loaders.image_shapes_unknown.one",
                modality=mod,
                where=where,
                modalities=known,
            )
        h, w = (int(v) for v in shape)
        flat = arrays[mod].reshape(arrays[mod].shape[0], -1)
        if h * w != flat.shape[1]:
            if where is None:
                raise DataError(
                    "errors.loaders.image_shape_mismatch.files",
                    h=h,
                    w=w,
                    modality=mod,
                    expected=h * w,
                    got=flat.shape[1],
                )
            raise DataError(
                "errors.loaders.image_shape_mismatch.one",
                where=where,
                h=h,
                w=w,
                modality=mod,
                expected=h * w,
                got=flat.shape[1],
            )
        arrays[mod] = flat.reshape(-1, h, w)
    return arrays


# -- one table ------------------------------------------------------------------------------
