"""What a selection on any map of a run leads to.

:func:`selection_actions` is the panel a map calls with its selected rows: the selection
beside the rest, its export as CSV or Parquet, and a new data set that keeps or drops it
(:mod:`fusion.selection` computes all three); it also puts a small selection into the
share link (``?sel=``), and :func:`restore_link_selection` selects what a link names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.rundata import MapData, points_frame, run_signature
from fusion.runs import LoadedRun
from fusion.selection import (
    DEFAULT_K,
    SelectionSummary,
    rows_of_ids,
    selected_ids,
    selection_bytes,
    selection_summary,
    selection_table,
    subset_dataset,
)
from fusion.share import MAX_LINK_IDS, ids_to_param
from views.parts.dataset import generate
from views.parts.explore_selection import store_rows
from views.parts.state import (
    get_dataset,
    link_selection_set,
    pending_link_selection,
    set_dataset,
    set_link_selection,
    set_pending_link_selection,
)
from views.parts.text import fmt, t
from views.site import TRAIN

SUBSET_KEY = "explore_subset_made"  # {"run", "rows", "label", "n"}: the data set made last
# (run folder, PairedData): the run's full data set a subset was made from, kept so that a
# second subset (drop after keep) is made from all of it, not from the first subset.
SUBSET_BASE_KEY = "explore_subset_base"
LINK_RERUN_KEY = "explore_link_rerun"  # a rerun for the link was asked and not yet in step
EAGER_EXPORT_POINTS = 2000  # larger selections build their files only when downloaded
# Samples ranked per retrieval scope at most (a seeded subsample above, and the table's
# counts say so): Recall@1 is O(N^2), and the summary is drawn while a person waits.
SUMMARY_MAX_ROWS = 2000


def _rows_digest(rows: list[int]) -> str:
    return hashlib.blake2b(np.asarray(rows, dtype=np.int64).tobytes(), digest_size=12).hexdigest()


def _map_digest(meta: pd.DataFrame) -> str:
    """The map's rows (sample and modality of each), so two maps of one run never share a
    cached summary unless their rows agree."""
    h = hashlib.blake2b(digest_size=12)
    h.update(meta["sample"].to_numpy(dtype=np.int64).tobytes())
    h.update("\x00".join(meta["modality"].astype(str)).encode())
    return h.hexdigest()


@st.cache_data(show_spinner=False, max_entries=16)
def _summary_cached(
    path: str, signature: str, map_key: str, e_idx: int, rows_key: str, _data: MapData, _rows
) -> SelectionSummary:
    return selection_summary(_data.meta, _data.Z[e_idx], _rows, max_rows=SUMMARY_MAX_ROWS)


def selection_actions(
    run: LoadedRun,
    data: MapData,
    rows: list[int],
    path: str,
    epoch_index: int = -1,
    coords: np.ndarray | None = None,
) -> None:
    """The panel any map of a run shows for its selection: the selection beside the rest,
    downloads (CSV, Parquet) and "train on these" (keep or drop the selected samples).

    rows: rows of ``data.meta`` (plain ints, whatever map they were selected on);
    epoch_index: the snapshot shown (index into ``data.epochs``); coords: that snapshot's
    (n, 2) map coordinates, written into the export when given.
    """
    n = len(data.meta)
    rows = sorted({int(r) for r in rows if 0 <= int(r) < n})  # a stale selection: what fits
    _share_selection(data, rows)
    if not rows or not data.epochs:
        return
    e_idx = epoch_index % len(data.epochs)
    epoch = data.epochs[e_idx]
    with st.container(border=True, key="explore_selection_actions"):
        st.markdown(f"**{t('selection.heading')}**")
        with st.spinner(t("selection.summarising"), show_time=True):
            summary = _summary_cached(
                path,
                run_signature(path),
                _map_digest(data.meta),
                e_idx,
                _rows_digest(rows),
                data,
                rows,
            )
        _summary_view(summary, epoch)
        st.divider()
        points = data.meta if coords is None else points_frame(data, coords)
        _downloads(run, points, data.Z[e_idx], rows, epoch)
        st.divider()
        _train_on(run, data, rows, path)


def _pct(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{100 * x:.0f}%"


def _summary_view(s: SelectionSummary, epoch: int) -> None:
    st.caption(
        t(
            "selection.counts",
            s=f"{s.n_samples:,}",
            total=f"{s.n_samples_total:,}",
            n=f"{s.n_points:,}",
            rest=f"{s.n_rest_samples:,}",
        )
    )
    for note in s.notes:
        st.caption(t(note))
    labelled = not (len(s.classes) == 1 and s.classes["label"].iloc[0] in ("", "nan"))
    if labelled:
        st.markdown(t("selection.class_mix"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("selection.class"): s.classes["label"],
                    t("selection.selected"): [
                        t("selection.share", count=c, share=_pct(x))
                        for c, x in zip(
                            s.classes["selected"], s.classes["selected_share"], strict=True
                        )
                    ],
                    t("selection.rest"): [
                        t("selection.share", count=c, share=_pct(x))
                        for c, x in zip(s.classes["rest"], s.classes["rest_share"], strict=True)
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
            key="explore_selection_classes",
        )
    if s.reliability is not None and len(s.reliability):
        st.markdown(t("selection.reliability"))
        rel = s.reliability

        def cell(mean: float, n: int) -> str:
            return t("selection.mean_n", mean=f"{mean:.2f}" if n else "–", n=f"{n:,}")

        st.dataframe(
            pd.DataFrame(
                {
                    t("selection.modality"): rel["modality"],
                    t("selection.selected"): [
                        cell(m, n)
                        for m, n in zip(rel["selected_mean"], rel["selected_n"], strict=True)
                    ],
                    t("selection.rest"): [
                        cell(m, n) for m, n in zip(rel["rest_mean"], rel["rest_n"], strict=True)
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
            key="explore_selection_reliability",
        )
    if s.retrieval is not None and len(s.retrieval):
        st.markdown(
            t("selection.retrieval", e=epoch),
            help=t("selection.retrieval_help", max_rows=f"{SUMMARY_MAX_ROWS:,}"),
        )
        r = s.retrieval
        st.dataframe(
            pd.DataFrame(
                {
                    t("selection.scope"): [t(f"selection.scope_{x}") for x in r["scope"]],
                    t("selection.recall"): [fmt(x) for x in r["recall_at_1"]],
                    t("selection.chance"): [fmt(x) for x in r["chance"]],
                    t("selection.queries"): [f"{n:,}" for n in r["n_queries"]],
                    t("selection.gallery"): [f"{n:,}" for n in r["n_gallery"]],
                }
            ),
            hide_index=True,
            width="stretch",
            key="explore_selection_retrieval",
        )


def _downloads(
    run: LoadedRun, points: pd.DataFrame, Z: np.ndarray, rows: list[int], epoch: int
) -> None:
    st.markdown(
        f"**{t('selection.export')}**",
        help=t("selection.export_help", k=DEFAULT_K, e=epoch),
    )

    def build(fmt_: str) -> Callable[[], bytes]:
        return lambda: selection_bytes(selection_table(points, Z, rows, k=DEFAULT_K), fmt_)

    c1, c2, _ = st.columns([1, 1, 2])
    for col, fmt_, mime in (
        (c1, "csv", "text/csv"),
        (c2, "parquet", "application/vnd.apache.parquet"),
    ):
        # Small selections are written at once; large ones when the button is pressed (the
        # neighbours of many thousands of points take seconds).
        data = build(fmt_)() if len(rows) <= EAGER_EXPORT_POINTS else build(fmt_)
        col.download_button(
            t(f"selection.download_{fmt_}"),
            data,
            file_name=f"{run.name}-selection-e{epoch}.{fmt_}",
            mime=mime,
            icon=":material/download:",
            on_click="ignore",
            key=f"explore_selection_{fmt_}",
            width="stretch",
        )


def _is_session_data(run: LoadedRun) -> bool:
    """Whether the session's data set is the one this run was trained on (same source)."""
    data = get_dataset()
    source = run.config.get("data") or {}
    return data is not None and json.loads(json.dumps(data.source, default=str)) == source


def _kept_base(run: LoadedRun) -> PairedData | None:
    kept = st.session_state.get(SUBSET_BASE_KEY)
    return kept[1] if kept and kept[0] == str(run.info.path) else None


def _full_data_known(run: LoadedRun) -> bool:
    """Whether all of the run's data can be had again (generated, the session's, or kept
    from an earlier subset), without making it: pages rerun often, and a generated set is
    copied out of the cache on every call."""
    generated = bool((run.config.get("data") or {}).get("generator"))
    return generated or _kept_base(run) is not None or _is_session_data(run)


def _run_dataset(run: LoadedRun) -> PairedData | None:
    """The data set this run was trained on: the generator's data again, or the session's
    data set when it is the run's (an upload, a subset); otherwise the run's saved
    validation samples (not all of it), or None."""
    source = run.config.get("data") or {}
    if source.get("generator"):
        try:
            return generate(source["generator"], dict(source.get("params") or {}))
        except (FusionError, TypeError):
            pass
    if _kept_base(run) is not None:
        return _kept_base(run)
    if _is_session_data(run):
        st.session_state[SUBSET_BASE_KEY] = (str(run.info.path), get_dataset())
        return get_dataset()
    return run.samples


def _make_subset(run: LoadedRun, ids: list[str], path: str, rows: list[int], keep: bool) -> None:
    """The new data set becomes the session's; what happened is kept in SUBSET_KEY for
    :func:`_train_on` to show after the rerun."""
    base = _run_dataset(run)
    if base is None:
        return
    try:
        sub = subset_dataset(base, ids, keep=keep, origin={"run": run.name})
    except FusionError as exc:
        st.session_state[SUBSET_KEY] = {
            "run": path,
            "rows": _rows_digest(rows),
            "error": (exc.key, exc.params),
        }
        return
    key = "selection.dataset_label_keep" if keep else "selection.dataset_label_drop"
    label = t(key, run=run.name, n=f"{sub.n:,}")
    sub.source["name"] = label
    set_dataset(sub, label)
    st.session_state[SUBSET_KEY] = {
        "run": path,
        "rows": _rows_digest(rows),
        "label": label,
        "n": sub.n,
    }


def _train_on(run: LoadedRun, data: MapData, rows: list[int], path: str) -> None:
    st.markdown(f"**{t('selection.train_on')}**", help=t("selection.train_on_help"))
    if not _full_data_known(run):
        if run.samples is None:
            st.caption(t("explore.run_did_not_save"))
            return
        st.caption(t("selection.from_samples", n=f"{run.samples.n:,}"))
    ids = selected_ids(data.meta, rows)  # every map point's sample is in the run's data
    c1, c2 = st.columns(2)
    for col, keep in ((c1, True), (c2, False)):
        if col.button(
            t("selection.keep" if keep else "selection.drop", n=f"{len(ids):,}"),
            key=f"explore_subset_{'keep' if keep else 'drop'}",
            icon=":material/filter_alt:" if keep else ":material/filter_alt_off:",
            width="stretch",
        ):
            _make_subset(run, ids, path, rows, keep)
            st.rerun()  # the whole app: the sidebar names the new data set
    made = st.session_state.get(SUBSET_KEY) or {}
    if made.get("run") != path or made.get("rows") != _rows_digest(rows):
        return
    if "error" in made:
        key, params = made["error"]
        st.error(t(key, **params), icon=":material/error:")
        return
    st.success(t("selection.made", label=made["label"], n=f"{made['n']:,}"), icon="✅")
    st.page_link(TRAIN.script, label=t("selection.go_train"), icon=":material/model_training:")


def _share_selection(data: MapData, rows: list[int]) -> None:
    """Keep the share link's ``sel=`` in step with this selection; when it changed, rerun
    the whole app so the URL and the sidebar's share popover say so at once (a selection
    reruns only the map's fragment)."""
    ids = selected_ids(data.meta, rows) if rows else []
    value = ids_to_param(ids, MAX_LINK_IDS)
    set_link_selection(value, len(ids))
    if pending_link_selection() is not None:
        return
    if value == link_selection_set():
        st.session_state[LINK_RERUN_KEY] = False  # in step: the next change may rerun
    elif not st.session_state.get(LINK_RERUN_KEY):
        # Once until the link is in step again: two maps drawn at once with different
        # selections would otherwise rerun the app in turn for ever.
        st.session_state[LINK_RERUN_KEY] = True
        st.rerun()


def restore_link_selection(path: str, data: MapData) -> None:
    """Select on this map the samples a shared link names (once, on the first map that
    holds any of them)."""
    pending = pending_link_selection()
    if pending is None:
        return
    value, ids = pending
    rows = rows_of_ids(data.meta, ids)
    if not rows:
        st.warning(t("selection.link_selection_missing", n=len(ids)), icon=":material/link_off:")
        return
    set_pending_link_selection(None)
    store_rows(path, rows)
    st.toast(t("selection.link_selection_restored", n=len(set(ids))), icon=":material/link:")
