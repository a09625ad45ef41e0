"""Choose the joint embedding's default temperature on validation rows only.

``python -m benchmarks.joint_temperature [--seeds 0 1] [--temperatures 0.1 0.2 0.5 1.0]
[--dim 64] [--encoder linear]``

For each real data set of :mod:`benchmarks.realdata` (HTAD split by recording,
Nutrimouse, BasicMotions; UCI Multiple Features is reserved for checks from outside the
project and never read), each seed and each candidate temperature, a joint embedding
(InfoNCE, ``default_config("joint", "info_nce")`` with only ``model.temperature`` changed)
trains on the rows the library plans (:func:`fusion.data.plan_roles`; cross-validation on
all three) with :func:`fusion.experiment.run_fold`. Read per fold, on its *validation*
rows only: the linear probe (mean over modalities), Recall@1 (mean over both directions)
and the validation accuracy of the fold's logistic baselines. The test rows the fold also
scores are never read.

Pooled over folds (weighted by validation rows) and averaged over seeds, per temperature:
the probe minus the best single view's logistic regression (the view with the highest
pooled validation accuracy), in points, and Recall@1. The rule printed at the end: among
the candidates whose validation Recall@1 is at least 95 % of the current default's on every
data set, the one with the highest worst-case probe gap (ties: the higher mean gap).
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np

from benchmarks.realdata import load

NAMES = ("htad", "nutrimouse", "basic_motions")
R1_KEEP = 0.95  # a candidate keeps at least this share of the current default's Recall@1


def validation_scores(
    name: str, seed: int, temperature: float, changes: dict | None = None
) -> dict[str, float]:
    """One seed's validation probe, Recall@1 and best single-view LR, pooled over folds;
    ``changes`` sets other fields of the joint config (``dim``, ``encoder.kind``)."""
    from fusion.data import plan_roles
    from fusion.experiment import default_config, run_fold

    data = load(name)
    cfg = default_config("joint", "info_nce", seed=seed)
    cfg.model.temperature = temperature
    for key, value in (changes or {}).items():
        if key == "encoder.kind":
            cfg.model.encoder.kind = value
        else:
            setattr(cfg.model, key, value)
    probe, r1, weights, singles = [], [], [], {}
    for roles in plan_roles(data, cfg.train):
        fold_cfg = copy.deepcopy(cfg)
        fold_cfg.train.n_snapshots = 0
        fold = run_fold(data, roles, fold_cfg, (), None)
        val = fold.result.history.final_metrics  # the validation rows' metrics
        probe.append(val["linear_probe_accuracy"])
        r1.append(val["recall_at_1_mean"])
        weights.append(len(roles.val))
        for key, acc in fold.val_scores.items():
            if key != "concat":
                singles.setdefault(key, []).append(acc)
    w = np.asarray(weights, dtype=np.float64)
    single = {k: float(np.average(v, weights=w)) for k, v in singles.items()}
    best = max(single, key=single.get)
    return {
        "probe": float(np.average(probe, weights=w)),
        "recall_at_1": float(np.average(r1, weights=w)),
        "best_single": single[best],
        "best_single_name": best,
    }


def choose(table: dict[float, dict[str, dict[str, float]]], current: float) -> float:
    """The rule of the module docstring over ``table[temperature][data set]``."""
    base = table[current]
    ok = [
        t
        for t, sets in table.items()
        if all(sets[n]["recall_at_1"] >= R1_KEEP * base[n]["recall_at_1"] for n in sets)
    ]

    def gaps(t: float) -> list[float]:
        return [s["probe"] - s["best_single"] for s in table[t].values()]

    return max(ok, key=lambda t: (min(gaps(t)), float(np.mean(gaps(t)))))


def main(argv: list[str] | None = None) -> None:
    from fusion.config import JointConfig

    p = argparse.ArgumentParser(prog="python -m benchmarks.joint_temperature")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.1, 0.2, 0.5, 1.0])
    p.add_argument("--sets", nargs="+", default=list(NAMES), choices=NAMES)
    p.add_argument("--current", type=float, default=JointConfig().temperature)
    p.add_argument("--dim", type=int, help="also change the shared-space width")
    p.add_argument("--encoder", help="also change the encoder kind")
    args = p.parse_args(argv)
    changes: dict = {}
    if args.dim:
        changes["dim"] = args.dim
    if args.encoder:
        changes["encoder.kind"] = args.encoder
    temps = sorted(set(args.temperatures) | {args.current})
    table: dict[float, dict[str, dict[str, float]]] = {t: {} for t in temps}
    for name in args.sets:
        for t in temps:
            t0 = time.perf_counter()
            runs = [validation_scores(name, s, t, changes) for s in args.seeds]
            table[t][name] = {
                k: float(np.mean([r[k] for r in runs]))
                for k in ("probe", "recall_at_1", "best_single")
            }
            table[t][name]["best_single_name"] = runs[0]["best_single_name"]
            s = table[t][name]
            print(
                f"temperature {t:g} {changes or ''} {name}: validation probe {100 * s['probe']:.1f} "
                f"(best single LR {100 * s['best_single']:.1f}, {s['best_single_name']}; "
                f"gap {100 * (s['probe'] - s['best_single']):+.1f}), "
                f"Recall@1 {s['recall_at_1']:.3f} [{time.perf_counter() - t0:.0f} s]",
                flush=True,
            )
    print(json.dumps({str(t): v for t, v in table.items()}))
    print(f"chosen on validation rows: temperature {choose(table, args.current):g}")


if __name__ == "__main__":
    main()
