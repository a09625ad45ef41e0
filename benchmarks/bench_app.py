"""App responsiveness: server start, Home's first paint, and Explore's figure rebuild.

- Start: ``streamlit run app.py`` (loopback, its own empty ``FUSION_RUNS_DIR``) until
  ``/_stcore/health`` answers ``ok``; baseline: a one-line Streamlit app, same run.
- Home painted: headless Chromium (Playwright) opens Home on the fresh server until the
  title and the demo buttons are visible and the script run is over
  (``stApp[data-test-script-state=notRunning]``); the first visit (the server's first
  script run, which also starts UMAP's warm-up thread) and a second, new-session visit.
  Baseline: the one-line app, painted the same way.
- Explore rebuild at 10k points (5k samples x 2 modalities), from precomputed
  coordinates, no projection: the server-side part is ``fusion.plots.shared_space`` (plus
  ``mark_selected``) and what ``st.plotly_chart`` then does with the figure
  (``to_dict`` and ``plotly.io.to_json``); the browser part is ``Plotly.react`` of that
  JSON in Chromium on a static page with the installed plotly.js, until two animation
  frames have passed (painted). Target: server + browser <= 300 ms. Baseline: the same
  scatter made the usual way with ``plotly.express`` (``render_mode="webgl"``).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS, streamlit_server
from benchmarks.common import MIN_ROUNDS, Entry, entry, interleaved, median, paired_entry

HELLO = 'import streamlit as st\n\nst.title("Hello")\nst.button("Press")\n'
TARGET_MS = 300.0
HOME_TARGET = 1.5  # Home's first paint on a fresh server, times the one-line app's


@contextlib.contextmanager
def server(script: str, runs_dir: str):
    """Start ``streamlit run script``; yields (url, seconds until healthy)."""
    with tempfile.TemporaryFile() as log:
        try:
            with streamlit_server(
                log, script, env={"FUSION_RUNS_DIR": runs_dir}, start_s=90, poll_s=0.02
            ) as (_, url, seconds):
                yield url, seconds
        except RuntimeError as exc:
            if "did not answer" in str(exc):
                log.seek(0)
                raise RuntimeError(f"{exc}:\n{log.read().decode()[-3000:]}") from None
            raise


def _paint(browser, url: str, texts: list[str]) -> float:
    """Seconds from navigation to ``texts`` visible and the script run over (new session)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url)
        for text in texts:
            page.get_by_text(text, exact=True).first.wait_for(state="visible", timeout=60_000)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            state="attached", timeout=60_000
        )
        return time.perf_counter() - t0
    finally:
        ctx.close()


def start_and_paint(browser, quick: bool) -> list[Entry]:
    """Interleaved rounds: a fresh one-line app and a fresh app.py, the order rotated."""
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp, "hello_app.py")
        hello.write_text(HELLO)

        def hello_round() -> tuple[float, float]:
            with server(str(hello), tmp) as (url, s):
                return s, _paint(browser, url, ["Hello", "Press"])

        def app_round() -> tuple[float, float, float]:
            with server("app.py", str(Path(tmp, "runs"))) as (url, s):
                home = ["Fusion Playground", "Try the demo"]
                return s, _paint(browser, url, home), _paint(browser, url, home)

        got = interleaved({"hello": hello_round, "app": app_round}, MIN_ROUNDS)
    hs = [h[0] for h in got["hello"]]
    hf = [h[1] for h in got["hello"]]
    a_s, a_f, a_2 = ([a[k] for a in got["app"]] for k in range(3))
    return [
        paired_entry(
            "app: streamlit run app.py to /_stcore/health ok",
            a_s,
            hs,
            "s",
            "ours/base",
            note="baseline: a one-line Streamlit app; ratio = ours / baseline",
        ),
        paired_entry(
            "app: Home fully painted in Chromium, first visit to a fresh server",
            a_f,
            hf,
            "s",
            "ours/base",
            ("ratio", "<=", HOME_TARGET),
            note="ratio = ours / baseline, round by round",
        ),
        paired_entry(
            "app: Home fully painted in Chromium, a second new session",
            a_2,
            hf,
            "s",
            "ours/base",
            note="ratio = ours / baseline",
        ),
    ]


# ----------------------------------------------------------------------------- Explore figure


def explore_points(n_samples: int = 5000, epochs: int = 10, seed: int = 0):
    """A points frame as Explore's ``points_frame`` makes it, and coordinates per epoch."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 8, n_samples)
    meta = pd.DataFrame(
        {
            "sample": np.tile(np.arange(n_samples), 2),
            "id": np.tile(np.arange(n_samples), 2).astype(str),
            "modality": np.repeat(["a", "b"], n_samples),
            "label": np.tile(labels, 2),
            "label_name": np.tile([f"class {c}" for c in labels], 2),
            "reliability": np.nan,
        }
    )
    meta["hover"] = ("id " + meta["id"]).to_numpy(dtype=object)
    centres = rng.normal(scale=5, size=(8, 2))
    coords = [
        (centres[meta["label"].to_numpy()] + rng.normal(size=(len(meta), 2)) * (3 - e / 4)).astype(
            np.float32
        )
        for e in range(epochs)
    ]
    return meta, coords


def _frame(meta, xy):
    df = meta.copy()
    df["u"], df["v"] = xy[:, 0], xy[:, 1]
    return df


def _as_streamlit_sends(fig) -> str:
    """What st.plotly_chart does with a figure before sending it (streamlit 1.67)."""
    import plotly.io
    import plotly.tools

    spec = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return plotly.io.to_json(spec, validate=False)


def _ours(meta, xy, color_by: str) -> str:
    from fusion import plots

    df = _frame(meta, xy)
    fig = plots.shared_space(
        df,
        color_by=color_by,
        title="Shared space at epoch 9 (UMAP of all modalities)",
        colors=plots.modality_color_map(["a", "b"]),
        axis_labels=("UMAP 1", "UMAP 2"),
    )
    fig.update_layout(height=620)  # as Explore does (after mark_selected, a no-op here)
    return _as_streamlit_sends(fig)


def _express(meta, xy, color_by: str) -> str:
    import plotly.express as px

    df = _frame(meta, xy)
    fig = px.scatter(
        df,
        x="u",
        y="v",
        color="label_name" if color_by == "label" else "modality",
        symbol="modality",
        custom_data=["sample", "modality", "label_name"],
        hover_data={"hover": True},
        render_mode="webgl",
        title="Shared space",
    )
    fig.update_layout(height=620)
    return _as_streamlit_sends(fig)


PAGE_JS = """async ([spec]) => {
  const t0 = performance.now();
  const fig = JSON.parse(spec);
  await Plotly.react('plot', fig.data, fig.layout, {displaylogo: false});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""


class _ReactPage:
    """A static page with the installed plotly.js and one plot, for timing Plotly.react."""

    def __init__(self, browser, first_spec: str):
        import plotly

        js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.ctx.new_page()
        self.page.set_content(
            '<html><body><div id="plot" style="width:900px;height:620px"></div></body></html>'
        )
        self.page.add_script_tag(path=str(js))
        self.page.evaluate(PAGE_JS, [first_spec])
        self.i = 0

    def react_ms(self, specs: list[str], calls: int = 3) -> float:
        """Median ms of Plotly.react + paint over ``calls`` changes, cycling ``specs``."""
        times = []
        for _ in range(calls):
            self.i += 1
            times.append(self.page.evaluate(PAGE_JS, [specs[self.i % len(specs)]]))
        return median(times)

    def close(self) -> None:
        self.ctx.close()


def _build_ms(fn, calls: int = 3) -> float:
    """Median ms of ``fn()`` over ``calls`` calls."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return median(times)


def explore_rebuild(browser, quick: bool) -> list[Entry]:
    meta, coords = explore_points()
    rounds = MIN_ROUNDS if quick else 9
    entries: list[Entry] = []
    for change, args_a, args_b in (
        ("recolour", (coords[-1], "modality"), (coords[-1], "label")),
        ("epoch change", (coords[-2], "label"), (coords[-1], "label")),
    ):
        specs = [_ours(meta, *args_a), _ours(meta, *args_b)]
        base_specs = [_express(meta, *args_a), _express(meta, *args_b)]
        fns = {
            "ours_s": lambda a=args_b: _build_ms(lambda: _ours(meta, *a)),
            "base_s": lambda a=args_b: _build_ms(lambda: _express(meta, *a)),
        }
        pages = []
        if browser is not None:
            ours_page, base_page = _ReactPage(browser, specs[0]), _ReactPage(browser, base_specs[0])
            pages = [ours_page, base_page]
            fns["ours_b"] = lambda p=ours_page, sp=specs: p.react_ms(sp)
            fns["base_b"] = lambda p=base_page, sp=base_specs: p.react_ms(sp)
        try:
            got = interleaved(fns, rounds)
        finally:
            for page in pages:
                page.close()
        zero = [0.0] * rounds
        ours_total = [a + b for a, b in zip(got["ours_s"], got.get("ours_b", zero), strict=True)]
        base_total = [a + b for a, b in zip(got["base_s"], got.get("base_b", zero), strict=True)]
        entries += [
            paired_entry(
                f"Explore {change} at 10k pts: server figure build + serialise",
                got["ours_s"],
                got["base_s"],
                "ms",
                "base/ours",
                note="baseline plotly.express; ratio = baseline / ours",
            ),
            paired_entry(
                f"Explore {change} at 10k pts: browser Plotly.react + paint",
                got.get("ours_b", []),
                got.get("base_b", []),
                "ms",
                "base/ours",
            )
            if browser is not None
            else entry(f"Explore {change} at 10k pts: browser Plotly.react + paint", None, "ms"),
            paired_entry(
                f"Explore {change} at 10k pts: total (server + browser)",
                ours_total,
                base_total,
                "ms",
                "base/ours",
                ("value", "<=", TARGET_MS),
                note="" if browser is not None else "browser part not measured (no Chromium)",
            ),
        ]
    return entries


def run(quick: bool) -> list[Entry]:
    if not Path(CHROMIUM).exists():
        return explore_rebuild(None, quick) + [
            entry("app: start and paint", None, "s", note=f"{CHROMIUM} not found")
        ]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return start_and_paint(browser, quick) + explore_rebuild(browser, quick)
        finally:
            browser.close()


if __name__ == "__main__":  # a quick look: python -m benchmarks.bench_app
    from benchmarks.common import table

    print(table(run(quick=True)))
