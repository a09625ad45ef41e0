"""Explore, for a run of pretrained embeddings explored as they are (method ``asis``):
the modality-gap shift control and the one-click adapter whose run Compare sets beside it.

The gap shift (Liang et al. 2022, "Mind the Gap") moves both modalities along the gap
vector by the slider's λ and re-normalises; the figure and cards show what that does to
the gap and to Recall@1 on the map's pairs (:func:`fusion.pretrained.gap_shift_table`).
The adapter is the ``joint`` method with a linear or MLP encoder and InfoNCE on the same
data, seed and split (:func:`fusion.pretrained.adapter_config`), started through
``jobs.start_training`` like every training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from fusion.errors import FusionError
from fusion.plots.gap import gap_shift
from fusion.pretrained import GAP_SHIFTS, adapter_config, gap_shift_table, same_pairs
from fusion.rundata import snapshot
from fusion.runs import LoadedRun, RunInfo
from views.parts.job_panel import training_panel
from views.parts.jobs import current_job, start_training, training_running
from views.parts.state import get_dataset, job_state
from views.parts.text import fmt, t
from views.parts.widgets import chart, choice, show_error
from views.site import COMPARE

BEFORE_KEY = "asis_adapter_before"  # the as-is run an adapter was started from
COMPARE_RUNS_KEY = "compare_runs"  # Compare's run picker (views/pages/compare.py)
ORIGIN = "adapter"
ADAPTER_LABELS = {  # the adapter kinds of fusion.pretrained.adapter_config, as encoders
    "linear": "train.encoder_labels.adapter_linear",
    "mlp": "train.encoder_labels.adapter_mlp",
}


@st.cache_data(show_spinner=False, max_entries=8)
def _shift_table(path: str, amounts: tuple[float, ...], _za: np.ndarray, _zb: np.ndarray):
    """The shift table of one run's last snapshot (keyed by its folder and the λ values)."""
    del path
    return gap_shift_table(_za, _zb, amounts)


def gap_shift_ui(info: RunInfo, run: LoadedRun) -> None:
    """The slider, the cards at its λ and the figure over every λ."""
    st.subheader(t("pretrained.gap_title"))
    st.caption(t("pretrained.gap_intro"))
    snap = snapshot(run.embeddings)
    if snap is None or len(snap.modalities) < 2:
        st.info(t("pretrained.gap_no_snapshot"))
        return
    a, b = snap.modalities[:2]
    za, zb = snap.modality(a), snap.modality(b)
    amount = st.slider(
        t("pretrained.shift"),
        -1.0,
        1.0,
        0.0,
        0.25,
        key="asis_gap_shift",
        help=t("pretrained.shift_help"),
    )
    amounts = tuple(sorted({*GAP_SHIFTS, round(float(amount), 2)}))
    table = _shift_table(str(info.path), amounts, za, zb)
    now = table.loc[np.isclose(table["shift"], amount)].iloc[0]
    base = table.loc[np.isclose(table["shift"], 0.0)].iloc[0]
    c1, c2, c3 = st.columns(3)
    c1.metric(
        t("pretrained.gap_at", shift=fmt(amount)),
        fmt(now["modality_gap"]),
        delta=fmt(now["modality_gap"] - base["modality_gap"]),
        delta_color="off",
    )
    c2.metric(
        t("pretrained.recall_at", shift=fmt(amount)),
        fmt(now["recall_at_1_mean"]),
        delta=fmt(now["recall_at_1_mean"] - base["recall_at_1_mean"]),
    )
    c3.metric(t("pretrained.chance"), fmt(now["recall_at_1_chance"]))
    chart(gap_shift(table, current=amount, t=t), width="stretch", key="asis_gap_figure")
    st.caption(t("pretrained.gap_note", n=len(za), a=a, b=b))
    with st.expander(t("pretrained.gap_table")):
        shown = pd.DataFrame(
            {
                t("pretrained.shift"): table["shift"],
                t("pretrained.gap"): table["modality_gap"].map(fmt),
                f"R@1 {a}→{b}": table["recall_at_1_a_to_b"].map(fmt),
                f"R@1 {b}→{a}": table["recall_at_1_b_to_a"].map(fmt),
                t("pretrained.recall"): table["recall_at_1_mean"].map(fmt),
                t("pretrained.chance"): table["recall_at_1_chance"].map(fmt),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch")


def adapter_ui(info: RunInfo, run: LoadedRun) -> None:
    """Train a small adapter on top of these vectors; then open Compare on before and after."""
    st.subheader(t("pretrained.adapter_title"))
    st.caption(t("pretrained.adapter_intro"))
    data = get_dataset()
    if not same_pairs(run.samples, data):
        st.info(t("pretrained.adapter_needs_data"), icon=":material/database:")
        return
    assert data is not None
    c1, c2 = st.columns(2)
    kind = choice(
        c1,
        t("pretrained.adapter_kind"),
        ["linear", "mlp"],
        "asis_adapter_kind",
        format_func=lambda k: t(ADAPTER_LABELS[k]),
    )
    epochs = c2.slider(t("train.epochs"), 5, 100, 30, 5, key="asis_adapter_epochs")
    if st.button(
        t("pretrained.train_adapter"),
        type="primary",
        key="asis_train_adapter",
        icon=":material/model_training:",
        disabled=training_running(),
    ):
        seed = int((run.config.get("train") or {}).get("seed", 0))
        try:
            config = adapter_config(data, kind or "linear", seed=seed, epochs=int(epochs))
            start_training(data, config, origin=ORIGIN, scroll=True)
        except FusionError as exc:
            show_error(exc)
        else:
            st.session_state[BEFORE_KEY] = str(info.path)
    if job_state().origin == ORIGIN:
        training_panel(ORIGIN)
        _compare_button(info)


def _compare_button(info: RunInfo) -> None:
    """Once the adapter's run is saved: Compare with the as-is run and the adapter run."""
    job = current_job()
    before = st.session_state.get(BEFORE_KEY)
    if job is None or job.running or not job.saved_path or before != str(info.path):
        return
    if st.button(
        t("pretrained.compare_before_after"),
        type="primary",
        key="asis_compare",
        icon=":material/compare_arrows:",
    ):
        st.session_state[COMPARE_RUNS_KEY] = [before, str(job.saved_path)]
        st.switch_page(COMPARE.script)


def pretrained_section(info: RunInfo, run: LoadedRun) -> None:
    """Explore's tab for an as-is run: the gap shift, then the adapter."""
    gap_shift_ui(info, run)
    st.divider()
    adapter_ui(info, run)
