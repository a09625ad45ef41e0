"""Pretrained embeddings explored as they are: the loaders of the shapes
researchers have (.npy per modality, vector columns), the ``asis`` run, the gap-shift
control of Liang et al. 2022 and the adapter's before/after."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fusion import loaders, pretrained, registry
from fusion.config import default_config
from fusion.errors import ConfigError, DataError


def clip_like(n: int = 300, d: int = 32, seed: int = 0, rotate: bool = False):
    """Paired vectors of one width with a modality gap: a shared signal plus an offset per
    modality (and, with ``rotate``, the text side in a random rotation of the space)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 8))
    w = rng.normal(size=(8, d))
    img = z @ w + 0.5 * rng.normal(size=(n, d)) + 2.0
    txt = z @ w + 0.5 * rng.normal(size=(n, d)) - 2.0
    if rotate:
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        txt = txt @ q
    labels = (z[:, 0] > 0).astype(np.int64)
    return img.astype(np.float32), txt.astype(np.float32), labels


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _raises(match: str):
    return pytest.raises(DataError, match=match)


# -- loaders ----------------------------------------------------------------------------


def test_a_pair_of_npy_files_loads_with_labels():
    img, txt, labels = clip_like()
    data = loaders.load(
        [("image.npy", npy(img)), ("text.npy", npy(txt)), ("labels.npy", npy(labels))]
    )
    assert data.names == ["image", "text"] and data.n == 300
    assert data.input_shapes() == {"image": (32,), "text": (32,)}
    assert list(data.labels[:20]) == list(labels[:20])
    renamed = loaders.load([("a.npy", npy(img)), ("b.npy", npy(txt))], names=["img", "cap"])
    assert renamed.names == ["img", "cap"] and renamed.labels is None


def test_npy_files_hostile_shapes_get_clear_messages(monkeypatch):
    img, txt, _ = clip_like()
    with _raises(r"row counts differ \('image.npy': 300, 'text.npy': 299\)"):
        loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt[:-1]))])
    objects = io.BytesIO()
    np.save(objects, np.array([{"a": 1}] * 300, dtype=object), allow_pickle=True)
    with _raises("'text.npy'.*object"):
        loaders.load([("image.npy", npy(img)), ("text.npy", objects.getvalue())])
    with _raises("'text.npy' is truncated"):
        loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt)[:-100])])
    with _raises("cannot be paired with tables.*'t.csv'"):
        loaders.load([("image.npy", npy(img)), ("t.csv", b"a,b\n1,2\n")])
    with _raises("1 modality array"):
        loaders.load([("image.npy", npy(img)), ("labels.npy", npy(np.arange(300)))])
    bad = txt.copy()
    bad[7, 3] = np.nan
    with _raises(r"array 'text' column 3 is nan in data row 8"):
        loaders.load([("image.npy", npy(img)), ("text.npy", npy(bad))])
    dropped = loaders.load([("image.npy", npy(img)), ("text.npy", npy(bad))], nan_policy="drop")
    assert dropped.n == 299
    monkeypatch.setenv("FUSION_MAX_VALUES", "10000")  # huge dims: refused from the header
    with _raises("over the budget"):
        loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt))])


def test_vector_columns_of_a_parquet_table_are_modalities(tmp_path):
    img, txt, labels = clip_like(n=60)
    df = pd.DataFrame({"image": list(img), "text": list(txt), "label": labels, "note": "x"})
    path = tmp_path / "emb.parquet"
    df.to_parquet(path)
    data = loaders.load(path)
    assert data.names == ["image", "text"] and data.input_shapes()["text"] == (32,)
    assert data.labels is not None and "'note'" in " ".join(data.source["warnings"])
    assert np.allclose(data.modalities["text"][5], txt[5], atol=1e-6)


def test_vector_columns_hostile_cells_name_column_and_row(tmp_path):
    img, txt, _ = clip_like(n=20)
    cells = list(txt)
    cells[4] = cells[4][:10]
    with _raises(r"'text' in 'r.parquet' is ragged: data row 5 has 10 numbers, the first row 32"):
        loaders.from_table(
            pd.DataFrame({"image": list(img), "text": cells}), source_name="r.parquet"
        )
    words = [["a"] * 32] + [list(v) for v in txt[1:]]
    with _raises("'text' in 'w' holds something other than numbers in data row 1"):
        loaders.from_table(pd.DataFrame({"image": list(img), "text": words}), source_name="w")
    with _raises("only one vector column"):
        loaders.from_table(pd.DataFrame({"image": list(img), "x": 1.0}), source_name="one")
    holes = [list(v) for v in txt]
    holes[2][0] = float("inf")
    with _raises(r"array 'text' column 0 is inf in data row 3"):
        loaders.from_table(pd.DataFrame({"image": list(img), "text": holes}), source_name="h")


def test_asis_needs_vectors_of_one_width():
    from fusion.generators import shared_latent

    data = shared_latent(n=100, seed=0)
    widths = {k: v.shape[1] for k, v in data.modalities.items()}
    if len(set(widths.values())) > 1:
        with _raises("vectors of one width"):
            pretrained.shared_width(data)
        assert not pretrained.can_explore_as_is(data)
    img, txt, _ = clip_like()
    ok = loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt))])
    assert pretrained.shared_width(ok) == 32 and pretrained.can_explore_as_is(ok)


# -- the as-is run --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip_data():
    img, txt, labels = clip_like()
    return loaders.load(
        [("image.npy", npy(img)), ("text.npy", npy(txt)), ("labels.npy", npy(labels))]
    )


def test_asis_run_scores_the_vectors_as_they_are_and_saves_a_run(clip_data, tmp_path):
    from fusion.experiment import run_experiment
    from fusion.runs import load_run, save_run

    result = run_experiment(clip_data, default_config("asis"))
    m = result.metrics
    assert result.history.status == "finished" and not result.history.steps
    assert m["recall_at_1_mean"] > 5 * m["recall_at_1_mean_chance"]
    assert m["modality_gap"] > 0.5  # the offsets put the modalities apart
    assert "linear_probe_accuracy" in m and m["linear_probe_accuracy"] > 0.7
    run = load_run(save_run(result, root=tmp_path))
    assert run.snapshot_epochs == [0] and run.run_config().method == "asis"
    assert run.metrics["recall_at_1_mean"] == pytest.approx(m["recall_at_1_mean"])
    raw = default_config("asis")
    raw.model.normalize = False
    unnormed = run_experiment(clip_data, raw).metrics
    # Retrieval, gap and alignment work on unit vectors either way; the spread sees lengths.
    assert unnormed["recall_at_1_mean"] == pytest.approx(m["recall_at_1_mean"])
    assert unnormed["alignment"] == pytest.approx(m["alignment"])
    assert unnormed["spread"] > 2 * m["spread"]


def test_normalized_data_has_unit_rows(clip_data):
    unit = pretrained.normalized(clip_data)
    for name in unit.names:
        assert np.allclose(np.linalg.norm(unit.flat(name), axis=1), 1.0, atol=1e-5)
    assert unit.source["l2_normalized"] and unit.labels is clip_data.labels


def test_gap_shift_closes_the_gap_and_keeps_rows_on_the_sphere(clip_data):
    za, zb = clip_data.flat("image"), clip_data.flat("text")
    a, b = pretrained.shift_along_gap(za, zb, 0.0)
    assert np.allclose(a, pretrained.l2_normalize(za), atol=1e-6)
    table = pretrained.gap_shift_table(za, zb)
    gap = dict(zip(table["shift"], table["modality_gap"], strict=True))
    from fusion.metrics import modality_gap

    assert gap[0.0] == pytest.approx(modality_gap(za, zb)["modality_gap"], rel=1e-5)
    assert gap[1.0] < 0.3 * gap[0.0] < gap[-1.0]
    assert list(table.sort_values("shift")["modality_gap"].iloc[4:]) == sorted(
        table.sort_values("shift")["modality_gap"].iloc[4:], reverse=True
    )
    a, b = pretrained.shift_along_gap(za, zb, 0.8)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (table["recall_at_1_chance"] == 1 / len(za)).all()


def test_gap_shift_figure_has_recall_chance_and_gap(clip_data):
    from fusion.plots.gap import gap_shift

    table = pretrained.gap_shift_table(clip_data.flat("image"), clip_data.flat("text"))
    fig = gap_shift(table, current=0.5)
    assert [tr.name for tr in fig.data] == [
        "Recall@1 (mean of both directions)",
        "chance",
        "modality gap",
    ]
    assert fig.data[2].yaxis == "y2"
    assert fig.layout.yaxis2.title.text == "modality gap"
    assert fig.layout.yaxis.title.text == "Recall@1 (mean of both directions)"


def test_adapter_recovers_pairs_the_raw_vectors_miss():
    """A rotated text space: as they are, retrieval is near chance; a linear adapter trained
    with InfoNCE on the same split learns the rotation (Compare's before and after)."""
    from fusion.experiment import run_experiment

    img, txt, _ = clip_like(n=400, rotate=True, seed=1)
    data = loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt))])
    before = run_experiment(data, default_config("asis"))
    config = pretrained.adapter_config(data, "linear", epochs=40)
    assert config.model.encoder.kind == "adapter_linear" and config.loss == "info_nce"
    after = run_experiment(data, config)
    chance = before.metrics["recall_at_1_mean_chance"]
    assert before.metrics["recall_at_1_mean"] < 4 * chance
    assert after.metrics["recall_at_1_mean"] > 10 * chance
    assert after.metrics["recall_at_1_mean"] > 3 * before.metrics["recall_at_1_mean"]
    assert before.test_ids.tolist() == after.test_ids.tolist()  # measured on the same rows
    with pytest.raises(ConfigError, match="'linear' or 'mlp'"):
        pretrained.adapter_config(data, "cnn")


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_an_adapter_starts_as_the_vectors_themselves(clip_data, kind):
    """Before any training, an adapter's embedding of a vector is that vector (unit length):
    the identity, plus a zero residual for the MLP."""
    import torch

    from fusion.models import JointEmbedding

    config = pretrained.adapter_config(clip_data, kind)
    assert config.model.dim == 32 and not config.train.standardize
    model = JointEmbedding(clip_data.input_shapes(), config.model)
    assert model.starts_as_input
    x = {k: torch.as_tensor(clip_data.flat(k)[:50]) for k in clip_data.names}
    with torch.no_grad():
        out = model(x)
    for k in clip_data.names:
        assert np.allclose(out[k].numpy(), pretrained.l2_normalize(x[k].numpy()), atol=1e-5)
    standardised = JointEmbedding(
        clip_data.input_shapes(), config.model, {k: (0.0, 2.0) for k in clip_data.names}
    )
    assert not standardised.starts_as_input  # standardised inputs are not the vectors


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_an_adapter_never_leaves_retrieval_worse_than_the_vectors(kind):
    """CLIP-like pairs (a shared signal, a modality gap): the adapter's kept epoch is at least
    as good as the vectors as they are, and its map and metrics are of that one epoch."""
    from fusion.experiment import run_experiment

    img, txt, _ = clip_like(n=400, seed=1)
    data = loaders.load([("image.npy", npy(img)), ("text.npy", npy(txt))])
    before = run_experiment(data, default_config("asis")).metrics["recall_at_1_mean"]
    after = run_experiment(data, pretrained.adapter_config(data, kind, epochs=20))
    h = after.history
    assert after.metrics["recall_at_1_mean"] >= before
    assert h.epochs[0]["val_recall_at_1_mean"] == pytest.approx(before, abs=0.05)  # the start
    assert h.snapshots[-1].epoch == h.best_epoch  # the map shows the kept epoch
    kept = next(r for r in h.epochs if r["epoch"] == h.best_epoch)
    assert kept["val_recall_at_1_mean"] > h.epochs[0]["val_recall_at_1_mean"]


def test_an_adapter_that_does_not_help_keeps_the_identity_and_says_so():
    """Pairs the vectors already retrieve perfectly: no epoch can beat them, so the run keeps
    the starting weights (epoch 0), its map ends at epoch 0 and its message says why."""
    from fusion.experiment import run_experiment
    from fusion.i18n import translate

    rng = np.random.default_rng(3)
    z = rng.normal(size=(200, 16)).astype(np.float32)
    data = loaders.load([("image.npy", npy(z)), ("text.npy", npy(z + 0.01 * z.std()))])
    before = run_experiment(data, default_config("asis")).metrics["recall_at_1_mean"]
    assert before == 1.0
    after = run_experiment(data, pretrained.adapter_config(data, "linear", epochs=5))
    h = after.history
    assert h.best_epoch == 0 and h.message_key == "messages.train.kept_start"
    assert [s.epoch for s in h.snapshots] == [0]
    assert after.metrics["recall_at_1_mean"] == 1.0
    assert "1.000" in h.message and "identity" in h.message
    assert "恒等" in translate(h.message_key, "zh", **h.message_params)


def test_same_pairs_tells_the_runs_data_from_other_data(clip_data):
    other = pretrained.normalized(clip_data)
    val = clip_data.subset(np.arange(20, 40))
    assert pretrained.same_pairs(val, clip_data)
    assert not pretrained.same_pairs(val, other)
    assert not pretrained.same_pairs(None, clip_data)


def test_asis_is_registered_everywhere_from_the_registry():
    from fusion.config import RunConfig

    spec = registry.METHODS["asis"]
    assert spec.gradient_free and spec.losses == ("as_is",)
    assert isinstance(RunConfig.from_dict({"method": "asis"}).model, pretrained.AsIsConfig)
    from fusion import form
    from fusion.i18n import catalogue

    for lang in ("en", "zh"):
        keys = catalogue(lang)
        for key in form.catalogue_keys("method", "asis") + form.catalogue_keys("loss", "as_is"):
            assert key in keys, (lang, key)


@pytest.mark.slow
def test_pretrained_library_imports_no_torch():
    code = (
        "import sys, fusion.pretrained, fusion.loaders.arrays, fusion.plots.gap;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_root()))


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]
