"""The real app and a real browser, for the app benchmarks and the browser tests.

One place that knows how to start ``streamlit run`` on a free loopback port, wait for
``/_stcore/health``, stop it with everything it started, read its memory and count its
training threads, and how to launch Debian's Chromium headless on this closed network.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Headless on a machine without a GPU or network: without the background-networking flags
# Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRAINING_THREAD = "fusion-training"  # the OS name fusion.jobs gives each training thread


# Counts the points of the largest scatter chart in the main area (the shared-space map).
# _fullData holds decoded arrays (Plotly may ship them base64-encoded).
MAP_POINTS_JS = """() => {
  let best = 0;
  for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
    let n = 0;
    for (const t of (gd._fullData || [])) {
      if (!String(t.type || '').startsWith('scatter') || t.visible === false) continue;
      n += (t.x && t.x.length) || t._length || 0;
    }
    best = Math.max(best, n);
  }
  return best;
}"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_seconds(url: str, timeout: float = 2.0) -> float | None:
    """Seconds ``/_stcore/health`` took to answer ``ok``; None if it did not."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            ok = r.read().decode().strip() == "ok"
    except OSError:
        return None
    return time.perf_counter() - t0 if ok else None


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a server started in its own session, and anything it started."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(
    log: IO[bytes] | IO[str],
    script: str = "app.py",
    env: dict[str, str] | None = None,
    extra_args: Sequence[str] = (),
    start_s: float = 60.0,
    poll_s: float = 0.1,
) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """``streamlit run script`` on a free loopback port; yields (process, url, seconds to healthy).

    Output goes to ``log`` (a file: a pipe nobody reads would block a chatty server). Raises
    RuntimeError if it is not healthy within ``start_s``; stopped (its group) at the end.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *extra_args,
    ]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        while health_seconds(url) is None:
            if proc.poll() is not None or time.perf_counter() - t0 > start_s:
                raise RuntimeError(
                    f"streamlit did not answer {url}/_stcore/health within {start_s:.0f} s "
                    f"(exit code {proc.poll()})"
                )
            time.sleep(poll_s)
        yield proc, url, time.perf_counter() - t0
    finally:
        stop_group(proc)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux: read through /proc), e.g. a server and its workers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def training_threads(pid: int) -> int:
    """Trainings running under server ``pid`` (Linux, by OS thread name ``fusion-training``):
    its threads so named (the thread executor) and its worker processes whose main thread
    is so named while it trains (threads a training starts inherit the name, so only the
    worker's main thread counts)."""
    n = 0
    for proc in process_tree(pid):
        names = [f"/proc/{proc}/comm"] if proc != pid else Path(f"/proc/{pid}/task").glob("*/comm")
        for comm in names:
            with contextlib.suppress(OSError):
                n += Path(comm).read_text().strip() == TRAINING_THREAD
    return n
