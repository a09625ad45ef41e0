"""AppTest for the Data page: generate with parameters, upload and map columns, errors, preview."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import open_page
from views.site import DATA


def open_data(**state) -> AppTest:
    return open_page(DATA, timeout=60, **state)


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_data_page_without_data_offers_generators_and_upload():
    at = open_data()
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Data")
    assert at.selectbox(key="gen_name").value == "shared_latent"
    assert len(at.selectbox(key="gen_name").options) == 4
    assert any(b.label == "Generate" for b in at.button)
    assert at.file_uploader[0].accept_multiple_files
    assert any("No active dataset yet" in i.value for i in at.info)
    # Widgets come from the generators' declared params: a per-modality list as text, ranges as sliders.
    assert at.text_input(key="gen_shared_latent_dims").value == "32, 16"
    assert at.slider(key="gen_shared_latent_n_classes").value == 8


def test_noise_and_corrupted_fraction_are_sliders_with_their_ranges():
    """Sliders over their ranges, not free text boxes; one value per modality stays possible."""
    at = open_data()
    noise = at.slider(key="gen_shared_latent_noise")
    corrupt = at.slider(key="gen_shared_latent_corrupt_fraction")
    assert (noise.min, noise.max, noise.value) == (0.0, 5.0, 0.3)
    assert (corrupt.min, corrupt.max, corrupt.value) == (0.0, 1.0, 0.0)
    noise.set_value(1.5)
    at.text_input(key="gen_shared_latent_corrupt_fraction_each").input("0, 0.5")
    click(at, "Generate")
    assert not at.exception, at.exception
    params = at.session_state["dataset"].source["params"]
    assert params["noise"] == 1.5 and params["corrupt_fraction"] == [0.0, 0.5]


def test_generate_with_parameters_makes_the_active_dataset_and_previews_it():
    at = open_data()
    at.selectbox(key="gen_name").select("gated_reliability").run()
    at.number_input(key="gen_gated_reliability_n").set_value(300)
    at.slider(key="gen_gated_reliability_n_classes").set_value(3)
    at.text_input(key="gen_gated_reliability_p_informative").input("0.8, 0.2")
    click(at, "Generate")
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    assert data.n == 300 and data.n_classes == 3 and data.source["params"]["n"] == 300
    assert at.session_state["dataset_label"].startswith("gated_reliability")
    assert any("Generated 300 samples" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == "300" and metrics["Modalities"] == "2"
    assert len(at.get("plotly_chart")) >= 2  # one PCA per modality
    stats = at.dataframe[0].value
    assert list(stats["modality"]) == ["a", "b"] and set(stats["missing"]) == {"none"}
    assert any(d.label == "CSV" for d in at.get("download_button"))


def test_bad_parameter_shows_the_fix_and_keeps_the_previous_dataset():
    at = open_data()
    click(at, "Generate")
    before = at.session_state["dataset_label"]
    at.text_input(key="gen_shared_latent_dims").input("32, abc")
    click(at, "Generate")
    assert any("comma-separated" in e.value for e in at.error)
    assert at.session_state["dataset_label"] == before


def test_upload_one_table_maps_columns_and_loads(small_latent):
    from fusion.export import data_to_bytes

    at = open_data()
    csv = data_to_bytes(small_latent, "csv")
    at.file_uploader[0].set_value(("mine.csv", csv, "text/csv")).run()
    assert not at.exception, at.exception
    # The mapping is prefilled from suggest_mapping: '<modality>__' prefixes, label and id.
    cols = [m.value for m in at.multiselect]
    assert cols[0][0] == "a__0" and cols[1][0] == "b__0"
    labels = {s.label: s.value for s in at.selectbox}
    assert labels["Label column"] == "label" and labels["Id column"] == "id"
    click(at, "Load")
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    assert data.names == ["a", "b"] and data.n == small_latent.n and data.n_classes == 4
    assert at.session_state["dataset_label"] == "mine.csv"


def test_upload_errors_name_the_fix_and_keep_the_previous_dataset(small_latent):
    at = open_data(dataset=small_latent, dataset_label="before")
    at.file_uploader[0].set_value(("table.csv", b"PK\x03\x04broken", "text/csv")).run()
    assert any("zip archive" in e.value for e in at.error)
    assert at.session_state["dataset_label"] == "before"
    # An NPZ archive with a single array: paired data needs two modalities.
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros((20, 3), dtype=np.float32))
    at.file_uploader[0].set_value(("one.npz", buf.getvalue(), "application/octet-stream")).run()
    click(at, "Load")
    assert at.error and "needs at least 2" in at.error[0].value
    assert at.session_state["dataset_label"] == "before"


def test_upload_one_file_per_modality_pairs_them():
    rng = np.random.default_rng(0)
    a = pd.DataFrame(rng.normal(size=(30, 3)), columns=["x0", "x1", "x2"])
    a["label"] = np.arange(30) % 3
    b = pd.DataFrame(rng.normal(size=(30, 2)), columns=["y0", "y1"])
    at = open_data()
    at.file_uploader[0].set_value(
        [
            ("image.csv", a.to_csv(index=False).encode(), "text/csv"),
            ("text.csv", b.to_csv(index=False).encode(), "text/csv"),
        ]
    ).run()
    assert {s.label: s.value for s in at.selectbox}["Label column"] == "label"
    click(at, "Load")
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    assert data.names == ["image", "text"] and data.input_shapes() == {"image": (3,), "text": (2,)}


def test_image_and_text_modalities_show_thumbnails_and_captions():
    from fusion.generators import digits_captions

    at = open_data(dataset=digits_captions(n=40, seed=0), dataset_label="digits")
    assert not at.exception, at.exception
    assert any("first 10 images" in str(c.proto.spec) for c in at.get("plotly_chart"))
    captions = at.dataframe[-2].value  # the caption table sits above "First rows"
    assert "text" in captions.columns and len(captions) == 10
