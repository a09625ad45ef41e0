"""AppTest of the export panel: its download buttons, in both languages, with and without PNG,
and what it says about the training data of a run made from uploaded files."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fusion import export
from fusion.i18n import translate
from tests.apptest_helpers import make_run


def panel_app(run_path: str, n_figures: int = 2, data_csv: str | None = None) -> None:
    """The app under test: the panel for one run, with a few figures (and a dataset)."""
    from pathlib import Path

    import plotly.graph_objects as go

    from views.parts.export_panel import export_panel

    figures = {
        f"Figure {i}": go.Figure(go.Scatter(x=[0, 1, 2], y=[i, 2, 1])) for i in range(n_figures)
    }
    data = None
    if data_csv:
        from fusion.loaders import load

        data = load(data_csv)
    export_panel(Path(run_path), figures, data=data)


def run_panel(lang: str = "en", **kwargs) -> AppTest:
    at = AppTest.from_function(panel_app, kwargs=kwargs, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs"), "panel-demo")


@pytest.fixture(autouse=True)
def fresh_png_check():
    from views.parts.export_panel import _png_available

    _png_available.clear()
    yield
    _png_available.clear()


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


@pytest.mark.slow
def test_panel_offers_zip_projector_script_and_each_figure(run):
    at = run_panel(run_path=str(run))
    got = labels(at)
    tr = lambda key: translate(key, "en")  # noqa: E731
    for key in ("zip_button", "vectors_button", "metadata_button", "script_button"):
        assert tr(f"export.{key}") in got
    assert got.count(tr("export.html_button")) == 2
    if export.png_available():
        assert got.count(tr("export.png_button")) == 2
    keys = {b.key for b in at.get("download_button")}
    assert {"export_zip", "export_vectors", "export_metadata", "export_script"} <= keys
    assert {"export_fig0_html", "export_fig1_html"} <= keys
    assert not any(translate("export.data_missing", "en") == c.value for c in at.caption)


def test_without_a_browser_the_panel_points_at_the_camera_button(run, monkeypatch):
    monkeypatch.setattr(export, "png_available", lambda: False)
    at = run_panel(run_path=str(run))
    assert translate("export.png_button", "en") not in labels(at)
    assert translate("export.html_button", "en") in labels(at)
    assert any(c.value == translate("export.png_unavailable", "en") for c in at.caption)


def test_panel_speaks_chinese(run):
    at = run_panel("zh", run_path=str(run), n_figures=0)
    got = labels(at)
    assert got == [
        translate("export.zip_button", "zh"),
        translate("export.vectors_button", "zh"),
        translate("export.metadata_button", "zh"),
        translate("export.script_button", "zh"),
    ]
    assert "复现脚本" in got
    assert at.caption[0].value == translate("export.intro", "zh")


@pytest.mark.slow
def test_uploaded_data_run_says_whether_its_data_is_in_the_zip(tmp_path):
    from fusion import loaders
    from fusion.experiment import default_config, run_experiment
    from fusion.generators import shared_latent
    from fusion.runs import save_run

    csv = tmp_path / "upload.csv"
    csv.write_bytes(export.data_to_bytes(shared_latent(n=120, n_classes=3, seed=5), "csv"))
    cfg = default_config("joint", epochs=1, batch_size=32, n_snapshots=1)
    path = save_run(run_experiment(loaders.load(csv), cfg), root=tmp_path / "runs", name="up")

    at = run_panel(run_path=str(path), n_figures=0)
    captions = [c.value for c in at.caption]
    assert translate("export.data_missing", "en") in captions

    at = run_panel(run_path=str(path), n_figures=0, data_csv=str(csv))
    captions = [c.value for c in at.caption]
    assert translate("export.data_included", "en") in captions


def test_button_callables_build_the_files(run):
    """What the buttons hand Streamlit to run on click (AppTest cannot click a download)."""
    from views.parts.explore_helpers import run_signature
    from views.parts.export_panel import _projector, _script, _zip_bytes

    path = str(Path(run))
    blob = _zip_bytes(path, None, "none")
    assert blob[:2] == b"PK" and blob == _zip_bytes(path, None, "none")
    vectors, metadata = _projector(path, run_signature(path))
    assert vectors.count("\n") == metadata.count("\n") - 1
    assert _script(path, run_signature(path)).startswith("#!/usr/bin/env python")


def test_figure_file_names_carry_the_run_and_title_not_the_icon():
    """The PNG's name carries the run and title, never the icon (material-scatter_plot-...)."""
    from views.parts.export_panel import _file_stem

    assert _file_stem(":material/scatter_plot: Shared space", "demo") == "demo-Shared-space"
    assert _file_stem(":material/center_focus_strong: 注意力", "demo") == "demo-注意力"
    assert _file_stem("Training loss / step") == "Training-loss-step"
    assert _file_stem(":material/table_chart:") == "figure"
