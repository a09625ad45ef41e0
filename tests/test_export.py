"""Run exports: the zip's files, the Embedding Projector TSVs, figures as HTML/PNG, and the
exported ``reproduce.py`` run in a subprocess, whose metrics must match the run's."""

from __future__ import annotations

import difflib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fusion import export, loaders
from fusion.errors import FusionError
from fusion.templates import reproduce as template_module
from tests.apptest_helpers import make_run

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

COMMON = {
    "config.json",
    "run.json",
    "history/epochs.csv",
    "history/steps.csv",
    "history/steps.parquet",
    "metrics/metrics.json",
    "metrics/metrics.csv",
    "embeddings/last_snapshot.csv",
    "embeddings/last_snapshot.parquet",
    "embeddings/all_snapshots.csv",
    "embeddings/all_snapshots.parquet",
    "projector/vectors.tsv",
    "projector/metadata.tsv",
    "reproduce.py",
    "README.txt",
}


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs"), "joint-demo")


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory):
    """A run trained on a CSV 'upload': (run folder, the loaded data, the CSV file)."""
    from fusion.experiment import default_config, run_experiment
    from fusion.generators import shared_latent
    from fusion.runs import save_run

    folder = tmp_path_factory.mktemp("upload")
    csv = folder / "my data.csv"
    csv.write_bytes(export.data_to_bytes(shared_latent(n=200, n_classes=3, seed=3), "csv"))
    data = loaders.load(csv)
    cfg = default_config("early", epochs=2, batch_size=32, n_snapshots=2)
    run = save_run(run_experiment(data, cfg), root=folder / "runs", name="uploaded")
    return run, data, csv


def unzip(blob: bytes, dest: Path) -> dict[str, bytes]:
    """Extract the archive under ``dest``; members by path inside the run's folder."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        tops = {n.split("/", 1)[0] for n in zf.namelist()}
        assert len(tops) == 1, f"one top folder expected, got {tops}"
        zf.extractall(dest)
        return {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist()}


def reproduce(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "reproduce.py", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_within_tolerance(exported: dict, reproduced: dict) -> float:
    """Every exported metric reproduced within the script's stated tolerance; the largest gap."""
    largest = 0.0
    for key, old in exported.items():
        if not isinstance(old, (int, float)):  # a structured entry (a verdict): not compared
            continue
        new = reproduced[key]
        if np.isnan(old) and np.isnan(new):
            continue
        diff = abs(new - old)
        assert diff <= export.tolerance(key, old, exported), (key, old, new)
        largest = max(largest, diff)
    return largest


# -- the zip ---------------------------------------------------------------------------------


def test_archive_holds_every_file_and_explains_each(joint_run, tmp_path):
    files = unzip(export.run_archive(joint_run), tmp_path)
    assert set(files) == COMMON | {"weights.pt"}
    assert (tmp_path / joint_run.name / "reproduce.py").is_file()
    readme = files["README.txt"].decode()
    for member in files:
        assert member in readme
    assert "PYTHONPATH" in readme and "regenerates" in readme
    assert files["config.json"] == (joint_run / "config.json").read_bytes()
    assert json.loads(files["metrics/metrics.json"]) == json.loads(
        (joint_run / "metrics.json").read_text()
    )
    import torch

    weights = torch.load(io.BytesIO(files["weights.pt"]), weights_only=True)
    assert weights and all(isinstance(v, torch.Tensor) for v in weights.values())


def test_archive_tables_agree_between_csv_and_parquet(joint_run, tmp_path):
    files = unzip(export.run_archive(joint_run), tmp_path)
    stored = pd.read_parquet(joint_run / "embeddings.parquet")
    for stem in ("last_snapshot", "all_snapshots"):
        csv = pd.read_csv(io.BytesIO(files[f"embeddings/{stem}.csv"]))
        parquet = pd.read_parquet(io.BytesIO(files[f"embeddings/{stem}.parquet"]))
        assert list(csv.columns) == list(parquet.columns)
        assert len(csv) == len(parquet) > 0
        z = [c for c in parquet.columns if c.startswith("z")]
        np.testing.assert_allclose(csv[z].to_numpy(), parquet[z].to_numpy(), rtol=1e-6, atol=1e-7)
        assert (csv["id"].astype(str) == parquet["id"].astype(str)).all()
        assert (csv["modality"] == parquet["modality"]).all()
    last = pd.read_parquet(io.BytesIO(files["embeddings/last_snapshot.parquet"]))
    assert set(last["epoch"]) == {stored["epoch"].max()}
    assert len(pd.read_parquet(io.BytesIO(files["embeddings/all_snapshots.parquet"]))) == len(
        stored
    )

    steps_csv = pd.read_csv(io.BytesIO(files["history/steps.csv"]))
    steps_pq = pd.read_parquet(io.BytesIO(files["history/steps.parquet"]))
    assert len(steps_csv) == len(steps_pq) > 0
    np.testing.assert_allclose(steps_csv.to_numpy(float), steps_pq.to_numpy(float), rtol=1e-9)


def test_metrics_table_pairs_each_metric_with_its_chance_level(joint_run, tmp_path):
    files = unzip(export.run_archive(joint_run), tmp_path)
    metrics = json.loads(files["metrics/metrics.json"])
    table = pd.read_csv(io.BytesIO(files["metrics/metrics.csv"]))
    assert list(table.columns) == ["metric", "value", "chance"]
    # Every metric with its chance level; the verdicts beside them are objects, not metrics.
    numbers = {k for k, v in metrics.items() if not isinstance(v, dict)}
    assert set(table["metric"]) == {k for k in numbers if not k.endswith("_chance")}
    assert metrics["verdict"]["test_rows"] == metrics["test_rows"]
    row = table.set_index("metric").loc["recall_at_1_mean"]
    assert row["value"] == pytest.approx(metrics["recall_at_1_mean"])
    assert row["chance"] == pytest.approx(metrics["recall_at_1_mean_chance"])
    assert np.isnan(table.set_index("metric").loc["alignment", "chance"])


def test_cca_run_has_no_weights_but_everything_else(tmp_path):
    run = make_run(tmp_path / "runs", "cca", method="cca")
    files = unzip(export.run_archive(run), tmp_path / "out")
    assert set(files) == COMMON
    assert "weights.pt" not in files["README.txt"].decode()


# -- Embedding Projector -----------------------------------------------------------------------


def test_projector_files_line_up_one_row_per_vector(joint_run):
    vectors, metadata = export.projector_files(joint_run)
    emb = pd.read_parquet(joint_run / "embeddings.parquet")
    last = emb[emb["epoch"] == emb["epoch"].max()]
    dim = sum(c.startswith("z") for c in emb.columns)

    vec_lines = vectors.rstrip("\n").split("\n")
    meta_lines = metadata.rstrip("\n").split("\n")
    assert len(vec_lines) == len(last) == len(meta_lines) - 1
    assert all(len(line.split("\t")) == dim for line in vec_lines)
    np.testing.assert_allclose(
        np.loadtxt(io.StringIO(vectors), delimiter="\t"),
        last[[f"z{i}" for i in range(dim)]].to_numpy(),
        rtol=1e-6,
        atol=1e-7,
    )
    header = meta_lines[0].split("\t")
    assert header[:4] == ["id", "modality", "label", "sample"]
    rows = [line.split("\t") for line in meta_lines[1:]]
    assert all(len(r) == len(header) for r in rows)
    assert all(line.strip() for line in meta_lines)  # the Projector drops blank lines
    assert [r[1] for r in rows] == list(last["modality"])
    assert [r[0] for r in rows] == [str(i) for i in last["id"]]
    assert {r[2] for r in rows} == set(last["label_name"])


def test_projector_earlier_snapshot_and_unknown_epoch(joint_run):
    first, _ = export.projector_files(joint_run, epoch=0)
    last, _ = export.projector_files(joint_run)
    assert first != last and first.count("\n") == last.count("\n")
    with pytest.raises(FusionError) as err:
        export.projector_files(joint_run, epoch=99)
    assert err.value.key == "errors.export.no_snapshot"
    epochs = sorted(pd.read_parquet(joint_run / "embeddings.parquet")["epoch"].unique())
    assert "99" in str(err.value) and ", ".join(map(str, epochs)) in str(err.value)


def test_projector_leaves_out_non_finite_rows_from_both_files(joint_run, tmp_path):
    run = Path(shutil.copytree(joint_run, tmp_path / "diverged"))
    emb = pd.read_parquet(run / "embeddings.parquet")
    last = emb["epoch"] == emb["epoch"].max()
    emb.loc[emb.index[last][:3], "z0"] = np.nan
    emb.to_parquet(run / "embeddings.parquet", index=False)
    vectors, metadata = export.projector_files(run)
    assert "nan" not in vectors.lower()
    assert vectors.count("\n") == last.sum() - 3 == metadata.count("\n") - 1


def test_projector_metadata_cells_never_hold_tabs_or_newlines(joint_run, tmp_path):
    run = Path(shutil.copytree(joint_run, tmp_path / "odd-ids"))
    emb = pd.read_parquet(run / "embeddings.parquet")
    emb["id"] = [f"row\t{i}\nx" for i in range(len(emb))]
    emb.to_parquet(run / "embeddings.parquet", index=False)
    _, metadata = export.projector_files(run)
    lines = metadata.rstrip("\n").split("\n")
    assert len(lines) - 1 == (emb["epoch"] == emb["epoch"].max()).sum()
    assert {len(line.split("\t")) for line in lines} == {len(lines[0].split("\t"))}


# -- figures -----------------------------------------------------------------------------------


@pytest.fixture
def figure():
    from fusion import plots

    return plots.metric_bars({"accuracy": 0.81, "macro_f1": 0.7}, chance={"accuracy": 0.25})


def test_html_figure_is_self_contained(figure):
    html = export.figure_bytes(figure, "html").decode("utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "Plotly.newPlot" in html and '"accuracy"' in html
    assert "<script src=" not in html  # plotly.js is inlined: opens offline
    assert len(html) > 1_000_000


@pytest.mark.slow
def test_png_figure_when_a_browser_is_installed(figure):
    # The project depends on kaleido and CI installs Debian's chromium: where it exists,
    # PNG export must work (no silent skip).
    if CHROMIUM.exists():
        assert export.png_available(), "chromium is installed but kaleido cannot use it"
    if export.png_available():
        png = export.figure_bytes(figure, "png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 5_000
        assert figure.layout.paper_bgcolor == "rgba(0,0,0,0)"  # the page's figure unchanged
    else:
        with pytest.raises(FusionError) as err:
            export.figure_bytes(figure, "png")
        assert err.value.key == "errors.export.png_unavailable"


def test_png_without_a_browser_names_the_camera_button(figure, monkeypatch):
    monkeypatch.setattr(export, "browser_path", lambda: None)
    assert not export.png_available()
    with pytest.raises(FusionError) as err:
        export.figure_bytes(figure, "png")
    assert err.value.key == "errors.export.png_unavailable"
    assert "camera" in str(err.value) and "BROWSER_PATH" in str(err.value)
    assert "相机" in err.value.localized("zh")


def test_unknown_figure_format(figure):
    with pytest.raises(FusionError) as err:
        export.figure_bytes(figure, "gif")
    assert err.value.key == "errors.export.unknown_format"


# -- reproduce.py ------------------------------------------------------------------------------


def test_reproduce_script_is_valid_python_whatever_the_file_names(tmp_path):
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"method": "joint", "loss": "info_nce", "data": {"files": ['C:\\new\\x"""y.csv']}}
        )
    )
    script = export.reproduce_script(tmp_path)
    namespace: dict = {"__name__": "not_main", "__file__": str(tmp_path / "reproduce.py")}
    exec(compile(script, "reproduce.py", "exec"), namespace)
    assert "C:\\new\\x" in namespace["__doc__"]
    # The configuration the script carries reads back unchanged, quotes and backslashes too.
    assert namespace["CONFIG"]["data"]["files"] == ['C:\\new\\x"""y.csv']
    assert namespace["EXPORTED_METRICS"] == {} and namespace["RUN"] == {}
    # The script carries the library's own tolerance rule.
    for args in (
        ("median_rank_a_to_b", 10.0),
        ("recall_at_1_mean", 0.028, {"retrieval_rows": 4000}),
    ):
        assert namespace["tolerance"](*args) == export.tolerance(*args)
    assert namespace["TOLERANCE_RULE"] == export.TOLERANCE_RULE


def test_the_script_is_the_template_with_the_run_in_four_lines(joint_run):
    """The exported script is fusion/templates/reproduce.py with only its docstring's title
    and the three marked lines replaced: the code itself is the template's, as linted."""
    template = export.reproduce_template().splitlines()
    script = export.reproduce_script(joint_run).splitlines()
    changed = [
        op for op in difflib.SequenceMatcher(a=template, b=script).get_opcodes() if op[0] != "equal"
    ]
    assert [line for _, i1, i2, _, _ in changed for line in template[i1:i2]] == [
        '"""' + template_module.__doc__.splitlines()[0],
        "CONFIG: dict = {}  # filled in: config.json",
        "EXPORTED_METRICS: dict = {}  # filled in: metrics.json",
        "RUN: dict = {}  # filled in: run.json",
    ]
    assert joint_run.name in script[1]


@pytest.mark.slow
def test_the_template_run_as_a_module_reproduces_a_saved_run(joint_run, tmp_path, monkeypatch):
    """The template is code: given a saved run's files in its three values, its main()
    retrains the run and finds every metric within the tolerance; a changed one fails."""
    read = lambda name: json.loads((joint_run / name).read_text(encoding="utf-8"))  # noqa: E731
    info = read("run.json")
    monkeypatch.setattr(template_module, "CONFIG", read("config.json"))
    monkeypatch.setattr(template_module, "EXPORTED_METRICS", read("metrics.json"))
    monkeypatch.setattr(
        template_module, "RUN", {k: info[k] for k in ("status", "n_val") if k in info}
    )
    out = tmp_path / "reproduced.json"
    assert template_module.main(["--output", str(out)]) == 0
    assert json.loads(out.read_text())["failed"] == []
    off = {**read("metrics.json"), "accuracy_of_nothing": 0.5}
    (tmp_path / "off.json").write_text(json.dumps(off))
    assert (
        template_module.main(["--output", str(out), "--metrics", str(tmp_path / "off.json")]) == 1
    )
    assert json.loads(out.read_text())["failed"] == ["accuracy_of_nothing"]


@pytest.mark.slow
def test_exported_script_reproduces_the_run(joint_run, tmp_path):
    unzip(export.run_archive(joint_run), tmp_path)
    folder = tmp_path / joint_run.name
    done = reproduce(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match within the tolerance" in done.stdout
    exported = json.loads((joint_run / "metrics.json").read_text())
    out = json.loads((folder / "reproduced_metrics.json").read_text())
    assert out["failed"] == []
    largest = assert_within_tolerance(exported, out["metrics"])
    # Same machine, same seeds, same library: the numbers are identical, not just close.
    assert largest < 1e-6, largest

    # A metric far off the exported one makes the script fail, naming it.
    exported["recall_at_1_mean"] += 0.5
    (folder / "metrics" / "metrics.json").write_text(json.dumps(exported))
    done = reproduce(folder, "--metrics", "metrics/metrics.json")
    assert done.returncode == 1
    assert "recall_at_1_mean" in done.stdout.splitlines()[-1]


@pytest.mark.slow
def test_the_script_downloaded_alone_reproduces_the_run(joint_run, tmp_path):
    """ "Reproduce script" on its own, without the zip, in an empty folder."""
    (tmp_path / "reproduce.py").write_text(export.reproduce_script(joint_run), encoding="utf-8")
    done = reproduce(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match within the tolerance" in done.stdout
    out = json.loads((tmp_path / "reproduced_metrics.json").read_text())
    exported = json.loads((joint_run / "metrics.json").read_text())
    numbers = {k for k, v in exported.items() if isinstance(v, (int, float))}
    assert set(out["metrics"]) >= numbers and out["failed"] == []
    assert assert_within_tolerance(exported, out["metrics"]) < 1e-6


@pytest.mark.slow
def test_the_script_alone_for_uploaded_data_asks_for_the_data(uploaded, tmp_path):
    run, _, csv = uploaded
    (tmp_path / "reproduce.py").write_text(export.reproduce_script(run), encoding="utf-8")
    done = reproduce(tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr, done.stderr
    assert "--data" in done.stderr and "my data.csv" in done.stderr
    assert "unzipped run folder" in done.stderr
    done = reproduce(tmp_path, "--data", str(csv))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_uploaded_data_goes_into_the_zip_and_reproduces(uploaded, tmp_path):
    run, data, _ = uploaded
    assert export.needs_data(run)
    assert export.data_matches_run(run, data)
    files = unzip(export.run_archive(run, data), tmp_path)
    assert set(files) >= COMMON | {export.DATA_FILE}
    back = loaders.load(tmp_path / run.name / export.DATA_FILE)
    assert back.names == data.names and back.label_names == data.label_names
    assert all(np.array_equal(back.modalities[k], data.modalities[k]) for k in data.names)
    assert np.array_equal(back.labels, data.labels) and np.array_equal(back.ids, data.ids)
    assert "data.npz holds the uploaded data" in files["README.txt"].decode()

    done = reproduce(tmp_path / run.name)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads((tmp_path / run.name / "reproduced_metrics.json").read_text())
    exported = json.loads((run / "metrics.json").read_text())
    assert assert_within_tolerance(exported, out["metrics"]) < 1e-6


@pytest.mark.slow
def test_uploaded_data_left_out_says_so_and_the_script_asks_for_it(uploaded, tmp_path):
    run, data, csv = uploaded
    other = loaders.load(csv)
    other.modalities["a"] = other.modalities["a"] + 1.0  # same file name, other values
    assert not export.data_matches_run(run, other)
    assert not export.data_matches_run(run, None)
    for given in (None, other):
        files = unzip(export.run_archive(run, given), tmp_path / str(id(given)))
        assert export.DATA_FILE not in files
        assert "NOT INCLUDED" in files["README.txt"].decode()
    folder = tmp_path / str(id(other)) / run.name
    done = reproduce(folder)
    assert done.returncode == 2
    assert "--data" in done.stderr and "my data.csv" in done.stderr
    done = reproduce(folder, "--data", str(csv))
    assert done.returncode == 0, done.stdout + done.stderr


def test_generated_runs_ignore_the_data_argument(joint_run, small_latent, tmp_path):
    assert not export.needs_data(joint_run)
    files = unzip(export.run_archive(joint_run, small_latent), tmp_path)
    assert export.DATA_FILE not in files


def test_the_reproduce_tolerance_scales_with_the_value_and_the_rows():
    """An adapter's R@1 of 0.028 on 4000 rows may not move by its whole value: the allowance
    is 5 % of the value or two rows' worth, never a fixed 0.05."""
    small = export.tolerance("recall_at_1_mean", 0.028, {"retrieval_rows": 4000})
    assert small == pytest.approx(max(export.ABS_TOL, 0.05 * 0.028, 2 / 4000))
    assert small < 0.1 * 0.028 + 1e-12
    # On 40 rows one flipped rank is 0.025: two rows' worth is allowed.
    assert export.tolerance("recall_at_1_mean", 0.5, {"retrieval_rows": 40}) == pytest.approx(0.05)
    assert export.tolerance("accuracy", 0.9, {"test_rows": 400}) == pytest.approx(0.045)
    assert export.tolerance("accuracy", 0.9, {}, n_rows=20) == pytest.approx(0.1)
    # Continuous metrics: 5 % of the value, at least ABS_TOL; median ranks in items.
    assert export.tolerance("alignment", 1.2) == pytest.approx(0.06)
    assert export.tolerance("modality_gap", 0.0) == export.ABS_TOL
    assert export.tolerance("median_rank_a_to_b", 100.0) == pytest.approx(5.0)
    assert "5%" in export.TOLERANCE_RULE and "2 rows" in export.TOLERANCE_RULE


@pytest.mark.slow
def test_reproduce_with_a_single_npy_says_what_to_add_without_a_traceback(uploaded, tmp_path):
    run, _, _ = uploaded
    (tmp_path / "reproduce.py").write_text(export.reproduce_script(run), encoding="utf-8")
    npy = tmp_path / "image.npy"
    np.save(npy, np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32))
    done = reproduce(tmp_path, "--data", str(npy))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "image.npy" in done.stderr and "Add the other modality's .npy file" in done.stderr
    done = reproduce(tmp_path, "--data", str(tmp_path / "nothing.csv"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no such file" in done.stderr
