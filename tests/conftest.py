"""Shared fixtures: small seeded data sets and an isolated runs folder."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("FUSION_MAX_TRAININGS", "2")
# In-process tests (AppTest, the library) train on the thread executor: quick, and the
# job's objects are at hand. The worker pool and Ray have their own tests
# (test_executors.py, test_ray.py); the browser tests' servers use the app's default.
os.environ.setdefault("FUSION_EXECUTOR", "thread")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """Every test that saves runs gets its own runs folder."""
    d = tmp_path / "runs"
    monkeypatch.setenv("FUSION_RUNS_DIR", str(d))
    # Page tests save and list runs directly in the root (one user); the per-visitor
    # workspaces of a shared server are tested on their own.
    monkeypatch.setenv("FUSION_WORKSPACES", "shared")
    return d


@pytest.fixture(scope="session")
def small_latent():
    from fusion.generators import shared_latent

    return shared_latent(n=400, n_classes=4, seed=0)


@pytest.fixture(scope="session")
def small_gated():
    from fusion.generators import gated_reliability

    return gated_reliability(n=400, seed=0)


@pytest.fixture(scope="session")
def ray_address():
    """A real local Ray head on 127.0.0.1 (``ray start --head``), stopped after the session."""
    from benchmarks.rayhead import ray_head

    with ray_head() as address:
        yield address


@pytest.fixture(scope="module")
def pool():
    """A warm local pool of two real worker processes, shut down (none left) after the module."""
    from fusion.jobs.executors import LocalExecutor

    ex = LocalExecutor(workers=2, keep=2)
    ex.warm()
    yield ex
    ex.shutdown()
    assert not ex.workers()
