"""Data page, upload of embeddings as researchers keep them: several ``.npy`` files (one per
modality) and a table with one vector (list) column per modality.

:mod:`fusion.loaders` reads and checks them (:func:`fusion.loaders.from_npy_files`, the
vector columns of :func:`fusion.loaders.from_table`); these forms only name the modalities,
pick the label, id and group columns and the missing-value policy.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from fusion.data import PairedData
from views.parts.data_fields import modality_names, nan_policy_ui, table_role_columns
from views.parts.text import t


def _load_button() -> bool:
    return st.form_submit_button(t("data.load"), type="primary", icon=":material/upload_file:")


def npy_files_ui(files: list) -> PairedData | None:
    """One ``.npy`` per modality: their modality names and the policy; data when Load pressed."""
    from fusion.loaders import load

    st.markdown(t("pretrained.npy_files", n=len(files)))
    key = "_".join(f.file_id for f in files)
    with st.form(f"npy_{key}", border=False):
        roles = ("label", "labels", "id", "ids", "group", "groups")
        named = [f for f in files if Path(f.name).stem.lower() not in roles]
        names = modality_names(named, "npy_name")
        st.caption(t("pretrained.npy_roles"))
        policy = nan_policy_ui(f"npy_nan_{key}")
        if not _load_button():
            return None
    return load([(f.name, f.getvalue()) for f in files], names=names, nan_policy=policy)


def vector_table_ui(file, df: pd.DataFrame, vectors: list[str]) -> PairedData | None:
    """A table with one vector column per modality: its label, id and group columns."""
    from fusion.loaders import from_table, suggest_mapping

    guess = suggest_mapping(df)
    widths = ", ".join(
        f"{c} ({len(df[c].dropna().iloc[0])})" for c in vectors if df[c].notna().any()
    )
    st.markdown(t("pretrained.vector_columns", name=file.name, rows=f"{len(df):,}", columns=widths))
    others = [str(c) for c in df.columns if str(c) not in vectors]
    with st.form(f"vectors_{file.file_id}", border=False):
        label_col, id_col, group_col, policy = table_role_columns(
            "vec", file.file_id, others, guess
        )
        if not _load_button():
            return None
    return from_table(
        df,
        label_column=label_col,
        id_column=id_col,
        nan_policy=policy,
        source_name=file.name,
        group_column=group_col,
    )
