"""The library never imports the UI."""

import re
from pathlib import Path

FUSION = Path(__file__).resolve().parents[1] / "fusion"


def test_fusion_never_imports_streamlit():
    pattern = re.compile(r"^\s*(import|from)\s+streamlit\b", re.MULTILINE)
    offenders = [
        p.name for p in FUSION.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_nothing_is_unpickled():
    text = "\n".join(p.read_text(encoding="utf-8") for p in FUSION.rglob("*.py"))
    assert "read_pickle(" not in text
    assert "allow_pickle=True" not in text
    for m in re.finditer(r"torch\.load\(", text):
        call = text[m.end() : text.index("\n", m.end())]
        assert "weights_only=True" in call, call
