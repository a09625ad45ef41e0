"""Data page, upload: read the files a person drops (CSV, TSV, Parquet, NPZ, .npy) and map
their columns to modalities, a label, ids and groups (``.npy`` files and vector columns:
``views/parts/data_arrays.py``).

Widgets return plain values; :mod:`fusion.loaders` sniffs, parses and checks, raising
:class:`~fusion.errors.DataError` with the fix (the page shows it).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fusion.data import PairedData
from fusion.errors import DataError
from views.parts.data_arrays import npy_files_ui, vector_table_ui
from views.parts.data_fields import (
    modality_names,
    nan_policy_ui,
    role_columns,
    table_role_columns,
)
from views.parts.text import t

UPLOAD_CACHE = "data_upload_tables"  # file_id -> parsed table, for this session only


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
    how = t(f"data.how_found.{guess['method']}", name=file.name)
    if guess["method"] in ("one", "none"):  # nothing to pair: say what the table needs
        st.warning(how, icon=":material/warning:")
    else:
        st.caption(how)
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
        label_col, id_col, group_col, policy = table_role_columns(
            "map", file.file_id, columns, guess
        )
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
        names = modality_names(
            files,
            "files_name",
            [t("data.rows_rows_cols_columns", rows=len(df), cols=df.shape[1]) for df in tables],
        )
        label_col, id_col, group_col, policy = role_columns(
            "files",
            key,
            ("data.label_column", anywhere, label0, "data.class_each_row_any"),
            ("data.id_column_pairs_files", sorted(everywhere), id0, "data.column_every_file_names"),
            ("data.group_column", anywhere, group0, "data.group_column_help"),
        )
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


def _css_string(text: str) -> str:
    """``text`` as a quoted CSS string (for ``content:``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def uploader_text_css(key: str) -> None:
    """Streamlit's own words in the file uploader with ``key`` ("Upload", "50MB per file")
    replaced by the catalogue's, in the session's language: the page hides Streamlit's
    text and shows ours in its place (the browser side of the widget has no option for it).
    """
    limit = int(st.get_option("server.maxUploadSize"))
    zone = f'.st-key-{key} [data-testid="stFileUploaderDropzone"]'
    button = f'{zone} button [data-testid="stMarkdownContainer"]'
    note = f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] > div'
    st.html(
        "<style>"
        f"{button} p, {note} > span {{ display: none; }}"
        f"{button}::after {{ content: {_css_string(t('data.upload_button'))}; }}"
        f"{note}::after {{ content: {_css_string(t('data.upload_limit', mb=limit))};"
        " font-size: 0.875rem; opacity: 0.6; }"
        "</style>"
    )


def upload_ui() -> tuple[PairedData, str] | None:
    """File upload plus the mapping step; (data, label) once loaded."""
    from fusion.loaders import detect_format, is_npy, list_columns, load

    uploader_text_css("upload_files")
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
    if len(files) > 1 and any(is_npy(f.getvalue()) for f in files):
        data = npy_files_ui(files)  # one .npy per modality (a mix gets the loader's message)
        return (data, label) if data is not None else None
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
        df = _read_tables([f])[0]
        vectors = list_columns(df)  # one vector column per modality: embeddings as kept
        data = vector_table_ui(f, df, vectors) if vectors else table_mapping_ui(f, df)
    else:
        data = files_mapping_ui(files, _read_tables(files))
    return (data, label) if data is not None else None
