"""Browser fixtures: the real app under `streamlit run`, driven by Debian's Chromium.

- ``app_server`` (session): starts ``streamlit run app.py`` on a free loopback port with an
  empty ``FUSION_RUNS_DIR`` and a short ``server.disconnectedSessionTTL`` (closed tabs are
  forgotten within seconds), waits for ``/_stcore/health`` to answer ``ok`` and kills the
  server's process group at the end. If it never answers, the server's output is shown.
  Its :class:`Server` counts the server's training threads and reads its memory (``/proc``).
- ``browser`` (session): a headless Chromium.
- ``app`` (per test): an :class:`App`, a fresh browser context (its own Streamlit session)
  opened at Home, with the steps a person takes: ``nav("Explore")`` clicks the sidebar link,
  waits for the run (``stApp[data-test-script-state=notRunning]``, as streamlit's own e2e
  tests do), checks that no exception box is shown and takes a full-page screenshot,
  ``test-artifacts/screenshots/<test>-<n>-<name>.png``.
- ``record_timing(name, seconds)``: adds a timing to ``test-artifacts/timings.json``.

Adapted from the approach of streamlit/streamlit's ``e2e_playwright/conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.appserver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    rss_mb,
    streamlit_server,
    training_threads,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_S = 60
SESSION_TTL_S = 5  # server.disconnectedSessionTTL for test servers (the app's default: 60)
DEFAULT_TIMEOUT_MS = 30_000

APP = '[data-testid="stApp"]'
EXCEPTION = '[data-testid="stException"]'
MAX_SHOT_HEIGHT = 6000
# Resolves once the page has painted two more frames (layout after a resize is done).
SETTLED_FRAMES_JS = (
    "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
)
# The height of the main area's content (Streamlit scrolls inside stMain, not the window).
CONTENT_HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return main ? Math.ceil(main.scrollHeight) : document.documentElement.scrollHeight;
}"""


def pytest_collection_modifyitems(config, items):
    """Every test in this folder must carry the ``browser`` mark (the tiers select by it);
    skip the browser tests (with the reason) where Chromium is not installed."""
    here = Path(__file__).parent
    unmarked = [i.nodeid for i in items if here in i.path.parents and "browser" not in i.keywords]
    if unmarked:
        raise pytest.UsageError(
            f"browser tests without pytestmark = pytest.mark.browser: {unmarked}"
        )
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found: apt-get install chromium")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so the ``app`` fixture knows of a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@dataclass
class Server:
    url: str
    log_path: Path
    pid: int | None = None  # the ``streamlit run`` process (Linux: read through /proc)
    runs_dir: Path | None = None  # its FUSION_RUNS_DIR

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def training_threads(self) -> int:
        """Training threads alive in the server: OS threads named ``fusion-training``."""
        assert self.pid is not None, "the server's pid is unknown"
        return training_threads(self.pid)

    def wait_for_training_threads(self, n: int, timeout_s: float) -> float:
        """Wait until exactly ``n`` training threads remain; return the seconds it took."""
        t0 = time.monotonic()
        while (got := self.training_threads()) != n:
            if time.monotonic() - t0 > timeout_s:
                raise AssertionError(
                    f"{got} training thread(s) in the server after {timeout_s:.0f} s; "
                    f"expected {n}.\nServer log:\n{self.log_tail()}"
                )
            time.sleep(0.25)
        return time.monotonic() - t0

    def rss_mb(self) -> float:
        assert self.pid is not None, "the server's pid is unknown"
        return rss_mb(self.pid)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """A freshly started app with its own empty runs folder."""
    tmp = tmp_path_factory.mktemp("app")
    log_path = tmp / "server.log"
    extra = ("--server.disconnectedSessionTTL", str(SESSION_TTL_S))
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            server = streamlit_server(
                log,
                env={"FUSION_RUNS_DIR": str(tmp / "runs"), "FUSION_EXECUTOR": "local"},
                extra_args=extra,
                start_s=SERVER_START_S,
                poll_s=0.3,
            )
            proc, url, _ = server.__enter__()
        except RuntimeError as exc:
            pytest.fail(f"{exc}. Server output:\n{log_path.read_text()}")
        try:
            yield Server(url, log_path, proc.pid, tmp / "runs")
        finally:
            server.__exit__(None, None, None)
    out = log_path.read_text()
    if "Traceback" in out:
        print("The server printed a traceback:\n" + out[-8000:])


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()
    pw.stop()


class App:
    """One browser tab on the app, with the steps a person takes and the checks after each."""

    def __init__(self, page, server: Server, test_name: str):
        self.page = page
        self.server = server
        self.url = server.url
        self.test_name = test_name
        self.shots: list[Path] = []
        self.mark: dict | None = None  # the page's last message to the server at the last wait

    # -- waiting and checking ------------------------------------------------------------

    def wait(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Wait for the run the last action asked for to finish (see :func:`wait_for_app_run`)."""
        self.mark = wait_for_app_run(self.page, self.mark, timeout_ms)

    def last_send(self) -> float:
        """When the page last sent the server a message (page time, ms; 0: never)."""
        return float(self.page.evaluate("() => window.__fusionRuns.lastSend"))

    def wait_for_send(self, after: float, timeout_ms: int = 5_000) -> None:
        """Wait until the page has sent the server a message after ``after`` (see
        :meth:`last_send`): a widget's new value, sent a moment after it changed."""
        self.page.wait_for_function(
            "t => window.__fusionRuns.lastSend > t", arg=after, timeout=timeout_ms
        )

    def assert_no_exception(self) -> None:
        boxes = self.page.locator(EXCEPTION)
        if boxes.count():
            text = boxes.first.inner_text()
            raise AssertionError(
                f"an exception box is shown on {self.page.url}:\n{text}\n"
                f"Server log (the details are redacted in the page):\n{self.server.log_tail()}"
            )

    def sidebar_text(self) -> str:
        return self.page.get_by_test_id("stSidebarUserContent").inner_text()

    def main_text(self) -> str:
        return self.page.get_by_test_id("stMain").inner_text()

    # -- moving around -------------------------------------------------------------------

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.get_by_test_id("stSidebarNav").wait_for()
        self.wait()

    def nav(self, title: str, shot_name: str | None = None) -> None:
        """Click ``title`` in the sidebar navigation, wait for the page, check it, screenshot it.

        A collapsed sidebar (presenter mode starts with it collapsed) is opened first, as a
        person would."""
        expand = self.page.get_by_test_id("stExpandSidebarButton")
        if expand.is_visible():
            expand.click()
        link = self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)
        link.click()
        self.page.get_by_test_id("stSidebarNav").locator(
            "a[aria-current='page']", has_text=title
        ).wait_for()
        self.wait()
        self.assert_no_exception()
        self.shot(shot_name or title.lower())

    def shot(self, name: str) -> Path:
        """A full-page screenshot, ``test-artifacts/screenshots/<test>-<n>-<name>.png``.

        Streamlit scrolls inside its own container, so Playwright's ``full_page`` alone
        captures one viewport: the viewport is stretched to the content's height for the shot.
        """
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{len(self.shots) + 1:02d}-{name}.png"
        wait_for_no_skeletons(self.page)
        self.page.evaluate("document.fonts.ready")
        height = self.page.evaluate(CONTENT_HEIGHT_JS)
        tall = min(max(VIEWPORT["height"], height), MAX_SHOT_HEIGHT)
        if tall > VIEWPORT["height"]:
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
            self.page.evaluate(SETTLED_FRAMES_JS)  # charts re-lay out to the new height
        try:
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            if tall > VIEWPORT["height"]:
                self.page.set_viewport_size(VIEWPORT)
        self.shots.append(path)
        return path


def new_context(browser, **options):
    """A browser context that reports the app's run signals (see :data:`RUN_SIGNALS_JS`)."""
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(RUN_SIGNALS_JS)
    return context


@pytest.fixture
def app(browser, app_server, request):
    """A fresh browser context (a new Streamlit session) opened at Home."""
    context = new_context(browser)
    a = App(context.new_page(), app_server, request.node.name)
    a.open()
    yield a
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        with contextlib.suppress(Exception):  # the page may be what broke
            a.shot("at-failure")
    context.close()


# Installed in every page before the app loads: records when the page last sent the server a
# message (a widget's rerun request) and when a script run last started, so that
# :func:`wait_for_app_run` waits for the run an action asked for instead of a fixed pause.
# ``doc`` tells one loaded document from the next (page times restart at each load).
RUN_SIGNALS_JS = """(() => {
  const s = (window.__fusionRuns = { lastSend: 0, lastStart: 0, doc: String(Math.random()) });
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    s.lastSend = performance.now();
    return send.call(this, data);
  };
  new MutationObserver((records) => {
    const values = records.map((r) => r.oldValue);
    values.push(records[records.length - 1].target.getAttribute('data-test-script-state'));
    if (values.slice(1).includes('running')) s.lastStart = performance.now();
  }).observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['data-test-script-state'],
  });
})();"""

# The app is idle: connected, no script running, no loading placeholder. Then: the page has
# sent a message since the last wait (``mark``) and a run started after it (or none did
# within ``answerMs``: a message that asks for no run), or it has sent none for ``quietMs``
# since this wait began (the action asked for no rerun).
APP_IDLE_JS = """([mark, quietMs, answerMs, began]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const s = window.__fusionRuns;
  if (!app || !s) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const since = s.doc === mark.doc ? mark.send : -1;
  if (s.lastSend > since) {
    return s.lastStart >= s.lastSend || performance.now() - s.lastSend > answerMs;
  }
  if (window.__fusionWaitBegan !== began) {
    window.__fusionWaitBegan = began;
    window.__fusionWaitStart = performance.now();
  }
  return performance.now() - window.__fusionWaitStart > quietMs;
}"""
QUIET_MS = 400  # an action's rerun request is sent within this (a chart's selection, a slider)
ANSWER_MS = 1500  # a rerun request is answered by a run start well within this
MARK_JS = "() => ({doc: window.__fusionRuns.doc, send: window.__fusionRuns.lastSend})"


def wait_for_app_run(page, mark: dict | None, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> dict:
    """Wait until the app is idle after the run the last action asked for (the app's own
    signals: the page's messages to the server and the script's run state); return the new
    mark to pass to the next wait."""
    mark = mark or {"doc": "", "send": -1}
    page.wait_for_function(
        APP_IDLE_JS,
        arg=[mark, QUIET_MS, ANSWER_MS, time.monotonic_ns()],
        timeout=timeout_ms,
        polling=50,
    )
    return page.evaluate(MARK_JS)


def wait_for_no_skeletons(page, timeout_ms: int = 10_000) -> None:
    """Wait (bounded, without failing) until no element is still a loading placeholder."""
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
        )


@pytest.fixture(scope="session")
def record_timing():
    """``record_timing(name, seconds)`` adds a timing to ``test-artifacts/timings.json``."""

    def record(name: str, seconds: float) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "timings.json"
        try:
            timings = json.loads(path.read_text())
        except (OSError, ValueError):
            timings = {}
        timings[name] = round(seconds, 2)
        path.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {seconds:.1f} s")

    return record
