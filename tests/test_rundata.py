"""fusion.rundata: snapshots, map data, neighbours and cache keys, on tiny hand-made tables;
fusion.metric_names: one name per metric key, one headline list."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

from fusion.data import PairedData
from fusion.metric_names import HEADLINE_METRICS, headline_keys, metric_help, metric_name
from fusion.rundata import (
    build_map_data,
    cross_modal_neighbours,
    data_fingerprint,
    embedding_columns,
    points_frame,
    rows_across_modalities,
    run_signature,
    snapshot,
    snapshot_epochs,
    spread_by_epoch,
)


def long_table(epochs=(0, 2), n=4, d=3, mods=("img", "txt"), seed=0) -> pd.DataFrame:
    """Embeddings in the long form runs save: one row per (epoch, sample, modality)."""
    rng = np.random.default_rng(seed)
    frames = []
    for e in epochs:
        for m in mods:
            z = rng.normal(size=(n, d)).astype(np.float32)
            df = pd.DataFrame(z, columns=[f"z{i}" for i in range(d)])
            df.insert(0, "epoch", e)
            df.insert(1, "sample", np.arange(n))
            df.insert(2, "id", [f"s{i}" for i in range(n)])
            df.insert(3, "modality", m)
            df.insert(4, "label", np.arange(n) % 2)
            df.insert(5, "label_name", [f"class {i % 2}" for i in range(n)])
            df.insert(6, "reliability", np.nan)
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def test_snapshot_is_one_epoch_as_a_matrix_and_per_modality():
    emb = long_table(d=12)
    assert snapshot_epochs(emb) == [0, 2]
    assert embedding_columns(emb) == [f"z{i}" for i in range(12)]  # z10 after z9
    snap = snapshot(emb)  # the last epoch by default
    assert snap.epoch == 2
    assert snap.Z.shape == (8, 12) and snap.Z.dtype == np.float64
    assert list(snap.meta.columns) == [
        "epoch",
        "sample",
        "id",
        "modality",
        "label",
        "label_name",
        "reliability",
    ]
    assert snap.modalities == ["img", "txt"]
    rows = emb[(emb["epoch"] == 2) & (emb["modality"] == "txt")]
    np.testing.assert_array_equal(snap.modality("txt"), rows[embedding_columns(emb)].to_numpy())
    assert {m: z.shape for m, z in snap.by_modality().items()} == {"img": (4, 12), "txt": (4, 12)}
    assert snapshot(emb, 0).epoch == 0
    assert snapshot(emb, 1) is None  # no snapshot at that epoch
    assert snapshot(emb.iloc[:0]) is None  # a run that saved none


def test_snapshot_drops_columns_of_another_width_and_finite_drops_diverged_rows():
    wide = long_table(epochs=(0,), d=4)
    narrow = long_table(epochs=(1,), d=2)
    emb = pd.concat([wide, narrow], ignore_index=True)  # z2, z3 are NaN at epoch 1
    assert snapshot(emb, 1).Z.shape == (8, 2)
    assert snapshot(emb, 0).Z.shape == (8, 4)
    emb.loc[emb.index[-1], "z0"] = np.nan  # one diverged row
    snap = snapshot(emb, 1)
    kept = snap.finite()
    assert len(kept.meta) == 7 and kept.Z.shape == (7, 2) and np.isfinite(kept.Z).all()
    assert list(kept.meta.index) == list(range(7))


def test_map_data_stacks_epochs_in_one_row_order_and_drops_broken_ones():
    emb = long_table(epochs=(0, 1, 2), n=5)
    emb = emb.sample(frac=1.0, random_state=0)  # stored order must not matter
    emb.loc[(emb["epoch"] == 1) & (emb["sample"] == 3), "z1"] = np.inf
    data = build_map_data(emb, modalities=["txt", "img"], texts={"txt": ["a", "b", "c", "d", "e"]})
    assert data.epochs == [0, 2] and data.dropped == [1]
    assert data.Z.shape == (2, 10, 3) and data.Z.dtype == np.float32
    assert list(data.meta["modality"]) == ["txt"] * 5 + ["img"] * 5  # the given order first
    assert list(data.meta["sample"]) == [0, 1, 2, 3, 4] * 2
    assert data.meta["hover"].iloc[1] == "id s1<br>“b”" and data.meta["hover"].iloc[6] == "id s1"
    last = emb[(emb["epoch"] == 2) & (emb["modality"] == "img") & (emb["sample"] == 4)]
    np.testing.assert_allclose(data.Z[1, 9], last[["z0", "z1", "z2"]].to_numpy()[0])
    points = points_frame(data, np.arange(20.0).reshape(10, 2))
    assert list(points["u"][:2]) == [0.0, 2.0] and list(points["v"][:2]) == [1.0, 3.0]
    empty = build_map_data(emb.iloc[:0])
    assert empty.epochs == [] and empty.Z.size == 0 and "hover" in empty.meta


def test_spread_by_epoch_sees_a_cloud_shrink():
    emb = long_table(epochs=(0, 1))
    zc = embedding_columns(emb)
    emb.loc[emb["epoch"] == 1, zc] = emb.loc[emb["epoch"] == 0, zc].to_numpy() * 0.01
    spread = spread_by_epoch(build_map_data(emb), "run-a")
    assert list(spread.columns) == ["run", "epoch", "spread"]
    assert list(spread["epoch"]) == [0, 1] and set(spread["run"]) == {"run-a"}
    assert spread["spread"].iloc[1] == pytest.approx(spread["spread"].iloc[0] * 0.01, rel=1e-4)


def test_cross_modal_neighbours_finds_the_partner_by_cosine():
    meta = pd.DataFrame(
        {
            "modality": ["img", "img", "img", "txt", "txt", "txt", "fused"],
            "sample": [0, 1, 2] * 2 + [0],
        }
    )
    Z = np.array(
        [[1, 0], [0, 1], [-1, 0], [2, 0.1], [0.1, 3], [-1, -1], [1, 0]], dtype=np.float32
    )  # each txt point lies in the direction of its img partner; lengths do not matter
    nb = cross_modal_neighbours(Z, meta, [0, 4], k=2)
    q0 = nb[nb["query_row"] == 0]
    assert list(q0["target_modality"]) == ["txt", "txt"]  # never "fused"
    assert list(q0["row"]) == [3, 4] and list(q0["rank"]) == [1, 2]
    assert q0["is_partner"].tolist() == [True, False] and set(q0["partner_rank"]) == {1}
    assert q0["similarity"].iloc[0] == pytest.approx(2 / np.hypot(2, 0.1))
    q4 = nb[nb["query_row"] == 4]
    assert list(q4["row"]) == [1, 0] and set(q4["partner_rank"]) == {1}
    assert cross_modal_neighbours(Z, meta, [], k=2).empty


def test_rows_across_modalities_takes_each_modality_in_turn():
    modality = np.array(["a"] * 5 + ["b"] * 2)
    assert rows_across_modalities([0, 1, 2, 3, 4, 5, 6], modality, 4) == [0, 1, 5, 6]
    assert rows_across_modalities([], modality, 4) == []


def test_run_signature_changes_when_a_file_is_written_or_added(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{}")
    first = run_signature(run)
    assert first == run_signature(str(run))
    (run / "epochs.csv").write_text("epoch\n")
    second = run_signature(run)
    assert second != first
    os.utime(run / "metrics.json", ns=(2 * 10**18, 2 * 10**18))
    assert run_signature(run) != second
    assert run_signature(tmp_path / "gone") == "missing"


def test_data_fingerprint_follows_content_not_identity():
    def make(x, labels=(0, 1, 0), ids=("a", "b", "c")):
        return PairedData(
            {"m": np.asarray(x, dtype=np.float32), "n": np.ones((3, 2), dtype=np.float32)},
            labels=np.asarray(labels),
            ids=list(ids),
        )

    x = np.arange(6).reshape(3, 2)
    assert data_fingerprint(make(x)) == data_fingerprint(make(x.copy()))
    assert data_fingerprint(make(x)) != data_fingerprint(make(x + 1))
    assert data_fingerprint(make(x)) != data_fingerprint(make(x, labels=(1, 1, 0)))
    assert data_fingerprint(make(x)) != data_fingerprint(make(x, ids=("a", "b", "d")))
    assert data_fingerprint(None) == "none"


def test_rundata_reads_runs_without_torch():
    import subprocess

    code = "import sys, fusion.rundata, fusion.metric_names; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# Metric names


@pytest.mark.parametrize(
    ("key", "en", "zh"),
    [
        ("recall_at_10_image_to_text", "Recall@10 (image → text)", "Recall@10（image → text）"),
        ("recall_at_1_mean", "Mean Recall@1", None),
        ("spread_text", "Spread (text)", None),
        ("alignment_image_text", "Alignment (image · text)", None),
        ("accuracy", "Accuracy", None),
        ("no_such_metric", "no such metric", "no such metric"),
        ("retrieval_rows", "Test pairs ranked for retrieval (count)", None),
        ("baseline_train_rows", "Training rows the baselines were fitted on (count)", None),
    ],
)
def test_metric_name_in_each_language(key, en, zh):
    assert metric_name(key) == metric_name(key, "en") == en
    if zh is not None:
        assert metric_name(key, "zh") == zh


def test_metric_help_says_direction_and_links_its_source():
    text = metric_help("recall_at_1_mean")
    assert "higher is better" in text and "](http" in text
    assert metric_help("recall_at_1_mean", "zh") != text
    assert metric_help("no_such_metric") is None


def test_one_headline_list_for_cards_and_live_view():
    metrics = {
        "recall_at_1_mean": 0.5,
        "recall_at_1_mean_chance": 0.01,
        "recall_at_10_a_to_b": 0.9,
        "recall_at_10_b_to_a": 0.8,
        "class_precision_at_10_a_to_b": 0.7,
        "spread": 0.3,
        "alignment": 0.2,
        "linear_probe_accuracy": 0.6,
    }
    assert headline_keys(metrics) == [
        "recall_at_1_mean",
        "linear_probe_accuracy",
        "alignment",
        "spread",
    ]
    assert headline_keys(metrics, "live") == [
        "recall_at_1_mean",
        "recall_at_10_a_to_b",
        "class_precision_at_10_a_to_b",
        "linear_probe_accuracy",
    ]
    assert headline_keys(metrics, limit=2) == ["recall_at_1_mean", "linear_probe_accuracy"]
    assert headline_keys({"accuracy_chance": 0.25}) == []
    assert len({h.pattern for h in HEADLINE_METRICS}) == len(HEADLINE_METRICS)
