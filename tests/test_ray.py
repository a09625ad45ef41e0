"""Jobs on a real local Ray head (``ray start --head`` on 127.0.0.1): the same job API.

A job through the API, stopping one, an actor killed mid-run, the command line's
``--executor ray``, and the clear message when Ray is not installed. The head is started
once per session (tests/ray_head.py) and stopped after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from fusion import jobs
from fusion.config import default_config
from fusion.errors import ConfigError
from tests.job_helpers import long_config, started, wait_until


@pytest.fixture(scope="module")
def ray_ex(ray_address):
    from fusion.jobs.executors import RayExecutor

    ex = RayExecutor(address=ray_address)
    yield ex
    ex.shutdown()


@pytest.mark.slow
def test_a_job_trains_on_the_cluster_and_its_run_is_written_by_the_server(
    small_latent, runs_dir, ray_ex
):
    job = started(
        small_latent, default_config("joint", epochs=3, batch_size=64), ray_ex, root=runs_dir
    )
    assert job.join(180), job.progress().message
    p = job.progress()
    assert p.state == "done", (p.message, job.error)
    assert len(p.epoch_rows) == 3 and p.steps and p.fraction == 1.0  # progress streamed
    assert p.worker["pid"] != os.getpid()  # trained in a Ray worker process
    assert job.saved_path.parent == runs_dir and (job.saved_path / "weights.pt").is_file()
    m = job.result.metrics
    assert m["recall_at_1_mean"] > 3 * m["recall_at_1_mean_chance"]
    info = ray_ex.device_info()
    assert "Ray cluster" in info["label"] and info["cuda"] is False
    again = started(small_latent, default_config("joint", epochs=1, batch_size=64), ray_ex)
    assert again.join(180) and again.result.history.status == "finished"
    assert again.progress().worker["pid"] == p.worker["pid"]  # the warm actor was reused


def test_stopping_a_ray_job_keeps_what_it_learned(small_latent, runs_dir, ray_ex):
    job = started(small_latent, long_config(), ray_ex, root=runs_dir)
    assert wait_until(lambda: job.progress().step >= 3), job.progress().message
    job.stop()
    assert job.join(60)
    assert job.result.history.status == "stopped"
    assert job.saved_path is not None and job.result.history.completed_epochs < 500


@pytest.mark.slow
def test_a_killed_ray_worker_fails_its_job_with_a_clear_message(small_latent, ray_ex):
    job = started(small_latent, long_config(), ray_ex)
    assert wait_until(lambda: job.progress().step >= 3), job.progress().message
    os.kill(job.progress().worker["pid"], signal.SIGKILL)
    assert job.join(120)
    p = job.progress()
    assert p.state == "failed" and p.message_key == jobs.WORKER_DIED_KEY, p.message
    assert p.steps  # the curve so far is kept
    after = started(
        small_latent, default_config("joint", epochs=1, batch_size=64), ray_ex
    )  # the cluster keeps serving
    assert after.join(180) and after.result.history.status == "finished"


@pytest.mark.slow
def test_command_line_trains_on_ray(ray_address, tmp_path):
    out = tmp_path / "on-ray"
    env = {**os.environ, "RAY_ADDRESS": ray_address}
    res = subprocess.run(
        [sys.executable, "-m", "fusion", "train", "--data", "shared_latent", "--param",
         "n=400", "--epochs", "2", "--executor", "ray", "--quiet", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "finished" in res.stdout and (out / "weights.pt").is_file()


def test_without_ray_the_message_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as on a machine without Ray
    from fusion.jobs.executors import RayExecutor

    with pytest.raises(ConfigError) as err:
        RayExecutor()
    assert "pip install -r requirements-ray.txt" in str(err.value)
