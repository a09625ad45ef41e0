"""Write the bad-input corpus of tests/data/bad/ (see manifest.json there).

``python tests/data/make_bad_corpus.py`` rewrites the small committed files in
tests/data/bad/ (every file there but manifest.json comes from this script, so
the corpus can be regenerated and reviewed as code). Large cases (10,000 and
25,000 columns, a file over the upload cap) are never committed:
:func:`write_large` writes them into a temporary folder at test time; the
manifest names them ``generated/<file>``.

Every table derives from one small, seeded base table: 12 samples with an
``id``, modality ``img`` (3 columns), modality ``txt`` (2 columns) and a
``label`` (cat/dog/bird).
"""

from __future__ import annotations

import gzip
import io
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent / "bad"
N = 12


def base_table(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"id": [f"s{i}" for i in range(n)]})
    for col in ("img__p0", "img__p1", "img__p2", "txt__f0", "txt__f1"):
        df[col] = rng.normal(size=n).round(3)
    df["label"] = (["cat", "dog", "bird"] * n)[:n]
    return df


def _csv(df: pd.DataFrame, **kw) -> str:
    return df.to_csv(index=False, lineterminator="\n", **kw)


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _xlsx_like() -> bytes:
    """A minimal Office Open XML package: what an .xlsx is (a zip), enough to be sniffed."""
    buf = io.BytesIO()
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook/>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet/>',
    }
    with zipfile.ZipFile(buf, "w") as z:
        for name, xml in parts.items():  # a fixed date keeps the file byte-for-byte stable
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), xml)
    return buf.getvalue()


def small_files() -> dict[str, bytes]:
    """File name -> content for every committed corpus file."""
    df = base_table()
    files: dict[str, str | bytes] = {}

    # -- empty and too small
    files["empty.csv"] = b""
    files["whitespace_only.csv"] = "\n   \n\t\n"
    files["header_only.csv"] = ",".join(df.columns) + "\n"
    files["one_row.csv"] = _csv(df.head(1))
    files["nine_rows.csv"] = _csv(df.head(9))

    # -- not text at all, or the wrong kind of file
    files["binary_garbage.csv"] = np.random.default_rng(1).bytes(2048)
    files["xlsx_renamed.csv"] = _xlsx_like()
    files["xls_renamed.csv"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    files["parquet_named.csv"] = _parquet(df)
    files["text_named.parquet"] = _csv(df)
    files["text_named.npz"] = _csv(df)
    files["gzipped.csv"] = gzip.compress(_csv(df).encode(), mtime=0)
    files["pickled.pkl"] = pickle.dumps({"a": [1, 2, 3]}, protocol=4)
    files["single_array.npz"] = _npy(np.zeros((12, 3)))
    files["unsupported.json"] = '{"img": [1, 2, 3]}\n'

    # -- delimiters and quoting
    files["semicolon.csv"] = _csv(df, sep=";")
    files["tab_named.csv"] = _csv(df, sep="\t")
    files["decimal_comma.csv"] = _csv(df, sep=";", decimal=",")
    quoted = df.copy()
    quoted["id"] = [f"s{i},{i}" for i in range(N)]
    quoted["label"] = (["cat, black", "dog, small", 'bird "tweety"'] * N)[:N]
    files["quoted_commas.csv"] = _csv(quoted)  # pandas quotes every field with a comma
    text = _csv(df).splitlines()
    files["unclosed_quote.csv"] = "\n".join([*text[:4], '"s3,0.1,0.2,0.3,0.4,0.5,cat', *text[5:]])
    files["ragged_row.csv"] = "\n".join([*text[:3], text[3] + ",9,9", *text[4:]]) + "\n"

    # -- cell values
    mixed = df.astype({"img__p1": object})
    mixed.loc[3, "img__p1"] = "abc"
    files["mixed_types.csv"] = _csv(mixed)
    files["nan_cells.csv"] = _csv(df.assign(txt__f0=df["txt__f0"].where(df.index != 2)))
    files["inf_cells.csv"] = _csv(df).replace(str(df.loc[5, "img__p2"]), "inf", 1)
    empty = _csv(df).splitlines()
    empty[8] = empty[8].replace(f",{df.loc[7, 'txt__f1']},", ",,")
    files["empty_cells.csv"] = "\n".join(empty) + "\n"
    files["missing_label.csv"] = _csv(df.assign(label=df["label"].where(df.index != 4)))
    files["empty_id.csv"] = _csv(df.assign(id=df["id"].where(df.index != 6)))
    files["huge_value.csv"] = _csv(df.assign(txt__f1=df["txt__f1"].where(df.index != 9, 1e39)))
    files["all_missing_column.csv"] = _csv(df.assign(img__p2=np.nan))

    # -- text encodings (these load)
    files["utf8_bom.csv"] = b"\xef\xbb\xbf" + _csv(df).encode()
    files["utf16.csv"] = _csv(df).encode("utf-16")
    gbk = df.rename(
        columns={
            "id": "编号",
            "img__p0": "图像__像素0",
            "img__p1": "图像__像素1",
            "img__p2": "图像__像素2",
            "txt__f0": "文本__特征0",
            "txt__f1": "文本__特征1",
            "label": "类别",
        }
    ).assign(类别=(["猫", "狗", "鸟"] * N)[:N])
    files["gbk_chinese.csv"] = _csv(gbk).encode("gbk")
    files["non_ascii_columns.csv"] = _csv(
        df.rename(
            columns={
                "img__p0": "bild__größe",
                "img__p1": "bild__höhe",
                "img__p2": "bild__breite",
                "txt__f0": "texte__été",
                "txt__f1": "texte__ñandú",
            }
        )
    ).encode()

    # -- columns
    dup = _csv(df).splitlines()
    dup[0] = dup[0].replace("img__p1", "img__p0")
    files["duplicate_columns.csv"] = "\n".join(dup) + "\n"
    files["duplicate_ids.csv"] = _csv(df.assign(id=df["id"].where(df.index != 5, "s3")))
    files["single_modality.csv"] = _csv(df.drop(columns=["txt__f0", "txt__f1"]))
    files["no_prefixes.csv"] = _csv(
        df.rename(columns=lambda c: c.replace("__", "_") if "__" in c else c)
    )
    files["constant_modality.csv"] = _csv(df.assign(txt__f0=1.0, txt__f1=2.0))
    files["constant_column.csv"] = _csv(df.assign(img__p2=0.5))
    files["one_column_each.csv"] = _csv(df[["id", "img__p0", "txt__f0", "label"]])
    files["one_class.csv"] = _csv(df.assign(label="cat"))
    files["singleton_class.csv"] = _csv(df.assign(label=(["cat", "dog"] * N)[: N - 1] + ["fox"]))
    files["image_columns.csv"] = _csv(df)

    # -- one file per modality
    files["rows_img.csv"] = _csv(df[["img__p0", "img__p1", "img__p2", "label"]])
    files["rows_txt_short.csv"] = _csv(df[["txt__f0", "txt__f1"]].head(11))
    files["ids_img.csv"] = _csv(df[["id", "img__p0", "img__p1"]])
    files["ids_txt_other.csv"] = _csv(
        df[["txt__f0", "txt__f1"]].assign(id=[f"x{i}" for i in range(N)])
    )
    files["dup_ids_txt.csv"] = _csv(
        df[["id", "txt__f0"]].assign(id=df["id"].where(df.index != 2, "s1"))
    )
    files["only_features_txt.csv"] = _csv(df[["id", "txt__f0", "txt__f1"]])

    # -- NPZ archives
    rng = np.random.default_rng(2)
    labels = np.arange(N) % 2
    files["npz_object.npz"] = _npz(
        a=rng.normal(size=(N, 2)), b=np.array([{"word": i} for i in range(N)], dtype=object)
    )
    files["npz_mismatched.npz"] = _npz(
        a=rng.normal(size=(N, 2)), b=rng.normal(size=(N - 1, 3)), labels=labels
    )
    files["npz_one_modality.npz"] = _npz(a=rng.normal(size=(N, 2)), labels=labels)
    files["npz_colour_images.npz"] = _npz(
        a=rng.normal(size=(N, 2)), img=rng.random(size=(N, 4, 4, 3)), labels=labels
    )
    files["npz_text_features.npz"] = _npz(
        a=rng.normal(size=(N, 2)), words=np.array(["w"] * N).reshape(N, 1), labels=labels
    )
    files["npz_truncated.npz"] = _npz(a=rng.normal(size=(N, 2)), b=rng.normal(size=(N, 3)))[:300]
    files["npz_images.npz"] = _npz(
        img=rng.random(size=(N, 4, 4)), txt=rng.normal(size=(N, 5)), labels=labels
    )

    # -- Parquet
    nested = df.copy()
    nested["txt__f1"] = [[0.1 * i, 0.2] for i in range(N)]
    files["parquet_nested.parquet"] = _parquet(nested)
    files["parquet_strings.parquet"] = _parquet(df.assign(txt__f1="word"))
    files["parquet_dates.parquet"] = _parquet(
        df.assign(img__p1=pd.date_range("2024-01-01", periods=N, freq="D"))
    )
    files["parquet_truncated.parquet"] = _parquet(df)[:-50]

    return {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _wide(n_cols: int) -> str:
    """A prefix table with n_cols feature columns in two modalities, 12 rows, 2 classes."""
    rng = np.random.default_rng(3)
    half = n_cols // 2
    cols = [f"a__{i}" for i in range(half)] + [f"b__{i}" for i in range(n_cols - half)]
    df = pd.DataFrame(rng.integers(0, 10, size=(N, n_cols)), columns=cols)
    df["label"] = np.arange(N) % 2
    return _csv(df)


def write_large(folder: Path) -> Path:
    """Write the generated (large) cases into ``folder``; returns it."""
    from fusion.loaders import max_file_bytes

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "wide_10000.csv").write_text(_wide(10_000))
    (folder / "wide_25000.csv").write_text(_wide(25_000))
    # Over the file-size bound of the memory budget: a valid header, then zeros; sparse on
    # most file systems, and the loader refuses it from its size before reading it.
    with open(folder / "over_cap.csv", "wb") as f:
        f.write(b"a__x,b__y\n")
        f.truncate(max(max_file_bytes(), 50 * 2**20) + 2**20)  # 51 MiB under the tests' budget
    return folder


def write_small(folder: Path = HERE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in small_files().items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    write_small(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
