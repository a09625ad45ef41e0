"""Fusion Playground: the entry point only configures the page, draws the shared sidebar and routes."""

import streamlit as st

st.set_page_config(
    page_title="Fusion Playground",
    page_icon="🔀",
    layout="wide",
    initial_sidebar_state="expanded",
)

from views._device import start_warm_up  # noqa: E402  (set_page_config comes first)
from views._links import sync_url, workspace  # noqa: E402
from views._sidebar import sidebar  # noqa: E402
from views._text import presenter, t  # noqa: E402

PAGES = [
    st.Page(
        "views/home.py", title=t("nav.home"), icon=":material/home:", default=True, url_path="home"
    ),
    st.Page("views/data.py", title=t("nav.data"), icon=":material/dataset:", url_path="data"),
    st.Page(
        "views/train.py", title=t("nav.train"), icon=":material/model_training:", url_path="train"
    ),
    st.Page(
        "views/explore.py", title=t("nav.explore"), icon=":material/explore:", url_path="explore"
    ),
    st.Page(
        "views/compare.py",
        title=t("nav.compare"),
        icon=":material/compare_arrows:",
        url_path="compare",
    ),
    st.Page("views/learn.py", title=t("nav.learn"), icon=":material/school:", url_path="learn"),
]

page = st.navigation(PAGES)
workspace()  # keep this visitor's ?ws= token in the URL on every page
sync_url()  # language, presenter mode and the shareable setup, read from / kept in the URL
# A projector's narrow screen goes to the page: presenter mode collapses the sidebar (a
# visitor who opened or closed it by hand keeps their choice; Streamlit remembers it).
st.set_page_config(initial_sidebar_state="collapsed" if presenter() else "expanded")
start_warm_up()
sidebar(page.url_path or "home")  # the default page's url_path is ""
page.run()
