"""The dashboard's pages, in menu order: each page's script, URL path, title and icon.

``app.py`` builds its navigation from :data:`PAGES`; ``st.switch_page``, ``st.page_link``
and the tests name a page by its constant here (``TRAIN.script``), never by a path string.
The URL paths are the addresses people bookmark and share (``/data``, ``/train?…``), so
they stay as they are; Home is also what ``/`` shows.

A leaf: no Streamlit, nothing from the pages or parts, so any part can name a page.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    script: str  # relative to app.py's folder: what st.Page and st.switch_page take
    url_path: str  # the page's address below the server's root
    title_key: str  # catalogue key of its title in the navigation
    icon: str


HOME = Page("views/pages/home.py", "home", "nav.home", ":material/home:")
DATA = Page("views/pages/data.py", "data", "nav.data", ":material/dataset:")
TRAIN = Page("views/pages/train.py", "train", "nav.train", ":material/model_training:")
EXPLORE = Page("views/pages/explore.py", "explore", "nav.explore", ":material/explore:")
COMPARE = Page("views/pages/compare.py", "compare", "nav.compare", ":material/compare_arrows:")
LEARN = Page("views/pages/learn.py", "learn", "nav.learn", ":material/school:")
CLASS = Page("views/pages/classroom.py", "class", "nav.class", ":material/groups:")

PAGES = (HOME, DATA, TRAIN, EXPLORE, COMPARE, LEARN, CLASS)  # menu order; the first is the default
