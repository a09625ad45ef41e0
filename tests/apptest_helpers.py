"""What the page tests share: opening a page of the real app in AppTest, reading its charts,
waiting for jobs, and tiny runs on disk (a healthy one, a damaged one)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from views.site import Page

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120  # the first UMAP map in a fresh process compiles numba code


def open_page(page: Page | None, timeout: float = TIMEOUT, **state) -> AppTest:
    """Run ``app.py`` with ``state`` preset in session state, then switch to ``page``."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    if page:
        at.switch_page(page.script)
        at.run()
    return at


def chart_specs(at: AppTest) -> str:
    """The charts' specs as text, non-ASCII unescaped (plotly escapes it unless orjson is
    installed, so the raw JSON differs between environments)."""
    return " ".join(
        json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart")
    )


def wait_for_jobs(timeout: float = 120.0) -> None:
    """Block until no training thread is alive (the page never blocks; the test may)."""
    from fusion.jobs import active_jobs

    end = time.monotonic() + timeout
    while active_jobs() and time.monotonic() < end:
        time.sleep(0.1)
    assert not active_jobs(), "training did not finish in time"


def make_run(root: Path, name: str, method: str = "joint", loss: str | None = None, **data_kw):
    """Train a tiny run and save it under ``root`` (seconds on a CPU)."""
    from fusion.experiment import default_config, run_experiment
    from fusion.generators import gated_reliability, shared_latent
    from fusion.runs import save_run

    if method == "attention":
        data = gated_reliability(n=200, seed=0, **data_kw)
    else:
        data = shared_latent(n=200, n_classes=4, seed=0, **data_kw)
    cfg = default_config(method, loss, epochs=2, batch_size=32, n_snapshots=2)
    cfg.name = name
    return save_run(run_experiment(data, cfg), root=root)


def make_damaged(root: Path, name: str = "broken") -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    return d
