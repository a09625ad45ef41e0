"""Training outside the web server, in a real browser against ``streamlit run app.py``.

1. After a whole demo (Home → "Try the demo" → the map on Explore), the server process
   has never loaded torch (its ``/proc/<pid>/maps`` holds no libtorch): training ran in
   the worker processes.
2. A clean shutdown (SIGTERM) during a training stops it, saves its run as stopped, and
   leaves no worker process behind, neither orphan nor zombie.
3. The demo with the app in Ray mode (``FUSION_EXECUTOR=ray``) against a real local head.

Each test starts its own server: the second one ends it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.appserver import process_tree, streamlit_server
from tests.browser.conftest import App, Server, new_context
from tests.browser.test_faults import start_long_training
from tests.browser.test_journeys import keyed, wait_for_map, wait_for_text

pytestmark = pytest.mark.browser

DEMO_TO_MAP_S = 150


@contextlib.contextmanager
def own_server(tmp_path: Path, **env: str):
    log_path = tmp_path / "server.log"
    with (
        open(log_path, "w", encoding="utf-8") as log,
        streamlit_server(
            log, env={"FUSION_RUNS_DIR": str(tmp_path / "runs"), **env}, start_s=120
        ) as (proc, url, _),
    ):
        yield proc, Server(url, log_path, proc.pid, tmp_path / "runs")


@contextlib.contextmanager
def tab(browser, server: Server, name: str):
    context = new_context(browser)
    try:
        app = App(context.new_page(), server, name)
        app.open()
        yield app
    finally:
        context.close()


def run_demo(app: App) -> int:
    keyed(app, "demo_joint").get_by_role("button", name="Try the demo").click()
    wait_for_text(app, "Training the joint embedding demo", 60)
    app.page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=DEMO_TO_MAP_S * 1000)
    deadline = time.monotonic() + DEMO_TO_MAP_S
    # Explore shows the live panel (its live map too) until the run is saved: wait for that
    main = app.page.get_by_test_id("stMain")
    expect(main).not_to_contain_text(
        "Training the joint embedding demo", timeout=(deadline - time.monotonic()) * 1000
    )
    # A smaller chart (the curves) may be drawn first: wait for the map's 2 x 400 points.
    n = wait_for_map(app, max(1.0, deadline - time.monotonic()), at_least=2 * 400)
    app.wait()
    app.assert_no_exception()
    return n


def loads_torch(pid: int) -> list[str]:
    """The torch libraries mapped into process ``pid`` (Linux)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if "libtorch" in line})


def parent(pid: int) -> int | None:
    """The parent process id of ``pid`` (None once it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running or a zombie (a zombie's stat says state Z; a reaped pid is gone)."""
    try:
        Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return True


def test_server_never_loads_torch_and_sigterm_leaves_no_worker(browser, tmp_path):
    with (
        own_server(tmp_path, FUSION_EXECUTOR="local") as (proc, server),
        tab(browser, server, "workers-demo") as app,
    ):
        n = run_demo(app)
        assert n >= 2 * 400, n
        app.shot("explore-map-from-worker")
        assert loads_torch(proc.pid) == [], "the web server loaded torch"
        below = [p for p in process_tree(proc.pid) if p != proc.pid]
        workers = [p for p in below if parent(p) == proc.pid]
        assert workers, "no worker process under the server"
        assert all(loads_torch(p) for p in workers if alive(p))  # they did the training
        # each worker's live-map projection process (fusion.projector) needs no torch
        drawers = [p for p in below if parent(p) in workers]
        assert drawers and all(loads_torch(p) == [] for p in drawers if alive(p)), drawers

        app.nav("Train")  # the demo's data is the active dataset
        start_long_training(app, "cut-by-sigterm")
        assert server.training_threads() == 1
        tree = process_tree(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        deadline = time.monotonic() + 30
        while any(alive(p) for p in tree):
            assert time.monotonic() < deadline, [p for p in tree if alive(p)]
            time.sleep(0.2)
        saved = list(server.runs_dir.rglob("cut-by-sigterm/run.json"))
        assert len(saved) == 1, f"{saved}\n{server.log_tail()}"
        assert json.loads(saved[0].read_text())["status"] == "stopped"


def test_demo_in_ray_mode(browser, tmp_path, ray_address):
    env = {"FUSION_EXECUTOR": "ray", "RAY_ADDRESS": ray_address}
    with own_server(tmp_path, **env) as (proc, server), tab(browser, server, "ray-demo") as app:
        n = run_demo(app)
        assert n >= 2 * 400, n
        app.shot("explore-map-from-ray")
        assert loads_torch(proc.pid) == []
        assert "Ray cluster" in app.sidebar_text()
        runs = list(server.runs_dir.rglob("run.json"))
        assert runs and json.loads(runs[0].read_text())["status"] == "finished", (
            sorted(str(p) for p in server.runs_dir.parent.rglob("*"))[:40],
            server.log_tail(),
        )
    assert not os.path.exists(f"/proc/{proc.pid}/stat") or not alive(proc.pid)
