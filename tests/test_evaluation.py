"""Cross-validation as jobs (fusion.evaluation): folds fan out over real executors.

The local pool's workers are real ``python -m fusion.worker`` processes; the Ray test
runs on a real local head (tests/conftest.py's ``ray_address``). Data and trainings are
tiny (60 rows, 3 epochs), so the folds are quick.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading

import numpy as np
import pandas as pd
import pytest

from fusion import cli
from fusion.config import default_config
from fusion.data import PairedData
from fusion.errors import DataError
from fusion.evaluation import (
    EVALUATIONS,
    LOGISTIC,
    evaluate,
    fold_roles,
    list_evaluations,
    load_evaluation,
    save_evaluation,
    score_interval,
)
from fusion.runs import list_runs

N = 60
FOLDS = 3


@pytest.fixture(scope="module")
def tiny():
    from fusion.generators import shared_latent

    return shared_latent(n=N, n_classes=3, seed=0)


def _overlap(a: dict, b: dict) -> bool:
    return a["started"] < b["ended"] and b["started"] < a["ended"]


@pytest.mark.slow
def test_folds_run_in_parallel_on_worker_processes_and_every_row_is_tested_once(tiny, pool):
    seen = []
    ev = evaluate(
        tiny, ["early", "joint"], folds=FOLDS, epochs=3, executor=pool, on_progress=seen.append
    )
    assert not ev.stopped and ev.executor == "local"
    # Two folds trained at the same time, in two different worker processes.
    trained = [j for j in ev.jobs if j["status"] == "finished"]
    assert len(trained) == 2 * FOLDS, ev.jobs
    pids = {j["pid"] for j in trained}
    assert len(pids) == 2 and not pids & {0}, pids
    assert any(_overlap(a, b) for a in trained for b in trained if a["pid"] != b["pid"]), (
        "no two folds overlapped in time"
    )
    assert max(p.running for p in seen) == 2
    assert seen[-1].done == seen[-1].total == 2 * FOLDS and seen[-1].state == "done"
    assert seen[-1].methods["early"].done == FOLDS
    # Every row is a test row exactly once: per method, and for the logistic baselines.
    roles = fold_roles(tiny, FOLDS, default_config("early"))
    assert np.array_equal(np.sort(np.concatenate([r.test for r in roles])), np.arange(N))
    by_key = {s.key: s for s in ev.scores}
    assert set(by_key) >= {"early", "joint", "logistic:concat", "logistic:a", "logistic:b"}
    for s in ev.scores:
        assert s.test_rows == N and s.folds == s.folds_total == FOLDS, s
        sizes = [len(r.test) for r in roles]
        assert s.score == pytest.approx(np.average(s.fold_scores, weights=sizes))
        assert s.interval[0] <= s.score <= s.interval[1]
    assert by_key["early"].metric == "accuracy"
    assert by_key["joint"].metric == "linear_probe_accuracy"
    for key in ("early", "joint"):
        v = by_key[key].verdict
        assert v is not None and v["test_rows"] == N and v["outcome"] in ("beat", "level", "below")
        assert v["against"] in ("concat", "a", "b")
    assert sum(s.chosen for s in ev.scores if s.method == LOGISTIC) == 1


def test_stopping_keeps_the_finished_folds(tiny):
    stop = threading.Event()

    def on_progress(p):
        if p.done >= 1:
            stop.set()

    ev = evaluate(
        tiny,
        ["early"],
        folds=FOLDS,
        epochs=3,
        executor="thread",
        on_progress=on_progress,
        stop_event=stop,
        parallel=1,
    )
    assert ev.stopped
    (early,) = [s for s in ev.scores if s.key == "early"]
    assert early.folds == 1 and early.folds_total == FOLDS
    assert early.test_rows == N // FOLDS  # the one finished fold's test rows
    assert ev.folds_done == 1
    assert [j["status"] for j in ev.jobs] == ["finished"]  # the others never started
    base = [s for s in ev.scores if s.method == LOGISTIC]
    assert base and all(s.folds == 1 and s.test_rows == N // FOLDS for s in base)


@pytest.mark.slow
def test_evaluation_is_saved_listed_and_not_taken_for_a_run(tiny, tmp_path):
    ev = evaluate(tiny, ["early"], folds=FOLDS, epochs=2, executor="thread")
    path = save_evaluation(ev, tmp_path)
    assert path.parent == tmp_path / EVALUATIONS
    assert (path / "evaluation.json").is_file()
    table = pd.read_csv(path / "table.csv")
    assert list(table["method"])[:2] == ["early", "logistic:concat"]
    assert (table["test_rows"] == N).all()
    again = load_evaluation(path)
    assert again.scores == ev.scores and again.path == str(path)
    assert [e.name for e in list_evaluations(tmp_path)] == [path.name]
    assert list_runs(tmp_path) == []  # the evaluations folder is no damaged run
    second = save_evaluation(ev, tmp_path)
    assert second.name == f"{path.name}-2"


def test_unlabelled_data_and_unknown_methods_are_clear_messages(tiny):
    bare = PairedData(dict(tiny.modalities))
    with pytest.raises(DataError, match="labels"):
        evaluate(bare, ["early"], folds=FOLDS, executor="thread")
    with pytest.raises(DataError, match="choose from"):
        evaluate(tiny, ["cca"], folds=FOLDS, executor="thread")
    with pytest.raises(DataError):
        evaluate(tiny, ["early"], folds=N + 1, executor="thread")


def test_score_interval_is_clopper_pearson_for_hits_and_a_bootstrap_otherwise():
    hits = np.array([1.0] * 45 + [0.0] * 15)
    lo, hi = score_interval(hits)
    assert lo < 0.75 < hi and hi - lo < 0.3
    assert score_interval(np.ones(20))[1] == 1.0 and score_interval(np.ones(20))[0] > 0.8
    probe = np.array([1.0, 0.5, 0.0, 1.0] * 15)
    lo, hi = score_interval(probe)
    assert lo < probe.mean() < hi


@pytest.mark.slow
def test_command_line_evaluates_and_saves(tmp_path, capsys):
    rc = cli.main(
        [
            "evaluate",
            "--data",
            "shared_latent",
            "--param",
            f"n={N}",
            "--methods",
            "early,single",
            "--folds",
            str(FOLDS),
            "--epochs",
            "2",
            "--executor",
            "thread",
            "--root",
            str(tmp_path),
            "--name",
            "cli-check",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "Saved evaluation to" in out.out
    for label in ("Early fusion", "Single modality (baseline): a", "Logistic regression"):
        assert label in out.out, out.out
    saved = json.loads((tmp_path / EVALUATIONS / "cli-check" / "evaluation.json").read_text())
    assert saved["folds"] == FOLDS and saved["methods"] == ["early", "single:a", "single:b"]
    assert f"{FOLDS}/{FOLDS} folds" in out.out


def test_command_line_bad_method_exits_with_a_message(tmp_path, capsys):
    rc = cli.main(
        ["evaluate", "--data", "shared_latent", "--methods", "nope", "--root", str(tmp_path)]
    )
    assert rc == 2 and "nope" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_folds_run_as_ray_actors(tiny, ray_address):
    from fusion.jobs.executors import RayExecutor

    ex = RayExecutor(address=ray_address)
    try:
        ev = evaluate(tiny, ["early"], folds=FOLDS, epochs=2, executor=ex, parallel=2)
    finally:
        ex.shutdown()
    assert ev.executor == "ray"
    (early,) = [s for s in ev.scores if s.key == "early"]
    assert early.folds == FOLDS and early.test_rows == N
    assert all(j["status"] == "finished" and j["pid"] for j in ev.jobs)


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_keeps_the_finished_folds(tmp_path):
    """A real ``python -m fusion evaluate`` on worker processes, interrupted (SIGINT) once
    a fold has finished: it stops the rest and saves what finished, saying so."""
    import os
    import signal
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "fusion", "evaluate", "--data", "shared_latent"]
    cmd += ["--param", f"n={N}", "--methods", "early", "--folds", "5", "--epochs", "2"]
    cmd += ["--executor", "local", "--root", str(tmp_path), "--name", "interrupted"]
    env = {**os.environ, "FUSION_MAX_TRAININGS": "1"}  # one fold at a time

    def as_a_terminal_starts_it() -> None:
        # A child inherits its parent's ignored and blocked signals, and a Python started
        # with SIGINT ignored installs no KeyboardInterrupt (a test suite started in the
        # background with `&` runs with SIGINT ignored): start it with Ctrl-C live, as a
        # terminal's shell does.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])

    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=as_a_terminal_starts_it,
    )
    try:
        for line in proc.stderr:
            if re.match(r"[1-4]/5 folds done", line):
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped" in out and "Saved evaluation to" in out, out
    saved = json.loads((tmp_path / EVALUATIONS / "interrupted" / "evaluation.json").read_text())
    assert saved["stopped"] is True
    early = next(s for s in saved["scores"] if s["key"] == "early")
    assert 1 <= early["folds"] < 5 and early["test_rows"] == early["folds"] * N // 5
