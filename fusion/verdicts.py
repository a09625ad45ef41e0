"""Did the run beat its baseline? A paired difference on test rows, with a 95 % interval.

A run and the baseline it is set against are scored on the *same* test rows, so their
per-row outcomes are paired: ``d_i = s_i - b_i`` (the run's outcome on row i minus the
baseline's, e.g. 1 for a correct prediction, 0 for a wrong one). The reported difference is
the mean ``d = 1/N sum_i d_i`` and its interval is

- for outcomes that are all 0 or 1 (accuracy; Recall@1 without ties), the exact conditional
  interval behind McNemar's test (McNemar 1947): of the ``k = n01 + n10`` discordant rows,
  ``n10`` (run right, baseline wrong) is Binomial(k, p) given k; a Clopper-Pearson interval
  [p_lo, p_hi] for p (Clopper & Pearson 1934) maps to ``d`` by ``d = k (2p - 1) / N``. It
  excludes 0 exactly when the exact two-sided McNemar test rejects at 5 %, and stays honest
  with a handful of rows, where a bootstrap is over-confident;
- otherwise (outcomes in [0, 1] such as a mean over retrieval directions or tie-broken hits),
  the percentile interval of a paired bootstrap over rows (Efron & Tibshirani 1993, ch. 13;
  2,000 seeded resamples).

The verdict (:func:`decide`) is "beat" only when the whole interval is above 0, "below" when
it is under 0, and otherwise "level": no detectable difference with N test rows. Which
baseline a run is set against is chosen on validation rows (:func:`fusion.baselines.pick`),
never on the test rows compared here.

numpy and scipy only; no torch, no streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

LEVEL = 0.95  # the interval's coverage
BOOTSTRAP_RESAMPLES = 2000
OUTCOMES = ("beat", "level", "below")


@dataclass
class Verdict:
    """One comparison of a run with a baseline on the same test rows (saved in metrics.json).

    outcome: "beat" | "level" | "below" (:func:`decide`); against: the baseline's key
    ("concat", a modality's name, "cca"); metric: what was compared ("accuracy",
    "recall_at_1", "linear_probe_accuracy"); difference: run minus baseline, mean over test
    rows; interval: its 95 % interval [low, high]; test_rows: N; score / baseline_score:
    the two means; method: "mcnemar" or "bootstrap".
    """

    outcome: str
    against: str
    metric: str
    difference: float
    interval: list[float]
    test_rows: int
    score: float
    baseline_score: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Verdict | None:
        """A saved verdict, or None when ``d`` is not one (older runs have none)."""
        if not isinstance(d, Mapping):
            return None
        try:
            v = cls(**{k: d[k] for k in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None
        return v if v.outcome in OUTCOMES else None


def mcnemar_interval(run: np.ndarray, base: np.ndarray, level: float = LEVEL) -> list[float]:
    """The exact conditional interval for the paired difference of two 0/1 outcome vectors
    (see the module docstring). Equal outcomes on every row give [0, 0]."""
    n = len(run)
    n10 = int(np.sum((run == 1) & (base == 0)))
    n01 = int(np.sum((run == 0) & (base == 1)))
    k = n10 + n01
    if n == 0 or k == 0:
        return [0.0, 0.0]
    alpha = 1.0 - level
    p_lo = 0.0 if n10 == 0 else float(beta.ppf(alpha / 2, n10, k - n10 + 1))
    p_hi = 1.0 if n10 == k else float(beta.ppf(1 - alpha / 2, n10 + 1, k - n10))
    return [k * (2 * p_lo - 1) / n, k * (2 * p_hi - 1) / n]


def bootstrap_interval(
    run: np.ndarray, base: np.ndarray, level: float = LEVEL, seed: int = 0
) -> list[float]:
    """Percentile interval of the mean paired difference over ``BOOTSTRAP_RESAMPLES``
    resamples of rows (seeded: the same inputs always give the same interval)."""
    d = np.asarray(run, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    n = len(d)
    if n == 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    means = np.empty(BOOTSTRAP_RESAMPLES)
    for start in range(0, BOOTSTRAP_RESAMPLES, 250):  # bounded memory on large test sets
        stop = min(start + 250, BOOTSTRAP_RESAMPLES)
        means[start:stop] = d[rng.integers(0, n, size=(stop - start, n))].mean(1)
    alpha = 1.0 - level
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return [float(lo), float(hi)]


def paired_difference(
    run: np.ndarray, base: np.ndarray, seed: int = 0
) -> tuple[float, list[float], str]:
    """Mean difference of paired per-row outcomes, its 95 % interval and the method used."""
    run, base = np.asarray(run, dtype=np.float64), np.asarray(base, dtype=np.float64)
    assert run.shape == base.shape and run.ndim == 1, f"unpaired: {run.shape} vs {base.shape}"
    diff = float(np.mean(run - base)) if len(run) else 0.0
    binary = np.isin(run, (0.0, 1.0)).all() and np.isin(base, (0.0, 1.0)).all()
    if binary:
        return diff, mcnemar_interval(run, base), "mcnemar"
    return diff, bootstrap_interval(run, base, seed=seed), "bootstrap"


def decide(interval: list[float]) -> str:
    """ "beat" when the interval is above 0, "below" when under 0, else "level"."""
    low, high = interval
    if low > 0:
        return "beat"
    if high < 0:
        return "below"
    return "level"


def compare(run: np.ndarray, base: np.ndarray, against: str, metric: str, seed: int = 0) -> Verdict:
    """The verdict of a run's per-row outcomes ``run`` against a baseline's ``base``."""
    diff, interval, method = paired_difference(run, base, seed)
    return Verdict(
        outcome=decide(interval),
        against=against,
        metric=metric,
        difference=diff,
        interval=[float(x) for x in interval],
        test_rows=len(run),
        score=float(np.mean(run)) if len(run) else float("nan"),
        baseline_score=float(np.mean(base)) if len(base) else float("nan"),
        method=method,
    )


SAVED = ("verdict", "verdict_class_structure")  # the keys a run saves its verdicts under


def saved(verdicts: Mapping[str, Any]) -> list[tuple[str, Verdict]]:
    """A run's saved verdicts that read as verdicts, each once, in :data:`SAVED` order
    (linear CCA's one verdict is saved under both keys)."""
    out: list[tuple[str, Verdict]] = []
    for key in SAVED:
        v = Verdict.from_dict(verdicts.get(key))
        if v is not None and all(v != seen for _, seen in out):
            out.append((key, v))
    return out
