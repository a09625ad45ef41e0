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
before they are read.

Everything a user can get wrong raises :class:`~fusion.errors.DataError` whose
message names the file, column or row and the fix. Softer problems (constant
columns, classes with one sample, ids without a partner) are collected in
``source["warnings"]``.

Public API: :func:`load`, :func:`load_table`, :func:`load_npz`,
:func:`from_table`, :func:`from_files`, :func:`suggest_mapping`,
:func:`detect_format`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError

MAX_TOTAL_COLUMNS = 20_000  # beyond this, training a playground model is hopeless
# Same cap as the upload widget (.streamlit/config.toml maxUploadSize = 50, in MiB), so the
# command line and the library refuse what the dashboard would.
MAX_FILE_BYTES = 50 * 1024 * 1024
LABEL_NAMES = ("label", "labels", "class", "y", "target")
ID_NAMES = ("id", "ids", "sample_id")
NAN_POLICIES = ("reject", "drop")
PREFIX_SEP = "__"
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # PairedData stores float32

# A path, raw bytes, a binary file-like object (BytesIO, Streamlit's
# UploadedFile) or a (file name, bytes-or-buffer) pair for unnamed buffers.
Source = str | Path | bytes | bytearray | BinaryIO | tuple[str, Any]

_TEXT_EXTS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv"}
_PARQUET_EXTS = {".parquet", ".pq"}
_EXCEL_EXTS = {".xlsx", ".xls", ".xlsm", ".ods"}
_SUPPORTED = "CSV (.csv), TSV (.tsv), Parquet (.parquet) or NPZ (.npz)"


# -- reading bytes and sniffing the format ----------------------------------------------


def _read_source(obj: Source, name: str | None = None) -> tuple[bytes, str]:
    """The bytes of ``obj`` and a display name for messages."""
    if _is_named_buffer(obj):
        return _read_source(obj[1], name or obj[0])
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if not path.exists():
            raise DataError(f"File not found: '{path}'. Check the path.")
        if path.is_dir():
            raise DataError(f"'{path}' is a folder; pass the data file inside it.")
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
        raise DataError(
            f"Cannot read a {type(obj).__name__}; pass a file path, bytes or a binary file object."
        )
    if isinstance(data, str):
        data = data.encode("utf-8")
    _check_size(len(data), display)
    return bytes(data), display


def _check_size(n_bytes: int, display: str) -> None:
    if n_bytes > MAX_FILE_BYTES:
        raise DataError(
            f"'{display}' is {n_bytes / 2**20:.1f} MB, over the {MAX_FILE_BYTES // 2**20} MB "
            "limit. Subsample the rows, or reduce the columns (e.g. PCA with "
            "sklearn.decomposition.PCA), and save it again; Parquet is smaller than CSV."
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
        raise DataError(
            f"'{display}' is a damaged zip archive (an NPZ or Excel file cut short?). "
            "Save or download it again."
        ) from None
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


_CONTENT_HELP = {
    "excel": "an Excel workbook. Open it and save it as 'CSV UTF-8', or export it to Parquet.",
    "xls": "an old-style Excel (.xls) workbook. Open it and save it as 'CSV UTF-8'.",
    "zip": "a zip archive. Extract it and load the CSV/Parquet/NPZ file(s) inside.",
    "npy": "a single NumPy array (.npy). Save all modalities into one archive with "
    "np.savez('data.npz', a=..., b=..., labels=...).",
    "pickle": "a Python pickle. Pickles are never loaded (unpickling can run arbitrary code); "
    "save the data as CSV, Parquet or NPZ instead.",
    "gzip": "gzip-compressed. Decompress it first (e.g. 'gunzip file.csv.gz').",
}


def detect_format(obj: Source, name: str | None = None) -> str:
    """'csv', 'tsv', 'parquet' or 'npz' for a file, from its extension and content.

    Raises DataError for unsupported or mislabelled files (an Excel workbook or
    a Parquet file named ``.csv``, a ``.parquet`` that is text, ...).
    """
    data, display = _read_source(obj, name)
    return _detect(data, display)


def _detect(data: bytes, display: str) -> str:
    if not data.strip():
        raise DataError(f"'{display}' is empty. Choose a file that contains data.")
    ext = Path(display).suffix.lower()
    content = _sniff(data, display)
    if ext in (".pkl", ".pickle"):
        content = "pickle"
    if ext in _EXCEL_EXTS and content in ("excel", "xls", "zip"):
        content = "excel" if content == "zip" else content
    if content in _CONTENT_HELP:
        raise DataError(f"'{display}' is {_CONTENT_HELP[content]}")

    expected = (
        _TEXT_EXTS.get(ext) or ("parquet" if ext in _PARQUET_EXTS else None) or ext.lstrip(".")
    )
    if content == "text":
        if ext in _TEXT_EXTS or ext == "":
            return _TEXT_EXTS.get(ext, "csv")
        if ext in _PARQUET_EXTS:
            raise DataError(
                f"'{display}' is named .parquet but is not a Parquet file (it does not start "
                "with 'PAR1'). If it is a CSV, rename it to .csv; otherwise export it again."
            )
        if ext == ".npz":
            raise DataError(
                f"'{display}' is named .npz but is not a NumPy archive. Save it with "
                "np.savez(...) or rename it to its real format."
            )
        raise DataError(f"'{display}': unsupported file type '{ext}'. Use {_SUPPORTED}.")
    # Binary content with a known format: it must agree with the extension.
    if ext in ("", ".zip") or expected == content:
        return content
    real = {"parquet": ("a Parquet", ".parquet"), "npz": ("an NPZ", ".npz")}[content]
    raise DataError(
        f"'{display}' is named {ext} but is really {real[0]} file. Rename it to {real[1]}."
    )


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
    raise DataError(
        f"'{display}' is not a readable text table (it contains binary data or an unknown "
        f"text encoding). Save it as CSV UTF-8, or as {_SUPPORTED}."
    )


def _guess_sep(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


_SEP_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "'|'"}


def _read_text_table(data: bytes, display: str, fmt: str, sep: str | None) -> pd.DataFrame:
    text, encoding = _decode(data, display)
    if not text.strip():
        raise DataError(f"'{display}' is empty. Choose a file that contains data.")
    if sep is None:
        sep = {"tsv": "\t"}.get(fmt, ",") if Path(display).suffix else _guess_sep(text)
    header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    if len(header) == 1:
        for other in ("\t", ";", "|"):
            if other != sep and other in header[0]:
                hint = "rename the file to .tsv" if other == "\t" else "save it with commas"
                raise DataError(
                    f"'{display}' has a single column '{header[0][:60]}' that contains "
                    f"{_SEP_NAMES[other]}s: it looks {_SEP_NAMES[other]}-separated. "
                    f"{hint.capitalize()}, or pass sep={other!r}."
                )
    stripped = [h.strip() for h in header]
    dups = sorted(h for h, k in Counter(stripped).items() if k > 1)
    if dups:
        raise DataError(
            f"'{display}' has duplicate column names: {', '.join(repr(d) for d in dups[:5])}. "
            "Rename them so every column name is unique."
        )
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"'{display}' is empty. Choose a file that contains data.") from None
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(
            f"'{display}' could not be parsed as {_SEP_NAMES.get(sep, repr(sep))}-separated "
            f"text: {_parser_problem(e)}. Check quoting and the number of fields on that line."
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs.update(format=fmt, file=display, encoding=encoding)
    return df


def _parser_problem(e: Exception) -> str:
    """pandas' parser message in the words of a user ('data row' counts below the header)."""
    msg = " ".join(str(e).split()).removeprefix("Error tokenizing data. C error: ")
    m = re.fullmatch(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        want, line, got = (int(v) for v in m.groups())
        return f"data row {line - 1} (line {line}) has {got} fields but the header has {want}"
    m = re.fullmatch(r"EOF inside string starting at row (\d+)", msg)
    if m:
        return f"a quote opened in data row {m.group(1)} is never closed"
    return msg[:200]


def _read_parquet(data: bytes, display: str) -> pd.DataFrame:
    if data[-4:] != b"PAR1":
        raise DataError(
            f"'{display}' is a truncated Parquet file (its footer is missing). "
            "Export or download it again."
        )
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises many types for corrupt files
        raise DataError(
            f"'{display}' could not be read as Parquet ({type(e).__name__}: {e}). "
            "Export it again, or save it as CSV."
        ) from None
    df.columns = [str(c) for c in df.columns]
    df.attrs.update(format="parquet", file=display)
    return df


def load_table(obj: Source, name: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (path, bytes or buffer) into a DataFrame.

    ``name`` is the file name to show and to take the extension from when
    ``obj`` is bytes or a nameless buffer. ``sep`` overrides the delimiter
    (default: ',' for .csv, tab for .tsv, sniffed without an extension).
    ``df.attrs`` records "format", "file" and (for text) "encoding".
    """
    data, display = _read_source(obj, name)
    fmt = _detect(data, display)
    if fmt == "npz":
        raise DataError(
            f"'{display}' is an NPZ archive of arrays, not a table; load it with "
            "fusion.loaders.load or load_npz."
        )
    df = (
        _read_parquet(data, display)
        if fmt == "parquet"
        else _read_text_table(data, display, fmt, sep)
    )
    if df.shape[1] == 0:
        raise DataError(f"'{display}' has no columns. Choose a file that contains data.")
    if df.shape[0] == 0:
        raise DataError(f"'{display}' has a header but no data rows. Add at least {MIN_ROWS} rows.")
    dups = sorted(set(df.columns[df.columns.duplicated()]))
    if dups:
        raise DataError(
            f"'{display}' has duplicate column names: {', '.join(repr(d) for d in dups[:5])}. "
            "Rename them so every column name is unique."
        )
    return df


# -- turning columns into arrays ------------------------------------------------------------


def _fmt_value(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _numeric(series: pd.Series, where: str, ids: np.ndarray | None) -> np.ndarray:
    """Column as float64 (N,), missing values as NaN; non-numbers raise DataError."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        raise DataError(
            f"{where} holds dates, not numbers. Convert them to numbers (e.g. days since a "
            "start date) or leave the column out of the modalities."
        )
    first = series.dropna()
    if len(first) and isinstance(first.iloc[0], (list, tuple, dict, np.ndarray)):
        raise DataError(
            f"{where} holds nested values (lists or structs). Flatten it to one number per "
            "column first, e.g. 'emb__0', 'emb__1', ..."
        )
    converted = pd.to_numeric(series, errors="coerce")
    bad = series.notna().to_numpy() & converted.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        value = series.iloc[i]
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+,\d+\s*", value):
            hint = " It looks like a decimal comma: use '.' as the decimal separator."
        raise DataError(
            f"{where} is not numeric: {_row(i, ids)} holds {_fmt_value(value)} "
            f"({int(bad.sum())} such values in the column).{hint} Every feature must be a "
            "number; if this column holds class names choose it as the label column, "
            "otherwise fix or remove the values."
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def _columns(
    df: pd.DataFrame, cols: list[str], where: Callable[[str], str], ids: np.ndarray | None
) -> np.ndarray:
    """float64 (N, len(cols)) from table columns; non-numeric columns raise DataError."""
    block = df[cols]
    if all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):
        return block.to_numpy(dtype="float64", na_value=np.nan)
    return np.column_stack([_numeric(df[c], where(c), ids) for c in cols])


def _row(i: int, ids: np.ndarray | None) -> str:
    """How a message names row i (0-based): 1-based data row below the header, plus id."""
    return f"data row {i + 1}" + (f" (id {_q(ids[i])})" if ids is not None else "")


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


def _check_unique_ids(ids: np.ndarray, what: str, where: str) -> None:
    empty = np.flatnonzero(ids == "")
    if len(empty):
        raise DataError(
            f"{what} in {where} is empty in {_row(int(empty[0]), None)} "
            f"({len(empty)} rows in total). Every row needs an id."
        )
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise DataError(
            f"{what} in {where} has duplicate ids, e.g. {_q(dup[0])} appears "
            f"{int(counts[counts > 1][0])} times ({len(dup)} ids repeat). Ids must be unique: "
            "remove the repeated rows or fix the ids."
        )


# -- labels, missing values, constant columns: shared by tables and NPZ --------------------


def _encode_labels(
    raw: np.ndarray, what: str, warnings: list[str], where: str = ""
) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and sorted display names; numbers sort numerically.

    ``where`` (the file) prefixes the error message unless ``what`` already names it.
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
        where = "" if where in what else f"{where}: "
        raise DataError(
            f"{where}{what} has a single class ({names[0]!r}): classification needs at least 2 "
            "classes. Check that the right column was chosen, or load the data without labels."
        )
    counts = np.bincount(labels, minlength=len(names))
    lonely = [names[c] for c in np.flatnonzero(counts == 1)]
    if lonely:
        warnings.append(
            f"{what}: {len(lonely)} class(es) have a single sample "
            f"({', '.join(map(repr, lonely[:5]))}); they cannot appear in both training and "
            "validation data."
        )
    return labels.astype(np.int64), names


def _assemble(
    arrays: dict[str, np.ndarray],
    column_name: Callable[[str, int], str],
    *,
    labels_raw: np.ndarray | None,
    label_what: str,
    ids: np.ndarray | None,
    nan_policy: str,
    where: str,
    source: dict[str, Any],
    extra_texts: dict[str, list[str]] | None = None,
) -> PairedData:
    """Shared checks and PairedData construction for tables and NPZ archives.

    arrays: modality -> float64 (N, d) or (N, H, W); column_name(modality, j)
    describes flat column j in messages; ids are strings or None.
    """
    n = next(iter(arrays.values())).shape[0]
    warnings: list[str] = source.setdefault("warnings", [])
    bad = np.zeros(n, dtype=bool)
    first_bad: tuple[int, str] | None = None
    for mod, arr in arrays.items():
        flat = arr.reshape(n, -1)
        finite = np.isfinite(flat)
        empty = np.flatnonzero(~finite.any(axis=0))
        if len(empty):
            raise DataError(
                f"{where}: {column_name(mod, int(empty[0]))} has no usable value in any row "
                f"(all missing or infinite). Remove the column or fill it in."
            )
        huge = np.argwhere(finite & (np.abs(flat) > _FLOAT32_MAX))
        if len(huge):
            i, j = (int(v) for v in huge[0])
            raise DataError(
                f"{where}: {column_name(mod, j)} holds {flat[i, j]:.4g} in {_row(i, ids)}, beyond "
                f"the float32 range (±{_FLOAT32_MAX:.3g}) used for training. Rescale the column "
                "(e.g. divide it by a large constant or take a log)."
            )
        rows = ~finite.all(axis=1)
        if rows.any():
            i = int(np.argmax(rows))
            j = int(np.argmax(~finite[i]))
            if first_bad is None or i < first_bad[0]:
                first_bad = (i, f"{column_name(mod, j)} is {_fmt_value(flat[i, j])}")
            bad |= rows
    if labels_raw is not None:
        missing = _missing(labels_raw)
        if missing.any():
            i = int(np.argmax(missing))
            if first_bad is None or i < first_bad[0]:
                first_bad = (i, f"{label_what} is empty")
            bad |= missing

    dropped = 0
    if bad.any():
        assert first_bad is not None
        if nan_policy == "reject":
            i, what = first_bad
            raise DataError(
                f"{where}: {what} in {_row(i, ids)} (rows with missing, empty or infinite "
                f"values: {int(bad.sum())}). Fill in or remove those rows, or use "
                "nan_policy='drop' to drop them."
            )
        keep = ~bad
        dropped = int(bad.sum())
        arrays = {k: v[keep] for k, v in arrays.items()}
        labels_raw = None if labels_raw is None else np.asarray(labels_raw)[keep]
        ids = None if ids is None else ids[keep]
        extra_texts = {
            k: [t for t, ok in zip(v, keep, strict=True) if ok]
            for k, v in (extra_texts or {}).items()
        }
        if ids is None:  # keep the original row numbers, so dropped rows can be found
            ids = np.flatnonzero(keep).astype(str)
        warnings.append(f"Dropped {dropped} rows with missing, empty or infinite values.")
    source["dropped_rows"] = dropped

    n = next(iter(arrays.values())).shape[0]
    if n < MIN_ROWS:
        after = f" after dropping {dropped} incomplete rows" if dropped else ""
        raise DataError(
            f"{where} has only {n} usable row{'s' if n != 1 else ''}{after}: at least "
            f"{MIN_ROWS} paired rows are needed to train and validate. Add more rows."
        )

    for mod, arr in arrays.items():
        flat = arr.reshape(n, -1)
        constant = np.flatnonzero(np.ptp(flat, axis=0) == 0)
        if len(constant) == flat.shape[1]:
            raise DataError(
                f"{where}: modality '{mod}' is constant (every column has the same value in "
                "every row), so it carries no information. Check which columns are mapped to "
                f"'{mod}', or remove it."
            )
        if len(constant):
            examples = ", ".join(column_name(mod, int(j)) for j in constant[:3])
            warnings.append(
                f"Modality '{mod}': {len(constant)} of {flat.shape[1]} columns are constant "
                f"and carry no information ({examples}{', ...' if len(constant) > 3 else ''})."
            )

    labels = label_names = None
    if labels_raw is not None:
        labels, label_names = _encode_labels(np.asarray(labels_raw), label_what, warnings, where)

    return PairedData(
        modalities=arrays,
        labels=labels,
        label_names=label_names,
        ids=ids,
        texts=extra_texts or {},
        source=source,
    )


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in NAN_POLICIES:
        raise DataError(f"nan_policy must be 'reject' or 'drop', got {nan_policy!r}.")


def _check_total_columns(counts: dict[str, int], where: str) -> None:
    total = sum(counts.values())
    if total > MAX_TOTAL_COLUMNS:
        sizes = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise DataError(
            f"{where} has {total} feature columns in all ({sizes}); the limit is "
            f"{MAX_TOTAL_COLUMNS}. Reduce the dimension first, e.g. with PCA "
            "(sklearn.decomposition.PCA) to a few hundred components per modality."
        )


def _reshape_images(
    arrays: dict[str, np.ndarray], image_shapes: dict[str, Sequence[int]] | None, where: str
) -> dict[str, np.ndarray]:
    for mod, shape in (image_shapes or {}).items():
        if mod not in arrays:
            raise DataError(
                f"image_shapes names modality '{mod}', but {where} has only "
                f"{', '.join(repr(m) for m in arrays)}."
            )
        h, w = (int(v) for v in shape)
        flat = arrays[mod].reshape(arrays[mod].shape[0], -1)
        if h * w != flat.shape[1]:
            raise DataError(
                f"{where}: image shape {h}x{w} for modality '{mod}' expects {h * w} columns, "
                f"but '{mod}' has {flat.shape[1]}. Fix image_shapes or the column mapping."
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


def _check_column(df: pd.DataFrame, column: str | None, role: str, where: str) -> None:
    if column is not None and column not in df.columns:
        shown = ", ".join(repr(c) for c in list(df.columns)[:10])
        more = ", ..." if df.shape[1] > 10 else ""
        raise DataError(
            f"{role} column {column!r} is not in {where}; its columns are {shown}{more}. "
            "Choose one of them."
        )


def _unique_columns(df: pd.DataFrame, where: str) -> list[str]:
    """The column names as strings; duplicates (also after str()) raise DataError."""
    columns = [str(c) for c in df.columns]
    dups = sorted(c for c, k in Counter(columns).items() if k > 1)
    if dups:
        raise DataError(
            f"{where} has duplicate column names: {', '.join(map(repr, dups[:5]))}. "
            "Rename them so every column name is unique."
        )
    return columns


def from_table(
    df: pd.DataFrame,
    modalities: dict[str, list[str]] | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    nan_policy: str = "reject",
    source_name: str = "table",
    image_shapes: dict[str, Sequence[int]] | None = None,
) -> PairedData:
    """Paired data from one table whose columns are grouped into modalities.

    ``modalities`` maps a modality name to its columns; None groups columns
    named ``<modality>__<column>`` by prefix (other columns, apart from the
    label and id columns, are ignored with a warning). ``image_shapes`` maps a
    modality to (H, W) to reshape its flat columns into images. Labels may be
    numbers or strings (class names, sorted); ids are kept as strings.
    nan_policy: "reject" (error naming the first bad cell) or "drop" (drop the
    rows, counted in ``source["dropped_rows"]``).
    """
    assert isinstance(df, pd.DataFrame), f"from_table needs a DataFrame, got {type(df)}"
    _check_policy(nan_policy)
    where = f"'{source_name}'"
    if df.shape[1] == 0 or df.shape[0] == 0:
        what = "no columns" if df.shape[1] == 0 else "a header but no data rows"
        raise DataError(f"{where} has {what}. Add at least {MIN_ROWS} rows of data.")
    columns = _unique_columns(df, where)
    df = df.set_axis(columns, axis=1)
    _check_column(df, label_column, "Label", where)
    _check_column(df, id_column, "Id", where)
    if label_column is not None and label_column == id_column:
        raise DataError(f"Column {label_column!r} cannot be both the label and the id column.")
    reserved = {c for c in (label_column, id_column) if c is not None}

    warnings: list[str] = []
    if modalities is None:
        modalities = _prefix_groups(columns, reserved)
        if not modalities:
            guess = suggest_mapping(df)["modalities"]
            hint = f" A guess from the names: {_mapping_text(guess)}." if guess else ""
            raise DataError(
                f"{where} has no columns named '<modality>__<column>' (e.g. 'image__px0', "
                f"'text__f0'). Rename the columns with a prefix per modality, or pass "
                f"modalities={{name: [columns]}}.{hint}"
            )
        used = {c for cols in modalities.values() for c in cols} | reserved
        ignored = [c for c in columns if c not in used]
        if ignored:
            warnings.append(
                f"Ignored {len(ignored)} column(s) without a '<modality>__' prefix: "
                f"{', '.join(map(repr, ignored[:5]))}{', ...' if len(ignored) > 5 else ''}."
            )
    else:
        owner: dict[str, str] = {}
        for mod, cols in modalities.items():
            if not isinstance(mod, str) or not mod:
                raise DataError(f"Modality names must be non-empty strings, got {mod!r}.")
            if isinstance(cols, str) or not cols:
                raise DataError(
                    f"Modality '{mod}' needs a non-empty list of column names, got {cols!r}."
                )
            for c in cols:
                _check_column(df, c, f"Modality '{mod}'", where)
                if c in reserved:
                    raise DataError(
                        f"Column {c!r} is the label or id column; remove it from modality '{mod}'."
                    )
                if c in owner:
                    raise DataError(
                        f"Column {c!r} is in both modality '{owner[c]}' and '{mod}'; "
                        "give each column to one modality."
                    )
                owner[c] = mod
    if len(modalities) < 2:
        raise DataError(
            f"{where} has {len(modalities)} modality ({', '.join(modalities) or 'none'}); "
            "paired data needs at least 2. Add columns with another '<modality>__' prefix "
            "or map columns to a second modality."
        )
    _check_total_columns({m: len(c) for m, c in modalities.items()}, where)

    ids = None
    if id_column is not None:
        ids = _id_strings(df[id_column])
        _check_unique_ids(ids, f"Id column {id_column!r}", where)

    arrays = {
        mod: _columns(df, cols, lambda c: f"Column {c!r} in {where}", ids)
        for mod, cols in modalities.items()
    }
    arrays = _reshape_images(arrays, image_shapes, where)
    source = {
        "files": [source_name],
        "format": df.attrs.get("format", "table"),
        "warnings": warnings,
        "dropped_rows": 0,
    }
    if "encoding" in df.attrs:
        source["encoding"] = df.attrs["encoding"]
    names = {mod: list(cols) for mod, cols in modalities.items()}
    return _assemble(
        arrays,
        lambda mod, j: f"column {names[mod][j]!r}",
        labels_raw=None if label_column is None else df[label_column].to_numpy(),
        label_what=f"label column {label_column!r}",
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source=source,
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
    "id_column": str | None, "method": how the modalities were found}. Label:
    a column named label/labels/class/y/target; id: id/ids/sample_id when its
    values are unique. Modalities: by '<modality>__' prefix; else by a shared
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
    reserved = {c for c in (label, id_col) if c is not None}
    # A column named like an id or a label is never a good guess for a feature.
    named_like = {c for c in columns if c.lower() in LABEL_NAMES + ID_NAMES}

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
    return {"modalities": groups, "label_column": label, "id_column": id_col, "method": method}


# -- one file per modality -------------------------------------------------------------------


def _describe_sources(displays: list[str]) -> str:
    return ", ".join(f"'{d}'" for d in displays)


def from_files(
    paths_or_buffers: Sequence[Source],
    names: Sequence[str] | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    nan_policy: str = "reject",
    image_shapes: dict[str, Sequence[int]] | None = None,
) -> PairedData:
    """Paired data from one table file per modality.

    Files are paired by row order, or, with ``id_column`` (present in every
    file), by an inner join on the ids in the first file's order; ids without a
    partner are left out with a warning. ``names`` are the modality names
    (default: the file names without extension). ``label_column`` may be in any
    one file (or in several with identical values). Every other column of a
    file is a feature of its modality.
    """
    _check_policy(nan_policy)
    if isinstance(paths_or_buffers, (str, Path, bytes)):
        paths_or_buffers = [paths_or_buffers]
    tables = [load_table(p) for p in paths_or_buffers]
    displays = [t.attrs["file"] for t in tables]
    if names is None:
        names = []
        for d in displays:
            stem = Path(d).stem or "modality"
            names.append(stem if stem not in names else f"{stem}_{len(names) + 1}")
    names = [str(n) for n in names]
    if len(names) != len(tables):
        raise DataError(
            f"Got {len(names)} modality names for {len(tables)} files; give one name per file."
        )
    if len(set(names)) != len(names) or not all(names):
        raise DataError(f"Modality names must be unique and non-empty, got {names}.")
    if len(tables) < 2:
        raise DataError(
            f"Only {len(tables)} file given ({_describe_sources(displays)}); paired data needs "
            "one file per modality and at least 2 modalities. Add another file, or load a "
            "single table with '<modality>__<column>' columns."
        )

    if id_column is not None:
        for t, d in zip(tables, displays, strict=True):
            _check_column(t, id_column, "Id", f"'{d}'")
    label_files = [i for i, t in enumerate(tables) if label_column in t.columns]
    if label_column is not None and not label_files:
        raise DataError(
            f"Label column {label_column!r} is in none of the files "
            f"({_describe_sources(displays)}). Check its name."
        )

    warnings: list[str] = []
    if id_column is None:
        counts = [len(t) for t in tables]
        if len(set(counts)) > 1:
            sizes = ", ".join(f"'{d}': {c} rows" for d, c in zip(displays, counts, strict=True))
            raise DataError(
                f"The files have different numbers of rows ({sizes}). Files are paired by row "
                "order, so each needs the same number of rows; or give an id column present "
                "in every file to pair rows by id."
            )
        ids = None
    else:
        per_file = []
        for t, d in zip(tables, displays, strict=True):
            file_ids = _id_strings(t[id_column])
            _check_unique_ids(file_ids, f"Id column {id_column!r}", f"'{d}'")
            per_file.append(file_ids)
        common = set(per_file[0]).intersection(*per_file[1:])
        if not common:
            examples = "; ".join(
                f"'{d}' has {', '.join(map(_q, fid[:3]))}"
                for d, fid in zip(displays, per_file, strict=True)
            )
            raise DataError(
                f"No id in column {id_column!r} appears in every file ({examples}). Check that "
                "the files use the same ids for the same samples (e.g. '7' vs 'img_7')."
            )
        ids = np.array([i for i in per_file[0] if i in common])
        for d, fid in zip(displays, per_file, strict=True):
            unmatched = [i for i in fid if i not in common]
            if unmatched:
                warnings.append(
                    f"'{d}': {len(unmatched)} id(s) have no partner in every other file and "
                    f"were left out (e.g. {', '.join(map(_q, unmatched[:3]))})."
                )
        tables = [
            t.set_axis(fid, axis=0).loc[ids].reset_index(drop=True)
            for t, fid in zip(tables, per_file, strict=True)
        ]

    labels_raw = None
    label_what = ""
    if label_column is not None:
        first = label_files[0]
        labels_raw = tables[first][label_column].to_numpy()
        label_what = f"label column {label_column!r} in '{displays[first]}'"
        for i in label_files[1:]:
            other = tables[i][label_column].to_numpy()
            if not np.array_equal(_id_strings(labels_raw), _id_strings(other)):
                raise DataError(
                    f"Label column {label_column!r} is in '{displays[first]}' and "
                    f"'{displays[i]}' with different values. Keep it in one file only."
                )

    features: dict[str, list[str]] = {}
    for mod, t, d in zip(names, tables, displays, strict=True):
        cols = [c for c in t.columns if c not in (id_column, label_column)]
        if not cols:
            raise DataError(
                f"'{d}' has no feature columns besides the id/label columns. Each file must "
                "hold the features of its modality."
            )
        features[mod] = cols
    _check_total_columns({m: len(c) for m, c in features.items()}, "The files")

    arrays = {
        mod: _columns(t, cols, lambda c, d=d: f"Column {c!r} in '{d}'", ids)
        for (mod, cols), t, d in zip(features.items(), tables, displays, strict=True)
    }
    arrays = _reshape_images(arrays, image_shapes, "the files")
    file_of = dict(zip(names, displays, strict=True))
    fmt = sorted({t.attrs.get("format", "table") for t in tables})
    source = {
        "files": displays,
        "format": fmt[0] if len(fmt) == 1 else "+".join(fmt),
        "warnings": warnings,
        "dropped_rows": 0,
    }
    return _assemble(
        arrays,
        lambda mod, j: f"column {features[mod][j]!r} of '{file_of[mod]}'",
        labels_raw=labels_raw,
        label_what=label_what,
        ids=ids,
        nan_policy=nan_policy,
        where=_describe_sources(displays),
        source=source,
    )


# -- NPZ ----------------------------------------------------------------------------------


def load_npz(obj: Source, name: str | None = None, nan_policy: str = "reject") -> PairedData:
    """Paired data from an NPZ archive: one array per modality.

    Arrays are (N, d) features or (N, H, W) images; ``label``/``labels`` and
    ``id``/``ids`` arrays (N,) are optional. Opened with allow_pickle=False, so
    object arrays are refused: store strings as a fixed-width unicode array
    (``np.array(names, dtype=str)``).
    """
    _check_policy(nan_policy)
    data, display = _read_source(obj, name)
    fmt = _detect(data, display)
    if fmt != "npz":
        raise DataError(
            f"'{display}' is a {fmt.upper()} table, not an NPZ archive; load it with "
            "fusion.loaders.load or load_table."
        )
    where = f"'{display}'"
    arrays: dict[str, np.ndarray] = {}
    labels_raw = ids = None
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # zip and format errors of many types
        raise DataError(
            f"{where} could not be read as NPZ ({e}). Save it again with np.savez."
        ) from None
    with archive:
        for key in archive.files:
            try:
                arr = archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    raise DataError(
                        f"Array '{key}' in {where} is an object array, which would need "
                        "unpickling (never done here, it can run arbitrary code). Save numbers "
                        "as a numeric array and text as np.array(values, dtype=str)."
                    ) from None
                raise DataError(f"Array '{key}' in {where} could not be read: {e}.") from None
            except Exception as e:
                raise DataError(
                    f"Array '{key}' in {where} could not be read ({e}); the file may be "
                    "truncated. Save it again with np.savez."
                ) from None
            if key in ("label", "labels"):
                labels_raw = _vector(arr, key, where)
            elif key in ("id", "ids"):
                ids = _id_strings(_vector(arr, key, where))
            else:
                arrays[key] = _npz_features(arr, key, where)

    lengths = {k: a.shape[0] for k, a in arrays.items()}
    if labels_raw is not None:
        lengths["labels"] = len(labels_raw)
    if ids is not None:
        lengths["ids"] = len(ids)
    if len(set(lengths.values())) > 1:
        sizes = ", ".join(f"'{k}': {v}" for k, v in lengths.items())
        raise DataError(
            f"Arrays in {where} have different lengths ({sizes}). Every array needs one entry "
            "per sample along its first axis."
        )
    if len(arrays) < 2:
        raise DataError(
            f"{where} holds {len(arrays)} modality array(s) ({', '.join(arrays) or 'none'}); "
            "paired data needs at least 2. Save one array per modality, e.g. "
            "np.savez('data.npz', image=..., text=..., labels=...)."
        )
    if next(iter(arrays.values())).shape[0] == 0:
        raise DataError(f"The arrays in {where} are empty. Add at least {MIN_ROWS} samples.")
    _check_total_columns({k: int(np.prod(a.shape[1:])) for k, a in arrays.items()}, where)
    if ids is not None:
        _check_unique_ids(ids, "Array 'ids'", where)

    def column_name(mod: str, j: int) -> str:
        shape = arrays[mod].shape
        if len(shape) == 3:
            return f"array '{mod}' pixel ({j // shape[2]}, {j % shape[2]})"
        return f"array '{mod}' column {j}"

    return _assemble(
        arrays,
        column_name,
        labels_raw=labels_raw,
        label_what=f"labels array in {where}",
        ids=ids,
        nan_policy=nan_policy,
        where=where,
        source={"files": [display], "format": "npz", "warnings": [], "dropped_rows": 0},
    )


def _vector(arr: np.ndarray, key: str, where: str) -> np.ndarray:
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DataError(
            f"Array '{key}' in {where} has shape {arr.shape}; it must be 1-D with one entry "
            "per sample."
        )
    return arr


def _npz_features(arr: np.ndarray, key: str, where: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(
            f"Array '{key}' in {where} has dtype {arr.dtype}, not numbers. Store features as "
            "numbers; name a class array 'labels' and an id array 'ids'."
        )
    if arr.ndim == 0:
        raise DataError(
            f"Array '{key}' in {where} is a single value, not one row per sample; a modality "
            "needs (N, d) features or (N, H, W) images. Remove it from the archive or save "
            "one value per sample."
        )
    if arr.ndim == 1:
        raise DataError(
            f"Array '{key}' in {where} is 1-D {arr.shape}; a modality needs (N, d) features or "
            "(N, H, W) images. Use arr.reshape(-1, 1) for a single feature, or name it "
            "'labels' / 'ids' if that is what it holds."
        )
    if arr.ndim > 3:
        raise DataError(
            f"Array '{key}' in {where} has shape {arr.shape}; only (N, d) features or "
            "(N, H, W) grayscale images are supported. Convert colour images to grayscale or "
            "flatten them with arr.reshape(len(arr), -1)."
        )
    return arr.astype(np.float64)


# -- entry point ------------------------------------------------------------------------------


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
) -> PairedData:
    """Load paired data from one file (a table or NPZ) or one table file per modality.

    One path: an NPZ archive (see :func:`load_npz`) or a table (see
    :func:`from_table`; ``modalities`` and ``sep`` apply). Several: one file per
    modality (see :func:`from_files`; ``names`` are the modality names).
    ``label_column``/``id_column`` = "auto" take the ones :func:`suggest_mapping`
    finds (a column named label/class/y/target, id/sample_id); None means none.
    Each item may be a path, bytes, a binary buffer, or a (file name, data) pair.
    """
    items = (
        list(paths) if isinstance(paths, (list, tuple)) and not _is_named_buffer(paths) else [paths]
    )
    if not items:
        raise DataError("No files given; choose at least one file.")
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
        )

    if label_column == "auto" or id_column == "auto":
        guesses = [suggest_mapping(load_table(item)) for item in items]
        if label_column == "auto":
            label_column = next((g["label_column"] for g in guesses if g["label_column"]), None)
        if id_column == "auto":
            found = {g["id_column"] for g in guesses}
            id_column = found.pop() if len(found) == 1 else None
    return from_files(
        items,
        names=names,
        id_column=id_column,
        label_column=label_column,
        nan_policy=nan_policy,
        image_shapes=image_shapes,
    )
