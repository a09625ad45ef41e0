"""What every benchmark shares: the result entry, timing helpers, fresh processes, output.

Every measurement is an :class:`Entry`: a value, the baseline it is compared with in the
same run, their ratio (oriented so that larger is better for speed-ups and throughput
ratios, see each module), a target and whether it was met (True / False / None when
there is no target or it could not be measured here).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the repository root
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MARKER = "@@BENCH@@"  # a fresh process prints its JSON result on a line starting with this
RSS_MARKER = "@@MAXRSS_KB@@"
LAUNCHER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    f"print({RSS_MARKER!r} + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), "
    "flush=True); sys.exit(r.returncode)"
)


@dataclass
class Entry:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None  # the baseline's value, same unit, same run
    ratio: float | None = None  # see the module for its orientation
    target: str | None = None  # e.g. "ratio >= 0.90", "value <= 10"
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def check(x: float | None, op: str, threshold: float) -> bool | None:
    """``x op threshold`` (op one of >=, <=), or None when x is unknown."""
    if x is None or not math.isfinite(x):
        return None
    return bool(x >= threshold) if op == ">=" else bool(x <= threshold)


def entry(
    name: str,
    value: float | None,
    unit: str,
    baseline: float | None = None,
    ratio: float | None = None,
    target: tuple[str, str, float] | None = None,
    note: str = "",
) -> Entry:
    """An Entry whose ``met`` is computed from ``target = (on, op, threshold)``.

    ``on`` is "value" or "ratio": which number the target applies to.
    """
    met = None
    text = None
    if target is not None:
        on, op, threshold = target
        met = check(value if on == "value" else ratio, op, threshold)
        text = f"{on} {op} {threshold:g}"
    return Entry(name, value, unit, baseline, ratio, text, met, note)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def time_call(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1, number: int = 1) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` timings of ``number`` calls each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return median(times)


# ----------------------------------------------------------------------------- processes


def fresh_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    env.update(extra)
    return env


def run_fresh(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m benchmarks._fresh ARGS`` in a new process (cwd = repo root).

    Returns its JSON result plus ``wall`` (seconds from spawn to exit, interpreter start
    and the launcher's ~20 ms included), ``spawned`` (``time.time()`` at spawn) and
    ``maxrss_mb`` (the measured process's peak resident memory).
    """
    # A small launcher process starts the measured one and reports its
    # getrusage(RUSAGE_CHILDREN).ru_maxrss: Linux carries a parent's resident size into a
    # child's ru_maxrss across fork + exec, so the child must not be forked from this
    # (large) process for its peak memory to mean anything.
    cmd = [
        sys.executable,
        "-c",
        LAUNCHER,
        sys.executable,
        "-m",
        "benchmarks._fresh",
        *args,
    ]
    spawned = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env or fresh_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = proc.stdout.splitlines()
    line = next((ln for ln in reversed(lines) if ln.startswith(MARKER)), None)
    rss = next((ln for ln in reversed(lines) if ln.startswith(RSS_MARKER)), None)
    if line is None or rss is None:
        raise RuntimeError(f"{' '.join(args)} printed no result:\n{proc.stdout[-2000:]}")
    result = json.loads(line[len(MARKER) :])
    result["wall"] = wall
    result["spawned"] = spawned  # wall-clock time.time() at spawn, for the child's own stamps
    result["maxrss_mb"] = int(rss[len(RSS_MARKER) :]) / 1024  # KiB on Linux
    return result


def emit(result: dict[str, Any]) -> None:
    """What a fresh process prints as its result."""
    print(MARKER + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- output


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float):
        ax = abs(x)
        if ax == 0:
            return "0"
        if ax >= 1000:
            return f"{x:,.0f}"
        if ax >= 10:
            return f"{x:.1f}"
        if ax >= 0.01:
            return f"{x:.3f}"
        return f"{x:.2e}"
    return str(x)


def table(entries: list[Entry]) -> str:
    """A Markdown table of the entries (also readable in a terminal)."""
    head = ["benchmark", "value", "unit", "baseline", "ratio", "target", "met"]
    rows = [
        [
            e.name,
            _fmt(e.value),
            e.unit,
            _fmt(e.baseline),
            _fmt(e.ratio),
            e.target or "–",
            _fmt(e.met) if e.met is not None else "–",
        ]
        for e in entries
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *(line(r) for r in rows)])


def machine() -> dict[str, Any]:
    """The machine and versions the figures were measured on."""
    model = platform.processor() or ""
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("torch", "umap", "numba", "sklearn", "streamlit", "plotly", "numpy"):
        with contextlib.suppress(Exception):  # a missing optional package is not listed
            versions[mod] = __import__(mod).__version__
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "versions": versions,
    }


def write_json(entries: list[Entry], path: Path | None = None) -> Path:
    """The entries as a JSON list (one object per measurement)."""
    path = path or RESULTS_DIR / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([e.as_dict() for e in entries], indent=2) + "\n")
    return path


NOTES_MARKER = "<!-- notes: kept when the file is regenerated -->"


def write_results_md(entries: list[Entry], info: dict[str, Any], path: Path | None = None) -> Path:
    """benchmarks/RESULTS.md: the machine, the date and the table of a full run.

    Everything below :data:`NOTES_MARKER` (the notes on missed targets) is kept.
    """
    path = path or Path(__file__).resolve().parent / "RESULTS.md"
    notes = ""
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            notes = old.split(NOTES_MARKER, 1)[1]
    v = info["versions"]
    head = [
        "# Benchmark results",
        "",
        "The last full run of `python -m benchmarks` (regenerated by it; the notes at the end",
        "are kept). Values are medians; ratios compare with a baseline measured in the same",
        "run (see each `benchmarks/bench_*.py` for what the baseline is and the ratio's sense).",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs (`nproc`), {info['cpu_model']}; {info['platform']}",
        f"- 1-minute load average at the start: {info['load_avg_1m']:.2f}",
        f"- Python {info['python']}; torch {v.get('torch')}, umap-learn {v.get('umap')}, "
        f"numba {v.get('numba')}, scikit-learn {v.get('sklearn')}, streamlit "
        f"{v.get('streamlit')}, plotly {v.get('plotly')}, numpy {v.get('numpy')}",
        "",
        table(entries),
        "",
        NOTES_MARKER,
    ]
    path.write_text("\n".join(head) + (notes or "\n"), encoding="utf-8")
    return path
