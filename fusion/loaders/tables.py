"""Reading CSV, TSV and Parquet files into DataFrames (:func:`load_table`).

Text is decoded as UTF-8, UTF-16 with a BOM or GB18030, the separator is sniffed when the
file has no extension, and pandas' parser errors are told in a user's words. Rows x
columns are checked against the memory budget (:mod:`fusion.budget`) before parsing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from fusion import budget
from fusion.data import MIN_ROWS
from fusion.errors import DataError
from fusion.loaders.formats import Source, _detect, _read_source
from fusion.loaders.messages import _names


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
