"""Two languages: the catalogues are complete, pages take every string from them, and a
page shown in Chinese shows no English sentence (proper names and citations aside)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fusion.i18n import LANGUAGES, catalogue, placeholders, translate

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "views").rglob("*.py")) + [ROOT / "app.py"]
TABLES = (
    "nav",
    "common",
    "home",
    "data",
    "train",
    "explore",
    "compare",
    "learn",
    "lessons",
    "export",
    "info",
    "plots",
    "errors",
)
KEY_RE = re.compile(rf"^(?:{'|'.join(TABLES)})\.[A-Za-z0-9_.-]+$")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Streamlit calls whose first argument (or these keywords) is text a person reads.
TEXT_CALLS = {
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "text",
    "write",
    "button",
    "download_button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "slider",
    "select_slider",
    "number_input",
    "text_input",
    "text_area",
    "file_uploader",
    "expander",
    "popover",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "metric",
    "form_submit_button",
    "link_button",
    "spinner",
    "status",
    "segmented_control",
    "pills",
    "page_link",
    "Page",
}
TEXT_KEYWORDS = {"label", "help", "placeholder", "caption", "title", "body"}


def test_every_language_has_the_same_keys():
    en = catalogue("en")
    assert len(en) > 500
    for lang in LANGUAGES:
        keys = set(catalogue(lang))
        assert not set(en) - keys, f"missing in {lang}: {sorted(set(en) - keys)[:20]}"
        assert not keys - set(en), f"only in {lang}: {sorted(keys - set(en))[:20]}"


def test_placeholders_agree_between_languages():
    en, zh = catalogue("en"), catalogue("zh")
    wrong = [k for k in en if placeholders(en[k]) != placeholders(zh[k])]
    assert not wrong, wrong[:20]


def test_chinese_catalogue_is_chinese():
    en, zh = catalogue("en"), catalogue("zh")
    same = [  # a citation (".source") keeps its paper's title
        k
        for k in en
        if zh[k] == en[k] and re.search(r"[a-z]{4,} [a-z]{4,}", en[k]) and ".source" not in k
    ]
    assert not same, f"left in English: {same[:20]}"
    assert sum(bool(CJK.search(v)) for v in zh.values()) > 0.9 * len(zh)


def test_a_missing_key_falls_back_instead_of_crashing():
    assert translate("nav.home", "zh") != translate("nav.home", "en")
    assert translate("no.such.key", "zh") == "no.such.key"
    assert translate("common.chance_c", "xx", c=0.5) == translate("common.chance_c", "en", c=0.5)


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


def test_every_key_named_in_code_exists():
    en = catalogue("en")
    files = PAGES + sorted((ROOT / "fusion" / "plots").glob("*.py"))
    missing = [
        f"{p.name}:{c.lineno} {c.value}"
        for p in files
        for c in _string_constants(p)
        if KEY_RE.match(c.value) and c.value not in en and not c.value.endswith(".")
    ]
    assert not missing, missing


def _english(text: str) -> bool:
    text = re.sub(r":material/[a-z_]+:", "", text)
    return bool(re.search(r"[A-Za-z]{2,}", text)) and not KEY_RE.match(text)


def _root_is_st(func: ast.expr) -> bool:
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id == "st"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_pass_no_literal_text_to_streamlit(path):
    """A string a person reads must come from the catalogue (through ``t``), never be
    written into a ``st.*`` call."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in TEXT_CALLS or not _root_is_st(node.func):
            continue
        paths = ("Page", "page_link")  # their first argument is a file, not text
        args = [] if node.func.attr in paths else list(node.args[:1])
        args += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        for a in args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and _english(a.value):
                bad.append(f"{path.name}:{a.lineno} {a.value[:60]!r}")
            elif isinstance(a, ast.JoinedStr):
                literal = "".join(v.value for v in a.values if isinstance(v, ast.Constant))
                if _english(literal):
                    bad.append(f"{path.name}:{a.lineno} f-string {literal[:60]!r}")
    assert not bad, bad
