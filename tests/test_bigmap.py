"""The map of every validation row, made after training in the worker and saved with the run."""

from __future__ import annotations

import numpy as np
import pytest

from fusion import bigmap
from fusion.experiment import default_config, run_experiment
from fusion.generators import gated_reliability, shared_latent
from fusion.runs import load_run, save_run
from fusion.worker import _full_map


def _run(method: str, data, snapshot_rows: int, **train):
    cfg = default_config(method, epochs=2, batch_size=64, snapshot_rows=snapshot_rows, **train)
    return run_experiment(data, cfg)


@pytest.fixture(scope="module")
def joint_result():
    """One joint run of 400 pairs whose snapshots keep 30 of its validation rows."""
    return _run("joint", shared_latent(n=400, n_classes=3, seed=1), snapshot_rows=30)


def test_a_joint_run_whose_snapshots_leave_rows_out_gets_a_map_of_all(joint_result, tmp_path):
    _check_full_map(joint_result, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["attention", "cca"])
def test_other_methods_get_a_map_of_all_too(method, tmp_path):
    data = (
        gated_reliability(n=400, seed=1)
        if method == "attention"
        else shared_latent(n=400, n_classes=3, seed=1)
    )
    _check_full_map(_run(method, data, snapshot_rows=30), tmp_path)


def _check_full_map(result, tmp_path):
    events: list[tuple[str, dict]] = []
    _full_map(result, lambda kind, payload: events.append((kind, payload)))
    assert result.full_map is not None
    frame, info = result.full_map
    n_val = result.val.n
    assert n_val > 30
    mods = frame["modality"].unique()
    assert len(frame) == n_val * len(mods) == info["points"]
    assert sorted(frame["row"].unique()) == list(range(n_val))
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    assert info["method"] == "umap" and info["rows"] == n_val
    # Progress: every event is a map event with a fraction that never goes back; it ends done.
    assert {k for k, _ in events} == {"map"}
    fractions = [p["fraction"] for _, p in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert events[-1][1]["stage"] == "done"
    assert {"embed", "neighbours", "layout"} <= {p["stage"] for _, p in events}
    # Saved with the run and read back.
    path = save_run(result, root=tmp_path)
    back = bigmap.read_map(path)
    assert back is not None and len(back[0]) == len(frame) and back[1]["method"] == "umap"
    assert load_run(path) is not None


def test_the_map_labels_and_ids_follow_the_rows(joint_result):
    result = joint_result
    _full_map(result, lambda *_: None)
    frame, _ = result.full_map
    val = result.val
    first = frame[frame["modality"] == frame["modality"].cat.categories[0]]
    rows = first["row"].to_numpy()
    assert (first["label"].to_numpy() == val.labels[rows]).all()
    assert (first["id"].to_numpy() == np.asarray(val.ids).astype(str)[rows]).all()
    assert first["label_name"].astype(str).tolist() == [
        val.label_names[i] for i in val.labels[rows]
    ]
    if val.mask is None:
        assert first["reliability"].isna().all()
    else:
        assert np.allclose(first["reliability"].to_numpy(), val.mask[rows, 0])


def test_a_run_whose_snapshots_hold_every_row_gets_no_extra_map():
    result = _run("joint", shared_latent(n=300, n_classes=3, seed=1), snapshot_rows=2000)
    events: list = []
    _full_map(result, lambda *a: events.append(a))
    assert result.full_map is None and events == []


def test_vectors_explored_as_they_are_get_their_map_in_the_worker():
    data = shared_latent(n=400, n_classes=3, dims=16, seed=3)
    result = run_experiment(data, default_config("asis", snapshot_rows=25))
    _full_map(result, lambda *_: None)
    assert result.full_map is not None and len(result.full_map[0]) == 2 * result.val.n


def test_above_the_umap_cap_the_map_is_pca(joint_result, monkeypatch):
    monkeypatch.setattr(bigmap, "UMAP_MAX_POINTS", 100)
    result = joint_result
    stages: list[str] = []
    _full_map(result, lambda kind, p: stages.append(p["stage"]))
    assert result.full_map[1]["method"] == "pca"
    assert "pca" in stages and "layout" not in stages


def test_a_damaged_map_file_is_ignored(tmp_path):
    (tmp_path / bigmap.MAP_FILE).write_bytes(b"not parquet")
    assert bigmap.read_map(tmp_path) is None
    assert bigmap.read_map(tmp_path / "nowhere") is None
