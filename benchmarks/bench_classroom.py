"""A workshop on one server: a teacher and 30 students, each in a Chromium context.

One ``streamlit run app.py`` (loopback, its own runs folder, worker processes, at most
``FUSION_MAX_TRAININGS=2`` trainings at once, a short ``disconnectedSessionTTL``):

1. warm-up: a teacher and one student go through the whole class (start, send, join,
   load, train, the run on the board, close), then the server's own warm-up (its UMAP
   compile) is waited out; then the server's RSS is read;
2. the teacher opens a setup (400 samples, 2 epochs), starts a class from the sidebar,
   sets the class limits and sends the setup; the teacher's board stays open throughout
   (its counts poll the class folder every few seconds);
3. each student opens the student link, joins under a nickname, loads the sent setup
   and presses "Start training" — all within a minute, as a room does;
4. while the room trains, a probe measures the teacher page's reruns: a click on the
   "What to send" radio until the widget it reveals is drawn (a widget click to its
   result), repeatedly;
5. the run ends when every student's run is on the board (read from the class folder);
   then every context closes, the teacher closes the class, and after the session TTL
   the server's RSS is read again, and the training processes counted.

Targets (the issue's): ``/_stcore/health`` p99 <= 250 ms and worst <= 1 s; a rerun p95
<= 1 s while the room trains; every student's run on the board; RSS back within 10 % of
the warm-up level; no training left running.

``python -m benchmarks --only classroom`` runs 30 students (``--quick``: 8).
"""

from __future__ import annotations

import contextlib
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, rss_mb, training_threads
from benchmarks.bench_load import SETTLE_S, TTL_S, HealthPoller, serve, wait_idle, wait_server_warm
from benchmarks.common import Entry, check

VIEWPORT = {"width": 1200, "height": 800}
STUDENTS = 30
QUICK_STUDENTS = 8
SETUP = "data=shared_latent&d.n=400&d.seed=0&method=joint&loss=info_nce&c.train.epochs=2"
APP_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') !== 'running';
}"""


@dataclass
class ClassroomResult:
    students: int
    on_board: int
    seconds: float  # first student opening the link to the last run on the board
    health: list[float] = field(default_factory=list)
    health_failures: int = 0
    reruns: list[float] = field(default_factory=list)
    rss_warm_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    trainings_left: int = 0
    problems: list[str] = field(default_factory=list)

    def quantile(self, xs: list[float], q: float) -> float | None:
        if not xs:
            return None
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]

    @property
    def rss_ratio(self) -> float:
        return self.rss_after_mb / self.rss_warm_mb

    def report(self) -> str:
        p99, worst = self.quantile(self.health, 0.99), max(self.health, default=float("nan"))
        r95 = self.quantile(self.reruns, 0.95)
        return (
            f"{self.on_board}/{self.students} runs on the board in {self.seconds:.0f} s; "
            f"health p99 {p99 * 1000:.0f} ms, worst {worst * 1000:.0f} ms over "
            f"{len(self.health)} polls ({self.health_failures} failed); rerun p95 "
            f"{(r95 or float('nan')) * 1000:.0f} ms over {len(self.reruns)} clicks; RSS "
            f"{self.rss_warm_mb:.0f} MB warm, {self.rss_peak_mb:.0f} MB peak, "
            f"{self.rss_after_mb:.0f} MB after ({self.rss_ratio:.2f}x); "
            f"{self.trainings_left} trainings left; {len(self.problems)} problems"
        )


def _idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the page's script run has finished (Streamlit's own attribute)."""
    page.wait_for_function(APP_IDLE_JS, timeout=timeout_ms)


def _open(browser, url: str):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(url)
    page.get_by_test_id("stSidebarNav").wait_for()
    _idle(page)
    return context, page


def _board_count(runs_dir: Path, code: str) -> int:
    return len(list((runs_dir / "classes" / code / "board").glob("*.json")))


def _probe_rerun(page) -> float:
    """One rerun of the teacher's page: click the other "What to send" option and wait
    for the widget it shows (the lesson picker, or the setup's preview)."""
    radio = page.locator(".st-key-class_send_what")
    lesson_shown = page.locator(".st-key-class_lesson").count() > 0
    target = "A lesson step" if not lesson_shown else "My data and training settings"
    t0 = time.perf_counter()
    radio.get_by_text(target).click()
    if lesson_shown:
        page.locator(".st-key-class_lesson").wait_for(state="detached")
    else:
        page.locator(".st-key-class_lesson").wait_for()
    return time.perf_counter() - t0


def _start_class(browser, server) -> tuple:
    """A teacher with the setup open starts a class, limits it and sends the setup."""
    teacher, tpage = _open(browser, f"{server.url}/data?{SETUP}")
    tpage.get_by_test_id("stSidebar").get_by_role("button", name="Start a class").click()
    tpage.locator(".class-code").wait_for()
    _idle(tpage)
    code = tpage.locator(".class-code").inner_text().strip()
    tpage.locator(".st-key-class_max_epochs input").fill("2")
    tpage.locator(".st-key-class_max_samples input").fill("400")
    tpage.get_by_role("button", name="Set limits").click()
    _idle(tpage)
    tpage.get_by_role("button", name="Send to everyone").click()
    tpage.get_by_text("Sent now:").wait_for()
    _idle(tpage)
    return teacher, tpage, code


def _join_and_train(browser, server, code: str, nickname: str) -> tuple:
    ctx, p = _open(browser, f"{server.url}/class?class={code}")
    p.locator(".st-key-class_nickname input").fill(nickname)
    p.get_by_role("button", name="Join").click()
    p.get_by_role("button", name="Load it").first.click()
    p.get_by_role("button", name="Start training").click()
    return ctx, p


def _close_class(teacher, tpage) -> None:
    tpage.get_by_role("button", name="Close the class").click()
    tpage.get_by_role("button", name="Close it now").click()
    tpage.get_by_text("Join a class").wait_for()
    teacher.close()


def _warm_up(browser, server) -> None:
    """One whole class of one student: imports, the first training, the board's figures."""
    teacher, tpage, code = _start_class(browser, server)
    ctx, _ = _join_and_train(browser, server, code, "warm")
    deadline = time.monotonic() + 300
    while _board_count(server.runs_dir, code) < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    tpage.reload()
    _idle(tpage)
    ctx.close()
    _close_class(teacher, tpage)


def run_classroom(
    n_students: int, timeout_s: float = 900.0, tmp: Path | None = None
) -> ClassroomResult:
    from playwright.sync_api import sync_playwright

    with contextlib.ExitStack() as stack:
        if tmp is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fusion-class-")))
        server = stack.enter_context(serve(tmp, start_s=120.0))
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)

        _warm_up(browser, server)
        time.sleep(TTL_S + SETTLE_S)
        wait_server_warm(server)
        wait_idle(server.pid)
        rss_warm = rss_mb(server.pid)

        teacher, tpage, code = _start_class(browser, server)

        result = ClassroomResult(students=n_students, on_board=0, seconds=0.0, rss_warm_mb=rss_warm)
        contexts = []
        t0 = time.monotonic()
        with HealthPoller(server.url, every=0.2) as health:
            for i in range(n_students):
                contexts.append(_join_and_train(browser, server, code, f"S{i:02d}"))
                result.rss_peak_mb = max(result.rss_peak_mb, rss_mb(server.pid))
                if i % 3 == 2:
                    result.reruns.append(_probe_rerun(tpage))
            deadline = time.monotonic() + timeout_s
            while _board_count(server.runs_dir, code) < n_students and time.monotonic() < deadline:
                result.reruns.append(_probe_rerun(tpage))
                result.rss_peak_mb = max(result.rss_peak_mb, rss_mb(server.pid))
                time.sleep(0.5)
            result.seconds = time.monotonic() - t0
            result.on_board = _board_count(server.runs_dir, code)
            if result.on_board < n_students:
                result.problems.append(f"only {result.on_board} of {n_students} runs on the board")
            result.health = list(health.latencies)
            result.health_failures = health.failures
        text = tpage.get_by_test_id("stMain").inner_text()
        missing = [f"S{i:02d}" for i in range(n_students) if f"S{i:02d}" not in text]
        if missing and result.on_board == n_students:
            tpage.reload()
            _idle(tpage)
            text = tpage.get_by_test_id("stMain").inner_text()
            missing = [f"S{i:02d}" for i in range(n_students) if f"S{i:02d}" not in text]
        if missing:
            result.problems.append(f"not on the teacher's board page: {missing}")
        for ctx, _ in contexts:
            ctx.close()
        _close_class(teacher, tpage)
        time.sleep(TTL_S + SETTLE_S)  # closed sessions are forgotten after the TTL
        wait_idle(server.pid)
        result.rss_after_mb = rss_mb(server.pid)
        result.trainings_left = training_threads(server.pid)
        if re.search(r"Traceback", server.log.read_text(errors="replace")):
            result.problems.append("the server printed a traceback")
        return result


def run(quick: bool = False) -> list[Entry]:
    n = QUICK_STUDENTS if quick else STUDENTS
    r = run_classroom(n)
    print("  " + r.report(), flush=True)
    p99 = r.quantile(r.health, 0.99)
    worst = max(r.health) if r.health else None
    r95 = r.quantile(r.reruns, 0.95)
    who = f"{n} students + teacher"
    note = f"{who}; {r.report()}"
    ms = lambda x: None if x is None else x * 1000  # noqa: E731
    return [
        Entry(
            f"classroom: health p99 ({who})",
            ms(p99),
            "ms",
            target="value <= 250",
            met=check(ms(p99), "<=", 250),
            note=note,
        ),  # fmt: skip
        Entry(
            f"classroom: health worst ({who})",
            ms(worst),
            "ms",
            target="value <= 1000",
            met=check(ms(worst), "<=", 1000),
        ),  # fmt: skip
        Entry(
            f"classroom: rerun p95 while the room trains ({who})",
            ms(r95),
            "ms",
            target="value <= 1000",
            met=check(ms(r95), "<=", 1000),
            note=f"{len(r.reruns)} clicks; median {ms(statistics.median(r.reruns)) if r.reruns else None}",
        ),  # fmt: skip
        Entry(
            f"classroom: runs on the board ({who})",
            r.on_board,
            "runs",
            target=f"value >= {n}",
            met=r.on_board >= n,
        ),  # fmt: skip
        Entry(
            f"classroom: server RSS after / warm-up ({who})",
            r.rss_ratio,
            "x",
            target="value <= 1.10",
            met=check(r.rss_ratio, "<=", 1.10),
        ),  # fmt: skip
        Entry(
            f"classroom: trainings left ({who})",
            r.trainings_left,
            "",
            target="value <= 0",
            met=r.trainings_left == 0,
            note="; ".join(r.problems) or "no problems",
        ),  # fmt: skip
    ]
