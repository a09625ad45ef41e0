"""Explore's map of every point at 10k, 100k and 1M points: ours against plotly.express.

Ours is :func:`fusion.plots.bigmap.big_map` (WebGL traces, float32 coordinates and int32
rows as typed arrays, hover by trace name and row); the baseline is the usual
``plotly.express.scatter(render_mode="webgl")`` of the same frame with the row and the
class as ``custom_data``. Both are serialised as ``st.plotly_chart`` does
(:func:`benchmarks.bench_app._as_streamlit_sends`) and drawn in headless Chromium on a
static page with the installed plotly.js, so "after the page has the data" is exact: the
JSON string is in the page before the clock starts.

Per size, rounds alternate ours and the baseline (order rotated each round, at least 5
rounds), each in a fresh browser context; the medians are reported with min and max:

- server: figure build + serialise, coloured by modality (first draw) and by class
  (recolour); its peak Python memory (tracemalloc);
- first draw: ``JSON.parse`` + ``Plotly.newPlot`` until two animation frames have passed;
- recolour: the server's rebuild by class + ``Plotly.react`` of it in the browser;
- selection round trip (ours): a box over the left half of the map set through
  ``layout.selections`` until ``plotly_selected`` fires, the points serialised as
  Streamlit's component sends them (curve, index, x, y, customdata), then parsed in Python
  and turned into rows (:func:`fusion.selection.event_rows`);
- browser memory: the page's JS heap after the first draw (CDP ``Performance.getMetrics``).

Targets: recolour at 100k points <= 500 ms; first draw at 1M points <= 5 s.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.appserver import CHROMIUM, CHROMIUM_ARGS
from benchmarks.common import Entry, entry, median, ratio

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
ROUNDS = 5
RECOLOUR_TARGET_MS = 500.0  # at 100k points
FIRST_DRAW_TARGET_S = 5.0  # at 1M points


def points(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` map points: two modalities, ten clustered classes, a reliability in [0, 1]."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 10, n)
    centres = rng.normal(scale=6.0, size=(10, 2))
    xy = centres[label] + rng.normal(size=(n, 2))
    return pd.DataFrame(
        {
            "row": np.arange(n, dtype=np.int32),
            "modality": np.where(np.arange(n) % 2 == 0, "image", "text"),
            "label_name": np.array([f"class {i}" for i in range(10)])[label],
            "reliability": rng.random(n).astype(np.float32),
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
        }
    )


def _ours(frame: pd.DataFrame, color_by: str) -> str:
    from benchmarks.bench_app import _as_streamlit_sends
    from fusion.plots.bigmap import big_map

    fig, _ = big_map(frame, color_by=color_by, title="All points")
    fig.update_layout(height=640)
    return _as_streamlit_sends(fig)


def _express(frame: pd.DataFrame, color_by: str) -> str:
    import plotly.express as px

    from benchmarks.bench_app import _as_streamlit_sends

    fig = px.scatter(
        frame,
        x="x",
        y="y",
        color="modality" if color_by == "modality" else "label_name",
        custom_data=["row", "label_name"],
        render_mode="webgl",
        title="All points",
    )
    fig.update_layout(height=640)
    return _as_streamlit_sends(fig)


def _server(build, frame: pd.DataFrame, color_by: str) -> tuple[str, float]:
    """(JSON, seconds) of one build + serialise."""
    t0 = time.perf_counter()
    spec = build(frame, color_by)
    return spec, time.perf_counter() - t0


def _server_mb(build, frame: pd.DataFrame) -> float:
    """Peak MB of Python allocations of one build + serialise (timed apart: tracing slows
    Python down several times)."""
    tracemalloc.start()
    build(frame, "modality")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


# The figure's JSON is already in the page (window[name]) when the clock starts.
DRAW_JS = """async (name) => {
  const t0 = performance.now();
  const fig = JSON.parse(window[name]);
  await Plotly.newPlot('plot', fig.data, fig.layout, {displaylogo: false});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""

REACT_JS = """async (name) => {
  const t0 = performance.now();
  const fig = JSON.parse(window[name]);
  await Plotly.react('plot', fig.data, fig.layout, {displaylogo: false});
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t0;
}"""

# A box over the left half of the map; resolves with the selected points serialised as
# Streamlit's Plotly component sends them, and the browser's milliseconds.
SELECT_JS = """async () => {
  const gd = document.getElementById('plot');
  const xr = gd._fullLayout.xaxis.range, yr = gd._fullLayout.yaxis.range;
  const t0 = performance.now();
  const done = new Promise(r => gd.once('plotly_selected', r));
  Plotly.relayout(gd, {dragmode: 'select', selections: [{type: 'rect', xref: 'x', yref: 'y',
    x0: xr[0], x1: (xr[0] + xr[1]) / 2, y0: yr[0], y1: yr[1]}]});
  const ev = await done;
  const pts = (ev && ev.points) || [];
  const body = JSON.stringify({selection: {points: pts.map(p => ({
    curve_number: p.curveNumber, point_number: p.pointNumber, point_index: p.pointIndex,
    x: p.x, y: p.y, customdata: p.customdata}))}});
  return [performance.now() - t0, body];
}"""


def _page(browser):
    import plotly

    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.set_content(
        '<html><body><div id="plot" style="width:900px;height:640px"></div></body></html>'
    )
    page.add_script_tag(path=str(js))
    return ctx, page


def _heap_mb(page) -> float | None:
    try:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return metrics.get("JSHeapUsedSize", 0.0) / 2**20
    except Exception:  # not Chromium, or CDP refused
        return None


def _one_round(browser, build, frame: pd.DataFrame, select: bool) -> dict[str, float]:
    """One fresh page: first draw, recolour, (selection), memory."""
    from fusion.plots.bigmap import big_map
    from fusion.selection import event_rows

    first, s_first = _server(build, frame, "modality")
    recolour, s_recolour = _server(build, frame, "label")
    ctx, page = _page(browser)
    try:
        page.evaluate("(s) => { window.__first = s; }", first)
        page.evaluate("(s) => { window.__recolour = s; }", recolour)
        draw_ms = page.evaluate(DRAW_JS, "__first")
        heap = _heap_mb(page)
        react_ms = page.evaluate(REACT_JS, "__recolour")
        out = {
            "server_first_ms": s_first * 1e3,
            "server_recolour_ms": s_recolour * 1e3,
            "draw_ms": draw_ms,
            "recolour_ms": s_recolour * 1e3 + react_ms,
            "browser_react_ms": react_ms,
            "heap_mb": heap if heap is not None else float("nan"),
            "json_mb": len(first) / 2**20,
        }
        if select:
            # The map shown is the recoloured one: rows per trace as the page keeps them.
            _, rows = big_map(frame, color_by="label")
            browser_ms, body = page.evaluate(SELECT_JS)
            t0 = time.perf_counter()
            chosen = event_rows(json.loads(body)["selection"]["points"], rows)
            out["select_ms"] = browser_ms + (time.perf_counter() - t0) * 1e3
            out["selected"] = float(len(chosen))
            out["select_body_mb"] = len(body) / 2**20
        return out
    finally:
        ctx.close()


def _stats(xs: list[float]) -> tuple[float, float, float]:
    return median(xs), min(xs), max(xs)


def measure(browser, n: int, rounds: int = ROUNDS) -> dict[str, dict[str, list[float]]]:
    frame = points(n)
    got: dict[str, dict[str, list[float]]] = {"ours": {}, "express": {}}
    builds = {"ours": _ours, "express": _express}
    for who, build in builds.items():  # imports and first-call costs out of the rounds
        got[who]["server_mb"] = [_server_mb(build, frame)]
    for r in range(rounds):
        order = ["ours", "express"] if r % 2 == 0 else ["express", "ours"]
        for who in order:
            res = _one_round(browser, builds[who], frame, select=who == "ours")
            for k, v in res.items():
                got[who].setdefault(k, []).append(v)
    return got


def _spread(xs: list[float], fmt: str = "{:.0f}") -> str:
    m, lo, hi = _stats(xs)
    return f"median {fmt.format(m)}, min {fmt.format(lo)}, max {fmt.format(hi)}"


def entries_for(n: int, got: dict[str, dict[str, list[float]]], rounds: int) -> list[Entry]:
    o, b = got["ours"], got["express"]
    size = f"{n // 1000:,}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    out: list[Entry] = []
    first_o = [d + s for d, s in zip(o["draw_ms"], o["server_first_ms"], strict=True)]
    first_b = [d + s for d, s in zip(b["draw_ms"], b["server_first_ms"], strict=True)]
    draw_target = ("value", "<=", FIRST_DRAW_TARGET_S) if n >= 1_000_000 else None
    out.append(
        entry(
            f"big map {size} pts: first draw after the page has the data",
            median(o["draw_ms"]) / 1e3,
            "s",
            median(b["draw_ms"]) / 1e3,
            ratio(median(b["draw_ms"]), median(o["draw_ms"])),
            draw_target,
            note=f"{rounds} interleaved rounds; ours ms {_spread(o['draw_ms'])}; "
            f"plotly.express {_spread(b['draw_ms'])}; ratio = baseline / ours; "
            f"with the server's build: ours {_spread(first_o)} ms, "
            f"express {_spread(first_b)} ms",
        )
    )
    rec_target = ("value", "<=", RECOLOUR_TARGET_MS) if n == 100_000 else None
    out.append(
        entry(
            f"big map {size} pts: recolour (server rebuild + browser react)",
            median(o["recolour_ms"]),
            "ms",
            median(b["recolour_ms"]),
            ratio(median(b["recolour_ms"]), median(o["recolour_ms"])),
            rec_target,
            note=f"ours {_spread(o['recolour_ms'])} (browser {_spread(o['browser_react_ms'])}); "
            f"plotly.express {_spread(b['recolour_ms'])}",
        )
    )
    out.append(
        entry(
            f"big map {size} pts: selection round trip (box over half the map)",
            median(o["select_ms"]),
            "ms",
            note=f"{_spread(o['select_ms'])}; {median(o['selected']):,.0f} points selected, "
            f"event {median(o['select_body_mb']):.1f} MB",
        )
    )
    out.append(
        entry(
            f"big map {size} pts: message size (figure JSON)",
            median(o["json_mb"]),
            "MB",
            median(b["json_mb"]),
            ratio(median(b["json_mb"]), median(o["json_mb"])),
            ("value", "<=", 200.0),
            note="Streamlit's server.maxMessageSize is 200 MB",
        )
    )
    out.append(
        entry(
            f"big map {size} pts: server memory, figure build + serialise (peak)",
            median(o["server_mb"]),
            "MB",
            median(b["server_mb"]),
            ratio(median(b["server_mb"]), median(o["server_mb"])),
            note="tracemalloc peak of one build, after a warm-up build",
        )
    )
    out.append(
        entry(
            f"big map {size} pts: browser JS heap after the first draw",
            median(o["heap_mb"]),
            "MB",
            median(b["heap_mb"]),
            ratio(median(b["heap_mb"]), median(o["heap_mb"])),
            note=f"ours {_spread(o['heap_mb'])}; express {_spread(b['heap_mb'])}",
        )
    )
    return out


def run(quick: bool) -> list[Entry]:
    if not Path(CHROMIUM).exists():
        return [Entry("big map: skipped", None, "", note=f"no Chromium at {CHROMIUM}")]
    from playwright.sync_api import sync_playwright

    entries: list[Entry] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in QUICK_SIZES if quick else SIZES:
                got = measure(browser, n, ROUNDS)
                entries += entries_for(n, got, ROUNDS)
                print(f"  big map {n:,}: done", flush=True)
        finally:
            browser.close()
    return entries
