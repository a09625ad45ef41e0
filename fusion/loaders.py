"""Read a user's files into :class:`~fusion.data.PairedData`.

Accepted formats: CSV, TSV, Parquet and NPZ. Tables either hold every modality
in one file, with columns named ``<modality>__<column>`` (or an explicit
mapping), or come one file per modality, paired by row order or by an id
column. An NPZ archive holds one array per modality, (N, d) features or
(N, H, W) images, plus optional ``label(s)`` and ``id(s)`` arrays.

Files are read as bytes first and their content is sniffed, so a mislabelled
file (an Excel workbook named ``.csv``, Parquet named ``.csv``, binary data)
gets a clear message instead of a parser traceback. Pickles are never loaded:
NPZ is opened with ``allow_pickle=False`` and ``pd.read_pickle`` is not used.
Files over :data:`MAX_FILE_BYTES` (the dashboard's 50 MB upload cap) are refused
before they are read, and files whose content declares more values than the memory
budget (NPZ headers, Parquet metadata, CSV rows; see :mod:`fusion.budget`) before it is
parsed; a ``MemoryError`` while loading becomes a :class:`~fusion.errors.DataError`.

Everything a user can get wrong raises :class:`~fusion.errors.DataError` whose
message names the file, column or row and the fix. Softer problems (constant
columns, classes with one sample, ids without a partner) are collected in
``source["warnings"]`` (English) and ``source["warning_messages"]`` (catalogue keys
and parameters); :func:`localized_warnings` gives them in a page's language.

Public API: :func:`load`, :func:`load_table`, :func:`load_npz`,
:func:`from_table`, :func:`from_files`, :func:`suggest_mapping`,
:func:`detect_format`, :func:`localized_warnings`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from fusion import budget
from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.i18n import DEFAULT_LANGUAGE, translate

MAX_TOTAL_COLUMNS = 20_000  # beyond this, training a playground model is hopeless
# Same cap as the upload widget (.streamlit/config.toml maxUploadSize = 50, in MiB), so the
# command line and the library refuse what the dashboard would.
MAX_FILE_BYTES = 50 * 1024 * 1024
LABEL_NAMES = ("label", "labels", "class", "y", "target")
ID_NAMES = ("id", "ids", "sample_id")
# A group column names the subject, source image or recording a row belongs to; rows of one
# group always land on the same side of the train/validation split (fusion.data).
GROUP_NAMES = ("group", "groups", "group_id", "subject", "subject_id")
NAN_POLICIES = ("reject", "drop")
PREFIX_SEP = "__"
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # PairedData stores float32

# A path, raw bytes, a binary file-like object (BytesIO, Streamlit's
# UploadedFile) or a (file name, bytes-or-buffer) pair for unnamed buffers.
Source = str | Path | bytes | bytearray | BinaryIO | tuple[str, Any]

_TEXT_EXTS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv"}
_PARQUET_EXTS = {".parquet", ".pq"}
_EXCEL_EXTS = {".xlsx", ".xls", ".xlsm", ".ods"}


# -- reading bytes and sniffing the format ----------------------------------------------


def _read_source(obj: Source, name: str | None = None) -> tuple[bytes, str]:
    """The bytes of ``obj`` and a display name for messages."""
    if _is_named_buffer(obj):
        return _read_source(obj[1], name or obj[0])
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.exists():
            raise DataError("errors.loaders.file_not_found", path=str(path))
        if path.is_dir():
            raise DataError("errors.loaders.is_folder", path=str(path))
        _check_size(path.stat().st_size, name or path.name)
        return path.read_bytes(), name or path.name
    if isinstance(obj, (bytes, bytearray, memoryview)):
        _check_size(len(obj), name or "uploaded file")
        return bytes(obj), name or "uploaded file"
    display = name or getattr(obj, "name", None) or "uploaded file"
    display = Path(str(display)).name or str(display)
    if hasattr(obj, "getvalue"):
        data = obj.getvalue()
    elif hasattr(obj, "read"):
        data = obj.read()
    else:
        raise DataError("errors.loaders.unreadable_object", type=type(obj).__name__)
    if isinstance(data, str):
        data = data.encode("utf-8")
    _check_size(len(data), display)
    return bytes(data), display


def _check_size(n_bytes: int, display: str) -> None:
    if n_bytes > MAX_FILE_BYTES:
        raise DataError(
            "errors.loaders.too_large",
            file=display,
            megabytes=n_bytes / 2**20,
            limit=MAX_FILE_BYTES // 2**20,
        )


def _is_named_buffer(obj: Any) -> bool:
    """True for a (file name, bytes or binary buffer) pair."""
    return (
        isinstance(obj, tuple)
        and len(obj) == 2
        and isinstance(obj[0], str)
        and (isinstance(obj[1], (bytes, bytearray, memoryview)) or hasattr(obj[1], "read"))
    )


def _zip_kind(data: bytes, display: str) -> str:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        raise DataError("errors.loaders.damaged_zip", file=display) from None
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    if "[Content_Types].xml" in names or any(n.startswith(("xl/", "word/")) for n in names):
        return "excel"
    return "zip"


def _sniff(data: bytes, display: str) -> str:
    """Format by content: parquet, npz, excel, zip, npy, pickle, gzip, xls or text."""
    if data[:4] == b"PAR1":
        return "parquet"
    if data[:4] == b"PK\x03\x04":
        return _zip_kind(data, display)
    if data[:6] == b"\x93NUMPY":
        return "npy"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"\xd0\xcf\x11\xe0":
        return "xls"
    return "text"


_REFUSED = ("excel", "xls", "zip", "npy", "pickle", "gzip")  # never read; the error says why


def _refused(content: str, display: str) -> DataError:
    """What a file of a refused kind (one of ``_REFUSED``) is, and what to do with it."""
    if content == "excel":
        return DataError("errors.loaders.is_excel", file=display)
    if content == "xls":
        return DataError("errors.loaders.is_xls", file=display)
    if content == "zip":
        return DataError("errors.loaders.is_zip", file=display)
    if content == "npy":
        return DataError("errors.loaders.is_npy", file=display)
    if content == "pickle":
        return DataError("errors.loaders.is_pickle", file=display)
    return DataError("errors.loaders.is_gzip", file=display)


def detect_format(obj: Source, name: str | None = None) -> str:
    """'csv', 'tsv', 'parquet' or 'npz' for a file, from its extension and content.

    Raises DataError for unsupported or mislabelled files (an Excel workbook or
    a Parquet file named ``.csv``, a ``.parquet`` that is text, ...).
    """
    data, display = _read_source(obj, name)
    return _detect(data, display)


def _detect(data: bytes, display: str) -> str:
    if not data.strip():
        raise DataError("errors.loaders.empty_file", file=display)
    ext = Path(display).suffix.lower()
    content = _sniff(data, display)
    if ext in (".pkl", ".pickle"):
        content = "pickle"
    if ext in _EXCEL_EXTS and content in ("excel", "xls", "zip"):
        content = "excel" if content == "zip" else content
    if content in _REFUSED:
        raise _refused(content, display)

    expected = (
        _TEXT_EXTS.get(ext) or ("parquet" if ext in _PARQUET_EXTS else None) or ext.lstrip(".")
    )
    if content == "text":
        if ext in _TEXT_EXTS or ext == "":
            return _TEXT_EXTS.get(ext, "csv")
        if ext in _PARQUET_EXTS:
            raise DataError("errors.loaders.not_parquet", file=display)
        if ext == ".npz":
            raise DataError("errors.loaders.not_npz", file=display)
        raise DataError("errors.loaders.unsupported_type", file=display, ext=ext)
    # Binary content with a known format: it must agree with the extension.
    if ext in ("", ".zip") or expected == content:
        return content
    if content == "parquet":
        raise DataError("errors.loaders.really_parquet", file=display, ext=ext)
    raise DataError("errors.loaders.really_npz", file=display, ext=ext)


# -- tables -------------------------------------------------------------------------------


def _decode(data: bytes, display: str) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:8192]:
        # GB18030 is a superset of GBK/GB2312: Chinese Excel exports use them.
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            control = sum(ch < " " and ch not in "\t\r\n" for ch in text[:8192])
            if control <= 0.01 * min(len(text), 8192):
                return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise DataError("errors.loaders.not_text", file=display)


def _guess_sep(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _read_text_table(
    data: bytes, display: str, fmt: str, sep: str | None, already: int = 0
) -> pd.DataFrame:
    text, encoding = _decode(data, display)
    if not text.strip():
        raise DataError("errors.loaders.empty_file", file=display)
    if sep is None:
        sep = {"tsv": "\t"}.get(fmt, ",") if Path(display).suffix else _guess_sep(text)
    header = next(csv.reader(budget.text_lines(text), delimiter=sep), [])
    if len(header) == 1:  # one column holding another separator: the wrong separator
        only, column = header[0], header[0][:60]
        if sep != "\t" and "\t" in only:
            raise DataError("errors.loaders.single_column_tab", file=display, column=column)
        if sep != ";" and ";" in only:
            raise DataError("errors.loaders.single_column_semicolon", file=display, column=column)
        if sep != "|" and "|" in only:
            raise DataError("errors.loaders.single_column_pipe", file=display, column=column)
    stripped = [h.strip() for h in header]
    dups = sorted(h for h, k in Counter(stripped).items() if k > 1)
    if dups:
        raise DataError(
            "errors.loaders.duplicate_columns", where=f"'{display}'", columns=_names(dups[:5])
        )
    # Rows x columns against the budget before pandas allocates them (``already``: the values
    # of files read before this one in the same upload).
    budget.check_text_table(text, display, sep, len(header), already)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError("errors.loaders.empty_file", file=display) from None
    except (pd.errors.ParserError, ValueError) as e:
        raise _parse_error(display, sep, e) from None
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs.update(format=fmt, file=display, encoding=encoding)
    return df


def _parse_error(display: str, sep: str, e: Exception) -> DataError:
    """pandas' parser message in the words of a user ('data row' counts below the header).

    One key per separator the message names in words (comma, tab; others by their
    character) and per kind of problem (a ragged row, an unclosed quote, anything else).
    """
    msg = " ".join(str(e).split()).removeprefix("Error tokenizing data. C error: ")
    m = re.fullmatch(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        want, line, got = (int(v) for v in m.groups())
        row = line - 1
        if sep == ",":
            return DataError(
                "errors.loaders.ragged_row.comma",
                file=display,
                row=row,
                line=line,
                got=got,
                want=want,
            )
        if sep == "\t":
            return DataError(
                "errors.loaders.ragged_row.tab",
                file=display,
                row=row,
                line=line,
                got=got,
                want=want,
            )
        return DataError(
            "errors.loaders.ragged_row.other",
            file=display,
            sep=sep,
            row=row,
            line=line,
            got=got,
            want=want,
        )
    m = re.fullmatch(r"EOF inside string starting at row (\d+)", msg)
    if m:
        row = int(m.group(1))
        if sep == ",":
            return DataError("errors.loaders.open_quote.comma", file=display, row=row)
        if sep == "\t":
            return DataError("errors.loaders.open_quote.tab", file=display, row=row)
        return DataError("errors.loaders.open_quote.other", file=display, sep=sep, row=row)
    if sep == ",":
        return DataError("errors.loaders.parse_failed.comma", file=display, problem=msg[:200])
    if sep == "\t":
        return DataError("errors.loaders.parse_failed.tab", file=display, problem=msg[:200])
    return DataError("errors.loaders.parse_failed.other", file=display, sep=sep, problem=msg[:200])


def _read_parquet(data: bytes, display: str, already: int = 0) -> pd.DataFrame:
    if data[-4:] != b"PAR1":
        raise DataError("errors.loaders.truncated_parquet", file=display)
    budget.check_parquet(data, display, already)
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises many types for corrupt files
        raise DataError(
            "errors.loaders.unreadable_parquet",
            file=display,
            error_type=type(e).__name__,
            error=str(e),
        ) from None
    df.columns = [str(c) for c in df.columns]
    df.attrs.update(format="parquet", file=display)
    return df


@budget.memory_guard
def load_table(obj: Source, name: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (path, bytes or buffer) into a DataFrame.

    ``name`` is the file name to show and to take the extension from when
    ``obj`` is bytes or a nameless buffer. ``sep`` overrides the delimiter
    (default: ',' for .csv, tab for .tsv, sniffed without an extension).
    ``df.attrs`` records "format", "file" and (for text) "encoding". A table with more
    values than the budget (:func:`fusion.budget.max_values`) is refused before parsing.
    """
    return _load_table(obj, name, sep)


def _load_table(
    obj: Source, name: str | None = None, sep: str | None = None, already: int = 0
) -> pd.DataFrame:
    """:func:`load_table`; ``already`` values of the same upload count against the budget."""
    data, display = _read_source(obj, name)
    fmt = _detect(data, display)
    if fmt == "npz":
        raise DataError("errors.loaders.npz_not_table", file=display)
    df = (
        _read_parquet(data, display, already)
        if fmt == "parquet"
        else _read_text_table(data, display, fmt, sep, already)
    )
    if df.shape[1] == 0:
        raise DataError("errors.loaders.no_columns", file=display)
    if df.shape[0] == 0:
        raise DataError("errors.loaders.no_rows", file=display, min_rows=MIN_ROWS)
    dups = sorted(set(df.columns[df.columns.duplicated()]))
    if dups:
        raise DataError(
            "errors.loaders.duplicate_columns", where=f"'{display}'", columns=_names(dups[:5])
        )
    return df


# -- turning columns into arrays ------------------------------------------------------------


def _fmt_value(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 40 else s[:37] + "..."


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


def _id_note(i: int, ids: np.ndarray | None) -> str:
    """What follows 'data row {i + 1}' in a message: the row's id, when rows have ids."""
    return f" (id {_q(ids[i])})" if ids is not None else ""


def _names(values: Sequence[Any]) -> str:
    """Names quoted and joined for a message: 'a', 'b', 'c'."""
    return ", ".join(_q(v) for v in values)


def _q(value: Any) -> str:
    """A value quoted for a message (numpy strings would show as np.str_(...))."""
    return repr(str(value))


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
    empty = np.flatnonzero(ids == "")
    if len(empty):
        row, n_empty = int(empty[0]) + 1, len(empty)
        if column is None:
            raise DataError("errors.loaders.ids_empty.array", where=where, row=row, n_empty=n_empty)
        raise DataError(
            "errors.loaders.ids_empty.column", column=column, where=where, row=row, n_empty=n_empty
        )
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        example, count, n_repeated = str(dup[0]), int(counts[counts > 1][0]), len(dup)
        if column is None:
            raise DataError(
                "errors.loaders.ids_duplicate.array",
                where=where,
                id=example,
                count=count,
                n_repeated=n_repeated,
            )
        raise DataError(
            "errors.loaders.ids_duplicate.column",
            column=column,
            where=where,
            id=example,
            count=count,
            n_repeated=n_repeated,
        )


# -- warnings: English text plus a key, so a page can show them in its language ----------


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


def _warn(source: dict[str, Any], key: str, /, **params: Any) -> None:
    """Record a soft problem in ``source``.

    ``source["warnings"]`` gets the English text (what the command line and older code
    show); ``source["warning_messages"]`` gets ``{"key", "params"}`` for
    :func:`localized_warnings`. Params are plain values, so both survive JSON.
    """
    source.setdefault("warnings", []).append(translate(key, DEFAULT_LANGUAGE, **params))
    source.setdefault("warning_messages", []).append({"key": key, "params": params})


def localized_warnings(source: dict[str, Any], lang: str) -> list[str]:
    """The warnings of a data ``source`` (``PairedData.source``) in ``lang``.

    Each English text in ``source["warnings"]`` is replaced by its translation when a
    matching key was recorded; a text without one (older data) is shown as it is.
    """
    keyed = iter(source.get("warning_messages") or [])
    pending = next(keyed, None)
    out = []
    for text in source.get("warnings") or []:
        if pending and translate(pending["key"], DEFAULT_LANGUAGE, **pending["params"]) == text:
            out.append(translate(pending["key"], lang, **pending["params"]))
            pending = next(keyed, None)
        else:
            out.append(text)
    return out


# -- naming a column or the labels: one key per kind of source -----------------------------
#
# A table names a feature column ('x'), a set of files names a column of a file ('x' of
# 'a.csv'), an NPZ archive a column or a pixel of an array. Each kind has its own message
# key, so every language gets a whole sentence, never an English fragment.


@dataclass(frozen=True)
class _Column:
    """How a message names one flat feature column."""

    kind: str  # "column" | "file_column" | "array_column" | "array_pixel"
    column: str = ""  # table column (column, file_column)
    file: str = ""  # the file holding it (file_column)
    array: str = ""  # NPZ array (array_column, array_pixel)
    index: int = 0  # column of a 2-D array
    y: int = 0  # pixel row of a 3-D array
    x: int = 0  # pixel column of a 3-D array

    def short(self) -> str:
        """The column in a list (same words in every language): 'x' or 'img'[:, 3]."""
        if self.kind in ("column", "file_column"):
            return _q(self.column)
        if self.kind == "array_column":
            return f"{_q(self.array)}[:, {self.index}]"
        return f"{_q(self.array)}[:, {self.y}, {self.x}]"


def _preview_name(mod: str, j: int, shape: tuple[int, ...]) -> str:
    """Flat feature column ``j`` of modality ``mod`` as the data preview and exports name it
    (:func:`fusion.export.data_to_frame`): ``<mod>__<j>``, or ``<mod>__r<y>c<x>`` for images."""
    if len(shape) == 3:
        return f"{mod}__r{j // shape[2]}c{j % shape[2]}"
    return f"{mod}__{j}"


@dataclass(frozen=True)
class _Labels:
    """How a message names the labels: a column of the table, of one file, or an array."""

    kind: str  # "column" | "file_column" | "array"
    column: str = ""
    file: str = ""


def _no_values(where: str, c: _Column) -> DataError:
    if c.kind == "column":
        return DataError("errors.loaders.no_values.column", where=where, column=c.column)
    if c.kind == "file_column":
        return DataError(
            "errors.loaders.no_values.file_column", where=where, column=c.column, file=c.file
        )
    if c.kind == "array_column":
        return DataError(
            "errors.loaders.no_values.array_column", where=where, array=c.array, index=c.index
        )
    return DataError(
        "errors.loaders.no_values.array_pixel", where=where, array=c.array, y=c.y, x=c.x
    )


def _too_large(where: str, c: _Column, value: float, row: int, id_note: str) -> DataError:
    limit = _FLOAT32_MAX
    if c.kind == "column":
        return DataError(
            "errors.loaders.beyond_float32.column",
            where=where,
            column=c.column,
            value=value,
            row=row,
            id_note=id_note,
            limit=limit,
        )
    if c.kind == "file_column":
        return DataError(
            "errors.loaders.beyond_float32.file_column",
            where=where,
            column=c.column,
            file=c.file,
            value=value,
            row=row,
            id_note=id_note,
            limit=limit,
        )
    if c.kind == "array_column":
        return DataError(
            "errors.loaders.beyond_float32.array_column",
            where=where,
            array=c.array,
            index=c.index,
            value=value,
            row=row,
            id_note=id_note,
            limit=limit,
        )
    return DataError(
        "errors.loaders.beyond_float32.array_pixel",
        where=where,
        array=c.array,
        y=c.y,
        x=c.x,
        value=value,
        row=row,
        id_note=id_note,
        limit=limit,
    )


def _missing_cell(
    where: str, c: _Column, value: str, row: int, id_note: str, n_bad: int
) -> DataError:
    if c.kind == "column":
        return DataError(
            "errors.loaders.missing_cell.column",
            where=where,
            column=c.column,
            value=value,
            row=row,
            id_note=id_note,
            n_bad=n_bad,
        )
    if c.kind == "file_column":
        return DataError(
            "errors.loaders.missing_cell.file_column",
            where=where,
            column=c.column,
            file=c.file,
            value=value,
            row=row,
            id_note=id_note,
            n_bad=n_bad,
        )
    if c.kind == "array_column":
        return DataError(
            "errors.loaders.missing_cell.array_column",
            where=where,
            array=c.array,
            index=c.index,
            value=value,
            row=row,
            id_note=id_note,
            n_bad=n_bad,
        )
    return DataError(
        "errors.loaders.missing_cell.array_pixel",
        where=where,
        array=c.array,
        y=c.y,
        x=c.x,
        value=value,
        row=row,
        id_note=id_note,
        n_bad=n_bad,
    )


def _missing_label(where: str, lab: _Labels, row: int, id_note: str, n_bad: int) -> DataError:
    if lab.kind == "column":
        return DataError(
            "errors.loaders.missing_label.column",
            where=where,
            column=lab.column,
            row=row,
            id_note=id_note,
            n_bad=n_bad,
        )
    if lab.kind == "file_column":
        return DataError(
            "errors.loaders.missing_label.file_column",
            where=where,
            column=lab.column,
            file=lab.file,
            row=row,
            id_note=id_note,
            n_bad=n_bad,
        )
    return DataError(
        "errors.loaders.missing_label.array", where=where, row=row, id_note=id_note, n_bad=n_bad
    )


# -- labels, missing values, constant columns: shared by tables and NPZ --------------------


def _encode_labels(
    raw: np.ndarray, lab: _Labels, source: dict[str, Any], where: str
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
        if lab.kind == "column":
            raise DataError(
                "errors.loaders.single_class.column", where=where, column=lab.column, name=names[0]
            )
        if lab.kind == "file_column":
            raise DataError(
                "errors.loaders.single_class.file_column",
                where=where,
                column=lab.column,
                file=lab.file,
                name=names[0],
            )
        raise DataError("errors.loaders.single_class.array", where=where, name=names[0])
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
    column_name: Callable[[str, int], _Column],
    *,
    labels_raw: np.ndarray | None,
    labels_as: _Labels,
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
    n = next(iter(arrays.values())).shape[0]
    source.setdefault("warnings", [])
    bad = np.zeros(n, dtype=bool)
    first_bad: tuple[int, _Column | None, str] | None = None  # row, column (None: label), value
    for mod, arr in arrays.items():
        flat = arr.reshape(n, -1)
        finite = np.isfinite(flat)
        empty = np.flatnonzero(~finite.any(axis=0))
        if len(empty):
            raise _no_values(where, column_name(mod, int(empty[0])))
        huge = np.argwhere(finite & (np.abs(flat) > _FLOAT32_MAX))
        if len(huge):
            i, j = (int(v) for v in huge[0])
            raise _too_large(where, column_name(mod, j), float(flat[i, j]), i + 1, _id_note(i, ids))
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

    dropped = 0
    if bad.any():
        assert first_bad is not None
        if nan_policy == "reject":
            i, column, value = first_bad
            row, id_note, n_bad = i + 1, _id_note(i, ids), int(bad.sum())
            if column is None:
                raise _missing_label(where, labels_as, row, id_note, n_bad)
            raise _missing_cell(where, column, value, row, id_note, n_bad)
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

    n = next(iter(arrays.values())).shape[0]
    if n < MIN_ROWS:
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

    for mod, arr in arrays.items():
        flat = arr.reshape(n, -1)
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
        shown = _names(list(df.columns)[:10])
        more = ", ..." if df.shape[1] > 10 else ""
        if role == "label":
            raise DataError(
                "errors.loaders.no_column.label", column=column, where=where, shown=shown, more=more
            )
        if role == "id":
            raise DataError(
                "errors.loaders.no_column.id", column=column, where=where, shown=shown, more=more
            )
        if role == "group":
            raise DataError(
                "errors.loaders.no_column.group",
                column=column,
                where=where,
                shown=shown,
                more=more,
            )
        raise DataError(
            "errors.loaders.no_column.modality",
            modality=modality,
            column=column,
            where=where,
            shown=shown,
            more=more,
        )


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
    if modalities is None:
        modalities = _prefix_groups(columns, reserved)
        if not modalities:
            guess = suggest_mapping(df)["modalities"]
            if guess:
                raise DataError(
                    "errors.loaders.no_prefixes_guess", where=where, guess=_mapping_text(guess)
                )
            raise DataError("errors.loaders.no_prefixes", where=where)
        used = {c for cols in modalities.values() for c in cols} | reserved
        ignored = [c for c in columns if c not in used]
        if ignored:
            _warn(
                source,
                "messages.loaders.ignored_columns",
                n=len(ignored),
                columns=_names(ignored[:5]),
                more=", ..." if len(ignored) > 5 else "",
            )
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

    ids = None
    if id_column is not None:
        ids = _id_strings(df[id_column])
        _check_unique_ids(ids, id_column, where)

    groups = None
    if group_column is not None:
        groups = _group_strings(df[group_column], group_column, where)

    arrays = {mod: _columns(df, cols, source_name, ids) for mod, cols in modalities.items()}
    arrays = _reshape_images(arrays, image_shapes, where)
    names = {mod: list(cols) for mod, cols in modalities.items()}
    return _assemble(
        arrays,
        lambda mod, j: _Column("column", column=names[mod][j]),
        labels_raw=None if label_column is None else df[label_column].to_numpy(),
        labels_as=_Labels("column", column=label_column or ""),
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source=source,
        groups=groups,
    )


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
        else:
            groups, method = {}, "none"
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

    group_files = [i for i, t in enumerate(tables) if group_column in t.columns]
    if group_column is not None and not group_files:
        raise DataError(
            "errors.loaders.group_in_no_file",
            column=group_column,
            files=_describe_sources(displays),
        )

    fmt = sorted({t.attrs.get("format", "table") for t in tables})
    source: dict[str, Any] = {
        "files": displays,
        "format": fmt[0] if len(fmt) == 1 else "+".join(fmt),
        "warnings": [],
        "dropped_rows": 0,
    }
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

    labels_raw = None
    labels_as = _Labels("file_column")
    if label_column is not None:
        first = label_files[0]
        labels_raw = tables[first][label_column].to_numpy()
        labels_as = _Labels("file_column", column=label_column, file=displays[first])
        for i in label_files[1:]:
            other = tables[i][label_column].to_numpy()
            if not np.array_equal(_id_strings(labels_raw), _id_strings(other)):
                raise DataError(
                    "errors.loaders.labels_differ",
                    column=label_column,
                    file_a=displays[first],
                    file_b=displays[i],
                )

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
        lambda mod, j: _Column("file_column", column=features[mod][j], file=file_of[mod]),
        labels_raw=labels_raw,
        labels_as=labels_as,
        ids=ids,
        nan_policy=nan_policy,
        where=_describe_sources(displays),
        source=source,
        groups=groups,
    )


# -- NPZ ----------------------------------------------------------------------------------


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

    def column_name(mod: str, j: int) -> _Column:
        shape = arrays[mod].shape
        if len(shape) == 3:
            return _Column("array_pixel", array=mod, y=j // shape[2], x=j % shape[2])
        return _Column("array_column", array=mod, index=j)

    return _assemble(
        arrays,
        column_name,
        labels_raw=labels_raw,
        labels_as=_Labels("array"),
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
    Each item may be a path, bytes, a binary buffer, or a (file name, data) pair.
    """
    items = (
        list(paths) if isinstance(paths, (list, tuple)) and not _is_named_buffer(paths) else [paths]
    )
    if not items:
        raise DataError("errors.loaders.no_files")
    # Read every file once up front: an uploaded buffer may not be readable twice.
    items = [(display, data) for data, display in (_read_source(p) for p in items)]

    if len(items) == 1:
        display, data = items[0]
        if _detect(data, display) == "npz":
            return load_npz(data, name=display, nan_policy=nan_policy)
        df = load_table(data, name=display, sep=sep)
        guess = suggest_mapping(df)
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
