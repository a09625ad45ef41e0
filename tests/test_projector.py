"""The live map's projection process (fusion.projector): real child processes, no mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from fusion import projection, projector


@pytest.fixture
def fresh_projector(monkeypatch):
    """A projector with no child yet (and none left behind)."""
    projector.shutdown()
    monkeypatch.setattr(projector, "_failed", False)
    monkeypatch.delenv(projector.ENV_SWITCH, raising=False)
    yield projector
    projector.shutdown()


def _cloud(seed: int = 0, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(4, 8))
    return (centres[rng.integers(0, 4, n)] + rng.normal(size=(n, 8))).astype(np.float32)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has ended
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_frames_are_made_in_a_child_and_match_frames_made_here(fresh_projector):
    X0, X1 = _cloud(0), _cloud(0) * 0.9 + 0.1
    first = projector.next_frame(X0, None, "pca")
    pid = projector.child_pid()
    assert pid is not None and pid != os.getpid() and _alive(pid)
    assert projector.is_warm()
    np.testing.assert_allclose(first, projection.next_frame(X0, None, "pca"), atol=1e-5)
    here = projection.next_frame(X1, first, "pca")
    np.testing.assert_allclose(projector.next_frame(X1, first, "pca"), here, atol=1e-5)
    umap = projector.next_frame(X1, None, "umap", seed=0)
    assert umap.shape == (len(X1), 2) and np.isfinite(umap).all()
    assert projector.child_pid() == pid  # one child, kept for the next frames


@pytest.mark.slow
def test_a_killed_child_leaves_frames_to_the_calling_thread(fresh_projector):
    X = _cloud(1)
    projector.next_frame(X, None, "pca")
    pid = projector.child_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    got = projector.next_frame(X, None, "pca")  # no error: made here
    np.testing.assert_allclose(got, projection.next_frame(X, None, "pca"), atol=1e-5)
    assert not projector.enabled() and projector.child_pid() is None


def test_switched_off_frames_stay_in_this_process(fresh_projector, monkeypatch):
    monkeypatch.setenv(projector.ENV_SWITCH, "0")
    assert not projector.start()
    projector.next_frame(_cloud(2), None, "pca")
    assert projector.child_pid() is None


@pytest.mark.slow
def test_the_child_ends_when_its_parent_is_killed(tmp_path):
    """A training process SIGKILLed (a crashed worker) leaves no projection process."""
    script = textwrap.dedent(
        """
        import sys, time
        import numpy as np
        from fusion import projector
        projector.next_frame(np.random.default_rng(0).normal(size=(50, 4)), None, "pca")
        print(projector.child_pid(), flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        child = int(line)
        assert _alive(child)
    finally:
        proc.kill()
        proc.wait()
    end = time.monotonic() + 10 * projector.PARENT_CHECK_SECONDS
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.1)
    assert not _alive(child), f"projection process {child} outlived its parent"


@pytest.mark.slow
def test_its_threads_do_not_carry_the_training_name(fresh_projector):
    """Started from a training thread (whose OS name, inherited by the threads it starts,
    tests and the load benchmark count as a training), the projector's reader thread,
    which outlives the training, names itself."""
    import threading

    from fusion.child import name_os_thread

    def train():
        name_os_thread("fusion-training")
        projector.next_frame(_cloud(3), None, "pca")

    t = threading.Thread(target=train)
    t.start()
    t.join()
    assert projector.child_pid() is not None
    reader = next(th for th in threading.enumerate() if th.name == "fusion-projector-reader")
    with open(f"/proc/{os.getpid()}/task/{reader.native_id}/comm") as f:
        assert f.read().strip() == projector.THREAD_NAME
