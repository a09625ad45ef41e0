"""The paired verdict: exact McNemar intervals for right/wrong outcomes, a seeded bootstrap
otherwise, "beat" only above 0; three roles for rows; cross-validation for small data; and,
on data where nothing predicts the label, reported accuracy at chance and "beat" no more
often than the interval's error rate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from fusion.data import PairedData, cross_validation_roles, plan_roles, split_roles
from fusion.experiment import default_config, run_experiment
from fusion.verdicts import (
    Verdict,
    bootstrap_interval,
    compare,
    decide,
    mcnemar_interval,
    paired_difference,
)


def outcomes(n10, n01, same_right, same_wrong):
    run = np.r_[np.ones(n10), np.zeros(n01), np.ones(same_right), np.zeros(same_wrong)]
    base = np.r_[np.zeros(n10), np.ones(n01), np.ones(same_right), np.zeros(same_wrong)]
    return run, base


@pytest.mark.slow
@pytest.mark.parametrize(("n10", "n01"), [(4, 0), (9, 1), (12, 3), (30, 18), (5, 5), (0, 6)])
def test_mcnemar_interval_excludes_zero_exactly_when_the_exact_test_rejects(n10, n01):
    run, base = outcomes(n10, n01, 50, 20)
    low, high = mcnemar_interval(run, base)
    assert low <= (n10 - n01) / len(run) <= high
    p = binomtest(n10, n10 + n01, 0.5).pvalue
    assert (low > 0 or high < 0) == (p < 0.05)


def test_equal_outcomes_give_a_zero_interval_and_level():
    run = np.array([1.0, 0.0, 1.0, 1.0])
    diff, interval, method = paired_difference(run, run.copy())
    assert diff == 0 and interval == [0.0, 0.0] and method == "mcnemar"
    assert decide(interval) == "level"


def test_fractional_outcomes_use_a_seeded_bootstrap():
    rng = np.random.default_rng(0)
    run, base = rng.random(300) * 0.5 + 0.3, rng.random(300) * 0.5
    diff, interval, method = paired_difference(run, base, seed=1)
    assert method == "bootstrap" and interval[0] < diff < interval[1] and interval[0] > 0
    assert interval == bootstrap_interval(run, base, seed=1)  # same seed, same interval
    assert decide(interval) == "beat" and decide([-interval[1], -interval[0]]) == "below"


def test_a_handful_of_wins_is_not_a_win():
    """Three rows where the run is right and the baseline wrong, none the other way, among
    twenty: a bootstrap would call it a win; the exact interval does not."""
    v = compare(*outcomes(3, 0, 10, 7), against="concat", metric="accuracy")
    assert v.outcome == "level" and v.test_rows == 20 and v.method == "mcnemar"
    assert Verdict.from_dict(v.to_dict()) == v
    assert Verdict.from_dict({"outcome": "won"}) is None and Verdict.from_dict(None) is None


def labelled(n, seed=0, classes=4, groups=None):
    rng = np.random.default_rng(seed)
    return PairedData(
        {"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 2))},
        labels=np.arange(n) % classes,
        groups=groups,
    )


def test_three_roles_are_disjoint_cover_every_row_and_are_stratified():
    data = labelled(500)
    r = split_roles(data.n, 0.2, 0.2, 0, data.labels)
    rows = np.concatenate([r.train, r.val, r.test])
    assert len(rows) == 500 and len(np.unique(rows)) == 500
    assert len(r.test) == 100 and len(r.val) == 100
    for part in (r.val, r.test):
        assert np.bincount(data.labels[part]).tolist() == [25, 25, 25, 25]
    again = split_roles(data.n, 0.2, 0.2, 0, data.labels)
    assert np.array_equal(r.test, again.test) and np.array_equal(r.val, again.val)


def test_roles_keep_groups_whole():
    groups = np.repeat(np.arange(100), 5)
    r = split_roles(500, 0.2, 0.2, 0, np.arange(500) % 4, groups)
    sides = [set(groups[p]) for p in (r.train, r.val, r.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])


def test_small_data_is_cross_validated_and_every_row_is_tested_once():
    from fusion.config import TrainConfig

    data = labelled(80)
    plan = plan_roles(data, TrainConfig())
    assert len(plan) == 5
    tested = np.concatenate([r.test for r in plan])
    assert sorted(tested.tolist()) == list(range(80))
    for r in plan:
        assert not set(r.test) & set(r.train) and not set(r.test) & set(r.val)
        assert not set(r.val) & set(r.train)
    big = plan_roles(labelled(500), TrainConfig())
    assert len(big) == 1 and len(big[0].test) == 100


def test_cross_validation_keeps_groups_whole():
    groups = np.repeat(np.arange(20), 4)
    for r in cross_validation_roles(80, 5, 0.2, 0, np.arange(80) % 2, groups):
        assert not set(groups[r.test]) & set(groups[np.r_[r.train, r.val]])


def test_the_batch_adapts_to_small_data_and_validate_counts_the_real_split():
    """The default batch (128) is larger than 25 real training rows: the run adapts it
    instead of refusing the data."""
    data = labelled(200)
    cfg = default_config("attention", epochs=1)
    cfg.validate(data)  # the real split: no refusal
    result = run_experiment(data, cfg)
    assert result.config.train.batch_size <= 120
    assert result.metrics["test_rows"] == 40


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_on_noise_accuracy_sits_at_chance_and_beat_is_rare():
    """Two views of pure noise, 80 rows, 4 classes, 20 seeded data sets, the defaults:
    nothing predicts the label, so the reported (cross-validated) accuracy must average
    chance (0.25) within noise, and "beat" may be said only about as often as a 95 %
    interval errs on the upper side (2.5 %): at most 2 of 20 (P(>= 3) < 0.02 at 2.5 %)."""
    accs, beats = [], 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        data = PairedData(
            {"a": rng.normal(size=(80, 8)), "b": rng.normal(size=(80, 8))},
            labels=rng.permutation(np.arange(80) % 4),
        )
        result = run_experiment(data, default_config("attention", epochs=15, seed=seed))
        assert result.metrics["test_rows"] == 80 and result.metrics["cv_folds"] == 5
        accs.append(result.metrics["accuracy"])
        beats += result.verdicts["verdict"]["outcome"] == "beat"
    # 20 x 80 rows at p = 0.25: the mean's standard error is about 0.011.
    assert abs(np.mean(accs) - 0.25) < 0.04, accs
    assert beats <= 2
