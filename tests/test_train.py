"""The training engine: determinism, snapshots, stop, divergence, out-of-memory, bad configs."""

import threading

import numpy as np
import pytest
import torch

from fusion.errors import ConfigError
from fusion.experiment import JointTask, RunConfig, default_config, run_experiment
from fusion.models import JointConfig, JointEmbedding
from fusion.train import Callback, TrainConfig, fit, resolve_device, snapshot_epochs


def joint_setup(data, **train):
    model = JointEmbedding(data.input_shapes(), JointConfig(dim=8, normalize=True))
    tr, va = data.split(0.2, 0)
    return (
        model,
        JointTask("info_nce", {}),
        tr,
        va,
        TrainConfig(**{"epochs": 3, "batch_size": 64, **train}),
    )


@pytest.mark.slow
def test_same_seed_same_history(small_latent):
    a = run_experiment(small_latent, default_config("joint", epochs=3, batch_size=64, seed=3))
    b = run_experiment(small_latent, default_config("joint", epochs=3, batch_size=64, seed=3))
    c = run_experiment(small_latent, default_config("joint", epochs=3, batch_size=64, seed=4))
    la = [s["loss"] for s in a.history.steps]
    assert la == [s["loss"] for s in b.history.steps]
    assert la != [s["loss"] for s in c.history.steps]


@pytest.mark.slow
def test_history_records_parts_epochs_and_bounded_snapshots(small_latent):
    cfg = default_config("joint", epochs=5, batch_size=64, n_snapshots=3, snapshot_rows=50)
    r = run_experiment(small_latent, cfg)
    h = r.history
    assert h.status == "finished" and h.device == "cpu" and "auto" in h.device_reason
    assert {"loss", "a_to_b", "b_to_a"} <= set(h.steps[0])
    assert [e["epoch"] for e in h.epochs] == [0, 1, 2, 3, 4, 5]
    assert all(e["samples_per_sec"] > 0 for e in h.epochs[1:])
    assert "val_recall_at_1_mean" in h.epochs[-1]
    assert [s.epoch for s in h.snapshots] == sorted(snapshot_epochs(5, 3)) == [0, 2, 5]
    assert all(s.arrays["emb:a"].shape == (50, 16) for s in h.snapshots)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["joint", "attention"])
def test_peeks_within_an_epoch_see_the_model_and_leave_training_unchanged(small_latent, method):
    class Peeker(Callback):
        peek_seconds = 1e-9  # after every step but an epoch's last

        def __init__(self):
            self.seen = []

        def on_peek(self, at, arrays, data):
            self.seen.append((at, sorted(arrays), data.n))

    cfg = default_config(method, epochs=2, batch_size=64, seed=5, patience=0)
    plain = run_experiment(small_latent, cfg)
    peeker = Peeker()
    peeked = run_experiment(small_latent, cfg, [peeker])
    # eval mode without gradients: the same steps, losses and weights as without peeks
    assert [s["loss"] for s in peeked.history.steps] == [s["loss"] for s in plain.history.steps]
    per_epoch = len(plain.history.steps) // 2
    assert per_epoch >= 3
    ats = [a for a, _, _ in peeker.seen]
    assert len(ats) == 2 * (per_epoch - 1)  # the epoch's end is an evaluation, not a peek
    assert ats == sorted(ats) and all(0 < a < 2 and a != 1 for a in ats)
    assert ats[0] == pytest.approx(1 / per_epoch, rel=0.05)
    keys = peeker.seen[0][1]
    assert any(k.startswith("emb:") for k in keys)
    assert ("weights" in keys) == (method == "attention")
    assert peeker.seen[0][2] == plain.history.snapshot_rows.size  # the snapshot rows


def test_stop_event_ends_within_a_batch_and_keeps_history(small_latent):
    stop = threading.Event()
    seen = []

    class StopAfter(Callback):
        def on_step(self, info):
            seen.append(info["step"])
            if info["step"] == 4:
                stop.set()

    model, task, tr, va, cfg = joint_setup(small_latent, epochs=50)
    h = fit(model, task, tr, va, cfg, [StopAfter()], stop)
    assert h.status == "stopped"
    assert len(h.steps) == 4 and seen == [1, 2, 3, 4]
    assert h.snapshots[-1].epoch == h.completed_epochs  # ends on a frame of what was learned
    assert h.final_metrics  # metrics of the partial model


class NaNAt(JointTask):
    def __init__(self, step):
        super().__init__("info_nce", {})
        self.calls, self.at = 0, step

    def loss(self, model, inputs, labels):
        self.calls += 1
        parts = super().loss(model, inputs, labels)
        if self.calls == self.at:
            parts["loss"] = parts["loss"] * float("nan")
        return parts


def test_nan_loss_stops_with_reason_and_restores_last_epoch_weights(small_latent):
    model, _, tr, va, cfg = joint_setup(small_latent, epochs=5)
    steps_per_epoch = tr.n // 64 + 1
    task = NaNAt(steps_per_epoch + 3)  # during epoch 2
    saved = {}

    class Grab(Callback):
        def on_epoch_end(self, info, history):
            saved[int(info["epoch"])] = {k: v.clone() for k, v in model.state_dict().items()}

    h = fit(model, task, tr, va, cfg, [Grab()])
    assert h.status == "diverged"
    assert "lower learning rate" in h.message
    assert h.completed_epochs == 1
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[1][k]), k
    assert all(np.isfinite(s["loss"]) for s in h.steps)


def test_huge_learning_rate_diverges_cleanly(small_latent):
    cfg = default_config(
        "joint", "seed_alignment", epochs=30, batch_size=64, lr=1e4, optimizer="sgd"
    )
    r = run_experiment(small_latent, cfg)
    assert r.history.status == "diverged"
    assert "learning rate" in r.history.message
    assert r.metrics  # the restored weights are still evaluated and explorable
    assert all(np.isfinite(s["loss"]) for s in r.history.steps)


class OOMAt(JointTask):
    def __init__(self):
        super().__init__("info_nce", {})
        self.calls = 0

    def loss(self, model, inputs, labels):
        self.calls += 1
        if self.calls == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().loss(model, inputs, labels)


def test_out_of_memory_gives_advice_and_keeps_going(small_latent):
    model, _, tr, va, cfg = joint_setup(small_latent)
    h = fit(model, OOMAt(), tr, va, cfg)
    assert h.status == "out_of_memory"
    assert "smaller batch" in h.message and "CPU" in h.message
    assert len(h.steps) == 2


def test_other_errors_are_not_swallowed(small_latent):
    class Broken(JointTask):
        def loss(self, model, inputs, labels):
            raise RuntimeError("a real bug")

    model, _, tr, va, cfg = joint_setup(small_latent)
    with pytest.raises(RuntimeError, match="a real bug"):
        fit(model, Broken("info_nce", {}), tr, va, cfg)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"train": {"batch_size": 10_000}}, "larger than"),
        ({"model": {"dim": 0}}, "at least 1"),
        ({"loss": "nonsense"}, "Unknown loss"),
        ({"train": {"epochs": 0}}, "Epochs"),
        ({"train": {"lr": -1.0}}, "learning rate"),
        ({"train": {"optimizer": "lbfgs"}}, "optimiser"),
        ({"loss_params": {"margin": 1}}, "no parameter"),
    ],
)
def test_invalid_configs_refused_before_work(small_latent, change, match):
    d = default_config("joint").to_dict()
    for k, v in change.items():
        d[k] = {**d[k], **v} if isinstance(v, dict) and isinstance(d.get(k), dict) else v
    with pytest.raises(ConfigError, match=match):
        run_experiment(small_latent, RunConfig.from_dict(d))


def test_classifier_needs_labels(small_latent):
    unlabelled = small_latent.subset(np.arange(small_latent.n))
    unlabelled.labels = None
    with pytest.raises(ConfigError, match="label column"):
        run_experiment(unlabelled, default_config("attention"))


def test_unknown_method_and_device():
    with pytest.raises(ConfigError, match="Unknown method"):
        RunConfig(method="magic")
    with pytest.raises(ConfigError, match="Unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no NVIDIA GPU"):
            resolve_device("cuda")


def test_config_round_trip():
    cfg = default_config("attention", epochs=7)
    cfg.model.heads = 2
    back = RunConfig.from_dict(cfg.to_dict())
    assert back.to_dict() == cfg.to_dict()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_matches_cpu_closely(small_latent):
    cpu = run_experiment(
        small_latent, default_config("joint", epochs=2, batch_size=64, device="cpu")
    )
    gpu = run_experiment(
        small_latent, default_config("joint", epochs=2, batch_size=64, device="cuda")
    )
    assert gpu.history.device.startswith("cuda")
    assert abs(cpu.history.steps[0]["loss"] - gpu.history.steps[0]["loss"]) < 1e-3


def _budget_fit(data, monkeypatch, share: float, **train):
    import fusion.train as train_mod

    monkeypatch.setattr(train_mod, "EVAL_SHARE", share)
    torch.manual_seed(0)  # the model's initial weights
    model, task, tr, va, cfg = joint_setup(data, **train)
    assert task.monitor == "loss"  # InfoNCE: early stopping never reads budgeted metrics
    return fit(model, task, tr, va, cfg), model


def test_per_epoch_metrics_follow_the_budget_and_never_change_what_is_kept(
    small_latent, monkeypatch
):
    """With no budget for metrics, only epochs 0 and 1 and the last are measured; the validation
    loss early stopping watches is there every epoch, and the weights, the kept epoch, the
    maps and the final metrics (all validation rows) are those of a run that measured all."""
    none, m_none = _budget_fit(small_latent, monkeypatch, 0.0, epochs=4, patience=50)
    every, m_every = _budget_fit(small_latent, monkeypatch, float("inf"), epochs=4, patience=50)
    measured = [int(r["epoch"]) for r in none.epochs if "val_recall_at_1_mean" in r]
    assert measured == [0, 1, 4]
    assert all("val_loss" in r for r in none.epochs)
    assert all("val_recall_at_1_mean" in r for r in every.epochs)
    assert none.best_epoch == every.best_epoch
    assert [s["loss"] for s in none.steps] == [s["loss"] for s in every.steps]
    assert none.final_metrics == every.final_metrics
    for a, b in zip(m_none.parameters(), m_every.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [s.epoch for s in none.snapshots] == [s.epoch for s in every.snapshots]
    for a, b in zip(none.snapshots, every.snapshots, strict=True):
        np.testing.assert_array_equal(a.arrays["emb:a"], b.arrays["emb:a"])


def test_an_epoch_where_early_stopping_ends_training_is_measured(small_latent, monkeypatch):
    import fusion.train as train_mod

    # A validation loss that only grows: the watch starts at epoch 1, and patience 2 runs
    # out after epoch 3.
    monkeypatch.setattr(train_mod._Fit, "validation_loss", lambda self: 1.0 + self.step)
    h, _ = _budget_fit(small_latent, monkeypatch, 0.0, epochs=6, patience=2)
    assert [int(r["epoch"]) for r in h.epochs] == [0, 1, 2, 3]
    assert [int(r["epoch"]) for r in h.epochs if "val_recall_at_1_mean" in r] == [0, 1, 3]
    assert h.best_epoch == 1
