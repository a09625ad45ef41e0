"""Selections on a map (fusion.selection): the export table and its neighbours, the files,
a new data set kept or dropped, the summary beside the rest, and the shared link's ids."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.rundata import cross_modal_neighbours
from fusion.selection import (
    rows_of_ids,
    selected_ids,
    selection_bytes,
    selection_summary,
    selection_table,
    subset_dataset,
    write_selection,
)
from fusion.share import ids_from_param, ids_to_param

# Four samples in two modalities on the unit circle (angles in degrees): a_i at 0, 90, 180,
# 270; b_i at 10, 340, 190, 250. Sample 1's b sits far from its a: its partner ranks 3rd.
A_DEG = [0, 90, 180, 270]
B_DEG = [10, 340, 190, 250]


def _circle(deg):
    r = np.radians(deg)
    return np.stack([np.cos(r), np.sin(r)], axis=1)


@pytest.fixture
def tiny():
    """A points frame (rows 0-3: modality a, samples 0-3; rows 4-7: modality b) and Z."""
    points = pd.DataFrame(
        {
            "sample": [0, 1, 2, 3] * 2,
            "id": [f"s{i}" for i in range(4)] * 2,
            "modality": ["a"] * 4 + ["b"] * 4,
            "label": [0, 0, 1, 1] * 2,
            "label_name": ["x", "x", "y", "y"] * 2,
            "reliability": [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "u": np.arange(8, dtype=float),
            "v": -np.arange(8, dtype=float),
        }
    )
    Z = np.concatenate([_circle(A_DEG), _circle(B_DEG)]) * 3.0  # lengths do not matter
    return points, Z


# ---------------------------------------------------------------------------
# The table


def test_table_lists_the_nearest_points_of_the_other_modality(tiny):
    points, Z = tiny
    df = selection_table(points, Z, [0, 1, 7], k=2)
    assert list(df["id"]) == ["s0", "s1", "s3"]
    assert list(df["modality"]) == ["a", "a", "b"]
    assert list(df["label"]) == ["x", "x", "y"]
    assert list(df["map_x"]) == [0.0, 1.0, 7.0] and list(df["map_y"]) == [0.0, -1.0, -7.0]
    assert list(df["reliability"]) == [1.0, 0.0, 0.0]
    # a0 (0°): b0 (10°) then b1 (340°); a1 (90°): b0 (10°) then b2 (190°), its own b1 3rd.
    assert list(df.loc[0, ["b_nn1_id", "b_nn2_id"]]) == ["s0", "s1"]
    assert df.loc[0, "b_nn1_cosine"] == pytest.approx(np.cos(np.radians(10)))
    assert df.loc[0, "b_nn2_cosine"] == pytest.approx(np.cos(np.radians(20)))
    assert list(df.loc[1, ["b_nn1_id", "b_nn2_id"]]) == ["s0", "s2"]
    assert list(df["b_partner_rank"][:2]) == [1, 3]
    # b3 (250°) searches modality a: a3 (270°) then a2 (180°); none in its own modality.
    assert list(df.loc[2, ["a_nn1_id", "a_nn2_id"]]) == ["s3", "s2"]
    assert df.loc[2, "a_partner_rank"] == 1
    assert pd.isna(df.loc[2, "b_nn1_id"]) and pd.isna(df.loc[0, "a_nn1_id"])


def test_table_agrees_with_the_explore_neighbours(tiny):
    rng = np.random.default_rng(0)
    n = 60
    points = pd.DataFrame(
        {
            "sample": np.tile(np.arange(n), 3),
            "id": np.tile([f"id{i}" for i in range(n)], 3),
            "modality": np.repeat(["img", "txt", "aud"], n),
            "label_name": "c",
            "reliability": np.nan,
        }
    )
    Z = rng.normal(size=(3 * n, 8))
    rows = [0, 5, 70, 150, 179]
    df = selection_table(points, Z, rows, k=4)
    assert "reliability" not in df and "map_x" not in df  # none in this frame
    nb = cross_modal_neighbours(Z, points, rows, k=4)
    for i, q in enumerate(rows):
        for m, g in nb[nb["query_row"] == q].groupby("target_modality"):
            ids = list(points["id"].to_numpy()[g["row"]])
            assert list(df.loc[i, [f"{m}_nn{r}_id" for r in range(1, 5)]]) == ids
            cos = df.loc[i, [f"{m}_nn{r}_cosine" for r in range(1, 5)]].to_numpy(float)
            np.testing.assert_allclose(cos, g["similarity"], rtol=1e-5)
            assert df.loc[i, f"{m}_partner_rank"] == g["partner_rank"].iloc[0]


def test_empty_selection_gives_an_empty_table_with_its_columns(tiny):
    points, Z = tiny
    df = selection_table(points, Z, [], k=3)
    assert len(df) == 0 and {"id", "modality", "label", "a_nn3_id", "b_nn1_cosine"} <= set(df)


def test_rows_off_the_map_are_refused(tiny):
    points, Z = tiny
    with pytest.raises(DataError) as err:
        selection_table(points, Z, [8])
    assert err.value.key == "errors.selection.bad_rows"
    assert "8 points" in str(err.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(tiny, tmp_path, fmt):
    points, Z = tiny
    df = selection_table(points, Z, [0, 1, 6], k=2)
    path = tmp_path / f"sel.{fmt}"
    write_selection(df, path, fmt)
    if fmt == "csv":
        back = pd.read_csv(path, dtype={"id": str, "a_nn1_id": str, "b_nn1_id": str})
        buf = io.BytesIO(selection_bytes(df, "csv"))
        assert pd.read_csv(buf, dtype=str).shape == df.shape
    else:
        back = pd.read_parquet(path)
        assert back.equals(df)
        assert pd.read_parquet(io.BytesIO(selection_bytes(df, "parquet"))).equals(df)
    assert list(back.columns) == list(df.columns)
    assert list(back["id"]) == ["s0", "s1", "s2"]
    np.testing.assert_allclose(back["b_nn1_cosine"], df["b_nn1_cosine"], equal_nan=True)
    assert list(back["b_partner_rank"].fillna(-1)) == [1, 3, -1]


def test_an_unknown_format_is_refused(tiny):
    points, Z = tiny
    with pytest.raises(DataError) as err:
        write_selection(selection_table(points, Z, [0]), io.BytesIO(), "xlsx")
    assert err.value.key == "errors.selection.bad_format"
    assert "xlsx" in err.value.localized("zh")


# ---------------------------------------------------------------------------
# A new data set


@pytest.fixture
def paired():
    n = 20
    rng = np.random.default_rng(1)
    return PairedData(
        modalities={"a": rng.normal(size=(n, 3)), "b": rng.normal(size=(n, 4))},
        labels=np.arange(n) % 2,
        label_names=["even", "odd"],
        ids=np.array([f"r{i}" for i in range(n)]),
        texts={"b": [f"caption {i}" for i in range(n)]},
        source={"generator": "shared_latent", "params": {"n": n, "seed": 0}},
    )


def test_keep_and_drop_take_whole_samples(paired):
    chosen = [f"r{i}" for i in range(12)]
    kept = subset_dataset(paired, chosen, keep=True, origin={"run": "tiny"})
    assert kept.n == 12 and list(kept.ids) == chosen
    np.testing.assert_array_equal(kept.modalities["b"], paired.modalities["b"][:12])
    assert kept.texts["b"][11] == "caption 11" and list(kept.labels[:3]) == [0, 1, 0]
    # The subset never claims to be the generated data (a link would rebuild all of it).
    assert "generator" not in kept.source and kept.source["kind"] == "subset"
    assert kept.source["subset_of"]["generator"] == "shared_latent"
    assert kept.source["origin"] == {"run": "tiny"} and kept.source["keep"] is True

    dropped = subset_dataset(paired, [f"r{i}" for i in range(10)], keep=False)
    assert list(dropped.ids) == [f"r{i}" for i in range(10, 20)]
    assert dropped.source["n"] == 10 and dropped.source["n_selected"] == 10
    assert paired.n == 20  # the original is untouched


@pytest.mark.parametrize(
    ("ids", "keep", "key"),
    [
        ([], True, "errors.selection.nothing_selected"),
        (["nope"], True, "errors.selection.not_in_data"),
        ([f"r{i}" for i in range(20)], False, "errors.selection.drop_everything"),
        (["r1", "r2", "r3"], True, "errors.selection.subset_too_small"),
        ([f"r{i}" for i in range(15)], False, "errors.selection.subset_too_small"),
    ],
)
def test_a_subset_that_cannot_be_trained_on_is_refused(paired, ids, keep, key):
    with pytest.raises(DataError) as err:
        subset_dataset(paired, ids, keep=keep)
    assert err.value.key == key
    if key.endswith("too_small"):
        assert str(MIN_ROWS) in str(err.value) and str(MIN_ROWS) in err.value.localized("zh")


# ---------------------------------------------------------------------------
# The summary


def _recall_at_1(za, zb):
    """Brute force Recall@1 of a->b and b->a (cosine, ties below the partner)."""
    ua = za / np.linalg.norm(za, axis=1, keepdims=True)
    ub = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    s = ua @ ub.T
    ab = np.mean([(s[i] > s[i, i]).sum() == 0 for i in range(len(s))])
    ba = np.mean([(s[:, i] > s[i, i]).sum() == 0 for i in range(len(s))])
    return (ab + ba) / 2


def test_summary_sets_the_selection_beside_the_rest(tiny):
    points, Z = tiny
    s = selection_summary(points, Z, [0, 5])  # a of sample 0, b of sample 1
    assert (s.n_points, s.n_samples, s.n_samples_total, s.n_rest_samples) == (2, 2, 4, 2)
    assert not s.empty and not s.whole and s.notes == []
    c = s.classes.set_index("label")
    assert list(c["selected"]) == [2, 0] and list(c["rest"]) == [0, 2]
    assert list(c["selected_share"]) == [1.0, 0.0] and list(c["rest_share"]) == [0.0, 1.0]
    rel = s.reliability.set_index("modality")
    # Selected points: a0 (1.0) and b1 (0.0); the rest: a1, a2, a3 and b0, b2, b3.
    assert rel.loc["a", "selected_mean"] == 1.0 and rel.loc["a", "selected_n"] == 1
    assert rel.loc["a", "rest_mean"] == pytest.approx(2 / 3) and rel.loc["a", "rest_n"] == 3
    assert rel.loc["b", "selected_mean"] == 0.0 and rel.loc["b", "rest_mean"] == pytest.approx(
        1 / 3
    )
    r = s.retrieval.set_index("scope")
    # Within {0, 1}: a0 finds b0, a1 finds b0 (miss); b0 finds a0, b1 finds a0 (miss).
    assert r.loc["selection", "recall_at_1"] == 0.5
    assert r.loc["selection", "chance"] == 0.5 and r.loc["selection", "n_gallery"] == 2
    # The same queries against all four samples: the same hits and misses.
    assert r.loc["selection_in_all", "recall_at_1"] == 0.5
    assert r.loc["selection_in_all", "n_queries"] == 2
    assert r.loc["selection_in_all", "n_gallery"] == 4
    assert r.loc["all", "recall_at_1"] == pytest.approx(_recall_at_1(Z[:4], Z[4:]))
    assert r.loc["all", "chance"] == 0.25


def test_summary_of_nothing_selected(tiny):
    points, Z = tiny
    s = selection_summary(points, Z, [])
    assert s.empty and not s.whole and s.n_samples == 0 and s.n_rest_samples == 4
    assert "selection.note_nothing_selected" in s.notes
    assert list(s.classes["selected"]) == [0, 0] and s.classes["selected_share"].isna().all()
    assert list(s.classes["rest_share"]) == [0.5, 0.5]
    assert s.reliability["selected_mean"].isna().all()
    assert list(s.retrieval["scope"]) == ["all"]  # nothing to retrieve within


def test_summary_of_the_whole_set(tiny):
    points, Z = tiny
    s = selection_summary(points, Z, range(8))
    assert s.whole and not s.empty and s.n_rest_samples == 0
    assert "selection.note_whole_set" in s.notes
    assert list(s.classes["rest"]) == [0, 0] and s.classes["rest_share"].isna().all()
    assert list(s.classes["selected_share"]) == [0.5, 0.5]
    assert s.reliability["rest_mean"].isna().all() and (s.reliability["rest_n"] == 0).all()
    r = s.retrieval.set_index("scope")["recall_at_1"]
    assert r["selection"] == r["all"] == r["selection_in_all"]


def test_summary_of_one_sample_and_of_one_modality(tiny):
    points, Z = tiny
    s = selection_summary(points, Z, [2, 6])  # both points of sample 2
    assert s.n_samples == 1 and "selection.note_one_sample" in s.notes
    assert list(s.retrieval["scope"]) == ["selection_in_all", "all"]
    one = points[points["modality"] == "a"].reset_index(drop=True)
    s1 = selection_summary(one, Z[:4], [0, 1])
    assert s1.retrieval is None and "selection.note_one_modality" in s1.notes
    no_rel = selection_summary(points.assign(reliability=np.nan), Z, [0])
    assert no_rel.reliability is None


def test_summary_subsamples_large_sets(tiny):
    points, Z = tiny
    s = selection_summary(points, Z, range(8), max_rows=3)
    r = s.retrieval.set_index("scope")
    assert r.loc["all", "n_gallery"] == 3 and r.loc["all", "chance"] == pytest.approx(1 / 3)
    assert r.loc["selection_in_all", "n_gallery"] == 4  # the gallery is never cut


# ---------------------------------------------------------------------------
# Ids and the shared link


def test_ids_and_rows(tiny):
    points, _ = tiny
    assert selected_ids(points, [5, 0, 4]) == ["s0", "s1"]
    assert rows_of_ids(points, ["s1", "zz"]) == [1, 5]


@pytest.mark.parametrize(
    ("ids", "text"),
    [
        (["3", "4", "5", "7", "12", "13"], "r:3-5,7,12-13"),
        (["9", "0"], "r:0,9"),
        (["cat_1", "dog_2"], "i:cat_1,dog_2"),
        (["007", "8"], "i:007,8"),  # a leading zero is an id, not a number
        ([], ""),
    ],
)
def test_link_ids_round_trip(ids, text):
    assert ids_to_param(ids) == text
    assert sorted(ids_from_param(text)) == sorted(ids)


def test_large_or_unwritable_selections_stay_out_of_the_link():
    assert ids_to_param([str(i) for i in range(0, 402, 2)]) is None  # 201 ids
    assert ids_to_param([str(i) for i in range(500)], limit=1000) == "r:0-499"
    assert ids_to_param(["a,b", "c"]) is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("x:1", "errors.selection.bad_link"),
        ("r:1-", "errors.selection.bad_link"),
        ("r:5-3", "errors.selection.bad_link"),
        ("r:a", "errors.selection.bad_link"),
        ("r:0-100000000", "errors.selection.link_too_long"),
        ("i:" + ",".join(f"x{i}" for i in range(201)), "errors.selection.link_too_long"),
    ],
)
def test_a_bad_link_selection_says_what_is_wrong(text, key):
    with pytest.raises(DataError) as err:
        ids_from_param(text)
    assert err.value.key == key
