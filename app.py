"""Fusion Playground: the entry point only configures the page, draws the shared sidebar and routes."""

import streamlit as st
from streamlit import runtime

# Streamlit asks once per process, on the first element drawn, whether it runs in a REPL
# (to print a usage warning) through inspect.stack(), which reads the source of every
# frame: about 0.25 s of the first page a fresh server draws. Under `streamlit run` that
# warning never prints, so the question is marked as asked.
if runtime.exists():
    import streamlit.delta_generator as _delta_generator

    _delta_generator._use_warning_has_been_displayed = True

st.set_page_config(
    page_title="Fusion Playground",
    page_icon=":material/merge_type:",  # an emoji would load Streamlit's emoji catalogue (~0.4 s) on first paint
    layout="wide",
    initial_sidebar_state="expanded",
)

from views.parts.device import start_warm_up  # noqa: E402  (set_page_config comes first)

# The training workers start before the rest of the page is imported and drawn: a first
# visitor's "Try the demo" then finds one ready sooner (they load torch at a lower priority).
start_warm_up()

from views.parts.classroom import class_banner, class_session  # noqa: E402
from views.parts.links import sync_url, workspace  # noqa: E402
from views.parts.sidebar import sidebar  # noqa: E402
from views.parts.text import presenter, t  # noqa: E402
from views.site import HOME, PAGES  # noqa: E402

NAVIGATION = [
    st.Page(
        page.script,
        title=t(page.title_key),
        icon=page.icon,
        url_path=page.url_path,
        default=page is HOME,
    )
    for page in PAGES
]

page = st.navigation(NAVIGATION)
ws = workspace()  # keep this visitor's ?ws= token in the URL on every page
class_session(ws)  # a class link's code (and a teacher's key), kept in the URL too
sync_url()  # language, presenter mode and the shareable setup, read from / kept in the URL
# A projector's narrow screen goes to the page: presenter mode collapses the sidebar (a
# visitor who opened or closed it by hand keeps their choice; Streamlit remembers it).
st.set_page_config(initial_sidebar_state="collapsed" if presenter() else "expanded")
sidebar(page.url_path or HOME.url_path)  # the default page's url_path is ""
class_banner(page.url_path)  # a student's "your teacher sent …", on every page
page.run()
