"""Generated data sets, cached by generator and parameters, and the active data set's name.

Generated data is cheap to share across sessions (it holds no user data), so it sits in
``st.cache_data``; which data set a session works on is session state (``state``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from fusion import generators
from fusion.data import PairedData
from fusion.errors import FusionError
from views.parts.state import get_dataset, set_dataset, stored_dataset_label
from views.parts.text import t


@st.cache_data(show_spinner=False, max_entries=32)
def generate_cached(name: str, params_json: str) -> PairedData:
    """Generated data by (generator, parameters)."""
    return generators.generate(name, **json.loads(params_json))


def generate(name: str, params: dict[str, Any]) -> PairedData:
    return generate_cached(name, json.dumps(params, sort_keys=True))


def dataset_title(name: str, params: dict[str, Any]) -> str:
    return t("common.dataset_title", name=name, seed=params.get("seed", 0))


def dataset_label() -> str:
    """The active dataset's name: generator and seed (in the session's language), or the
    uploaded file's name."""
    data = get_dataset()
    if data is not None and data.source.get("generator"):
        return dataset_title(data.source["generator"], data.source.get("params", {}))
    return stored_dataset_label()


def restore_dataset(run: Path) -> None:
    """Work on ``run``'s data again when it was generated: a reload or a bookmark starts a
    new session, which finds its newest run but no data set. Uploaded data is not kept
    (only a run's validation samples are), so for an upload nothing is restored."""
    try:
        source = json.loads((run / "config.json").read_text(encoding="utf-8")).get("data") or {}
        name, params = source["generator"], dict(source.get("params") or {})
        data = generate(name, params)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, FusionError):
        return  # an upload, or a damaged or hand-edited config: the page offers data instead
    set_dataset(data, dataset_title(name, params))
