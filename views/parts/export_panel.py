"""The export panel: download buttons for one run, drawn by any page that shows a run.

One zip with everything (:func:`fusion.export.run_archive`), the Embedding Projector's
``vectors.tsv`` / ``metadata.tsv``, the ``reproduce.py`` script, and each figure the page
passes as HTML (and PNG when kaleido finds a browser on the server).

The page reruns on every click, so nothing is built while it draws: each button gets a
callable that Streamlit runs only when that button is clicked, and the callables go
through ``st.cache_data`` keyed by the run folder's path and signature (latest mtime and
file count), so a second click is free and a re-trained run is never served stale. The
training data behind a run made from uploaded files is keyed by a digest of its arrays,
never by object identity, since the cache is shared by all sessions.
"""

from __future__ import annotations

import functools
import re
import weakref
from pathlib import Path
from typing import Any

import streamlit as st

from fusion import export
from fusion.data import PairedData
from fusion.rundata import data_fingerprint, run_signature
from views.parts.text import t


# Zips can hold a dataset of tens of MB: keep few, and not for long (it is built on click).
@st.cache_data(show_spinner=False, max_entries=4, ttl=600)
def _archive(path: str, signature: str, data_digest: str, _data: PairedData | None) -> bytes:
    return export.run_archive(path, _data)


@st.cache_data(show_spinner=False, max_entries=16)
def _projector(path: str, signature: str) -> tuple[str, str]:
    return export.projector_files(path)


@st.cache_data(show_spinner=False, max_entries=16)
def _script(path: str, signature: str) -> str:
    return export.reproduce_script(path)


@st.cache_data(show_spinner=False, max_entries=32)
def _data_matches(path: str, signature: str, data_digest: str, _data: PairedData) -> bool:
    return export.data_matches_run(path, _data)


@st.cache_data(show_spinner=False, ttl=600)
def _png_available() -> bool:
    return export.png_available()


def _session_digest(data: PairedData, key: str) -> str:
    """:func:`fusion.rundata.data_fingerprint` of the session's dataset, computed once per
    dataset object.

    A weak reference tells whether the dataset is still the same object (an ``id`` alone
    could be reused by a new dataset after the old one is freed).
    """
    slot = f"{key}_data_digest"
    ref, digest = st.session_state.get(slot, (None, None))
    if ref is None or ref() is not data:
        digest = data_fingerprint(data)
        st.session_state[slot] = (weakref.ref(data), digest)
    return digest


def _zip_bytes(path: str, data: PairedData | None, digest: str) -> bytes:
    return _archive(path, run_signature(path), digest, data)


_ICON = re.compile(r":material/\w+:|:[\w+-]+:")  # Streamlit icons in a tab's title


def _file_stem(title: str, run: str = "") -> str:
    """A figure's download name: the run's name, then its title without the tab's icon
    (``demo-Shared-space``); letters of any script are kept (``demo-共享空间``)."""
    stem = re.sub(r"[^\w.-]+", "-", _ICON.sub("", title)).strip(".-_") or "figure"
    return f"{run}-{stem}" if run else stem


def export_panel(
    run_dir: Path,
    figures: dict[str, Any] | None = None,
    data: PairedData | None = None,
    key: str = "export",
) -> None:
    """Download buttons for the run at ``run_dir`` and for ``figures`` (title -> Figure).

    ``data``: the session's dataset; for a run trained on uploaded files it goes into the
    zip when it is the run's data (a run folder does not keep its training data).
    ``key`` prefixes the widget keys, for a page that shows two panels.
    """
    path = str(Path(run_dir))
    name = Path(path).name
    signature = run_signature(path)
    needs_data = export.needs_data(path)
    if not needs_data:
        data = None  # generated data: reproduce.py regenerates it from its seed
    digest = _session_digest(data, key) if data is not None else "none"
    st.caption(t("export.intro"))

    cols = st.columns(4)
    cols[0].download_button(
        t("export.zip_button"),
        data=functools.partial(_zip_bytes, path, data, digest),
        file_name=f"{name}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        on_click="ignore",
        key=f"{key}_zip",
        help=t("export.zip_help"),
    )
    cols[1].download_button(
        t("export.vectors_button"),
        data=lambda: _projector(path, signature)[0],
        file_name=f"{name}-vectors.tsv",
        mime="text/tab-separated-values",
        icon=":material/scatter_plot:",
        on_click="ignore",
        key=f"{key}_vectors",
        help=t("export.projector_help"),
    )
    cols[2].download_button(
        t("export.metadata_button"),
        data=lambda: _projector(path, signature)[1],
        file_name=f"{name}-metadata.tsv",
        mime="text/tab-separated-values",
        icon=":material/label:",
        on_click="ignore",
        key=f"{key}_metadata",
        help=t("export.projector_help"),
    )
    cols[3].download_button(
        t("export.script_button"),
        data=lambda: _script(path, signature),
        file_name="reproduce.py",
        mime="text/x-python",
        icon=":material/replay:",
        on_click="ignore",
        key=f"{key}_script",
        help=t("export.script_help"),
    )
    if needs_data:
        if data is not None and _data_matches(path, signature, digest, data):
            st.caption(t("export.data_included"))
        else:
            st.caption(t("export.data_missing"))

    if not figures:
        return
    st.markdown(f"**{t('export.figures')}**")
    png = _png_available()
    for i, (title, fig) in enumerate(figures.items()):
        stem = _file_stem(title, name)
        label, left, right = st.columns([3, 1, 1], vertical_alignment="center")
        left.download_button(
            t("export.html_button"),
            data=functools.partial(export.figure_bytes, fig, "html"),
            file_name=f"{stem}.html",
            mime="text/html",
            icon=":material/code:",
            on_click="ignore",
            key=f"{key}_fig{i}_html",
            help=t("export.html_help"),
        )
        if png:
            right.download_button(
                t("export.png_button"),
                data=functools.partial(export.figure_bytes, fig, "png"),
                file_name=f"{stem}.png",
                mime="image/png",
                icon=":material/image:",
                on_click="ignore",
                key=f"{key}_fig{i}_png",
                help=t("export.png_help"),
            )
        label.markdown(title)
    if not png:
        st.caption(t("export.png_unavailable"))
