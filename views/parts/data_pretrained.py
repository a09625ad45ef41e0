"""Data page: explore embeddings that already share a space as they are, without training.

Shown under the preview when every modality of the active data has the same width (CLIP
image and text vectors, one row per pair). One click runs the ``asis`` method
(:mod:`fusion.pretrained`: the vectors are the embeddings, optionally L2-normalised, scored
by the same metrics as a trained run) as a job through ``jobs.start_training``, waits the
few seconds it takes and opens the run on Explore.
"""

from __future__ import annotations

import streamlit as st

from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.pretrained import can_explore_as_is, normalized, shared_width
from views.parts.job_panel import job_outcome
from views.parts.jobs import collect_finished_job, start_training, training_running
from views.parts.state import set_dataset, stored_dataset_label
from views.parts.text import t
from views.parts.widgets import show_error
from views.site import EXPLORE

WAIT_S = 120.0  # an as-is run is numpy only; the wait covers a worker starting cold
EXPLORE_RUN_KEY = "explore_run"  # Explore's run picker; dropped so it opens the new run


def explore_as_is(data: PairedData, normalize: bool) -> str | None:
    """Run ``asis`` on ``data`` (rows L2-normalised first if asked); the saved run's path.

    The normalised data becomes the active dataset, so an adapter trained next sees the
    same vectors. Raises FusionError when it cannot start.
    """
    from fusion.config import default_config

    used = normalized(data) if normalize else data
    if normalize and not data.source.get("l2_normalized"):
        set_dataset(used, stored_dataset_label())
    config = default_config("asis")
    config.model.normalize = normalize
    job = start_training(used, config, origin="asis")
    with st.spinner(t("pretrained.measuring")):
        job.join(WAIT_S)
    if job.running:
        st.info(t("pretrained.still_measuring"), icon=":material/hourglass_top:")
        return None
    path = collect_finished_job()
    if path is None:
        st.error(job_outcome(job)[1], icon=":material/error:")
    return path


def explore_as_is_ui(data: PairedData | None) -> None:
    """The panel: what explore-as-is means, the normalisation choice and the button."""
    if not can_explore_as_is(data):
        return
    assert data is not None
    with st.container(border=True, key="asis_panel"):
        st.subheader(t("pretrained.title"))
        st.caption(t("pretrained.intro", width=shared_width(data), names=", ".join(data.names)))
        normalize = st.checkbox(
            t("pretrained.normalize"),
            value=True,
            key="asis_normalize",
            help=t("pretrained.normalize_help"),
        )
        clicked = st.button(
            t("pretrained.explore_as_is"),
            type="primary",
            key="asis_explore",
            icon=":material/travel_explore:",
            disabled=training_running(),
        )
    if not clicked:
        return
    try:
        path = explore_as_is(data, normalize)
    except FusionError as exc:
        show_error(exc)
        return
    if path is not None:
        st.session_state.pop(EXPLORE_RUN_KEY, None)
        st.switch_page(EXPLORE.script)
