"""Strong simple baselines beside every labelled run: logistic regression on each modality
alone and on all modalities concatenated, on the run's own train/validation split.

Each baseline standardises its features with the training rows' mean and standard deviation
and fits multinomial logistic regression (L2, C = 1, lbfgs; scikit-learn, Pedregosa et al.
2011, https://scikit-learn.org/stable/modules/linear_model.html#logistic-regression), the
recipe of the linear-probe protocol (Radford et al. 2021, CLIP) applied to the raw
features. Validation accuracy, acc = 1/N sum_i [y_pred_i = y_i], is stored in a run's
metrics under

- ``baseline_single_accuracy_<m>``: modality m alone (images flattened),
- ``baseline_concat_accuracy``: all modalities side by side,

each with ``_chance``: the share of the validation set's most common class (always guessing
it). At most :data:`MAX_TRAIN_ROWS` training rows are used (a seeded sample beyond); the
count is stored as ``baseline_train_rows``.

:func:`comparison` reads them back from a run's metrics next to the fused model's own score
(its accuracy, or a joint embedding's linear probe) and says whether fusion beat them.
This module imports neither torch nor streamlit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusion.data import PairedData
from fusion.i18n import DEFAULT_LANGUAGE, translate

MAX_TRAIN_ROWS = 20_000  # a seeded sample of training rows beyond this (bounds the fit's time)
SINGLE = "baseline_single_accuracy_"  # + modality name
CONCAT = "baseline_concat_accuracy"
TRAIN_ROWS = "baseline_train_rows"
# The fused model's score the baselines are compared with, first found wins: a classifier's
# accuracy, else a joint embedding's linear probe (mean over modalities).
SCORES = ("accuracy", "linear_probe_accuracy")
TIE = 0.005  # closer than half a point counts as level with the best baseline


def logistic_accuracy(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int = 0
) -> float:
    """Validation accuracy of standardised logistic regression fitted on the training rows."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_train)) < 2:  # one class seen: the only sensible guess is that class
        return float(np.mean(y_val == y_train[0]))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_val) == y_val))


def logistic_baselines(
    train: PairedData, val: PairedData, seed: int = 0, max_rows: int = MAX_TRAIN_ROWS
) -> dict[str, float]:
    """The baseline metrics (see the module docstring) for one split; {} without labels."""
    if train.labels is None or val.labels is None or val.n == 0:
        return {}
    rows = np.arange(train.n)
    if train.n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(train.n, max_rows, replace=False))
    y_train, y_val = train.labels[rows], val.labels
    _, counts = np.unique(y_val, return_counts=True)
    chance = float(counts.max() / counts.sum())
    out: dict[str, float] = {}
    xs_train = {m: train.flat(m)[rows] for m in train.names}
    for m in train.names:
        out[f"{SINGLE}{m}"] = logistic_accuracy(xs_train[m], y_train, val.flat(m), y_val, seed)
        out[f"{SINGLE}{m}_chance"] = chance
    x_train = np.concatenate(list(xs_train.values()), axis=1)  # (n, Σ d_m)
    x_val = np.concatenate([val.flat(m) for m in val.names], axis=1)
    out[CONCAT] = logistic_accuracy(x_train, y_train, x_val, y_val, seed)
    out[f"{CONCAT}_chance"] = chance
    out[TRAIN_ROWS] = float(len(rows))
    return out


@dataclass
class Comparison:
    """A run's own score beside its baselines (from :func:`comparison`)."""

    score_key: str  # "accuracy" or "linear_probe_accuracy"
    score: float
    single: dict[str, float]  # modality -> its baseline's accuracy
    concat: float | None
    chance: float | None

    @property
    def best_key(self) -> str:
        """The strongest baseline: "concat" or a modality's name."""
        options = {**self.single, **({"concat": self.concat} if self.concat is not None else {})}
        return max(options, key=lambda k: (options[k], k == "concat"))

    @property
    def best(self) -> float:
        return self.concat if self.best_key == "concat" else self.single[self.best_key]

    @property
    def outcome(self) -> str:
        """ "beat" (above every baseline), "level" (within :data:`TIE` of the best), "below"."""
        if self.score > self.best + TIE:
            return "beat"
        return "level" if self.score >= self.best - TIE else "below"


def comparison(metrics: Mapping[str, Any]) -> Comparison | None:
    """The run's score and baselines from its metrics; None when it has no baselines (runs
    saved before baselines, unlabelled data) or no score to compare them with."""
    single = {
        k[len(SINGLE) :]: float(v)
        for k, v in metrics.items()
        if k.startswith(SINGLE) and not k.endswith("_chance")
    }
    score_key = next((k for k in SCORES if metrics.get(k) is not None), None)
    if not single or score_key is None:
        return None
    concat = metrics.get(CONCAT)
    chance = metrics.get(f"{CONCAT}_chance")
    return Comparison(
        score_key,
        float(metrics[score_key]),
        single,
        None if concat is None else float(concat),
        None if chance is None else float(chance),
    )


def baseline_label(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A baseline's short name: "all modalities concatenated" or "<m> alone"."""
    if key == "concat":
        return translate("baselines.concat_label", lang)
    return translate("baselines.single_label", lang, m=key)


def verdict(metrics: Mapping[str, Any], lang: str = DEFAULT_LANGUAGE) -> str | None:
    """One plain sentence: did fusion beat logistic regression on the same split?"""
    c = comparison(metrics)
    if c is None:
        return None
    params = {
        "what": translate(f"baselines.what.{c.score_key}", lang),
        "score": f"{c.score:.3f}",
        "best": f"{c.best:.3f}",
        "best_name": baseline_label(c.best_key, lang),
        "points": f"{abs(c.score - c.best) * 100:.1f}",
    }
    if c.outcome == "below" and c.best_key == "concat" and c.single:
        top_single = max(c.single.values())
        if c.score > top_single + TIE:
            return translate(
                "baselines.verdict.single_not_concat", lang, single=f"{top_single:.3f}", **params
            )
    return translate(f"baselines.verdict.{c.outcome}", lang, **params)
