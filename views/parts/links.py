"""The URL and the workspace: whose runs these are, and the setup a link shares.

- ``?ws=`` keeps this visitor's workspace (their runs folder) across reloads.
- ``?lang=``, ``?present=1`` and the setup (data generator, parameters, training
  configuration; :mod:`fusion.share`) are written back on every run (:func:`sync_url`),
  so a reload or a shared link restores them.
- ``?sel=`` carries a small selection on Explore's map (its sample ids,
  :func:`fusion.share.ids_to_param`), so a shared link points at "these points".
- The sidebar's "share this setup" popover gives the link without the workspace token.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from fusion.errors import FusionError
from fusion.i18n import DEFAULT_LANGUAGE
from fusion.runs import runs_root
from fusion.share import MAX_LINK_IDS, ids_from_param, is_setup_key, parse_setup, setup_query
from views.parts.dataset import dataset_title, generate, restore_dataset
from views.parts.state import (
    URL_CHECKED,
    WORKSPACE,
    active_run_known,
    get_dataset,
    last_config,
    link_selection,
    pending_link_selection,
    set_active_run,
    set_dataset,
    set_link_config,
    set_link_note,
    set_link_selection_set,
    set_pending_link_selection,
    stored_active_run,
    take_link_note,
)
from views.parts.text import language, presenter, t
from views.site import TRAIN

# Never in a shared link: the workspace token opens this visitor's runs, the class key
# makes its holder the class's teacher.
PRIVATE_PARAMS = ("ws", "key")
_WORKSPACE_RE = re.compile(r"[A-Za-z0-9_-]{12,64}")


# ---------------------------------------------------------------------------
# Workspace: whose runs these are


def workspace() -> str | None:
    """This browser's workspace token, kept in the URL (``?ws=…``) so a reload keeps it.

    On a shared server (a workshop) every visitor gets their own random, unguessable
    workspace: their runs are saved under it and Explore/Compare list only those, so nobody
    sees another's runs. ``FUSION_WORKSPACES=shared`` turns this off (one person on a
    laptop who also wants the runs made with ``python -m fusion train``).
    """
    if os.environ.get("FUSION_WORKSPACES", "session") == "shared":
        return None
    ws = st.session_state.get(WORKSPACE)
    if ws is None:
        given = st.query_params.get("ws", "")
        ws = given if _WORKSPACE_RE.fullmatch(given) else secrets.token_urlsafe(12)
        st.session_state[WORKSPACE] = ws
    if st.query_params.get("ws") != ws:
        st.query_params["ws"] = ws  # page navigation drops query parameters: put it back
    return ws


def runs_dir() -> Path:
    """Where this session's runs are saved and listed (inside the runs root)."""
    ws = workspace()
    return runs_root() / "workspaces" / ws if ws else runs_root()


def get_active_run() -> str | None:
    """The active run's folder; a session's first look (a reload, a bookmark) takes the
    newest run of its workspace."""
    if not active_run_known():
        newest = newest_run(runs_dir())
        set_active_run(newest)
        if newest is not None and get_dataset() is None:
            restore_dataset(newest)
    path = stored_active_run()
    return path if path and Path(path).is_dir() else None


def newest_run(root: Path) -> Path | None:
    """The newest run folder under ``root`` that has its files, by ``run.json``'s creation
    time (as :func:`fusion.runs.list_runs` orders them), reading only each ``run.json``:
    the first page of a session should not wait for every run to be read."""
    best: tuple[str, str] | None = None
    found = None
    for run_json in root.glob("*/run.json") if root.is_dir() else ():
        folder = run_json.parent
        if folder.name.startswith(".") or not (folder / "config.json").is_file():
            continue
        try:
            created = str(json.loads(run_json.read_text(encoding="utf-8")).get("created", ""))
        except (OSError, ValueError, AttributeError):
            continue
        if best is None or (created, folder.name) > best:
            best, found = (created, folder.name), folder
    return found


# ---------------------------------------------------------------------------
# The URL: language, presenter mode and a shareable setup travel in it


def current_setup() -> dict[str, str]:
    """The session's setup as query parameters: the active dataset's generator settings
    (none for uploaded data) and the latest training configuration."""
    data = get_dataset()
    return setup_query(data.source if data is not None else None, last_config())


def _load_link_setup() -> None:
    """On a session's first run, rebuild the setup a shared link describes (data made with
    the same generator, parameters and seed; the training settings put into Train's form)."""
    query = {k: st.query_params.get(k) for k in st.query_params}
    try:
        setup = parse_setup(query)
        if setup is None:
            return
        if setup.generator:
            data = generate(setup.generator, setup.params)
            set_dataset(data, dataset_title(setup.generator, setup.params))
        if setup.config is not None:
            set_link_config(setup.config)
        set_link_note("success", "common.link_loaded")
    except FusionError as exc:
        for k in [k for k in query if is_setup_key(k)]:
            del st.query_params[k]  # the page goes on with nothing loaded, link cleaned up
        set_link_note("error", exc.key, **exc.params)


SELECTION_PARAM = "sel"


def _load_link_selection() -> None:
    """On a session's first run, keep the sample ids a link selects until Explore shows a
    map they are on (a link's reader may first have to train a run of its data)."""
    value = st.query_params.get(SELECTION_PARAM)
    if not value:
        return
    try:
        set_pending_link_selection(value, ids_from_param(value))
    except FusionError as exc:
        del st.query_params[SELECTION_PARAM]
        set_link_note("error", exc.key, **exc.params)


def selection_query() -> str:
    """The ``sel=`` value the URL should carry: a link's selection not yet shown, else the
    selection on Explore's map when small enough ("" for none)."""
    pending = pending_link_selection()
    if pending is not None:
        return pending[0]
    sel = link_selection()
    return (sel[0] or "") if sel else ""


def sync_url() -> None:
    """Keep the URL in step with the session, on every run of every page.

    Page navigation drops query parameters, so they are written back each time:
    ``lang`` (when not English), ``present=1`` in presenter mode, and the setup
    (:func:`current_setup`). A session's first run reads them instead: that is how a
    shared link or a reload restores the language, presenter mode and the setup.
    """
    if not st.session_state.get(URL_CHECKED):
        st.session_state[URL_CHECKED] = True
        _load_link_setup()
        _load_link_selection()
    wanted = dict(current_setup())
    if selection_query():
        wanted[SELECTION_PARAM] = selection_query()
    if language() != DEFAULT_LANGUAGE:
        wanted["lang"] = language()
    if presenter():
        wanted["present"] = "1"
    stale = [
        k
        for k in st.query_params
        if (is_setup_key(k) or k in ("lang", "present", SELECTION_PARAM)) and k not in wanted
    ]
    for k in stale:
        del st.query_params[k]
    changed = {k: v for k, v in wanted.items() if st.query_params.get(k) != v}
    if changed:
        st.query_params.update(changed)
    sel = link_selection()
    set_link_selection_set(sel[0] if sel is not None else "")  # what the popover says


def share_link() -> str:
    """The link that opens this setup elsewhere: this page's address with the setup, the
    language and presenter mode, but never the workspace token (that would hand over
    this visitor's runs)."""
    params = {k: st.query_params.get(k) for k in st.query_params if k not in PRIVATE_PARAMS}
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(params)}" if params else base


def share_popover() -> None:
    """The sidebar's "share this setup" popover: the link, and what it cannot carry."""
    with st.popover(t("common.share_setup"), icon=":material/link:", width="stretch"):
        st.caption(t("common.share_setup_help"))
        st.code(share_link(), language=None, wrap_lines=True)
        data = get_dataset()
        if data is not None and not data.source.get("generator"):
            st.caption(t("common.share_setup_uploaded"))
        sel = link_selection()
        if sel is not None and sel[0] is None:
            st.caption(t("selection.link_too_big", limit=MAX_LINK_IDS))
        elif sel is not None and sel[0] and st.query_params.get(SELECTION_PARAM) == sel[0]:
            st.caption(t("selection.link_carries", n=sel[1]))


def link_note(page: str) -> None:
    """Say once what a shared link loaded, or why it could not (``page``: the URL path of
    the page shown; on Train a loaded link's settings are already in view)."""
    note = take_link_note()
    if note is None:
        return
    kind, key, params = note
    if kind == "success":
        here = page == TRAIN.url_path  # no "open Train" on Train itself
        st.toast(t("common.link_loaded_here" if here else key), icon=":material/link:")
    else:
        st.error(t("common.link_failed", reason=t(key, **params)), icon=":material/link_off:")
