"""Metrics on hand-made and seeded random embeddings."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from fusion.errors import DataError
from fusion.metric_names import METRIC_INFO, metric_info
from fusion.metrics import (
    alignment,
    attention_mask_agreement,
    canonical_correlations,
    class_retrieval_precision,
    classification,
    joint_metrics,
    linear_probe_accuracy,
    mean_canonical_correlation,
    modality_gap,
    retrieval,
    spread,
    uniformity,
)


def _randn(*shape: int, seed: int = 0) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).numpy()


def _unit(z: np.ndarray) -> np.ndarray:
    return z / np.linalg.norm(z, axis=1, keepdims=True)


# -- retrieval ------------------------------------------------------------------------------


def test_retrieval_identical_embeddings_is_perfect():
    z = _randn(50, 8)
    out = retrieval(z, z, "img", "txt")
    for k in (1, 5, 10):
        assert out[f"recall_at_{k}_img_to_txt"] == 1.0
        assert out[f"recall_at_{k}_txt_to_img"] == 1.0
        assert out[f"recall_at_{k}_img_to_txt_chance"] == k / 50
    assert out["median_rank_img_to_txt"] == 1.0
    assert out["median_rank_txt_to_img"] == 1.0
    assert out["median_rank_img_to_txt_chance"] == 25.5


def test_retrieval_random_embeddings_are_near_chance():
    n = 2000
    out = retrieval(_randn(n, 16, seed=1), _randn(n, 16, seed=2))
    for k in (1, 5, 10):
        assert out[f"recall_at_{k}_a_to_b"] == pytest.approx(k / n, abs=4 * np.sqrt(k / n / n))
    assert out["median_rank_a_to_b"] == pytest.approx((n + 1) / 2, rel=0.1)
    assert out["median_rank_b_to_a"] == pytest.approx((n + 1) / 2, rel=0.1)


def test_retrieval_rank_definition_on_hand_made_example():
    # Cosine similarities s_ij = a_i . b_j (all unit vectors):
    #   query a0 -> b: [0.0, 1.0, 0.6]  two items above b0  -> rank 2
    #   query a1 -> b: [1.0, 0.0, 0.8]  two items above b1  -> rank 2
    #   query a2 -> b: [0.0, 1.0, 0.6]  one item above b2   -> rank 1
    za = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    zb = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6]])
    out = retrieval(za, zb, ks=(1, 2, 3))
    assert out["recall_at_1_a_to_b"] == 0.0
    assert out["recall_at_2_a_to_b"] == pytest.approx(1 / 3)
    assert out["recall_at_3_a_to_b"] == 1.0
    assert out["median_rank_a_to_b"] == 3.0  # ranks [2, 2, 1]: floor(2) + 1
    # Reverse: query b0 -> a: [0, 1, 0]  one above (a2 ties b0's score: not "strictly
    # higher") -> rank 1; b1 -> a: [1, 0, 1] -> rank 2; b2 -> a: [0.6, 0.8, 0.6] -> rank 1.
    assert out["recall_at_1_b_to_a"] == 0.0
    assert out["recall_at_2_b_to_a"] == pytest.approx(2 / 3)
    assert out["median_rank_b_to_a"] == 2.0
    # Random tie-breaking: b0 and b2 each have one tie, expected rank 1.5 -> R@2 = 1/2.
    fair = retrieval(za, zb, ks=(2,), ties="random")
    assert fair["recall_at_2_b_to_a"] == pytest.approx((0.5 + 0 + 0.5) / 3)


def test_retrieval_ties_modes_on_collapsed_embeddings():
    z = np.ones((40, 4))
    assert retrieval(z, z)["recall_at_1_a_to_b"] == 1.0  # optimistic: ties favour the truth
    fair = retrieval(z, z, ties="random")
    assert fair["recall_at_1_a_to_b"] == pytest.approx(1 / 40)
    assert fair["recall_at_10_a_to_b"] == pytest.approx(10 / 40)
    assert fair["median_rank_a_to_b"] == pytest.approx(np.floor(39 / 2) + 1)


def test_retrieval_blocks_give_the_same_answer(monkeypatch):
    za, zb = _randn(300, 6, seed=3), _randn(300, 6, seed=4)
    whole = retrieval(za, zb)
    monkeypatch.setattr("fusion.metrics._BLOCK_ENTRIES", 7 * 300)
    assert retrieval(za, zb) == whole


def test_retrieval_rejects_unpaired_rows_and_different_dimensions():
    with pytest.raises(DataError, match="same number of rows"):
        retrieval(_randn(5, 2), _randn(6, 2))
    with pytest.raises(DataError, match="dimension"):
        retrieval(_randn(5, 2), _randn(5, 3))


# -- class precision ----------------------------------------------------------------------


def test_class_retrieval_precision_perfect_and_chance():
    labels = np.repeat(np.arange(4), 25)
    centres = _randn(4, 8, seed=5) * 10
    za = centres[labels] + _randn(100, 8, seed=6)
    zb = centres[labels] + _randn(100, 8, seed=7)
    out = class_retrieval_precision(za, zb, labels, k=10, a="x", b="y")
    assert out["class_precision_at_10_x_to_y"] == 1.0
    assert out["class_precision_at_10_y_to_x"] == 1.0
    assert out["class_precision_at_10_x_to_y_chance"] == pytest.approx(0.25)
    shuffled = class_retrieval_precision(_randn(100, 8, seed=8), zb, labels, k=10)
    assert shuffled["class_precision_at_10_a_to_b"] == pytest.approx(0.25, abs=0.1)


# -- geometry -------------------------------------------------------------------------------


def test_alignment_and_uniformity():
    z = _randn(200, 3, seed=9)
    assert alignment(z, 3 * z)["alignment"] == pytest.approx(0.0, abs=1e-12)
    opposite = alignment(z, -z, alpha=2)["alignment"]
    assert opposite == pytest.approx(4.0)  # ||u - (-u)||^2 = 4 on the unit sphere
    collapsed = np.tile([[1.0, 2.0, 3.0]], (200, 1))
    assert uniformity(collapsed)["uniformity"] == pytest.approx(0.0, abs=1e-12)
    spread_out = uniformity(z)["uniformity"]
    assert spread_out < -1.0
    # Reference on a tiny input: log mean over pairs of exp(-t d^2).
    small = _unit(z[:5])
    pairs = [np.sum((small[i] - small[j]) ** 2) for i in range(5) for j in range(i + 1, 5)]
    expected = np.log(np.mean(np.exp(-2 * np.array(pairs))))
    assert uniformity(z[:5])["uniformity"] == pytest.approx(expected)


def test_modality_gap_of_shifted_copy():
    za = _unit(_randn(300, 5, seed=10))
    shift = np.array([0.0, 0.0, 0.0, 0.0, 2.0])
    zb = za + shift
    expected = np.linalg.norm(
        np.mean([row / np.linalg.norm(row) for row in za], axis=0)
        - np.mean([row / np.linalg.norm(row) for row in zb], axis=0)
    )
    assert modality_gap(za, zb)["modality_gap"] == pytest.approx(expected)
    assert modality_gap(za, za)["modality_gap"] == pytest.approx(0.0, abs=1e-12)
    # Two modalities on opposite poles: centroids at e1 and -e1.
    e1 = np.tile([[1.0, 0.0]], (10, 1))
    assert modality_gap(e1, -e1)["modality_gap"] == pytest.approx(2.0)


def test_spread():
    z = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    assert spread(z)["spread"] == pytest.approx(np.std([0.0, 2.0, 4.0]) / 2)
    assert spread(np.ones((10, 3)))["spread"] == 0.0


# -- probes and CCA -------------------------------------------------------------------------


def test_linear_probe_on_separable_data():
    labels = np.repeat(np.arange(3), 60)
    centres = np.eye(3, 6) * 8
    z = centres[labels] + _randn(180, 6, seed=11)
    train, val = np.arange(180) % 3 != 0, np.arange(180) % 3 == 0
    out = linear_probe_accuracy(z[train], labels[train], z[val], labels[val])
    assert out["linear_probe_accuracy"] >= 0.98
    assert out["linear_probe_accuracy_chance"] == pytest.approx(1 / 3)
    assert out["linear_probe_accuracy_uniform_chance"] == pytest.approx(1 / 3)


def test_linear_probe_chance_is_the_majority_class():
    y_val = np.array([0, 0, 0, 1])
    out = linear_probe_accuracy(_randn(8, 2), np.array([0, 1] * 4), _randn(4, 2), y_val)
    assert out["linear_probe_accuracy_chance"] == 0.75
    assert out["linear_probe_accuracy_uniform_chance"] == 0.5


def test_canonical_correlations_match_unregularised_cca():
    shared = _randn(500, 2, seed=12)
    za = shared @ _randn(2, 3, seed=13) + 0.3 * _randn(500, 3, seed=14)
    zb = shared @ _randn(2, 4, seed=15) + 0.3 * _randn(500, 4, seed=16)
    qa, _ = np.linalg.qr(za - za.mean(0))
    qb, _ = np.linalg.qr(zb - zb.mean(0))
    expected = np.linalg.svd(qa.T @ qb, compute_uv=False)
    rho = canonical_correlations(za, zb)
    assert rho.shape == (3,)
    np.testing.assert_allclose(rho, expected, atol=2e-3)
    assert canonical_correlations(za, zb, k=1).shape == (1,)
    mean = mean_canonical_correlation(za, zb)["mean_canonical_correlation"]
    assert mean == pytest.approx(expected.mean(), abs=2e-3)


def test_canonical_correlations_match_dcca():
    from fusion.losses import dcca

    za, zb = _randn(64, 4, seed=17), _randn(64, 3, seed=18) + 0.5 * _randn(64, 3, seed=17)
    corr = dcca(torch.from_numpy(za), torch.from_numpy(zb))["corr"].item()
    assert corr == pytest.approx(canonical_correlations(za, zb).sum(), rel=1e-6)


def test_mean_canonical_correlation_reports_its_shuffled_chance():
    """In-sample CCA finds correlation in independent data; the chance level shows how much."""
    za, zb = _randn(400, 16, seed=30), _randn(400, 16, seed=31)
    out = mean_canonical_correlation(za, zb)
    assert 0.1 < out["mean_canonical_correlation"] < 0.25  # spurious, about 0.17
    assert out["mean_canonical_correlation_chance"] == pytest.approx(
        out["mean_canonical_correlation"], abs=0.03
    )
    shared = _randn(400, 16, seed=32)
    paired = mean_canonical_correlation(shared + 0.3 * za, shared + 0.3 * zb)
    assert paired["mean_canonical_correlation"] > paired["mean_canonical_correlation_chance"] + 0.5


# -- attention fusion ---------------------------------------------------------------------


def test_classification_and_chance():
    y_true = np.array([0, 0, 0, 1, 2, 0])
    y_pred = np.array([0, 0, 1, 1, 2, 0])
    out = classification(y_true, y_pred, n_classes=3)
    assert out["accuracy"] == pytest.approx(5 / 6)
    assert out["accuracy_chance"] == pytest.approx(4 / 6)
    assert out["accuracy_uniform_chance"] == pytest.approx(1 / 3)
    # Always predicting 0: F1 of class 0 = 2 * (4/6 * 1) / (4/6 + 1) = 0.8, others 0.
    assert out["macro_f1_chance"] == pytest.approx(0.8 / 3)
    assert 0.0 < out["macro_f1"] <= 1.0


def test_attention_mask_agreement_perfect_case():
    mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=float)
    weights = 0.1 + 0.7 * mask
    weights[3] = [0.9, 0.05, 0.05]  # all-reliable row: excluded, so it cannot spoil the score
    out = attention_mask_agreement(weights, mask)
    assert out["attention_mask_spearman"] == pytest.approx(1.0)
    assert out["attention_mask_spearman_chance"] == 0.0
    assert out["attention_on_informative"] == pytest.approx(0.8)
    # Chance keeps the model's own mean weights: sum_m mean(w_m) mean(mask_m) over the
    # mixed rows 0, 1, 2, 4 = 0.275 * 0.25 + 0.45 * 0.5 + 0.275 * 0.25.
    assert out["attention_on_informative_chance"] == pytest.approx(0.3625)
    # Still ordered but not two-valued: rank correlation with a binary mask drops below 1.
    weights[4] = [0.15, 0.7, 0.15]
    assert 0.8 < attention_mask_agreement(weights, mask)["attention_mask_spearman"] < 1.0


def test_attention_mask_agreement_uniform_attention_is_chance():
    mask = np.eye(3)[[0, 1, 2, 0]]
    out = attention_mask_agreement(np.full((4, 3), 1 / 3), mask)
    assert out["attention_mask_spearman"] == 0.0
    assert out["attention_on_informative"] == pytest.approx(out["attention_on_informative_chance"])
    nothing = attention_mask_agreement(np.full((2, 3), 1 / 3), np.ones((2, 3)))
    assert np.isnan(nothing["attention_mask_spearman"])


def test_attention_mask_agreement_is_not_fooled_by_base_rates():
    """A model that always prefers the modality informative more often looks at no sample."""
    rng = np.random.default_rng(0)
    b_works = rng.random(2000) < 0.8  # P(b informative) = 0.8; exactly one works per row
    mask = np.stack([~b_works, b_works], axis=1).astype(float)
    constant = np.tile([0.1, 0.9], (2000, 1))
    out = attention_mask_agreement(constant, mask)
    assert out["attention_mask_spearman"] == 0.0  # pooled over cells this was 0.51-0.62
    assert out["attention_on_informative"] == pytest.approx(0.74, abs=0.02)
    assert out["attention_on_informative"] == pytest.approx(out["attention_on_informative_chance"])
    # Per-sample attention that follows the mask scores high on both.
    following = 0.05 + 0.9 * mask
    good = attention_mask_agreement(following, mask)
    assert good["attention_mask_spearman"] == pytest.approx(1.0)
    assert good["attention_on_informative"] > good["attention_on_informative_chance"] + 0.2


# -- joint_metrics and descriptions ---------------------------------------------------------


def test_joint_metrics_keys_and_speed():
    n = 2000
    labels = np.arange(n) % 5
    shared = _randn(n, 8, seed=20)
    emb = {
        "img": shared + 0.1 * _randn(n, 8, seed=21),
        "txt": shared + 0.1 * _randn(n, 8, seed=22),
        "audio": _randn(n, 8, seed=23),
    }
    # scipy is imported on first use (fusion.metrics keeps it off the web server's first
    # page): a small call first, so the timing is of the metrics alone.
    joint_metrics({"img": emb["img"][:20], "txt": emb["txt"][:20]}, labels=labels[:20])
    start = time.perf_counter()
    joint_metrics({"img": emb["img"], "txt": emb["txt"]}, labels=labels)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"joint_metrics took {elapsed:.2f}s for one pair at N={n}"
    out = joint_metrics(emb, labels=labels)
    for key in (
        "recall_at_1_img_to_txt",
        "recall_at_5_audio_to_txt",
        "median_rank_txt_to_img",
        "class_precision_at_10_img_to_audio",
        "alignment_img_txt",
        "modality_gap_img_audio",
        "mean_canonical_correlation_txt_audio",
        "uniformity_audio",
        "spread_img",
        "recall_at_1_mean",
        "recall_at_1_mean_chance",
        "spread",
        "modality_gap",
    ):
        assert key in out, key
    assert all(isinstance(v, float) for v in out.values())
    assert out["recall_at_1_img_to_txt"] > 0.5
    assert out["recall_at_1_img_to_audio"] < 0.01
    assert out["recall_at_1_mean_chance"] == 1 / n
    assert out["modality_gap"] == pytest.approx(
        np.mean([out[f"modality_gap_{p}"] for p in ("img_txt", "img_audio", "txt_audio")])
    )


def test_joint_metrics_linear_probe():
    labels = np.repeat(np.arange(2), 40)
    emb = {"a": np.eye(2, 3)[labels] * 5 + _randn(80, 3, seed=24), "b": _randn(80, 3, seed=25)}
    out = joint_metrics(emb, labels=labels, train_embeddings=emb, train_labels=labels)
    assert out["linear_probe_accuracy_a"] > 0.95
    assert out["linear_probe_accuracy_b_chance"] == 0.5
    assert "linear_probe_accuracy" in out


def test_every_metric_key_has_a_description():
    emb = {"img": _randn(30, 3, seed=26), "txt_feat": _randn(30, 3, seed=27)}
    labels = np.arange(30) % 3
    keys = set(joint_metrics(emb, labels, emb, labels))
    keys |= set(classification(labels, labels, 3))
    keys |= set(attention_mask_agreement(np.eye(3)[labels], np.eye(3)[labels]))
    for key in keys:
        assert metric_info(key) is not None, key
    assert metric_info("spread") is METRIC_INFO["spread"]
    assert metric_info("spread_txt_feat") is METRIC_INFO["spread_{m}"]
    assert metric_info("recall_at_5_img_to_txt_feat") is METRIC_INFO["recall_at_{k}_{a}_to_{b}"]
    for info in METRIC_INFO.values():
        assert {"title", "higher_is_better", "source", "url", "formula_latex", "help"} <= set(info)
        assert info["url"].startswith("https://")


@pytest.mark.parametrize("broken", [0.5, 0.7, 0.9])
def test_agreement_of_a_perfect_gate_is_one_at_any_base_rate(broken):
    """Sensor b broken in 50, 70 or 90 % of the samples: a gate that weights every working
    sample above every broken one scores 1 (a correlation's ceiling fell to 0.52 at 90 %);
    attention that ignores reliability scores 0 within its permutation band."""
    from fusion.metrics import attention_rank_biserial

    rng = np.random.default_rng(0)
    n = 1000
    b_works = (rng.random(n) > broken).astype(float)
    mask = np.c_[np.ones(n), b_works]
    w_b = 0.2 + 0.6 * b_works + 0.1 * rng.random(n)  # every working sample above every broken
    gate = attention_rank_biserial(np.c_[1 - w_b, w_b], mask)
    assert gate["attention_mask_agreement"] == pytest.approx(1.0)
    assert gate["attention_mask_agreement_chance"] == 0.0
    blind = attention_rank_biserial(rng.dirichlet([1, 1], n), mask)
    low, high = (
        blind["attention_mask_agreement_null_low"],
        blind["attention_mask_agreement_null_high"],
    )
    assert low < 0 < high and high - low < 0.3
    assert abs(blind["attention_mask_agreement"]) < 0.15
    inverted = attention_rank_biserial(np.c_[w_b, 1 - w_b], mask)
    assert inverted["attention_mask_agreement"] == pytest.approx(-1.0)


def test_recall_hits_average_both_directions_and_match_retrieval():
    from fusion.metrics import recall_hits, retrieval

    za, zb = _randn(300, 8, seed=1), _randn(300, 8, seed=2)
    zb = za + 0.8 * zb
    hits = recall_hits(za, zb)
    r = retrieval(za, zb, ties="random", ks=(1,))
    assert hits.mean() == pytest.approx((r["recall_at_1_a_to_b"] + r["recall_at_1_b_to_a"]) / 2)
    assert set(np.unique(hits)) <= {0.0, 0.5, 1.0}
