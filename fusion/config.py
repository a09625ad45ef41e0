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
                    "errors.config.not_nested",
                    field=f"{type(cfg).__name__}.{f.name}",
                    config=kind.__name__,
                    value=value,
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
            raise _type_error(f"{type(cfg).__name__}.{f.name}", kind, type(None) in allowed, value)


def _type_error(field: str, kind: type, nullable: bool, value: Any) -> ConfigError:
    """The error for ``field`` (``Class.name``) holding ``value`` instead of a ``kind``."""
    if kind is int:
        if nullable:
            return ConfigError("errors.config.not_int_or_null", field=field, value=value)
        return ConfigError("errors.config.not_int", field=field, value=value)
    if kind is float:
        if nullable:
            return ConfigError("errors.config.not_number_or_null", field=field, value=value)
        return ConfigError("errors.config.not_number", field=field, value=value)
    if kind is str:
        if nullable:
            return ConfigError("errors.config.not_text_or_null", field=field, value=value)
        return ConfigError("errors.config.not_text", field=field, value=value)
    if nullable:
        return ConfigError("errors.config.not_bool_or_null", field=field, value=value)
    return ConfigError("errors.config.not_bool", field=field, value=value)
