"""Training defaults that hold up on real features: per-modality
standardisation fitted on training rows, weight decay, early stopping that keeps the best
epoch's weights, encoder widths that follow each modality's width, and the Train form's
notes on what "auto" picked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion import form
from fusion.config import EncoderConfig, RunConfig, TrainConfig, default_config
from fusion.data import PairedData
from fusion.errors import ConfigError
from fusion.experiment import ClassifyTask, build_model, run_experiment
from fusion.models import AttentionConfig, AttentionFusion, Standardize, input_stats, make_encoder
from fusion.train import Callback, fit

# -- encoder widths and standardisation -------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "width"),
    [((6,), 64), ((36,), 64), ((65,), 128), ((120,), 128), ((240,), 256), ((5000,), 256)],
)
def test_auto_width_follows_the_modality_width(shape, width):
    assert EncoderConfig().width_for(shape) == width
    assert EncoderConfig(hidden=128).width_for(shape) == 128  # a chosen width is kept
    enc = make_encoder(shape, 8, EncoderConfig())
    assert enc[1].out_features == width


def test_input_stats_per_feature_for_vectors_one_pair_for_images_constant_kept():
    rng = np.random.default_rng(0)
    vec = np.c_[rng.normal(5, 3, 500), np.full(500, 7.0)]
    img = rng.normal(2, 4, (500, 4, 4))
    stats = input_stats({"v": vec, "img": img})
    mean, std = stats["v"]
    assert mean == pytest.approx([5, 7], abs=0.4) and std[0] == pytest.approx(3, abs=0.3)
    assert std[1] == 1.0  # a constant column is not blown up
    assert stats["img"][0].shape == () and stats["img"][1] == pytest.approx(4, abs=0.2)


def test_standardize_layer_scales_inputs_and_is_saved_with_the_weights():
    x = torch.tensor([[10.0, 1000.0], [30.0, 3000.0]])
    layer = Standardize(np.array([20.0, 2000.0]), np.array([10.0, 1000.0]))
    assert torch.allclose(layer(x), torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
    model = AttentionFusion(
        {"a": (2,), "b": (3,)},
        2,
        AttentionConfig(),
        input_stats({"a": x.numpy(), "b": np.ones((2, 3))}),
    )
    assert any(k.endswith("0.mean") for k in model.state_dict())


def scaled_views(n=600, seed=0):
    """Two views in wildly different units (like MFCCs beside accelerations), each holding
    one of the two bits of the class: both are needed."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    a = np.c_[(y % 2) * 4.0 + rng.normal(size=n), rng.normal(size=(n, 5))] * 1000.0 + 5000.0
    b = np.c_[(y // 2) * 4.0 + rng.normal(size=n), rng.normal(size=(n, 5))] * 0.001
    return PairedData({"a": a, "b": b}, labels=y)


@pytest.mark.slow
def test_standardised_defaults_hold_up_where_raw_scales_do_not():
    data = scaled_views()
    new = run_experiment(data, default_config("attention", epochs=15, seed=0)).metrics
    raw = default_config("attention", epochs=15, seed=0)
    raw.train.standardize = False
    old = run_experiment(data, raw).metrics
    # Logistic regression on both views (standardised) is the bar; the defaults reach it.
    assert new["accuracy"] >= new["baseline_concat_accuracy"] - 0.03
    assert new["accuracy"] > old["accuracy"] + 0.1


def test_build_model_standardises_only_with_training_rows():
    data = scaled_views(n=100)
    cfg = default_config("attention")
    train, _ = data.split(0.2, 0)
    with_stats = build_model(cfg, data, train)
    assert isinstance(with_stats.encoders["a"][0], Standardize)
    assert not isinstance(build_model(cfg, data).encoders["a"][0], Standardize)
    cfg.train.standardize = False
    assert not isinstance(build_model(cfg, data, train).encoders["a"][0], Standardize)


# -- early stopping ----------------------------------------------------------------------------


class Scripted(ClassifyTask):
    """Attention fusion whose per-epoch validation accuracy follows a script."""

    def __init__(self, script):
        super().__init__(4, ["a", "b"])
        self.script, self.calls = list(script), 0

    def evaluate(self, model, data, final=False):
        m, arrays = super().evaluate(model, data, final)
        if not final:
            m["accuracy"] = self.script[min(self.calls, len(self.script) - 1)]
            self.calls += 1
        return m, arrays


def scripted_fit(script, **train):
    data = scaled_views(n=200)
    tr, va = data.split(0.2, 0)
    model = AttentionFusion(data.input_shapes(), 4, AttentionConfig(dim=8))
    saved = {}

    class Grab(Callback):
        def on_epoch_end(self, info, history):
            saved[int(info["epoch"])] = {k: v.clone() for k, v in model.state_dict().items()}

    cfg = TrainConfig(**{"epochs": 10, "batch_size": 32, "patience": 3, **train})
    return model, saved, fit(model, Scripted(script), tr, va, cfg, [Grab()])


def test_early_stopping_ends_after_patience_and_keeps_the_best_epoch():
    # epoch 0 (before training), then epochs 1..: best at epoch 2, then 3 epochs without gain.
    model, saved, h = scripted_fit([0.1, 0.5, 0.7, 0.6, 0.65, 0.6, 0.9])
    assert h.status == "finished" and h.completed_epochs == 5
    assert h.best_epoch == 2 and h.best_value == 0.7 and h.monitor == "accuracy"
    assert h.message_key == "messages.train.early_stopped.accuracy"
    assert "epoch 2" in h.message and "epoch 5" in h.message
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[2][k]), k
    assert 2 in [s.epoch for s in h.snapshots]  # the map has the kept model
    summary = h.summary()
    assert summary["best_epoch"] == 2 and summary["monitor"] == "accuracy"


def test_a_plateau_runs_out_of_patience_and_keeps_its_latest_epoch():
    # 0.7 first at epoch 2 and again at 4 (a tie): patience counts from 2, weights from 4.
    model, saved, h = scripted_fit([0.1, 0.5, 0.7, 0.6, 0.7, 0.65, 0.9])
    assert h.completed_epochs == 5 and h.best_epoch == 4 and h.best_value == 0.7
    assert all(torch.equal(v, saved[4][k]) for k, v in model.state_dict().items())


def test_a_run_that_peaks_before_its_last_epoch_keeps_the_peak():
    model, saved, h = scripted_fit([0.1, 0.2, 0.3, 0.9, 0.5, 0.5], epochs=5)
    assert h.completed_epochs == 5 and h.best_epoch == 3
    assert h.message_key == "messages.train.finished_best.accuracy"
    assert all(torch.equal(v, saved[3][k]) for k, v in model.state_dict().items())


def test_patience_zero_trains_every_epoch_and_keeps_the_last():
    model, saved, h = scripted_fit([0.1, 0.9, 0.1, 0.1, 0.1, 0.1], epochs=5, patience=0)
    assert h.completed_epochs == 5 and h.best_epoch == 0 and h.monitor == ""
    assert h.message_key == "messages.train.finished"
    assert all(torch.equal(v, saved[5][k]) for k, v in model.state_dict().items())


def test_collapsing_loss_is_never_stopped_early(small_latent):
    cfg = default_config("joint", "seed_alignment", epochs=4, batch_size=64, patience=1)
    h = run_experiment(small_latent, cfg).history
    assert h.completed_epochs == 4 and h.monitor == "" and h.best_epoch == 0


@pytest.mark.slow
def test_the_best_epoch_is_saved_in_run_json(tmp_path):
    import json

    from fusion.runs import save_run

    data = scaled_views(n=200)
    r = run_experiment(data, default_config("attention", epochs=6, batch_size=32, patience=2))
    run = json.loads((save_run(r, root=tmp_path) / "run.json").read_text())
    assert 1 <= run["best_epoch"] <= run["completed_epochs"] and run["monitor"] == "accuracy"


# -- configuration ------------------------------------------------------------------------------


def test_new_defaults_and_their_checks():
    t = TrainConfig()
    assert (t.optimizer, t.weight_decay, t.standardize, t.patience) == ("adamw", 1e-2, True, 10)
    assert t.epochs == 50  # an upper bound: early stopping ends most runs sooner
    assert EncoderConfig().hidden == 0
    with pytest.raises(ConfigError, match="patience"):
        TrainConfig(patience=-1).validate()


def test_a_config_saved_before_these_defaults_reads_as_it_trained():
    old_train = {
        "epochs": 5, "batch_size": 64, "lr": 0.003, "optimizer": "adam", "schedule": "constant",
        "weight_decay": 0.0, "seed": 0, "device": "auto", "val_fraction": 0.2,
        "n_snapshots": 10, "snapshot_rows": 2000, "threads": None,
    }  # fmt: skip
    old = RunConfig.from_dict({"method": "attention", "train": old_train})
    assert old.train.standardize is False and old.train.patience == 0
    partial = RunConfig.from_dict({"method": "attention", "train": {"epochs": 5}})
    assert partial.train.standardize is True and partial.train.patience == 10
    assert partial.train.standardize_check_rows == 500
    saved_14 = {**old_train, "standardize": True, "patience": 10}  # before the check existed
    assert (
        RunConfig.from_dict({"method": "attention", "train": saved_14}).train.standardize_check_rows
        == 0
    )


def test_form_notes_say_what_auto_picked_for_this_data():
    rng = np.random.default_rng(0)
    data = PairedData({"audio": rng.random((50, 36)), "accel": rng.random((50, 6)) * 100})
    wide = PairedData({"gene": rng.random((50, 120)), "lipid": rng.random((50, 21))})
    assert "gene 128 (120 features)" in form.auto_notes(default_config("late"), wide)[0]
    assert "gene + lipid 256 (141 features)" in form.auto_notes(default_config("early"), wide)[0]
    notes = form.auto_notes(default_config("attention"), data)
    assert "audio 64 (36 features)" in notes[0] and "accel 64 (6 features)" in notes[0]
    assert "between 64 and 256" in notes[0]
    assert "Standardised" in notes[1] and "already on one scale" not in notes[1]
    alike = PairedData({"a": rng.normal(size=(50, 4)), "b": rng.normal(size=(50, 3))})
    assert "already on one scale" in form.auto_notes(default_config("attention"), alike)[1]
    assert "validation accuracy" in notes[2] and "10 epochs" in notes[2]
    joint = form.auto_notes(default_config("joint", "info_nce", patience=0), data, "zh")
    assert any("不提前停止" in note for note in joint)
    collapse = form.auto_notes(default_config("joint", "seed_alignment"), data)
    assert any("collapse" in note for note in collapse)
    # 50 rows: a test split would hold 10, so the run says it is cross-validated.
    assert any("5-fold cross-validation" in note for note in notes)
    assert form.auto_notes(default_config("cca"), data) == []


# -- the held-out check of standardisation with few training rows -------------------------------


def test_standardize_check_runs_only_for_trained_classifiers_with_few_rows():
    from fusion.experiment import needs_standardize_check

    att = default_config("attention")
    assert att.train.standardize_check_rows == 500
    assert needs_standardize_check(att, 499) and not needs_standardize_check(att, 500)
    assert not needs_standardize_check(default_config("joint", "info_nce"), 30)
    off = default_config("attention")
    off.train.standardize = False
    assert not needs_standardize_check(off, 30)
    never = default_config("attention")
    never.train.standardize_check_rows = 0
    assert not needs_standardize_check(never, 30)
    with pytest.raises(ConfigError, match="standardize_check_rows"):
        TrainConfig(standardize_check_rows=-1).validate()


@pytest.mark.parametrize("better", [True, False])
def test_standardize_check_keeps_the_lower_held_out_loss_on_training_rows_only(monkeypatch, better):
    from fusion import experiment
    from fusion.models import FusionOutput

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    data = PairedData({"a": rng.normal(size=(60, 3)), "b": rng.normal(size=(60, 5))}, labels)
    seen = []

    class Oracle(torch.nn.Module):  # right with confidence when `good`, else unsure
        def __init__(self, good: bool):
            super().__init__()
            self.good, self.w = good, torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs):
            n = len(inputs["a"])
            return FusionOutput(torch.zeros(n, 2) if not self.good else self.logits[:n])

    def fake_train(_data, fit_rows, scored, cfg, callbacks, stop_event):
        seen.append((set(fit_rows.ids), set(scored.ids), cfg.train.standardize))
        model = Oracle(cfg.train.standardize == better)
        model.logits = 5 * torch.nn.functional.one_hot(torch.as_tensor(scored.labels), 2).float()
        return type("R", (), {"model": model})()

    cfg = default_config("attention")
    roles = data.roles(0.2, 0.2, cfg.train.seed)
    train, val, test = (data.subset(r) for r in (roles.train, roles.val, roles.test))
    monkeypatch.setattr(experiment, "_train", fake_train)
    assert experiment.choose_standardize(data, train, val, cfg) is better
    assert [s for *_, s in seen] == [True, False]
    # Fitted on the training rows, scored on the validation rows; the test rows stay out.
    assert all(f == set(train.ids) and v == set(val.ids) for f, v, _ in seen)
    assert all(not (f | v) & set(test.ids) for f, v, _ in seen)
    assert cfg.train.standardize is True  # the config itself is not changed by the check


def test_form_notes_say_when_standardisation_is_checked():
    rng = np.random.default_rng(0)
    few = PairedData({"a": rng.random((50, 3)), "b": rng.random((50, 4)) * 100}, np.arange(50) % 2)
    notes = " ".join(form.auto_notes(default_config("attention"), few, "en"))
    # 50 rows are cross-validated: the first fold trains on 30 (10 test, 10 validation).
    assert "cross-entropy on the validation rows" in notes and "30 for training" in notes
    # 1,000 rows train on 600 (200 validation, 200 test): no check.
    many = PairedData({"a": rng.random((1000, 3)), "b": rng.random((1000, 4))}, np.arange(1000) % 2)
    assert "is checked" not in " ".join(form.auto_notes(default_config("attention"), many, "en"))
