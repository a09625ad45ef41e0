"""The live map while training: frame rate, latency, throughput, memory, drawing.

One joint InfoNCE training on ``shared_latent`` whose validation split holds 2,500 pairs,
so every live frame maps 5,000 points (both modalities), on one torch thread as a job's
worker trains. Measured in the same run:

- training throughput (median samples/s over the epochs) with the live map on vs off
  (``FUSION_LIVE_MAP``), alternating runs so both see the same machine load;
- frames made per second of training, and each frame's time (PCA + warm-started UMAP);
- from an epoch's evaluation to its frame sent (the worker), plus the page's half-second
  poll and the browser's update (below): epoch end to frame drawn, at worst;
- memory of the frames a 100-epoch run keeps at 5,000 points (both maps, float32);
- one Plotly update per frame in Chromium (``Plotly.react`` of the next frame's figure, as
  Streamlit's chart does when the fragment sends it) and building that figure in Python.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.common import MIN_ROUNDS, Entry, entry, paired_entry, rotated

N_VAL_PAIRS = 2500  # 5,000 map points with two modalities
POLL_SECONDS = 0.5  # the training panel's fragment polls twice a second


def _train(live_on: bool, epochs: int, process: bool = True) -> tuple[float, list[dict], float]:
    """(median samples/s, frame events, training seconds) of one training; ``process``:
    the frames' projections in the projection process (fusion.projector) or a thread."""
    import os

    import torch

    from fusion import generators, live, projector
    from fusion.experiment import default_config, run_experiment

    torch.set_num_threads(1)  # as a job's worker (fusion.jobs)
    data = generators.generate("shared_latent", n=N_VAL_PAIRS * 5, seed=0)
    cfg = default_config("joint", "info_nce", epochs=epochs)
    cfg.train.val_fraction, cfg.train.snapshot_rows = 0.2, N_VAL_PAIRS
    frames: list[dict] = []
    os.environ[projector.ENV_SWITCH] = "1" if process else "0"
    try:
        with live.switched(live_on):
            cbs = live.live_callbacks(
                cfg, lambda k, p: frames.append(p) if k == live.FRAME else None
            )
            result = run_experiment(data, cfg, cbs)
    finally:
        os.environ.pop(projector.ENV_SWITCH, None)
    rates = [r["samples_per_sec"] for r in result.history.epochs[1:]]
    return statistics.median(rates), frames, result.history.seconds


def _browser_update_ms(repeat: int) -> tuple[float | None, float, str]:
    """(median ms of Plotly.react with the next 5k-point frame, figure build ms, note)."""
    import plotly

    from fusion import live
    from fusion.plots.live import live_map

    rng = np.random.default_rng(0)
    P = 2 * N_VAL_PAIRS
    points = {
        "sample": np.tile(np.arange(N_VAL_PAIRS, dtype=np.int32), 2),
        "modality": np.repeat(np.arange(2, dtype=np.int8), N_VAL_PAIRS),
        "modalities": ["image", "text"],
        "labels": rng.integers(0, 8, N_VAL_PAIRS).astype(np.int32),
        "label_names": [f"class {i}" for i in range(8)],
        "reliability": np.full(P, np.nan, dtype=np.float16),
    }
    coords = [
        rng.normal(size=(P, 2)).astype(np.float32) * (1 + 0.05 * i) for i in range(repeat + 1)
    ]
    t0 = time.perf_counter()
    specs = []
    for i, c in enumerate(coords):
        fig = live_map(
            live.points_frame(points, c), live.axis_ranges(coords[: i + 1], "umap"), "label"
        )
        specs.append(fig.to_json())
    build_ms = (time.perf_counter() - t0) / len(coords) * 1e3
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        return None, build_ms, "no Chromium"
    from playwright.sync_api import sync_playwright

    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--use-gl=swiftshader"])
        page = browser.new_page(viewport={"width": 900, "height": 600})
        page.set_content("<div id='g' style='width:800px;height:460px'></div>")
        page.add_script_tag(path=str(js))
        page.evaluate(
            "s => { const f = JSON.parse(s); return Plotly.newPlot('g', f.data, f.layout); }",
            specs[0],
        )
        times = []
        for s in specs[1:]:
            ms = page.evaluate(
                """async s => { const f = JSON.parse(s); const t = performance.now();
                   await Plotly.react('g', f.data, f.layout);
                   await new Promise(r => requestAnimationFrame(() => r()));
                   return performance.now() - t; }""",
                s,
            )
            times.append(ms)
        types = page.evaluate("document.getElementById('g').data.map(t => t.type)")
        browser.close()
    return statistics.median(times), build_ms, f"trace types {sorted(set(types))}"


def _memory_mb() -> float:
    from fusion import live

    record = live.FrameRecord()
    record.rows, record.names = np.arange(N_VAL_PAIRS), ["a", "b"]
    frame = np.zeros((2 * N_VAL_PAIRS, 2), dtype=np.float32)
    for e in range(100):
        record.add("pca", e, frame + e)
        record.add("umap", e, frame - e)
    return sum(a.nbytes for a in record.saved().values()) / 1e6


def run(quick: bool) -> list[Entry]:
    from fusion import projection, projector

    epochs = 4 if quick else 30  # 0.15 s epochs: ~4.5 s of training, several UMAP frames
    rounds = MIN_ROUNDS  # interleaved rounds of (off, on, on with frames in a thread)
    # As in a worker: the projection process started (and UMAP compiled, there and here
    # for the thread runs) before the trainings are timed.
    projector.wait_ready(120)
    projection.warm_up()
    on_rates, off_rates, thread_rates = [], [], []
    fps, frame_s, lags, umap_fps, umap_lags = [], [], [], [], []
    for i in range(rounds):
        for kind in rotated(["off", "process", "thread"], i):  # each kind first, middle, last
            if kind == "off":
                off_rates.append(_train(False, epochs)[0])
            elif kind == "thread":
                thread_rates.append(_train(True, epochs, process=False)[0])
            else:
                rate, frames, seconds = _train(True, epochs)
                on_rates.append(rate)
        # Each frame is sent with PCA at once, then again with its UMAP when that is made
        # (an "update"); the first frames wait for nothing but include a fresh process's
        # first UMAP.
        drawn_first = [f for f in frames if not f.get("update")][1:]
        updates = [f for f in frames if f.get("update")][1:]
        if len(drawn_first) >= 2:
            span = max(drawn_first[-1]["sent"] - drawn_first[0]["sent"], 1e-9)
            fps.append((len({f["epoch"] for f in drawn_first}) - 1) / span)
            umap_fps.append(max(len(updates) - 1, 0) / span)
        frame_s += [f["seconds"] for f in updates]
        lags += [f["lag"] for f in drawn_first]
        umap_lags += [f["lag"] for f in updates]
    update_ms, build_ms, note = _browser_update_ms(5 if quick else 10)
    lag_max = max(lags) if lags else None
    drawn = (
        None if lag_max is None or update_ms is None else lag_max + POLL_SECONDS + update_ms / 1e3
    )
    fps_v = statistics.median(fps) if fps else None
    return [
        paired_entry(
            "live map 5k pts: training throughput, live map on vs off",
            on_rates,
            off_rates,
            "samples/s",
            "ours/base",
            ("ratio", ">=", 0.8),
            note=(
                f"{rounds} rounds of {epochs}-epoch runs (off, on, on with frames in a "
                "thread; order rotated), one torch thread; frames in the projection process"
            ),
        ),
        paired_entry(
            "live map 5k pts: training throughput, frames in a thread vs off (before)",
            thread_rates,
            off_rates,
            "samples/s",
            "ours/base",
            note="the same runs: projections in the training process (FUSION_FRAME_PROCESS=0)",
        ),
        entry(
            "live map 5k pts: frames per second while training",
            fps_v,
            "frames/s",
            target=("value", ">=", 1.0),
            note=(
                f"every frame PCA, UMAP on {statistics.median(umap_fps):.2f} frames/s (budget); "
                f"a warm UMAP frame median {statistics.median(frame_s):.2f} s in the "
                f"projection process, its epoch's end to it sent median "
                f"{statistics.median(umap_lags):.2f} s"
            )
            if frame_s and umap_fps and umap_lags
            else "",
        ),
        entry(
            "live map 5k pts: epoch end to frame drawn, worst case",
            drawn,
            "s",
            target=("value", "<=", 1.5),
            note=(
                f"PCA frame sent: worker lag median {statistics.median(lags):.2f} s, "
                f"max {lag_max:.2f} s, "
                f"+ {POLL_SECONDS} s poll + browser update"
                if lags
                else ""
            ),
        ),
        entry(
            "live map: frames kept for 100 epochs at 5k points (both maps)",
            _memory_mb(),
            "MB",
            target=("value", "<=", 50),
        ),
        entry(
            "live map 5k pts: one Plotly update per frame in Chromium",
            update_ms,
            "ms",
            target=("value", "<=", 100),
            note=f"{note}; figure built in Python in {build_ms:.0f} ms",
        ),
    ]


if __name__ == "__main__":
    for e in run(quick=True):
        print(json.dumps(e.as_dict()))
