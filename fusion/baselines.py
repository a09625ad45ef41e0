"""Strong simple baselines beside every labelled run, fitted with the same care as the run.

Logistic regression on each modality alone and on all modalities concatenated, on the
run's own rows (:class:`fusion.data.Roles`):

- the training rows fit it: multinomial logistic regression (L2, lbfgs; scikit-learn,
  Pedregosa et al. 2011) whose inverse regularisation C is chosen by stratified 3-fold
  cross-validation *on the training rows* (log-loss) among :data:`CS`
  (``LogisticRegressionCV``);
- the validation rows choose its preprocessing by the rule the fused model follows
  (:func:`fusion.experiment.choose_standardize`): features standardised with the training
  rows' statistics, unless fitting on raw features gives a lower validation cross-entropy
  — checked when the run checks it (fewer training rows than
  ``TrainConfig.standardize_check_rows``), standardised otherwise;
- the validation rows pick which baseline the run is set against (:func:`pick`): the one
  with the highest validation accuracy;
- the test rows score them: ``acc = 1/N sum_i [y_pred_i = y_i]``, stored in a run's metrics
  as ``baseline_single_accuracy_<m>`` and ``baseline_concat_accuracy``, each with
  ``_chance`` (the test rows' most common class), and per row for the paired verdict
  (:mod:`fusion.verdicts`).

At most :data:`MAX_TRAIN_ROWS` training rows are used (a seeded sample beyond); the count
is stored as ``baseline_train_rows``. For joint embeddings, :func:`cca_baseline` is the
linear baseline of cross-modal retrieval: CCA (Hotelling 1936) between the first two
modalities, fitted on the training rows, its number of components chosen on validation
Recall@1, scored on the test rows.

This module imports neither torch nor streamlit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fusion import metrics as M
from fusion.data import PairedData
from fusion.i18n import DEFAULT_LANGUAGE, translate
from fusion.verdicts import Verdict

MAX_TRAIN_ROWS = 20_000  # a seeded sample of training rows beyond this (bounds the fit's time)
CS = (0.01, 0.1, 1.0, 10.0, 100.0)  # the inverse regularisation strengths tried by CV
CV_FOLDS = 3  # folds for choosing C (fewer when a class has fewer training rows)
SINGLE = "baseline_single_accuracy_"  # + modality name
CONCAT = "baseline_concat_accuracy"
TRAIN_ROWS = "baseline_train_rows"
CCA_R1 = "baseline_cca_recall_at_1"
CCA_DIMS = (2, 4, 8, 16, 32)  # CCA components tried, chosen on validation Recall@1


@dataclass
class Fitted:
    """One baseline: its validation accuracy (for :func:`pick`) and its test outcomes."""

    val_accuracy: float
    test_correct: np.ndarray  # (n_test,) 1.0 where the test row was classified right
    standardized: bool


def _logistic(standardize: bool, y_train: np.ndarray, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, counts = np.unique(y_train, return_counts=True)
    folds = int(min(CV_FOLDS, counts.min()))
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        clf: Any = LogisticRegressionCV(
            Cs=list(CS),
            cv=cv,
            scoring="neg_log_loss",
            l1_ratios=(0.0,),
            use_legacy_attributes=False,
            max_iter=500,
            random_state=seed,
        )
    else:  # a class with one training row: nothing to cross-validate C on
        clf = LogisticRegression(max_iter=500, random_state=seed)
    return make_pipeline(StandardScaler(), clf) if standardize else make_pipeline(clf)


def fit_logistic(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    seed: int = 0,
    check_scaling: bool = False,
) -> Fitted:
    """Logistic regression with C chosen by CV on the training rows; with
    ``check_scaling``, raw features replace standardised ones when their validation
    cross-entropy is lower (a tie standardises)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss

    if len(np.unique(y_train)) < 2:  # one class seen: the only sensible guess is that class
        return Fitted(
            float(np.mean(y_val == y_train[0])), (y_test == y_train[0]).astype(float), True
        )
    fits = {}
    for standardize in (True, False) if check_scaling else (True,):
        model = _logistic(standardize, y_train, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow on unscaled features
            model.fit(x_train, y_train)
        proba = model.predict_proba(x_val)
        loss = log_loss(y_val, proba, labels=model.classes_) if len(y_val) else 0.0
        fits[standardize] = (loss, model)
    standardize = not check_scaling or fits[True][0] <= fits[False][0]
    model = fits[standardize][1]
    val_acc = float(np.mean(model.predict(x_val) == y_val)) if len(y_val) else float("nan")
    return Fitted(val_acc, (model.predict(x_test) == y_test).astype(float), standardize)


def fit_baselines(
    train: PairedData,
    val: PairedData,
    test: PairedData,
    seed: int = 0,
    check_scaling: bool = False,
    max_rows: int = MAX_TRAIN_ROWS,
) -> dict[str, Fitted]:
    """Every logistic baseline of one split: "concat" and one per modality; {} without
    labels or test rows."""
    if train.labels is None or test.labels is None or test.n == 0:
        return {}
    rows = np.arange(train.n)
    if train.n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(train.n, max_rows, replace=False))
    y = (train.labels[rows], val.labels, test.labels)
    views = {m: (train.flat(m)[rows], val.flat(m), test.flat(m)) for m in train.names}
    views["concat"] = tuple(  # (n, sum d_m) each
        np.concatenate([v[i] for v in views.values()], axis=1) for i in range(3)
    )
    return {
        key: fit_logistic(x[0], y[0], x[1], y[1], x[2], y[2], seed, check_scaling)
        for key, x in views.items()
    }


def baseline_metrics(
    fitted: Mapping[str, Fitted], test: PairedData, train_rows: int
) -> dict[str, float]:
    """The baselines' test accuracies as a run's metrics (see the module docstring)."""
    if not fitted or test.labels is None:
        return {}
    _, counts = np.unique(test.labels, return_counts=True)
    chance = float(counts.max() / counts.sum())
    out: dict[str, float] = {}
    for key, f in fitted.items():
        name = CONCAT if key == "concat" else f"{SINGLE}{key}"
        out[name] = float(np.mean(f.test_correct))
        out[f"{name}_chance"] = chance
    out[TRAIN_ROWS] = float(min(train_rows, MAX_TRAIN_ROWS))
    return out


def logistic_baselines(
    train: PairedData,
    val: PairedData,
    test: PairedData | None = None,
    seed: int = 0,
    max_rows: int = MAX_TRAIN_ROWS,
    check_scaling: bool = False,
) -> dict[str, float]:
    """:func:`fit_baselines` then :func:`baseline_metrics`: the baseline metrics of one
    split (scored on ``test``; without it, on ``val``); {} without labels."""
    test = val if test is None else test
    fitted = fit_baselines(train, val, test, seed, check_scaling, max_rows)
    return baseline_metrics(fitted, test, min(train.n, max_rows))


def pick(fitted: Mapping[str, Any]) -> str:
    """The strongest baseline on the *validation* rows: the key with the highest validation
    accuracy (a tie prefers "concat", then the earlier modality)."""
    keys = list(fitted)
    return max(keys, key=lambda k: (fitted[k].val_accuracy, k == "concat", -keys.index(k)))


# ---------------------------------------------------------------------------------------
# Retrieval: linear CCA


@dataclass
class CCABaseline:
    dim: int  # components, chosen on validation Recall@1
    test_hits: np.ndarray  # (n,) Recall@1 per test pair, both directions averaged


def cca_baseline(
    train: PairedData, val: PairedData, test: PairedData, rows: np.ndarray | None = None
) -> CCABaseline | None:
    """Linear CCA between the first two modalities (flattened; :func:`fusion.shared_space.
    fit_cca`, its ridge relative to each view's variance), fitted on the training rows, with
    the number of components in :data:`CCA_DIMS` (at most the narrower view) that gives the
    highest validation Recall@1; Recall@1 per test pair (``rows``: a subsample of the test
    rows, the same the run is ranked on). None with fewer than two test rows."""
    from fusion.shared_space import fit_cca

    a, b = train.names[:2]
    if test.n < 2 or val.n < 2:
        return None
    width = min(train.flat(a).shape[1], train.flat(b).shape[1], train.n - 1)
    dims = [d for d in CCA_DIMS if d <= width] or [max(1, width)]
    fits = {}
    val_rows = M.retrieval_subsample(val.n, M.RETRIEVAL_MAX_ROWS)
    for d in dims:
        proj = fit_cca({a: train.flat(a), b: train.flat(b)}, dim=d)
        zv = proj.transform({a: val.flat(a), b: val.flat(b)})
        if val_rows is not None:
            zv = {k: v[val_rows] for k, v in zv.items()}
        fits[d] = (float(M.recall_hits(zv[a], zv[b]).mean()), proj)
    best = max(dims, key=lambda d: (fits[d][0], -d))  # a tie keeps fewer components
    zt = fits[best][1].transform({a: test.flat(a), b: test.flat(b)})
    if rows is not None:
        zt = {k: v[rows] for k, v in zt.items()}
    return CCABaseline(best, M.recall_hits(zt[a], zt[b]))


# ---------------------------------------------------------------------------------------
# Reading a run's baselines back, for the pages and the command line


def baseline_label(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A baseline's short name: "all modalities concatenated", "<m> alone" or "linear CCA"."""
    if key == "concat":
        return translate("baselines.concat_label", lang)
    if key == "cca":
        return translate("baselines.cca_label", lang)
    return translate("baselines.single_label", lang, m=key)


@dataclass
class Comparison:
    """A run's own score beside its logistic baselines, for the bar chart."""

    score_key: str  # "accuracy" or "linear_probe_accuracy"
    score: float
    single: dict[str, float]  # modality -> its baseline's accuracy
    concat: float | None
    chance: float | None


# The run's score set against the logistic baselines: a classifier's accuracy, else a
# joint embedding's linear probe (mean over modalities).
SCORES = ("accuracy", "linear_probe_accuracy")


def comparison(metrics: Mapping[str, Any]) -> Comparison | None:
    """The run's score and logistic baselines from its metrics; None when it has none."""
    single = {
        k[len(SINGLE) :]: float(v)
        for k, v in metrics.items()
        if k.startswith(SINGLE) and not k.endswith("_chance")
    }
    score_key = next((k for k in SCORES if metrics.get(k) is not None), None)
    if not single or score_key is None:
        return None
    concat, chance = metrics.get(CONCAT), metrics.get(f"{CONCAT}_chance")
    return Comparison(
        score_key,
        float(metrics[score_key]),
        single,
        None if concat is None else float(concat),
        None if chance is None else float(chance),
    )


def verdict_sentence(v: Verdict, lang: str = DEFAULT_LANGUAGE) -> str:
    """One plain sentence for a saved verdict: the difference with its interval, on how
    many test rows, and what it means ("beat", "level": no detectable difference, "below")."""
    params = {
        "what": translate(f"baselines.what.{v.metric}", lang),
        "score": f"{v.score:.3f}",
        "best": f"{v.baseline_score:.3f}",
        "best_name": baseline_label(v.against, lang),
        "points": f"{v.difference * 100:+.1f}",
        "low": f"{v.interval[0] * 100:+.1f}",
        "high": f"{v.interval[1] * 100:+.1f}",
        "rows": f"{v.test_rows:,}",
    }
    return translate(f"baselines.verdict.{v.outcome}", lang, **params)
