"""Logistic-regression baselines beside every labelled run (issue 14 item 1): the same split
and seed as the run, chance levels, scale-proof standardisation, and the verdict sentence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusion import baselines
from fusion.baselines import CONCAT, SINGLE, TRAIN_ROWS, comparison, logistic_baselines, verdict
from fusion.data import PairedData
from fusion.experiment import default_config, run_experiment
from fusion.runs import load_run, save_run


def two_views(n=400, seed=0, scale_b=1.0):
    """Class signal split across two views: each view alone is partly informative, together
    they are separable (so concatenation beats either view)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    a = np.c_[(y % 2)[:, None] * 4.0 + rng.normal(size=(n, 1)), rng.normal(size=(n, 5))]
    b = np.c_[(y // 2)[:, None] * 4.0 + rng.normal(size=(n, 1)), rng.normal(size=(n, 7))]
    return PairedData({"a": a, "b": b * scale_b}, labels=y)


def test_baselines_have_every_key_with_chance_and_beat_chance():
    data = two_views()
    train, val = data.split(0.2, 0)
    m = logistic_baselines(train, val, seed=0)
    assert set(m) == {
        f"{SINGLE}a",
        f"{SINGLE}a_chance",
        f"{SINGLE}b",
        f"{SINGLE}b_chance",
        CONCAT,
        f"{CONCAT}_chance",
        TRAIN_ROWS,
    }
    _, counts = np.unique(val.labels, return_counts=True)
    assert m[f"{CONCAT}_chance"] == pytest.approx(counts.max() / counts.sum())
    assert m[TRAIN_ROWS] == train.n
    # Each view alone knows one bit of the two: about half; both together: most of it.
    for view in "ab":
        assert 0.35 < m[f"{SINGLE}{view}"] < 0.7
    assert m[CONCAT] > 0.75
    assert m[CONCAT] > max(m[f"{SINGLE}a"], m[f"{SINGLE}b"]) + 0.1


def test_standardised_baselines_ignore_a_modality_scale():
    plain = two_views()
    scaled = two_views(scale_b=1e4)  # same rows, b in different units
    got = [logistic_baselines(*d.split(0.2, 0), seed=0) for d in (plain, scaled)]
    assert got[0][CONCAT] == pytest.approx(got[1][CONCAT], abs=0.02)


def test_more_rows_than_the_cap_use_a_seeded_sample():
    data = two_views(n=300)
    train, val = data.split(0.2, 0)
    m = logistic_baselines(train, val, seed=0, max_rows=100)
    assert m[TRAIN_ROWS] == 100
    assert m == logistic_baselines(train, val, seed=0, max_rows=100)


def test_unlabelled_data_has_no_baselines():
    data = two_views()
    unlabelled = PairedData(dict(data.modalities))
    assert logistic_baselines(*unlabelled.split(0.2, 0)) == {}


@pytest.mark.parametrize(("method", "loss"), [("attention", None), ("cca", None)])
def test_every_labelled_run_carries_baselines_of_its_own_split(method, loss):
    data = two_views()
    cfg = default_config(method, loss, epochs=2, batch_size=64, seed=3)
    result = run_experiment(data, cfg)
    expected = logistic_baselines(*data.split(cfg.train.val_fraction, 3), seed=3)
    for key, value in expected.items():
        assert result.metrics[key] == pytest.approx(value), key


def test_baselines_are_saved_in_metrics_json_and_old_runs_still_open(tmp_path):
    data = two_views()
    cfg = default_config("attention", epochs=2, batch_size=64)
    path = save_run(run_experiment(data, cfg), root=tmp_path, name="with")
    saved = json.loads((path / "metrics.json").read_text())
    assert saved[CONCAT] > 0.75 and f"{CONCAT}_chance" in saved
    assert comparison(load_run(path).metrics) is not None
    # A run saved before baselines existed: its metrics lack every baseline key.
    old = {k: v for k, v in saved.items() if not k.startswith("baseline_")}
    (path / "metrics.json").write_text(json.dumps(old))
    run = load_run(path)
    assert comparison(run.metrics) is None and verdict(run.metrics) is None


def metrics(score, a, b, concat, key="accuracy"):
    return {
        key: score,
        f"{SINGLE}a": a,
        f"{SINGLE}a_chance": 0.25,
        f"{SINGLE}b": b,
        f"{SINGLE}b_chance": 0.25,
        CONCAT: concat,
        f"{CONCAT}_chance": 0.25,
    }


@pytest.mark.parametrize(
    ("score", "outcome", "phrase"),
    [
        (0.95, "beat", "Fusion beat every baseline"),
        (0.902, "level", "level with logistic regression on all modalities concatenated"),
        (0.85, "below", "did not beat logistic regression on all modalities concatenated"),
        (0.75, "below", "beat each modality alone (best 0.700)"),
        (0.60, "below", "Fusion did not beat the baselines: logistic regression on all"),
    ],
)
def test_verdict_says_plainly_whether_fusion_beat_the_baselines(score, outcome, phrase):
    m = metrics(score, 0.70, 0.65, 0.90)
    c = comparison(m)
    assert c.outcome == outcome and c.best_key == "concat" and c.best == 0.90
    english = verdict(m)
    assert phrase in english
    assert verdict(m, "zh") != english and "0.900" in verdict(m, "zh")


def test_a_single_modality_can_be_the_best_baseline_and_joint_runs_use_their_probe():
    m = metrics(0.80, 0.91, 0.50, 0.88, key="linear_probe_accuracy")
    c = comparison(m)
    assert c.score_key == "linear_probe_accuracy" and c.best_key == "a" and c.best == 0.91
    assert "a alone" in verdict(m) and "linear probe" in verdict(m)


def test_baseline_metric_names_and_help_exist_in_both_languages():
    from fusion.metric_names import metric_help, metric_name

    for key in (CONCAT, f"{SINGLE}audio"):
        for lang in ("en", "zh"):
            assert metric_name(key, lang) != key.replace("_", " ")
            assert "scikit-learn" in metric_help(key, lang).lower()
    assert "audio" in metric_name(f"{SINGLE}audio")
    assert baselines.baseline_label("concat", "zh") != baselines.baseline_label("concat")
