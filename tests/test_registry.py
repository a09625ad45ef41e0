"""The registry: one entry per loss and method, from which the CLI, the Train form, the Learn
page and the catalogue check all derive; and configs that import without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from fusion import form, i18n, registry
from fusion.params import Interval, Param
from fusion.registry import Field, LossSpec
from tests.apptest_helpers import open_page
from views.site import LEARN, TRAIN

TOY = "toy_cosine"
TOY_STRINGS = {
    "common.loss_labels.toy_cosine": ("Toy cosine", "玩具余弦"),
    "info.loss.toy_cosine.title": ("Toy cosine alignment", "玩具余弦对齐"),
    "info.loss.toy_cosine.source": ("This test", "本测试"),
    "learn.loss_symbols.toy_cosine.0": ("cosine similarity of a pair", "一对样本的余弦相似度"),
    "train.toy_scale": ("Toy scale", "玩具尺度"),
}


def toy_cosine(za: torch.Tensor, zb: torch.Tensor, scale: float = 1.0) -> dict[str, torch.Tensor]:
    """A toy loss for the registry test: pull pairs together by cosine (it collapses)."""
    cos = torch.nn.functional.cosine_similarity(za, zb, dim=1)
    loss = scale * (1 - cos).mean()
    return {"loss": loss, "misalignment": loss.detach()}


@pytest.fixture
def toy_loss(monkeypatch):
    """Register the toy loss and its strings in both catalogues, then take them away."""
    for key, (en, zh) in TOY_STRINGS.items():
        monkeypatch.setitem(i18n.catalogue("en"), key, en)
        monkeypatch.setitem(i18n.catalogue("zh"), key, zh)
    monkeypatch.setattr(sys.modules[__name__], "toy_cosine", toy_cosine, raising=False)
    spec = registry.register_loss(
        LossSpec(
            TOY,
            f"{__name__}:toy_cosine",
            "joint",
            formula_latex=r"\mathcal{L}_{toy} = 1 - \cos(a_i, b_i)",
            url="https://example.org/toy",
            symbols=(r"\cos",),
            params={"scale": Param(1.0, bounds=Interval(0.0, None))},
            normalize=True,
            fields=(
                Field(
                    "loss_params.scale",
                    "select_slider",
                    "train.toy_scale",
                    options=(0.5, 1.0, 2.0),
                    default=1.0,
                ),
            ),
        )
    )
    yield spec
    registry.unregister_loss(TOY)


@pytest.mark.slow
def test_a_registered_loss_appears_everywhere(toy_loss, tmp_path, runs_dir, small_latent):
    # The catalogue check: every key the entry needs, in both languages.
    for key in form.catalogue_keys("loss", TOY):
        assert key in i18n.catalogue("en") and key in i18n.catalogue("zh"), key
    # The command line offers it and trains with it.
    from fusion.cli import build_parser, main

    assert build_parser().parse_args(["train", "--data", "x", "--loss", TOY]).loss == TOY
    out = tmp_path / "runs" / "toy"
    args = ["train", "--data", "shared_latent", "--param", "n=200", "--loss", TOY]
    assert main([*args, "--epochs", "2", "--loss-param", "scale=2.0", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["loss_params"] == {"scale": 2.0}
    # The Train form offers it, with its own field.
    at = open_page(TRAIN, dataset=small_latent, dataset_label="tiny")
    assert "Toy cosine" in at.selectbox(key="train_loss_choice").options  # its label
    at.selectbox(key="train_loss_choice").set_value(TOY).run()
    assert not at.exception, at.exception
    assert at.select_slider(key=f"tr_scale_joint_{TOY}").value == 1.0
    # The Learn page shows its formula.
    at = open_page(LEARN)
    assert any("toy" in x.value for x in at.latex)


def test_every_entry_has_its_strings_in_both_languages():
    for kind, names in (("loss", registry.LOSSES), ("method", registry.METHODS)):
        for name in names:
            for key in form.catalogue_keys(kind, name):
                for lang in i18n.LANGUAGES:
                    assert key in i18n.catalogue(lang), (lang, kind, name, key)


def test_form_fields_cover_each_method_and_loss():
    """Every field's path exists in the default config of its method and loss."""
    from fusion.config import default_config, get_path

    for method, spec in registry.METHODS.items():
        for loss in spec.losses:
            d = default_config(method, loss).to_dict()
            for f in form.form_fields(method, loss):
                missing = object()
                value = get_path(d, f.path, missing)
                assert value is not missing or f.default is not None or f.path == "name", (
                    method,
                    loss,
                    f.path,
                )


def test_configs_runs_and_setups_import_without_torch():
    code = (
        "import sys, fusion.config, fusion.runs, fusion.share, fusion.registry, fusion.form; "
        "print(sorted(m for m in ('torch', 'streamlit', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_form_table_fills_from_a_link_and_checks_every_value():
    """A shared link's config goes into the widgets through the same field table that draws
    them: numeric values snap to the nearest choice, text values must be one of the choices
    (every device, ``mps`` included), and the widgets' values give the config back."""
    from fusion import form
    from fusion.config import default_config

    cfg = default_config("joint", "triplet", device="mps", lr=0.004)
    cfg.loss_params = {"margin": 0.3, "mining": "semi-hard"}
    filled = form.values_from_config(cfg, ["a", "b"])
    assert filled.values["train.device"] == "mps"
    assert filled.values["train.lr"] == 0.003 and "train.learning_rate" in filled.snapped
    assert filled.values["loss_params.mining"] == "semi-hard"
    back = form.config_from_values("joint", "triplet", filled.values)
    assert back.train.device == "mps" and back.loss_params["margin"] == 0.3
    assert back.to_dict()["train"]["lr"] == 0.003

    bad = default_config("joint", "info_nce")
    bad.train.device = "tpu"  # a hand-edited link
    bad.model.encoder.kind = "transformer"
    refused = form.values_from_config(bad, ["a", "b"])
    assert {"train.device", "train.encoder"} <= set(refused.refused)
    assert "train.device" not in refused.values
    single = default_config("single")
    single.model.modality = "c"  # not a modality of this data
    assert "train.modality" in form.values_from_config(single, ["a", "b"]).refused


def test_every_field_of_every_form_has_its_labels_in_both_languages():
    for method, spec in registry.METHODS.items():
        for loss in spec.losses:
            for f in form.form_fields(method, loss):
                keys = [f.label, *([f.help] if f.help else [])]
                keys += [f"{f.option_labels}.{o}" for o in f.options] if f.option_labels else []
                keys += [f.placeholder] if f.placeholder else []
                for key in keys:
                    for lang in i18n.LANGUAGES:
                        assert key in i18n.catalogue(lang), (method, loss, f.path, lang, key)
