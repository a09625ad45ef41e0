"""File loaders: good round trips, and a clear DataError for every bad input."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

from fusion import loaders
from fusion.errors import DataError


def _table(n: int = 12, seed: int = 0, labels: list | None = None) -> pd.DataFrame:
    """A prefix table with modalities img (3 cols) and txt (2 cols), label and id."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "id": [f"s{i}" for i in range(n)],
            "img__p0": rng.normal(size=n),
            "img__p1": rng.normal(size=n),
            "img__p2": rng.normal(size=n),
            "txt__f0": rng.normal(size=n),
            "txt__f1": rng.normal(size=n),
        }
    )
    df["label"] = labels if labels is not None else ["cat", "dog", "bird"] * (n // 3)
    return df


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


# -- good round trips ------------------------------------------------------------------------


def test_csv_prefix_table_round_trip(tmp_path):
    df = _table()
    d = loaders.load(_write(tmp_path, "data.csv", _csv(df)))
    assert d.names == ["img", "txt"]
    assert d.input_shapes() == {"img": (3,), "txt": (2,)}
    assert d.label_names == ["bird", "cat", "dog"]
    assert [d.label_names[i] for i in d.labels] == list(df["label"])
    assert list(d.ids) == list(df["id"])
    np.testing.assert_allclose(d.modalities["img"][:, 1], df["img__p1"], rtol=1e-6)
    assert d.source["files"] == ["data.csv"]
    assert d.source["format"] == "csv"
    assert d.source["dropped_rows"] == 0
    assert d.source["warnings"] == []


def test_tsv_round_trip(tmp_path):
    df = _table()
    d = loaders.load(_write(tmp_path, "data.tsv", df.to_csv(index=False, sep="\t")))
    assert d.source["format"] == "tsv" and d.n == 12 and d.n_classes == 3


def test_parquet_round_trip(tmp_path):
    df = _table()
    path = tmp_path / "data.parquet"
    df.to_parquet(path)
    d = loaders.load(path)
    assert d.source["format"] == "parquet"
    np.testing.assert_allclose(d.modalities["txt"][:, 0], df["txt__f0"], rtol=1e-6)


def test_npz_round_trip_with_images_string_labels_and_ids(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "pairs.npz"
    labels = np.array(["b", "a"] * 10)
    np.savez(
        path,
        image=rng.random((20, 4, 4)),
        text=rng.normal(size=(20, 6)),
        labels=labels,
        ids=np.array([f"x{i}" for i in range(20)]),
    )
    d = loaders.load(path)
    assert d.input_shapes() == {"image": (4, 4), "text": (6,)}
    assert d.is_image("image")
    assert d.label_names == ["a", "b"]
    assert list(d.labels[:2]) == [1, 0]
    assert d.ids[3] == "x3"
    assert d.source["format"] == "npz"


def test_files_paired_by_row_order(tmp_path):
    df = _table()
    a = _write(tmp_path, "image.csv", _csv(df[["img__p0", "img__p1", "label"]]))
    b = _write(tmp_path, "text.csv", _csv(df[["txt__f0", "txt__f1"]]))
    d = loaders.from_files([a, b], label_column="label")
    assert d.names == ["image", "text"]
    assert d.input_shapes() == {"image": (2,), "text": (2,)}
    assert d.label_names == ["bird", "cat", "dog"]
    assert d.source["files"] == ["image.csv", "text.csv"]


def test_files_joined_on_id_column_in_any_order(tmp_path):
    df = _table(n=15)
    a = df[["id", "img__p0", "img__p1"]]
    b = df[["id", "txt__f0", "label"]].iloc[::-1]  # reversed, and one extra id
    b = pd.concat([b, pd.DataFrame({"id": ["lonely"], "txt__f0": [0.0], "label": ["cat"]})])
    d = loaders.from_files(
        [_write(tmp_path, "a.csv", _csv(a)), _write(tmp_path, "b.csv", _csv(b))],
        names=["left", "right"],
        id_column="id",
        label_column="label",
    )
    assert d.names == ["left", "right"]
    assert list(d.ids) == list(df["id"])  # the first file's order
    np.testing.assert_allclose(d.modalities["right"][:, 0], df["txt__f0"], rtol=1e-6)
    assert [d.label_names[i] for i in d.labels] == list(df["label"])
    assert any("'b.csv': 1 id(s)" in w and "lonely" in w for w in d.source["warnings"])


def test_load_several_files_guesses_label_and_id(tmp_path):
    df = _table()
    a = _write(tmp_path, "a.csv", _csv(df[["id", "img__p0", "img__p1"]]))
    b = _write(tmp_path, "b.csv", _csv(df[["id", "txt__f0", "label"]].iloc[::-1]))
    d = loaders.load([a, b])
    assert list(d.ids) == list(df["id"]) and d.n_classes == 3


def test_bytes_buffers_with_names(tmp_path):
    text = _csv(_table())
    for obj, name in [
        (text.encode(), "upload.csv"),
        (io.BytesIO(text.encode()), "upload.csv"),
    ]:
        d = loaders.load((name, obj))
        assert d.n == 12 and d.source["files"] == ["upload.csv"]
    buf = io.BytesIO(text.encode())
    buf.name = "named.csv"
    assert loaders.load_table(buf).attrs["file"] == "named.csv"
    assert loaders.load_table(text.encode(), name="x.csv").shape == (12, 7)


def test_numeric_labels_sort_numerically_and_keep_their_names(tmp_path):
    df = _table(labels=[10, 2, 9, 2] * 3)
    d = loaders.load(_write(tmp_path, "d.csv", _csv(df)))
    assert d.label_names == ["2", "9", "10"]
    assert list(d.labels[:4]) == [2, 0, 1, 0]


def test_utf8_bom_and_gbk_encoded_chinese_csv(tmp_path):
    df = _table(labels=["猫", "狗", "鸟"] * 4)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + _csv(df).encode())
    d = loaders.load(bom)
    assert d.ids[0] == "s0" and d.label_names == sorted(["猫", "狗", "鸟"])
    gbk = _write(tmp_path, "gbk.csv", _csv(df), encoding="gbk")
    d = loaders.load(gbk)
    assert set(d.label_names) == {"猫", "狗", "鸟"}
    assert d.source["encoding"] == "gb18030"


def test_image_shapes_reshape_flat_columns():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        rng.random((12, 6)), columns=[f"pix__{i}" for i in range(4)] + ["v__0", "v__1"]
    )
    d = loaders.from_table(df, image_shapes={"pix": (2, 2)})
    assert d.input_shapes() == {"pix": (2, 2), "v": (2,)}
    with pytest.raises(DataError, match="expects 9 columns, but 'pix' has 4"):
        loaders.from_table(df, image_shapes={"pix": (3, 3)})


def test_explicit_modality_mapping_without_prefixes():
    df = _table().rename(columns=lambda c: c.replace("__", "_"))
    d = loaders.from_table(
        df,
        modalities={"x": ["img_p0", "img_p1"], "y": ["txt_f0"]},
        label_column="label",
        id_column="id",
    )
    assert d.names == ["x", "y"] and d.n_classes == 3


def test_nan_policy_drop_counts_rows(tmp_path):
    df = _table(n=15)
    df.loc[3, "img__p1"] = np.nan
    df.loc[7, "txt__f0"] = np.inf
    d = loaders.from_table(df, label_column="label", nan_policy="drop")
    assert d.n == 13 and d.source["dropped_rows"] == 2
    assert "3" not in d.ids and "7" not in d.ids  # ids are the original row numbers


def test_constant_column_and_singleton_class_only_warn():
    df = _table(labels=["a"] * 6 + ["b"] * 5 + ["c"])
    df["img__p2"] = 1.0
    d = loaders.from_table(df, label_column="label", id_column="id")
    warnings = " ".join(d.source["warnings"])
    assert "'img__p2'" in warnings and "constant" in warnings
    assert "single sample ('c')" in warnings


def test_constant_column_warning_names_it_as_the_file_and_the_preview_do(tmp_path):
    """The warning names the column as the preview shows it (view_a__0), not as 'px0'."""
    from fusion.export import data_to_frame

    df = _table()
    a = pd.DataFrame({"px0": 1.0, "px1": df["img__p0"], "label": df["label"]})
    b = pd.DataFrame({"w0": df["txt__f0"], "w1": df["txt__f1"]})
    d = loaders.from_files(
        [_write(tmp_path, "view_a.csv", _csv(a)), _write(tmp_path, "view_b.csv", _csv(b))],
        label_column="label",
    )
    (warning,) = [w for w in d.source["warnings"] if "constant" in w]
    assert "'px0'" in warning and "'view_a__0'" in warning, warning
    assert "view_a__0" in data_to_frame(d).columns
    zh = " ".join(loaders.localized_warnings(d.source, "zh"))
    assert "'px0'" in zh and "'view_a__0'" in zh and "预览" in zh


def test_unprefixed_columns_are_ignored_with_a_warning():
    df = _table()
    df["note"] = 1.0
    d = loaders.from_table(df, label_column="label", id_column="id")
    assert any("'note'" in w for w in d.source["warnings"])


def test_suggest_mapping():
    s = loaders.suggest_mapping(_table())
    assert s["modalities"] == {
        "img": ["img__p0", "img__p1", "img__p2"],
        "txt": ["txt__f0", "txt__f1"],
    }
    assert s["label_column"] == "label" and s["id_column"] == "id"
    stems = pd.DataFrame(np.zeros((3, 4)), columns=["img_0", "img_1", "txt0", "txt1"])
    stems["Target"] = 1
    s = loaders.suggest_mapping(stems)
    assert s["modalities"] == {"img": ["img_0", "img_1"], "txt": ["txt0", "txt1"]}
    assert s["label_column"] == "Target" and s["id_column"] is None
    plain = pd.DataFrame(np.zeros((3, 4)), columns=["u", "v", "w", "x"])
    plain["id"] = [1, 1, 2]  # not unique: not an id
    s = loaders.suggest_mapping(plain)
    assert s["modalities"] == {"a": ["u", "v"], "b": ["w", "x"]} and s["id_column"] is None


# -- bad inputs -------------------------------------------------------------------------------


def _raises(match: str):
    return pytest.raises(DataError, match=match)


def test_empty_file(tmp_path):
    with _raises("'empty.csv' is empty"):
        loaders.load(_write(tmp_path, "empty.csv", ""))
    with _raises("'blank.csv' is empty"):
        loaders.load(_write(tmp_path, "blank.csv", "\n\n  \n"))


def test_header_only(tmp_path):
    with _raises("'h.csv' has a header but no data rows"):
        loaders.load(_write(tmp_path, "h.csv", "img__a,txt__b,label\n"))


@pytest.mark.parametrize("rows", [1, 5])
def test_too_few_rows(tmp_path, rows):
    df = _table(n=12).head(rows)
    with _raises(f"only {rows} usable rows?: at least 10 paired rows.*Add more rows"):
        loaders.load(_write(tmp_path, "few.csv", _csv(df)))


def test_non_numeric_column_names_column_value_and_row(tmp_path):
    df = _table().astype({"txt__f1": object})
    df.loc[4, "txt__f1"] = "oops"
    with _raises(
        r"Column 'txt__f1' in 'bad\.csv' is not numeric: data row 5 \(id 's4'\) holds 'oops'"
    ):
        loaders.load(_write(tmp_path, "bad.csv", _csv(df)))


def test_decimal_comma_gets_a_hint():
    df = _table().astype({"img__p0": object})
    df.loc[0, "img__p0"] = "1,5"
    with _raises("decimal comma"):
        loaders.from_table(df)


@pytest.mark.parametrize("value", ["", "nan", "inf"])
def test_missing_or_infinite_cells_are_rejected_with_column_and_row(tmp_path, value):
    text = _csv(_table()).splitlines()
    cells = text[3].split(",")
    cells[2] = value  # img__p1 of data row 3
    text[3] = ",".join(cells)
    path = _write(tmp_path, "holes.csv", "\n".join(text) + "\n")
    with _raises(r"column 'img__p1' is .* in data row 3 \(id 's2'\).*nan_policy='drop'"):
        loaders.load(path)


def test_missing_label_is_rejected():
    df = _table()
    df.loc[6, "label"] = None
    with _raises(r"label column 'label' is empty in data row 7"):
        loaders.from_table(df, label_column="label")


def test_fewer_than_two_modalities():
    df = _table().drop(columns=["txt__f0", "txt__f1"])
    with _raises("1 modality \\(img\\); paired data needs at least 2"):
        loaders.from_table(df, label_column="label")


def test_no_prefixed_columns_suggests_a_mapping():
    df = pd.DataFrame(np.zeros((12, 4)), columns=["img_0", "img_1", "txt_0", "txt_1"])
    with _raises("no columns named '<modality>__<column>'.*A guess from the names: img:"):
        loaders.from_table(df)


def test_mismatched_row_counts(tmp_path):
    df = _table()
    a = _write(tmp_path, "a.csv", _csv(df[["img__p0"]]))
    b = _write(tmp_path, "b.csv", _csv(df[["txt__f0"]].head(10)))
    with _raises("'a.csv': 12 rows, 'b.csv': 10 rows.*id column"):
        loaders.from_files([a, b])


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            lambda df: df[["id", "txt__f0"]].assign(id=[f"img_{i}" for i in range(12)]),
            "No id in column 'id' appears in every file.*'b.csv' has 'img_0'",
        ),
        (lambda df: df[["id", "txt__f0"]].head(4), "only 4 usable rows"),
        (lambda df: df[["txt__f0"]], "Id column 'id' is not in 'b.csv'"),
    ],
    ids=["ids_that_do_not_intersect", "too_few_matching_ids", "missing_id_column_in_one_file"],
)
def test_files_joined_by_id_refused(tmp_path, second, message):
    """Two files joined on the id column: the second (``second`` of the table) cannot be."""
    df = _table()
    paths = [
        _write(tmp_path, "a.csv", _csv(df[["id", "img__p0"]])),
        _write(tmp_path, "b.csv", _csv(second(df))),
    ]
    with _raises(message):
        loaders.from_files(paths, id_column="id")


def test_duplicate_ids_name_an_example_and_the_file(tmp_path):
    df = _table()
    b = df[["id", "txt__f0"]].copy()
    b.loc[5, "id"] = "s1"
    paths = [
        _write(tmp_path, "a.csv", _csv(df[["id", "img__p0"]])),
        _write(tmp_path, "b.csv", _csv(b)),
    ]
    with _raises("Id column 'id' in 'b.csv' has duplicate ids, e.g. 's1' appears 2 times"):
        loaders.from_files(paths, id_column="id")
    df.loc[3, "id"] = "s0"
    with _raises("duplicate ids, e.g. 's0'"):
        loaders.from_table(df, id_column="id")


def test_duplicate_column_names(tmp_path):
    with _raises("'dup.csv' has duplicate column names: 'img__a'"):
        loaders.load(_write(tmp_path, "dup.csv", "img__a,img__a,txt__b\n1,2,3\n"))


def test_constant_modality_is_an_error():
    df = _table()
    df["txt__f0"] = 3.0
    df["txt__f1"] = 3.0
    with _raises("modality 'txt' is constant"):
        loaders.from_table(df)


def test_single_class_label_is_an_error():
    with _raises("label column 'label' has a single class \\('cat'\\).*at least 2 classes"):
        loaders.from_table(_table(labels=["cat"] * 12), label_column="label")


def test_unknown_label_column_lists_the_columns():
    with _raises("Label column 'kind' is not in 'table'; its columns are 'id', 'img__p0'"):
        loaders.from_table(_table(), label_column="kind")


def test_bad_nan_policy():
    with _raises("nan_policy must be 'reject' or 'drop'"):
        loaders.from_table(_table(), nan_policy="ignore")


def test_excel_workbook_named_csv(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    path = tmp_path / "sheet.csv"
    path.write_bytes(buf.getvalue())
    with _raises("'sheet.csv' is an Excel workbook.*save it as 'CSV UTF-8'"):
        loaders.load(path)


def test_parquet_named_csv(tmp_path):
    path = tmp_path / "really.csv"
    _table().to_parquet(path)
    with _raises("'really.csv' is named .csv but is really a Parquet file. Rename it to .parquet"):
        loaders.load(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "t.parquet",
            lambda: _csv(_table()).encode(),
            "named .parquet but is not a Parquet file.*rename it to .csv",
        ),
        (
            "noise.csv",
            lambda: np.random.default_rng(0).bytes(4000),
            "'noise.csv' is not a readable text table",
        ),
        ("data.pkl", lambda: pickle.dumps(_table()), "Pickles are never loaded"),
        ("d.json", lambda: b"{}", "unsupported file type '.json'"),
        (
            "tabs.csv",
            lambda: _table().to_csv(index=False, sep="\t").encode(),
            "tab-separated. Rename the file to .tsv",
        ),
        ("ragged.csv", lambda: b"a__x,b__y\n1,2\n3,4,5,6\n", "'ragged.csv' could not be parsed"),
    ],
    ids=[
        "text_named_parquet",
        "binary_garbage",
        "pickle_is_refused",
        "unsupported_extension",
        "tab_separated_file_named_csv",
        "ragged_csv_line",
    ],
)
def test_unreadable_file_is_refused(tmp_path, name, content, message):
    """``load`` refuses a file named ``name`` holding ``content()`` with ``message``."""
    path = tmp_path / name
    path.write_bytes(content())
    with _raises(message):
        loaders.load(path)


def test_semicolon_csv_suggests_the_delimiter(tmp_path):
    path = _write(tmp_path, "semi.csv", _csv(_table()).replace(",", ";"))
    with _raises("semicolon-separated.*sep=';'"):
        loaders.load(path)
    d = loaders.load(path, sep=";")
    assert d.n == 12


def test_npz_object_array(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, a=np.zeros((12, 2)), b=np.array([{"x": 1}] * 12, dtype=object))
    with _raises("Array 'b' in 'obj.npz' is an object array.*dtype=str"):
        loaders.load(path)


def test_npz_mismatched_lengths(tmp_path):
    path = tmp_path / "len.npz"
    np.savez(path, a=np.zeros((12, 2)), b=np.ones((11, 3)), labels=np.arange(12) % 2)
    with _raises("different lengths \\('a': 12, 'b': 11, 'labels': 12\\)"):
        loaders.load(path)


def test_npz_with_one_modality_and_bad_shapes(tmp_path):
    path = tmp_path / "one.npz"
    np.savez(path, a=np.random.default_rng(0).random((12, 2)), labels=np.arange(12) % 2)
    with _raises("holds 1 modality array"):
        loaders.load(path)
    np.savez(path, a=np.zeros((12, 2)), b=np.zeros(12))
    with _raises("Array 'b' .* is 1-D.*reshape\\(-1, 1\\)"):
        loaders.load(path)


def test_truncated_npz(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, a=np.zeros((12, 2)), b=np.ones((12, 3)))
    path = tmp_path / "cut.npz"
    path.write_bytes(good.read_bytes()[:300])
    with _raises("'cut.npz'"):
        loaders.load(path)


def test_parquet_nested_and_string_columns(tmp_path):
    df = _table()
    df["txt__f1"] = [[1.0, 2.0]] * 12
    path = tmp_path / "nested.parquet"
    df.to_parquet(path)
    with _raises("Column 'txt__f1' in 'nested.parquet' holds nested values"):
        loaders.load(path)
    df["txt__f1"] = "word"
    df.to_parquet(path)
    with _raises("Column 'txt__f1' .* is not numeric: data row 1 \\(id 's0'\\) holds 'word'"):
        loaders.load(path)


def test_truncated_parquet(tmp_path):
    path = tmp_path / "cut.parquet"
    _table().to_parquet(path)
    path.write_bytes(path.read_bytes()[:-50])
    with _raises("'cut.parquet' is a truncated Parquet file"):
        loaders.load(path)


def test_too_many_columns_suggests_pca():
    zeros = np.zeros((12, 10_001), dtype=np.float32)
    df = pd.concat(
        [
            pd.DataFrame(zeros, columns=[f"a__{i}" for i in range(10_001)]),
            pd.DataFrame(zeros, columns=[f"b__{i}" for i in range(10_001)]),
        ],
        axis=1,
    )
    with _raises("20002 feature columns.*PCA"):
        loaders.from_table(df)


def test_file_not_found(tmp_path):
    with _raises("File not found"):
        loaders.load(tmp_path / "nope.csv")


def test_label_column_in_no_file(tmp_path):
    df = _table()
    paths = [
        _write(tmp_path, "a.csv", _csv(df[["img__p0"]])),
        _write(tmp_path, "b.csv", _csv(df[["txt__f0"]])),
    ]
    with _raises("Label column 'y' is in none of the files \\('a.csv', 'b.csv'\\)"):
        loaders.from_files(paths, label_column="y")


# -- groups: repeated subjects stay on one side of the split --------------------------------


def _grouped_table(n_subjects: int = 30, per: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = n_subjects * per
    subject = np.repeat([f"s{i}" for i in range(n_subjects)], per)
    return pd.DataFrame(
        {
            "a__0": rng.normal(size=rows),
            "a__1": rng.normal(size=rows),
            "b__0": rng.normal(size=rows),
            "subject": subject,
            "label": np.repeat(np.arange(n_subjects) % 3, per),
        }
    )


def test_table_group_column_is_found_and_kept_out_of_features():
    df = _grouped_table()
    data = loaders.load(("grouped.csv", df.to_csv(index=False).encode()))
    assert data.groups is not None and len(np.unique(data.groups)) == 30
    assert data.input_shapes() == {"a": (2,), "b": (1,)}  # 'subject' is no feature
    train, val = data.split(0.25, 0)
    assert not set(train.groups) & set(val.groups)


def test_group_column_in_one_of_several_files_and_in_npz():
    df = _grouped_table()
    a = df[["a__0", "a__1", "subject"]].to_csv(index=False).encode()
    b = df[["b__0", "label"]].to_csv(index=False).encode()
    data = loaders.load([("a.csv", a), ("b.csv", b)])
    assert data.groups is not None and data.input_shapes() == {"a": (2,), "b": (1,)}
    buf = io.BytesIO()
    np.savez(
        buf,
        a=df[["a__0", "a__1"]].to_numpy(),
        b=df[["b__0"]].to_numpy(),
        groups=df["subject"].to_numpy().astype(str),
    )
    npz = loaders.load(("g.npz", buf.getvalue()))
    np.testing.assert_array_equal(npz.groups, df["subject"].to_numpy())


def test_group_column_problems_name_the_fix():
    df = _grouped_table()
    df.loc[5, "subject"] = None
    with pytest.raises(DataError, match="empty in data row 6"):
        loaders.from_table(df, group_column="subject", label_column="label")
    with pytest.raises(DataError, match="Group column 'who' is not in"):
        loaders.from_table(_grouped_table(), group_column="who")
    with pytest.raises(DataError, match="cannot be the group column"):
        loaders.from_table(_grouped_table(), group_column="label", label_column="label")
