"""Learn: the ideas behind the playground in plain words, every loss and key metric as a
formula with its symbols explained and its paper linked, and a slot for guided lessons.

Formulas come from :data:`fusion.registry.LOSSES` and :data:`fusion.metric_names.METRIC_INFO`
so the page shows exactly what the code computes. The seed article's objective (its
section 4) is also shown as the article writes it, with why its minimum is collapse
(Hadsell, Chopra & LeCun 2006 add the missing repulsive term).
"""

from __future__ import annotations

import streamlit as st

from fusion.metric_names import METRIC_INFO
from fusion.registry import LOSSES
from views.parts.lessons import lessons_tab, lessons_tab_default
from views.parts.text import info_text, language, t

TAB_INDEX = "learn_tab_index"  # session key: the open tab by position, the same in every language

# The seed article's formula exactly as printed (section 4), brackets and all.
SEED_AS_WRITTEN = (
    r"\min_{f,g} \sum_{i,j} s_{ij} \|f(x_i) - g(y_j)\|^2 "
    r"+ \lambda \sum_{i} \|f(x_i)\|^2 + \|g(y_i)\|^2"
)

METRIC_SYMBOLS: dict[str, list[tuple[str, str]]] = {
    "recall_at_{k}_{a}_to_{b}": [
        (r"s_{ij}", "learn.metric_symbols.recall_at__k___a__to__b.0.1"),
        (r"\mathrm{rank}_i", "learn.metric_symbols.recall_at__k___a__to__b.1.1"),
        (r"K", "learn.metric_symbols.recall_at__k___a__to__b.2.1"),
        (r"N", "learn.metric_symbols.recall_at__k___a__to__b.3.1"),
    ],
    "alignment": [
        (r"\hat a_i, \hat b_i", "learn.metric_symbols.alignment.0.1"),
        (r"\alpha", "learn.metric_symbols.alignment.1.1"),
    ],
    "uniformity": [
        (r"\hat z_i", "learn.metric_symbols.uniformity.0.1"),
        (r"t", "learn.metric_symbols.uniformity.1.1"),
    ],
    "modality_gap": [
        (r"\frac{1}{N}\sum_i \hat a_i", "learn.metric_symbols.modality_gap.0.1"),
        (r"\Delta", "learn.metric_symbols.modality_gap.1.1"),
    ],
    "linear_probe_accuracy": [
        (r"z", "learn.metric_symbols.linear_probe_accuracy.0.1"),
        (r"W, c", "learn.metric_symbols.linear_probe_accuracy.1.1"),
        (r"\hat y_i, y_i", "learn.metric_symbols.linear_probe_accuracy.2.1"),
    ],
    "median_rank_{a}_to_{b}": [
        (r"\mathrm{rank}_i", "learn.metric_symbols_more.median_rank_a_to_b.rank_i"),
    ],
    "class_precision_at_{k}_{a}_to_{b}": [
        (r"\mathcal{N}_k(i)", "learn.metric_symbols_more.class_precision_at_k_a_to_b.nk"),
        (r"y_i, y_j", "learn.metric_symbols_more.class_precision_at_k_a_to_b.y"),
        (r"N", "learn.metric_symbols_more.class_precision_at_k_a_to_b.n"),
    ],
    "spread": [
        (r"z_{ik}", "learn.metric_symbols_more.spread.z"),
        (r"d", "learn.metric_symbols_more.spread.d"),
        (r"\operatorname{std}_i", "learn.metric_symbols_more.spread.std"),
    ],
    "mean_canonical_correlation_{a}_{b}": [
        (
            r"\Sigma_{aa}, \Sigma_{bb}, \Sigma_{ab}",
            "learn.metric_symbols_more.mean_canonical_correlation_a_b.sigma",
        ),
        (r"\sigma_k", "learn.metric_symbols_more.mean_canonical_correlation_a_b.sk"),
        (r"r", "learn.metric_symbols_more.mean_canonical_correlation_a_b.r"),
    ],
    "accuracy": [
        (r"\hat y_i, y_i", "learn.metric_symbols_more.accuracy.y"),
        (r"[\cdot]", "learn.metric_symbols_more.accuracy.iverson"),
    ],
    "macro_f1": [
        (r"P_c, R_c", "learn.metric_symbols_more.macro_f1.pr"),
        (r"C", "learn.metric_symbols_more.macro_f1.c"),
    ],
    "attention_mask_spearman": [
        (r"w_{\cdot m}", "learn.metric_symbols_more.attention_mask_spearman.w"),
        (r"M'", "learn.metric_symbols_more.attention_mask_spearman.m"),
        (r"\text{mask}", "learn.metric_symbols_more.attention_mask_spearman.mask"),
        (r"\operatorname{rank}", "learn.metric_symbols_more.attention_mask_spearman.rank"),
    ],
    "attention_on_informative": [
        (r"R", "learn.metric_symbols_more.attention_on_informative.r"),
        (r"w_{im}", "learn.metric_symbols_more.attention_on_informative.w"),
        (r"\text{mask}_{im}", "learn.metric_symbols_more.attention_on_informative.mask"),
    ],
}
METRIC_ORDER = (  # every metric family the product reports, retrieval first
    "recall_at_{k}_{a}_to_{b}",
    "median_rank_{a}_to_{b}",
    "class_precision_at_{k}_{a}_to_{b}",
    "alignment",
    "uniformity",
    "modality_gap",
    "spread",
    "mean_canonical_correlation_{a}_{b}",
    "linear_probe_accuracy",
    "accuracy",
    "macro_f1",
    "attention_mask_spearman",
    "attention_on_informative",
)


# Guided lessons live in fusion.lessons (LESSONS) and views/parts/lessons.py (the tab).


# ---------------------------------------------------------------------------


def symbols(items: list[tuple[str, str]]) -> None:
    st.markdown("\n".join(f"- ${sym}$: {t(text)}" for sym, text in items))


def concepts_tab() -> None:
    st.subheader(t("learn.shared_space"))
    st.markdown(t("learn.multimodal_data_describes_one"))
    st.subheader(t("learn.contrastive_learning"))
    st.markdown(t("learn.pulling_true_pairs_together"))
    st.subheader(t("learn.attention_fusion"))
    st.markdown(t("learn.when_goal_one_prediction"))
    st.latex(
        r"w_{im} = \frac{e^{\,\mathrm{score}(h_{im})}}{\sum_{m'} e^{\,\mathrm{score}(h_{im'})}},"
        r"\qquad h_i^{\text{fused}} = \sum_m w_{im}\, h_{im}"
    )
    symbols(
        [
            (r"h_{im}", "learn.symbols_concepts.0_0"),
            (r"\mathrm{score}", "learn.symbols_concepts.0_1"),
            (r"w_{im}", "learn.symbols_concepts.0_2"),
        ]
    )
    st.caption(t("learn.bahdanau_et_al_2015"))


def losses_tab() -> None:
    """Every registered loss: formula, its symbols in words, what guards against collapse."""
    st.markdown(t("learn.each_loss_below_shown"))
    for key, spec in LOSSES.items():
        with st.container(border=True):
            st.subheader(info_text("loss", key, "title"))
            st.latex(spec.formula_latex)
            symbols([(x, f"learn.loss_symbols.{key}.{i}") for i, x in enumerate(spec.symbols)])
            if spec.family != "joint":
                st.markdown(t(f"learn.other_loss_note.{key}"))
            elif spec.repulsive:
                st.markdown(t("learn.repulsive_term_yes_non"))
            elif spec.prevents_collapse:
                st.markdown(t("learn.repulsive_term_no_but"))
            else:
                st.markdown(t("learn.repulsive_term_none_minimum"))
            if key == "seed_alignment":
                seed_note()
            if spec.cca_step:
                st.markdown(t("learn.dcca_shared_space"))
            source = info_text("loss", key, "source")
            st.caption(t("learn.source_source_url", source=source, url=spec.url))


def seed_note() -> None:
    st.markdown("**" + t("learn.written_seed_article_section") + "**")
    st.latex(SEED_AS_WRITTEN)
    st.markdown(t("learn.article_says_goal_make"))
    st.markdown(t("learn.two_smaller_issues_printed"))
    st.latex(
        r"\mathcal{L} = \sum_{i,j} s_{ij}\,\lVert a_i - b_j\rVert^2 + "
        r"(1 - s_{ij})\,\max\big(0,\ m - \lVert a_i - b_j\rVert\big)^2"
    )


def metrics_tab() -> None:
    st.markdown(t("learn.every_metric_explore_compare"))
    for key in METRIC_ORDER:
        info = METRIC_INFO[key]
        with st.container(border=True):
            arrow = (
                t("learn.higher_better") if info["higher_is_better"] else t("learn.lower_better")
            )
            title = info_text("metric", key, "title")
            if key == "recall_at_{k}_{a}_to_{b}":
                title = t("learn.recall_k_cross_modal")
            st.subheader(title)
            st.latex(info["formula_latex"])
            symbols(METRIC_SYMBOLS.get(key, []))
            st.markdown(f"{info_text('metric', key, 'help')} *({arrow})*")
            source = info_text("metric", key, "source")
            st.caption(t("learn.source_source_url", source=source, url=info["url"]))


def _remember_tab(key: str, labels: list[str]) -> None:
    chosen = st.session_state.get(key)
    if chosen in labels:
        st.session_state[TAB_INDEX] = labels.index(chosen)


def main() -> None:
    st.title(t("learn.learn"))
    st.caption(t("learn.ideas_behind_playground_each"))
    labels = [t("learn.concepts"), t("learn.losses"), t("learn.metrics"), t("learn.lessons")]
    # ?lesson=<id> opens the Lessons tab (decided once per session: the tabs never jump).
    # The open tab is kept by position: the labels change with the language, and tabs with
    # new labels would open on the first one (the reader would lose their lesson).
    if TAB_INDEX not in st.session_state:
        st.session_state[TAB_INDEX] = len(labels) - 1 if lessons_tab_default(labels) else 0
    key = f"learn_tabs_{language()}"
    concepts, losses, metrics, lessons = st.tabs(
        labels,
        default=labels[st.session_state[TAB_INDEX]],
        key=key,
        on_change=_remember_tab,
        args=(key, labels),
    )
    with concepts:
        concepts_tab()
    with losses:
        losses_tab()
    with metrics:
        metrics_tab()
    with lessons:
        lessons_tab()


main()
