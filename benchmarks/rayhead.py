"""A real local Ray head for the tests: ``ray start --head`` on 127.0.0.1, stopped after.

Used by the tests (tests/conftest.py) and the jobs benchmark. Started with two CPUs and no
dashboard (``--num-cpus 2 --include-dashboard false``) on a free port,
with its own temporary folder; yields the address (``127.0.0.1:<port>``) to pass as
``RAY_ADDRESS``. ``ray stop`` ends every process it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cli() -> list[str]:
    exe = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    return [exe]


@contextlib.contextmanager
def ray_head(num_cpus: int = 2) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    cmd = ray_cli() + [
        "start",
        "--head",
        "--port",
        str(port),
        "--num-cpus",
        str(num_cpus),
        "--include-dashboard",
        "false",
        "--node-ip-address",
        "127.0.0.1",
        "--disable-usage-stats",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        raise RuntimeError(f"ray start failed:\n{out.stdout}\n{out.stderr}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(ray_cli() + ["stop", "--force"], env=env, capture_output=True, timeout=120)
