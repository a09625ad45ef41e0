"""Child Python processes of ours: ``python -m <module>``, talking over a socket pair.

A child is started with :class:`subprocess.Popen`, exec'd at once: never a fork of a
threaded server (or of a process holding torch's threads), and without re-running the
parent's main module, as multiprocessing's ``spawn`` does (a script without a
``__main__`` guard would run again in the child). It gets one end of a socket pair as a
file descriptor and the parent's pid as its arguments; both ends are wrapped in a
multiprocessing :class:`~multiprocessing.connection.Connection` (pickled messages).
A child starts in a session of its own: the SIGINT a terminal sends its foreground
process group on Ctrl-C reaches the server, which ends its children in order (a
worker first saves its job), never the children in the middle of their work. A child
still ends with its parent (its pipe closes; see each child's own watch).
A child runs at a lower scheduling priority than its parent (:func:`lower_priority`,
``FUSION_CHILD_NICE``, default 10): training and projection keep every core busy, and the
web server beside them must still answer a click or a health check at once; at niceness
10 Linux gives a busy child about a tenth of the CPU time the server gets when both want
it, and all of it when the server is idle, so training is no slower on a quiet server.
Used by the local training workers (:mod:`fusion.jobs.executors.local`) and the live map's
projection process (:mod:`fusion.projector`). Torch-free.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

NICE_BASE_ENV = "FUSION_NICE_BASE"  # the server's niceness, which children start from


def start_module(
    module: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, Connection]:
    """Start ``python -m module <fd> <this pid>`` (``env``: variables set for it only);
    the process and this end of its pipe."""
    mine, theirs = socket.socketpair()
    conn = Connection(mine.detach())
    fd = theirs.fileno()
    env = {**os.environ, **(env or {})}
    # The niceness children are lowered from: the server's, kept by its children's own
    # children (a worker's projection process runs beside its training, not below it).
    env.setdefault(NICE_BASE_ENV, str(_niceness()))
    root = str(Path(__file__).resolve().parent.parent)  # where the fusion package is
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(fd), str(os.getpid())],
            pass_fds=(fd,),
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # out of the terminal's process group (Ctrl-C)
        )
    except BaseException:
        conn.close()
        raise
    finally:
        theirs.close()
    return process, conn


def child_args() -> tuple[Connection, int]:
    """In the child, at its start: its end of the pipe and the parent's pid (from
    ``sys.argv``); the child's priority is lowered first (:func:`lower_priority`)."""
    lower_priority()
    return Connection(int(sys.argv[1])), int(sys.argv[2])


def _niceness() -> int:
    try:
        return os.nice(0) if hasattr(os, "nice") else 0
    except OSError:
        return 0


def lower_priority(increment: int | None = None) -> int:
    """Run this process ``increment`` (default ``FUSION_CHILD_NICE``, 10) nicer than the
    server that started it (``FUSION_NICE_BASE``, set by :func:`start_module`; else this
    process's own niceness), so the web server is scheduled first; its niceness afterwards.
    Never raises it, never lowers it twice (a child's child stays at the child's level);
    where the platform refuses, nothing changes."""
    if increment is None:
        try:
            increment = int(os.environ.get("FUSION_CHILD_NICE", "10"))
        except ValueError:
            increment = 10
    now = _niceness()
    try:
        base = int(os.environ.get(NICE_BASE_ENV, now))
    except ValueError:
        base = now
    target = min(19, base + max(0, increment))
    try:
        return os.nice(target - now) if target > now else now
    except OSError:
        return now


def messages(conn: Connection) -> Iterator[Any]:
    """The messages arriving on ``conn`` until the other end closes (or the pipe breaks)."""
    while True:
        try:
            yield conn.recv()
        except (EOFError, OSError):
            return


def hang_up(conn: Connection) -> None:
    """End a pipe both ways without closing it: the thread reading it gets EOF and closes
    it (closed under a reading thread, the read could fail with a traceback instead)."""
    with contextlib.suppress(OSError, ValueError):
        sock = socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)  # a dup
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` at the OS level (Linux; elsewhere a no-op).

    The OS name is what ``/proc/<pid>/task/*/comm``, ``top -H`` and ``ps -L`` show: a
    thread or worker process that trains is named ``fusion-training`` while it does, so
    tests and the load benchmark count running trainings from outside.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # 15 = PR_SET_NAME
    except (OSError, AttributeError):
        pass
