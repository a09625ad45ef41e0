"""Home: what multimodal fusion is, and two one-click demos that train live and land on Explore.

Kept light on purpose (no torch or umap at import) so the first page paints fast; the
demo's training is started through ``_shared.start_demo`` and watched by the shared
live-progress fragment.
"""

from __future__ import annotations

import streamlit as st

from fusion.errors import FusionError
from views._shared import (
    DEMO_KIND,
    DEMOS,
    METHOD_LABELS,
    current_job,
    show_error,
    start_demo,
    t,
    training_panel,
    training_running,
)

CARDS = {
    "joint": {
        "icon": ":material/hub:",
        "title": "Joint embedding",
        "body": (
            "Two views of the same 2,000 samples are mapped into one shared space by a "
            "contrastive (InfoNCE, as in CLIP) loss. Watch matching pairs move together, "
            "then retrieve across modalities on Explore."
        ),
        "button": "Try the demo",
        "type": "primary",
    },
    "attention": {
        "icon": ":material/center_focus_strong:",
        "title": "Attention fusion",
        "body": (
            "In each sample only one of two sensors carries the signal. An attention "
            "network learns, per sample, which modality to trust before it classifies; "
            "Explore shows its weights against the truth."
        ),
        "button": "Try the attention demo",
        "type": "secondary",
    },
}

NEXT_STEPS = (
    (
        "views/data.py",
        ":material/database:",
        "Data",
        "Generate a data set or upload your own files.",
    ),
    (
        "views/train.py",
        ":material/model_training:",
        "Train",
        "Pick a method and loss, and train with live curves.",
    ),
    (
        "views/explore.py",
        ":material/explore:",
        "Explore",
        "See the shared space, retrieval and attention.",
    ),
)


def intro_ui() -> None:
    st.title(t("Fusion Playground"))
    st.markdown(
        t(
            "**Multimodal fusion** combines several kinds of data about the same thing — an "
            "image and its caption, two sensors at the same instant — so that each fills in "
            "what the other misses. A **joint embedding** maps every modality into one shared "
            "space where things that mean the same land close together, whichever modality "
            "they came from. **Attention fusion** lets a small network weigh each modality's "
            "features for every sample, then fuses them into one prediction."
        )
    )


def demo_cards_ui(busy: bool) -> str | None:
    """The two demo cards; returns the demo whose button was clicked, if any."""
    clicked = None
    cols = st.columns(len(CARDS), gap="medium")
    for col, (kind, card) in zip(cols, CARDS.items(), strict=True):
        spec = DEMOS[kind]
        with col, st.container(border=True, height="stretch"):
            st.subheader(f"{card['icon']} {t(card['title'])}")
            st.markdown(t(card["body"]))
            st.space("stretch")  # buttons line up at the bottom of cards of unequal text
            st.caption(
                t(
                    "{method} · {generator} data, {n} samples · {epochs} epochs · "
                    "a few seconds on a CPU",
                    method=t(METHOD_LABELS[spec["method"]]),
                    generator=spec["generator"],
                    n=f"{spec['params']['n']:,}",
                    epochs=spec["epochs"],
                )
            )
            if st.button(
                t(card["button"]),
                key=f"demo_{kind}",
                type=card["type"],
                icon=":material/play_arrow:",
                disabled=busy,
                help=t(
                    "Generates the data, trains the model with live progress, then opens Explore."
                ),
                width="stretch",
            ):
                clicked = kind
    return clicked


def next_steps_ui() -> None:
    st.markdown(t("#### Or go step by step"))
    cols = st.columns(len(NEXT_STEPS), gap="medium")
    for col, (page, icon, title, text) in zip(cols, NEXT_STEPS, strict=True):
        with col, st.container(border=True, height="stretch"):
            st.page_link(page, label=t(title), icon=icon)
            st.caption(t(text))


intro_ui()
busy = training_running()
kind = demo_cards_ui(busy)
if kind is not None:
    try:
        start_demo(kind)
    except FusionError as exc:
        show_error(exc)
    else:
        st.rerun()

if current_job() is not None and st.session_state.get(DEMO_KIND):
    demo = st.session_state[DEMO_KIND]
    with st.container(border=True):
        if busy:
            st.markdown(t("#### Training the {name} demo…", name=t(CARDS[demo]["title"]).lower()))
            st.caption(
                t("You can leave this page; the training keeps going and you can come back.")
            )
        else:
            st.markdown(t("#### The {name} demo", name=t(CARDS[demo]["title"]).lower()))
        training_panel("home")
elif busy:
    st.info(
        t("A training is running; follow it on the Train page."), icon=":material/model_training:"
    )
    st.page_link("views/train.py", label=t("Go to Train"), icon=":material/model_training:")

st.write("")
next_steps_ui()
