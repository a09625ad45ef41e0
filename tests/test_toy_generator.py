"""A generator is one function, one ``register_generator`` call and its catalogue strings: a toy
one defined here appears in the registry, the Data page and the command line, its params are
checked by their declarations, and the data it makes trains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fusion import generators, i18n
from fusion.data import PairedData
from fusion.errors import DataError
from fusion.params import Interval, Param
from tests.apptest_helpers import open_page
from views.site import DATA

TOY = "toy_blobs"
TOY_STRINGS = {
    "data.generator_info.toy_blobs.title": ("Toy blobs", "玩具团簇"),
    "data.generator_info.toy_blobs.body": (
        "Two views of labelled blobs.",
        "带标签团簇的两个视图。",
    ),
    "gen_params.toy_blobs.n.label": ("Rows", "行数"),
    "gen_params.toy_blobs.n.help": ("Number of pairs.", "样本对的数量。"),
    "gen_params.toy_blobs.spread.label": ("Spread", "离散度"),
    "gen_params.toy_blobs.spread.help": ("Noise around each centre.", "每个中心周围的噪声。"),
    "gen_params.toy_blobs.seed.label": ("Seed", "随机种子"),
    "gen_params.toy_blobs.seed.help": ("Same seed, same data.", "相同的种子给出相同的数据。"),
}


def toy_blobs(n: int = 80, spread: float = 0.5, seed: int = 0) -> PairedData:
    """Three labelled blobs seen twice, each view through its own random map."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = rng.normal(0.0, 3.0, size=(3, 4))
    z = centres[labels] + rng.normal(0.0, spread, size=(n, 4))
    return PairedData(
        modalities={"a": z @ rng.normal(size=(4, 6)), "b": z @ rng.normal(size=(4, 5))},
        labels=labels,
        label_names=["x", "y", "z"],
        source={"generator": TOY, "params": {"n": n, "spread": spread, "seed": seed}},
    )


@pytest.fixture
def toy_generator(monkeypatch):
    """Register the toy generator and its strings in both catalogues, then take them away."""
    for key, (en, zh) in TOY_STRINGS.items():
        monkeypatch.setitem(i18n.catalogue("en"), key, en)
        monkeypatch.setitem(i18n.catalogue("zh"), key, zh)
    generators.register_generator(
        n=Param(kind=int, bounds=Interval(30, 500), step=10),
        spread=Param(kind=float, bounds=Interval(0.0, 2.0), step=0.1),
        seed=Param(kind=int, bounds=Interval(0, 2**31 - 1)),
    )(toy_blobs)
    yield generators.GENERATOR_SPECS[TOY]
    generators.unregister_generator(TOY)


@pytest.mark.slow
def test_a_registered_generator_appears_everywhere(toy_generator, tmp_path, runs_dir, capsys):
    # The registry holds it, its defaults read from its signature, its strings in both languages.
    assert generators.GENERATORS[TOY] is toy_blobs
    assert {k: p.default for k, p in toy_generator.params.items()} == {
        "n": 80,
        "spread": 0.5,
        "seed": 0,
    }
    for key in toy_generator.catalogue_keys():
        assert key in i18n.catalogue("en") and key in i18n.catalogue("zh"), key
    # Its params are checked by their declarations, with the generators' message.
    assert generators.generate(TOY, n=40, spread=1).n == 40
    with pytest.raises(DataError, match=r"toy_blobs: parameter 'spread' must be a number from 0"):
        generators.generate(TOY, spread=5.0)
    with pytest.raises(DataError, match="'n' must be an integer"):
        generators.generate(TOY, n=12.5)
    # The command line lists it, generates with it (--set typed by the declarations) and
    # trains on it.
    from fusion.cli import build_parser, main

    assert TOY in build_parser()._subparsers._group_actions[0].choices["generate"].format_help()
    table = tmp_path / "toy.csv"
    assert main(["generate", TOY, "--set", "n=60", "--set", "spread=0.2", "--out", str(table)]) == 0
    assert len(pd.read_csv(table)) == 60
    capsys.readouterr()
    assert main(["generate", TOY, "--set", "spread=9", "--out", str(table)]) == 2
    assert "spread" in capsys.readouterr().err
    out = tmp_path / "runs" / "toy"
    args = ["train", "--data", TOY, "--param", "n=90", "--epochs", "2", "--out", str(out)]
    assert main([*args, "--set", "train.patience=1"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["patience"] == 1 and saved["data"]["generator"] == TOY
    # The Data page offers it.
    at = open_page(DATA)
    assert "Toy blobs" in at.selectbox(key="gen_name").options
