#!/usr/bin/env python
"""Reproduce a Fusion Playground run: rebuild its data, train it on the CPU, compare metrics.

What this script does:
1. takes the run's configuration (where its data came from included) and the metrics
   the run reported, which it carries below (CONFIG, EXPORTED_METRICS: the same as
   config.json and metrics/metrics.json in the run's zip), so it runs on its own;
2. rebuilds the exact training data: the seeded generator with the recorded parameters,
   or, for a run on uploaded data, data.npz beside this script (as in the run's zip)
   or the file given with --data;
3. trains the same model with fusion.experiment.run_experiment on the CPU; the seeds in
   the configuration fix the split, the initialisation and the order of the batches;
4. prints every metric of the run next to the reproduced one, writes them to
   reproduced_metrics.json and exits with status 1 when one differs by more than the
   tolerance below (status 2 when the data or the fusion package cannot be found).

Run it with the fusion package importable, anywhere (a run on uploaded data: in the
unzipped run folder, or with --data FILE):

    PYTHONPATH=/path/to/fusion-playground python reproduce.py
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_FILE = "data.npz"  # the data of a run on uploaded files, beside this script

# How far a reproduced metric may be from the exported one (tolerance() below; fusion.export
# uses the same rule). The same machine and library versions give identical numbers;
# another thread count, CPU or torch build changes float rounding, which can move a
# retrieval rank or a predicted class for a row or two. So the allowance scales with the
# value (REL_TOL of it), a metric that counts rows may move by ROWS_TOL rows' worth
# (ROWS_TOL / n: 2 of 40 rows is 0.05, 2 of 4000 is 0.0005, below a small R@1), median
# ranks (in items) by RANK_ABS_TOL, and every metric by ABS_TOL (float rounding).
ABS_TOL = 1e-3
REL_TOL = 0.05
ROWS_TOL = 2
RANK_ABS_TOL = 2.0
# Metrics that are a share of rows (retrieval ranks, predicted classes): ROWS_TOL applies.
ROW_COUNTED = ("recall_at_", "accuracy", "precision", "f1", "attention_on_informative")
# Retrieval is scored on ``retrieval_rows`` (a subsample of large sets), the rest on all rows.
RETRIEVAL_WORDS = ("recall_at_", "median_rank", "class_precision")

TOLERANCE_RULE = (
    f"|reproduced - exported| <= the largest of {ABS_TOL}, {REL_TOL:.0%} of the exported "
    f"value and, for a share of n rows (recall, accuracy, precision), {ROWS_TOL} rows' worth "
    f"({ROWS_TOL}/n); median ranks: the larger of {RANK_ABS_TOL:g} and {REL_TOL:.0%}"
)

# The run this script reproduces: its configuration (config.json), the metrics it reported
# (metrics/metrics.json) and how its training ended (from run.json). In the template
# (fusion/templates/reproduce.py) they are empty; fusion.export.reproduce_script writes
# each marked line as the run's JSON.
CONFIG: dict = {}  # filled in: config.json
EXPORTED_METRICS: dict = {}  # filled in: metrics.json
RUN: dict = {}  # filled in: run.json


def tolerance(key: str, exported: float, metrics: dict | None = None, n_rows: int = 0) -> float:
    """The largest |reproduced - exported| that counts as a match for metric ``key``.

    ``metrics``: the exported metrics (their ``retrieval_rows`` and ``test_rows``);
    ``n_rows``: the rows the run was scored on, when the metrics do not say.
    """
    metrics = metrics or {}
    if key.startswith("median_rank"):
        return max(RANK_ABS_TOL, REL_TOL * abs(exported))
    allowed = max(ABS_TOL, REL_TOL * abs(exported))
    if any(word in key for word in ROW_COUNTED):
        n = metrics.get("test_rows") or n_rows
        if any(word in key for word in RETRIEVAL_WORDS):
            n = metrics.get("retrieval_rows") or n
        if n:
            allowed = max(allowed, ROWS_TOL / float(n))
    return allowed


def load_data(source: dict, data_files: list[Path] | None):
    """The training data: regenerated from its seed, or read back with fusion.loaders."""
    if "generator" in source:
        from fusion.generators import generate

        return generate(source["generator"], **source.get("params", {}))
    paths = data_files or [HERE / DATA_FILE]
    missing = [p for p in paths if not p.is_file()]
    if data_files and missing:
        shown = ", ".join(str(p) for p in missing)
        print(f"--data: no such file: {shown}", file=sys.stderr)
        raise SystemExit(2)
    if missing:
        files = ", ".join(source.get("files") or []) or "uploaded files"
        print(
            f"This run was trained on uploaded data ({files}). This script carries the run's "
            f"configuration but not its data, and there is no {DATA_FILE} beside it. Run it "
            f"in the unzipped run folder (the run's zip holds {DATA_FILE} when the same "
            "dataset was loaded in the dashboard at export), or pass the original file: "
            "python reproduce.py --data FILE (one .npy file per modality: --data a.npy b.npy)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from fusion.errors import FusionError
    from fusion.loaders import load

    try:
        return load(paths if len(paths) > 1 else paths[0])
    except FusionError as exc:  # the file cannot make this run's data: say why, no traceback
        print(f"Cannot use {', '.join(str(p) for p in paths)} as the data: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        help="training data (uploaded-data runs): a table or NPZ file, or one .npy per modality",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=HERE / "reproduced_metrics.json",
        help="where to write the reproduced metrics (JSON)",
    )
    parser.add_argument(
        "--config", type=Path, help="train with this config.json instead of the run's own"
    )
    parser.add_argument(
        "--metrics", type=Path, help="compare with this metrics.json instead of the run's own"
    )
    args = parser.parse_args(argv)

    try:
        from fusion.experiment import RunConfig, run_experiment
    except ImportError as exc:
        print(
            f"Cannot import the fusion package ({exc}). Run with the Fusion Playground "
            "folder on the path: PYTHONPATH=/path/to/fusion-playground python reproduce.py",
            file=sys.stderr,
        )
        return 2

    # 1. The configuration and the metrics the run reported (carried above, or given).
    config_dict = CONFIG
    if args.config:
        config_dict = json.loads(args.config.read_text(encoding="utf-8"))
    exported = EXPORTED_METRICS
    if args.metrics:
        exported = json.loads(args.metrics.read_text(encoding="utf-8"))
    # Numbers are compared; a structured entry (a verdict with its interval) is not a metric.
    skipped = sorted(k for k, v in exported.items() if not isinstance(v, (int, float)))
    exported = {k: v for k, v in exported.items() if k not in skipped}
    run_info = RUN
    config = RunConfig.from_dict(config_dict)
    config.train.device = "cpu"  # the same device everywhere; a GPU run differs by rounding

    # 2. The exact data.
    data = load_data(config_dict.get("data") or {}, args.data)
    print(f"Data: {data.describe()}")
    if run_info.get("status") != "finished":
        print(
            f"Note: the run ended early ({run_info.get('status')}, "
            f"{run_info.get('completed_epochs')} of {config.train.epochs} epochs); this script "
            "trains all epochs, so its metrics may differ by more than the tolerance."
        )

    # 3. Train again, on the CPU.
    print(f"Training {config.method} / {config.loss}, {config.train.epochs} epochs, on the CPU")
    result = run_experiment(data, config)
    if result.status != "finished":
        print(f"Training did not finish: {result.status}: {result.history.message}")
    if result.val.n != run_info.get("n_val", result.val.n):
        print(f"Note: {result.val.n} validation samples, the run had {run_info.get('n_val')}.")
    reproduced = result.metrics

    # 4. Compare, metric by metric.
    print(f"Tolerance: {TOLERANCE_RULE}.")
    if skipped:
        print(f"Not numbers, not compared: {', '.join(skipped)}")
    width = max((len(k) for k in exported), default=len("metric"))
    head = ["exported", "reproduced", "diff", "allowed"]
    print(f"{'metric'.ljust(width)}  {head[0]:>10}  {head[1]:>10}  {head[2]:>9}  {head[3]:>8}")
    failed = []
    for key, old in exported.items():
        new = reproduced.get(key)
        if new is None:
            failed.append(key)
            print(f"{key.ljust(width)}  {old:>10.4g}  {'missing':>10}")
            continue
        both_nan = isinstance(old, float) and math.isnan(old) and math.isnan(new)
        diff = 0.0 if both_nan else abs(float(new) - float(old))
        allowed = tolerance(key, float(old), exported, int(run_info.get("n_val") or 0))
        ok = both_nan or diff <= allowed
        if not ok:
            failed.append(key)
        flag = "" if ok else "  <-- differs"
        row = f"{old:>10.4g}  {new:>10.4g}  {diff:>9.2g}  {allowed:>8.3g}"
        print(f"{key.ljust(width)}  {row}{flag}")

    args.output.write_text(
        json.dumps({"metrics": reproduced, "failed": failed}, indent=2, default=float),
        encoding="utf-8",
    )
    diffs = [
        (abs(float(reproduced[k]) - float(v)), k)
        for k, v in exported.items()
        if k in reproduced and not (math.isnan(float(v)) or math.isnan(float(reproduced[k])))
    ]
    if diffs:
        largest, where = max(diffs)
        print(f"Largest difference: {largest:.3g} ({where if largest else 'all identical'})")
    print(f"Reproduced metrics written to {args.output}")
    if failed:
        print(f"{len(failed)} metric(s) differ beyond the tolerance: {', '.join(failed)}")
        return 1
    print(f"All {len(exported)} metrics match within the tolerance ({TOLERANCE_RULE}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
