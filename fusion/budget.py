"""Memory budgets for loading a user's file, checked from what the file declares.

A file can be well-formed and still hostile, or simply too big for the machine: an NPZ
whose zip-deflated members inflate to gigabytes of zeros (a decompression bomb), an
``.npy`` header that declares a shape of hundreds of gigabytes, a Parquet file whose
compressed columns expand a hundredfold, a CSV with tens of millions of cells. A cap on
a file's bytes bounds none of these. So every loader asks this module first, using
only what the file declares, and refuses what is over budget *before* any large
allocation:

- every file: its size in bytes against :func:`max_file_bytes` (the budget's values at
  their peak loading cost), before the file is read;

- NPZ: each member's ``.npy`` header (shape and dtype, read with NumPy's own format
  reader, ``np.lib.format.read_magic`` / ``read_array_header_*``) and its zip
  ``file_size`` -- a few kilobytes are inflated, never the array;
- Parquet: rows, leaf columns and uncompressed row-group sizes from the footer metadata;
- CSV/TSV: data rows counted on the decoded text, without copying it, before pandas
  parses it.

The budget is a number of values (table cells or array elements) per upload:
``FUSION_MAX_VALUES`` (default 50 million), lowered to what ``MEMORY_FRACTION`` of the
memory the machine has available (``MemAvailable`` in ``/proc/meminfo``) can hold at
``BYTES_PER_VALUE``, the peak cost of one value while loading (measured: about 23 B for
NPZ, 29 B for Parquet, 43 B for CSV, text included). A refusal is a
:class:`~fusion.errors.DataError` that names the size found, the budget and the fix
(subsample the rows, reduce the dimensions). :func:`memory_guard` turns a
``MemoryError`` that still happens while loading into such an error, never a traceback.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fusion.errors import DataError

DEFAULT_MAX_VALUES = 50_000_000
MEMORY_FRACTION = 0.5  # of the memory available when a file is loaded
BYTES_PER_VALUE = 40  # peak bytes per loaded value (float64 copies, masks, text)
RAW_BYTES_PER_VALUE = 8  # raw data a value may declare on average (a float64)
# Bytes of file per value of the budget: a file's bytes are held while it is parsed, so a
# file larger than the whole budget's peak memory cannot load within it, whatever its
# format. Text needs the room: a float64 in full is 24 characters with its separator, and a
# caption is one value of any length.
FILE_BYTES_PER_VALUE = BYTES_PER_VALUE
MAX_NPZ_ARRAYS = 1000  # more members than this is not a playground data set

_F = TypeVar("_F", bound=Callable[..., Any])


# -- the budget ---------------------------------------------------------------------------


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None  # absent, or "max" (no limit)


def _machine_available() -> int | None:
    """``MemAvailable`` (free memory plus reclaimable caches), or the free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate, or None when unknown.

    The least of: the machine's available memory (Linux ``MemAvailable``), what is left
    under the container's cgroup limit (v2 ``memory.max``, v1 ``limit_in_bytes``; a
    container sees the host's meminfo), and what is left under the process's address
    space limit (``RLIMIT_AS``).
    """
    candidates = [_machine_available()]
    for limit_path, used_path in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit, used = _read_int(limit_path), _read_int(used_path)
        if limit is not None and used is not None and limit < 1 << 60:
            candidates.append(max(limit - used, 0))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as fh:
                size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            candidates.append(max(soft - size, 0))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    known = [c for c in candidates if c is not None]
    return min(known) if known else None


def _env_max_values() -> int:
    raw = os.environ.get("FUSION_MAX_VALUES", "").strip().replace("_", "")
    try:
        value = int(float(raw)) if raw else DEFAULT_MAX_VALUES
    except ValueError:
        value = DEFAULT_MAX_VALUES  # a typo in the setting must not disable the budget
    return value if value > 0 else DEFAULT_MAX_VALUES


def max_values() -> int:
    """Values one upload may hold: FUSION_MAX_VALUES, or less when memory is short."""
    limit = _env_max_values()
    avail = available_memory()
    if avail is not None:
        limit = min(limit, max(1, int(avail * MEMORY_FRACTION) // BYTES_PER_VALUE))
    return limit


def max_raw_bytes(budget: int | None = None) -> int:
    """Bytes of raw data (inflated arrays, uncompressed Parquet) one upload may declare."""
    return (max_values() if budget is None else budget) * RAW_BYTES_PER_VALUE


def max_file_bytes(budget: int | None = None) -> int:
    """Bytes one file may have: the value budget at :data:`FILE_BYTES_PER_VALUE` each.

    A file is refused for its size alone only when holding its bytes would already take
    the memory the whole budget allows; within that, the format's own check (rows x
    columns, Parquet footer, NPZ headers) decides, with a message that says how many rows fit.
    """
    return (max_values() if budget is None else budget) * FILE_BYTES_PER_VALUE


def _mb(n_bytes: float) -> float:
    return n_bytes / 2**20


# -- NPZ ------------------------------------------------------------------------------------


def _npy_header(fh: Any) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of the .npy stream ``fh`` (only the header is read)."""
    version = np.lib.format.read_magic(fh)
    # Version 3.0 differs from 2.0 only in the header's text encoding (UTF-8 for field
    # names); the 2.0 reader decodes it as Latin-1, which never fails and keeps the shape.
    reader = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _fortran, dtype = reader(fh)
    return tuple(int(s) for s in shape), dtype, fh.tell()


def check_npz(data: bytes, display: str) -> int:
    """Refuse an NPZ archive whose arrays declare more than the budget; their total values.

    Reads each ``.npy`` member's header (a few kB inflated) and compares the declared shape
    and dtype, summed over members, with :func:`max_values` and :func:`max_raw_bytes`; a
    member whose zip entry is too short for its declared shape is refused too (NumPy would
    allocate the whole array before finding out). Members whose header cannot
    be read as ``.npy`` are refused here: NumPy would return such a member as raw bytes,
    inflated whole.
    """
    where = f"'{display}'"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return 0  # the loader explains a damaged archive
    members = [i for i in archive.infolist() if i.filename.endswith(".npy")]
    if len(members) > MAX_NPZ_ARRAYS:
        raise DataError(
            "errors.budget.npz_arrays", where=where, n=len(members), limit=MAX_NPZ_ARRAYS
        )
    budget = max_values()
    byte_budget = max_raw_bytes(budget)
    total_values = total_bytes = 0
    for info in members:
        array = info.filename[: -len(".npy")]
        try:
            with archive.open(info) as fh:
                start = fh.read(6)
                if start != b"\x93NUMPY":
                    # NumPy would hand such a member over as raw bytes, inflating all of it.
                    raise DataError(
                        "errors.budget.npz_not_npy", array=array, where=where, start=start
                    )
                fh.seek(0)
                shape, dtype, header_len = _npy_header(fh)
        except DataError:
            raise
        except Exception as e:  # zip and header errors of many types
            raise DataError(
                "errors.loaders.unreadable_array", array=array, where=where, error=str(e)[:200]
            ) from None
        values = math.prod(shape)
        n_bytes = values * dtype.itemsize
        total_values += values
        total_bytes += n_bytes
        if values > budget or n_bytes > byte_budget:
            raise DataError(
                "errors.budget.npz_array",
                array=array,
                where=where,
                shape=shape,
                dtype=str(dtype),
                values=values,
                inflated_mb=_mb(n_bytes),
                compressed_mb=_mb(info.compress_size),
                budget=budget,
                budget_mb=_mb(byte_budget),
            )
        # Object arrays are pickles of any length; the loader refuses them anyway.
        if not dtype.hasobject and info.file_size < header_len + n_bytes:
            raise DataError(
                "errors.budget.npz_short",
                array=array,
                where=where,
                shape=shape,
                dtype=str(dtype),
                declared_mb=_mb(header_len + n_bytes),
                stored_mb=_mb(info.file_size),
            )
        if total_values > budget or total_bytes > byte_budget:
            raise DataError(
                "errors.budget.npz_total",
                where=where,
                values=total_values,
                inflated_mb=_mb(total_bytes),
                budget=budget,
                budget_mb=_mb(byte_budget),
            )
    return total_values


# -- Parquet --------------------------------------------------------------------------------


def check_parquet(data: bytes, display: str, already: int = 0) -> int:
    """Refuse a Parquet file over budget from its footer; its values (rows x leaf columns).

    ``already`` counts the values of files read before it in the same upload. Rows and
    columns come from the metadata, as does the uncompressed size of the row groups,
    compared with :func:`max_raw_bytes`. A footer that cannot be read is left to the
    loader's own message.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    except Exception:  # pyarrow raises many types for damaged files
        return 0
    rows, columns = int(meta.num_rows), int(meta.num_columns)
    check_table(display, rows, columns, already)
    budget = max_values()
    raw = sum(max(0, meta.row_group(i).total_byte_size) for i in range(meta.num_row_groups))
    if raw > max_raw_bytes(budget):
        raise DataError(
            "errors.budget.parquet_bytes",
            file=display,
            rows=rows,
            columns=columns,
            inflated_mb=_mb(raw),
            compressed_mb=_mb(len(data)),
            budget_mb=_mb(max_raw_bytes(budget)),
        )
    return rows * columns


# -- CSV and TSV ----------------------------------------------------------------------------


def text_lines(text: str):
    """The lines of ``text`` (with their ends), one at a time, for :mod:`csv` to read.

    ``io.StringIO(text)`` would first copy the whole text into a buffer of four bytes per
    character; this holds one line at a time.
    """
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def count_text_rows(text: str, sep: str, stop_after: int | None = None) -> int:
    """Data rows of a delimited text (header excluded), as pandas will read them.

    Counting newlines is exact for most files and costs no memory. When the text has
    quotes (a quoted field may hold newlines) or blank lines (pandas skips them), rows
    are counted by streaming the text through :mod:`csv`, one row at a time; with
    ``stop_after`` that count ends as soon as it passes ``stop_after``.
    """
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if '"' not in text and "\n\n" not in text and "\n\r\n" not in text:
        return max(0, lines - 1)
    rows = -1  # the header
    try:
        for record in csv.reader(text_lines(text), delimiter=sep):
            if record:
                rows += 1
                if stop_after is not None and rows > stop_after:
                    break
    except csv.Error:  # pandas will say what is wrong; the newline count bounds the rows
        return max(0, lines - 1)
    return max(0, rows)


def check_text_table(text: str, display: str, sep: str, columns: int, already: int = 0) -> int:
    """Refuse a CSV/TSV text with more cells than the budget; its values (rows x columns).

    The cheap newline count decides when it is clearly under budget; otherwise rows are
    counted exactly (see :func:`count_text_rows`) before refusing.
    """
    budget = max_values() - already
    columns = max(columns, 1)
    rough = text.count("\n") + 1
    if rough * columns <= budget:
        rows = count_text_rows(text, sep)
    else:
        rows = count_text_rows(text, sep, stop_after=max(budget, 0) // columns)
    check_table(display, rows, columns, already)
    return rows * columns


def check_table(display: str, rows: int, columns: int, already: int = 0) -> None:
    """Refuse a table of ``rows`` x ``columns`` values over what is left of the budget."""
    budget = max_values()
    values = rows * columns
    if already and already + values > budget:
        raise DataError(
            "errors.budget.files_total",
            file=display,
            rows=rows,
            columns=columns,
            values=already + values,
            budget=budget,
        )
    if values > budget:
        raise DataError(
            "errors.budget.table",
            file=display,
            rows=rows,
            columns=columns,
            values=values,
            budget=budget,
            max_rows=max(budget // max(columns, 1), 1),
        )


# -- whatever still runs out of memory ----------------------------------------------------


def _display_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The file a loader call is about, for the out-of-memory message."""
    if kwargs.get("name"):
        return str(kwargs["name"])
    if kwargs.get("source_name"):
        return str(kwargs["source_name"])
    obj = args[0] if args else None
    if isinstance(obj, tuple) and obj and isinstance(obj[0], str):
        return obj[0]
    if isinstance(obj, (str, Path)):
        return Path(obj).name
    if isinstance(obj, (list, tuple)) and obj:
        return ", ".join(_display_of((o,), {}) for o in obj)
    name = getattr(obj, "name", None) or (obj.attrs.get("file") if hasattr(obj, "attrs") else None)
    return Path(str(name)).name if name else "the data"


def memory_guard(fn: _F) -> _F:
    """Make a loader raise a clear DataError instead of a MemoryError.

    The budgets above stop what a file declares; this catches what they cannot foresee
    (many files at once, a machine already short of memory), frees the partial result
    by unwinding, and says what to change.
    """

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MemoryError:
            pass  # leave the except block first, so the traceback's frames are freed
        raise DataError(
            "errors.budget.out_of_memory", file=_display_of(args, kwargs), budget=max_values()
        )

    return guarded  # type: ignore[return-value]
