"""Synthetic generators: shapes, determinism, mask semantics and parameter checks."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fusion import generators as g
from fusion.data import PairedData
from fusion.errors import DataError

SMALL = {
    "shared_latent": {"n": 300},
    "gated_reliability": {"n": 300},
    "digits_two_view": {"n": 200},
    "digits_captions": {"n": 200},
}


def _accuracy(x_train, y_train, x_test, y_test) -> float:
    clf = LogisticRegression(max_iter=500).fit(x_train, y_train)
    return float((clf.predict(x_test) == y_test).mean())


@pytest.mark.parametrize("name", list(g.GENERATORS))
def test_every_generator_is_paired_data_and_records_its_params(name):
    d = g.generate(name, **SMALL[name])
    assert isinstance(d, PairedData)
    assert d.n == SMALL[name]["n"]
    assert all(v.dtype == np.float32 for v in d.modalities.values())
    assert d.labels is not None and d.labels.dtype == np.int64
    assert d.n_classes == len(d.label_names) >= 2
    assert d.source["generator"] == name
    assert set(d.source["params"]) == set(g.GENERATOR_SPECS[name].params)
    again = g.generate(d.source["generator"], **d.source["params"])
    for k in d.names:
        np.testing.assert_array_equal(d.modalities[k], again.modalities[k])


@pytest.mark.parametrize("name", list(g.GENERATORS))
def test_same_seed_same_data_other_seed_other_data(name):
    a = g.generate(name, **SMALL[name], seed=1)
    b = g.generate(name, **SMALL[name], seed=1)
    c = g.generate(name, **SMALL[name], seed=2)
    for k in a.names:
        np.testing.assert_array_equal(a.modalities[k], b.modalities[k])
    np.testing.assert_array_equal(a.labels, b.labels)
    assert any(not np.array_equal(a.modalities[k], c.modalities[k]) for k in a.names)


@pytest.mark.parametrize("name", list(g.GENERATORS))
def test_param_specs_match_signature_defaults(name):
    sig = inspect.signature(g.GENERATORS[name])
    specs = g.GENERATOR_SPECS[name].params
    assert list(specs) == list(sig.parameters)
    for param, spec in specs.items():
        default = sig.parameters[param].default
        assert g._jsonable(default) == spec.default, param
        assert spec.type in (int, float, str)
        assert spec.label == f"gen_params.{name}.{param}.label"
        assert spec.help == f"gen_params.{name}.{param}.help"
        if spec.type is str:
            assert spec.choices
        else:
            lo, hi, step = spec.slider()
            assert lo <= hi and step > 0


@pytest.mark.parametrize("name", list(g.GENERATORS))
def test_every_generator_has_its_strings_in_both_languages(name):
    from fusion import i18n

    for key in g.GENERATOR_SPECS[name].catalogue_keys():
        for lang in i18n.LANGUAGES:
            assert key in i18n.catalogue(lang), (lang, key)


def test_shared_latent_shapes_cycled_dims_and_names():
    d = g.shared_latent(n=200, n_modalities=3, dims=(5, 7), n_classes=4)
    assert d.names == ["a", "b", "c"]
    assert d.input_shapes() == {"a": (5,), "b": (7,), "c": (5,)}
    assert d.mask.shape == (200, 3) and d.mask.min() == 1.0
    assert d.label_names == ["class 0", "class 1", "class 2", "class 3"]
    assert not d.flags["mismatched"].any()
    np.testing.assert_allclose(d.modalities["a"].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(d.modalities["a"].std(axis=0), 1.0, atol=1e-4)


def test_shared_latent_is_learnable_and_noise_hurts():
    clean = g.shared_latent(n=600, noise=0.1)
    noisy = g.shared_latent(n=600, noise=(0.1, 4.0))
    tr, te = slice(0, 400), slice(400, None)
    acc_clean = _accuracy(
        clean.flat("b")[tr], clean.labels[tr], clean.flat("b")[te], clean.labels[te]
    )
    acc_noisy = _accuracy(
        noisy.flat("b")[tr], noisy.labels[tr], noisy.flat("b")[te], noisy.labels[te]
    )
    assert acc_clean > 0.8
    assert acc_noisy < acc_clean - 0.2


def test_shared_latent_corruption_and_mismatch_are_recorded():
    d = g.shared_latent(n=400, corrupt_fraction=(0.25, 0.0), mismatch_fraction=0.1)
    assert (d.mask[:, 0] == 0).sum() == 100
    assert d.mask[:, 1].min() == 1.0
    assert d.flags["mismatched"].sum() == 40
    # Changing the corruption keeps the clean rows identical (independent streams).
    base = g.shared_latent(n=400, mismatch_fraction=0.1)
    keep = d.mask[:, 0] == 1
    assert np.corrcoef(base.flat("a")[keep, 0], d.flat("a")[keep, 0])[0, 1] > 0.99


def test_gated_reliability_mask_marks_the_informative_modality():
    d = g.gated_reliability(n=1200, p_informative=(0.5, 0.5))
    assert d.names == ["a", "b"]
    np.testing.assert_array_equal(d.mask.sum(axis=1), 1.0)
    rows = np.flatnonzero(d.mask[:, 0] == 1)
    tr, te = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    y = d.labels
    acc_informative = _accuracy(d.flat("a")[tr], y[tr], d.flat("a")[te], y[te])
    acc_noise = _accuracy(d.flat("b")[tr], y[tr], d.flat("b")[te], y[te])
    assert acc_informative > 0.8  # chance is 0.25
    assert acc_noise < 0.4


def test_gated_reliability_p_informative_skews_the_mask():
    d = g.gated_reliability(n=2000, p_informative=(0.9, 0.1))
    assert 0.85 < d.mask[:, 0].mean() < 0.95


def test_digits_two_view_views_share_the_class_not_the_image():
    d = g.digits_two_view(n=150, max_angle=0.0, noise=0.0, seed=3)
    images, target = g._digits()
    assert d.input_shapes() == {"rotated": (8, 8), "noisy": (8, 8)}
    assert d.label_names == [str(i) for i in range(10)]
    flat = images.reshape(len(images), -1)
    for i in range(d.n):
        rot = np.flatnonzero((flat == d.flat("rotated")[i]).all(axis=1))
        noisy = np.flatnonzero((flat == d.flat("noisy")[i]).all(axis=1))
        assert target[rot[0]] == d.labels[i] == target[noisy[0]]
        assert not set(rot) & set(noisy)  # a different image of the same digit


def test_digits_two_view_sizes_and_value_range():
    full = g.digits_two_view()
    assert full.n == 1797
    big = g.digits_two_view(n=2000, seed=1)
    assert big.n == 2000 and len(set(big.ids)) == 2000
    for v in big.modalities.values():
        assert v.min() >= 0.0 and v.max() <= 1.0


def test_digits_captions_languages_and_features():
    d = g.digits_captions(n=300, languages=("en", "zh"))
    texts = d.texts["text"]
    assert len(texts) == 300
    has_zh = [any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts]
    assert any(has_zh) and not all(has_zh)
    assert d.input_shapes() == {"image": (8, 8), "text": (256,)}
    en = g.digits_captions(n=100, languages=["en"])
    assert not any("\u4e00" <= ch <= "\u9fff" for t in en.texts["text"] for ch in t)
    tfidf = g.digits_captions(n=100, featurizer="tfidf", n_features=64)
    assert tfidf.input_shapes()["text"] == (64,)


def test_digits_captions_text_names_the_class():
    d = g.digits_captions(n=600, seed=4)
    x, y = d.flat("text"), d.labels
    assert _accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.8


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("shared_latent", {"n": 5}, "'n' must be an integer from 10"),
        ("shared_latent", {"n_modalities": 7}, "'n_modalities' must be an integer from 2 to 6"),
        ("shared_latent", {"noise": -1.0}, "'noise'.*from 0.0 to 5.0"),
        ("shared_latent", {"noise": (0.1, 0.2, 0.3)}, "one per modality"),
        ("shared_latent", {"corrupt_fraction": 1.5}, "'corrupt_fraction'"),
        ("shared_latent", {"dims": 0}, "'dims'"),
        ("shared_latent", {"n_classes": 2.5}, "'n_classes' must be an integer"),
        ("gated_reliability", {"p_informative": (0.0, 0.0)}, "sum to 1.*sums to 0"),
        ("gated_reliability", {"p_informative": (0.3, 0.3)}, "sum to 1.*sums to 0.6"),
        ("gated_reliability", {"p_informative": (0.2, 0.3, 0.5)}, "'p_informative'"),
        ("digits_two_view", {"max_angle": 400}, "'max_angle'.*from 0.0 to 180.0"),
        ("digits_two_view", {"noise": "loud"}, "'noise'"),
        ("digits_captions", {"featurizer": "bert"}, "'hashing' or 'tfidf'"),
        ("digits_captions", {"languages": ("fr",)}, "subset of \\('en', 'zh'\\)"),
        ("digits_captions", {"languages": ()}, "non-empty"),
        ("digits_captions", {"seed": -1}, "'seed'"),
        ("shared_latent", {"colour": 1}, "unknown parameter.*colour"),
    ],
)
def test_bad_parameters_raise_data_error_naming_the_range(name, params, match):
    with pytest.raises(DataError, match=match):
        g.generate(name, **params)


def test_unknown_generator_lists_the_valid_names():
    with pytest.raises(DataError, match="choose one of: digits_captions, digits_two_view"):
        g.generate("moons")


@pytest.mark.parametrize("name", ["digits_two_view", "digits_captions"])
def test_digits_above_1797_rows_do_not_leak_sources_into_validation(name: str) -> None:
    """Rows beyond the 1,797 source images are copies; a copy must not straddle the split."""
    d = g.generate(name, n=5000, seed=0)
    assert d.groups is not None and len(np.unique(d.groups)) == 1797
    train, val = d.split(0.2, 0)
    assert not set(val.groups) & set(train.groups)  # ungrouped, 90 % of val leaked
    assert 0.15 < val.n / d.n < 0.25
    # Every class is still on both sides (groups are stratified by label).
    assert set(np.unique(val.labels)) == set(range(10)) == set(np.unique(train.labels))


def test_split_with_unique_groups_is_the_ungrouped_split() -> None:
    """Existing runs keep their split: one row per group is exactly the old behaviour."""
    from fusion.data import split_indices

    labels = np.arange(300) % 4
    plain = split_indices(300, 0.2, 3, labels)
    grouped = split_indices(300, 0.2, 3, labels, groups=np.arange(300))
    for a, b in zip(plain, grouped, strict=True):
        np.testing.assert_array_equal(a, b)


def test_split_keeps_each_group_on_one_side() -> None:
    from fusion.data import split_indices
    from fusion.errors import FusionError

    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 400)  # 40 subjects, about 10 recordings each
    labels = groups % 3
    train, val = split_indices(400, 0.25, 0, labels, groups=groups)
    assert not set(groups[train]) & set(groups[val])
    assert len(train) + len(val) == 400 and len(val) > 0
    with pytest.raises(FusionError, match="group"):
        split_indices(50, 0.2, 0, None, groups=np.zeros(50))
