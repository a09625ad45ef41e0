"""The pages' table (views/site.py): every script exists, and the URL paths people have
bookmarked and shared stay as they are."""

from __future__ import annotations

from pathlib import Path

from fusion.i18n import LANGUAGES, translate
from views.site import HOME, PAGES

ROOT = Path(__file__).resolve().parents[1]


def test_every_page_script_exists_below_views_pages():
    for page in PAGES:
        path = ROOT / page.script
        assert path.is_file(), page
        assert path.parent == ROOT / "views" / "pages", page  # not a legacy pages/ beside app.py


def test_the_url_paths_stay_as_shared_links_use_them():
    assert [p.url_path for p in PAGES] == [
        "home", "data", "train", "explore", "compare", "learn", "class"
    ]  # fmt: skip
    assert PAGES[0] is HOME  # the first page is the default one, also shown at /


def test_every_page_has_a_title_in_every_language():
    for page in PAGES:
        for lang in LANGUAGES:
            assert translate(page.title_key, lang) != page.title_key, (page, lang)
