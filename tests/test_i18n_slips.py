"""Translation slips the pages must not make, each caught by a scan of
the pages' code, and each scan shown to catch its slip on a small example:

- an English sentence written into the code (a dict of sentences handed to ``t``, a
  fallback text) instead of a catalogue key;
- an error raised with translated text (``DataError(t("…"))``): the error's key must be
  the catalogue key, so it can be shown later in the visitor's language;
- a decision taken on text (``message.startswith("Finished")``) that may already be
  translated: decide on the message's key;
- an exception's English ``str(exc)`` shown to a person instead of its localized text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "views").rglob("*.py")) + [ROOT / "app.py"]

SENTENCE = re.compile(r"\b[A-Za-z][a-z']+(?: [a-z'<>_-]+){3,}")  # four words or more
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def english_sentences(source: str) -> list[str]:
    """String literals (not docstrings, not CSS comments) that read as English sentences."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    return [
        f"{node.lineno}: {node.value[:60]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and SENTENCE.search(CSS_COMMENT.sub("", node.value))
    ]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def errors_raised_with_translated_text(source: str) -> list[str]:
    """``SomeError(t(...))``: the error's key would be text in one language."""
    return [
        f"{node.lineno}: {ast.unparse(node)[:60]}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and _name(node.func).endswith("Error")
        and any(isinstance(a, ast.Call) and _name(a.func) == "t" for a in node.args)
    ]


def decisions_on_english_text(source: str) -> list[str]:
    """``x.startswith("Finished")``, ``x == "Finished …"``: a test on words of a message."""
    word = re.compile(r"[A-Z][a-z]{2,}")
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node.func) in ("startswith", "endswith"):
            args = node.args
        elif isinstance(node, ast.Compare):
            args = node.comparators
        else:
            continue
        for a in args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str) and word.search(a.value):
                bad.append(f"{node.lineno}: {ast.unparse(node)[:60]}")
    return bad


def _root_is_st(func: ast.expr) -> bool:
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id == "st"


def exceptions_shown_as_str(source: str) -> list[str]:
    """``st.error(str(exc))``, ``st.error(f"{exc}")`` or ``st.error(exc)``: English to a
    visitor of any language (show ``exc.localized(lang)`` or ``error_text(exc)``)."""
    tree = ast.parse(source)
    caught = {h.name for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler) and h.name}
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _root_is_st(node.func)):
            continue
        for a in [*node.args, *(k.value for k in node.keywords)]:
            inner = a
            if isinstance(a, ast.Call) and _name(a.func) in ("str", "repr") and a.args:
                inner = a.args[0]
            elif isinstance(a, ast.JoinedStr):
                names = [v.value for v in a.values if isinstance(v, ast.FormattedValue)]
                inner = next((n for n in names if isinstance(n, ast.Name)), a)
            if isinstance(inner, ast.Name) and inner.id in caught:
                bad.append(f"{node.lineno}: {ast.unparse(node)[:60]}")
    return bad


SCANS = {
    "english_sentence": english_sentences,
    "error_with_translated_text": errors_raised_with_translated_text,
    "decision_on_english_text": decisions_on_english_text,
    "exception_shown_as_str": exceptions_shown_as_str,
}

# Each scan against the slip it is for (must be flagged) and its fix (must pass).
EXAMPLES = {
    "english_sentence": (
        'how = {"prefix": "Modalities found from the column prefixes."}[m]\nst.caption(t(how))',
        'st.caption(t(f"data.how_found.{m}"))',
    ),
    "error_with_translated_text": (
        'raise DataError(t("data.give_every_modality_different"))',
        'raise DataError("data.give_every_modality_different")',
    ),
    "decision_on_english_text": (
        'detail = "" if message.startswith("Finished") else message',
        'detail = "" if h.message_key == "messages.train.finished" else message',
    ),
    "exception_shown_as_str": (
        "try:\n    load()\nexcept FusionError as exc:\n    st.error(str(exc))",
        "try:\n    load()\nexcept FusionError as exc:\n    st.error(exc.localized(lang))",
    ),
}


@pytest.mark.parametrize("scan", SCANS)
def test_each_scan_catches_its_slip(scan):
    slip, fixed = EXAMPLES[scan]
    assert SCANS[scan](slip), f"{scan} missed: {slip}"
    assert not SCANS[scan](fixed), f"{scan} flagged the fix: {fixed}"


def test_the_scans_catch_the_other_forms_of_a_shown_exception():
    handler = "try:\n    x()\nexcept ValueError as e:\n    {}"
    for shown in ('st.error(f"{e}")', "st.warning(e)", "st.error(repr(e), icon='x')"):
        assert exceptions_shown_as_str(handler.format(shown)), shown
    assert errors_raised_with_translated_text('raise ConfigError(t("train.x", n=1))')
    assert decisions_on_english_text('ok = text == "Finished 3 epochs."')


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
@pytest.mark.parametrize("scan", SCANS)
def test_pages_make_no_translation_slip(scan, path):
    found = SCANS[scan](path.read_text(encoding="utf-8"))
    assert not found, f"{path.name}: {found}"
