"""Tables into paired data: one table of prefixed or mapped columns, or one file per modality.

:func:`from_table` groups a table's columns into modalities (``<modality>__<column>`` or an
explicit mapping), :func:`suggest_mapping` guesses that mapping and the label, id and group
columns, and :func:`from_files` pairs one table file per modality by row order or by an
id column.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion import budget
from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.loaders.arrays import array_place, list_column_arrays, list_columns
from fusion.loaders.assemble import (
    _assemble,
    _check_policy,
    _check_total_columns,
    _check_unique_ids,
    _columns,
    _group_strings,
    _id_strings,
    _reshape_images,
)
from fusion.loaders.formats import Source
from fusion.loaders.messages import Place, _names, _warn, place_error
from fusion.loaders.tables import _load_table

LABEL_NAMES = ("label", "labels", "class", "y", "target")
ID_NAMES = ("id", "ids", "sample_id")
# A group column names the subject, source image or recording a row belongs to; rows of one
# group always land on the same side of the train/validation split (fusion.data).
GROUP_NAMES = ("group", "groups", "group_id", "subject", "subject_id")
PREFIX_SEP = "__"
# -- one table ------------------------------------------------------------------------------


def _prefix_groups(columns: Sequence[str], skip: set[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for col in columns:
        if col in skip or PREFIX_SEP not in col:
            continue
        mod, rest = col.split(PREFIX_SEP, 1)
        if mod and rest:
            groups.setdefault(mod, []).append(col)
    return groups


def _check_column(
    df: pd.DataFrame, column: str | None, where: str, role: str, modality: str = ""
) -> None:
    """``column`` (the "label", "id" or "group" column, or one of ``modality``) is in ``df``."""
    if column is not None and column not in df.columns:
        place = Place(role, column=column, modality=modality)
        shown = _names(list(df.columns)[:10])
        more = ", ..." if df.shape[1] > 10 else ""
        raise place_error("no_column", where, place, shown=shown, more=more)


def _unique_columns(df: pd.DataFrame, where: str) -> list[str]:
    """The column names as strings; duplicates (also after str()) raise DataError."""
    columns = [str(c) for c in df.columns]
    dups = sorted(c for c, k in Counter(columns).items() if k > 1)
    if dups:
        raise DataError("errors.loaders.duplicate_columns", where=where, columns=_names(dups[:5]))
    return columns


@budget.memory_guard
def from_table(
    df: pd.DataFrame,
    modalities: dict[str, list[str]] | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    nan_policy: str = "reject",
    source_name: str = "table",
    image_shapes: dict[str, Sequence[int]] | None = None,
    group_column: str | None = None,
) -> PairedData:
    """Paired data from one table whose columns are grouped into modalities.

    ``modalities`` maps a modality name to its columns; None groups columns
    named ``<modality>__<column>`` by prefix (other columns, apart from the
    label and id columns, are ignored with a warning). ``image_shapes`` maps a
    modality to (H, W) to reshape its flat columns into images. Labels may be
    numbers or strings (class names, sorted); ids are kept as strings.
    ``group_column`` names each row's group (subject, source image): the split keeps a
    group on one side.
    nan_policy: "reject" (error naming the first bad cell) or "drop" (drop the
    rows, counted in ``source["dropped_rows"]``).
    """
    assert isinstance(df, pd.DataFrame), f"from_table needs a DataFrame, got {type(df)}"
    _check_policy(nan_policy)
    where = f"'{source_name}'"
    if df.shape[1] == 0:
        raise DataError("errors.loaders.table_no_columns", where=where, min_rows=MIN_ROWS)
    if df.shape[0] == 0:
        raise DataError("errors.loaders.table_no_rows", where=where, min_rows=MIN_ROWS)
    columns = _unique_columns(df, where)
    df = df.set_axis(columns, axis=1)
    _check_column(df, label_column, where, "label")
    _check_column(df, id_column, where, "id")
    _check_column(df, group_column, where, "group")
    if label_column is not None and label_column == id_column:
        raise DataError("errors.loaders.label_is_id", column=label_column)
    if group_column is not None and group_column in (label_column, id_column):
        raise DataError("errors.loaders.group_is_other", column=group_column)
    reserved = {c for c in (label_column, id_column, group_column) if c is not None}

    source: dict[str, Any] = {
        "files": [source_name],
        "format": df.attrs.get("format", "table"),
        "warnings": [],
        "dropped_rows": 0,
    }
    if "encoding" in df.attrs:
        source["encoding"] = df.attrs["encoding"]
    vectors = list_columns(df, reserved) if modalities is None else []
    if not vectors:
        modalities = _table_modalities(df, columns, modalities, reserved, where, source)
        _check_modality_count(modalities, where)
    elif len(vectors) < 2:
        raise DataError("errors.loaders.list_one_column", where=where, column=vectors[0])

    ids = None
    if id_column is not None:
        ids = _id_strings(df[id_column])
        _check_unique_ids(ids, id_column, where)

    groups = None
    if group_column is not None:
        groups = _group_strings(df[group_column], group_column, where)

    if vectors:  # one vector column per modality (embeddings as researchers keep them)
        _warn_ignored(columns, set(vectors) | reserved, source)
        arrays = list_column_arrays(df, vectors, source_name)
        column_name = array_place
    else:
        assert modalities is not None
        arrays = {mod: _columns(df, cols, source_name, ids) for mod, cols in modalities.items()}
        names = {mod: list(cols) for mod, cols in modalities.items()}

        def column_name(mod: str, j: int) -> Place:
            return Place("column", column=names[mod][j])

    arrays = _reshape_images(arrays, image_shapes, where)
    return _assemble(
        arrays,
        column_name,
        labels_raw=None if label_column is None else df[label_column].to_numpy(),
        labels_as=Place("column", column=label_column or ""),
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source=source,
        groups=groups,
    )


def _table_modalities(
    df: pd.DataFrame,
    columns: list[str],
    modalities: dict[str, list[str]] | None,
    reserved: set[str],
    where: str,
    source: dict[str, Any],
) -> dict[str, list[str]]:
    """The columns of each modality: ``modalities`` checked, or grouped by prefix (None)."""
    if modalities is None:
        modalities = _prefix_groups(columns, reserved)
        if not modalities:
            guess = suggest_mapping(df)["modalities"]
            if guess:
                raise DataError(
                    "errors.loaders.no_prefixes_guess", where=where, guess=_mapping_text(guess)
                )
            raise DataError("errors.loaders.no_prefixes", where=where)
        _warn_ignored(columns, {c for cols in modalities.values() for c in cols} | reserved, source)
    else:
        owner: dict[str, str] = {}
        for mod, cols in modalities.items():
            if not isinstance(mod, str) or not mod:
                raise DataError("errors.loaders.bad_modality_name", name=mod)
            if isinstance(cols, str) or not cols:
                raise DataError("errors.loaders.bad_modality_columns", modality=mod, columns=cols)
            for c in cols:
                _check_column(df, c, where, "modality", mod)
                if c in reserved:
                    raise DataError("errors.loaders.reserved_column", column=c, modality=mod)
                if c in owner:
                    raise DataError(
                        "errors.loaders.column_in_two", column=c, first=owner[c], second=mod
                    )
                owner[c] = mod
    return modalities


def _warn_ignored(columns: list[str], used: set[str], source: dict[str, Any]) -> None:
    """A warning naming the columns no modality, label, id or group takes."""
    ignored = [c for c in columns if c not in used]
    if ignored:
        _warn(
            source,
            "messages.loaders.ignored_columns",
            n=len(ignored),
            columns=_names(ignored[:5]),
            more=", ..." if len(ignored) > 5 else "",
        )


def _check_modality_count(modalities: dict[str, list[str]], where: str) -> None:
    """At least two modalities, at most MAX_TOTAL_COLUMNS features in all."""
    if not modalities:
        raise DataError("errors.loaders.no_modalities", where=where)
    if len(modalities) < 2:
        raise DataError(
            "errors.loaders.one_modality",
            where=where,
            n=len(modalities),
            names=", ".join(modalities),
        )
    _check_total_columns({m: len(c) for m, c in modalities.items()}, where)


def _mapping_text(mapping: dict[str, list[str]]) -> str:
    parts = []
    for mod, cols in mapping.items():
        shown = ", ".join(cols[:3]) + (", ..." if len(cols) > 3 else "")
        parts.append(f"{mod}: [{shown}]")
    return "; ".join(parts)


def suggest_mapping(df: pd.DataFrame) -> dict[str, Any]:
    """A starting column mapping for a table, for a UI to show and let the user edit.

    Returns {"modalities": {name: [columns]}, "label_column": str | None,
    "id_column": str | None, "group_column": str | None, "method": how the
    modalities were found}. Label: a column named label/labels/class/y/target;
    id: id/ids/sample_id when its values are unique; group: group/groups/
    group_id/subject/subject_id. Modalities: by '<modality>__' prefix; else by a shared
    name stem before a number ('img_0', 'img_1', ... / 'txt0', ...); else the
    numeric columns split into two halves "a" and "b" (a guess to confirm).
    """
    columns = _unique_columns(df, f"'{df.attrs.get('file', 'table')}'")
    df = df.set_axis(columns, axis=1)
    lower = {c.lower(): c for c in reversed(columns)}
    label = next((lower[n] for n in LABEL_NAMES if n in lower), None)
    id_col = None
    for n in ID_NAMES:
        c = lower.get(n)
        if c is not None and c != label:
            ids = _id_strings(df[c])
            if (ids != "").all() and len(np.unique(ids)) == len(ids):
                id_col = c
                break
    group = next(
        (lower[n] for n in GROUP_NAMES if n in lower and lower[n] not in (label, id_col)), None
    )
    reserved = {c for c in (label, id_col, group) if c is not None}
    # A column named like an id, a label or a group is never a good guess for a feature.
    named_like = {c for c in columns if c.lower() in LABEL_NAMES + ID_NAMES + GROUP_NAMES}

    groups = _prefix_groups(columns, reserved)
    method = "prefix"
    if len(groups) < 2:
        numeric = [
            c
            for c in columns
            if c not in reserved | named_like
            and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        ]
        stems: dict[str, list[str]] = {}
        for c in numeric:
            m = re.fullmatch(r"(.*?)[_\-. ]*\d+", c)
            if m and m.group(1):
                stems.setdefault(m.group(1), []).append(c)
        if len(stems) >= 2:
            groups, method = stems, "stem"
        elif len(numeric) >= 2:
            half = (len(numeric) + 1) // 2
            groups, method = {"a": numeric[:half], "b": numeric[half:]}, "split"
        else:  # "one": a single numeric column cannot make two modalities
            groups, method = {}, "one" if numeric else "none"
    return {
        "modalities": groups,
        "label_column": label,
        "id_column": id_col,
        "group_column": group,
        "method": method,
    }


# -- one file per modality -------------------------------------------------------------------


def _describe_sources(displays: list[str]) -> str:
    return ", ".join(f"'{d}'" for d in displays)


@budget.memory_guard
def from_files(
    paths_or_buffers: Sequence[Source],
    names: Sequence[str] | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    nan_policy: str = "reject",
    image_shapes: dict[str, Sequence[int]] | None = None,
    group_column: str | None = None,
) -> PairedData:
    """Paired data from one table file per modality.

    Files are paired by row order, or, with ``id_column`` (present in every
    file), by an inner join on the ids in the first file's order; ids without a
    partner are left out with a warning. ``names`` are the modality names
    (default: the file names without extension). ``label_column`` may be in any
    one file (or in several with identical values); so may ``group_column``
    (taken from the first file that has it). Every other column of a file is a
    feature of its modality.
    """
    _check_policy(nan_policy)
    tables, displays, names = _read_tables(paths_or_buffers, names)

    if id_column is not None:
        for t, d in zip(tables, displays, strict=True):
            _check_column(t, id_column, f"'{d}'", "id")
    label_files = [i for i, t in enumerate(tables) if label_column in t.columns]
    if label_column is not None and not label_files:
        raise DataError(
            "errors.loaders.label_in_no_file",
            column=label_column,
            files=_describe_sources(displays),
        )

    # The group column, like the label column, may be in any one file (the first is used).
    group_files = [i for i, t in enumerate(tables) if group_column in t.columns]
    if group_column is not None and not group_files:
        files = _describe_sources(displays)
        raise DataError("errors.loaders.group_in_no_file", column=group_column, files=files)

    fmt = sorted({t.attrs.get("format", "table") for t in tables})
    source: dict[str, Any] = {
        "files": displays,
        "format": fmt[0] if len(fmt) == 1 else "+".join(fmt),
        "warnings": [],
        "dropped_rows": 0,
    }
    tables, ids = _pair_rows(tables, displays, id_column, source)

    labels_raw, labels_as = _file_labels(tables, displays, label_column, label_files)

    groups = None
    if group_column is not None:
        first = group_files[0]
        groups = _group_strings(tables[first][group_column], group_column, f"'{displays[first]}'")

    features: dict[str, list[str]] = {}
    for mod, t, d in zip(names, tables, displays, strict=True):
        cols = [c for c in t.columns if c not in (id_column, label_column, group_column)]
        if not cols:
            raise DataError("errors.loaders.no_features", file=d)
        features[mod] = cols
    _check_total_columns({m: len(c) for m, c in features.items()}, None)

    arrays = {
        mod: _columns(t, cols, d, ids)
        for (mod, cols), t, d in zip(features.items(), tables, displays, strict=True)
    }
    arrays = _reshape_images(arrays, image_shapes, None)
    file_of = dict(zip(names, displays, strict=True))
    return _assemble(
        arrays,
        lambda mod, j: Place("file_column", column=features[mod][j], file=file_of[mod]),
        labels_raw=labels_raw,
        labels_as=labels_as,
        ids=ids,
        nan_policy=nan_policy,
        where=_describe_sources(displays),
        source=source,
        groups=groups,
    )


# -- NPZ ----------------------------------------------------------------------------------


def _read_tables(
    paths_or_buffers: Sequence[Source], names: Sequence[str] | None
) -> tuple[list[pd.DataFrame], list[str], list[str]]:
    """The tables, their display names and the modality names (default: the file stems)."""
    if isinstance(paths_or_buffers, (str, Path, bytes)):
        paths_or_buffers = [paths_or_buffers]
    tables: list[pd.DataFrame] = []
    spent = 0  # values read so far: the budget holds for the upload, not for each file
    for p in paths_or_buffers:
        tables.append(_load_table(p, already=spent))
        spent += tables[-1].size
    displays = [t.attrs["file"] for t in tables]
    if names is None:
        names = []
        for d in displays:
            stem = Path(d).stem or "modality"
            names.append(stem if stem not in names else f"{stem}_{len(names) + 1}")
    names = [str(n) for n in names]
    if len(names) != len(tables):
        raise DataError("errors.loaders.names_count", n_names=len(names), n_files=len(tables))
    if len(set(names)) != len(names) or not all(names):
        raise DataError("errors.loaders.names_not_unique", names=names)
    if len(tables) < 2:
        raise DataError("errors.loaders.one_file", n=len(tables), files=_describe_sources(displays))

    return tables, displays, names


def _pair_rows(
    tables: list[pd.DataFrame], displays: list[str], id_column: str | None, source: dict[str, Any]
) -> tuple[list[pd.DataFrame], np.ndarray | None]:
    """The tables' rows paired: by row order (equal counts), or by an inner join on the ids in
    the first file's order; ids without a partner are left out with a warning."""
    if id_column is None:
        counts = [len(t) for t in tables]
        if len(set(counts)) > 1:
            if len(tables) == 2:
                raise DataError(
                    "errors.loaders.row_counts.two",
                    file_a=displays[0],
                    n_a=counts[0],
                    file_b=displays[1],
                    n_b=counts[1],
                )
            sizes = ", ".join(f"'{d}': {c}" for d, c in zip(displays, counts, strict=True))
            raise DataError("errors.loaders.row_counts.many", sizes=sizes)
        ids = None
    else:
        per_file = []
        for t, d in zip(tables, displays, strict=True):
            file_ids = _id_strings(t[id_column])
            _check_unique_ids(file_ids, id_column, f"'{d}'")
            per_file.append(file_ids)
        common = set(per_file[0]).intersection(*per_file[1:])
        if not common:
            if len(tables) == 2:
                raise DataError(
                    "errors.loaders.no_common_ids.two",
                    column=id_column,
                    file_a=displays[0],
                    ids_a=_names(per_file[0][:3]),
                    file_b=displays[1],
                    ids_b=_names(per_file[1][:3]),
                )
            examples = "; ".join(
                f"'{d}': {_names(fid[:3])}" for d, fid in zip(displays, per_file, strict=True)
            )
            raise DataError(
                "errors.loaders.no_common_ids.many", column=id_column, examples=examples
            )
        ids = np.array([i for i in per_file[0] if i in common])
        for d, fid in zip(displays, per_file, strict=True):
            unmatched = [i for i in fid if i not in common]
            if unmatched:
                _warn(
                    source,
                    "messages.loaders.unmatched_ids",
                    file=d,
                    n=len(unmatched),
                    examples=_names(unmatched[:3]),
                )
        tables = [
            t.set_axis(fid, axis=0).loc[ids].reset_index(drop=True)
            for t, fid in zip(tables, per_file, strict=True)
        ]
    return tables, ids


def _file_labels(
    tables: list[pd.DataFrame],
    displays: list[str],
    label_column: str | None,
    label_files: list[int],
) -> tuple[np.ndarray | None, Place]:
    """The labels from the first file that has them; other files must agree."""
    labels_raw = None
    labels_as = Place("file_column")
    if label_column is not None:
        first = label_files[0]
        labels_raw = tables[first][label_column].to_numpy()
        labels_as = Place("file_column", column=label_column, file=displays[first])
        for i in label_files[1:]:
            other = tables[i][label_column].to_numpy()
            if not np.array_equal(_id_strings(labels_raw), _id_strings(other)):
                raise DataError(
                    "errors.loaders.labels_differ",
                    column=label_column,
                    file_a=displays[first],
                    file_b=displays[i],
                )
    return labels_raw, labels_as
