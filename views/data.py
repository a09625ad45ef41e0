"""Data: make the active dataset (generate one, or upload files and map their columns),
preview it (table, per-modality statistics, a 2-D PCA per modality, samples, reliability)
and download it.

Widgets return plain values; :mod:`fusion.generators` and :mod:`fusion.loaders` do the
work and raise :class:`~fusion.errors.DataError` with the fix, shown by ``show_error``.
A failed generate or load leaves the previously active dataset active.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from fusion.data import PairedData
from fusion.errors import DataError, FusionError
from fusion.generators import GENERATOR_PARAMS, GENERATORS
from fusion.loaders import localized_warnings
from views._shared import (
    chart,
    dataset_label,
    dataset_title,
    fmt,
    generate,
    get_dataset,
    label_for,
    language,
    set_dataset,
    show_error,
    t,
)

FLASH = "data_flash"  # a message to show once after the rerun that updates the sidebar
UPLOAD_CACHE = "data_upload_tables"  # file_id -> parsed table, for this session only
NONE = "—"  # the "no column" choice in selects

GENERATOR_INFO = {
    "shared_latent": (
        "data.generator_info.shared_latent.title",
        "data.generator_info.shared_latent.body",
    ),
    "gated_reliability": (
        "data.generator_info.gated_reliability.title",
        "data.generator_info.gated_reliability.body",
    ),
    "digits_two_view": (
        "data.generator_info.digits_two_view.title",
        "data.generator_info.digits_two_view.body",
    ),
    "digits_captions": (
        "data.generator_info.digits_captions.title",
        "data.generator_info.digits_captions.body",
    ),
}
PER_MODALITY_HELP = "data.per_modality_help"
NAN_POLICIES = ("reject", "drop")  # named by data.nan_policy_labels.<policy>


# ---------------------------------------------------------------------------
# Generate


def _fmt_default(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def parse_per_modality(name: str, text: str, spec: dict[str, Any]) -> float | list[float]:
    """'32' -> 32, '32, 16' -> [32, 16]; a DataError that names the fix otherwise."""
    label = label_for("data.param_labels.", name)
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise DataError("data.label_enter_number_comma", label=label)
    cast = int if spec["kind"] == "int" else float
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
                example=_fmt_default(spec["default"]),
            ) from None
    return values[0] if len(values) == 1 else values


def param_widget(gen: str, name: str, spec: dict[str, Any]) -> Any:
    """One widget for one generator parameter, built from its GENERATOR_PARAMS spec."""
    label = t(f"gen_params.{gen}.{name}.label")
    help_ = t(f"gen_params.{gen}.{name}.help")
    key = f"gen_{gen}_{name}"
    kind = spec["kind"]
    if spec.get("per_modality") and kind == "float" and not isinstance(spec["default"], list):
        return per_modality_slider(label, help_, key, spec)
    if spec.get("per_modality"):
        return st.text_input(
            label, _fmt_default(spec["default"]), key=key, help=help_ + t(PER_MODALITY_HELP)
        )
    if kind == "choice":
        options = spec["options"]
        return st.selectbox(
            label, options, index=options.index(spec["default"]), key=key, help=help_
        )
    if kind == "multi":
        return st.multiselect(label, spec["options"], default=spec["default"], key=key, help=help_)
    lo, hi, step, default = spec["min"], spec["max"], spec["step"], spec["default"]
    if kind == "int":
        if spec.get("optional") or (hi - lo) / step > 200:
            return st.number_input(
                label,
                min_value=int(lo),
                max_value=int(hi),
                value=None if default is None else int(default),
                step=int(step),
                key=key,
                help=help_,
                placeholder=t("data.all_leave_empty") if spec.get("optional") else None,
            )
        return st.slider(label, int(lo), int(hi), int(default), int(step), key=key, help=help_)
    return st.slider(label, float(lo), float(hi), float(default), float(step), key=key, help=help_)


def per_modality_slider(label: str, help_: str, key: str, spec: dict[str, Any]) -> float | str:
    """A slider over the parameter's range for one value shared by every modality, and an
    optional field for one value per modality; returns the slider's value, or the field's
    text when it is filled (parsed by :func:`parse_per_modality`)."""
    value = st.slider(
        label,
        float(spec["min"]),
        float(spec["max"]),
        float(spec["default"]),
        float(spec["step"]),
        key=key,
        help=help_,
    )
    each = st.text_input(
        t("data.per_modality_values", label=label),
        key=f"{key}_each",
        placeholder=t("data.per_modality_values_placeholder"),
        help=t("data.per_modality_values_help", lo=spec["min"], hi=spec["max"]),
    )
    return each if each.strip() else value


def generator_ui() -> tuple[str, dict[str, Any]] | None:
    """Generator choice and its parameters; (name, raw values) when Generate was pressed."""
    names = list(GENERATORS)
    gen = st.selectbox(
        t("data.generator"),
        names,
        format_func=lambda g: t(GENERATOR_INFO[g][0]),
        key="gen_name",
        help=t("data.synthetic_paired_data_seeded"),
    )
    st.caption(t(GENERATOR_INFO[gen][1]))
    specs = GENERATOR_PARAMS[gen]
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
    for name, spec in GENERATOR_PARAMS[gen].items():
        v = values[name]
        if spec.get("per_modality") and isinstance(v, str):
            v = parse_per_modality(name, v, spec)
        elif spec["kind"] == "int" and v is not None:
            v = int(v)
        params[name] = v
    return params


# ---------------------------------------------------------------------------
# Upload


def _read_tables(files: list) -> list[pd.DataFrame]:
    """The uploaded tables, parsed once per upload and kept in this session only."""
    from fusion.loaders import load_table

    cache = st.session_state.setdefault(UPLOAD_CACHE, {})
    ids = {f.file_id for f in files}
    for stale in set(cache) - ids:
        del cache[stale]
    for f in files:
        if f.file_id not in cache:
            cache[f.file_id] = load_table((f.name, f.getvalue()))
    return [cache[f.file_id] for f in files]


def _column_select(label: str, options: list[str], default: str | None, key: str, help_: str):
    choices = [NONE, *options]
    value = st.selectbox(
        label,
        choices,
        index=choices.index(default) if default in choices else 0,
        key=key,
        help=help_,
    )
    return None if value == NONE else value


def nan_policy_ui(key: str) -> str:
    return st.radio(
        t("data.missing_values"),
        list(NAN_POLICIES),
        format_func=lambda p: t(f"data.nan_policy_labels.{p}"),
        key=key,
        horizontal=True,
        help=t("data.rows_empty_nan_infinite"),
    )


def table_mapping_ui(file, df: pd.DataFrame) -> PairedData | None:
    """Map one table's columns to modalities; the loaded data when Load was pressed."""
    from fusion.loaders import from_table, suggest_mapping

    guess = suggest_mapping(df)
    columns = [str(c) for c in df.columns]
    st.markdown(
        t(
            "data.name_rows_rows_cols",
            name=file.name,
            rows=f"{len(df):,}",
            cols=len(columns),
        )
    )
    st.dataframe(df.head(5), hide_index=True, height=210)
    st.caption(t(f"data.how_found.{guess['method']}"))
    suggested = list(guess["modalities"].items())
    k = st.number_input(
        t("data.number_modalities"),
        min_value=2,
        max_value=max(8, len(suggested)),
        value=max(2, len(suggested)),
        key=f"map_k_{file.file_id}",
        help=t("data.how_many_modalities_groups"),
    )
    with st.form(f"map_{file.file_id}", border=False):
        mapping: list[tuple[str, list[str]]] = []
        for i in range(int(k)):
            name0, cols0 = suggested[i] if i < len(suggested) else (f"m{i + 1}", [])
            c1, c2 = st.columns([1, 4])
            name = c1.text_input(
                t("data.modality_i_name", i=i + 1), name0, key=f"map_name_{file.file_id}_{i}"
            )
            cols = c2.multiselect(
                t("data.columns_modality_i", i=i + 1),
                columns,
                default=[c for c in cols0 if c in columns],
                key=f"map_cols_{file.file_id}_{i}",
                help=t("data.every_chosen_column_must"),
            )
            mapping.append((name.strip(), cols))
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            label_col = _column_select(
                t("data.label_column"),
                columns,
                guess["label_column"],
                f"map_label_{file.file_id}",
                t("data.class_each_row_numbers"),
            )
        with c2:
            id_col = _column_select(
                t("data.id_column"),
                columns,
                guess["id_column"],
                f"map_id_{file.file_id}",
                t("data.unique_name_per_row"),
            )
        with c3:
            group_col = _column_select(
                t("data.group_column"),
                columns,
                guess["group_column"],
                f"map_group_{file.file_id}",
                t("data.group_column_help"),
            )
        with c4:
            policy = nan_policy_ui(f"map_nan_{file.file_id}")
        if not st.form_submit_button(t("data.load"), type="primary", icon=":material/upload_file:"):
            return None
    names = [n for n, _ in mapping]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise DataError("data.give_every_modality_different")
    empty = [n for n, c in mapping if not c]
    if empty:
        raise DataError("data.modality_name_has_no", name=empty[0])
    return from_table(
        df,
        modalities=dict(mapping),
        label_column=label_col,
        id_column=id_col,
        nan_policy=policy,
        source_name=file.name,
        group_column=group_col,
    )


def files_mapping_ui(files: list, tables: list[pd.DataFrame]) -> PairedData | None:
    """One table per modality: modality names, label and id columns; data when Load pressed."""
    from fusion.loaders import from_files, suggest_mapping

    st.markdown(t("data.n_files_one_modality", n=len(files)))
    everywhere = set.intersection(*(set(map(str, df.columns)) for df in tables))
    anywhere = sorted({str(c) for df in tables for c in df.columns})
    guesses = [suggest_mapping(df) for df in tables]
    label0 = next((g["label_column"] for g in guesses if g["label_column"]), None)
    ids0 = {g["id_column"] for g in guesses}
    id0 = ids0.pop() if len(ids0) == 1 else None
    group0 = next((g["group_column"] for g in guesses if g["group_column"]), None)
    key = "_".join(f.file_id for f in files)
    with st.form(f"files_{key}", border=False):
        names = []
        cols = st.columns(min(len(files), 4))
        for i, (f, df) in enumerate(zip(files, tables, strict=True)):
            with cols[i % len(cols)]:
                names.append(
                    st.text_input(
                        t("data.modality_name_file", file=f.name),
                        Path(f.name).stem,
                        key=f"files_name_{f.file_id}",
                        help=t("data.rows_rows_cols_columns", rows=len(df), cols=df.shape[1]),
                    ).strip()
                )
        c1, c2, c3, c4 = st.columns(4)
        with c1:
            label_col = _column_select(
                t("data.label_column"),
                anywhere,
                label0,
                f"files_label_{key}",
                t("data.class_each_row_any"),
            )
        with c2:
            id_col = _column_select(
                t("data.id_column_pairs_files"),
                sorted(everywhere),
                id0,
                f"files_id_{key}",
                t("data.column_every_file_names"),
            )
        with c3:
            group_col = _column_select(
                t("data.group_column"),
                anywhere,
                group0,
                f"files_group_{key}",
                t("data.group_column_help"),
            )
        with c4:
            policy = nan_policy_ui(f"files_nan_{key}")
        if not st.form_submit_button(t("data.load"), type="primary", icon=":material/upload_file:"):
            return None
    return from_files(
        [(f.name, f.getvalue()) for f in files],
        names=names,
        id_column=id_col,
        label_column=label_col,
        nan_policy=policy,
        group_column=group_col,
    )


def upload_ui() -> tuple[PairedData, str] | None:
    """File upload plus the mapping step; (data, label) once loaded."""
    from fusion.loaders import detect_format, load

    files = st.file_uploader(
        t("data.data_files_csv_tsv"),
        accept_multiple_files=True,
        key="upload_files",
        help=t("data.one_table_every_modality"),
    )
    if not files:
        st.caption(t("data.tip_name_table_columns"))
        return None
    label = ", ".join(f.name for f in files)
    if len(files) == 1:
        f = files[0]
        if detect_format((f.name, f.getvalue())) == "npz":
            st.markdown(t("data.name_numpy_archive_one", name=f.name))
            with st.form(f"npz_{f.file_id}", border=False):
                policy = nan_policy_ui(f"npz_nan_{f.file_id}")
                if not st.form_submit_button(
                    t("data.load"), type="primary", icon=":material/upload_file:"
                ):
                    return None
            return load((f.name, f.getvalue()), nan_policy=policy), label
        data = table_mapping_ui(f, _read_tables([f])[0])
    else:
        data = files_mapping_ui(files, _read_tables(files))
    return (data, label) if data is not None else None


# ---------------------------------------------------------------------------
# Preview


def modality_stats(data: PairedData) -> pd.DataFrame:
    """One row per modality: kind, shape, mean, std, min, max and share of missing values."""
    rows = []
    for name in data.names:
        x = data.flat(name)
        finite = np.isfinite(x)
        kind = (
            t("data.image")
            if data.is_image(name)
            else t("data.text_features")
            if name in data.texts
            else t("data.features")
        )
        missing = 1.0 - finite.mean()
        rows.append(
            {
                t("data.modality"): name,
                t("data.kind"): kind,
                t("data.samples_3"): f"{data.n:,}",
                t("data.dims"): "×".join(map(str, data.input_shapes()[name])),
                t("data.mean"): fmt(float(np.nanmean(x))),
                t("data.std"): fmt(float(np.nanstd(x))),
                t("data.min"): fmt(float(np.nanmin(x))),
                t("data.max"): fmt(float(np.nanmax(x))),
                t("data.missing"): t("data.none") if missing == 0 else f"{missing:.1%}",
            }
        )
    return pd.DataFrame(rows)


def pca_figure(data: PairedData, name: str, max_points: int = 1500):
    """A 2-D PCA of one modality, coloured by label, as a small titled scatter."""
    from fusion import plots
    from fusion.projection import project

    rows = np.arange(data.n)
    if data.n > max_points:
        rows = np.sort(np.random.default_rng(0).choice(data.n, max_points, replace=False))
    if data.labels is not None:
        rows = rows[np.argsort(data.labels[rows], kind="stable")]  # legend in class order
    uv = project(data.flat(name)[rows], method="pca")
    points = pd.DataFrame({"u": uv[:, 0], "v": uv[:, 1], "sample": rows, "modality": name})
    if data.labels is not None:
        points["label_name"] = [data.label_names[i] for i in data.labels[rows]]
    fig = plots.shared_space(
        points,
        color_by="label" if data.labels is not None else "modality",
        title=t("data.name_2_d_pca", name=name),
        axis_labels=(t("data.pc_1"), t("data.pc_2")),
        marker_size=5,
        t=t,
    )
    fig.update_layout(
        height=400, margin=dict(l=50, r=10, t=50, b=40), showlegend=data.n_classes <= 12
    )
    return fig


def preview_ui(data: PairedData) -> None:
    from fusion import plots
    from fusion.export import data_to_bytes, data_to_frame

    head, dl1, dl2 = st.columns([4, 1, 1], vertical_alignment="bottom")
    head.subheader(t("data.active_dataset_label", label=dataset_label()))
    stem = "fusion-data"
    dl1.download_button(
        t("data.csv"),
        data=lambda: data_to_bytes(data, "csv"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="download_csv",
        help=t("data.download_active_dataset_one"),
    )
    dl2.download_button(
        t("data.parquet"),
        data=lambda: data_to_bytes(data, "parquet"),
        file_name=f"{stem}.parquet",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        key="download_parquet",
        help=t("data.download_active_dataset_parquet"),
    )
    c = st.columns(4)
    c[0].metric(t("data.samples"), f"{data.n:,}")
    c[1].metric(t("data.modalities"), data.n_modalities)
    c[2].metric(t("data.classes"), data.n_classes if data.labels is not None else t("data.none"))
    c[3].metric(
        t("data.reliability_mask"), t("data.yes") if data.mask is not None else t("data.no")
    )
    for w in localized_warnings(data.source, language()):
        st.warning(w, icon=":material/warning:")

    st.markdown(t("data.per_modality_statistics"))
    st.dataframe(modality_stats(data), hide_index=True)

    st.markdown(t("data.each_modality_own_2"))
    st.caption(t("data.top_two_principal_directions"))
    cols = st.columns(min(data.n_modalities, 3))
    for i, name in enumerate(data.names):
        with cols[i % len(cols)]:
            chart(pca_figure(data, name), key=f"pca_{name}")

    images = [n for n in data.names if data.is_image(n)]
    texts = [n for n in data.names if n in data.texts]
    if images or texts:
        st.markdown(t("data.samples_2"))
        k = min(10, data.n)
        for name in images:
            captions = [
                f"{data.ids[i]}"
                + (f" · {data.label_names[data.labels[i]]}" if data.labels is not None else "")
                for i in range(k)
            ]
            fig = plots.image_grid(
                data.modalities[name][:k],
                captions,
                n_cols=10,
                title=t("data.name_first_k_images", name=name, k=k),
                t=t,
            )
            fig.update_layout(height=190, margin=dict(l=10, r=10, t=60, b=10))
            chart(fig, key=f"images_{name}")
        for name in texts:
            rows = {t("data.id"): data.ids[:k], name: data.texts[name][:k]}
            if data.labels is not None:
                rows[t("data.label")] = [data.label_names[i] for i in data.labels[:k]]
            st.dataframe(pd.DataFrame(rows), hide_index=True)

    if data.mask is not None:
        st.markdown(t("data.reliability_mask_2"))
        st.caption(t("data.share_samples_which_each"))
        share = data.mask.mean(axis=0)
        mc = st.columns(min(data.n_modalities, 6))
        for i, name in enumerate(data.names):
            mc[i % len(mc)].metric(t("data.name_reliable", name=name), f"{share[i]:.0%}")
        if "mismatched" in data.flags and data.flags["mismatched"].any():
            st.caption(
                t(
                    "data.p_pairs_are_deliberately",
                    p=f"{data.flags['mismatched'].mean():.0%}",
                )
            )

    st.markdown(t("data.first_rows"))
    st.dataframe(data_to_frame(data.subset(np.arange(min(10, data.n)))), hide_index=True)


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
    preview_ui(current)
