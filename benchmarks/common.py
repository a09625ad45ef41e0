"""What every benchmark shares: the result entry, timing helpers, fresh processes, output.

Every measurement is an :class:`Entry`: a value, the baseline it is compared with in the
same run, their ratio (oriented so that larger is better for speed-ups and throughput
ratios, see each module), a target and whether it was met (True / False / None when
there is no target or it could not be measured here).

Paired measurements (ours against a baseline) run as interleaved rounds
(:func:`interleaved`: A B, B A, A B, … with the order rotated each round, at least
:data:`MIN_ROUNDS` rounds), so a machine that slows down for a while slows both; each round
gives one ratio, and an entry reports the median with the minimum and maximum over the
rounds (:class:`Spread`). A target is judged on that whole range (:func:`verdict`): met
when every round meets it, missed when none does, inconclusive when the range straddles it.
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


MIN_ROUNDS = 5  # a paired measurement's fewest interleaved rounds
MET, MISSED, INCONCLUSIVE = "met", "missed", "inconclusive"


@dataclass(frozen=True)
class Spread:
    """Median, minimum and maximum of one figure over the rounds of a measurement."""

    median: float
    lo: float
    hi: float
    rounds: int

    @classmethod
    def of(cls, xs: list[float] | tuple[float, ...]) -> Spread | None:
        """The spread of the finite values of ``xs``; None when there are none."""
        vals = [float(x) for x in xs if x is not None and math.isfinite(x)]
        if not vals:
            return None
        return cls(float(statistics.median(vals)), min(vals), max(vals), len(vals))

    def text(self) -> str:
        """``median [min–max]``, as the tables print it."""
        return f"{_fmt(self.median)} [{_fmt(self.lo)}–{_fmt(self.hi)}]"


def rotated(names: list[str], round_: int) -> list[str]:
    """The order of ``names`` in round ``round_``: rotated by one place each round."""
    k = round_ % len(names) if names else 0
    return names[k:] + names[:k]


def interleaved(
    fns: dict[str, Callable[[], float]], rounds: int = MIN_ROUNDS
) -> dict[str, list[float]]:
    """Call each of ``fns`` once per round, the order rotated each round (A B, B A, …).

    Each function returns its measured figure; the result holds one list per name, its
    i-th item measured in round i, so ``a[i] / b[i]`` is a ratio within one round.
    """
    if rounds < MIN_ROUNDS:
        raise ValueError(f"a paired measurement needs at least {MIN_ROUNDS} rounds, got {rounds}")
    names = list(fns)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in rotated(names, r):
            out[name].append(fns[name]())
    return out


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """``a[i] / b[i]`` round by round (rounds where either is unknown or b is 0 are left out)."""
    if len(a) != len(b):
        raise ValueError(f"paired lists differ in length: {len(a)} and {len(b)}")
    return [x / y for x, y in zip(a, b, strict=True) if _known(x) and _known(y) and y != 0]


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def verdict(lo: float | None, hi: float | None, op: str, threshold: float) -> str | None:
    """Judge a target on a measured range [lo, hi] (a single value: lo == hi).

    "met" when the whole range meets ``op threshold`` (op ">=" or "<="), "missed" when the
    whole range misses it, "inconclusive" when the range straddles it; None when unknown.
    """
    if op not in (">=", "<="):
        raise ValueError(f"unknown comparison {op!r}")
    if not _known(lo) or not _known(hi):
        return None
    assert lo <= hi, f"range [{lo}, {hi}] is reversed"
    low_ok, high_ok = (
        (lo >= threshold, hi >= threshold)
        if op == ">="
        else (
            lo <= threshold,
            hi <= threshold,
        )
    )
    if low_ok and high_ok:
        return MET
    if not low_ok and not high_ok:
        return MISSED
    return INCONCLUSIVE


@dataclass
class Entry:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None  # the baseline's value, same unit, same run
    ratio: float | None = None  # see the module for its orientation
    target: str | None = None  # e.g. "ratio >= 0.90", "value <= 10"
    met: bool | None = None  # True met, False missed, None inconclusive or not judged
    note: str = ""
    # Over the rounds of a measurement (None for a single figure): min and max of the value
    # and of the ratio, how many rounds, and the target's verdict on the whole range.
    value_lo: float | None = None
    value_hi: float | None = None
    ratio_lo: float | None = None
    ratio_hi: float | None = None
    rounds: int | None = None
    verdict: str | None = None

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
    spread: Spread | None = None,
    ratio_spread: Spread | None = None,
) -> Entry:
    """An Entry whose verdict is computed from ``target = (on, op, threshold)``.

    ``on`` is "value" or "ratio": which number the target applies to. ``spread`` and
    ``ratio_spread`` are the value's and the ratio's spread over the rounds; given, their
    medians are the entry's value and ratio (``value``/``ratio`` may then be None) and the
    target is judged on the whole range (:func:`verdict`), else on the single figure.
    """
    if spread is not None and value is None:
        value = spread.median
    if ratio_spread is not None and ratio is None:
        ratio = ratio_spread.median
    met = judged = text = None
    if target is not None:
        on, op, threshold = target
        rng = spread if on == "value" else ratio_spread
        point = value if on == "value" else ratio
        lo, hi = (rng.lo, rng.hi) if rng is not None else (point, point)
        judged = verdict(lo, hi, op, threshold)
        met = {MET: True, MISSED: False}.get(judged) if judged else None
        text = f"{on} {op} {threshold:g}"
    rounds = max((s.rounds for s in (spread, ratio_spread) if s is not None), default=None)
    return Entry(
        name,
        value,
        unit,
        baseline,
        ratio,
        text,
        met,
        note,
        value_lo=spread.lo if spread else None,
        value_hi=spread.hi if spread else None,
        ratio_lo=ratio_spread.lo if ratio_spread else None,
        ratio_hi=ratio_spread.hi if ratio_spread else None,
        rounds=rounds,
        verdict=judged,
    )


def paired_entry(
    name: str,
    ours: list[float],
    base: list[float],
    unit: str,
    sense: str = "base/ours",
    target: tuple[str, str, float] | None = None,
    note: str = "",
) -> Entry:
    """An entry for ``ours`` against ``base`` measured in the same interleaved rounds.

    The ratio is taken round by round, in ``sense``: "base/ours" (a speed-up of times) or
    "ours/base" (a throughput ratio, or a slowdown of times). Value, baseline and ratio
    are the medians over the rounds; their minimum and maximum go with them.
    """
    if sense not in ("base/ours", "ours/base"):
        raise ValueError(f"unknown ratio sense {sense!r}")
    rs = paired_ratios(base, ours) if sense == "base/ours" else paired_ratios(ours, base)
    b = Spread.of(base)
    return entry(
        name,
        None,
        unit,
        b.median if b else None,
        None,
        target,
        note,
        spread=Spread.of(ours),
        ratio_spread=Spread.of(rs),
    )


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


def _cell(x: float | None, lo: float | None, hi: float | None) -> str:
    if x is not None and lo is not None and hi is not None:
        return f"{_fmt(x)} [{_fmt(lo)}–{_fmt(hi)}]"
    return _fmt(x)


def _met(e: Entry) -> str:
    if e.verdict is not None:
        return {MET: "yes", MISSED: "NO"}.get(e.verdict, e.verdict)
    return _fmt(e.met) if e.met is not None else "–"


def table(entries: list[Entry]) -> str:
    """A Markdown table of the entries (also readable in a terminal).

    Measured over rounds, value and ratio read ``median [min–max]``.
    """
    head = ["benchmark", "value", "unit", "baseline", "ratio", "rounds", "target", "met"]
    rows = [
        [
            e.name,
            _cell(e.value, e.value_lo, e.value_hi),
            e.unit,
            _fmt(e.baseline),
            _cell(e.ratio, e.ratio_lo, e.ratio_hi),
            str(e.rounds) if e.rounds else "–",
            e.target or "–",
            _met(e),
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
        "Paired figures were measured in interleaved rounds and read `median [min–max]`; a",
        "target counts as missed only when the whole range misses it.",
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
