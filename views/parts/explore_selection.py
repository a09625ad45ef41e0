"""Explore's selection: which rows of a map are selected, the content behind them, and
their nearest neighbours in the other modalities at the epoch shown.

Neighbours are cosine similarities between the stored embeddings of one snapshot
(:func:`fusion.rundata.cross_modal_neighbours`), the retrieval protocol behind Recall@K;
this module only lays them out. What a selection leads to (summary, export, a new data
set, the share link) is :mod:`views.parts.selection_actions`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from fusion import plots
from fusion.rundata import (
    MapData,
    cross_modal_neighbours,
    rows_across_modalities,
)
from fusion.runs import LoadedRun
from views.parts.text import t
from views.parts.widgets import chart

SELECTION_KEY = "explore_selection"  # {"run": path, "rows": [...]}: the map's selected rows
MAX_QUERIES = 12  # selected points described in detail (the rest are counted)


def store_rows(run_key: str, rows: list[int]) -> None:
    """Keep ``rows`` as the selection of the map ``run_key`` names (a run's path, or its
    big map's key): one selection at a time, for one map."""
    st.session_state[SELECTION_KEY] = {"run": run_key, "rows": rows}


def stored_rows(run_key: str) -> list[int]:
    """The rows selected on the map ``run_key`` names ([] when the selection is another's)."""
    sel = st.session_state.get(SELECTION_KEY) or {}
    return list(sel.get("rows", [])) if sel.get("run") == run_key else []


def selection_panel(
    run: LoadedRun, data: MapData, rows: list[int], path: str, content: bool = True
) -> list[int]:
    """The selected samples' content; returns the rows described (at most MAX_QUERIES).

    content=False lists their ids and classes only (the big map: the samples themselves,
    with their neighbours, are on the snapshot map)."""
    st.subheader(t("explore.selected_points"))
    if not rows:
        st.info(
            t("explore.lasso_box_select_points"),
            icon="👆",
        )
        return []
    meta = data.meta
    n_samples = meta.loc[rows, "sample"].nunique()
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(
        t("explore.n_points_selected_s", n=f"{len(rows):,}", s=f"{n_samples:,}")
        + (t("explore.showing_first_k", k=MAX_QUERIES) if len(rows) > MAX_QUERIES else "")
    )
    if c2.button(t("explore.clear"), key="explore_clear_sel"):
        store_rows(path, [])
        st.rerun(scope="fragment")
    queries = rows_across_modalities(rows, meta["modality"].to_numpy(), MAX_QUERIES)
    if content:
        show_samples(run, meta, queries)
    else:
        st.caption(t("explore.big_map_ids_only"))
        _id_lists(meta, queries)
    return queries


def neighbours_panel(
    run: LoadedRun, data: MapData, e_idx: int, epoch: int, queries: list[int]
) -> None:
    """Each query's nearest points in the other modalities at this epoch, a table and one
    query's neighbours in detail."""
    meta = data.meta
    if meta["modality"].nunique() < 2:
        return
    st.subheader(t("explore.nearest_neighbours_other_modality"))
    k = st.slider(t("explore.neighbours_k"), 1, 10, 5, key="explore_k", width=320)
    nb = cross_modal_neighbours(data.Z[e_idx], meta, queries, k=k)  # data.Z: (E, n, d)
    if nb.empty:
        return
    per_query = nb.groupby(["query_row", "target_modality"], sort=False)
    found = per_query["is_partner"].any()
    st.caption(
        t(
            "explore.cosine_similarity_stored_embeddings",
            e=epoch,
            k=k,
            hit=int(found.sum()),
            total=len(found),
        )
    )
    label_name = meta["label_name"].astype(str).to_numpy()
    ids = meta["id"].astype(str).to_numpy()
    table = []
    for (q, target), g in per_query:
        partner_rank = int(g["partner_rank"].iloc[0])
        same_class = int((label_name[g["row"].to_numpy()] == label_name[q]).sum())
        table.append(
            {
                t("explore.selected"): f"{meta.at[q, 'modality']} #{ids[q]}",
                t("explore.class"): label_name[q],
                t("explore.searched"): target,
                t("explore.partner_top_k", k=k): "✅" if g["is_partner"].any() else "❌",
                t("explore.partner_rank"): partner_rank if partner_rank > 0 else None,
                t("explore.same_class"): f"{same_class}/{len(g)}",
                t("explore.nearest_id_class_cosine"): "   ".join(
                    f"#{ids[r]}{' ✓' if p else ''} ({label_name[r]}, {s:.2f})"
                    for r, p, s in zip(g["row"], g["is_partner"], g["similarity"], strict=True)
                ),
            }
        )
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")

    # One query in detail: what its neighbours look like.
    choices = list(dict.fromkeys(nb["query_row"]))
    q = st.selectbox(
        t("explore.show_what_neighbours_point"),
        choices,
        format_func=lambda r: f"{meta.at[r, 'modality']} #{ids[r]} ({label_name[r]})",
        key="explore_detail_query",
    )
    sub = nb[nb["query_row"] == q]
    for target, g in sub.groupby("target_modality", sort=False):
        marks = [t("explore.partner") if p else "" for p in g["is_partner"]]
        show_samples(
            run,
            meta,
            list(g["row"]),
            extra=[f"{m} {s:.2f}".strip() for m, s in zip(marks, g["similarity"], strict=True)],
            heading=t("explore.top_k_m", k=len(g), m=target),
        )


def show_samples(
    run: LoadedRun,
    meta: pd.DataFrame,
    rows: list[int],
    extra: list[str] | None = None,
    heading: str | None = None,
) -> None:
    """The content behind map points: images, captions or feature values, per modality."""
    samples = run.samples
    if samples is None:
        st.caption(t("explore.run_did_not_save"))
        _id_lists(meta, rows, heading)
        return
    texts = samples.texts or {}
    extra = extra or [""] * len(rows)
    mods = meta.loc[rows, "modality"].to_numpy()
    for m in dict.fromkeys(mods):
        idx = [i for i, mm in enumerate(mods) if mm == m]
        r = [rows[i] for i in idx]
        s = meta.loc[r, "sample"].to_numpy(dtype=int)
        labels = meta.loc[r, "label_name"].astype(str).to_numpy()
        ids = meta.loc[r, "id"].astype(str).to_numpy()
        notes = [extra[i] for i in idx]
        st.markdown(f"**{heading or t('explore.selected_2')} · {m}**")
        arr = samples.modalities.get(m)
        if m in texts:
            st.dataframe(
                pd.DataFrame(
                    {
                        t("explore.id"): ids,
                        t("explore.label"): labels,
                        t("explore.caption"): [texts[m][i] for i in s],
                        **({t("explore.note"): notes} if any(notes) else {}),
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        elif arr is not None and arr.ndim == 3:
            captions = [
                f"#{i} · {lab} {n}".strip() for i, lab, n in zip(ids, labels, notes, strict=True)
            ]
            fig = plots.image_grid(arr[s], captions, n_cols=min(5, len(s)), title=" ", t=t)
            fig.update_layout(height=max(150, 130 * -(-len(s) // 5) + 40), margin=dict(t=40))
            chart(fig, width="stretch", config={"displayModeBar": False})
        elif arr is not None:
            flat = arr[s].reshape(len(s), -1)
            n_show = min(8, flat.shape[1])
            df = pd.DataFrame(
                np.round(flat[:, :n_show], 2), columns=[f"x{j}" for j in range(n_show)]
            )
            df.insert(0, t("explore.label"), labels)
            df.insert(0, t("explore.id"), ids)
            if any(notes):
                df.insert(2, t("explore.note"), notes)
            st.dataframe(df, hide_index=True, width="stretch")
            if flat.shape[1] > n_show:
                st.caption(t("explore.first_k_d_feature", k=n_show, d=flat.shape[1]))
        else:
            st.caption(_id_line(ids, labels))


def _id_line(ids, labels) -> str:
    return ", ".join(f"#{i} ({lab})" for i, lab in zip(ids, labels, strict=True))


def _id_lists(meta: pd.DataFrame, rows: list[int], heading: str | None = None) -> None:
    """The ids and classes of ``rows``, one line per modality."""
    mods = meta.loc[rows, "modality"].astype(str).to_numpy()
    for m in dict.fromkeys(mods):
        r = [row for row, mm in zip(rows, mods, strict=True) if mm == m]
        ids = meta.loc[r, "id"].astype(str).to_numpy()
        labels = meta.loc[r, "label_name"].astype(str).to_numpy()
        st.markdown(f"**{heading or t('explore.selected_2')} · {m}**")
        st.caption(_id_line(ids, labels))
