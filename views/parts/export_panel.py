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


_TSV = "text/tab-separated-values"

# Each kind of download: (button label, help, mime type, Material icon).
_BUTTONS = {
    "zip": ("export.zip_button", "export.zip_help", "application/zip", "folder_zip"),
    "vectors": ("export.vectors_button", "export.projector_help", _TSV, "scatter_plot"),
    "metadata": ("export.metadata_button", "export.projector_help", _TSV, "label"),
    "script": ("export.script_button", "export.script_help", "text/x-python", "replay"),
    "html": ("export.html_button", "export.html_help", "text/html", "code"),
    "png": ("export.png_button", "export.png_help", "image/png", "image"),
}


def _download(col: Any, kind: str, data: Any, file_name: str, key: str) -> None:
    """One download button of a kind in :data:`_BUTTONS`, in ``col``; ``data`` may be a
    callable, which Streamlit runs only when the button is clicked."""
    label, help_key, mime, icon = _BUTTONS[kind]
    col.download_button(
        t(label),
        data=data,
        file_name=file_name,
        mime=mime,
        icon=f":material/{icon}:",
        on_click="ignore",
        key=key,
        help=t(help_key),
    )


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

    run_files = {  # kind: (bytes or a callable that makes them, file name)
        "zip": (functools.partial(_zip_bytes, path, data, digest), f"{name}.zip"),
        "vectors": (lambda: _projector(path, signature)[0], f"{name}-vectors.tsv"),
        "metadata": (lambda: _projector(path, signature)[1], f"{name}-metadata.tsv"),
        "script": (lambda: _script(path, signature), "reproduce.py"),
    }
    columns = st.columns(len(run_files))
    for col, (kind, (payload, file_name)) in zip(columns, run_files.items(), strict=True):
        _download(col, kind, payload, file_name, f"{key}_{kind}")
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
        html = functools.partial(export.figure_bytes, fig, "html")
        _download(left, "html", html, f"{stem}.html", f"{key}_fig{i}_html")
        if png:
            image = functools.partial(export.figure_bytes, fig, "png")
            _download(right, "png", image, f"{stem}.png", f"{key}_fig{i}_png")
        label.markdown(title)
    if not png:
        st.caption(t("export.png_unavailable"))
