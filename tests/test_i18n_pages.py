"""Every page shown in Chinese (``?lang=zh``) shows no English sentence: a string that
skips the catalogue, or a catalogue entry left untranslated, fails here.

Proper names stay as they are (InfoNCE, UMAP, Deep CCA, Fusion Playground ...), and so do
the titles of cited papers (after 来源 / in a link) and identifiers (``shared_latent``).
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from fusion.generators import shared_latent
from tests.apptest_helpers import APP, TIMEOUT, make_run
from views.site import EXPLORE, PAGES

PROPER = [
    "Fusion Playground",
    "Deep CCA",
    "Linear CCA",
    "Embedding Projector",
    "TensorBoard",
    "et al",
    "Recall@",
    "Material",
]
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]{2,}(?:[ ,]+[A-Za-z][a-z]{2,}){1,}\b")


def _texts(node):
    for attr in ("value", "label", "help", "body", "placeholder"):
        v = getattr(node, attr, None)
        if isinstance(v, str) and getattr(node, "type", "") not in ("code", "text_input", "radio"):
            yield v
    opts = getattr(node, "options", None)
    if isinstance(opts, list) and getattr(node, "label", "") != "Language · 语言":
        yield from (o for o in opts if isinstance(o, str))
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for c in children.values():
            yield from _texts(c)


def english_sentences(text: str) -> list[str]:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", "", text)  # links: cited titles
    text = re.sub(r"(来源|Source)\s*[:：].*", "", text)  # citations keep their titles
    text = re.sub(r"`[^`]*`|\$[^$]*\$|:material/[a-z_]+:|https?://\S+", "", text)
    text = re.sub(r"\b\w*_\w*\b", "", text)  # identifiers: shared_latent, info_nce
    for name in PROPER:
        text = text.replace(name, "")
    return ENGLISH_RUN.findall(text)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return root, [make_run(root, "joint-run"), make_run(root, "att-run", method="attention")]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path)
def test_page_in_chinese_has_no_english(page, runs, monkeypatch):
    root, made = runs
    monkeypatch.setenv("FUSION_RUNS_DIR", str(root))
    monkeypatch.setenv("FUSION_WORKSPACES", "shared")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.session_state["dataset"] = shared_latent(n=200, n_classes=4, seed=0)
    at.session_state["active_run"] = str(made[1] if page is EXPLORE else made[0])
    at.run()
    at.switch_page(page.script)
    at.run()
    assert not at.exception, at.exception
    found = sorted({s for text in _texts(at._tree) for s in english_sentences(text)})
    assert not found, f"English on the Chinese {page.url_path} page: {found}"


def test_the_checker_sees_english():
    assert english_sentences("训练 Training finished now") == ["Training finished now"]
    assert not english_sentences("来源：Radford et al. 2021, Learning Transferable Models")
    assert not english_sentences("用 InfoNCE（CLIP）训练 shared_latent 数据")
