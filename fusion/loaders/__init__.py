"""Read a user's files into :class:`~fusion.data.PairedData`.

Accepted formats: CSV, TSV, Parquet, NPZ and ``.npy``. Tables either hold every modality
in one file, with columns named ``<modality>__<column>`` (or an explicit
mapping) or one vector (list) column per modality, or come one file per modality, paired
by row order or by an id column. An NPZ archive holds one array per modality, (N, d)
features or (N, H, W) images, plus optional ``label(s)`` and ``id(s)`` arrays; several
``.npy`` files hold one array each (``arrays``: vector columns and ``.npy`` files).

Files are read as bytes first and their content is sniffed, so a mislabelled
file (an Excel workbook named ``.csv``, Parquet named ``.csv``, binary data)
gets a clear message instead of a parser traceback. Pickles are never loaded:
NPZ is opened with ``allow_pickle=False`` and ``pd.read_pickle`` is not used.
Files larger than the memory budget allows even as text
(:func:`fusion.budget.max_file_bytes`) are refused before they are read, and files whose
content declares more values than the memory budget (NPZ headers, Parquet metadata, CSV rows; see :mod:`fusion.budget`) before it is
parsed; a ``MemoryError`` while loading becomes a :class:`~fusion.errors.DataError`.

Everything a user can get wrong raises :class:`~fusion.errors.DataError` whose
message names the file, column or row and the fix. Softer problems (constant
columns, classes with one sample, ids without a partner) are collected in
``source["warnings"]`` (English) and ``source["warning_messages"]`` (catalogue keys
and parameters); :func:`localized_warnings` gives them in a page's language.

Public API: :func:`load`, :func:`load_table`, :func:`load_npz`, :func:`from_npy_files`,
:func:`from_table`, :func:`from_files`, :func:`suggest_mapping`,
:func:`detect_format`, :func:`localized_warnings`. The modules: ``formats`` (bytes and
sniffing), ``tables`` (CSV/TSV/Parquet into DataFrames), ``mapping`` (tables into paired
data), ``npz``, ``assemble`` (the checks every loader shares) and ``messages`` (warnings
and the one builder of errors that name a column, the labels or the ids).
"""

from __future__ import annotations

from collections.abc import Sequence

from fusion import budget
from fusion.budget import max_file_bytes
from fusion.data import PairedData
from fusion.errors import DataError
from fusion.loaders.arrays import from_npy_files, is_npy, list_columns
from fusion.loaders.assemble import MAX_TOTAL_COLUMNS, NAN_POLICIES
from fusion.loaders.formats import (
    Source,
    _detect,
    _is_named_buffer,
    _read_source,
    detect_format,
)
from fusion.loaders.mapping import (
    GROUP_NAMES,
    ID_NAMES,
    LABEL_NAMES,
    PREFIX_SEP,
    from_files,
    from_table,
    suggest_mapping,
)
from fusion.loaders.messages import localized_warnings
from fusion.loaders.npz import load_npz
from fusion.loaders.tables import load_table

__all__ = [
    "GROUP_NAMES",
    "ID_NAMES",
    "LABEL_NAMES",
    "max_file_bytes",
    "MAX_TOTAL_COLUMNS",
    "NAN_POLICIES",
    "PREFIX_SEP",
    "Source",
    "detect_format",
    "from_files",
    "from_npy_files",
    "is_npy",
    "list_columns",
    "from_table",
    "load",
    "load_npz",
    "load_table",
    "localized_warnings",
    "suggest_mapping",
]


# -- entry point ------------------------------------------------------------------------------


@budget.memory_guard
def load(
    paths: Source | Sequence[Source],
    *,
    modalities: dict[str, list[str]] | None = None,
    label_column: str | None = "auto",
    id_column: str | None = "auto",
    nan_policy: str = "reject",
    image_shapes: dict[str, Sequence[int]] | None = None,
    names: Sequence[str] | None = None,
    sep: str | None = None,
    group_column: str | None = "auto",
) -> PairedData:
    """Load paired data from one file (a table or NPZ) or one table file per modality.

    One path: an NPZ archive (see :func:`load_npz`) or a table (see
    :func:`from_table`; ``modalities`` and ``sep`` apply). Several: one file per
    modality (see :func:`from_files`; ``names`` are the modality names).
    ``label_column``/``id_column``/``group_column`` = "auto" take the ones
    :func:`suggest_mapping` finds (a column named label/class/y/target, id/sample_id,
    group/subject); None means none. An NPZ names its groups in a ``groups`` array.
    Several ``.npy`` files: one array per modality (see :func:`from_npy_files`).
    Each item may be a path, bytes, a binary buffer, or a (file name, data) pair.
    """
    items = (
        list(paths) if isinstance(paths, (list, tuple)) and not _is_named_buffer(paths) else [paths]
    )
    if not items:
        raise DataError("errors.loaders.no_files")
    # Read every file once up front: an uploaded buffer may not be readable twice.
    items = [(display, data) for data, display in (_read_source(p) for p in items)]

    npy = [is_npy(data) for _, data in items]
    if len(items) > 1 and any(npy):
        if not all(npy):
            shown = ", ".join(f"'{d}'" for (d, _), k in zip(items, npy, strict=True) if not k)
            raise DataError("errors.loaders.npy_mixed", files=shown)
        return from_npy_files(items, names=names, nan_policy=nan_policy)

    if len(items) == 1:
        display, data = items[0]
        if _detect(data, display) == "npz":
            return load_npz(data, name=display, nan_policy=nan_policy)
        df = load_table(data, name=display, sep=sep)
        guess = suggest_mapping(df)
        lonely = modalities is None and not list_columns(df)  # vector columns pair themselves
        if lonely and guess["method"] == "one":  # nothing to pair
            raise DataError("errors.loaders.table_one_numeric", file=display)
        if lonely and guess["method"] == "none":
            raise DataError("errors.loaders.table_none_numeric", file=display)
        return from_table(
            df,
            modalities=modalities,
            label_column=guess["label_column"] if label_column == "auto" else label_column,
            id_column=guess["id_column"] if id_column == "auto" else id_column,
            nan_policy=nan_policy,
            source_name=display,
            image_shapes=image_shapes,
            group_column=guess["group_column"] if group_column == "auto" else group_column,
        )

    if "auto" in (label_column, id_column, group_column):
        guesses = [suggest_mapping(load_table(item)) for item in items]
        if label_column == "auto":
            label_column = next((g["label_column"] for g in guesses if g["label_column"]), None)
        if id_column == "auto":
            found = {g["id_column"] for g in guesses}
            id_column = found.pop() if len(found) == 1 else None
        if group_column == "auto":
            group_column = next((g["group_column"] for g in guesses if g["group_column"]), None)
    return from_files(
        items,
        names=names,
        id_column=id_column,
        label_column=label_column,
        nan_policy=nan_policy,
        image_shapes=image_shapes,
        group_column=group_column,
    )
