"""Learn: the ideas behind the playground in plain words, every loss and key metric as a
formula with its symbols explained and its paper linked, and a slot for guided lessons.

Formulas come from :data:`fusion.losses.LOSS_INFO` and :data:`fusion.metrics.METRIC_INFO`
so the page shows exactly what the code computes. The seed article's objective (its
section 4) is also shown as the article writes it, with why its minimum is collapse
(Hadsell, Chopra & LeCun 2006 add the missing repulsive term).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from fusion.losses import LOSS_INFO
from fusion.metrics import METRIC_INFO
from views._shared import t

# The seed article's formula exactly as printed (section 4), brackets and all.
SEED_AS_WRITTEN = (
    r"\min_{f,g} \sum_{i,j} s_{ij} \|f(x_i) - g(y_j)\|^2 "
    r"+ \lambda \sum_{i} \|f(x_i)\|^2 + \|g(y_i)\|^2"
)

# What each symbol means, in words, per loss (the formulas come from LOSS_INFO).
LOSS_SYMBOLS: dict[str, list[tuple[str, str]]] = {
    "seed_alignment": [
        (
            r"f, g",
            "the two encoders: f maps a sample of modality x (say an image) and g a "
            "sample of modality y (say a caption) into the shared space",
        ),
        (r"x_i, y_j", "the i-th sample of the first modality and the j-th of the second"),
        (
            r"s_{ij}",
            "1 when $x_i$ and $y_j$ mean the same thing (the same pair, or the same class "
            "when labels are used), otherwise 0",
        ),
        (r"\lVert\cdot\rVert^2", "squared Euclidean distance or length"),
        (r"\lambda", "weight of the L2 penalty that keeps embeddings small"),
        (r"B", "the number of pairs in a training batch (the code averages over it)"),
    ],
    "info_nce": [
        (r"a_i, b_i", "the embeddings of the two halves of pair i, scaled to length 1"),
        (
            r"a_i\cdot b_j",
            "cosine similarity between sample i of one modality and sample j of the other",
        ),
        (
            r"\tau",
            "the temperature: small values sharpen the softmax, so near misses are punished harder",
        ),
        (
            r"\sum_j",
            "runs over every item in the batch: all the other pairs act as "
            "negatives that the true partner must beat",
        ),
        (r"B", "the batch size"),
    ],
    "triplet": [
        (r"s_{ij}", "cosine similarity between item i of one modality and item j of the other"),
        (r"m", "the margin: the true pair must beat every other pair by at least m"),
        (r"\max_{j\ne i}", "only the hardest negative (the most similar wrong item) counts"),
        (r"[\cdot]_+", "max(0, ·): no loss once the margin is met"),
    ],
    "dcca": [
        (r"\Sigma_{aa}, \Sigma_{bb}", "the covariance of each modality's embeddings in the batch"),
        (r"\Sigma_{ab}", "the cross-covariance between the two modalities"),
        (r"T", "the cross-covariance after whitening each side"),
        (
            r"\operatorname{tr}\big((T^\top T)^{1/2}\big)",
            "the sum of canonical correlations; the loss maximises it",
        ),
    ],
}

METRIC_SYMBOLS: dict[str, list[tuple[str, str]]] = {
    "recall_at_{k}_{a}_to_{b}": [
        (r"s_{ij}", "cosine similarity between query i (one modality) and item j (the other)"),
        (r"\mathrm{rank}_i", "how many items beat the true partner of query i (0 = first)"),
        (r"K", "how many retrieved items count as a hit"),
        (r"N", "number of validation pairs; chance is K/N"),
    ],
    "alignment": [
        (r"\hat a_i, \hat b_i", "the two embeddings of pair i, scaled to length 1"),
        (r"\alpha", "the power of the distance (2 here)"),
    ],
    "uniformity": [
        (r"\hat z_i", "any embedding scaled to length 1"),
        (r"t", "how quickly the kernel decays with distance (2 here)"),
    ],
    "modality_gap": [
        (r"\frac{1}{N}\sum_i \hat a_i", "the centre of one modality's embeddings on the sphere"),
        (r"\Delta", "the distance between the two modality centres"),
    ],
    "linear_probe_accuracy": [
        (r"z", "a frozen embedding (the encoder is not trained further)"),
        (r"W, c", "a logistic-regression classifier fitted on the training embeddings"),
        (r"\hat y_i, y_i", "predicted and true class of validation sample i"),
    ],
}
METRIC_ORDER = (
    "recall_at_{k}_{a}_to_{b}",
    "alignment",
    "uniformity",
    "modality_gap",
    "linear_probe_accuracy",
)


@dataclass
class Lesson:
    """A guided lesson (a later issue fills :data:`LESSONS`): steps that point at pages."""

    key: str
    title: str
    summary: str
    steps: list[str] = field(default_factory=list)  # one instruction each, Markdown
    page: str | None = None  # the page the lesson starts on, e.g. "views/train.py"


# Guided lessons register here; the Lessons tab lists whatever is in it.
LESSONS: list[Lesson] = []


# ---------------------------------------------------------------------------


def symbols(items: list[tuple[str, str]]) -> None:
    st.markdown("\n".join(f"- ${sym}$: {t(text)}" for sym, text in items))


def concepts_tab() -> None:
    st.subheader(t("The shared space"))
    st.markdown(
        t(
            "Multimodal data describes one thing in several ways: a photo and its caption, a "
            "sensor reading and a spoken note. A **joint embedding** gives each modality its "
            "own encoder and maps all of them into **one shared space** of vectors, so that "
            "an image and the caption that describes it end up close together. Once there, "
            "you can search captions with an image (cross-modal retrieval), compare any two "
            "items, or classify from either modality."
        )
    )
    st.subheader(t("Contrastive learning"))
    st.markdown(
        t(
            "Pulling true pairs together is only half the job: pulling alone is solved by "
            "putting *everything* on one point. **Contrastive** losses also push the other "
            "items of a batch away. InfoNCE, the loss behind CLIP, treats each batch as a "
            "multiple-choice test: for every image, pick its caption among all captions in "
            "the batch. The wrong answers are the **negatives**, and the push away from "
            "them is the **repulsive term**."
        )
    )
    st.subheader(t("Attention fusion"))
    st.markdown(
        t(
            "When the goal is one prediction from several inputs, the modalities must be "
            "combined. **Attention fusion** scores each modality for each sample and mixes "
            "them with weights that sum to one, so a blurry image can be down-weighted while "
            "a clear caption carries the decision. The weights are visible, which makes the "
            "model's trust in each input something you can inspect on the Explore page."
        )
    )
    st.latex(
        r"w_{im} = \frac{e^{\,\mathrm{score}(h_{im})}}{\sum_{m'} e^{\,\mathrm{score}(h_{im'})}},"
        r"\qquad h_i^{\text{fused}} = \sum_m w_{im}\, h_{im}"
    )
    symbols(
        [
            (r"h_{im}", "the encoded token of modality m for sample i"),
            (r"\mathrm{score}", "a small network that rates how useful a token looks"),
            (r"w_{im}", "the attention weight: the share of modality m in sample i's fusion"),
        ]
    )
    st.caption(
        t(
            "Bahdanau et al. 2015 introduced learned attention weights; the classifier on top "
            "is trained with cross-entropy."
        )
    )


def losses_tab() -> None:
    st.markdown(
        t(
            "Each loss below is shown exactly as the code computes it. A loss with a "
            "**repulsive term** pushes non-matching items apart; without one (or another "
            "guard such as whitening) the cheapest solution is to collapse."
        )
    )
    for key, info in LOSS_INFO.items():
        with st.container(border=True):
            st.subheader(t(info["title"]))
            st.latex(info["formula_latex"])
            symbols(LOSS_SYMBOLS.get(key, []))
            if info.get("repulsive"):
                st.markdown(t("✅ **Repulsive term**: yes — non-matching items are pushed apart."))
            elif info.get("prevents_collapse"):
                st.markdown(
                    t(
                        "➖ **Repulsive term**: no, but whitening (unit variance per direction) "
                        "rules out collapse."
                    )
                )
            else:
                st.markdown(t("⚠️ **Repulsive term**: none — its minimum is collapse."))
            if key == "seed_alignment":
                seed_note()
            st.caption(t("Source: [{source}]({url})", source=info["source"], url=info["url"]))


def seed_note() -> None:
    st.markdown("**" + t("As written in the seed article (section 4)") + "**")
    st.latex(SEED_AS_WRITTEN)
    st.markdown(
        t(
            "The article says the goal is to make same-meaning items close *and* "
            "different-meaning items far apart, but no term in the formula does the second "
            "part: every term is a squared length, so it is never negative, and all of them "
            "are exactly 0 when $f$ and $g$ send every input to the origin. **The minimum "
            "puts everything at one point** (collapse). Training with it, the spread of the "
            "embeddings falls towards zero and retrieval drops to chance — compare a seed run "
            "with an InfoNCE run on the Compare page to watch it happen."
        )
    )
    st.markdown(
        t(
            "Two smaller issues: as printed, $\\lambda$ multiplies only $\\lVert f(x_i)\\rVert^2$ "
            "(the brackets are missing; the code applies it to both norms), and the sums are "
            "not averaged, so their size grows with the batch (the code divides by $B$). "
            "Hadsell, Chopra & LeCun (2006) fix the collapse with a margin term that pushes "
            "dissimilar pairs at least $m$ apart:"
        )
    )
    st.latex(
        r"\mathcal{L} = \sum_{i,j} s_{ij}\,\lVert a_i - b_j\rVert^2 + "
        r"(1 - s_{ij})\,\max\big(0,\ m - \lVert a_i - b_j\rVert\big)^2"
    )


def metrics_tab() -> None:
    st.markdown(
        t(
            "Every metric on Explore and Compare is shown next to its **chance level**, the "
            "score of a model that guesses. Read the geometry metrics together: a collapsed "
            "model has perfect alignment but terrible uniformity."
        )
    )
    for key in METRIC_ORDER:
        info = METRIC_INFO[key]
        with st.container(border=True):
            arrow = t("higher is better") if info["higher_is_better"] else t("lower is better")
            title = t(info["title"])
            if key == "recall_at_{k}_{a}_to_{b}":
                title = t("Recall@K (cross-modal retrieval)")
            st.subheader(title)
            st.latex(info["formula_latex"])
            symbols(METRIC_SYMBOLS.get(key, []))
            st.markdown(f"{t(info['help'])} *({arrow})*")
            st.caption(t("Source: [{source}]({url})", source=info["source"], url=info["url"]))


def lessons_tab() -> None:
    if not LESSONS:
        st.info(
            t(
                "Guided lessons are coming: short walk-throughs that train, explore and "
                "compare runs step by step. Until then, try this on your own: train the seed "
                "objective and InfoNCE on the same data and seed, then open both on the "
                "Compare page."
            ),
            icon="🧭",
        )
        if st.button(t("Go to Train"), key="learn_to_train", type="primary"):
            st.switch_page("views/train.py")
        return
    for lesson in LESSONS:
        with st.expander(t(lesson.title)):
            st.markdown(t(lesson.summary))
            for i, step in enumerate(lesson.steps, start=1):
                st.markdown(f"{i}. {t(step)}")
            if lesson.page and st.button(t("Start"), key=f"lesson_{lesson.key}"):
                st.switch_page(lesson.page)


def main() -> None:
    st.title(t(":material/school: Learn"))
    st.caption(
        t("The ideas behind the playground, each formula with its symbols in words and its paper.")
    )
    concepts, losses, metrics, lessons = st.tabs(
        [t("Concepts"), t("Losses"), t("Metrics"), t("Lessons")]
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
