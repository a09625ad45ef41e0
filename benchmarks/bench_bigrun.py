"""100,000 pairs end to end, as the app's worker does it: load, explore as they are, train
a joint embedding and an attention model, and the map of every validation point.

The file is the one a new user brings: 100,000 rows, ``image`` and ``text`` columns of
128-d float32 vectors and a ``label`` (``tests/data/make_big_pairs.py``, about 100 MB of
Parquet), written into a temporary folder. Each step runs through
:func:`fusion.worker.run_task`, the function every executor runs, so the figures include
what a job does after training: the map of all validation rows (20,000 rows x 2
modalities = 40,000 points, UMAP) made and saved with the run (``map.parquet``).

Reported per step: wall seconds (and, for trained runs, the training's own seconds); the
map's seconds and its share of the step (the baseline the map is set against: the rest of
the same step, same run); the load's peak memory (ru_maxrss growth); and the server's part
of Explore, building the big map's figure from ``map.parquet``
(:func:`fusion.plots.bigmap.big_map`), against reading the file.
"""

from __future__ import annotations

import importlib.util
import resource
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import Entry, entry, ratio

N = 100_000
QUICK_N = 20_000
EPOCHS = 2


def _pairs_script():
    path = Path(__file__).resolve().parents[1] / "tests" / "data" / "make_big_pairs.py"
    spec = importlib.util.spec_from_file_location("make_big_pairs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _task(data, method: str, root: str, **train):
    from fusion.experiment import default_config
    from fusion.jobs.protocol import TrainTask

    cfg = default_config(method, **train)
    return TrainTask(cfg, data=data, run_name=f"big-{method}")


def _step(task, root: Path) -> dict[str, float]:
    """Run one task as a worker does, save its files under ``root``; its timings."""
    from fusion import bigmap
    from fusion.worker import run_task

    events: list[tuple[str, dict]] = []
    t0 = time.perf_counter()
    outcome = run_task(task, lambda k, p: events.append((k, p)), threading.Event())
    wall = time.perf_counter() - t0
    assert not outcome.error_key, (outcome.error_key, outcome.error_params)
    folder = root / outcome.name
    for name, data in (outcome.files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    loaded = bigmap.read_map(folder)
    map_s = float(loaded[1]["seconds"]) if loaded else float("nan")
    map_events = [p for k, p in events if k == "map"]
    return {
        "wall": wall,
        "train": float(outcome.summary.history.seconds) if outcome.summary else float("nan"),
        "map": map_s,
        "points": float(loaded[1]["points"]) if loaded else 0.0,
        "map_events": float(len(map_events)),
        "folder": str(folder),
    }


def run(quick: bool) -> list[Entry]:
    from fusion import loaders

    n = QUICK_N if quick else N
    out: list[Entry] = []
    with tempfile.TemporaryDirectory(prefix="bench-bigrun-") as tmp:
        root = Path(tmp)
        path = _pairs_script().write_pairs(root / "pairs.parquet", n=n)
        mb = path.stat().st_size / 2**20
        before = _maxrss_mb()
        t0 = time.perf_counter()
        data = loaders.load(path)
        load_s = time.perf_counter() - t0
        grew = _maxrss_mb() - before
        print(f"  load: {load_s:.1f} s, +{grew:.0f} MB", flush=True)
        out.append(
            entry(
                f"{n:,} pairs end to end: load the {mb:.0f} MB Parquet",
                load_s,
                "s",
                note=f"peak memory grew {grew:.0f} MB; under the old 50 MB cap this file "
                "was refused",
            )
        )
        steps = {
            "explore as they are": _task(data, "asis", tmp),
            f"joint embedding, {EPOCHS} epochs": _task(data, "joint", tmp, epochs=EPOCHS),
            f"attention fusion, {EPOCHS} epochs": _task(data, "attention", tmp, epochs=EPOCHS),
        }
        last_folder = ""
        for name, task in steps.items():
            got = _step(task, root)
            last_folder = str(got["folder"]) if got["points"] else last_folder
            rest = got["wall"] - got["map"]
            print(f"  {name}: {got['wall']:.1f} s, map {got['map']:.1f} s", flush=True)
            out.append(
                entry(
                    f"{n:,} pairs end to end: {name} (worker, saved)",
                    got["wall"],
                    "s",
                    rest,
                    ratio(got["map"], got["wall"]),
                    note=f"training {got['train']:.1f} s; map of all {got['points']:,.0f} "
                    f"validation points {got['map']:.1f} s in the worker "
                    f"({got['map_events']:.0f} progress events); baseline = the step "
                    "without its map; ratio = map / step",
                )
            )
        if last_folder:
            from fusion.bigmap import read_map
            from fusion.plots.bigmap import big_map

            t0 = time.perf_counter()
            frame, _ = read_map(last_folder)
            read_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            fig, _ = big_map(frame, color_by="label")
            spec = fig.to_json()
            build_s = time.perf_counter() - t0
            out.append(
                entry(
                    f"{n:,} pairs end to end: Explore's big map, server build + serialise",
                    build_s * 1e3,
                    "ms",
                    read_s * 1e3,
                    ratio(build_s, read_s),
                    note=f"{len(frame):,} points, {len(spec) / 2**20:.1f} MB of JSON; baseline "
                    "= reading map.parquet; no projection in the server",
                )
            )
    return out
