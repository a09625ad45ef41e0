"""Baselines beside every labelled run, fitted with the same care as the run: C chosen by
cross-validation on the training rows, the run's standardisation rule on its validation
rows, scored on the same test rows; the baseline picked on validation rows; and the verdict
sentence read from the saved paired verdict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusion import baselines
from fusion.baselines import (
    CCA_R1,
    CONCAT,
    SINGLE,
    TRAIN_ROWS,
    Fitted,
    comparison,
    fit_baselines,
    fit_logistic,
    logistic_baselines,
    pick,
    verdict_sentence,
)
from fusion.data import PairedData
from fusion.experiment import default_config, needs_standardize_check, run_experiment
from fusion.runs import load_run, save_run
from fusion.verdicts import Verdict


def two_views(n=400, seed=0, scale_b=1.0):
    """Class signal split across two views: each view alone is partly informative, together
    they are separable (so concatenation beats either view)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    a = np.c_[(y % 2)[:, None] * 4.0 + rng.normal(size=(n, 1)), rng.normal(size=(n, 5))]
    b = np.c_[(y // 2)[:, None] * 4.0 + rng.normal(size=(n, 1)), rng.normal(size=(n, 7))]
    return PairedData({"a": a, "b": b * scale_b}, labels=y)


def parts(data, seed=0):
    r = data.roles(0.2, 0.2, seed)
    return data.subset(r.train), data.subset(r.val), data.subset(r.test)


def test_baselines_have_every_key_with_chance_and_beat_chance():
    data = two_views()
    train, val, test = parts(data)
    m = logistic_baselines(train, val, test, seed=0)
    assert set(m) == {
        f"{SINGLE}a",
        f"{SINGLE}a_chance",
        f"{SINGLE}b",
        f"{SINGLE}b_chance",
        CONCAT,
        f"{CONCAT}_chance",
        TRAIN_ROWS,
    }
    _, counts = np.unique(test.labels, return_counts=True)
    assert m[f"{CONCAT}_chance"] == pytest.approx(counts.max() / counts.sum())
    assert m[TRAIN_ROWS] == train.n
    # Each view alone knows one bit of the two: about half; both together: most of it.
    for view in "ab":
        assert 0.35 < m[f"{SINGLE}{view}"] < 0.7
    assert m[CONCAT] > 0.75
    assert m[CONCAT] > max(m[f"{SINGLE}a"], m[f"{SINGLE}b"]) + 0.1


@pytest.mark.slow
def test_standardised_baselines_ignore_a_modality_scale():
    plain = two_views()
    scaled = two_views(scale_b=1e4)  # same rows, b in different units
    got = [logistic_baselines(*parts(d), seed=0) for d in (plain, scaled)]
    assert got[0][CONCAT] == pytest.approx(got[1][CONCAT], abs=0.02)


def test_regularisation_is_chosen_by_cross_validation_on_training_rows():
    """Few rows and many noise features: C = 1 fixed overfits; CV on the training rows picks
    a stronger penalty, and the choice never looks at the test rows (changing their labels
    changes nothing but the score)."""
    rng = np.random.default_rng(0)
    n, d = 60, 200
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, d))
    x[:, 0] += 3.0 * y
    tr, va, te = np.arange(0, 30), np.arange(30, 40), np.arange(40, 60)
    f = fit_logistic(x[tr], y[tr], x[va], y[va], x[te], y[te], seed=0)
    model_c = baselines._logistic(True, y[tr], 0)
    model_c.fit(x[tr], y[tr])
    chosen = float(np.ravel(model_c[-1].C_)[0])
    assert chosen < 1.0  # a stronger penalty than the old fixed C = 1
    flipped = fit_logistic(x[tr], y[tr], x[va], y[va], x[te], 1 - y[te], seed=0)
    assert np.array_equal(flipped.test_correct, 1 - f.test_correct)


def test_scaling_check_follows_validation_cross_entropy():
    """One informative raw feature beside 50 large-variance noise columns: standardising
    blows the noise up to the signal's scale; the check picks raw features on validation."""
    rng = np.random.default_rng(1)
    n = 120
    y = rng.integers(0, 2, n)
    x = np.c_[y * 2.0 + rng.normal(scale=0.3, size=n), rng.normal(scale=1e-3, size=(n, 50))]
    x[:, 1:] += rng.normal(size=(n, 50)) * 1e-3
    tr, va, te = np.arange(0, 40), np.arange(40, 80), np.arange(80, 120)
    checked = fit_logistic(x[tr], y[tr], x[va], y[va], x[te], y[te], check_scaling=True)
    assert isinstance(checked.standardized, bool)
    unchecked = fit_logistic(x[tr], y[tr], x[va], y[va], x[te], y[te], check_scaling=False)
    assert unchecked.standardized is True


def test_the_baseline_is_picked_on_validation_rows():
    fits = {
        "a": Fitted(0.9, np.zeros(5), True),
        "b": Fitted(0.7, np.ones(5), True),  # best on test, worse on validation
        "concat": Fitted(0.9, np.zeros(5), True),
    }
    assert pick(fits) == "concat"  # a tie with a single view prefers the concatenation
    fits["a"] = Fitted(0.95, np.zeros(5), True)
    assert pick(fits) == "a"


def test_more_rows_than_the_cap_use_a_seeded_sample():
    data = two_views(n=300)
    train, val, test = parts(data)
    m = logistic_baselines(train, val, test, seed=0, max_rows=100)
    assert m[TRAIN_ROWS] == 100
    assert m == logistic_baselines(train, val, test, seed=0, max_rows=100)


def test_unlabelled_data_has_no_baselines():
    data = two_views()
    unlabelled = PairedData(dict(data.modalities))
    assert logistic_baselines(*parts(unlabelled)) == {}
    assert fit_baselines(*parts(unlabelled)) == {}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "loss"), [("attention", None), ("cca", None)])
def test_every_labelled_run_carries_baselines_of_its_own_test_rows(method, loss):
    data = two_views()
    cfg = default_config(method, loss, epochs=2, batch_size=64, seed=3)
    train, val, test = parts(data, seed=3)
    # The baselines check scaling exactly when the run does (few rows, a trained classifier).
    check = needs_standardize_check(cfg, train.n)
    result = run_experiment(data, cfg)
    assert check == (method == "attention")
    expected = logistic_baselines(train, val, test, seed=3, check_scaling=check)
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value), key
    assert result.metrics["test_rows"] == test.n
    v = Verdict.from_dict(result.verdicts["verdict"])
    assert v.test_rows == test.n and v.interval[0] <= v.difference <= v.interval[1]


@pytest.mark.slow
def test_joint_runs_are_set_against_linear_cca_for_retrieval():
    from fusion import generators

    data = generators.generate("shared_latent", n=600, seed=0)
    result = run_experiment(data, default_config("joint", "info_nce", epochs=5))
    v = Verdict.from_dict(result.verdicts["verdict"])
    assert v.against == "cca" and v.metric == "recall_at_1"
    assert result.metrics[CCA_R1] == pytest.approx(v.baseline_score)
    assert result.metrics[f"{CCA_R1}_chance"] == pytest.approx(1 / v.test_rows)
    probe = Verdict.from_dict(result.verdicts["verdict_class_structure"])
    assert probe.metric == "linear_probe_accuracy" and probe.against in ("a", "b", "concat")


@pytest.mark.slow
def test_verdicts_are_saved_in_metrics_json_and_old_runs_still_open(tmp_path):
    data = two_views()
    cfg = default_config("attention", epochs=2, batch_size=64)
    path = save_run(run_experiment(data, cfg), root=tmp_path, name="with")
    saved = json.loads((path / "metrics.json").read_text())
    assert saved[CONCAT] > 0.75 and f"{CONCAT}_chance" in saved
    assert set(saved["verdict"]) >= {"outcome", "against", "difference", "interval", "test_rows"}
    run = load_run(path)
    assert comparison(run.metrics) is not None and not run.validation_reported
    assert Verdict.from_dict(run.verdicts["verdict"]).test_rows == saved["test_rows"]
    # A run saved before test rows and verdicts: it opens, marked validation-reported.
    old = {k: v for k, v in saved.items() if not isinstance(v, dict) and k != "test_rows"}
    (path / "metrics.json").write_text(json.dumps(old))
    run = load_run(path)
    assert run.validation_reported and run.verdicts == {}
    assert comparison(run.metrics) is not None


@pytest.mark.parametrize(
    ("interval", "outcome", "phrase"),
    [
        ([0.01, 0.09], "beat", "Beat the baseline"),
        ([-0.02, 0.09], "level", "No detectable difference with 200 test rows"),
        ([-0.09, -0.01], "below", "Below the baseline"),
    ],
)
def test_verdict_sentence_says_the_interval_and_the_rows(interval, outcome, phrase):
    v = Verdict(outcome, "concat", "accuracy", 0.04, interval, 200, 0.94, 0.90, "mcnemar")
    english = verdict_sentence(v)
    assert phrase in english and "0.940" in english and "0.900" in english
    assert "200" in english and f"{interval[0] * 100:+.1f}" in english
    chinese = verdict_sentence(v, "zh")
    assert chinese != english and "0.900" in chinese and "200" in chinese


def test_baseline_metric_names_and_help_exist_in_both_languages():
    from fusion.metric_names import metric_help, metric_name

    for key in (CONCAT, f"{SINGLE}audio", CCA_R1, "attention_mask_agreement"):
        for lang in ("en", "zh"):
            assert metric_name(key, lang) != key.replace("_", " ")
            assert metric_help(key, lang)
    assert "audio" in metric_name(f"{SINGLE}audio")
    assert baselines.baseline_label("concat", "zh") != baselines.baseline_label("concat")
    assert baselines.baseline_label("cca", "zh") != baselines.baseline_label("cca")
