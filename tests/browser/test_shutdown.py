"""Shutting the server down while a training runs, against the real ``streamlit run app.py``.

A lecturer presses Ctrl-C once in the terminal: SIGINT goes to the whole process group
(here ``os.killpg`` on the group the server leads). A process manager sends SIGTERM to
the server alone. Either way, the running job must be saved as a stopped run in its
workspace (its weights too) with a message saying the server shut down, the server must
exit within :data:`EXIT_S` seconds without printing a traceback, and no worker or
projection process may be left.

Each test starts its own server (it ends it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from benchmarks.appserver import process_tree
from tests.browser.test_faults import start_long_training, use_demo_data
from tests.browser.test_workers import alive, own_server, parent, tab

pytestmark = pytest.mark.browser

EXIT_S = 5.0  # the server exits within this after the signal
REAP_S = 3.0  # grandchildren (a worker's projection process) are reaped within this after


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_shutdown_saves_the_running_job_and_leaves_no_process(browser, tmp_path, how):
    name = f"cut-by-{how}"
    with (
        own_server(tmp_path, FUSION_EXECUTOR="local") as (proc, server),
        tab(browser, server, f"shutdown-{how}") as app,
    ):
        use_demo_data(app)
        start_long_training(app, name)
        assert server.training_threads() == 1
        tree = process_tree(proc.pid)
        workers = [p for p in tree if parent(p) == proc.pid]
        drawers = [p for p in tree if parent(p) in workers]
        assert workers and drawers, (tree, workers, drawers)  # a worker and its projector

        t0 = time.monotonic()
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(EXIT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server still runs {EXIT_S} s after {how}:\n{server.log_tail()}")
        took = time.monotonic() - t0
        deadline = time.monotonic() + REAP_S
        while any(alive(p) for p in tree):
            left = [p for p in tree if alive(p)]
            assert time.monotonic() < deadline, f"left running after {how}: {left}"
            time.sleep(0.1)

    log = server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-6000:]
    saved = list(server.runs_dir.rglob(f"{name}/run.json"))
    assert len(saved) == 1, f"{saved}\n{log[-4000:]}"
    run = json.loads(saved[0].read_text())
    assert run["status"] == "stopped", run
    # Saved at once from the weights the worker kept (the last completed epoch here).
    assert run["message_key"] == "messages.jobs.server_shutdown_kept", run
    assert "the server shut down" in run["message"], run
    assert run["best_epoch"] == run["message_params"]["kept"] == run["completed_epochs"], run
    weights = saved[0].parent / "weights.pt"
    assert weights.is_file() and weights.stat().st_size > 1000, weights
    print(f"{how}: the server exited {took:.2f} s after the signal")
