"""The server's background warm-up and the device training runs on.

torch and UMAP's compiled code take seconds to load: both load once per server in daemon
threads, so the first page paints without them; the sidebar says "detecting…" until
torch is there.
"""

from __future__ import annotations

import threading

import streamlit as st

from fusion.projection import warm_up
from views._text import t


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Compile UMAP's numba code once per server, off the critical path (a daemon thread)."""
    thread = threading.Thread(target=warm_up, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def _torch_imported() -> threading.Event:
    """Import torch once per server in a daemon thread, so the first page paints without it."""
    done = threading.Event()

    def work():
        import fusion.train  # noqa: F401  (imports torch: off the page's thread)

        done.set()

    threading.Thread(target=work, name="torch-import", daemon=True).start()
    return done


@st.cache_resource(show_spinner=False)
def device_name() -> str:
    from fusion.train import device_label  # imports torch: only once it is loaded

    return device_label()


def gpu_available() -> tuple[bool, str]:
    """(whether CUDA can train here, the GPU's name or the catalogue key of why not)."""
    import torch  # Train's page only; the first page never asks

    if torch.cuda.is_available():
        return True, torch.cuda.get_device_name(0)
    return False, "common.no_gpu"


def device_line() -> None:
    """The sidebar's device caption: the device once torch is loaded, else a polling line."""
    if _torch_imported().is_set():
        st.caption(device_name())
    else:
        _device_pending()


@st.fragment(run_every=1.0)
def _device_pending() -> None:
    """The sidebar's device line while torch is still importing (only on a server's first paint)."""
    if _torch_imported().is_set():
        st.caption(device_name())
    else:
        st.caption(t("common.detecting"))
