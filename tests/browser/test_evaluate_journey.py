"""Someone with a small labelled table gets honest numbers: they upload it, train attention
fusion, read its verdict against the simple baselines (with its interval) on Explore, then
cross-validate several methods on Compare's "Evaluate on my data" and read the table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.browser.test_faults import choose
from tests.browser.test_journeys import (
    keyed,
    open_tab,
    set_epochs,
    upload,
    wait_for_alert,
    wait_for_text,
)

pytestmark = pytest.mark.browser

N = 120
TRAIN_S = 180
EVALUATE_S = 420
VERDICTS = (
    "Beat the baseline",
    f"No detectable difference with {N} test rows",
    "Below the baseline",
)


def write_table(path, n: int = N, seed: int = 0) -> None:
    """Two modalities by prefix (``a__0..a__3``, ``b__0..b__3``) and a ``label`` column."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    a = rng.normal(size=(n, 4)) + 1.2 * labels[:, None]
    b = rng.normal(size=(n, 4)) + 0.6 * labels[:, None]
    header = [f"a__{j}" for j in range(4)] + [f"b__{j}" for j in range(4)] + ["label"]
    lines = [",".join(header)]
    for i in range(n):
        values = [f"{v:.4f}" for v in (*a[i], *b[i])]
        lines.append(",".join([*values, f"class_{labels[i]}"]))
    path.write_text("\n".join(lines) + "\n")


def test_upload_train_read_the_verdict_then_evaluate_five_folds(app, tmp_path):
    table = tmp_path / "small.csv"
    write_table(table)
    app.nav("Data")
    open_tab(app, "Upload files")
    upload(app, table)
    wait_for_text(app, f"{N} rows × 9 columns", 30)
    app.page.get_by_test_id("stMain").get_by_role("button", name="Load", exact=True).click()
    wait_for_alert(app, "Success", "Loaded")
    wait_for_text(app, "small.csv", 30, where="stSidebar")
    app.wait()

    app.nav("Train")
    choose(app, "train_method", "Attention fusion")
    keys = ["Home", *["ArrowRight"] * 9]
    assert set_epochs(app, "tr_epochs_attention_cross_entropy", keys) == 10
    app.page.get_by_role("button", name="Start training").click()
    wait_for_text(app, "Training finished.", TRAIN_S)
    app.wait()
    app.shot("train-finished")

    app.nav("Explore")
    wait_for_text(app, "Against simple baselines", 60)
    panel = keyed(app, "explore_baselines")
    panel.scroll_into_view_if_needed()
    text = app.main_text()
    said = [v for v in VERDICTS if v in text]
    assert said, f"no verdict on Explore; the page says:\n{text[:3000]}"
    assert re.search(r"95 % interval [+-]\d+\.\d to [+-]\d+\.\d", text), text[:3000]
    app.shot("explore-verdict")

    app.nav("Compare")
    app.page.get_by_test_id("stExpander").filter(has_text="Evaluate on my data").locator(
        "summary"
    ).click()
    form = keyed(app, "evaluate_setup")
    form.wait_for()
    for method in ("Attention fusion", "Early fusion (baseline)", "Single modality (baseline)"):
        assert form.get_by_role("checkbox", name=method).is_checked(), method
    folds = keyed(app, "evaluate_folds").get_by_role("spinbutton")
    assert folds.input_value() == "5"
    epochs = keyed(app, "evaluate_epochs").get_by_role("spinbutton")
    epochs.fill("10")
    epochs.press("Tab")
    app.shot("evaluate-form")
    form.get_by_role("button", name="Evaluate").click()
    # Live progress: folds done of 20 (attention, early, single on a and on b, 5 folds each).
    progress = keyed(app, "evaluate_progress")
    progress.get_by_text(re.compile(r"\d+ of 20 folds done")).wait_for(timeout=60_000)
    assert "Attention fusion: " in progress.inner_text()
    app.shot("evaluate-running")
    result = keyed(app, "evaluate_result")
    result.wait_for(timeout=EVALUATE_S * 1000)
    app.wait()
    app.assert_no_exception()
    wait_for_text(app, f"Evaluated by 5-fold cross-validation on {N} rows", 30)
    table = result.get_by_test_id("stTable")
    table.scroll_into_view_if_needed()
    app.shot("evaluate-table")
    rows = {}
    for tr in table.locator("tbody tr").all():
        cells = [c.inner_text().strip() for c in tr.locator("td, th").all()]
        rows[cells[0]] = cells
    for name in ("Attention fusion", "Early fusion (baseline)", "Single modality (baseline): a"):
        assert name in rows, rows
        score, interval, test_rows, folds, verdict, difference = rows[name][1:]
        assert re.fullmatch(r"accuracy (0\.\d+|1|0)", score), score
        assert re.fullmatch(r"[\d.]+ – [\d.]+", interval), interval
        assert test_rows == str(N) and folds == "5 of 5"
        assert verdict in VERDICTS, verdict
        assert re.fullmatch(r"[+-]\d+\.\d \([+-]\d+\.\d to [+-]\d+\.\d\)", difference)
    assert "Logistic regression: all modalities concatenated" in rows
    chosen = [r for r in rows.values() if "The baseline set against" in r[5]]
    assert len(chosen) == 1, rows
    # The CSV download holds the same rows, with plain keys.
    with app.page.expect_download() as dl:
        result.get_by_role("button", name="Download the table (CSV)").click()
    csv = Path(dl.value.path()).read_text(encoding="utf-8").splitlines()
    assert csv[0].startswith("method,metric,score,low,high,test_rows,folds,folds_total,verdict")
    keyed_rows = {line.split(",")[0]: line.split(",") for line in csv[1:]}
    for key in ("attention", "early", "single:a", "single:b", "logistic:concat"):
        assert key in keyed_rows, csv
        assert keyed_rows[key][5] == str(N) and keyed_rows[key][6] == "5", keyed_rows[key]
    assert keyed_rows["attention"][8] in ("beat", "level", "below")
    # The form kept what was asked.
    assert keyed(app, "evaluate_epochs").get_by_role("spinbutton").input_value() == "10"
