"""Runs on disk: save, list, load, delete; damaged folders; names stay inside the root."""

import json

import numpy as np
import pytest

from fusion.errors import DataError
from fusion.experiment import default_config, run_experiment
from fusion.runs import (
    default_run_name,
    delete_run,
    list_runs,
    load_run,
    load_weights,
    safe_name,
    save_run,
)


@pytest.fixture(scope="module")
def joint_result():
    from fusion.generators import shared_latent

    return run_experiment(
        shared_latent(n=300, n_classes=3, seed=1), default_config("joint", epochs=2, batch_size=64)
    )


@pytest.fixture(scope="module")
def attention_result():
    from fusion.generators import gated_reliability

    cfg = default_config("attention", epochs=2, batch_size=64)
    cfg.model.heads = 2
    return run_experiment(gated_reliability(n=300, seed=1), cfg)


def test_save_load_round_trip(runs_dir, joint_result):
    path = save_run(joint_result, name="demo")
    assert path.parent == runs_dir.resolve() and path.name == "demo"
    run = load_run(path)
    assert run.run["status"] == "finished"
    assert run.metrics["recall_at_1_mean"] == pytest.approx(
        joint_result.metrics["recall_at_1_mean"]
    )
    assert "recall_at_1_a_to_b_chance" in run.metrics
    assert run.modalities == ["a", "b"]
    assert run.snapshot_epochs == [0, 1, 2]
    assert {"epoch", "sample", "id", "modality", "label", "label_name", "reliability", "z0"} <= set(
        run.embeddings.columns
    )
    n = len(joint_result.history.snapshot_rows)
    assert len(run.embeddings) == 3 * 2 * n
    assert run.samples.n == n and run.samples.names == ["a", "b"]
    assert run.run_config().to_dict()["train"] == joint_result.config.to_dict()["train"]
    weights = load_weights(path)
    model_state = joint_result.model.state_dict()
    assert set(weights) == set(model_state)
    assert all(np.allclose(weights[k].numpy(), model_state[k].numpy()) for k in weights)


def test_attention_run_keeps_weights_and_heads(runs_dir, attention_result):
    run = load_run(save_run(attention_result))
    assert {"weight_a", "weight_b", "mask_a", "mask_b"} <= set(run.attention.columns)
    w = run.attention[["weight_a", "weight_b"]].to_numpy()
    assert np.allclose(w.sum(1), 1.0, atol=1e-5)
    epochs, heads = run.head_weights
    assert heads.shape[2:] == (2, 2, 2)  # (snapshots, n, H, M, M)


def test_same_name_gets_a_suffix_unless_overwrite(runs_dir, joint_result):
    a = save_run(joint_result, name="x")
    b = save_run(joint_result, name="x")
    assert (a.name, b.name) == ("x", "x-2")
    c = save_run(joint_result, name="x", overwrite=True)
    assert c.name == "x"


def test_list_flags_damaged_runs_and_never_raises(runs_dir, joint_result):
    good = save_run(joint_result, name="good")
    broken = save_run(joint_result, name="broken")
    (broken / "embeddings.parquet").unlink()
    truncated = save_run(joint_result, name="truncated")
    (truncated / "run.json").write_text('{"status": "fin')
    garbage = save_run(joint_result, name="garbage")
    (garbage / "embeddings.parquet").write_bytes(b"PAR1 not really")
    (runs_dir / "empty-folder").mkdir()
    infos = {i.name: i for i in list_runs()}
    assert not infos["good"].damaged
    assert infos["broken"].damaged and "embeddings.parquet" in infos["broken"].problem
    assert infos["truncated"].damaged
    assert infos["empty-folder"].damaged
    for name in ("broken", "truncated", "garbage"):
        with pytest.raises(DataError, match="damaged"):
            load_run(runs_dir / name)
    assert load_run(good).name == "good"


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b", "..", "/abs/path", "名字 with spaces", ""]
)
def test_user_names_never_escape_the_root(runs_dir, joint_result, name):
    path = save_run(joint_result, name=name)
    assert path.parent == runs_dir.resolve()
    assert ".." not in path.name and "/" not in path.name


def test_safe_name_and_delete(runs_dir, joint_result):
    assert safe_name("my run: v1!") == "my-run-v1"
    path = save_run(joint_result, name="to-delete")
    delete_run("to-delete")
    assert not path.exists()
    delete_run("../../nothing")  # sanitised, nothing outside is touched


def test_run_json_is_plain_json(runs_dir, joint_result):
    path = save_run(joint_result, name="j")
    for f in ("config.json", "run.json", "metrics.json"):
        json.loads((path / f).read_text(encoding="utf-8"))


def test_default_names_say_what_the_run_is(runs_dir, joint_result, attention_result):
    """A run's default name says its loss or method, data and seed, not only a time."""
    first = save_run(joint_result)
    assert first.name == "infonce-shared_latent-s0"
    assert save_run(joint_result).name == "infonce-shared_latent-s0-2"
    assert save_run(attention_result).name == "attention-gated_reliability-s0"
    cfg = default_config("early", seed=3)
    uploaded = {"files": ["my table.csv", "other.csv"], "format": "csv"}
    assert default_run_name(cfg, uploaded) == "early-my-table-s3"
    assert default_run_name(default_config("joint", "seed_alignment"), {}) == (
        "seedalignment-data-s0"
    )
    # A subset made from a selection: its data and what was kept, not its long label.
    from fusion.selection import subset_dataset

    data = joint_result.val.subset(np.arange(joint_result.val.n))  # a copy: fixtures are shared
    data.source = {"files": ["pairs_100k.parquet"], "format": "parquet", "name": "pairs"}
    sub = subset_dataset(data, list(data.ids[:40]), keep=True, origin={"run": "attention-x"})
    sub.source["name"] = "Subset of attention-x: the 40 selected samples"
    assert default_run_name(default_config("joint"), sub.source) == "infonce-pairs_100k-keep40-s0"
    rest = subset_dataset(data, list(data.ids[:40]), keep=False)
    assert default_run_name(cfg, rest.source) == f"early-pairs_100k-drop{data.n - 40}-s3"


def test_cca_run_saves_without_weights(runs_dir):
    from fusion.generators import digits_two_view

    r = run_experiment(digits_two_view(n=300, seed=0), default_config("cca"))
    run = load_run(save_run(r, name="cca"))
    assert run.run["status"] == "finished" and "linear_probe_accuracy" in run.metrics
    # Linear CCA is solved in closed form: it records no cross-entropy.
    assert run.run["loss"] == "cca" and run.config["loss"] == "cca"


# The train fields each older config layout saved (fusion.config.SCHEMA_VERSION's history).
_V1_TRAIN = [
    "epochs", "batch_size", "lr", "optimizer", "schedule", "weight_decay", "seed", "device",
    "val_fraction", "n_snapshots", "snapshot_rows", "threads",
]  # fmt: skip
_LAYOUTS = {
    1: _V1_TRAIN,
    2: [*_V1_TRAIN, "standardize", "patience"],
    3: [*_V1_TRAIN, "standardize", "patience", "standardize_check_rows"],
}


def test_a_run_saves_its_config_layout_version(runs_dir, joint_result):
    from fusion.config import SCHEMA_VERSION

    path = save_run(joint_result, name="versioned")
    assert json.loads((path / "config.json").read_text())["schema_version"] == SCHEMA_VERSION
    loaded = load_run(path).run_config().to_dict()
    assert loaded == {**joint_result.config.to_dict(), "name": "versioned"}


@pytest.mark.parametrize("version", sorted(_LAYOUTS))
@pytest.mark.parametrize("with_version", [False, True])
def test_a_run_saved_in_an_older_layout_loads_as_it_trained(
    runs_dir, joint_result, version, with_version
):
    """Each older layout, saved with its schema_version or (as those runs were) without
    one, loads; what later layouts added is off, as the run trained."""
    path = save_run(joint_result, name=f"layout-{version}-{with_version}")
    saved = json.loads((path / "config.json").read_text())
    del saved["schema_version"]
    saved["train"] = {k: saved["train"][k] for k in _LAYOUTS[version]}
    if with_version:
        saved["schema_version"] = version
    (path / "config.json").write_text(json.dumps(saved))
    train = load_run(path).run_config().train
    assert train.epochs == 2 and train.batch_size == 64
    assert (train.standardize, train.patience) == ((False, 0) if version == 1 else (True, 10))
    assert train.standardize_check_rows == (0 if version <= 2 else 500)
    assert train.test_fraction == 0.0


def test_a_config_from_a_newer_layout_is_refused_with_a_clear_message(runs_dir, joint_result):
    from fusion.config import SCHEMA_VERSION
    from fusion.errors import ConfigError

    path = save_run(joint_result, name="future")
    saved = json.loads((path / "config.json").read_text())
    saved["schema_version"] = SCHEMA_VERSION + 1
    (path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match="newer than this playground reads"):
        load_run(path).run_config()
