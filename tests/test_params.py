"""The parameter spec (fusion.params): intervals, one validator with the catalogue's messages,
and what derives from the declarations (form bounds and help, link values, settable paths)."""

from __future__ import annotations

import numpy as np
import pytest

from fusion import form
from fusion.config import (
    AttentionConfig,
    EncoderConfig,
    TrainConfig,
    param_at,
    settable_paths,
)
from fusion.errors import ConfigError, DataError
from fusion.params import Interval, Param, declared, parse_value


def test_intervals_open_and_closed():
    assert 0 in Interval(0, 1) and 1 in Interval(0, 1)
    assert 0 not in Interval(0, None, closed="neither") and 1e-9 in Interval(0, None, "neither")
    assert 1.0 not in Interval(0.0, 1.0, closed="left") and np.float32(0.5) in Interval(0, 1)
    assert float("nan") not in Interval() and True not in Interval() and "1" not in Interval()
    assert Interval(0, None).text() == ">= 0" and Interval(0, 1, "left").text() == "in [0, 1)"


def test_one_validator_words_refusals_with_the_catalogue():
    p = Param(3, bounds=Interval(1, None), name="k")
    assert p.check(2.0) == 2 and isinstance(p.check(np.int64(4)), int)
    with pytest.raises(ConfigError, match=r"k must be an integer >= 1, got 0"):
        p.check(0)
    with pytest.raises(ConfigError, match="integer"):
        p.check(1.5)
    choice = Param("a", choices=("a", "b"), name="pick")
    with pytest.raises(DataError, match="pick must be one of"):
        choice.check("c", DataError)
    zh = pytest.raises(ConfigError, p.check, True).value.localized("zh")
    assert "整数" in zh


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (TrainConfig(epochs=0), "Epochs must be at least 1, got 0"),
        (TrainConfig(lr=-1.0), "learning rate must be a positive number"),
        (TrainConfig(optimizer="rmsprop"), "Unknown optimiser 'rmsprop'"),
        (TrainConfig(patience=-2), "patience must be 0 (off)"),
        (TrainConfig(cv_folds=1), "at least 2 folds (got 1)"),
        (TrainConfig(test_fraction=0.9), "with the validation fraction (0.2), below 1"),
        (EncoderConfig(dropout=1.0), "Dropout must be in [0, 1), got 1.0"),
        (AttentionConfig(dim=32, heads=3), "32 is not divisible by 3"),
    ],
)
def test_configs_refuse_with_the_messages_users_know(config, words):
    with pytest.raises(ConfigError) as info:
        config.validate()
    assert words in str(info.value)


def test_defaults_and_types_come_from_the_dataclass():
    train = declared(TrainConfig)
    assert train["patience"].default == 10 and train["patience"].type is int
    assert train["threads"].nullable and train["lr"].type is float


def test_the_form_derives_bounds_and_help_from_the_spec():
    fields = {f.path: f for f in form.form_fields("joint", "triplet")}
    assert fields["train.epochs"].bounds == (1, 200, 1)
    assert fields["train.patience"].help == param_at("train.patience").help == "train.patience_help"
    assert fields["loss_params.margin"].bounds == (0.05, 1.0, 0.05)
    assert fields["loss_params.margin"].default == 0.2


def test_paths_and_text_values():
    assert param_at("model.encoder.depth", "attention").name == "depth"
    assert param_at("loss_params.mining", "joint", "triplet").choices
    assert param_at("model.encoder.depth", "cca") is None and param_at("train.nope") is None
    assert "train.standardize" in settable_paths("joint") and "model.heads" in settable_paths(
        "attention"
    )
    assert parse_value(param_at("train.standardize"), "false") is False
    assert parse_value(param_at("train.lr"), "1") == 1.0
    assert parse_value(param_at("train.threads"), "null") is None
    with pytest.raises(ConfigError, match="train.patience must be an integer"):
        parse_value(param_at("train.patience"), "five", "train.patience")
