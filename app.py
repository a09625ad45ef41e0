"""Fusion Playground: the entry point only configures the page, draws the shared sidebar and routes."""

import streamlit as st

st.set_page_config(
    page_title="Fusion Playground",
    page_icon="🔀",
    layout="wide",
    initial_sidebar_state="expanded",
)

from pages._shared import sidebar, start_warm_up  # noqa: E402  (set_page_config comes first)

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True, url_path="home"),
    st.Page("pages/data.py", title="Data", icon="🗂️", url_path="data"),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/explore.py", title="Explore", icon="🔭", url_path="explore"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️", url_path="compare"),
    st.Page("pages/learn.py", title="Learn", icon="📖", url_path="learn"),
]

page = st.navigation(PAGES)
start_warm_up()
sidebar()
page.run()
