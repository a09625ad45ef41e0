"""What every page shares: session state, the sidebar, the training slot, cached computations.

Pages stay thin: widgets return plain values, :mod:`fusion` computes, the page shows.
This module is the only place that knows the session-state keys.

- The active dataset and run live in ``st.session_state`` (per browser session).
- A session's training job lives in a session-scoped resource (:func:`job_slot`); when the
  session ends (tab closed, page reloaded) Streamlit releases it and the job is stopped,
  so nothing keeps running for a user who is gone. The job's thread never calls ``st.*``.
- Generated data and map projections are cached with ``st.cache_data`` (keyed by their
  parameters / the run folder); models and jobs are never in a cache shared by sessions.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from fusion.data import PairedData
from fusion.errors import FusionError

DATASET = "dataset"
DATASET_LABEL = "dataset_label"
ACTIVE_RUN = "active_run"
DEMO_KIND = "demo_kind"  # which Home demo the session's job belongs to (Home's and Explore's panel)
SCROLL_TO_PANEL = "scroll_to_panel"  # a training just started here: bring its panel into view
LESSON_OPEN = "lesson_open"  # id of the lesson open on Learn (None: the list of lessons)

DEMOS = {
    # One click on Home: generator, its parameters, method, loss, and epochs (a few seconds
    # on a 2-core CPU: about 0.15 s per epoch at n=2000).
    "joint": {
        "generator": "shared_latent",
        "params": {"n": 2000, "seed": 0},
        "method": "joint",
        "loss": "info_nce",
        "epochs": 15,
    },
    "attention": {
        "generator": "gated_reliability",
        "params": {"n": 2000, "seed": 0},
        "method": "attention",
        "loss": "cross_entropy",
        "epochs": 20,
    },
}
METHOD_LABELS = {
    "joint": "common.method_labels.joint",
    "attention": "common.method_labels.attention",
    "early": "common.method_labels.early",
    "late": "common.method_labels.late",
    "single": "common.method_labels.single",
    "cca": "common.method_labels.cca",
}
LOSS_LABELS = {
    "info_nce": "common.loss_labels.info_nce",
    "seed_alignment": "common.loss_labels.seed_alignment",
    "triplet": "common.loss_labels.triplet",
    "dcca": "common.loss_labels.dcca",
    "cross_entropy": "common.loss_labels.cross_entropy",
    "cca": "common.loss_labels.cca",
}


# ---------------------------------------------------------------------------
# Text


LANG = "lang"  # session key of the interface language ("en" or "zh")


def language() -> str:
    """The interface language of this session.

    A session's first look reads the ``?lang=`` URL parameter (a shared link, a reload);
    after that the session's choice holds, and :func:`sync_url` keeps it in the URL.
    """
    from fusion.i18n import DEFAULT_LANGUAGE, LANGUAGES

    if LANG not in st.session_state:
        given = st.query_params.get("lang")
        st.session_state[LANG] = given if given in LANGUAGES else DEFAULT_LANGUAGE
    return st.session_state[LANG]


def t(key: str, **kw: Any) -> str:
    """The user-facing text for catalogue ``key`` in the session's language.

    Every string a page shows goes through here; the strings themselves live in
    ``fusion/locales/<lang>/*.toml``. ``kw`` fills ``{name}`` placeholders.
    """
    from fusion.i18n import translate

    return translate(key, language(), **kw)


PRESENTER = "presenter"  # session key of presenter mode (a projector in front of a room)


def presenter() -> bool:
    """Whether presenter mode is on: larger text and plots, advanced controls hidden.

    Set from the sidebar toggle; a session's first look reads ``?present=1`` in the URL.
    """
    if PRESENTER not in st.session_state:
        st.session_state[PRESENTER] = st.query_params.get("present") == "1"
    return st.session_state[PRESENTER]


def error_text(exc: FusionError) -> str:
    """A library error's message in the session's language."""
    return exc.localized(language())


# ---------------------------------------------------------------------------
# The URL: language, presenter mode and a shareable setup travel in it

LAST_CONFIG = "last_config"  # RunConfig of the latest training started (or loaded from a link)
LINK_CONFIG = "link_config"  # RunConfig from a shared link, not yet put into the Train form
LINK_BASE = "link_base"  # that RunConfig again: Train keeps the settings its form does not show
LINK_NOTE = "link_note"  # what a shared link loaded (or why it could not), shown once
URL_CHECKED = "url_checked"  # the session has read its first URL


def current_setup() -> dict[str, str]:
    """The session's setup as query parameters: the active dataset's generator settings
    (none for uploaded data) and the latest training configuration."""
    from fusion.setup import setup_query

    data = get_dataset()
    return setup_query(data.source if data is not None else None, st.session_state.get(LAST_CONFIG))


def _load_link_setup() -> None:
    """On a session's first run, rebuild the setup a shared link describes (data made with
    the same generator, parameters and seed; the training settings put into Train's form)."""
    from fusion.setup import is_setup_key, parse_setup

    query = {k: st.query_params.get(k) for k in st.query_params}
    try:
        setup = parse_setup(query)
        if setup is None:
            return
        if setup.generator:
            data = generate(setup.generator, setup.params)
            set_dataset(data, dataset_title(setup.generator, setup.params))
        if setup.config is not None:
            st.session_state[LAST_CONFIG] = setup.config
            st.session_state[LINK_CONFIG] = setup.config
        st.session_state[LINK_NOTE] = ("success", "common.link_loaded")
    except FusionError as exc:
        for k in [k for k in query if is_setup_key(k)]:
            del st.query_params[k]  # the page goes on with nothing loaded, link cleaned up
        st.session_state[LINK_NOTE] = ("error", error_text(exc))


def sync_url() -> None:
    """Keep the URL in step with the session, on every run of every page.

    Page navigation drops query parameters, so they are written back each time:
    ``lang`` (when not English), ``present=1`` in presenter mode, and the setup
    (:func:`current_setup`). A session's first run reads them instead: that is how a
    shared link or a reload restores the language, presenter mode and the setup.
    """
    from fusion.i18n import DEFAULT_LANGUAGE
    from fusion.setup import is_setup_key

    if not st.session_state.get(URL_CHECKED):
        st.session_state[URL_CHECKED] = True
        _load_link_setup()
    wanted = dict(current_setup())
    if language() != DEFAULT_LANGUAGE:
        wanted["lang"] = language()
    if presenter():
        wanted["present"] = "1"
    stale = [
        k
        for k in st.query_params
        if (is_setup_key(k) or k in ("lang", "present")) and k not in wanted
    ]
    for k in stale:
        del st.query_params[k]
    changed = {k: v for k, v in wanted.items() if st.query_params.get(k) != v}
    if changed:
        st.query_params.update(changed)


def share_link() -> str:
    """The link that opens this setup elsewhere: this page's address with the setup, the
    language and presenter mode, but never the workspace token (that would hand over
    this visitor's runs)."""
    from urllib.parse import urlencode

    params = {k: st.query_params.get(k) for k in st.query_params if k != "ws"}
    base = (st.context.url or "").split("?")[0]
    return f"{base}?{urlencode(params)}" if params else base


# ---------------------------------------------------------------------------
# Workspace: whose runs these are

WORKSPACE = "workspace"
_WORKSPACE_RE = re.compile(r"[A-Za-z0-9_-]{12,64}")


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
    from fusion.runs import runs_root

    ws = workspace()
    return runs_root() / "workspaces" / ws if ws else runs_root()


# ---------------------------------------------------------------------------
# Dataset and run


def get_dataset() -> PairedData | None:
    return st.session_state.get(DATASET)


def set_dataset(data: PairedData, label: str) -> None:
    st.session_state[DATASET] = data
    st.session_state[DATASET_LABEL] = label


def dataset_label() -> str:
    """The active dataset's name: generator and seed (in the session's language), or the
    uploaded file's name."""
    data = get_dataset()
    if data is not None and data.source.get("generator"):
        return dataset_title(data.source["generator"], data.source.get("params", {}))
    return st.session_state.get(DATASET_LABEL, "")


def get_active_run() -> str | None:
    """The active run's folder; a session's first look (a reload, a bookmark) takes the
    newest run of its workspace."""
    if ACTIVE_RUN not in st.session_state:
        newest = newest_run(runs_dir())
        st.session_state[ACTIVE_RUN] = str(newest) if newest else None
    path = st.session_state.get(ACTIVE_RUN)
    return path if path and Path(path).is_dir() else None


def newest_run(root: Path) -> Path | None:
    """The newest run folder under ``root`` that has its files, by ``run.json``'s creation
    time (as :func:`fusion.runs.list_runs` orders them), read without importing
    fusion.runs: it imports torch, which the first page must not wait for."""
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


def set_active_run(path: str | Path | None) -> None:
    st.session_state[ACTIVE_RUN] = str(path) if path else None


@st.cache_data(show_spinner=False, max_entries=32)
def generate_cached(name: str, params_json: str) -> PairedData:
    """Generated data by (generator, parameters); cheap to share, it holds no user data."""
    from fusion.generators import generate

    return generate(name, **json.loads(params_json))


def generate(name: str, params: dict[str, Any]) -> PairedData:
    return generate_cached(name, json.dumps(params, sort_keys=True))


def dataset_title(name: str, params: dict[str, Any]) -> str:
    return t("common.dataset_title", name=name, seed=params.get("seed", 0))


# ---------------------------------------------------------------------------
# Training slot: one job per browser session


@dataclass
class JobSlot:
    """Holds this session's training job; releasing the slot stops the job."""

    job: Any = None  # fusion.jobs.TrainingJob | None
    handled: bool = False  # whether the page has reacted to the job's end

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()


def _release_slot(slot: JobSlot) -> None:
    slot.stop()


@st.cache_resource(scope="session", on_release=_release_slot, show_spinner=False)
def job_slot() -> JobSlot:
    return JobSlot()


def start_training(data: PairedData, config: Any) -> Any:
    """Start ``config`` on ``data`` in this session's slot; the run is saved when it ends.

    Raises FusionError (an invalid config) before anything starts.
    """
    from fusion.jobs import TrainingJob
    from fusion.runs import save_run

    slot = job_slot()
    if slot.job is not None and slot.job.running:
        raise FusionError("common.already_training")
    root = runs_dir()  # read here: the job's thread must not touch st.*

    def on_done(result):
        keep = result.history.steps or result.config.method == "cca"
        return save_run(result, root=root) if keep else None

    slot.job = TrainingJob(data, config, on_done=on_done).start()
    slot.handled = False
    st.session_state[LAST_CONFIG] = config  # the shareable setup follows the latest training
    st.session_state.pop(DEMO_KIND, None)  # a demo sets it again after starting
    return slot.job


def current_job() -> Any:
    return job_slot().job


def collect_finished_job() -> str | None:
    """If this session's job just ended with a saved run, make it the active run; return its path."""
    slot = job_slot()
    job = slot.job
    if job is None or job.running or slot.handled:
        return None
    slot.handled = True
    if job.saved_path:
        set_active_run(job.saved_path)
        return str(job.saved_path)
    return None


# ---------------------------------------------------------------------------
# Warm-up and device


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Compile UMAP's numba code once per server, off the critical path (a daemon thread)."""

    def work():
        from fusion.projection import warm_up

        warm_up()

    t = threading.Thread(target=work, name="umap-warm-up", daemon=True)
    t.start()
    return t


@st.cache_resource(show_spinner=False)
def _torch_imported() -> threading.Event:
    """Import torch once per server in a daemon thread, so the first page paints without it."""
    done = threading.Event()

    def work():
        import fusion.train  # noqa: F401  (imports torch)

        done.set()

    threading.Thread(target=work, name="torch-import", daemon=True).start()
    return done


@st.fragment(run_every=1.0)
def _device_pending() -> None:
    """The sidebar's device line while torch is still importing (only on a server's first paint)."""
    if _torch_imported().is_set():
        st.caption(device_name())
    else:
        st.caption(t("common.detecting"))


@st.cache_resource(show_spinner=False)
def device_name() -> str:
    from fusion.train import device_label

    return device_label()


def gpu_available() -> tuple[bool, str]:
    import torch

    if torch.cuda.is_available():
        return True, torch.cuda.get_device_name(0)
    return False, "common.no_gpu"


# ---------------------------------------------------------------------------
# Sidebar and empty states


PRESENTER_CSS = """
<style>
/* Presenter mode: Streamlit sizes text in rem, so a larger root font scales the page. */
html { font-size: 22px; }
[data-testid="stSidebar"] { font-size: 0.9rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
/* Metric labels and values wrap instead of ending in "…" ("Recall@1（平…", "106 / …"). */
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
</style>
"""


def _on_language() -> None:  # the rerun's sync_url puts the choice into the URL
    st.session_state[LANG] = st.session_state["language_choice"]


def _on_presenter() -> None:
    st.session_state[PRESENTER] = st.session_state["presenter_choice"]


def view_controls(page: str = "") -> None:
    """Sidebar: language, presenter mode and the share-this-setup link (``page``: the URL
    path of the page shown; on Train a loaded link's settings are already in view)."""
    from fusion.i18n import LANGUAGES

    st.session_state["language_choice"] = language()
    st.radio(
        t("common.language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        horizontal=True,
        key="language_choice",
        on_change=_on_language,
    )
    st.session_state["presenter_choice"] = presenter()
    st.toggle(
        t("common.presenter_mode"),
        key="presenter_choice",
        on_change=_on_presenter,
        help=t("common.presenter_mode_help"),
    )
    with st.popover(t("common.share_setup"), icon=":material/link:", width="stretch"):
        st.caption(t("common.share_setup_help"))
        st.code(share_link(), language=None, wrap_lines=True)
        data = get_dataset()
        if data is not None and not data.source.get("generator"):
            st.caption(t("common.share_setup_uploaded"))
    note = st.session_state.pop(LINK_NOTE, None)
    if note is not None:
        kind, text = note
        if kind == "success":
            here = page == "train"  # no "open Train" on Train itself
            st.toast(t("common.link_loaded_here" if here else text), icon=":material/link:")
        else:
            st.error(t("common.link_failed", reason=text), icon=":material/link_off:")
    if presenter():
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)


def chart(fig: Any, **kw: Any) -> Any:
    """Show a Plotly figure; in presenter mode with text large enough for a projector."""
    if presenter():
        from fusion.plots import for_projector

        for_projector(fig)
    kw.setdefault("width", "stretch")
    return st.plotly_chart(fig, **kw)


def shows_training_panel(page: str) -> bool:
    """Whether the page at URL path ``page`` shows this session's live training panel:
    Train always, Home and Explore while the job is a Home demo, Learn while the job is
    the open lesson's."""
    if page == "learn":
        lesson = getattr(current_job(), "lesson", None)
        return lesson is not None and st.session_state.get(LESSON_OPEN) == lesson.id
    return page == "train" or (
        page in ("home", "explore") and bool(st.session_state.get(DEMO_KIND))
    )


def sidebar(page: str = "") -> None:
    """The sidebar every page shares: active dataset, active run, training status, device.

    ``page`` is the URL path of the page being shown (``"train"``, ...).
    """
    data = get_dataset()
    job = current_job()
    if job is not None and not job.running:
        collect_finished_job()  # adopt the saved run as soon as any page runs
    with st.sidebar:
        view_controls(page)
        st.divider()
        st.markdown(t("common.active_dataset"))
        if data is None:
            st.caption(t("common.none_yet_make_one"))
        else:
            st.caption(f"{dataset_label()}  \n{data.describe(lang=language())}")
        st.markdown(t("common.active_run"))
        run = get_active_run()
        st.caption(Path(run).name if run else t("common.none_yet_train_one"))
        if job is not None and job.running:
            if shows_training_panel(page):
                # One progress figure per screen: the panel's, polled twice as often as
                # this line could be, would run ahead of a second percentage here.
                st.caption(t("common.training_see_panel"))
            else:
                _sidebar_training_status()
        st.markdown(t("common.device"))
        if _torch_imported().is_set():
            st.caption(device_name())
        else:
            _device_pending()


def _waiting_for_slot(p: Any) -> bool:
    """True when the job really waits for a server slot (not just preparing its data/model).

    Before training starts a job reports "waiting" even while it holds a slot and builds
    its model; it is queued only when more job threads are alive than there are slots.
    """
    from fusion.jobs import MAX_CONCURRENT, active_jobs

    return p.state in ("queued", "waiting") and active_jobs() > MAX_CONCURRENT


@st.fragment(run_every=1.0)
def _sidebar_training_status() -> None:
    """The sidebar's training line, kept fresh; a full rerun when the job ends adopts its run."""
    job = current_job()
    if job is None or not job.running:
        if job is not None and not job_slot().handled:
            st.rerun(scope="app")
        return
    p = job.progress()
    if _waiting_for_slot(p):
        st.caption(t("common.training_waiting_free_slot"))
    elif p.state in ("queued", "waiting"):
        st.caption(t("common.training_preparing"))
    else:
        st.caption(t("common.training_pct_done", pct=f"{p.fraction:.0%}"))


def require_dataset() -> PairedData:
    """The active dataset, or an empty state with a one-click way to make one (then stop)."""
    data = get_dataset()
    if data is not None:
        return data
    st.info(
        t("common.no_dataset_yet_make"),
        icon=":material/database:",
    )
    if st.button(t("common.use_default_demo_data"), key="empty_make_data", type="primary"):
        spec = DEMOS["joint"]
        set_dataset(
            generate(spec["generator"], spec["params"]),
            dataset_title(spec["generator"], spec["params"]),
        )
        st.rerun()
    st.stop()


def status_label(status: str) -> str:
    """A run's status ("finished", "stopped", ...) in the session's language."""
    from fusion.i18n import has

    key = f"common.run_status.{status}"
    return t(key) if has(key) else status


def show_error(exc: FusionError) -> None:
    st.error(error_text(exc), icon=":material/error:")


def fmt(x: float | None, digits: int = 3) -> str:
    """A number rounded for people: 0.873, 12.4, 1,234; '–' for missing."""
    if x is None or x != x:  # NaN
        return "–"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if ax else "0"


def fmt_duration(seconds: float | None) -> str:
    """A duration for people: '8 s', '1 min 05 s', '1 h 02 min'; '–' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return t("common.duration_seconds", s=s)
    if s < 3600:
        return t("common.duration_minutes", m=s // 60, s=s % 60)
    return t("common.duration_hours", h=s // 3600, m=s % 3600 // 60)


# ---------------------------------------------------------------------------
# Demos (Home's one-click cards)


def demo_config(kind: str) -> Any:
    """The RunConfig of a Home demo: the library's defaults, with the demo's epochs."""
    from fusion.experiment import default_config

    spec = DEMOS[kind]
    return default_config(spec["method"], spec["loss"], epochs=spec["epochs"])


def start_demo(kind: str) -> Any:
    """Generate the demo's data, make it active and start training it.

    Home then opens Explore at once, which shows the live panel until the run is saved and
    then the run itself: no page changes by itself when the training ends.

    Raises FusionError (as :func:`start_training`) when it cannot start.
    """
    spec = DEMOS[kind]
    data = generate(spec["generator"], spec["params"])
    job = start_training(data, demo_config(kind))
    set_dataset(data, dataset_title(spec["generator"], spec["params"]))
    st.session_state[DEMO_KIND] = kind
    return job


# ---------------------------------------------------------------------------
# Metrics for people

# Headline metrics, in order of preference: the first key matching each pattern is shown.
HEADLINE_PATTERNS = (
    r"accuracy",
    r"macro_f1",
    r"attention_on_informative",
    r"recall_at_1_mean",
    r"recall_at_10_.+_to_.+",
    r"class_precision_at_10_.+_to_.+",
    r"linear_probe_accuracy",
)


def info_text(kind: str, name: str, field: str) -> str:
    """The title, help or source of a loss (``kind="loss"``) or a metric pattern
    (``kind="metric"``, a key of :data:`fusion.metrics.METRIC_INFO`) in the session's
    language. Formulas themselves stay in the library as LaTeX."""
    from fusion.i18n import info_key

    return t(info_key(kind, name, field))


def metric_pattern(key: str) -> str | None:
    """The :data:`~fusion.metrics.METRIC_INFO` pattern a concrete metric key belongs to."""
    from fusion.metrics import METRIC_INFO, metric_info

    info = metric_info(key)
    return next((p for p, i in METRIC_INFO.items() if i is info), None)


def metric_title(key: str) -> str:
    """A display name for a metric key: 'Recall@10 (a → b)', 'Accuracy', ..."""
    import re

    pattern = metric_pattern(key)
    title = info_text("metric", pattern, "title") if pattern else key.replace("_", " ")
    k = re.search(r"_at_(\d+)", key)
    if k:
        title = re.sub(r"@[Kk]\b", "@" + k.group(1), title)
    pair = re.match(r"(?:recall_at_\d+|class_precision_at_\d+|median_rank)_(.+)_to_(.+)$", key)
    if pair:
        title += f" ({pair.group(1)} → {pair.group(2)})"
    return title


def headline_metrics(
    values: dict[str, float], prefix: str = ""
) -> list[tuple[str, float, float | None]]:
    """(key, value, chance) of the few metrics worth showing live, from a metrics dict.

    ``prefix`` is stripped from keys (epoch rows store validation metrics as ``val_<key>``).
    """
    import re

    flat = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
    out = []
    for pattern in HEADLINE_PATTERNS:
        key = next(
            (k for k in flat if re.fullmatch(pattern, k) and not k.endswith("_chance")), None
        )
        if key is not None and flat[key] == flat[key]:
            out.append((key, float(flat[key]), flat.get(f"{key}_chance")))
    return out


def metrics_figure(values: dict[str, float], prefix: str = "", title: str | None = None):
    """metric_bars of the headline metrics with chance ticks, or None when there are none."""
    from fusion import plots

    rows = headline_metrics(values, prefix)
    if not rows:
        return None
    fig = plots.metric_bars(
        {k: v for k, v, _ in rows},
        chance={k: c for k, _, c in rows if c is not None},
        titles={k: metric_title(k) for k, _, _ in rows},
        title=title,
        t=t,
    )
    if all(0.0 <= v <= 1.0 for _, v, _ in rows):
        fig.update_xaxes(range=[0, 1.08])  # fixed scale: bars do not jump between epochs
    return fig


def thin(rows: list[dict[str, float]], max_points: int = 300) -> list[dict[str, float]]:
    """At most ``max_points`` evenly spaced rows, always keeping the last (for fast redraws)."""
    if len(rows) <= max_points:
        return rows
    stride = -(-len(rows) // max_points)
    kept = rows[::stride]
    return kept if kept[-1] is rows[-1] else [*kept, rows[-1]]


def loss_figure(steps: list[dict[str, float]], max_points: int = 300):
    """Live loss curves, one line per loss part, from Progress.steps (thinned)."""
    import pandas as pd

    from fusion import plots

    df = pd.DataFrame(thin(steps, max_points))
    parts = [c for c in df.columns if c not in ("step", "epoch")]
    return plots.loss_curves(df, parts=parts, title=t("common.training_loss_per_part"), t=t)


# ---------------------------------------------------------------------------
# Live training progress (Home and Train)

OUTCOME_TEXT = {
    "finished": "common.outcome_text.finished",
    "stopped": "common.outcome_text.stopped",
    "diverged": "common.outcome_text.diverged",
    "out_of_memory": "common.outcome_text.out_of_memory",
}


def job_outcome(job: Any) -> tuple[str, str]:
    """(status, message) of an ended job: finished | stopped | diverged | out_of_memory | failed."""
    p = job.progress()
    if job.result is None:
        if job.stop_event.is_set() and not job.error:
            return "stopped", t("common.cancelled_before_started")
        from fusion.train import localized_message

        lang = language()
        text = localized_message(p, lang) or localized_message(job, lang, "error")
        return "failed", text or t("common.training_failed")
    from fusion.train import localized_message

    h = job.result.history
    return h.status, localized_message(h, language())


def show_job_outcome(job: Any, key: str) -> None:
    """The final status of this session's last job, its headline metrics and a way on."""
    status, message = job_outcome(job)
    text = t(OUTCOME_TEXT.get(status, "common.training_failed"))
    if status == "finished":
        # "Finished 15 epochs." repeats the title in any language; other notes (CCA) do not.
        plain = getattr(job.result.history, "message_key", "") == "messages.train.finished"
        detail = "" if plain or message.startswith("Finished") else f" {message}"
        st.success(text + detail, icon=":material/check_circle:")
    elif status == "failed":
        st.error(message, icon=":material/error:")
    else:
        st.warning(f"{text} {message}", icon=":material/warning:")
    if job.result is None:
        return
    _curves(job.progress(), f"{key}_final")  # the last live curves stay with the summary
    h, cfg = job.result.history, job.config
    cols = st.columns(4)
    cols[0].metric(t("common.epochs_completed"), f"{h.completed_epochs} / {cfg.train.epochs}")
    cols[1].metric(t("common.time"), fmt_duration(h.seconds))
    for col, (k, v, c) in zip(cols[2:], headline_metrics(job.result.metrics), strict=False):
        col.metric(
            metric_title(k),
            fmt(v),
            delta=t("common.chance_c", c=fmt(c)) if c is not None else None,
            delta_color="off",
            delta_arrow="off",
        )
    what = (
        f"{t(METHOD_LABELS.get(cfg.method, cfg.method))} · {t(LOSS_LABELS.get(cfg.loss, cfg.loss))}"
    )
    if job.saved_path:
        st.caption(t("common.what_saved_run_name", what=what, name=Path(job.saved_path).name))
        if st.button(
            t("common.open_explore"),
            icon=":material/explore:",
            type="primary",
            key=f"{key}_open_explore",
        ):
            set_active_run(job.saved_path)
            st.switch_page("views/explore.py")
    else:
        st.caption(t("common.what_not_saved_no", what=what))


def _stop_current_job() -> None:
    job = current_job()
    if job is not None:
        job.stop()


@st.fragment(run_every=0.5)
def _live_progress(key: str) -> None:
    """Polls this session's job twice a second; the job's thread never calls st.*."""
    job = current_job()
    if job is None or not job.running:
        st.rerun(scope="app")  # a full rerun of the same page shows the outcome
    _progress_view(job.progress(), key)
    _stop_button(key)


def _stop_button(key: str) -> None:
    st.button(
        t("common.stop_training"),
        key=f"{key}_stop",
        icon=":material/stop:",
        on_click=_stop_current_job,
        help=t("common.ends_within_one_batch"),
    )


def _progress_view(p: Any, chart_key: str) -> None:
    """Progress bar with ETA, live loss curves per part and validation metrics of ``p``."""
    if _waiting_for_slot(p):
        from fusion.jobs import MAX_CONCURRENT

        st.info(
            t(
                "common.waiting_free_training_slot",
                n=MAX_CONCURRENT,
            ),
            icon=":material/hourglass_top:",
        )
        return
    if p.state in ("queued", "waiting"):
        st.progress(0.0, text=t("common.preparing_data_model"))
        return
    eta = t("common.about_eta_left", eta=fmt_duration(p.eta)) if p.eta is not None else ""
    st.progress(
        p.fraction,
        text=t(
            "common.epoch_e_e_step",
            e=p.epoch,
            E=p.epochs,
            s=p.step,
            S=p.total_steps,
            elapsed=fmt_duration(p.elapsed),
            eta=eta,
        ),
    )
    _curves(p, chart_key)


def _curves(p: Any, chart_key: str) -> None:
    """The loss curves per part and the latest validation metrics of ``p``, side by side
    (one above the other in presenter mode: at projector sizes half a page is too narrow)."""
    if presenter():
        left = right = st.container()
    else:
        left, right = st.columns(2)
    with left:
        if p.steps:
            chart(loss_figure(p.steps), key=f"{chart_key}_loss_chart")
        else:
            st.caption(t("common.loss_curve_appears_after"))
    with right:
        fig = None
        if p.epoch_rows:
            last = p.epoch_rows[-1]
            fig = metrics_figure(
                last,
                prefix="val_",
                title=t("common.validation_after_epoch_e", e=int(last["epoch"])),
            )
        if fig is not None:
            chart(fig, key=f"{chart_key}_metrics_chart")
        else:
            st.caption(t("common.validation_metrics_appear_after"))


def training_panel(key: str = "train") -> None:
    """Live progress while this session's job runs, else the outcome of its last job.

    Pages call it where the progress belongs; leaving the page and coming back
    re-attaches, because the job lives in the session's slot, not in the page.
    """
    job = current_job()
    if job is None:
        return
    with st.container(key=f"{key}_panel"):
        if job.running:
            _live_progress(key)
        else:
            collect_finished_job()
            show_job_outcome(job, key)
    if st.session_state.pop(SCROLL_TO_PANEL, False):
        scroll_into_view(f"{key}_panel")


def scroll_into_view(key: str) -> None:
    """Scroll the page so the element made with ``key=key`` is in view (once, in the browser).

    Streamlit keeps the scroll position across reruns: a panel that appears above a long
    form after its button is pressed would stay off-screen.
    """
    st.html(  # st.html is not in an iframe: the script sees the page's own document
        f"<script>document.querySelector('.st-key-{key}')"
        "?.scrollIntoView({block: 'start'});</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def demo_training() -> bool:
    """Whether this session's job is a Home demo still training."""
    job = current_job()
    return job is not None and job.running and bool(st.session_state.get(DEMO_KIND))


def demo_panel(key: str) -> None:
    """The Home demo's heading and its live panel (or, once ended, its outcome)."""
    demo = st.session_state.get(DEMO_KIND)
    if demo not in DEMOS or current_job() is None:
        return
    name = t(f"home.cards.{demo}.title").lower()
    with st.container(border=True):
        if training_running():
            st.markdown(t("home.training_name_demo", name=name))
            st.caption(t("home.can_leave_page_training"))
        else:
            st.markdown(t("home.name_demo", name=name))
        training_panel(key)


def training_running() -> bool:
    job = current_job()
    return job is not None and job.running
