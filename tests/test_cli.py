"""The command line: the documented forms work; bad input exits non-zero with a clear message."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from fusion.cli import main


@pytest.mark.slow
def test_generate_train_project_runs(tmp_path, runs_dir, capsys):
    data = tmp_path / "data.parquet"
    assert main(["generate", "shared_latent", "--n", "300", "--seed", "0", "--out", str(data)]) == 0
    df = pd.read_parquet(data)
    assert len(df) == 300 and "a__0" in df.columns and "label" in df.columns

    out = tmp_path / "runs" / "demo"
    assert (
        main(
            [
                "train",
                "--data",
                "shared_latent",
                "--param",
                "n=300",
                "--epochs",
                "2",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert "recall_at_1_a_to_b" in metrics and "recall_at_1_a_to_b_chance" in metrics

    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--method",
                "attention",
                "--label-column",
                "label",
                "--epochs",
                "2",
                "--out",
                str(tmp_path / "runs" / "att"),
            ]
        )
        == 0
    )
    assert "accuracy" in json.loads((tmp_path / "runs" / "att" / "metrics.json").read_text())

    assert main(["project", str(out), "--method", "pca", "--html", str(tmp_path / "map.html")]) == 0
    maps = list(out.glob("map_pca_epoch*.parquet"))
    assert maps and {"u", "v", "modality"} <= set(pd.read_parquet(maps[0]).columns)
    assert (tmp_path / "map.html").stat().st_size > 1000

    capsys.readouterr()
    assert main(["runs", "--root", str(tmp_path / "runs")]) == 0
    listed = capsys.readouterr().out
    assert "demo" in listed and "att" in listed


def test_two_files_aligned_by_id(tmp_path, runs_dir):
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(120)]
    y = np.arange(120) % 3
    a = pd.DataFrame(rng.normal(size=(120, 4)) + y[:, None], columns=list("wxyz")).assign(id=ids)
    b = pd.DataFrame(rng.normal(size=(120, 3)) + y[:, None], columns=list("pqr")).assign(id=ids)
    a.to_csv(tmp_path / "view_a.csv", index=False)
    b.sample(frac=1, random_state=0).to_csv(tmp_path / "view_b.csv", index=False)
    out = tmp_path / "runs" / "mine"
    rc = main(
        [
            "train",
            "--data",
            str(tmp_path / "view_a.csv"),
            "--data",
            str(tmp_path / "view_b.csv"),
            "--id-column",
            "id",
            "--method",
            "joint",
            "--loss",
            "triplet",
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--out",
            str(out),
        ]
    )
    assert rc == 0 and (out / "metrics.json").is_file()


def test_bad_input_exits_2_with_message(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("")
    assert main(["train", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "bad.csv" in err and "Traceback" not in err
    assert main(["train", "--data", "no_such_thing"]) == 2
    assert "No such file or generator" in capsys.readouterr().err
    assert main(["train", "--data", "shared_latent", "--batch-size", "100000"]) == 2
    assert "Batch size" in capsys.readouterr().err


def test_python_dash_m_help():
    out = subprocess.run(
        [sys.executable, "-m", "fusion", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in ("generate", "train", "project", "runs"):
        assert cmd in out.stdout


@pytest.mark.slow
def test_progress_in_a_log_is_one_line_per_epoch_and_quiet_is_silent(tmp_path, runs_dir, capsys):
    """A hand-drawn '\\r' bar flooded logs; a log now gets one readable line per epoch."""
    args = ["train", "--data", "shared_latent", "--param", "n=300", "--epochs", "3"]
    assert main([*args, "--out", str(tmp_path / "runs" / "log")]) == 0
    err = capsys.readouterr().err  # pytest's captured stderr is not a terminal
    assert "\r" not in err
    epoch_lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in epoch_lines] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line for line in epoch_lines)
    # The first and last epochs are always measured; one between may be skipped by the
    # per-epoch evaluation's time budget (fusion.train.EVAL_SHARE), and then says so.
    assert "recall_at_1_mean=" in epoch_lines[0] and "recall_at_1_mean=" in epoch_lines[-1]
    assert all("recall_at_1_mean=" in line or "not measured" in line for line in epoch_lines)
    assert main([*args, "--quiet", "--out", str(tmp_path / "runs" / "quiet")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "recall_at_1_mean" in captured.out  # the results still print


def test_progress_on_a_terminal_is_a_tqdm_bar():
    import io

    from fusion.cli import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream=stream)
    progress.start(epochs=2, batches_per_epoch=3)
    for epoch in (1, 2):
        progress.steps(3, {"epoch": epoch, "step": 3 * epoch, "loss": 0.5})
        progress.epoch_done({"epoch": epoch, "seconds": 0.1, "val_recall_at_1_mean": 0.2})
    progress.close()
    text = stream.getvalue()
    assert "6/6" in text and "epoch 2/2" in text and "step" in text


@pytest.mark.slow
def test_train_prints_the_rows_and_the_verdict_with_its_interval(tmp_path, runs_dir, capsys):
    """Small labelled data on the defaults: the batch adapts instead of refusing the data,
    the run is cross-validated, and the output says so and gives the paired verdict."""
    rng = np.random.default_rng(0)
    y = np.arange(80) % 4
    df = pd.DataFrame(
        {
            **{f"a__{i}": rng.normal(size=80) + (y == i) * 2.0 for i in range(4)},
            **{f"b__{i}": rng.normal(size=80) for i in range(3)},
            "label": y,
        }
    )
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "runs" / "small"
    args = ["train", "--data", str(path), "--method", "attention", "--label-column", "label"]
    assert main([*args, "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5-fold cross-validation" in printed and "80 rows" in printed
    # 80 rows, 5 folds: 16 test and 16 validation rows, 48 training rows in each fold.
    assert "The batch size (128) is larger than the 48 training rows" in printed
    assert json.loads((out / "config.json").read_text())["train"]["batch_size"] == 48
    verdict = next(line for line in printed.splitlines() if line.split(":")[0] in VERDICTS)
    assert "95 % interval" in verdict and "80 test rows" in verdict
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test_rows"] == 80 and saved["verdict"]["test_rows"] == 80


VERDICTS = ("BEAT", "LEVEL", "BELOW")


def test_set_reaches_what_the_form_can_and_refuses_clearly(tmp_path, runs_dir, capsys):
    out = tmp_path / "runs" / "set"
    args = ["train", "--data", "shared_latent", "--param", "n=150", "--epochs", "2"]
    settings = ["--set", "train.patience=1", "--set", "train.standardize=false"]
    assert main([*args, *settings, "--set", "model.encoder.depth=2", "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["patience"] == 1 and saved["train"]["standardize"] is False
    assert saved["model"]["encoder"]["depth"] == 2 and saved["train"]["epochs"] == 2
    capsys.readouterr()
    for bad, words in (
        ("train.patient=3", "no such setting"),
        ("train.patience=soon", "must be an integer"),
        ("train.patience=-1", "patience must be 0 (off)"),
        ("train.patience", "must look like path=value"),
    ):
        assert main([*args, "--set", bad, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (bad, err)
