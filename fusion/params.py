"""One way to declare a parameter: its type, bounds, choices, default and catalogue keys.

In the spirit of scikit-learn's ``_parameter_constraints``: every setting of the playground
(the run configs' fields, the generators' and losses' parameters) is a :class:`Param`, and
one validator, :meth:`Param.check`, words every refusal with the param's catalogue key. From
the same declarations come the Train form's widget bounds and help
(:func:`fusion.form.form_fields`), the share link's ``c.<path>`` and ``d.<name>``
(:mod:`fusion.share`), the Data page's widgets and the command line's ``--set path=value``
(:func:`parse_value` turns the text into the param's type).

A config dataclass declares a field with :func:`spec` (its default is the field's default,
its type the annotation); :func:`declared` lists a dataclass's params with both filled in.
A generator declares its params in its ``register_generator`` call, its defaults read from
its signature. Rules that tie two fields together (heads dividing the token dimension, the
validation and test fractions together below 1) stay in the configs' ``validate``.

This module imports nothing of the project but :mod:`fusion.errors`, no numpy-heavy code,
no torch, no streamlit.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from fusion.errors import ConfigError, FusionError


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()  # a param whose default its declaring table fills in


@dataclass(frozen=True)
class Interval:
    """A range of numbers; ``None`` leaves an end open. ``closed`` names the ends that are
    allowed: "both", "left" (``lo <= x < hi``), "right" (``lo < x <= hi``) or "neither"."""

    lo: float | None = None
    hi: float | None = None
    closed: str = "both"

    def __post_init__(self) -> None:
        assert self.closed in ("both", "left", "right", "neither"), self.closed

    def __contains__(self, x: Any) -> bool:
        if not _is_number(x) or not math.isfinite(float(x)):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.lo is not None and (x < self.lo or (x == self.lo and not left)):
            return False
        return not (self.hi is not None and (x > self.hi or (x == self.hi and not right)))

    def text(self) -> str:
        """The bound in symbols: ">= 0", "> 0", "in [0, 1)"."""
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        if self.lo is not None and self.hi is not None:
            return f"in {left}{self.lo:g}, {self.hi:g}{right}"
        if self.lo is not None:
            return f"{'>=' if left == '[' else '>'} {self.lo:g}"
        if self.hi is not None:
            return f"{'<=' if right == ']' else '<'} {self.hi:g}"
        return ""


@dataclass(frozen=True)
class Param:
    """One parameter.

    ``kind`` is the value's type (int, float, bool or str; None: the default's type).
    ``bounds`` limits a number, ``choices`` a text (or, with ``multi``, each item of a list).
    ``nullable`` also allows None (its meaning is in the help). ``per_modality``: a number or
    a list of numbers, one per modality. ``step`` and ``widget_range`` size a slider where
    the bounds are open or wide. ``label``/``help`` are catalogue keys for widgets; ``error``
    is the catalogue key of the refusal, filled with the param's name and value (under its
    own name, ``value`` and ``param``), ``lo``/``hi``/``bound``/``choices`` and the caller's
    context; without one, ``errors.params.not_<type>`` words it. ``name`` and ``default`` are filled by the declaring table.
    """

    default: Any = NO_DEFAULT
    kind: type | None = None
    bounds: Interval | None = None
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    per_modality: bool = False
    multi: bool = False
    step: float | None = None
    widget_range: tuple[float, float] | None = None
    label: str = ""
    help: str = ""
    error: str = ""
    name: str = ""

    @property
    def type(self) -> type:
        """The value's type: ``kind``, else the default's (a list default: its items')."""
        if self.kind is not None:
            return self.kind
        d = self.default
        if isinstance(d, (list, tuple)) and d:
            d = d[0]
        return type(d) if d is not None and d is not NO_DEFAULT else str

    @property
    def lo(self) -> float | None:
        return self.bounds.lo if self.bounds else None

    @property
    def hi(self) -> float | None:
        return self.bounds.hi if self.bounds else None

    def slider(self) -> tuple[float, float, float]:
        """(min, max, step) for a widget: ``widget_range`` within the bounds, else the bounds."""
        lo, hi = self.widget_range or (self.lo, self.hi)
        step = self.step or (1 if self.type is int else 0.05)
        assert lo is not None and hi is not None, f"{self.name} needs a widget_range"
        return lo, hi, step

    def bound_text(self) -> str:
        """ " >= 0", " > 0", " in [0, 1)" or "" (the bound as a message's suffix)."""
        text = self.bounds.text() if self.bounds else ""
        return f" {text}" if text else ""

    def refuse(self, value: Any, error: type[FusionError] = ConfigError, **context: Any):
        """The error for ``value``: the param's message key with everything it may name."""
        key = self.error or self._default_error()
        value = context.pop("shown", value)  # a list's whole value, not the item at fault
        return error(
            key,
            **{
                "lo": self.lo,
                "hi": self.hi,
                "bound": self.bound_text(),
                "choices": self.choices,
                **context,
                self.name or "value": value,
                "param": self.name,
                "value": value,
            },
        )

    def _default_error(self) -> str:
        """The catalogue key of the generic refusal for this param's type."""
        if self.choices:
            return "errors.params.not_choice"
        names = {int: "not_int", float: "not_number", bool: "not_bool"}
        return f"errors.params.{names.get(self.type, 'not_text')}"

    def check_one(self, value: Any, error: type[FusionError] = ConfigError, **context: Any) -> Any:
        """One value (not a list): the right type and within bounds or choices, normalised
        (an integral float for an int param becomes an int); else ``error`` with the message."""
        if value is None and self.nullable:
            return None
        if self.choices:
            if isinstance(value, (str, int, float)) and value in self.choices:
                return value
            raise self.refuse(value, error, **context)
        kind = self.type
        if kind is bool:
            if type(value).__name__ in ("bool", "bool_"):
                return bool(value)
            raise self.refuse(value, error, **context)
        if kind is str:
            if isinstance(value, str):
                return value
            raise self.refuse(value, error, **context)
        if not _is_number(value) or not math.isfinite(float(value)):
            raise self.refuse(value, error, **context)
        if kind is int:
            if not float(value).is_integer():
                raise self.refuse(value, error, **context)
            value = int(value)
        else:
            value = float(value)
        if self.bounds is not None and value not in self.bounds:
            raise self.refuse(value, error, **context)
        return value

    def check(self, value: Any, error: type[FusionError] = ConfigError, **context: Any) -> Any:
        """A value of this param, checked and normalised; a list for a ``multi`` param
        (each item a choice) and, for a ``per_modality`` one, a number or a list of them."""
        if self.multi:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, Sequence) or not items:
                raise self.refuse(value, error, **context)
            return [self.check_one(v, error, **context, shown=value) for v in items]
        if self.per_modality and hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
            return [self.check_one(v, error, **context) for v in value]
        return self.check_one(value, error, **context)


def _is_number(value: Any) -> bool:
    """int, float and numpy's numbers (not bool, numpy's bool or text)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def spec(default: Any, **kw: Any) -> Any:
    """A config dataclass field declared as a :class:`Param` (its default is the field's)."""
    return dataclasses.field(default=default, metadata={"param": Param(**kw)})


@cache
def declared(cls: type) -> dict[str, Param]:
    """A config dataclass's params by field name, with name, default and type filled in."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        p = f.metadata.get("param")
        if p is None:
            continue
        allowed = typing.get_args(hints[f.name]) or (hints[f.name],)
        kind = next((t for t in allowed if t is not type(None)), None)
        out[f.name] = replace(
            p,
            name=f.name,
            default=f.default,
            kind=p.kind or kind,
            nullable=p.nullable or type(None) in allowed,
        )
    return out


def check_fields(cfg: Any, **context: Any) -> None:
    """Every declared param of a config dataclass within its bounds and choices (types are
    :func:`fusion.config.check_types`'s job), refused with the param's own message."""
    for name, p in declared(type(cfg)).items():
        p.check(getattr(cfg, name), ConfigError, **context)


def parse_value(p: Param, text: str, path: str = "") -> Any:
    """``text`` from a command line or link in ``p``'s type: ``"5"`` -> 5 for an int,
    ``"true"`` -> True for a bool, JSON for lists and ``null``. Text that is not of the type
    is refused with the type's message naming ``path``; bounds and choices are left to the
    config's ``validate``, which words them with the context they need."""
    stripped = text.strip()
    kind = p.type
    value: Any = text
    if stripped == "null" and p.nullable:
        return None
    if p.multi or p.per_modality or kind in (int, float, bool):
        try:
            value = json.loads(stripped)
        except ValueError:
            if kind is bool and stripped.lower() in ("true", "false"):
                value = stripped.lower() == "true"
            elif p.multi and stripped:
                value = [s.strip() for s in stripped.split(",")]
    items = value if isinstance(value, list) and (p.multi or p.per_modality) else [value]
    for item in items:
        ok = {
            int: _is_number(item) and float(item).is_integer(),
            float: _is_number(item),
            bool: isinstance(item, bool),
        }.get(kind, isinstance(item, str))
        if not ok:
            generic = replace(p, error="", bounds=None, choices=(), name=path or p.name)
            raise generic.refuse(text, ConfigError)
    if kind is float and _is_number(value):
        value = float(value)
    if kind is int and _is_number(value):
        value = int(value)
    return value


def with_names(params: Mapping[str, Param]) -> dict[str, Param]:
    """``params`` with each one's ``name`` set to its key."""
    return {k: replace(p, name=k) for k, p in params.items()}
