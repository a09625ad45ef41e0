"""The Train form's values and a run config, both ways, from one field table.

:func:`fusion.registry.form_fields` lists the settings a method and loss have, each a
:class:`~fusion.registry.Field` with a dotted path into :meth:`RunConfig.to_dict`. The page
draws one widget per field; this module turns the widgets' values into a config
(:func:`config_from_values`) and a config from a shared link into widget values
(:func:`values_from_config`), checking every value against the field's choices or bounds
on the way. :func:`auto_notes` says what the automatic settings pick for the data at hand
(encoder widths, standardisation, early stopping). No streamlit, no torch: a form is plain
values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fusion import registry
from fusion.config import (
    AUTO_WIDTH_RANGE,
    DEFAULT_BATCH_SIZE,
    RunConfig,
    default_config,
    get_path,
    monitored_metric,
    param_at,
    set_path,
)
from fusion.data import PairedData, plan_roles
from fusion.i18n import DEFAULT_LANGUAGE, translate
from fusion.registry import Field


def catalogue_keys(kind: str, name: str) -> list[str]:
    """The catalogue keys a loss (``kind="loss"``) or method needs in every language."""
    if kind == "method":
        spec = registry.METHODS[name]
        keys = [f"common.method_labels.{name}", f"train.method_help.{name}"]
        loss = spec.losses[0] if spec.losses else ""
        fields = [_from_param(f, name, loss) for f in spec.fields]
    else:
        loss = registry.LOSSES[name]
        keys = [
            f"common.loss_labels.{name}",
            f"info.loss.{name}.title",
            f"info.loss.{name}.source",
            *(f"learn.loss_symbols.{name}.{i}" for i in range(len(loss.symbols))),
        ]
        if loss.family != "joint":
            keys.append(f"learn.other_loss_note.{name}")
        method = next((m for m, s in registry.METHODS.items() if name in s.losses), "joint")
        fields = [_from_param(f, method, name) for f in loss.fields]
    for f in fields:
        keys += [f.label, *([f.help] if f.help else [])]
        if f.option_labels:
            keys += [f"{f.option_labels}.{o}" for o in f.options]
    return keys


def form_fields(method: str, loss: str) -> list[Field]:
    """The Train form's fields for a method and loss, in form order."""
    m = registry.METHODS[method]
    spec = registry.LOSSES.get(loss)
    own = [*m.fields, *(spec.fields if spec is not None else ())]
    train = [
        f
        for f in registry.TRAIN_FIELDS
        if not m.gradient_free or f.path in registry.GRADIENT_FREE_TRAIN_FIELDS
    ]
    return [_from_param(f, method, loss) for f in (*own, *train)]


def _from_param(f: Field, method: str, loss: str) -> Field:
    """``f`` with the label, help, bounds and default it leaves empty taken from the
    :class:`~fusion.params.Param` declared at its path."""
    p = param_at(f.path, method, loss)
    if p is None:
        return f
    bounds = f.bounds
    if not bounds and not f.options and f.widget in ("slider", "number"):
        bounds = p.slider()
    default = f.default
    if default is None and f.path.startswith("loss_params."):  # unset in the config
        default = p.default
    return replace(
        f, label=f.label or p.label, help=f.help or p.help, bounds=bounds, default=default
    )


@dataclass
class FormValues:
    """Widget values by field path, and what a link asked for that the form cannot show.

    ``snapped``: fields whose value was moved to the nearest choice or bound;
    ``refused``: fields whose value is not one of its choices (the default is kept).
    Both hold the fields' label keys, for the page to name them.
    """

    values: dict[str, Any] = field(default_factory=dict)
    snapped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def options(f: Field, modalities: Sequence[str] = ()) -> tuple[Any, ...]:
    """A field's choices: its own, or the data's modality names for a dynamic field."""
    return tuple(modalities) if f.dynamic == "modalities" else f.options


def fit_value(f: Field, value: Any, modalities: Sequence[str] = ()) -> tuple[Any, str]:
    """``value`` as the field can show it, and "" / "snapped" / "refused" saying what changed.

    Numeric choices snap to the nearest; text choices must match (else "refused", and the
    value is None); slider and number bounds clamp; checkboxes take booleans only.
    """
    choices = options(f, modalities)
    numeric = choices and all(isinstance(c, (int, float)) for c in choices)
    if f.widget == "checkbox":
        return (value, "") if isinstance(value, bool) else (None, "refused")
    if choices and value in choices and type(value) is not bool:
        return value, ""
    if numeric:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "refused"
        return min(choices, key=lambda c: abs(c - value)), "snapped"
    if choices:
        return None, "refused"
    if f.bounds:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, "refused"
        lo, hi = f.bounds[0], f.bounds[1]
        kept = min(max(value, lo), hi)
        kept = int(kept) if isinstance(lo, int) and float(kept).is_integer() else kept
        return kept, "" if kept == value else "snapped"
    return value, ""


def values_from_config(cfg: RunConfig, modalities: Sequence[str] = ()) -> FormValues:
    """The form's widget values for ``cfg`` (a shared link's configuration)."""
    out = FormValues()
    d = cfg.to_dict()
    for f in form_fields(cfg.method, cfg.loss):
        value = get_path(d, f.path, f.default)
        if value is None:
            continue
        kept, change = fit_value(f, value, modalities)
        if change == "refused":
            out.refused.append(f.label)
            continue
        if change == "snapped":
            out.snapped.append(f.label)
        out.values[f.path] = kept
    return out


def config_from_values(
    method: str, loss: str, values: dict[str, Any], base: RunConfig | None = None
) -> RunConfig:
    """The RunConfig for the form's values (by field path).

    What the form does not show comes from ``base`` (a configuration loaded from a shared
    link, when its method and loss match) or else from the library's defaults.
    """
    same = base is not None and (base.method, base.loss) == (method, loss)
    d = (base if same else default_config(method, loss)).to_dict()
    for path, value in values.items():
        set_path(d, path, value)
    d["name"] = str(values.get("name") or "").strip()
    return RunConfig.from_dict(d)


def auto_notes(cfg: RunConfig, data: PairedData, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Sentences for the Train form on what the automatic settings pick for ``data``: each
    modality's encoder width when it is "auto", whether and why inputs are standardised
    (the spread of the features' scales), and what early stopping watches."""
    if registry.METHODS[cfg.method].gradient_free:
        return []
    notes = []
    enc = getattr(cfg.model, "encoder", None)
    adapter = (  # an adapter that starts as the vectors (fusion.models.JointEmbedding)
        enc is not None
        and enc.kind.startswith("adapter_")
        and not cfg.train.standardize
        and all(math.prod(s) == cfg.model.dim for s in data.input_shapes().values())
    )
    if (
        enc is not None
        and enc.hidden == 0
        and enc.kind not in ("linear", "adapter_linear")
        and enc.depth > 0
    ):
        shapes = data.input_shapes()
        if cfg.method == "early":  # one encoder over all modalities side by side
            shapes = {" + ".join(shapes): (sum(math.prod(s) for s in shapes.values()),)}
        items = [
            translate("train.auto.width_item", lang, m=m, w=enc.width_for(s), d=math.prod(s))
            for m, s in shapes.items()
        ]
        sep = translate("train.auto.list_separator", lang)
        lo, hi = AUTO_WIDTH_RANGE
        notes.append(translate("train.auto.width", lang, widths=sep.join(items), lo=lo, hi=hi))
    stds = np.concatenate([data.flat(m).std(axis=0) for m in data.names])
    stds = stds[stds > 0] if (stds > 0).any() else stds
    key = "train.auto.standardize" if cfg.train.standardize else "train.auto.standardize_off"
    if cfg.train.standardize and stds.max() < 1.5 * stds.min():  # already on one scale
        key = "train.auto.standardize_alike"
    notes.append(translate(key, lang, lo=f"{stds.min():.3g}", hi=f"{stds.max():.3g}"))
    monitor = monitored_metric(cfg.method, cfg.loss)
    if cfg.train.patience == 0:
        notes.append(translate("train.auto.early_off", lang))
    elif adapter and monitor == "loss":  # fusion.train watches retrieval for an adapter
        notes.append(translate("train.auto.early_adapter", lang, patience=cfg.train.patience))
    elif monitor is None:
        notes.append(translate("train.auto.early_collapse", lang))
    else:
        notes.append(translate(f"train.auto.early.{monitor}", lang, patience=cfg.train.patience))
    plan = plan_roles(data, cfg.train)  # the run's real split (or its first fold)
    n_train = len(plan[0].train)
    if len(plan) > 1:
        notes.append(
            translate("train.auto.cross_validation", lang, folds=len(plan), n=f"{data.n:,}")
        )
    else:
        notes.append(translate("train.auto.test_rows", lang, n=f"{len(plan[0].test):,}"))
    if cfg.train.batch_size == DEFAULT_BATCH_SIZE and cfg.train.batch_size > n_train:
        notes.append(translate("train.auto.batch", lang, batch=cfg.train.batch_size, n=n_train))
    check = cfg.train.standardize_check_rows
    if cfg.train.standardize and registry.METHODS[cfg.method].needs_labels and n_train < check:
        notes.append(translate("train.auto.standardize_check", lang, n=n_train, rows=check))
    return notes
