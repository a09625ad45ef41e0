"""Home's default demo end to end, in a fresh process: imports, data, training, first map.

A new ``python`` process (cwd = repo root) imports the library, generates
``DEMOS["joint"]`` from views/parts/demo.py, trains ``default_config("joint", "info_nce")``
for the demo's epochs the way the app does (a :class:`fusion.jobs.TrainingJob` thread,
saving the run), and maps the last snapshot with UMAP (``fusion.projection.project``).
The value is the wall time from spawning the process to the map being ready (interpreter
start included); numba's on-disk cache is as earlier runs left it (a machine's very
first map also compiles). Explore itself first computes the aligned sequence of every
snapshot (``project_sequence``), so that total is reported too.

The baseline is the bare interpreter: ``python -c pass`` in the same run.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import ROOT, Entry, Spread, entry, interleaved, median, run_fresh

TARGET_S = 10.0


def run(quick: bool) -> list[Entry]:
    def bare() -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, check=True)
        return time.perf_counter() - t

    got = interleaved(
        {
            "bare": bare,
            "demo": lambda: run_fresh(["demo"]),
            "seq": lambda: run_fresh(["demo", "--sequence"]),
        }
    )
    runs, seq_runs = got["demo"], got["seq"]
    b = median(got["bare"])
    e2e = Spread.of([r["map_done"] - r["spawned"] for r in runs])
    seq = Spread.of([r["map_done"] - r["spawned"] for r in seq_runs])
    st = {k: median([r["stages"][k] for r in runs]) for k in runs[0]["stages"]}
    st["sequence"] = median([r["stages"]["map"] for r in seq_runs])
    spec = f"{runs[0]['epochs']} epochs, {runs[0]['n_points']} map points"
    entries = [
        entry(
            "demo end to end: fresh process to first map (last snapshot)",
            None,
            "s",
            b,
            None,
            ("value", "<=", TARGET_S),
            note=f"{spec}; baseline = bare interpreter start",
            spread=e2e,
        ),
        entry(
            "demo end to end with Explore's map (all snapshots, project_sequence)",
            None,
            "s",
            b,
            None,
            ("value", "<=", TARGET_S),
            note=f"{runs[0]['n_frames']} frames, in place of the single map",
            spread=seq,
        ),
    ]
    for key, label in (
        ("import", "import fusion (torch included)"),
        ("generate", "generate the demo data"),
        ("train", "train (TrainingJob thread, run saved)"),
        ("train_fit", "of which fit()"),
        ("map", "first UMAP map of the last snapshot"),
        ("sequence", "Explore's aligned UMAP sequence of all snapshots (fresh)"),
    ):
        entries.append(entry(f"demo stage: {label}", st[key], "s"))
    return entries
