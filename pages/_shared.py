"""What every page shares: session state, the sidebar, the training slot, cached computations.

Pages stay thin: widgets return plain values, :mod:`fusion` computes, the page shows.
This module is the only place that knows the session-state keys.

- The active dataset and run live in ``st.session_state`` (per browser session).
- A session's training job lives in a session-scoped resource (:func:`job_slot`); when the
  session ends (tab closed, page reloaded) Streamlit releases it and the job is stopped,
  so nothing keeps running for a user who is gone. The job's thread never calls ``st.*``.
- Generated data and map projections are cached with ``st.cache_data`` (keyed by their
  parameters / the run folder); models and jobs are never in a cache shared by sessions.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from fusion.data import PairedData
from fusion.errors import FusionError

DATASET = "dataset"
DATASET_LABEL = "dataset_label"
ACTIVE_RUN = "active_run"
PENDING_NAV = "pending_nav"

DEMOS = {
    # One click on Home: generator, its parameters, method, loss.
    "joint": {"generator": "shared_latent", "params": {"n": 2000, "seed": 0}, "method": "joint", "loss": "info_nce"},
    "attention": {"generator": "gated_reliability", "params": {"n": 2000, "seed": 0}, "method": "attention", "loss": "cross_entropy"},
}
METHOD_LABELS = {
    "joint": "Joint embedding",
    "attention": "Attention fusion",
    "early": "Early fusion (baseline)",
    "late": "Late fusion (baseline)",
    "single": "Single modality (baseline)",
    "cca": "Linear CCA (baseline)",
}
LOSS_LABELS = {
    "info_nce": "InfoNCE (CLIP)",
    "seed_alignment": "Seed article's alignment",
    "triplet": "Triplet (hardest negative)",
    "dcca": "Deep CCA",
    "cross_entropy": "Cross-entropy",
    "cca": "Linear CCA",
}


# ---------------------------------------------------------------------------
# Text


def t(text: str, **kw: Any) -> str:
    """Every user-facing string goes through here (English is the key; a Chinese catalogue
    plugs in later). ``kw`` fills ``{name}`` placeholders."""
    return text.format(**kw) if kw else text


# ---------------------------------------------------------------------------
# Dataset and run


def get_dataset() -> PairedData | None:
    return st.session_state.get(DATASET)


def set_dataset(data: PairedData, label: str) -> None:
    st.session_state[DATASET] = data
    st.session_state[DATASET_LABEL] = label


def dataset_label() -> str:
    return st.session_state.get(DATASET_LABEL, "")


def get_active_run() -> str | None:
    path = st.session_state.get(ACTIVE_RUN)
    return path if path and Path(path).is_dir() else None


def set_active_run(path: str | Path | None) -> None:
    st.session_state[ACTIVE_RUN] = str(path) if path else None


@st.cache_data(show_spinner=False, max_entries=32)
def generate_cached(name: str, params_json: str) -> PairedData:
    """Generated data by (generator, parameters); cheap to share, it holds no user data."""
    from fusion.generators import generate

    return generate(name, **json.loads(params_json))


def generate(name: str, params: dict[str, Any]) -> PairedData:
    return generate_cached(name, json.dumps(params, sort_keys=True))


def dataset_title(name: str, params: dict[str, Any]) -> str:
    seed = params.get("seed", 0)
    return f"{name} (seed {seed})"


# ---------------------------------------------------------------------------
# Training slot: one job per browser session


@dataclass
class JobSlot:
    """Holds this session's training job; releasing the slot stops the job."""

    job: Any = None  # fusion.jobs.TrainingJob | None
    handled: bool = False  # whether the page has reacted to the job's end

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()


def _release_slot(slot: JobSlot) -> None:
    slot.stop()


@st.cache_resource(scope="session", on_release=_release_slot, show_spinner=False)
def job_slot() -> JobSlot:
    return JobSlot()


def start_training(data: PairedData, config: Any) -> Any:
    """Start ``config`` on ``data`` in this session's slot; the run is saved when it ends.

    Raises FusionError (an invalid config) before anything starts.
    """
    from fusion.jobs import TrainingJob
    from fusion.runs import save_run

    slot = job_slot()
    if slot.job is not None and slot.job.running:
        raise FusionError("A training is already running in this session; stop it first.")

    def on_done(result):
        return save_run(result) if result.history.steps or result.config.method == "cca" else None

    slot.job = TrainingJob(data, config, on_done=on_done).start()
    slot.handled = False
    return slot.job


def current_job() -> Any:
    return job_slot().job


def collect_finished_job() -> str | None:
    """If this session's job just ended with a saved run, make it the active run; return its path."""
    slot = job_slot()
    job = slot.job
    if job is None or job.running or slot.handled:
        return None
    slot.handled = True
    if job.saved_path:
        set_active_run(job.saved_path)
        return str(job.saved_path)
    return None


# ---------------------------------------------------------------------------
# Warm-up and device


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Compile UMAP's numba code once per server, off the critical path (a daemon thread)."""

    def work():
        from fusion.projection import warm_up

        warm_up()

    t = threading.Thread(target=work, name="umap-warm-up", daemon=True)
    t.start()
    return t


@st.cache_resource(show_spinner=False)
def device_name() -> str:
    from fusion.train import device_label

    return device_label()


def gpu_available() -> tuple[bool, str]:
    import torch

    if torch.cuda.is_available():
        return True, torch.cuda.get_device_name(0)
    return False, "No NVIDIA GPU was found on this server, so training runs on the CPU."


# ---------------------------------------------------------------------------
# Sidebar and empty states


def sidebar() -> None:
    data = get_dataset()
    with st.sidebar:
        st.markdown("**Active dataset**")
        if data is None:
            st.caption("None yet: make one on the Data page, or try a demo on Home.")
        else:
            st.caption(f"{dataset_label()}  \n{data.describe()}")
        st.markdown("**Active run**")
        run = get_active_run()
        st.caption(Path(run).name if run else "None yet: train one on the Train page.")
        job = current_job()
        if job is not None and job.running:
            p = job.progress()
            st.caption(f"Training: {p.fraction:.0%} ({p.state})")
        st.markdown("**Device**")
        st.caption(device_name())


def require_dataset() -> PairedData:
    """The active dataset, or an empty state with a one-click way to make one (then stop)."""
    data = get_dataset()
    if data is not None:
        return data
    st.info("No dataset yet. Make one on the Data page, or start with the default demo data.")
    if st.button("Use the default demo data", key="empty_make_data", type="primary"):
        spec = DEMOS["joint"]
        set_dataset(generate(spec["generator"], spec["params"]), dataset_title(spec["generator"], spec["params"]))
        st.rerun()
    st.stop()


def show_error(exc: FusionError) -> None:
    st.error(str(exc), icon="⚠️")


def fmt(x: float | None, digits: int = 3) -> str:
    """A number rounded for people: 0.873, 12.4, 1,234; '–' for missing."""
    if x is None or x != x:  # NaN
        return "–"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if ax else "0"
