"""What Explore and Compare share: cached run loading and maps, cross-modal neighbours,
metric labels, run pickers and empty states.

The compute lives in the library (:mod:`fusion.rundata`: map data, neighbours, run
signatures; :mod:`fusion.metric_names`); this module caches it and draws the widgets
the pages share. Everything expensive is cached with
``st.cache_data`` keyed by the run folder's path *and its signature* (latest mtime and
file count), so a re-trained or deleted run is never served stale, and recolouring or
scrubbing through epochs never recomputes a projection.

- Map projections: UMAP (McInnes, Healy & Melville 2018) or PCA through
  :mod:`fusion.projection`, aligned across snapshots with ``project_sequence``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from fusion.errors import FusionError
from fusion.i18n import localized_message
from fusion.metric_names import headline_keys as _headline_keys
from fusion.metric_names import metric_help, metric_info, metric_name
from fusion.rundata import MapData, build_map_data, run_signature
from fusion.runs import LoadedRun, RunInfo, list_runs, load_run
from views.parts.links import get_active_run, runs_dir
from views.parts.text import fmt, language, presenter, status_label, t
from views.site import HOME, TRAIN

PROJECTION_LABELS = {"umap": "UMAP", "pca": "PCA"}
STATUS_ICONS = {
    "finished": "✅",
    "stopped": "⏹️",
    "diverged": "💥",
    "out_of_memory": "🧱",
    "running": "⏳",
}
# Metrics with a short card name, explore.card_titles.<key> (the full name is in the help
# tooltip and the table).
CARD_TITLES = (
    "recall_at_1_mean",
    "linear_probe_accuracy",
    "accuracy",
    "macro_f1",
    "attention_on_informative",
    "attention_mask_agreement",
    "alignment",
    "uniformity",
    "modality_gap",
    "spread",
)
# Metrics whose chance level is the score of always guessing the most common class: their
# cards say so, as accuracy's and macro F1's differ for the same guess (0.25 and 0.1).
MAJORITY_CHANCE = ("accuracy", "macro_f1", "linear_probe_accuracy")


# ---------------------------------------------------------------------------
# Runs on disk


@st.cache_data(show_spinner=False, max_entries=16)
def _load_run_cached(path: str, signature: str) -> LoadedRun:
    return load_run(path)


def load(path: str | Path) -> LoadedRun:
    """The run at ``path`` (cached by folder signature); raises DataError if damaged."""
    return _load_run_cached(str(path), run_signature(path))


@st.cache_data(show_spinner=False, max_entries=64, ttl=600)
def _runs_cached(root: str, signature: tuple) -> list[RunInfo]:
    return list_runs(root)


def _listing_signature(root: Path) -> tuple:
    """Changes whenever a run is added, removed or renamed, a file is added to or removed
    from one, or its JSON files are written: a few ``stat`` calls per run instead of reading and
    parsing both files of every run on every rerun of Explore and Compare."""
    try:
        entries = [(root.stat().st_mtime_ns,)]
        for p in root.iterdir():
            stamps = [p.stat().st_mtime_ns]  # a file added or removed
            for name in ("run.json", "metrics.json", "config.json"):
                try:
                    stamps.append((p / name).stat().st_mtime_ns)
                except OSError:
                    stamps.append(0)
            entries.append((p.name, *stamps))
    except OSError:
        return ("missing",)
    return tuple(sorted(entries, key=str))


def runs_listing() -> list[RunInfo]:
    """This session's runs (its workspace; see ``links.workspace``), cached until one of
    them changes (:func:`_listing_signature`)."""
    root = runs_dir()
    return _runs_cached(str(root), _listing_signature(root))


def default_run(infos: list[RunInfo]) -> RunInfo | None:
    """The active run if it is listed and healthy, else the newest healthy run."""
    active = get_active_run()
    healthy = [i for i in infos if not i.damaged]
    for info in healthy:
        if active and Path(info.path).resolve() == Path(active).resolve():
            return info
    return healthy[0] if healthy else None


def run_option_label(info: RunInfo) -> str:
    if info.damaged:
        return t(
            "explore.name_damaged_problem",
            name=info.name,
            problem=localized_message(info, language(), "problem"),
        )
    icon = STATUS_ICONS.get(info.status, "❔")
    what = info.method if info.method == "cca" else f"{info.method}/{info.loss}"  # no loss
    return f"{icon} {info.name} · {what}"


def loss_key(run_info: dict) -> str:
    """The loss a run optimised, as a ``LOSS_LABELS`` key: linear CCA is solved in closed
    form, though runs saved before that was recorded say "cross_entropy"."""
    return "cca" if run_info.get("method") == "cca" else str(run_info.get("loss", ""))


def data_label(source: dict) -> str:
    """Where a run's data came from (its config's ``data``): the generator, or the names of
    the uploaded files."""
    files = [Path(str(f)).name for f in source.get("files") or []]
    return (
        source.get("generator")
        or ", ".join(files)
        or source.get("name")
        or source.get("kind")
        or t("explore.data")
    )


def no_runs_state(key: str) -> None:
    """Empty state when no run exists yet: say what to do, with buttons (then stop)."""
    st.info(
        t("explore.no_training_runs_yet"),
        icon="🔭",
    )
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button(t("explore.go_train"), key=f"{key}_to_train", type="primary"):
        st.switch_page(TRAIN.script)
    if c2.button(t("explore.go_home"), key=f"{key}_to_home"):
        st.switch_page(HOME.script)
    st.stop()


def show_status(run: LoadedRun) -> None:
    """The run's status and message, with a hint for what to do next when it did not finish."""
    status = str(run.run.get("status", "unknown"))
    # From its catalogue key in the session's language ("Finished 15 epochs." was English
    # whatever the language); runs saved before keys existed keep their English text.
    message = localized_message(run.run, language())
    done = run.run.get("completed_epochs")
    if status == "finished":
        st.success(message or t("explore.finished"), icon=STATUS_ICONS["finished"])
    elif status == "stopped":
        st.warning(
            t("explore.stopped_epoch_epoch_message", epoch=done, message=message),
            icon=STATUS_ICONS["stopped"],
        )
    elif status == "diverged":
        english = str(run.run.get("message", "")).lower()
        hint = "" if "learning rate" in english else t("explore.try_lower_learning_rate")
        st.error(
            t("explore.diverged_message_hint", message=message, hint=hint),
            icon=STATUS_ICONS["diverged"],
        )
    elif status == "out_of_memory":
        st.error(
            t("explore.out_memory_message", message=message), icon=STATUS_ICONS["out_of_memory"]
        )
    else:
        st.info(t("explore.status_status_message", status=status_label(status), message=message))


# ---------------------------------------------------------------------------
# Snapshots aligned for maps


@st.cache_data(show_spinner=False, max_entries=16)
def _map_data_cached(path: str, signature: str) -> MapData:
    run = _load_run_cached(path, signature)
    texts = run.samples.texts if run.samples is not None else None
    return build_map_data(run.embeddings, run.modalities, texts)


def map_data(path: str | Path) -> MapData:
    """The run's snapshots stacked for maps (:func:`fusion.rundata.build_map_data`), cached."""
    return _map_data_cached(str(path), run_signature(path))


@st.cache_data(show_spinner=False, max_entries=32)
def _spread_cached(path: str, signature: str, name: str) -> pd.DataFrame:
    from fusion.rundata import spread_by_epoch

    return spread_by_epoch(_map_data_cached(path, signature), name)


def spread(path: str | Path, name: str) -> pd.DataFrame:
    """The run's spread per epoch (:func:`fusion.rundata.spread_by_epoch`), cached: a page's
    rerun neither copies every epoch's snapshot out of the cache nor measures it again."""
    return _spread_cached(str(path), run_signature(path), name)


@st.cache_data(show_spinner=False, max_entries=32)
def _projection_cached(
    path: str, signature: str, method: str, n_neighbors: int, min_dist: float, last_only: bool
) -> np.ndarray:
    from fusion.projection import project, project_sequence

    data = _map_data_cached(path, signature)
    if not data.epochs:
        return np.empty((0, 0, 2), dtype=np.float32)
    kw: dict[str, Any] = {}
    if method == "umap":
        kw = {"n_neighbors": n_neighbors, "min_dist": min_dist, "seed": 0}
    if last_only:
        return project(data.Z[-1], method=method, **kw)[None]
    return np.stack(project_sequence(list(data.Z), method=method, **kw))


def projection(
    path: str | Path,
    method: str,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    last_only: bool = False,
) -> np.ndarray:
    """Map coordinates (E, n, 2), aligned across epochs (or (1, n, 2) for the last only).

    The first UMAP call in a fresh server compiles numba code; a spinner explains the wait.
    """
    if method == "pca":
        n_neighbors, min_dist = 0, 0.0  # unused by PCA: one cache entry whatever the sliders say
    args = (str(path), run_signature(path), method, int(n_neighbors), float(min_dist), last_only)
    if method == "umap":
        from fusion.projection import is_warm

        if not is_warm():
            msg = t("explore.preparing_umap_first_map")
            with st.spinner(msg, show_time=True):
                return _projection_cached(*args)
        with st.spinner(t("explore.projecting_every_snapshot_umap")):
            return _projection_cached(*args)
    return _projection_cached(*args)


def mark_selected(fig: go.Figure, rows: set[int]) -> go.Figure:
    """Show stored selected rows as Plotly's own selection (others dimmed) after a redraw."""
    if not rows:
        return fig
    for tr in fig.data:
        cd = getattr(tr, "customdata", None)
        if cd is None or len(cd) == 0:
            continue
        idx = [i for i, r in enumerate(np.asarray(cd)[:, 2]) if int(r) in rows]
        tr.selectedpoints = idx
    return fig


def trace_rows(fig: go.Figure) -> list[list[int] | None]:
    """For each trace of a :func:`fusion.plots.shared_space` map, the points-frame row of each
    of its points (``None`` for a trace without points, such as the pair lines)."""
    out: list[list[int] | None] = []
    for tr in fig.data:
        cd = getattr(tr, "customdata", None)
        out.append(None if cd is None else [int(r) for r in np.asarray(cd)[:, 2]])
    return out


# ---------------------------------------------------------------------------
# Metrics


def metric_keys(metrics: dict[str, float]) -> list[str]:
    """Metric names without their ``_chance`` companions, in the run's order."""
    return [k for k in metrics if not k.endswith("_chance")]


def headline_keys(metrics: dict[str, float], limit: int = 8) -> list[str]:
    """The run's metric cards (:data:`fusion.metric_names.HEADLINE_METRICS`)."""
    return _headline_keys(metrics, "card", limit)


def metric_cards(metrics: dict[str, float], keys: list[str], per_row: int = 4) -> None:
    """st.metric cards, each with its chance level underneath (or a note that it has none).

    Presenter mode's large text needs wider cards: three a row, so no chance note is cut.
    """
    per_row = min(per_row, 3) if presenter() else per_row
    for start in range(0, len(keys), per_row):
        cols = st.columns(per_row)
        for col, key in zip(cols, keys[start : start + per_row], strict=False):
            with col:
                chance = metrics.get(f"{key}_chance")
                info = metric_info(key) or {}
                if chance is not None:
                    kind = "chance_majority_c" if key in MAJORITY_CHANCE else "chance_c"
                    note = t(f"explore.{kind}", c=fmt(chance))
                else:  # same card height, and still a hint how to read it
                    better = info.get("higher_is_better", True)
                    note = t("explore.higher_better") if better else t("explore.lower_better")
                st.metric(
                    t(f"explore.card_titles.{key}")
                    if key in CARD_TITLES
                    else metric_name(key, language()),
                    fmt(metrics[key]),
                    delta=note,
                    delta_color="off",
                    delta_arrow="off",
                    help=metric_help(key, language()),
                    border=True,
                )


def metrics_table(metrics: dict[str, float]) -> pd.DataFrame:
    rows = []
    for k in metric_keys(metrics):
        if k.endswith("_uniform_chance"):
            continue
        rows.append(
            {
                t("explore.metric"): metric_name(k, language()),
                t("explore.value"): fmt(metrics[k]),
                t("explore.chance"): fmt(metrics.get(f"{k}_chance")),
                t("explore.key"): k,
            }
        )
    return pd.DataFrame(rows)


def safe_load(info: RunInfo) -> LoadedRun | None:
    """Load a run or show why it cannot be (a damaged run never crashes a page)."""
    if info.damaged:
        st.error(
            t(
                "explore.run_name_damaged_problem",
                name=info.name,
                problem=localized_message(info, language(), "problem"),
            ),
            icon="⚠️",
        )
        return None
    try:
        return load(info.path)
    except FusionError as exc:
        st.error(exc.localized(language()), icon="⚠️")
        return None
