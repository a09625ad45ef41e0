"""Data page, upload: the form fields both upload forms share (a table's columns mapped in
``data_upload``, ``.npy`` files and vector columns in ``data_arrays``): the label, id and
group column pickers, the missing-value policy, and a modality name per file.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from views.parts.text import t

NONE = "—"  # the "no column" choice in selects
NAN_POLICIES = ("reject", "drop")  # named by data.nan_policy_labels.<policy>


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


def role_columns(form: str, ident: str, *roles: tuple[str, list[str], str | None, str]) -> tuple:
    """The label, id and group column pickers and the missing-value policy, side by side.

    Each role is (label key, options, default, help key); widget keys are
    ``<form>_<label|id|group|nan>_<ident>``. Returns the chosen columns (None for "none")
    in the roles' order, then the policy.
    """
    boxes = st.columns(len(roles) + 1)
    chosen = []
    for box, (label, options, default, help_key), role in zip(
        boxes, roles, ("label", "id", "group"), strict=False
    ):
        with box:
            key = f"{form}_{role}_{ident}"
            chosen.append(_column_select(t(label), options, default, key, t(help_key)))
    with boxes[-1]:
        chosen.append(nan_policy_ui(f"{form}_nan_{ident}"))
    return tuple(chosen)


def table_role_columns(form: str, ident: str, options: list[str], guess: dict) -> tuple:
    """:func:`role_columns` for one table: each role picks from ``options``, starting at
    ``guess`` (:func:`fusion.loaders.suggest_mapping` of the table)."""
    return role_columns(
        form,
        ident,
        ("data.label_column", options, guess["label_column"], "data.class_each_row_numbers"),
        ("data.id_column", options, guess["id_column"], "data.unique_name_per_row"),
        ("data.group_column", options, guess["group_column"], "data.group_column_help"),
    )


def nan_policy_ui(key: str) -> str:
    return st.radio(
        t("data.missing_values"),
        list(NAN_POLICIES),
        format_func=lambda p: t(f"data.nan_policy_labels.{p}"),
        key=key,
        horizontal=True,
        help=t("data.rows_empty_nan_infinite"),
    )


def modality_names(files: list, key: str, helps: list[str] | None = None) -> list[str]:
    """A text box per uploaded file, in up to four columns, for its modality's name (the
    file's stem unless changed); the names as entered."""
    cols = st.columns(min(max(len(files), 1), 4))
    names = []
    for i, f in enumerate(files):
        with cols[i % len(cols)]:
            names.append(
                st.text_input(
                    t("data.modality_name_file", file=f.name),
                    Path(f.name).stem,
                    key=f"{key}_{f.file_id}",
                    help=helps[i] if helps else None,
                ).strip()
            )
    return names
