"""Home's one-click demos: what each trains, starting one, and its panel on Home and Explore.

A demo's lifecycle is the session's :class:`~views.parts.state.JobState` with origin "demo":
starting it (:func:`start_demo`) makes it ``training``; Home then opens Explore at once,
which shows the live panel until the run is saved, then the run itself (no page changes
by itself when the training ends). The joint demo's data is also the empty state's
one-click data set (:func:`require_dataset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from fusion.config import default_config
from fusion.data import PairedData
from views.parts.dataset import dataset_title, generate
from views.parts.job_panel import training_panel
from views.parts.jobs import current_job, start_training, training_running
from views.parts.state import get_dataset, job_state, set_dataset
from views.parts.text import t

# A demo's epochs take a fraction of a second: it trains at most one epoch per this many
# seconds, so its live map shows the space forming (fusion.live: a paced training).
DEMO_PACE_SECONDS = 0.5  # the live panel polls twice a second: one frame per poll
REPLAYED_KEY = "demo_replayed"  # the id of the demo job whose run Explore has replayed

DEMOS = {
    # One click on Home: generator, its parameters, method, loss, and epochs (a few seconds
    # on a 2-core CPU: about 0.15 s per epoch at n=2000).
    "joint": {
        "generator": "shared_latent",
        "params": {"n": 2000, "seed": 0},
        "method": "joint",
        "loss": "info_nce",
        "epochs": 15,
    },
    "attention": {
        "generator": "gated_reliability",
        "params": {"n": 2000, "seed": 0},
        "method": "attention",
        "loss": "cross_entropy",
        "epochs": 20,
    },
}


def demo_config(kind: str) -> Any:
    """The RunConfig of a Home demo: the library's defaults, with the demo's epochs."""
    spec = DEMOS[kind]
    return default_config(spec["method"], spec["loss"], epochs=spec["epochs"])


def demo_data(kind: str) -> tuple[PairedData, str]:
    """A demo's data set (generated, cached) and its name."""
    generator, params = DEMOS[kind]["generator"], DEMOS[kind]["params"]
    return generate(generator, params), dataset_title(generator, params)


def start_demo(kind: str) -> Any:
    """Generate the demo's data, make it active and start training it.

    Raises FusionError (as :func:`~views.parts.jobs.start_training`) when it cannot start.
    """
    data, label = demo_data(kind)
    job = start_training(data, demo_config(kind), origin="demo", demo=kind, pace=DEMO_PACE_SECONDS)
    set_dataset(data, label)
    return job


def demo_kind() -> str | None:
    """The Home demo this session's job is (still training or ended), else None."""
    state = job_state()
    return state.demo if state.is_demo and state.demo in DEMOS else None


def demo_training() -> bool:
    """Whether this session's job is a Home demo still training."""
    return demo_kind() is not None and training_running()


def demo_panel(key: str) -> None:
    """The Home demo's heading and its live panel, the map first (or, once ended, its outcome)."""
    demo = demo_kind()
    if demo is None or current_job() is None:
        return
    name = t(f"home.cards.{demo}.title").lower()
    with st.container(border=True):
        if training_running():
            st.markdown(t("home.training_name_demo", name=name))
            st.caption(
                f"{t('home.demo_paced', s=f'{DEMO_PACE_SECONDS:g}')} "
                f"{t('home.can_leave_page_training')}"
            )
        else:
            st.markdown(t("home.name_demo", name=name))
        training_panel(key, map_first=True)


def take_demo_replay(path: str | Path) -> bool:
    """True once per Home demo, when a page first shows the demo's saved run ``path``:
    Explore then plays its frames from the start (the space forming, replayed)."""
    job = current_job()
    if demo_kind() is None or job is None or job.running or not job.saved_path:
        return False
    if Path(job.saved_path).resolve() != Path(path).resolve():
        return False
    if st.session_state.get(REPLAYED_KEY) == job.id:
        return False
    st.session_state[REPLAYED_KEY] = job.id
    return True


def require_dataset() -> PairedData:
    """The active dataset, or an empty state with a one-click way to make one (then stop)."""
    data = get_dataset()
    if data is not None:
        return data
    st.info(t("common.no_dataset_yet_make"), icon=":material/database:")
    if st.button(t("common.use_default_demo_data"), key="empty_make_data", type="primary"):
        set_dataset(*demo_data("joint"))
        st.rerun()
    st.stop()
