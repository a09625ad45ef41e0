"""The server's background warm-up and the device training runs on.

UMAP's compiled code takes seconds to load: it loads once per server in a daemon thread,
so the first page paints without it. The training workers start with the server too
(:func:`views.parts.jobs.executor`); the device they train on is what a worker reports once it
has loaded torch, in its own process: this one never imports torch. The sidebar says
"detecting…" until a worker has said.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import streamlit as st

from fusion.projection import lower_priority, warm_up
from views.parts.jobs import executor
from views.parts.text import t

SERVER_WARM_UP_DELAY_S = 60.0  # with training in workers: after the first demo's minute


def _warm_up_below_pages(delay: float) -> None:
    lower_priority()  # pages and trainings first; the compile takes what they leave
    time.sleep(delay)
    warm_up()


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Start the training workers, and compile UMAP's numba code once per server.

    With the thread executor the live map runs in this process, so UMAP compiles at once.
    With workers it runs there (each worker compiles its own), and this process needs UMAP
    only for Explore's maps of runs saved without live frames: its compile waits a minute,
    so that on a small machine it does not compete with a first demo's worker.
    """
    ex = executor()
    delay = 0.0 if ex.name == "thread" else SERVER_WARM_UP_DELAY_S
    thread = threading.Thread(
        target=_warm_up_below_pages, args=(delay,), name="umap-warm-up", daemon=True
    )
    thread.start()
    return thread


class _DeviceProbe:
    """Asks the executor, in a daemon thread, which device its workers train on."""

    def __init__(self) -> None:
        self.info: dict[str, Any] | None = None
        self.done = threading.Event()
        threading.Thread(target=self._ask, name="fusion-device", daemon=True).start()

    def _ask(self) -> None:
        try:
            self.info = executor().device_info(timeout=600)
        except Exception:  # an unreachable cluster: the sidebar keeps saying "detecting"
            self.info = None
        self.done.set()


@st.cache_resource(show_spinner=False)
def _probe() -> _DeviceProbe:
    return _DeviceProbe()


def device_name() -> str:
    info = _probe().info
    return info["label"] if info else t("common.detecting")


def gpu_available() -> tuple[bool, str]:
    """(whether CUDA can train here, the GPU's name or the catalogue key of why not)."""
    probe = _probe()
    probe.done.wait(30)  # Train's page only: the first worker reports within seconds
    info = probe.info
    if info and info.get("cuda"):
        return True, info.get("gpu") or "CUDA"
    return False, "common.no_gpu"


def device_line() -> None:
    """The sidebar's device caption: the device once a worker has said, else a polling line."""
    if _probe().done.is_set():
        st.caption(device_name())
    else:
        _device_pending()


@st.fragment(run_every=1.0)
def _device_pending() -> None:
    """The sidebar's device line while the first worker is still starting."""
    if _probe().done.is_set():
        st.caption(device_name())
    else:
        st.caption(t("common.detecting"))
