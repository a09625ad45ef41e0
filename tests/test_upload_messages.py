"""Uploads that cannot make paired data say what they need (a table with one numeric column,
a single .npy file), and the Data page names generated classes in the session's language."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fusion import loaders
from fusion.errors import DataError
from fusion.i18n import translate
from tests.apptest_helpers import chart_specs
from views.site import DATA

APP = Path(__file__).resolve().parents[1] / "app.py"


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


ONE_COLUMN = b"x\n" + b"\n".join(str(i / 7).encode() for i in range(50)) + b"\n"


def test_a_one_column_table_is_told_it_needs_two_modalities():
    guess = loaders.suggest_mapping(pd.DataFrame({"x": np.arange(50.0)}))
    assert guess["method"] == "one" and guess["modalities"] == {}
    assert loaders.suggest_mapping(pd.DataFrame({"x": ["a"] * 5}))["method"] == "none"
    with pytest.raises(DataError) as err:
        loaders.load([("one.csv", ONE_COLUMN)])
    assert err.value.key == "errors.loaders.table_one_numeric"
    text = str(err.value)
    assert "'one.csv' has only one numeric column" in text and "two modalities" in text
    assert "No numeric columns" not in text


def test_a_single_npy_file_is_told_to_add_the_other_modalitys_file():
    one = _npy(np.zeros((20, 4), np.float32))
    with pytest.raises(DataError) as err:
        loaders.load([("image.npy", one)])
    text = str(err.value)
    assert "Add the other modality's .npy file" in text, text
    assert ".npy" in translate(err.value.key, "zh", file="image.npy")
    # ...and the two together load.
    rng = np.random.default_rng(0)
    pair = [_npy(rng.normal(size=(20, 4)).astype(np.float32)) for _ in range(2)]
    data = loaders.load([("image.npy", pair[0]), ("text.npy", pair[1])])
    assert data.names == ["image", "text"]


def test_the_data_page_says_what_a_one_column_table_and_a_single_npy_need(small_latent):
    from tests.apptest_helpers import open_page

    at = open_page(DATA, timeout=60, dataset=small_latent, dataset_label="before")
    at.file_uploader[0].set_value(("one.csv", ONE_COLUMN, "text/csv")).run()
    assert not at.exception, at.exception
    shown = [w.value for w in at.warning]
    assert any("only one numeric column" in w and "two modalities" in w for w in shown), shown
    assert not any("No numeric columns" in c.value for c in at.caption)
    one = _npy(np.zeros((20, 4), np.float32))
    at.file_uploader[0].set_value(("image.npy", one, "application/octet-stream")).run()
    assert any("Add the other modality's .npy file" in e.value for e in at.error), at.error
    assert at.session_state["dataset_label"] == "before"


def test_the_data_preview_names_generated_classes_in_the_sessions_language(small_latent):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["lang"] = "zh"
    at.session_state["dataset"] = small_latent
    at.run()
    at.switch_page(DATA.script)
    at.run()
    assert not at.exception, at.exception
    first = at.dataframe[-1].value  # the first rows of the active dataset
    assert set(first["label"]) <= {f"类别 {c}" for c in range(4)}, set(first["label"])
    assert at.get("plotly_chart"), "no PCA chart"
    shown = chart_specs(at)
    assert "类别 0" in shown and "class 0" not in shown
