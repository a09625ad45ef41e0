"""A researcher with pretrained embeddings, end to end in a real browser:
upload image.npy, text.npy and labels.npy, explore them as they are (no training), look at
the modality-gap shift, train a linear adapter on top and compare before and after.

Every page visited is checked for exception boxes and screenshotted (see conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.test_journeys import (
    TRAIN_S,
    keyed,
    open_tab,
    wait_for_alert,
    wait_for_map,
    wait_for_text,
)

pytestmark = pytest.mark.browser


def write_embeddings(folder, n: int = 300, d: int = 32, seed: int = 1) -> list:
    """CLIP-like pairs: one shared signal, an offset per modality (the gap), the text side
    in a random rotation (so the vectors as they are miss their pairs), and labels."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 8))
    w = rng.normal(size=(8, d))
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    image = z @ w + 0.5 * rng.normal(size=(n, d)) + 2.0
    text = (z @ w + 0.5 * rng.normal(size=(n, d)) - 2.0) @ q
    paths = [folder / "image.npy", folder / "text.npy", folder / "labels.npy"]
    for path, arr in zip(paths, (image, text, (z[:, 0] > 0).astype(np.int64)), strict=True):
        np.save(path, arr.astype(np.float32) if arr.dtype.kind == "f" else arr)
    return paths


def test_upload_embeddings_explore_as_is_then_adapter(app, tmp_path):
    paths = write_embeddings(tmp_path)
    app.nav("Data")
    open_tab(app, "Upload files")
    app.page.locator(".st-key-upload_files input[type=file]").set_input_files(
        [str(p) for p in paths]
    )
    wait_for_text(app, "3 .npy files", 30)
    app.wait()
    app.shot("npy-files")
    app.page.get_by_test_id("stMain").get_by_role("button", name="Load", exact=True).click()
    wait_for_alert(app, "Success", "Loaded")
    wait_for_text(app, "Pretrained embeddings: explore them as they are", 30)
    app.wait()
    keyed(app, "asis_panel").scroll_into_view_if_needed()
    app.shot("data-explore-as-is")

    app.page.get_by_role("button", name="Explore as they are (no training)").click()
    app.page.wait_for_url("**/explore**", timeout=120_000)
    app.wait()
    n = wait_for_map(app, 90)
    assert n >= 2 * 60, f"the map shows {n} points; expected both modalities of 60 pairs"
    main = app.main_text()
    assert "As they are (no training)" in main, main[:1500]
    app.shot("explore-as-is")

    open_tab(app, "Pretrained")
    wait_for_text(app, "Close the modality gap?", 30)
    app.assert_no_exception()
    app.shot("explore-gap-shift")
    app.page.get_by_role("button", name="Train adapter").click()
    wait_for_text(app, "Training finished.", TRAIN_S)
    button = app.page.get_by_role("button", name="Compare before and after")
    button.wait_for(timeout=30_000)
    app.wait()
    app.shot("explore-adapter-finished")
    button.click()
    app.page.wait_for_url("**/compare**", timeout=60_000)
    wait_for_text(app, "Before and after the adapter", 60)
    app.wait()
    app.assert_no_exception()
    app.shot("compare-before-after")
