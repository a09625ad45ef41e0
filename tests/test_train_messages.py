"""What a finished training says and shows: an early stop says so and names the kept epoch,
and the map ends at the kept epoch, so maps and metrics are of one model."""

from __future__ import annotations

import torch

from fusion.i18n import translate
from tests.test_defaults import scripted_fit


def test_an_early_stop_on_a_plateau_says_it_stopped_early_and_which_epoch_it_kept():
    # Best first at epoch 2, then ties: patience runs out at epoch 5 of 10, ties keep the latest.
    model, saved, h = scripted_fit([0.1, 0.5, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7], epochs=10)
    assert h.completed_epochs == 5 and h.best_epoch == 5
    assert h.message_key == "messages.train.early_stopped.accuracy", h.message
    assert "Stopped early after epoch 5" in h.message and "epoch 5" in h.message
    assert "Finished" not in h.message
    assert translate(h.message_key, "zh", **h.message_params).startswith("在第 5 轮后提前停止")
    assert [s.epoch for s in h.snapshots][-1] == 5
    assert all(torch.equal(v, saved[5][k]) for k, v in model.state_dict().items())


def test_the_map_ends_at_the_kept_epoch():
    # Best at epoch 2; epochs 3-5 were trained and evaluated but their weights discarded.
    model, saved, h = scripted_fit([0.1, 0.5, 0.7, 0.6, 0.65, 0.6, 0.9], n_snapshots=10)
    assert h.best_epoch == 2 and h.completed_epochs == 5
    epochs = [s.epoch for s in h.snapshots]
    assert epochs[-1] == 2 and max(epochs) == 2, epochs
    assert h.final_metrics  # the final metrics are the kept model's, as the map
    assert all(torch.equal(v, saved[2][k]) for k, v in model.state_dict().items())


def test_a_full_run_says_finished():
    _, _, h = scripted_fit([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], epochs=5)
    assert h.message_key == "messages.train.finished" and h.message == "Finished 5 epochs."
