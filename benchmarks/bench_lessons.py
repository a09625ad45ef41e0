"""A lesson in the browser: click "Start lesson" to its results, on a warmed-up server.

The server first serves the joint demo (so torch, pandas, UMAP and numba are loaded, as on a
server that has been in use), then headless Chromium opens ``/learn?lesson=broken_sensor``
(four runs of 2,000 samples) and clicks its train button; the time is until the lesson's
"try this" control is drawn (training, saving and the analysis done).

Ours: the project's ``.streamlit/config.toml`` (``runner.postScriptGC = false``). Baseline,
same run: the same server with Streamlit's default ``runner.postScriptGC = true``, which
runs ``gc.collect(2)`` after every script run -- the lesson's progress fragment reruns
twice a second -- holding the GIL the training thread needs. Ratio = baseline / ours
(> 1: ours is faster).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from benchmarks.common import Entry, entry, interleaved, paired_entry

LESSON = "broken_sensor"
LIMIT_S = 300


def _lesson_seconds(browser, post_script_gc: bool, runs_dir: str) -> float:
    args = ("--runner.postScriptGC", "true" if post_script_gc else "false")
    with (
        tempfile.TemporaryFile() as log,
        streamlit_server(log, env={"FUSION_RUNS_DIR": runs_dir}, extra_args=args, start_s=90) as (
            _,
            url,
            _,
        ),
    ):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        try:
            page.goto(url)
            page.get_by_role("button", name="Try the demo").click()
            page.wait_for_url("**/explore**", timeout=LIMIT_S * 1000)
            # Explore shows the demo's live panel at once, then its run and map once saved.
            page.locator(".st-key-explore_run").wait_for(timeout=LIMIT_S * 1000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=LIMIT_S * 1000)
            page.goto(f"{url}/learn?lesson={LESSON}")
            button = page.locator(f".st-key-lesson_train_{LESSON}").get_by_role("button")
            button.wait_for(timeout=60_000)
            t0 = time.perf_counter()
            button.click()
            page.locator(f".st-key-lesson_try_{LESSON}").wait_for(timeout=LIMIT_S * 1000)
            return time.perf_counter() - t0
        finally:
            ctx.close()


def run(quick: bool) -> list[Entry]:
    if not Path(CHROMIUM).exists():
        return [entry("lessons: click to results", None, "s", note=f"{CHROMIUM} not found")]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        count = iter(range(10_000))  # a fresh runs folder for every lesson
        try:
            got = interleaved(
                {
                    "ours": lambda: _lesson_seconds(browser, False, f"{tmp}/r{next(count)}"),
                    "default": lambda: _lesson_seconds(browser, True, f"{tmp}/r{next(count)}"),
                }
            )
        finally:
            browser.close()
    return [
        paired_entry(
            f"lessons: '{LESSON}' click to results, warmed-up server",
            got["ours"],
            got["default"],
            "s",
            "base/ours",
            note="baseline: Streamlit's default runner.postScriptGC=true; ratio = baseline / ours",
        )
    ]


if __name__ == "__main__":  # python -m benchmarks.bench_lessons
    from benchmarks.common import table

    print(table(run(quick=True)))
