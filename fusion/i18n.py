"""Message catalogues: every user-facing string in English and Simplified Chinese.

Strings live in TOML files, one folder per language (``fusion/locales/en/*.toml``,
``fusion/locales/zh/*.toml``), not in code. Code refers to a string by a dotted key
(``"train.start"``): the TOML tables it sits in, joined with dots. A folder may hold
several files (pages, errors, plots, lessons, ...); their keys must not overlap.

Placeholders use :meth:`str.format` syntax (``"{n} rows"``) and must be the same in
every language; ``tests/test_i18n.py`` checks that, and that no key is missing in either
language. A missing key falls back to English, then to the key itself, so a gap shows as
text in the page instead of a crash.

Chinese terms follow common usage in the field: 多模态融合 (multimodal fusion),
联合嵌入 (joint embedding), 注意力机制 (attention mechanism), 共享空间 (shared space),
对比学习 (contrastive learning), 模态 (modality), 温度 (temperature), 召回率 (recall).
"""

from __future__ import annotations

import functools
import re
import string
import tomllib
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).with_name("locales")
LANGUAGES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE = "en"


def _flatten(table: dict[str, Any], prefix: str, out: dict[str, str], source: str) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            _flatten(value, key + ".", out, source)
        elif isinstance(value, str):
            if key in out:
                raise ValueError(f"catalogue key {key!r} defined twice (again in {source})")
            out[key] = value
        else:
            raise ValueError(f"catalogue key {key!r} in {source} is not a string")


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """All strings of one language, by dotted key (read once, then cached)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {sorted(LANGUAGES)}")
    out: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(tomllib.load(fh), "", out, path.name)
    return out


def has(key: str) -> bool:
    """Whether ``key`` is a catalogue key (in English, the reference language)."""
    return key in catalogue(DEFAULT_LANGUAGE)


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``{placeholders}`` filled from ``params``."""
    text = catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):  # a translator's typo must not crash a page
        return catalogue(DEFAULT_LANGUAGE).get(key, key).format(**params)


def localized_message(info: Any, lang: str, which: str = "message") -> str:
    """A message of the library in ``lang``: ``info.<which>`` translated through its key.

    ``info`` is anything that carries ``<which>`` (English) and ``<which>_key`` /
    ``<which>_params``, as attributes or dict items: a :class:`fusion.train.History`, a job's
    ``Progress`` or the job itself (``which="error"``), a run's ``RunInfo`` (also
    ``which="problem"``) or a ``run.json`` dict. Without a key (runs saved before
    keys existed) the English text is returned as it is.
    """
    if isinstance(info, dict):
        text, key, params = (info.get(which), info.get(f"{which}_key"), info.get(f"{which}_params"))
    else:
        text = getattr(info, which, "")
        key, params = getattr(info, f"{which}_key", ""), getattr(info, f"{which}_params", None)
    if key:
        return translate(key, lang, **(params or {}))
    return "" if text is None else str(text)


def info_key(kind: str, name: str, field: str) -> str:
    """The catalogue key of a loss's (``kind="loss"``) or a metric pattern's
    (``kind="metric"``, e.g. ``recall_at_{k}_{a}_to_{b}``) title, help or source:
    ``info.metric.recall_at_k_a_to_b.title``."""
    slug = re.sub(r"_+", "_", re.sub(r"[{}]", "", name)).strip("_")
    return f"info.{kind}.{slug}.{field}"


def placeholders(text: str) -> set[str]:
    """The names of the ``{placeholders}`` in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def text_for(lang: str):
    """A one-argument translator bound to ``lang`` (for plot builders and the CLI)."""

    def tr(key: str, **params: Any) -> str:
        return translate(key, lang, **params)

    return tr
