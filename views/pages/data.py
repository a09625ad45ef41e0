"""Data: make the active dataset (generate one, or upload files and map their columns),
preview it (table, per-modality statistics, a 2-D PCA per modality, samples, reliability)
and download it. Upload and mapping are in ``views/parts/data_upload.py``, the preview in
``views/parts/data_preview.py``; this page holds the generator form and the layout.

Widgets return plain values; :mod:`fusion.generators` and :mod:`fusion.loaders` do the
work and raise :class:`~fusion.errors.DataError` with the fix, shown by ``show_error``.
A failed generate or load leaves the previously active dataset active.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fusion.data import PairedData
from fusion.errors import DataError, FusionError
from fusion.generators import GENERATOR_SPECS
from fusion.params import Param
from views.parts.data_pretrained import explore_as_is_ui
from views.parts.data_preview import preview_ui
from views.parts.data_upload import upload_ui
from views.parts.dataset import dataset_title, generate
from views.parts.state import get_dataset, set_dataset
from views.parts.text import label_for, language, t
from views.parts.widgets import follow_language, show_error

FLASH = "data_flash"  # a message to show once after the rerun that updates the sidebar

PER_MODALITY_HELP = "data.per_modality_help"


# ---------------------------------------------------------------------------
# Generate


def _fmt_default(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_per_modality(name: str, text: str, spec: Param) -> float | list[float]:
    """'32' -> 32, '32, 16' -> [32, 16]; a DataError that names the fix otherwise."""
    label = label_for("data.param_labels.", name)
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise DataError("data.label_enter_number_comma", label=label)
    cast = int if spec.type is int else float
    values = []
    for p in parts:
        try:
            values.append(cast(float(p)) if cast is int and float(p).is_integer() else cast(p))
        except ValueError:
            raise DataError(
                "data.label_value_not_kind",
                label=label,
                value=p,
                kind=t("data.whole_number") if cast is int else t("data.number"),
                example=_fmt_default(spec.default),
            ) from None
    return values[0] if len(values) == 1 else values


def param_widget(gen: str, name: str, spec: Param) -> Any:
    """One widget for one generator parameter, built from its declared Param."""
    label = t(spec.label)
    help_ = t(spec.help)
    key = f"gen_{gen}_{name}"
    kind = spec.type
    if spec.per_modality and kind is float and not isinstance(spec.default, list):
        return per_modality_slider(label, help_, key, spec)
    if spec.per_modality:
        return st.text_input(
            label, _fmt_default(spec.default), key=key, help=help_ + t(PER_MODALITY_HELP)
        )
    if spec.multi:
        return st.multiselect(label, spec.choices, default=spec.default, key=key, help=help_)
    if spec.choices:
        options = list(spec.choices)
        return st.selectbox(label, options, index=options.index(spec.default), key=key, help=help_)
    (lo, hi, step), default = spec.slider(), spec.default
    if kind is int:
        if spec.nullable or (hi - lo) / step > 200:
            return st.number_input(
                label,
                min_value=int(lo),
                max_value=int(hi),
                value=None if default is None else int(default),
                step=int(step),
                key=key,
                help=help_,
                placeholder=t("data.all_leave_empty") if spec.nullable else None,
            )
        return st.slider(label, int(lo), int(hi), int(default), int(step), key=key, help=help_)
    return st.slider(label, float(lo), float(hi), float(default), float(step), key=key, help=help_)


def per_modality_slider(label: str, help_: str, key: str, spec: Param) -> float | str:
    """A slider over the parameter's range for one value shared by every modality, and an
    optional field for one value per modality; returns the slider's value, or the field's
    text when it is filled (parsed by :func:`parse_per_modality`)."""
    lo, hi, step = spec.slider()
    value = st.slider(
        label, float(lo), float(hi), float(spec.default), float(step), key=key, help=help_
    )
    each = st.text_input(
        t("data.per_modality_values", label=label),
        key=f"{key}_each",
        placeholder=t("data.per_modality_values_placeholder"),
        help=t("data.per_modality_values_help", lo=lo, hi=hi),
    )
    return each if each.strip() else value


def generator_ui() -> tuple[str, dict[str, Any]] | None:
    """Generator choice and its parameters; (name, raw values) when Generate was pressed."""
    names = list(GENERATOR_SPECS)
    follow_language("gen_name")
    gen = st.selectbox(
        t("data.generator"),
        names,
        format_func=lambda g: t(GENERATOR_SPECS[g].title),
        key="gen_name",
        help=t("data.synthetic_paired_data_seeded"),
    )
    st.caption(t(GENERATOR_SPECS[gen].body))
    specs = GENERATOR_SPECS[gen].params
    with st.form(f"generate_{gen}", border=False):
        cols = st.columns(3)
        values = {}
        for i, (name, spec) in enumerate(specs.items()):
            with cols[i % 3]:
                values[name] = param_widget(gen, name, spec)
        submitted = st.form_submit_button(
            t("data.generate_2"), type="primary", icon=":material/auto_awesome:"
        )
    return (gen, values) if submitted else None


def generator_params(gen: str, values: dict[str, Any]) -> dict[str, Any]:
    """Widget values -> generator keyword arguments (per-modality text parsed)."""
    params = {}
    for name, spec in GENERATOR_SPECS[gen].params.items():
        v = values[name]
        if spec.per_modality and isinstance(v, str):
            v = parse_per_modality(name, v, spec)
        elif spec.type is int and v is not None:
            v = int(v)
        params[name] = v
    return params


# ---------------------------------------------------------------------------
# Page


def _activate(data: PairedData, label: str, message: str) -> None:
    set_dataset(data, label)
    st.session_state[FLASH] = message
    st.rerun()  # so the sidebar shows the new dataset


st.title(t("data.data"))
st.caption(t("data.paired_data_several_modalities"))
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

# A keyed, stateful tab bar: the chosen tab survives the reruns an upload or a click causes.
gen_tab, upload_tab = st.tabs(
    [t("data.generate"), t("data.upload_files")],
    key="data_source_tab",
    on_change="rerun",
)
with gen_tab:
    request = generator_ui()
    if request is not None:
        gen, values = request
        try:
            params = generator_params(gen, values)
            with st.spinner(t("data.generating")):
                made = generate(gen, params)
        except FusionError as exc:
            show_error(exc)
        else:
            _activate(
                made,
                dataset_title(gen, params),
                t("data.generated_what", what=made.describe(lang=language())),
            )
with upload_tab:
    try:
        loaded = upload_ui()
    except FusionError as exc:
        show_error(exc)
        st.caption(t("data.previously_active_dataset_still"))
        loaded = None
    if loaded is not None:
        made, label = loaded
        _activate(made, label, t("data.loaded_what", what=made.describe(lang=language())))

st.divider()
current = get_dataset()
if current is None:
    st.info(
        t("data.no_active_dataset_yet"),
        icon=":material/database:",
    )
else:
    explore_as_is_ui(current)  # vectors of one width: explore them as they are
    preview_ui(current)
