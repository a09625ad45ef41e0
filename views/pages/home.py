"""Home: what multimodal fusion is, and two one-click demos that train live and land on Explore.

Kept light on purpose (no torch or umap at import) so the first page paints fast; the
demo's training is started through ``demo.start_demo`` and the click opens Explore at
once, where the shared live-progress panel shows it until its run is saved. Coming back
here while it trains shows the same panel (``demo.demo_panel``).
"""

from __future__ import annotations

import streamlit as st

from fusion.errors import FusionError
from views.parts.demo import DEMOS, demo_kind, demo_panel, start_demo
from views.parts.jobs import current_job, training_running
from views.parts.text import method_label, t
from views.parts.widgets import show_error
from views.site import DATA, EXPLORE, TRAIN

CARDS = {
    "joint": {
        "icon": ":material/hub:",
        "title": "home.cards.joint.title",
        "body": ("home.cards.joint.body"),
        "button": "home.cards.joint.button",
        "type": "primary",
    },
    "attention": {
        "icon": ":material/center_focus_strong:",
        "title": "home.cards.attention.title",
        "body": ("home.cards.attention.body"),
        "button": "home.cards.attention.button",
        "type": "secondary",
    },
}

NEXT_STEPS = (
    (
        DATA.script,
        ":material/database:",
        "home.next_steps.0.2",
        "home.next_steps.0.3",
    ),
    (
        TRAIN.script,
        ":material/model_training:",
        "home.next_steps.1.2",
        "home.next_steps.1.3",
    ),
    (
        EXPLORE.script,
        ":material/explore:",
        "home.next_steps.2.2",
        "home.next_steps.2.3",
    ),
)


def intro_ui() -> None:
    st.title(t("home.fusion_playground"))
    st.markdown(t("home.multimodal_fusion_combines_several"))


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
                    "home.method_generator_data_n",
                    method=method_label(spec["method"]),
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
                help=t("home.generates_data_trains_model"),
                width="stretch",
            ):
                clicked = kind
    return clicked


def next_steps_ui() -> None:
    st.markdown(t("home.go_step_step"))
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
        # Straight to where the result will be, from this short run: Explore shows the live
        # panel, then the run. Home does not watch the job: a page that waits for a training
        # inside one script run holds the visitor there for the whole training.
        st.switch_page(EXPLORE.script)

if current_job() is not None and demo_kind() is not None:
    demo_panel("home")
elif busy:
    st.info(t("home.training_running_follow_train"), icon=":material/model_training:")
    st.page_link(TRAIN.script, label=t("home.go_train"), icon=":material/model_training:")

st.write("")
next_steps_ui()
