"""Type checks for the small config dataclasses (JSON files, URLs and widgets can lie).

Every config's ``validate`` starts with :func:`check_types`, so a wrong type or a NaN is a
:class:`~fusion.errors.ConfigError` naming the field, never a ``TypeError`` deep inside.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

import numpy as np

from fusion.errors import ConfigError

_TYPE_WORDS = {int: "an integer", float: "a finite number", str: "text", bool: "true or false"}


def check_types(cfg: Any) -> None:
    """Each field of a config dataclass has its annotated type (JSON and widgets can lie).

    int fields take integers, float fields finite numbers, str fields text, bool
    fields true/false, ``X | None`` also None; nested configs are checked too.
    """
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        allowed = typing.get_args(hints[f.name]) or (hints[f.name],)
        if value is None and type(None) in allowed:
            continue
        kind = next((t for t in allowed if t is not type(None)), None)
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, kind):
                raise ConfigError(
                    f"{type(cfg).__name__}.{f.name} must be a dict of {kind.__name__} fields, "
                    f"got {value!r}."
                )
            check_types(value)
            continue
        if kind is bool:
            ok = isinstance(value, (bool, np.bool_))
        elif kind is int:
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        elif kind is float:
            ok = (
                isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        elif kind is str:
            ok = isinstance(value, str)
        else:  # Any, containers: checked where they are used
            continue
        if not ok:
            optional = " (or null)" if type(None) in allowed else ""
            raise ConfigError(
                f"{type(cfg).__name__}.{f.name} must be {_TYPE_WORDS[kind]}{optional}, got "
                f"{value!r}. Fix that field of the configuration."
            )
