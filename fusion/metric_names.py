"""Metrics for people: what each metric is (:data:`METRIC_INFO`: direction, source, formula
for the dashboard's metric cards; :func:`metric_info` looks a concrete key up in it), a
metric key's name and help in a language, and which metrics head a run's summary.

Names come from :data:`METRIC_INFO` and the message catalogue, with a concrete key's own parts filled in: ``recall_at_10_image_to_text``
reads "Recall@10 (image → text)", ``spread_text`` "Spread (text)".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from fusion.i18n import DEFAULT_LANGUAGE, has, info_key, translate

_WANG_ISOLA = (
    "Wang & Isola 2020, Understanding Contrastive Representation Learning through "
    "Alignment and Uniformity on the Hypersphere",
    "https://arxiv.org/abs/2005.10242",
)
_OPEN_CLIP = (
    "Ilharco et al. 2021, OpenCLIP (retrieval evaluation); Radford et al. 2021, CLIP",
    "https://arxiv.org/abs/2103.00020",
)
_LINEAR_PROBE = (
    "Alain & Bengio 2016, Understanding intermediate layers using linear classifier probes",
    "https://arxiv.org/abs/1610.01644",
)

_LOGISTIC = (
    "Pedregosa et al. 2011, Scikit-learn: Machine Learning in Python (LogisticRegression)",
    "https://scikit-learn.org/stable/modules/linear_model.html#logistic-regression",
)

# Keys are patterns: {a}, {b} stand for modality names, {m} for one modality, {k} for an
# integer. Chance levels live under the same key plus "_chance".
METRIC_INFO: dict[str, dict[str, Any]] = {
    "recall_at_1_mean": {
        "higher_is_better": True,
        "url": _OPEN_CLIP[1],
        "formula_latex": r"\overline{R@1} = \operatorname{mean}_{\text{directions}}"
        r"\ \frac{1}{N}\sum_i [\mathrm{rank}_i < 1]",
    },
    "recall_at_{k}_{a}_to_{b}": {
        "higher_is_better": True,
        "url": _OPEN_CLIP[1],
        "formula_latex": r"R@K = \frac{1}{N}\sum_i [\mathrm{rank}_i < K],\quad "
        r"\mathrm{rank}_i = \#\{j : s_{ij} > s_{ii}\}",
    },
    "median_rank_{a}_to_{b}": {
        "higher_is_better": False,
        "url": _OPEN_CLIP[1],
        "formula_latex": r"\mathrm{MedR} = \lfloor \operatorname{median}_i \mathrm{rank}_i "
        r"\rfloor + 1",
    },
    "class_precision_at_{k}_{a}_to_{b}": {
        "higher_is_better": True,
        "url": "https://en.wikipedia.org/wiki/Evaluation_measures_(information_retrieval)",
        "formula_latex": r"P@k = \frac{1}{Nk}\sum_i \#\{j \in \mathcal{N}_k(i) : y_j = y_i\}",
    },
    "alignment": {
        "higher_is_better": False,
        "url": _WANG_ISOLA[1],
        "formula_latex": r"\mathcal{A} = \frac{1}{N}\sum_i \lVert \hat a_i - \hat b_i "
        r"\rVert_2^{\alpha}",
    },
    "alignment_{a}_{b}": {
        "higher_is_better": False,
        "url": _WANG_ISOLA[1],
        "formula_latex": r"\mathcal{A} = \frac{1}{N}\sum_i \lVert \hat a_i - \hat b_i "
        r"\rVert_2^{\alpha}",
    },
    "uniformity": {
        "higher_is_better": False,
        "url": _WANG_ISOLA[1],
        "formula_latex": r"\mathcal{U} = \log \frac{2}{N(N-1)}\sum_{i<j} "
        r"e^{-t\lVert \hat z_i - \hat z_j\rVert^2}",
    },
    "uniformity_{m}": {
        "higher_is_better": False,
        "url": _WANG_ISOLA[1],
        "formula_latex": r"\mathcal{U} = \log \frac{2}{N(N-1)}\sum_{i<j} "
        r"e^{-t\lVert \hat z_i - \hat z_j\rVert^2}",
    },
    "modality_gap": {
        "higher_is_better": False,
        "url": "https://arxiv.org/abs/2203.02053",
        "formula_latex": r"\Delta = \Big\lVert \frac{1}{N}\sum_i \hat a_i - "
        r"\frac{1}{N}\sum_i \hat b_i \Big\rVert_2",
    },
    "modality_gap_{a}_{b}": {
        "higher_is_better": False,
        "url": "https://arxiv.org/abs/2203.02053",
        "formula_latex": r"\Delta = \Big\lVert \frac{1}{N}\sum_i \hat a_i - "
        r"\frac{1}{N}\sum_i \hat b_i \Big\rVert_2",
    },
    "spread": {
        "higher_is_better": True,
        "url": "https://arxiv.org/abs/2105.04906",
        "formula_latex": r"\sigma = \frac{1}{d}\sum_k \operatorname{std}_i(z_{ik})",
    },
    "spread_{m}": {
        "higher_is_better": True,
        "url": "https://arxiv.org/abs/2105.04906",
        "formula_latex": r"\sigma = \frac{1}{d}\sum_k \operatorname{std}_i(z_{ik})",
    },
    "mean_canonical_correlation_{a}_{b}": {
        "higher_is_better": True,
        "url": "https://proceedings.mlr.press/v28/andrew13.html",
        "formula_latex": r"\bar\rho = \frac{1}{r}\sum_{k=1}^{r} \sigma_k\big("
        r"\Sigma_{aa}^{-1/2}\Sigma_{ab}\Sigma_{bb}^{-1/2}\big)",
    },
    "linear_probe_accuracy": {
        "higher_is_better": True,
        "url": _LINEAR_PROBE[1],
        "formula_latex": r"\mathrm{acc} = \frac{1}{N}\sum_i [\hat y_i = y_i],\quad "
        r"\hat y = \arg\max \operatorname{softmax}(W z + c)",
    },
    "linear_probe_accuracy_{m}": {
        "higher_is_better": True,
        "url": _LINEAR_PROBE[1],
        "formula_latex": r"\mathrm{acc} = \frac{1}{N}\sum_i [\hat y_i = y_i]",
    },
    "accuracy": {
        "higher_is_better": True,
        "url": "https://scikit-learn.org/stable/modules/model_evaluation.html#accuracy-score",
        "formula_latex": r"\mathrm{acc} = \frac{1}{N}\sum_i [\hat y_i = y_i]",
    },
    "macro_f1": {
        "higher_is_better": True,
        "url": "https://scikit-learn.org/stable/modules/model_evaluation.html"
        "#precision-recall-f-measure-metrics",
        "formula_latex": r"F_1^{\text{macro}} = \frac{1}{C}\sum_c "
        r"\frac{2 P_c R_c}{P_c + R_c}",
    },
    "baseline_concat_accuracy": {
        "higher_is_better": True,
        "url": _LOGISTIC[1],
        "formula_latex": r"\mathrm{acc} = \frac{1}{N}\sum_i [\hat y_i = y_i],\quad "
        r"\hat y = \arg\max \operatorname{softmax}\big(W\,[\tilde x^{(1)}; \dots; "
        r"\tilde x^{(M)}] + c\big)",
    },
    "baseline_single_accuracy_{m}": {
        "higher_is_better": True,
        "url": _LOGISTIC[1],
        "formula_latex": r"\mathrm{acc} = \frac{1}{N}\sum_i [\hat y_i = y_i],\quad "
        r"\hat y = \arg\max \operatorname{softmax}(W \tilde x^{(m)} + c)",
    },
    "attention_mask_spearman": {
        "higher_is_better": True,
        "url": "https://doi.org/10.2307/1412159",
        "formula_latex": r"\bar\rho_s = \frac{1}{|M'|}\sum_{m \in M'} \operatorname{corr}"
        r"\big(\operatorname{rank}(w_{\cdot m}), \operatorname{rank}(\text{mask}_{\cdot m})\big)",
    },
    "attention_on_informative": {
        "higher_is_better": True,
        "url": "https://arxiv.org/abs/1409.0473",
        "formula_latex": r"\frac{1}{|R|}\sum_{i\in R}\sum_m w_{im}\,\text{mask}_{im}",
    },
    "attention_mask_agreement": {
        "higher_is_better": True,
        "url": "https://doi.org/10.2466/11.IT.3.1",
        "formula_latex": r"\bar r = \frac{1}{|M'|}\sum_{m \in M'} \big(2\,P(w_{im} > w_{jm} "
        r"\mid \text{mask}_{im} = 1, \text{mask}_{jm} = 0) - 1\big)",
    },
    "attention_mask_agreement_null_{bound}": {
        "higher_is_better": True,
        "url": "https://doi.org/10.2466/11.IT.3.1",
        "formula_latex": r"q_{0.025},\ q_{0.975}\ \text{of}\ \bar r\ \text{over permutations of "
        r"the mask}",
    },
    "baseline_cca_recall_at_1": {
        "higher_is_better": True,
        "url": "https://doi.org/10.1093/biomet/28.3-4.321",
        "formula_latex": r"R@1 = \frac{1}{2N}\sum_i \big([\operatorname{rank}_{a \to b}(i) = 1] + "
        r"[\operatorname{rank}_{b \to a}(i) = 1]\big)",
    },
}

# Names, help texts and citations live in the catalogue (fusion/locales/*/info.toml), in
# English and Chinese; the English ones are filled in here for the library and the CLI.
for _name, _info in METRIC_INFO.items():
    for _field in ("title", "help", "source"):
        _key = info_key("metric", _name, _field)
        if has(_key):
            _info[_field] = translate(_key)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z]+\})", pattern)
    body = "".join(
        (r"\d+" if p == "{k}" else ".+") if p.startswith("{") else re.escape(p) for p in parts
    )
    return re.compile(f"^{body}$")


_METRIC_PATTERNS = [(_pattern_regex(p), p) for p in METRIC_INFO]


def metric_info(key: str) -> dict[str, Any] | None:
    """The ``METRIC_INFO`` entry describing a concrete metric key, or None.

    Exact names win over patterns, so ``spread`` finds the summary and ``spread_text``
    the per-modality entry. A ``_chance`` key returns its metric's entry.
    """
    key = re.sub(r"(_uniform)?_chance$", "", key)
    if key in METRIC_INFO:
        return METRIC_INFO[key]
    for regex, pattern in _METRIC_PATTERNS:
        if regex.match(key):
            return METRIC_INFO[pattern]
    return None


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
    """The :data:`METRIC_INFO` pattern a concrete metric key belongs to."""
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
    (linked); None for a key :data:`METRIC_INFO` does not describe."""
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
