"""The Train and Data forms follow a language switch at once: their select boxes (method,
loss, encoder, optimiser, learning-rate schedule, device; the generator) show the new
language's labels without leaving the page."""

from __future__ import annotations

import re

import pytest

from fusion import form, registry
from fusion.config import default_config
from fusion.form import values_from_config
from fusion.i18n import translate

pytestmark = pytest.mark.browser


def _shown(app) -> list[str]:
    """The choice each select box in the main area shows, top to bottom."""
    boxes = app.page.get_by_test_id("stMain").get_by_test_id("stSelectbox").all()
    return [box.locator("input").input_value() for box in boxes]


def _expected(lang: str) -> list[str]:
    """The default joint-embedding form's select box choices in ``lang``, top to bottom."""
    method, loss = "joint", registry.METHODS["joint"].losses[0]
    defaults = values_from_config(default_config(method, loss)).values
    fields = [f for f in form.form_fields(method, loss) if f.widget == "selectbox"]
    return [
        translate(f"common.method_labels.{method}", lang),
        translate(f"common.loss_labels.{loss}", lang),
        *(translate(f"{f.option_labels}.{defaults[f.path]}", lang) for f in fields),
    ]


def _switch_to_chinese(app) -> None:
    app.page.get_by_test_id("stSidebarUserContent").get_by_text("简体中文", exact=True).click()
    app.page.wait_for_url(re.compile(r"lang=zh"))
    app.wait()


def test_train_form_select_boxes_follow_the_language(app):
    app.nav("Train")
    app.page.get_by_role("button", name="Use the default demo data").click()
    app.wait()
    app.page.get_by_text("Batch size").first.wait_for()
    english, chinese = _expected("en"), _expected("zh")
    assert _shown(app) == english
    assert sum(e != z for e, z in zip(english, chinese, strict=True)) >= 4  # the test can fail
    _switch_to_chinese(app)
    app.page.get_by_text(translate("train.batch_size", "zh")).first.wait_for()
    assert _shown(app) == chinese
    app.shot("train-form-zh")
    # A choice made in Chinese still works and is shown in Chinese.
    app.page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.click()
    attention = translate("common.method_labels.attention", "zh")
    app.page.get_by_role("option", name=attention).click()
    app.wait()
    assert _shown(app)[0] == attention


def test_data_generator_select_box_follows_the_language(app):
    app.nav("Data")
    english = translate("data.generator_info.shared_latent.title", "en")
    assert _shown(app)[0] == english
    _switch_to_chinese(app)
    chinese = translate("data.generator_info.shared_latent.title", "zh")
    assert chinese != english
    assert _shown(app)[0] == chinese
    app.shot("data-generator-zh")


AFTER_JS = """(sel) => {
  const el = document.querySelector(sel);
  return el ? getComputedStyle(el, '::after').content : null;
}"""


def test_the_uploader_speaks_the_sessions_language(app):
    app.nav("Data")
    _switch_to_chinese(app)
    app.page.get_by_test_id("stMain").get_by_role("tab").nth(1).click()
    zone = app.page.locator('.st-key-upload_files [data-testid="stFileUploaderDropzone"]')
    zone.wait_for()
    button = '.st-key-upload_files button [data-testid="stMarkdownContainer"]'
    note = '.st-key-upload_files [data-testid="stFileUploaderDropzoneInstructions"] > div'
    from tests.browser.test_faults import upload_cap_mb

    limit = translate("data.upload_limit", "zh", mb=upload_cap_mb())
    assert app.page.evaluate(AFTER_JS, button) == f'"{translate("data.upload_button", "zh")}"'
    assert app.page.evaluate(AFTER_JS, note) == f'"{limit}"'
    # Streamlit's own English words are hidden.
    assert not zone.get_by_text("Upload", exact=True).is_visible()
    assert not zone.get_by_text(f"{upload_cap_mb()}MB per file").is_visible()
    app.shot("uploader-zh")
