"""Training outside the web server: the demo on a fresh server, and Ray's start overhead.

- Demo click to map: a fresh ``streamlit run app.py`` (its own empty runs folder), Home
  opened in headless Chromium; as soon as Home is painted, "Try the demo" is clicked and
  the clock runs until Explore shows the map (a scatter with at least both modalities'
  validation points). ``FUSION_EXECUTOR=local`` (worker processes started with the server)
  against ``FUSION_EXECUTOR=thread`` (training in the server, the old design) in the same
  run, in interleaved rounds (at least five, the order rotated). Target: local <= 1.0x
  thread over the whole range of the rounds' ratios.
- Ray job start overhead: a small job (1 epoch) on a warm local pool against the same job
  on a real local Ray head (``ray start --head`` on 127.0.0.1), from ``start()`` to the
  first training step reported, and to the run written. Stated, no target.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, MAP_POINTS_JS, streamlit_server
from benchmarks.common import Entry, interleaved, median, paired_entry


def demo_click_to_map(browser, executor: str) -> float:
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp, "log"), "w") as log:
        env = {"FUSION_RUNS_DIR": str(Path(tmp, "runs")), "FUSION_EXECUTOR": executor}
        with streamlit_server(log, env=env, start_s=120, poll_s=0.05) as (_, url, _s):
            ctx = browser.new_context(viewport={"width": 1400, "height": 900})
            page = ctx.new_page()
            try:
                page.goto(url)
                button = page.locator(".st-key-demo_joint").get_by_role(
                    "button", name="Try the demo"
                )
                button.wait_for(state="visible", timeout=60_000)
                t0 = time.perf_counter()
                button.click()
                page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=300_000)
                page.wait_for_function(f"({MAP_POINTS_JS})() >= 800", timeout=300_000, polling=100)
                return time.perf_counter() - t0
            finally:
                ctx.close()


def ray_overhead(quick: bool) -> list[Entry]:
    from benchmarks.rayhead import ray_head
    from fusion import generators
    from fusion.config import default_config
    from fusion.jobs import TrainingJob
    from fusion.jobs.executors import LocalExecutor, RayExecutor

    data = generators.generate("shared_latent", n=1000, seed=0)

    def timed(ex, root: str) -> tuple[float, float]:
        job = TrainingJob(data, default_config("joint", epochs=1), root=root, executor=ex)
        t0 = time.perf_counter()
        job.start()
        while job.running and not job.progress().step:
            time.sleep(0.005)
        first = time.perf_counter() - t0
        job.join()
        assert job.saved_path is not None, job.error
        return first, time.perf_counter() - t0

    local = LocalExecutor(workers=1)
    local.warm()
    local.device_info(timeout=120)  # the worker is up
    with ray_head() as address, tempfile.TemporaryDirectory() as root:
        ray = RayExecutor(address=address)
        timed(ray, root)  # the first job also ships the fusion package to the cluster
        timed(local, root)
        got = interleaved({"local": lambda: timed(local, root), "ray": lambda: timed(ray, root)})
        ray.shutdown()
    local.shutdown()
    out = []
    for name, k in (
        ("start() to first training step", 0),
        ("start() to run written (1 epoch, 1000 pairs)", 1),
    ):
        r, loc = [x[k] for x in got["ray"]], [x[k] for x in got["local"]]
        out.append(
            paired_entry(
                f"jobs: Ray (local head) vs local worker pool, {name}",
                r,
                loc,
                "s",
                "ours/base",
                note=f"overhead {median(r) - median(loc):+.2f} s per job (medians); "
                "baseline = warm local worker",
            )
        )
    return out


def run(quick: bool, demo_only: bool = False) -> list[Entry]:
    """Both comparisons; ``demo_only``: the demo's click to map alone (no Ray head)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            got = interleaved(
                {
                    "thread": lambda: demo_click_to_map(browser, "thread"),
                    "local": lambda: demo_click_to_map(browser, "local"),
                }
            )
        finally:
            browser.close()
    entries = [
        paired_entry(
            "jobs: demo click to map on a fresh server, local workers vs thread executor",
            got["local"],
            got["thread"],
            "s",
            "ours/base",
            ("ratio", "<=", 1.0),
            note="Chromium; clicked as soon as Home is painted; baseline = FUSION_EXECUTOR=thread",
        )
    ]
    return entries if demo_only else entries + ray_overhead(quick)


if __name__ == "__main__":  # python -m benchmarks.bench_jobs [--demo-only]
    import sys

    from benchmarks.common import table

    print(table(run(quick=True, demo_only="--demo-only" in sys.argv)))
