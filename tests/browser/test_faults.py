"""Faults during training and bad input, in a real browser against ``streamlit run app.py``.

1. A learning rate that diverges: the reason is shown, the run is kept and explorable.
2. Navigating away and back during training re-attaches the panel; Stop mid-epoch ends
   the worker's training.
3. Reloading the page or closing the tab during training does not stop it: the job
   belongs to the workspace, and the page (or the workspace's link opened again)
   re-attaches to its live progress (trainings counted in the server's worker processes,
   see ``Server.training_threads``).
4. A representative set of bad files (``tests/data/bad``): each shows its message, the
   previous dataset stays active, the app keeps working.
5. A file over ``server.maxUploadSize`` is refused by the uploader; the app keeps working.

What needs no browser (out of memory, refused configurations, damaged runs) is tested with
``AppTest`` in ``tests/test_faults_app.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import App, new_context
from tests.browser.test_journeys import (
    keyed,
    no_early_stop,
    open_tab,
    set_epochs,
    sidebar_dataset,
    wait_for_alert,
    wait_for_map,
    wait_for_text,
)

pytestmark = pytest.mark.browser

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
THREAD_GONE_S = 30  # bounded wait for a training thread to end after stop, reload or close
TRAIN_S = 90


def choose(app: App, key: str, option: str, tries: int = 3) -> None:
    """Pick ``option`` in the selectbox created with ``key=...``.

    A rerun that lands just after the click (a fragment's poll, a slow page on a busy
    machine) redraws the box and closes its list: the list is opened again, up to
    ``tries`` times, until the option shows."""
    wanted = app.page.get_by_role("option", name=option, exact=True)
    for attempt in range(tries):
        keyed(app, key).get_by_role("combobox").click()
        try:
            wanted.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            app.page.keyboard.press("Escape")
            app.wait()
    wanted.click()
    app.wait()


def use_demo_data(app: App) -> None:
    """On the Train page's empty state: make the default demo data active."""
    app.nav("Train", "train-empty")
    keyed(app, "empty_make_data").get_by_role("button").click()
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    app.wait()


def use_big_data(app: App, n: int = 3000) -> None:
    """Open Train with ``n`` generated samples (a link's setup, in this tab's workspace), so
    a long training outlasts the test's reloads and reconnections: 200 epochs on 3,000
    samples (1.5 times the demo's) are minutes even with per-epoch evaluation on its budget."""
    ws = parse_qs(urlparse(app.page.url).query).get("ws", [""])[0]
    app.page.goto(f"{app.url}/train?ws={ws}&data=shared_latent&d.n={n}&d.seed=0")
    app.page.get_by_test_id("stSidebarNav").wait_for()
    wait_for_text(app, f"{n:,} samples", 60, where="stSidebar")
    app.wait()


def start_long_training(app: App, name: str = "", first_steps_s: float = 30) -> None:
    """Start a joint InfoNCE training of minutes (200 epochs of batches of 16: 15,000 steps
    on the demo's 1,200 training pairs); wait until steps are done (``first_steps_s``: how
    long the first steps may take; larger data takes longer to prepare)."""
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["End"]) == 200
    no_early_stop(app)
    assert set_epochs(app, "tr_bs_joint_info_nce", ["Home"]) == 16  # the slider drives both
    if name:
        keyed(app, "tr_name_joint_info_nce").locator("input").fill(name)
    app.page.get_by_role("button", name="Start training").click()
    keyed(app, "train_stop").wait_for(timeout=60_000)
    app.page.get_by_test_id("stProgress").filter(has_text="step").wait_for(timeout=60_000)
    wait_for_step_above(app, 1, first_steps_s)  # a stop now leaves a run with steps, saved
    app.wait()


def progress_step(app: App) -> int:
    """The step counter of the live progress bar ("... step 12 of 600 ...")."""
    text = app.page.get_by_test_id("stProgress").first.inner_text()
    return int(text.split("step ", 1)[1].split(" ", 1)[0])


STEP_ABOVE_JS = """(n) => {
  const bar = document.querySelector('[data-testid="stProgress"]');
  const m = bar && bar.innerText.match(/step (\\d+)/);
  return !!m && parseInt(m[1], 10) > n;
}"""


def wait_for_step_above(app: App, n: int, timeout_s: float) -> None:
    """Wait until the live progress bar's step counter passes ``n`` (the job moves)."""
    try:
        app.page.wait_for_function(STEP_ABOVE_JS, arg=n, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"the training shows no step past {n} in {timeout_s:.0f} s") from None


def run_options(app: App) -> list[str]:
    """The labels of Explore's run picker."""
    keyed(app, "explore_run").get_by_role("combobox").click()
    options = app.page.get_by_role("option").all_inner_texts()
    app.page.keyboard.press("Escape")
    return options


# ---------------------------------------------------------------------------
# Training faults


def test_diverging_learning_rate_keeps_the_run(app):
    use_demo_data(app)
    choose(app, "train_loss_choice", "Seed article's alignment")
    choose(app, "tr_opt_joint_seed_alignment", "SGD with momentum")
    # The largest rate: measured to diverge in epoch 2 (after one good epoch) on the demo's
    # 1,200 training pairs (0.03 lasts until epoch 3).
    thumb = keyed(app, "tr_lr_joint_seed_alignment").get_by_role("slider")
    thumb.focus()
    thumb.press("End")
    lr = keyed(app, "tr_lr_joint_seed_alignment").get_by_test_id("stSliderThumbValue")
    assert lr.inner_text() == "0.1"
    keyed(app, "tr_name_joint_seed_alignment").locator("input").fill("diverging")
    app.page.get_by_role("button", name="Start training").click()
    text = wait_for_alert(app, "Warning", "Training diverged", timeout_s=TRAIN_S)
    assert "lower learning rate" in text.lower(), text
    assert "weights from the last completed epoch were kept" in text, text
    app.wait()
    app.assert_no_exception()
    app.shot("train-diverged")
    assert app.server.training_threads() == 0

    app.nav("Explore", "explore-diverged")
    assert "diverging" in app.sidebar_text()
    shown = wait_for_alert(app, "Error", "Diverged", "lower learning rate")
    assert "epoch 2" in shown, shown
    n = wait_for_map(app, 60)
    assert n >= 2 * 400, f"the diverged run's map shows {n} points"
    app.shot("explore-map")


def test_leave_and_come_back_then_stop_mid_epoch(app):
    use_demo_data(app)
    start_long_training(app)
    assert app.server.training_threads() == 1
    app.shot("train-running")

    app.nav("Data", "data-while-training")
    assert "Training:" in app.sidebar_text() or "Training" in app.sidebar_text()
    app.nav("Home", "home-while-training")
    wait_for_text(app, "A training is running", 30)
    app.nav("Train", "train-reattached")
    # The panel re-attached to the same job, which kept going meanwhile.
    wait_for_text(app, "You can switch pages; the training keeps going", 30)
    wait_for_step_above(app, progress_step(app), 30)  # the re-attached panel shows progress
    assert app.server.training_threads() == 1

    # Stop at whatever batch it is in (mid-epoch): the thread ends, the run is kept.
    keyed(app, "train_stop").get_by_role("button").click()
    wait_for_text(app, "Training stopped", 30)
    app.server.wait_for_training_threads(0, THREAD_GONE_S)
    app.wait()
    app.assert_no_exception()
    assert "Stopped by the user during epoch" in app.main_text()
    app.shot("train-stopped")


def watch_progress_move(app: App, timeout_s: float = 60) -> None:
    """The live panel is shown and its step counter moves (the job is alive and attached)."""
    app.page.get_by_test_id("stProgress").filter(has_text="step").wait_for(timeout=timeout_s * 1000)
    wait_for_step_above(app, progress_step(app), timeout_s)


def test_reload_and_closed_tab_keep_the_job_and_it_reattaches(app, browser):
    """Jobs belong to the workspace: a reload or a closed tab does not stop them; the
    workspace's link, opened again (here in another browser context), re-attaches."""
    server = app.server
    use_big_data(app)
    # A run that finishes before the reload.
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["Home", "ArrowRight"]) == 2
    keyed(app, "tr_name_joint_info_nce").locator("input").fill("before-reload")
    app.page.get_by_role("button", name="Start training").click()
    wait_for_text(app, "Training finished.", TRAIN_S)
    app.wait()
    assert "before-reload" in app.sidebar_text()

    # Reload during a training: the job goes on and the page re-attaches to it.
    start_long_training(app, "survives-reload", first_steps_s=90)
    assert server.training_threads() == 1
    app.page.reload()
    app.page.get_by_test_id("stSidebarNav").wait_for()
    app.wait()
    watch_progress_move(app)
    assert server.training_threads() == 1
    app.shot("train-reattached-after-reload")
    keyed(app, "train_stop").get_by_role("button").click()
    wait_for_text(app, "Training stopped", 30)
    server.wait_for_training_threads(0, THREAD_GONE_S)
    app.nav("Explore", "explore-after-reload")
    options = run_options(app)
    assert any("before-reload" in o for o in options), options
    assert any("survives-reload" in o for o in options), options

    # Close the tab during a training (a second visitor), then open their link again.
    context = new_context(browser)
    other = App(context.new_page(), server, app.test_name + "-closed-tab")
    try:
        other.open()
        use_big_data(other)
        start_long_training(other, "survives-close", first_steps_s=90)
        link = other.page.url  # carries the workspace (?ws=...)
        assert "ws=" in link, link
    finally:
        context.close()
    time.sleep(3)  # the websocket is gone; the job is not
    assert server.training_threads() == 1
    context = new_context(browser)
    again = App(context.new_page(), server, app.test_name + "-came-back")
    try:
        again.page.goto(link)
        again.page.get_by_test_id("stSidebarNav").wait_for()
        again.wait()
        watch_progress_move(again)
        again.shot("train-reattached-after-close")
        keyed(again, "train_stop").get_by_role("button").click()
        wait_for_text(again, "Training stopped", 30)
    finally:
        context.close()
    server.wait_for_training_threads(0, THREAD_GONE_S)
    saved = list(server.runs_dir.rglob("survives-close/run.json"))
    assert len(saved) == 1, saved
    stopped = json.loads(saved[0].read_text())
    assert stopped["status"] == "stopped", stopped


# ---------------------------------------------------------------------------
# Bad input


# (files, what the message must say, whether the mapping step's Load must be pressed)
BAD_CASES = [
    (["binary_garbage.csv"], ["'binary_garbage.csv'", "not a readable text table"], False),
    (["header_only.csv"], ["'header_only.csv'", "a header but no data rows"], False),
    (["nan_cells.csv"], ["'nan_cells.csv'", "column 'txt__f0' is nan", "data row 3"], True),
    (["npz_object.npz"], ["'npz_object.npz'", "object array"], True),
    (
        ["rows_img.csv", "rows_txt_short.csv"],
        ["'rows_img.csv': 12 rows", "'rows_txt_short.csv': 11 rows", "same number of rows"],
        True,
    ),
]


def remove_uploads(app: App) -> None:
    chips = app.page.get_by_test_id("stFileChipDeleteBtn")
    while chips.count():
        chips.first.click()
        app.wait()


def test_bad_files_show_a_message_and_keep_the_dataset(app):
    app.nav("Data")
    app.page.get_by_test_id("stMain").get_by_role("button", name="Generate", exact=True).click()
    wait_for_alert(app, "Success", "Generated")
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    before = sidebar_dataset(app)
    open_tab(app, "Upload files")
    for files, needles, press_load in BAD_CASES:
        paths = [str(BAD / f) for f in files]
        app.page.locator(".st-key-upload_files input[type=file]").set_input_files(paths)
        for f in files:
            app.page.get_by_test_id("stFileChipName").filter(has_text=f).wait_for()
        app.wait()
        if press_load:
            main = app.page.get_by_test_id("stMain")
            main.get_by_role("button", name="Load", exact=True).click()
            app.wait()
        wait_for_alert(app, "Error", *needles)
        assert "The previously active dataset is still active." in app.main_text(), files
        assert sidebar_dataset(app) == before, files
        app.assert_no_exception()
        app.shot("data-" + files[0].split(".")[0])
        remove_uploads(app)
    # The app still works: another page renders, with the same dataset.
    app.nav("Train")
    assert "shared_latent" in app.main_text()
    assert sidebar_dataset(app) == before


def upload_cap_mb() -> int:
    """The browser upload cap the app is served with (server.maxUploadSize, MiB)."""
    import tomllib

    config = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"
    return int(tomllib.loads(config.read_text())["server"]["maxUploadSize"])


def test_upload_over_the_size_cap_is_refused(app, tmp_path):
    app.nav("Data")
    open_tab(app, "Upload files")
    cap = upload_cap_mb()
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # sparse, 1 MiB over the cap (.streamlit/config.toml)
        f.truncate((cap + 1) * 1024 * 1024)
    app.page.locator(".st-key-upload_files input[type=file]").set_input_files(str(big))
    error = app.page.get_by_test_id("stFileChipError").or_(
        app.page.get_by_text(f"File must be {cap}.0MB or smaller")
    )
    error.first.wait_for(timeout=60_000)
    assert str(cap) in error.first.inner_text()
    app.wait()
    app.assert_no_exception()
    app.shot("data-too-big")
    # Nothing was loaded and the app keeps working.
    assert "None yet" in app.sidebar_text()
    app.nav("Train")
    keyed(app, "empty_make_data").get_by_role("button").click()
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    app.wait()
    app.assert_no_exception()
