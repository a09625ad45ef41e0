"""What the loaders say: quoting values, warnings with keys, and errors that name a place.

A problem with a column, the labels or the ids is one error builder, :func:`place_error`:
the problem (a missing value, a value beyond float32, ...) and the :class:`Place` it is at
(a table's column, a column of one file, a column or pixel of an NPZ array, the labels
array, ...) pick the catalogue key ``errors.loaders.<problem>.<kind>``, so every language
gets a whole sentence, never an English fragment. Softer problems are recorded with
:func:`_warn` and shown in a page's language by :func:`localized_warnings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusion.errors import DataError
from fusion.i18n import DEFAULT_LANGUAGE, translate


def _fmt_value(v: Any) -> str:
    s = repr(v) if isinstance(v, str) else str(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _id_note(i: int, ids: np.ndarray | None) -> str:
    """What follows 'data row {i + 1}' in a message: the row's id, when rows have ids."""
    return f" (id {_q(ids[i])})" if ids is not None else ""


def _names(values: Sequence[Any]) -> str:
    """Names quoted and joined for a message: 'a', 'b', 'c'."""
    return ", ".join(_q(v) for v in values)


def _q(value: Any) -> str:
    """A value quoted for a message (numpy strings would show as np.str_(...))."""
    return repr(str(value))


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


def _preview_name(mod: str, j: int, shape: tuple[int, ...]) -> str:
    """Flat feature column ``j`` of modality ``mod`` as the data preview and exports name it
    (:func:`fusion.export.data_to_frame`): ``<mod>__<j>``, or ``<mod>__r<y>c<x>`` for images."""
    if len(shape) == 3:
        return f"{mod}__r{j // shape[2]}c{j % shape[2]}"
    return f"{mod}__{j}"


# -- where a problem is, and the one error builder -------------------------------------------

# The message parameters each kind of place fills in (besides ``where``).
PLACE_FIELDS: dict[str, tuple[str, ...]] = {
    "column": ("column",),  # a feature column of one table
    "file_column": ("column", "file"),  # a column of one of several files
    "array_column": ("array", "index"),  # column ``index`` of a 2-D NPZ array
    "array_pixel": ("array", "y", "x"),  # pixel (y, x) of a 3-D NPZ array
    "array": (),  # the NPZ's labels or ids array
    "label": ("column",),  # the label, id or group column a caller named
    "id": ("column",),
    "group": ("column",),
    "modality": ("modality", "column"),  # a column named in a modality mapping
}


@dataclass(frozen=True)
class Place:
    """Where a problem is: its kind (a key of :data:`PLACE_FIELDS`) and what names it."""

    kind: str
    column: str = ""
    file: str = ""
    array: str = ""
    modality: str = ""
    index: int = 0
    y: int = 0
    x: int = 0

    def params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PLACE_FIELDS[self.kind]}

    def short(self) -> str:
        """The column in a list (same words in every language): 'x' or 'img'[:, 3]."""
        if self.kind == "array_column":
            return f"{_q(self.array)}[:, {self.index}]"
        if self.kind == "array_pixel":
            return f"{_q(self.array)}[:, {self.y}, {self.x}]"
        return _q(self.column)


@dataclass(frozen=True)
class Problem:
    """A problem found at a place: its own message parameters and its key per kind of place."""

    details: tuple[str, ...]  # parameters besides ``where`` and the place's own
    keys: dict[str, str]  # kind of place -> catalogue key (literal, so tests can read them)


PROBLEMS: dict[str, Problem] = {
    "no_values": Problem(
        (),
        {
            "column": "errors.loaders.no_values.column",
            "file_column": "errors.loaders.no_values.file_column",
            "array_column": "errors.loaders.no_values.array_column",
            "array_pixel": "errors.loaders.no_values.array_pixel",
        },
    ),
    "beyond_float32": Problem(
        ("value", "row", "id_note", "limit"),
        {
            "column": "errors.loaders.beyond_float32.column",
            "file_column": "errors.loaders.beyond_float32.file_column",
            "array_column": "errors.loaders.beyond_float32.array_column",
            "array_pixel": "errors.loaders.beyond_float32.array_pixel",
        },
    ),
    "missing_cell": Problem(
        ("value", "row", "id_note", "n_bad"),
        {
            "column": "errors.loaders.missing_cell.column",
            "file_column": "errors.loaders.missing_cell.file_column",
            "array_column": "errors.loaders.missing_cell.array_column",
            "array_pixel": "errors.loaders.missing_cell.array_pixel",
        },
    ),
    "missing_label": Problem(
        ("row", "id_note", "n_bad"),
        {
            "column": "errors.loaders.missing_label.column",
            "file_column": "errors.loaders.missing_label.file_column",
            "array": "errors.loaders.missing_label.array",
        },
    ),
    "single_class": Problem(
        ("name",),
        {
            "column": "errors.loaders.single_class.column",
            "file_column": "errors.loaders.single_class.file_column",
            "array": "errors.loaders.single_class.array",
        },
    ),
    "no_column": Problem(
        ("shown", "more"),
        {
            "label": "errors.loaders.no_column.label",
            "id": "errors.loaders.no_column.id",
            "group": "errors.loaders.no_column.group",
            "modality": "errors.loaders.no_column.modality",
        },
    ),
    "ids_empty": Problem(
        ("row", "n_empty"),
        {"column": "errors.loaders.ids_empty.column", "array": "errors.loaders.ids_empty.array"},
    ),
    "ids_duplicate": Problem(
        ("id", "count", "n_repeated"),
        {
            "column": "errors.loaders.ids_duplicate.column",
            "array": "errors.loaders.ids_duplicate.array",
        },
    ),
}


def place_error(problem: str, where: str, place: Place, **details: Any) -> DataError:
    """The :class:`DataError` for ``problem`` at ``place`` in ``where`` (the file or files)."""
    spec = PROBLEMS[problem]
    assert set(details) == set(spec.details), f"{problem} takes {spec.details}, got {details}"
    assert place.kind in spec.keys, f"{problem} has no message for a {place.kind!r}"
    return DataError(spec.keys[place.kind], where=where, **place.params(), **details)
