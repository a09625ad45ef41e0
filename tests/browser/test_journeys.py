"""What a person does end to end, in a real browser against ``streamlit run app.py``.

1. A newcomer clicks "Try the demo" on Home and lands on a map of the shared space.
2. Someone uploads their own two-modality CSV, confirms the mapping, trains, explores.
3. Someone stops a long training; the stopped run is still explorable.
4. Someone uploads a bad file; a message names the problem, nothing else is lost.

Every page visited is checked for exception boxes and screenshotted (see conftest.py).
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from benchmarks.appserver import MAP_POINTS_JS
from tests.browser.conftest import EXCEPTION, SETTLED_FRAMES_JS

pytestmark = pytest.mark.browser

DEMO_TO_MAP_S = 120  # bounded wait from "Try the demo" to a map with points
TRAIN_S = 90  # bounded wait for a small training to finish
MIN_MAP_POINTS = 50


def wait_for_map(app, timeout_s: float, at_least: int = MIN_MAP_POINTS) -> int:
    """Wait until the page shows a scatter chart with ``at_least`` points (or an exception
    box, which fails); return how many points it shows."""
    # The count is the one the wait saw: a live map is redrawn twice a second, and a second
    # read can fall between two drawings (no points then).
    try:
        seen = app.page.wait_for_function(
            f"""n => {{
              if (document.querySelector('{EXCEPTION}')) return -1;
              const c = ({MAP_POINTS_JS})();
              return c >= n ? c : false;
            }}""",
            arg=at_least,
            timeout=timeout_s * 1000,
        ).json_value()
    except PlaywrightTimeout:
        raise AssertionError(
            f"no map with at least {at_least} points after {timeout_s:.0f} s on "
            f"{app.page.url}; the page says:\n{app.main_text()[:2000]}"
        ) from None
    app.assert_no_exception()
    return int(seen)


def write_csv(path, n: int = 300, seed: int = 0) -> None:
    """Two modalities by prefix (``image__*``, ``text__*``) plus ``label`` and ``id``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = rng.normal(scale=3.0, size=(3, 4))
    latent = centres[labels] + rng.normal(size=(n, 4))
    image = latent @ rng.normal(size=(4, 8)) + 0.3 * rng.normal(size=(n, 8))
    text = latent @ rng.normal(size=(4, 6)) + 0.3 * rng.normal(size=(n, 6))
    header = [f"image__{j}" for j in range(8)] + [f"text__{j}" for j in range(6)]
    header += ["label", "id"]
    lines = [",".join(header)]
    for i in range(n):
        values = [f"{v:.4f}" for v in (*image[i], *text[i])]
        lines.append(",".join([*values, f"class_{labels[i]}", f"s{i:04d}"]))
    path.write_text("\n".join(lines) + "\n")


def keyed(app, key: str):
    """The element a page created with ``key=...`` (Streamlit adds the class ``st-key-<key>``)."""
    return app.page.locator(f".st-key-{key}")


def wait_for_text(app, text: str, timeout_s: float, where: str = "stMain") -> None:
    """Wait until ``text`` shows in the main area, failing early on an exception box."""
    area = app.page.get_by_test_id(where)
    found = area.get_by_text(text).or_(app.page.locator(EXCEPTION)).first
    try:
        found.wait_for(state="attached", timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{text!r} did not appear within {timeout_s:.0f} s on {app.page.url}; the "
            f"page says:\n{area.inner_text()[:2000]}"
        ) from None
    app.assert_no_exception()


def set_epochs(app, key: str, keys: list[str]) -> int:
    """Drive a slider of the Train form from the keyboard; return the value it shows.

    The form sends its values when it is submitted; a slider outside a form sends its value
    a moment after it moved, which :meth:`App.wait` waits for."""
    thumb = keyed(app, key).get_by_role("slider")
    thumb.focus()
    for k in keys:
        thumb.press(k)
    app.page.evaluate(SETTLED_FRAMES_JS)
    app.wait()
    return int(keyed(app, key).get_by_test_id("stSliderThumbValue").inner_text())


def no_early_stop(app, key: str = "tr_patience_joint_info_nce") -> None:
    """Turn early stopping off (patience 0), for a training meant to run until stopped."""
    assert set_epochs(app, key, ["Home"]) == 0


def alerts(app, kind: str | None = None) -> list[str]:
    """Texts of the visible alert boxes (st.error/warning/info/success) in the main area."""
    testid = f"stAlertContent{kind}" if kind else "stAlertContainer"
    boxes = app.page.get_by_test_id("stMain").get_by_test_id(testid).filter(visible=True)
    return [b.inner_text() for b in boxes.all()]


def tab(app, name: str):
    return app.page.get_by_test_id("stMain").get_by_role("tab", name=name)


def open_tab(app, name: str) -> None:
    """Click a tab and wait for the rerun it causes (keyed tabs rerun the page)."""
    app.wait()
    tab(app, name).click()
    app.page.wait_for_function(
        "el => el.getAttribute('aria-selected') === 'true'", arg=tab(app, name).element_handle()
    )
    app.wait()


def wait_for_alert(app, kind: str, *needles: str, timeout_s: float = 30) -> str:
    """Wait for a visible alert of ``kind`` (Error, Warning, ...) containing every needle."""
    boxes = app.page.get_by_test_id("stMain").get_by_test_id(f"stAlertContent{kind}")
    for n in needles:
        boxes = boxes.filter(has_text=re.compile(re.escape(n)))
    try:
        boxes.filter(visible=True).first.wait_for(timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise AssertionError(
            f"no {kind} alert containing {needles}; alerts shown: {alerts(app, kind)}"
        ) from None
    return boxes.filter(visible=True).first.inner_text()


def upload(app, path) -> None:
    """Upload ``path`` on the Data page's Upload tab; the tab must stay open to show the result."""
    app.page.locator(".st-key-upload_files input[type=file]").set_input_files(str(path))
    chip = app.page.get_by_test_id("stFileChipName").filter(has_text=path.name)
    chip.wait_for()
    app.wait()
    selected = tab(app, "Upload files").get_attribute("aria-selected")
    assert selected == "true", (
        f"after uploading {path.name} the Data page shows another tab, hiding the upload's "
        "mapping or error (st.tabs without a key is remounted, and reset to its first tab, "
        "when an element above it comes or goes, e.g. the one-time flash message)"
    )


def sidebar_dataset(app) -> str:
    """The sidebar's "Active dataset" caption."""
    text = app.sidebar_text()
    start = text.index("Active dataset") + len("Active dataset")
    return text[start : text.index("Active run")].strip()


# ---------------------------------------------------------------------------
# Journeys


def test_newcomer_demo_lands_on_a_map(app, record_timing):
    app.assert_no_exception()
    app.shot("home")
    demo = keyed(app, "demo_joint").get_by_role("button", name="Try the demo")
    t0 = time.monotonic()
    demo.click()
    # Home shows live progress while the demo trains, then opens Explore by itself.
    wait_for_text(app, "Training the joint embedding demo", 30)
    app.shot("home-training")
    app.page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=DEMO_TO_MAP_S * 1000)
    n = wait_for_map(app, DEMO_TO_MAP_S - (time.monotonic() - t0))
    seconds = time.monotonic() - t0
    record_timing("demo_click_to_map_s", seconds)
    assert n >= 2 * 400, f"the demo's map shows {n} points; expected both modalities' validation"
    app.wait()
    app.assert_no_exception()
    app.shot("explore-map")
    assert "shared_latent" in sidebar_dataset(app)


def test_upload_train_explore(app, tmp_path):
    csv = tmp_path / "journey.csv"
    write_csv(csv, n=300)
    app.nav("Data")
    open_tab(app, "Upload files")
    upload(app, csv)
    # The mapping step found both modalities from the prefixes, and the label and id columns.
    wait_for_text(app, "journey.csv", 30)
    main = app.main_text()
    assert "300 rows × 16 columns" in main, main[:1500]
    assert "Modalities found from the '<modality>__' column prefixes." in main, main[:1500]
    names = app.page.get_by_role("textbox", name="Modality 1 name").input_value()
    names += "," + app.page.get_by_role("textbox", name="Modality 2 name").input_value()
    assert names == "image,text"
    app.shot("data-mapping")
    app.page.get_by_test_id("stMain").get_by_role("button", name="Load", exact=True).click()
    wait_for_alert(app, "Success", "Loaded")
    wait_for_text(app, "journey.csv", 30, where="stSidebar")
    app.wait()
    app.shot("data-loaded")

    app.nav("Train")
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["Home", "ArrowRight", "ArrowRight"]) == 3
    app.page.get_by_role("button", name="Start training").click()
    wait_for_text(app, "Training finished.", TRAIN_S)
    app.wait()
    app.assert_no_exception()
    app.shot("train-finished")

    app.nav("Explore")
    n = wait_for_map(app, 60)
    assert n >= 2 * 60, f"the map shows {n} points; expected both modalities of 60 validation rows"
    app.shot("explore-map")


def test_stop_during_training_keeps_the_run(app):
    app.nav("Train", "train-empty")
    keyed(app, "empty_make_data").get_by_role("button").click()
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    app.wait()
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["End"]) == 200
    no_early_stop(app)
    # Batches of 16: 20,000 steps, minutes even on a quick machine, where 200 epochs of the
    # default batch once ended before the screenshot below was taken and Stop clicked.
    assert set_epochs(app, "tr_bs_joint_info_nce", ["Home"]) == 16
    app.page.get_by_role("button", name="Start training").click()
    # Stop once an epoch is done (its validation chart shows), so the run has a snapshot.
    keyed(app, "train_metrics_chart").wait_for(timeout=60_000)
    app.shot("train-running")
    keyed(app, "train_stop").get_by_role("button").click()
    wait_for_text(app, "Training stopped", 30)
    app.wait()
    app.assert_no_exception()
    app.shot("train-stopped")

    app.nav("Explore", "explore-stopped")
    wait_for_text(app, "Stopped at epoch", 30)
    n = wait_for_map(app, 60)
    assert n >= 2 * 400, f"the stopped run's map shows {n} points"
    app.shot("explore-map")


def test_bad_file_keeps_the_active_dataset(app, tmp_path):
    app.nav("Data")
    app.page.get_by_test_id("stMain").get_by_role("button", name="Generate", exact=True).click()
    wait_for_alert(app, "Success", "Generated")
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    before = sidebar_dataset(app)
    assert "shared_latent" in before

    open_tab(app, "Upload files")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 8)
    upload(app, garbage)
    wait_for_alert(app, "Error", "garbage.csv", "not a readable text table")
    assert "The previously active dataset is still active." in app.main_text()
    assert sidebar_dataset(app) == before
    app.assert_no_exception()
    app.shot("data-garbage")

    # Remove it (as a person would) and try a file with no content at all.
    app.page.get_by_test_id("stFileChipDeleteBtn").first.click()
    app.page.get_by_test_id("stFileChipName").filter(has_text="garbage.csv").wait_for(
        state="detached"
    )
    app.wait()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    upload(app, empty)
    wait_for_alert(app, "Error", "empty.csv", "is empty")
    assert sidebar_dataset(app) == before
    app.shot("data-empty")

    # The app still works: another page renders, and it uses the same dataset.
    app.nav("Train")
    assert "shared_latent" in app.main_text()
    assert sidebar_dataset(app) == before
