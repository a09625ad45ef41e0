"""Reading a file's bytes and telling its format from its content, not its name.

A mislabelled file (an Excel workbook named ``.csv``, Parquet named ``.csv``, binary
data) gets a clear :class:`~fusion.errors.DataError` instead of a parser traceback; files
over :func:`fusion.budget.max_file_bytes` (the memory budget, not a fixed number of bytes)
are refused before they are read.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from fusion import budget
from fusion.errors import DataError

# A path, raw bytes, a binary file-like object (BytesIO, Streamlit's
# UploadedFile) or a (file name, bytes-or-buffer) pair for unnamed buffers.
Source = str | Path | bytes | bytearray | BinaryIO | tuple[str, Any]

_TEXT_EXTS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv"}
_PARQUET_EXTS = {".parquet", ".pq"}
_EXCEL_EXTS = {".xlsx", ".xls", ".xlsm", ".ods"}


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
    """Refuse a file larger than the memory budget allows (:func:`budget.max_file_bytes`)."""
    values = budget.max_values()
    limit = budget.max_file_bytes(values)
    if n_bytes > limit:
        raise DataError(
            "errors.loaders.too_large",
            file=display,
            megabytes=n_bytes / 2**20,
            limit=limit // 2**20,
            budget=values,
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
