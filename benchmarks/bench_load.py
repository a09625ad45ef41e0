"""Many users on one server: N concurrent browser sessions each make data and train.

One ``streamlit run app.py`` (loopback, its own empty ``FUSION_RUNS_DIR``, at most
``FUSION_MAX_TRAININGS=2`` trainings at once, ``server.disconnectedSessionTTL`` of a few
seconds) and one headless Chromium with N browser contexts: N separate Streamlit sessions,
as N people would be. Each session ``i`` (seed ``i + 1``, so none matches a default):

1. opens the Data page and generates ``shared_latent`` with 400 samples and its seed;
2. on the Train page sets 2 epochs, its seed and its own run name, then all sessions press
   "Start training" within a moment of each other;
3. waits for "Training finished."

Reported: every session finished; no session saw another's dataset, run or model (its
sidebar shows its own dataset label and run name, the run's ``config.json`` holds its seed
and its data's seed, and its run folder is alone in its workspace); the median and worst
latency of ``/_stcore/health``, polled throughout; whether sessions beyond the cap showed
"Waiting for a free training slot"; the server's resident memory (``VmRSS``) after a
warm-up session (and the server's own UMAP compile) and after all sessions closed; trainings left running (threads or worker processes named ``fusion-training``; idle
workers of the pool may stay). Targets: health p99 <= 250 ms and worst <= 1 s,
memory back within 10 % of the warm-up level, no training left running.

``python -m benchmarks --only load`` runs 20 sessions (``--quick``: 6);
``python -m benchmarks.bench_load --sessions N`` runs N and prints the health p99 and
worst latency and the RSS ratio; ``tests/browser/test_load.py`` runs a reduced size
through :func:`run_load`.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.appserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    health_seconds,
    rss_mb,
    streamlit_server,
    training_threads,
)

VIEWPORT = {"width": 1200, "height": 800}
CAP = 2  # FUSION_MAX_TRAININGS on the server
TTL_S = 5  # server.disconnectedSessionTTL
# Seconds past the TTL before memory is read: the server hands freed memory back to the
# system a few seconds after Streamlit forgets closed sessions (views/parts/jobs.py,
# TRIM_DELAY_S, checked every second); the warm-up level is read the same way.
SETTLE_S = 6
STABLE_S = 10.0  # the server's warm-up is over once its memory is this long unchanged
SAMPLES = 400  # per session's dataset: keeps each training well under a second of compute
EPOCHS = 2
# The waiting message: with its place in line ("Waiting: 2nd in line, ..."), or without
WAITING_TEXTS = ("Waiting: ", "Waiting for a free training slot")
APP = '[data-testid="stApp"]'
# Remembers, in the page, whether the waiting message was ever shown (it may last < 1 s).
SEE_WAITING_JS = (
    "setInterval(() => { const s = document.body && document.body.textContent; "
    f"if (s && {json.dumps(list(WAITING_TEXTS))}.some(w => s.includes(w))) "
    "window.__sawWaiting = true; }, 150);"
)


# ----------------------------------------------------------------------------- server


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout_s: float = 90.0, busy: float = 0.05) -> None:
    """Wait (bounded) until the server uses under ``busy`` of a core over a second."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        c0 = _cpu_seconds(pid)
        time.sleep(1.0)
        if _cpu_seconds(pid) - c0 < busy:
            return


def wait_server_warm(server: Server) -> None:
    """Wait until the server's own warm-up is over: it compiles UMAP in a thread
    ``SERVER_WARM_UP_DELAY_S`` after it starts (views/parts/device.py), which adds over
    100 MB to its memory. The warm-up level is read after that, else that compile (done
    once per server, whoever is connected) would count as memory the sessions kept."""
    from views.parts.device import SERVER_WARM_UP_DELAY_S

    time.sleep(max(0.0, server.started + SERVER_WARM_UP_DELAY_S + 2 - time.monotonic()))
    # The compile runs at the lowest priority: on a busy machine it may take minutes and
    # leave the server looking idle. It has begun once numba's LLVM library is loaded,
    # and ended once the server's memory has not moved for STABLE_S.
    deadline = time.monotonic() + 240.0
    maps = Path(f"/proc/{server.pid}/maps")
    while time.monotonic() < deadline and "llvmlite" not in maps.read_text():
        time.sleep(1.0)
    last, since = rss_mb(server.pid), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < STABLE_S:
        time.sleep(1.0)
        now = rss_mb(server.pid)
        if abs(now - last) > 2.0:
            last, since = now, time.monotonic()
    wait_idle(server.pid)


@dataclass
class Server:
    url: str
    pid: int
    runs_dir: Path
    log: Path
    started: float = 0.0  # time.monotonic() when it answered first


@contextlib.contextmanager
def serve(tmp: Path, cap: int = CAP, ttl_s: int = TTL_S, start_s: float = 60.0):
    """``streamlit run app.py`` on a free loopback port; killed (its group) at the end."""
    runs = tmp / "runs"
    env = {"FUSION_RUNS_DIR": str(runs), "FUSION_MAX_TRAININGS": str(cap)}
    log = tmp / "server.log"
    with open(log, "w", encoding="utf-8") as out:
        try:
            with streamlit_server(
                out,
                env=env,
                extra_args=("--server.disconnectedSessionTTL", str(ttl_s)),
                start_s=start_s,
                poll_s=0.3,
            ) as (proc, url, _):
                yield Server(url, proc.pid, runs, log, time.monotonic())
        except RuntimeError as exc:
            if "did not answer" in str(exc):
                raise RuntimeError(f"{exc}:\n{log.read_text()[-4000:]}") from None
            raise


class HealthPoller:
    """Polls ``/_stcore/health`` from a thread every ``every`` seconds; keeps latencies."""

    def __init__(self, url: str, every: float = 0.25):
        self.url, self.every = url, every
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="health-poller", daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            dt = health_seconds(self.url, timeout=5.0)
            if dt is None:
                self.failures += 1
            else:
                self.latencies.append(dt)
            self._stop.wait(self.every)

    def __enter__(self) -> HealthPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


# ----------------------------------------------------------------------------- a session


def _wait_run(page, timeout_ms: int = 60_000) -> None:
    """Until the session is connected and its script run is over."""
    page.wait_for_timeout(200)
    page.locator(f"{APP}[data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=timeout_ms
    )
    page.locator(f"{APP}[data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout_ms
    )


def _keyed(page, key: str):
    return page.locator(f".st-key-{key}")


def _sidebar(page) -> str:
    return page.get_by_test_id("stSidebarUserContent").inner_text()


@dataclass
class Session:
    index: int
    context: object
    page: object
    seed: int
    run_name: str
    finished: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"shared_latent (seed {self.seed})"


def open_session(browser, url: str, index: int) -> Session:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    context.add_init_script(SEE_WAITING_JS)
    page = context.new_page()
    s = Session(index, context, page, seed=index + 1, run_name=f"load-{index:02d}")
    page.goto(f"{url}/data")
    page.get_by_test_id("stSidebarNav").wait_for()
    _wait_run(page)
    return s


def make_data(s: Session) -> None:
    page = s.page
    _keyed(page, "gen_shared_latent_n").locator("input").fill(str(SAMPLES))
    _keyed(page, "gen_shared_latent_seed").locator("input").fill(str(s.seed))
    page.get_by_test_id("stMain").get_by_role("button", name="Generate", exact=True).click()
    page.get_by_test_id("stSidebarUserContent").get_by_text(s.label).wait_for()
    _wait_run(page)


def fill_training(s: Session) -> None:
    page = s.page
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train").click()
    page.get_by_role("button", name="Start training").wait_for()
    _wait_run(page)
    thumb = _keyed(page, "tr_epochs_joint_info_nce").get_by_role("slider")
    thumb.focus()
    thumb.press("Home")
    for _ in range(EPOCHS - 1):
        thumb.press("ArrowRight")
    _keyed(page, "tr_seed_joint_info_nce").locator("input").fill(str(s.seed))
    _keyed(page, "tr_name_joint_info_nce").locator("input").fill(s.run_name)


def check_session(s: Session, runs_dir: Path) -> None:
    """Everything this session shows and saved is its own."""
    side = _sidebar(s.page)
    main = s.page.get_by_test_id("stMain").inner_text()
    if s.label not in side:
        s.problems.append(f"sidebar dataset is not {s.label!r}: {side[:200]!r}")
    if f"Training on {s.label}" not in main:
        s.problems.append(f"Train page does not train on {s.label!r}")
    if s.run_name not in side:
        s.problems.append(f"sidebar active run is not {s.run_name!r}")
    found = list(runs_dir.rglob(f"{s.run_name}/config.json"))
    if len(found) != 1:
        s.problems.append(f"{len(found)} run folders named {s.run_name}")
        return
    cfg = json.loads(found[0].read_text())
    if cfg["train"]["seed"] != s.seed or cfg["data"]["params"]["seed"] != s.seed:
        s.problems.append(f"run {s.run_name} has seeds {cfg['train']['seed']}/{cfg['data']}")
    if cfg["data"]["params"]["n"] != SAMPLES:
        s.problems.append(f"run {s.run_name} trained on {cfg['data']['params']['n']} samples")
    others = [p.name for p in found[0].parent.parent.iterdir() if p.name != s.run_name]
    if found[0].parent.parent != runs_dir and others:
        s.problems.append(f"its workspace also holds {others}")


# ----------------------------------------------------------------------------- the test


@dataclass
class LoadResult:
    sessions: int
    finished: int
    seconds: float  # from the first session opening to the last training finished
    health_median_s: float | None
    health_max_s: float | None
    health_p99_s: float | None
    health_polls: int
    health_failures: int
    saw_waiting: int  # sessions that showed a waiting message (WAITING_TEXTS)
    rss_baseline_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    threads_after: int
    problems: list[str]

    @property
    def rss_change(self) -> float:
        return self.rss_after_mb / self.rss_baseline_mb - 1.0

    def report(self) -> str:
        return (
            f"{self.finished}/{self.sessions} sessions finished in {self.seconds:.0f} s; "
            f"health median {self.health_median_s * 1000:.0f} ms, max "
            f"{self.health_max_s * 1000:.0f} ms, p99 {self.health_p99_s * 1000:.0f} ms over "
            f"{self.health_polls} polls "
            f"({self.health_failures} failed); {self.saw_waiting} showed the waiting message; "
            f"RSS {self.rss_baseline_mb:.0f} MB after warm-up, {self.rss_peak_mb:.0f} MB peak, "
            f"{self.rss_after_mb:.0f} MB after closing ({self.rss_change:+.1%}); "
            f"{self.threads_after} training threads left; {len(self.problems)} problems"
        )

    def summary(self) -> dict:
        """The figures the targets are on, as measured (ms, MB, ratio)."""
        ms = lambda s: None if s is None else round(s * 1000, 1)  # noqa: E731
        return {
            "sessions": self.sessions,
            "finished": self.finished,
            "seconds": round(self.seconds, 1),
            "health_median_ms": ms(self.health_median_s),
            "health_p99_ms": ms(self.health_p99_s),
            "health_worst_ms": ms(self.health_max_s),
            "health_polls": self.health_polls,
            "health_failures": self.health_failures,
            "saw_waiting": self.saw_waiting,
            "rss_warm_mb": round(self.rss_baseline_mb, 1),
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "rss_after_mb": round(self.rss_after_mb, 1),
            "rss_ratio": round(self.rss_after_mb / self.rss_baseline_mb, 3),
            "trainings_left": self.threads_after,
            "problems": len(self.problems),
        }


def _one_session_through(browser, server: Server, index: int, timeout_s: float) -> Session:
    s = open_session(browser, server.url, index)
    make_data(s)
    fill_training(s)
    s.page.get_by_role("button", name="Start training").click()
    s.page.get_by_text("Training finished.").wait_for(timeout=timeout_s * 1000)
    _wait_run(s.page)
    return s


def run_load(
    n_sessions: int, timeout_s: float = 240.0, tmp: Path | None = None, browser=None
) -> LoadResult:
    """Run the load test against a fresh server; see the module docstring.

    ``browser``: a Playwright Chromium to open the contexts in (a test's session-wide one);
    by default one is launched here (Playwright's sync API allows one per thread).
    """
    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        if tmp is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fusion-load-")))
        server = stack.enter_context(serve(tmp))
        if browser is None:
            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stack.callback(browser.close)

        # Warm-up: one session through the whole flow (imports, first compile, caches).
        warm = _one_session_through(browser, server, 99, timeout_s)
        warm.context.close()
        time.sleep(TTL_S + SETTLE_S)
        wait_server_warm(server)
        wait_idle(server.pid)
        baseline = rss_mb(server.pid)
        peak = baseline

        t0 = time.monotonic()
        sessions: list[Session] = []
        with HealthPoller(server.url) as health:
            for i in range(n_sessions):
                sessions.append(open_session(browser, server.url, i))
            for s in sessions:
                make_data(s)
            for s in sessions:
                fill_training(s)
            for s in sessions:  # everyone presses Start within a moment
                s.page.get_by_role("button", name="Start training").click(no_wait_after=True)
            deadline = time.monotonic() + timeout_s
            while not all(s.finished for s in sessions) and time.monotonic() < deadline:
                for s in sessions:
                    if not s.finished:
                        s.finished = s.page.get_by_text("Training finished.").count() > 0
                peak = max(peak, rss_mb(server.pid))
                time.sleep(0.3)
            seconds = time.monotonic() - t0
        saw_waiting = 0
        for s in sessions:
            if s.finished:
                _wait_run(s.page)
                check_session(s, server.runs_dir)
            else:
                s.problems.append("did not finish in time")
            saw_waiting += bool(s.page.evaluate("() => window.__sawWaiting === true"))
            s.context.close()

        time.sleep(TTL_S + SETTLE_S)  # closed sessions are forgotten after the TTL
        wait_idle(server.pid)
        threads = training_threads(server.pid)
        after = rss_mb(server.pid)
        lat = health.latencies
        problems = [f"session {s.index}: {p}" for s in sessions for p in s.problems]
        return LoadResult(
            sessions=n_sessions,
            finished=sum(s.finished for s in sessions),
            seconds=seconds,
            health_median_s=statistics.median(lat) if lat else None,
            health_max_s=max(lat) if lat else None,
            health_p99_s=statistics.quantiles(lat, n=100)[98] if len(lat) >= 2 else None,
            health_polls=len(lat),
            health_failures=health.failures,
            saw_waiting=saw_waiting,
            rss_baseline_mb=baseline,
            rss_peak_mb=peak,
            rss_after_mb=after,
            threads_after=threads,
            problems=problems,
        )


def run(quick: bool = False) -> list:
    from benchmarks.common import entry

    n = 6 if quick else 20
    r = run_load(n)
    print(r.report(), flush=True)
    for p in r.problems:
        print("  problem:", p, flush=True)
    note = f"{n} sessions, cap {CAP}, {SAMPLES} samples x {EPOCHS} epochs each"
    return [
        entry(
            f"load: sessions finished ({n} concurrent)",
            float(r.finished),
            "sessions",
            target=("value", ">=", float(n)),
            note=note,
        ),
        entry(
            "load: wall time, first session to last training done",
            r.seconds,
            "s",
            note=note,
        ),
        entry(
            "load: sessions seeing another's data or run",
            float(len({p.split(":")[0] for p in r.problems if "did not finish" not in p})),
            "sessions",
            target=("value", "<=", 0.0),
            note="; ".join(r.problems[:3]),
        ),
        entry(
            "load: /_stcore/health median latency",
            r.health_median_s * 1000 if r.health_median_s is not None else None,
            "ms",
            target=("value", "<=", 1000.0),
            note=f"max {r.health_max_s * 1000:.0f} ms over {r.health_polls} polls"
            if r.health_max_s is not None
            else "",
        ),
        entry(
            "load: /_stcore/health p99 latency",
            r.health_p99_s * 1000 if r.health_p99_s is not None else None,
            "ms",
            target=("value", "<=", 250.0),
            note=f"{r.health_polls} polls, {r.health_failures} unanswered",
        ),
        entry(
            "load: /_stcore/health worst latency",
            r.health_max_s * 1000 if r.health_max_s is not None else None,
            "ms",
            target=("value", "<=", 1000.0),
        ),
        entry(
            "load: sessions shown the waiting-for-a-slot message",
            float(r.saw_waiting),
            "sessions",
            target=("value", ">=", 1.0),
            note=f"{n} trainings started together, at most {CAP} at once",
        ),
        entry(
            "load: server RSS after all sessions closed",
            r.rss_after_mb,
            "MB",
            baseline=r.rss_baseline_mb,
            ratio=r.rss_after_mb / r.rss_baseline_mb,
            target=("ratio", "<=", 1.1),
            note=f"baseline after a warm-up session; peak {r.rss_peak_mb:.0f} MB",
        ),
        entry(
            "load: trainings left running after all sessions closed (threads or workers)",
            float(r.threads_after),
            "threads",
            target=("value", "<=", 0.0),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_load", description=__doc__)
    p.add_argument("--sessions", type=int, default=6, help="browser sessions at once")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for all to finish")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    r = run_load(args.sessions, timeout_s=args.timeout)
    print(r.report(), flush=True)
    for problem in r.problems:
        print("  problem:", problem, flush=True)
    print(json.dumps(r.summary()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(r.summary(), indent=1))
    return 0 if r.finished == r.sessions and not r.problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
