"""Metrics for people: a metric key's name and help in a language, and which metrics head
a run's summary.

Names come from :data:`fusion.metrics.METRIC_INFO` (through :func:`~fusion.metrics.metric_info`)
and the message catalogue, with a concrete key's own parts filled in: ``recall_at_10_image_to_text``
reads "Recall@10 (image → text)", ``spread_text`` "Spread (text)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, NamedTuple

from fusion.i18n import DEFAULT_LANGUAGE, info_key, translate
from fusion.metrics import METRIC_INFO, metric_info


class Headline(NamedTuple):
    pattern: str  # regular expression a metric key must match in full
    card: bool  # one of a finished run's metric cards (Explore), in this order
    live: bool  # shown while a run trains and in its outcome (bars with chance levels)


# The metrics that head a run's summary, in order: the first key matching each pattern.
# Classification runs have accuracy and macro F1; joint-embedding runs have the retrieval,
# probe and geometry metrics. The live view keeps to scores in [0, 1] with a chance level.
HEADLINE_METRICS: tuple[Headline, ...] = (
    Headline(r"recall_at_1_mean", card=True, live=True),
    Headline(r"recall_at_10_.+_to_.+", card=False, live=True),
    Headline(r"class_precision_at_10_.+_to_.+", card=False, live=True),
    Headline(r"linear_probe_accuracy", card=True, live=True),
    Headline(r"accuracy", card=True, live=True),
    Headline(r"macro_f1", card=True, live=True),
    Headline(r"attention_on_informative", card=True, live=True),
    Headline(r"attention_mask_agreement", card=True, live=False),
    Headline(r"alignment", card=True, live=False),
    Headline(r"uniformity", card=True, live=False),
    Headline(r"modality_gap", card=True, live=False),
    Headline(r"spread", card=True, live=False),
)


def headline_keys(
    metrics: Mapping[str, float], where: Literal["card", "live"] = "card", limit: int | None = None
) -> list[str]:
    """The keys of ``metrics`` that head its summary (``where``: on the cards or live), in
    :data:`HEADLINE_METRICS` order, at most ``limit``. ``_chance`` companions never count."""
    keys = [k for k in metrics if not k.endswith("_chance")]
    out = []
    for h in HEADLINE_METRICS:
        if getattr(h, where):
            key = next((k for k in keys if re.fullmatch(h.pattern, k)), None)
            if key is not None:
                out.append(key)
    return out[:limit]


def metric_pattern(key: str) -> str | None:
    """The :data:`~fusion.metrics.METRIC_INFO` pattern a concrete metric key belongs to."""
    info = metric_info(key)
    return next((p for p, i in METRIC_INFO.items() if i is info), None)


# Stored beside the metrics but not scores: how many rows a score was computed on.
COUNTS = ("retrieval_rows", "baseline_train_rows", "test_rows", "cv_folds", "baseline_cca_dim")


def metric_name(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A person's name for a metric key: 'Recall@1 (image → text)', 'Spread (text)'."""
    if key in COUNTS:
        return translate(f"explore.counts.{key}", lang)
    pattern = metric_pattern(key)
    title = (
        translate(info_key("metric", pattern, "title"), lang) if pattern else key.replace("_", " ")
    )
    m = re.fullmatch(r"recall_at_(\d+)_(.+)_to_(.+)", key)
    if m:
        return translate("explore.recall_k_b", lang, k=m[1], a=m[2], b=m[3])
    m = re.fullmatch(r"class_precision_at_(\d+)_(.+)_to_(.+)", key)
    if m:
        return translate("explore.class_precision_k_b", lang, k=m[1], a=m[2], b=m[3])
    m = re.fullmatch(r"median_rank_(.+)_to_(.+)", key)
    if m:
        return translate("explore.median_rank_b", lang, a=m[1], b=m[2])
    for prefix in (
        "spread_",
        "uniformity_",
        "linear_probe_accuracy_",
        "attention_mean_",
        "baseline_single_accuracy_",
    ):
        if key.startswith(prefix) and not key.endswith("chance"):
            rest = key[len(prefix) :]
            if prefix == "attention_mean_":
                return translate("explore.mean_attention_m", lang, m=rest)
            if rest != "uniform_chance":
                return f"{title} ({rest})"
    for prefix in ("alignment_", "modality_gap_", "mean_canonical_correlation_"):
        if key.startswith(prefix):
            return f"{title} ({key[len(prefix) :].replace('_', ' · ')})"
    return title


def metric_help(key: str, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """Markdown help for a metric key: what it measures, which way is better, its source
    (linked); None for a key :data:`~fusion.metrics.METRIC_INFO` does not describe."""
    info = metric_info(key)
    pattern = metric_pattern(key)
    if not info or pattern is None:
        return None
    better = "explore.higher_better" if info.get("higher_is_better") else "explore.lower_better"
    help_text = translate(info_key("metric", pattern, "help"), lang)
    source = translate(info_key("metric", pattern, "source"), lang)
    return (
        f"{help_text} ({translate(better, lang)}.)  \n"
        f"{translate('explore.source', lang)}: [{source}]({info['url']})"
    )
