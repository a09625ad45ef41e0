"""Shareable setups: a data generator's settings and a training configuration as URL
query parameters, so a link opened on another machine rebuilds the same data (same
generator, parameters and seed) and the same training configuration.

The parameters are flat and readable, so a lecturer can edit a link by hand::

    ?data=shared_latent&d.n=2000&d.seed=0&method=joint&loss=info_nce
     &c.model.temperature=0.2&c.train.epochs=15&c.train.seed=0

- ``data`` names a generator (:data:`fusion.generators.GENERATORS`); ``d.<param>`` are its
  parameters. Every parameter is written, so the data does not depend on defaults, except
  one left at ``None`` (e.g. "all rows"), which is each generator's default.
- ``method`` and ``loss`` pick the configuration's defaults (:func:`default_config`);
  ``c.<path>`` overrides one field of :class:`~fusion.config.RunConfig` by its dotted
  path in ``RunConfig.to_dict()``. Only fields that differ from the defaults are written,
  plus the training seed.
- Values are JSON scalars or lists (``0.2``, ``true``, ``[16, 16]``); anything that is not
  JSON is read as a plain string (``adam``). A ``c.<path>`` that names a declared parameter
  (:func:`fusion.config.param_at`) is typed and checked by its :class:`~fusion.params.Param`,
  so a bad value gets that parameter's own message.

A small selection travels too: ``sel=`` holds its sample ids compactly
(:func:`ids_to_param`: ``sel=r:3-7,12`` or ``sel=i:cat_01,cat_07``), at most
:data:`MAX_LINK_IDS` of them.

Uploaded data cannot travel in a link: a setup made on uploaded data carries only the
training configuration. Parsing a hand-edited link that names an unknown generator,
parameter or field raises a :class:`~fusion.errors.FusionError` that says which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fusion.config import RunConfig, default_config, param_at
from fusion.errors import ConfigError, DataError
from fusion.params import parse_value

MAX_LINK_IDS = 200  # samples a shared link's selection holds at most (larger stay out)

DATA_KEY = "data"
DATA_PREFIX = "d."
CONFIG_PREFIX = "c."
SETUP_KEYS = (DATA_KEY, "method", "loss")
_ALWAYS = ("train.seed",)  # written even when equal to the default


@dataclass
class Setup:
    """What a link describes: data to generate (or none) and a configuration (or none)."""

    generator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    config: Any = None  # fusion.config.RunConfig | None


def is_setup_key(key: str) -> bool:
    """Whether a query parameter belongs to a setup (other parameters are left alone)."""
    return key in SETUP_KEYS or key.startswith((DATA_PREFIX, CONFIG_PREFIX))


def _dump(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and (v or k != "loss_params"):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def setup_query(
    source: Mapping[str, Any] | None, config: Any = None, complete: bool = False
) -> dict[str, str]:
    """Query parameters for data made by ``source`` (a ``PairedData.source``: generator and
    parameters; ``None`` or uploaded data: no data part) and a ``RunConfig`` (or None).
    ``complete``: every configuration field, not only those that differ from the defaults
    (to compare two setups value by value)."""
    q: dict[str, str] = {}
    if source and source.get("generator"):
        q[DATA_KEY] = str(source["generator"])
        for name, value in source.get("params", {}).items():
            if value is not None:  # None means the generator's default: ``d.n=null`` says nothing
                q[DATA_PREFIX + name] = _dump(value)
    if config is not None:
        q["method"], q["loss"] = config.method, config.loss
        base = _flatten(default_config(config.method, config.loss).to_dict())
        for path, value in _flatten(config.to_dict()).items():
            if path in ("method", "loss", "name") or path.startswith("train.threads"):
                continue
            if complete or path in _ALWAYS or base.get(path, object()) != value:
                q[CONFIG_PREFIX + path] = _dump(value)
    return q


def _set_path(d: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = d
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if parts[0] == "loss_params" and last:
            node[part] = value
            return
        if not isinstance(node, dict) or part not in node:
            raise ConfigError("errors.setup.unknown_field", field=path)
        if last:
            node[part] = value
        else:
            node = node[part]


def _config_value(path: str, text: str, method: str, loss: str) -> Any:
    """A ``c.<path>`` value: typed and checked by the param declared at ``path``; a setting
    without a declaration is read as JSON (or text) and checked with the whole config."""
    p = param_at(path, method, loss)
    return _load(text) if p is None else parse_value(p, text, path)


def parse_setup(query: Mapping[str, str]) -> Setup | None:
    """The setup a link's query parameters describe; None when they hold none.

    The configuration is validated, and the generator and its parameter names are
    checked; the data itself is made by :func:`fusion.generators.generate` (which checks
    the values).
    """
    keys = [k for k in query if is_setup_key(k)]
    if not keys:
        return None  # (before the import: fusion.generators imports scikit-learn)
    from fusion.generators import GENERATOR_SPECS as GENERATORS

    setup = Setup()
    if DATA_KEY in query:
        gen = query[DATA_KEY]
        if gen not in GENERATORS:
            raise DataError(
                "errors.setup.unknown_generator", generator=gen, known=", ".join(GENERATORS)
            )
        setup.generator = gen
        for k in keys:
            if k.startswith(DATA_PREFIX):
                name = k[len(DATA_PREFIX) :]
                if name not in GENERATORS[gen].params:
                    raise DataError("errors.setup.unknown_parameter", generator=gen, name=name)
                setup.params[name] = _load(query[k])
    elif any(k.startswith(DATA_PREFIX) for k in keys):
        raise DataError("errors.setup.parameters_without_generator")
    if "method" in query or any(k.startswith(CONFIG_PREFIX) for k in keys):
        method = query.get("method", "joint")
        loss = query.get("loss") or None
        try:
            d = default_config(method, loss).to_dict()
        except (ValueError, KeyError):
            raise ConfigError("errors.setup.bad_method", method=method, loss=loss or "") from None
        for k in keys:
            if k.startswith(CONFIG_PREFIX):
                path = k[len(CONFIG_PREFIX) :]
                _set_path(d, path, _config_value(path, query[k], d["method"], d["loss"]))
        try:
            config = RunConfig.from_dict(d)
            config.validate()
        except (TypeError, KeyError) as exc:
            raise ConfigError("errors.setup.bad_config", reason=str(exc)) from None
        setup.config = config
    return setup


# ---------------------------------------------------------------------------
# A selection in a shared link (``sel=``)


def ids_to_param(ids: Sequence[str], limit: int = MAX_LINK_IDS) -> str | None:
    """Sample ids as one short query value, or None when they are too many (> ``limit``)
    or cannot be written (an id holding a comma).

    Ids that are all non-negative integers are written as sorted ranges (``r:3-7,12``);
    others as a list (``i:cat_01,cat_07``). An empty selection gives "".
    """
    ids = list(dict.fromkeys(map(str, ids)))
    if not ids:
        return ""
    if len(ids) > limit:
        return None
    if all(i.isdigit() and i.isascii() and (i == "0" or not i.startswith("0")) for i in ids):
        nums = sorted(int(i) for i in ids)
        parts, start, prev = [], nums[0], nums[0]
        for x in [*nums[1:], None]:
            if x is not None and x == prev + 1:
                prev = x
                continue
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            if x is not None:
                start = prev = x
        return "r:" + ",".join(parts)
    if any("," in i or not i for i in ids):
        return None
    return "i:" + ",".join(ids)


def ids_from_param(text: str, limit: int = MAX_LINK_IDS) -> list[str]:
    """The sample ids a ``sel=`` value names (see :func:`ids_to_param`); a malformed or
    too long value raises DataError that says what is wrong."""
    text = str(text).strip()
    if not text:
        return []
    kind, _, body = text.partition(":")
    if kind == "i" and body:
        ids = list(dict.fromkeys(body.split(",")))
    elif kind == "r" and body:
        ids = []
        for part in body.split(","):
            lo, dash, hi = part.partition("-")
            if not lo.isdigit() or (dash and not hi.isdigit()):
                raise DataError("errors.selection.bad_link", value=text[:80])
            a, b = int(lo), int(hi) if dash else int(lo)
            if b < a:
                raise DataError("errors.selection.bad_link", value=text[:80])
            if len(ids) + (b - a + 1) > limit:
                raise DataError("errors.selection.link_too_long", limit=limit)
            ids += [str(x) for x in range(a, b + 1)]
        ids = list(dict.fromkeys(ids))
    else:
        raise DataError("errors.selection.bad_link", value=text[:80])
    if len(ids) > limit:
        raise DataError("errors.selection.link_too_long", limit=limit)
    return ids
