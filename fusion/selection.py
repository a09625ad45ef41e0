"""Selections on a map of the shared space: what can be done with the points a person picked.

A selection is a list of rows of a map's points frame (:func:`event_rows` reads it from a
Plotly selection event (:func:`fusion.rundata.points_frame`:
one row per (sample, modality) with ``sample``, ``id``, ``modality``, ``label``,
``label_name``, ``reliability`` and the map coordinates ``u``, ``v``), whatever map it was
made on. This module turns it into:

- :func:`selection_table`: the selected points with their ids, labels, modality, map
  coordinates and k nearest neighbours in every other modality (cosine similarity in the
  shared space, the retrieval protocol behind Recall@K, as
  :func:`fusion.rundata.cross_modal_neighbours` computes it for a few points, here in
  blocks so that a selection of many thousands of points stays quick);
  :func:`write_selection` saves it as CSV or Parquet;
- :func:`subset_dataset`: a new :class:`~fusion.data.PairedData` that keeps (or drops) the
  selected samples, every modality of each;
- :func:`selection_summary`: the selection beside the rest: class mix, mean reliability,
  and cross-modal Recall@1 within the selection against the whole set, each with the
  rows it rests on and its chance level;

A small selection's sample ids travel in a shared link as ``sel=`` (:mod:`fusion.share`).

Torch-free and Streamlit-free: pages and the command line call it with plain values.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations, permutations
from typing import IO, Any

import numpy as np
import pandas as pd

from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.metrics import RETRIEVAL_MAX_ROWS, retrieval, retrieval_subsample
from fusion.rundata import NON_EMBEDDING_MODALITIES

FORMATS = ("csv", "parquet")
DEFAULT_K = 5  # neighbours per other modality in an export
_BLOCK_ENTRIES = 1 << 22  # similarities computed at once (16 MiB of float32)


# ---------------------------------------------------------------------------
# Rows and samples


def _customdata_row(cd: Any, index: int) -> int | None:
    """Element ``index`` of a point's customdata as an int, or None.

    Streamlit hands customdata back as a list, or, when Plotly shipped the figure's numeric
    array as a binary typed array, as the JSON of a typed array: ``{"0": …, "1": …, …}``.
    """
    if isinstance(cd, Mapping):
        cd = cd.get(str(index), cd.get(index))
    elif isinstance(cd, list | tuple) and len(cd) > index:
        cd = cd[index]
    else:
        return None
    try:
        return int(cd)
    except (TypeError, ValueError):
        return None


def event_rows(
    points: Iterable[Any],
    rows_by_trace: Sequence[Sequence[int] | None],
    row_in_customdata: int | None = None,
) -> list[int]:
    """Rows of a map's frame named by a Plotly selection event (sorted, unique).

    points: the event's ``selection.points``; rows_by_trace: for each trace of the figure
    the person selected on, the frame row of each of its points (None for a trace without
    points, such as pair lines); a point's ``curve_number`` and ``point_index`` locate its
    row there. row_in_customdata: where a point's customdata holds its row (the snapshot
    map's ``[sample, modality, row, label]``), read first when given. Points that are not
    points, of unknown traces or with unreadable indices are skipped.
    """
    rows: set[int] = set()
    for p in points:
        if not isinstance(p, Mapping):
            continue
        row = None
        if row_in_customdata is not None:
            row = _customdata_row(p.get("customdata"), row_in_customdata)
        if row is None:
            try:
                curve = int(p.get("curve_number", -1))
                index = int(p.get("point_index", p.get("point_number", -1)))
            except (TypeError, ValueError):
                continue
            trace = rows_by_trace[curve] if 0 <= curve < len(rows_by_trace) else None
            if trace is not None and 0 <= index < len(trace):
                row = int(trace[index])
        if row is not None:
            rows.add(row)
    return sorted(rows)


def _check_rows(points: pd.DataFrame, rows: Iterable[int]) -> np.ndarray:
    """The selected rows as a sorted unique int array; a row outside the map is refused."""
    arr = np.unique(np.asarray(list(rows), dtype=np.int64))
    if arr.size and (arr[0] < 0 or arr[-1] >= len(points)):
        raise DataError("errors.selection.bad_rows", n=len(points))
    return arr


def selected_ids(points: pd.DataFrame, rows: Iterable[int]) -> list[str]:
    """The sample ids behind the selected rows, each once, in map row order."""
    arr = _check_rows(points, rows)
    return [str(i) for i in pd.unique(points["id"].astype(str).to_numpy()[arr])]


def rows_of_ids(points: pd.DataFrame, ids: Iterable[str]) -> list[int]:
    """Every map row (all modalities) of the samples with these ids, sorted; ids the map
    does not hold are skipped."""
    wanted = {str(i) for i in ids}
    return [int(r) for r in np.flatnonzero(points["id"].astype(str).isin(wanted).to_numpy())]


def _retrieval_modalities(points: pd.DataFrame) -> list[str]:
    mods = pd.unique(points["modality"].astype(str).to_numpy())  # in order of appearance
    return [m for m in mods if m not in NON_EMBEDDING_MODALITIES]


def _unit(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float32)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


# ---------------------------------------------------------------------------
# The table to export


def selection_table(
    points: pd.DataFrame, Z: np.ndarray, rows: Iterable[int], k: int = DEFAULT_K
) -> pd.DataFrame:
    """The selected points, one row each, with their nearest cross-modal neighbours.

    points: the map's points frame (``id``, ``modality``, ``label``, ``label_name``,
    ``reliability``, ``sample``; ``u`` and ``v`` when it has map coordinates); Z: (n, d)
    the shared-space embeddings of the same rows at the epoch shown; rows: the selection.

    Columns: ``id``, ``modality``, ``label`` (class name; empty when unlabelled),
    ``reliability`` (only when the run has a reliability mask), ``map_x``, ``map_y`` (when
    ``points`` has coordinates), then for every other modality m and rank r = 1..k
    ``{m}_nn{r}_id`` and ``{m}_nn{r}_cosine`` (the neighbour's sample id and the cosine
    similarity cos(z_q, z_j) = z_q·z_j / (|z_q| |z_j|)), and ``{m}_partner_rank``: the
    1-based rank of the query's own partner (same sample) among all points of m, as
    Recall@K counts it (#{j : s_qj > s_q,partner} + 1). A point has no neighbours in its
    own modality (empty cells there); modalities that are no embedding ("fused") are never
    searched.
    """
    arr = _check_rows(points, rows)
    k = max(1, int(k))
    out = pd.DataFrame(
        {
            "id": points["id"].astype(str).to_numpy()[arr],
            "modality": points["modality"].astype(str).to_numpy()[arr],
            "label": points["label_name"].astype(str).to_numpy()[arr]
            if "label_name" in points
            else "",
        }
    )
    if "reliability" in points:
        rel = points["reliability"].to_numpy(dtype=float)
        if np.isfinite(rel).any():
            out["reliability"] = rel[arr]
    if {"u", "v"} <= set(points.columns):
        out["map_x"] = points["u"].to_numpy(dtype=float)[arr]
        out["map_y"] = points["v"].to_numpy(dtype=float)[arr]
    mods = points["modality"].astype(str).to_numpy()
    samples = points["sample"].to_numpy()
    ids = points["id"].astype(str).to_numpy()
    U = _unit(Z)
    for m in _retrieval_modalities(points):
        cand = np.flatnonzero(mods == m)
        queries = arr[mods[arr] != m]
        kk = min(k, len(cand))
        nn_id = np.full((len(arr), k), None, dtype=object)
        nn_cos = np.full((len(arr), k), np.nan)
        p_rank = np.full(len(arr), np.nan)
        where = np.flatnonzero(mods[arr] != m)  # positions in ``out`` of the queries
        if len(queries) and kk:
            top, sims, ranks = _top_k(U, queries, cand, samples, kk)
            nn_id[where, :kk] = ids[cand[top]]
            nn_cos[where, :kk] = sims
            p_rank[where] = ranks
        for r in range(k):
            out[f"{m}_nn{r + 1}_id"] = nn_id[:, r]
            out[f"{m}_nn{r + 1}_cosine"] = nn_cos[:, r]
        out[f"{m}_partner_rank"] = pd.array(
            [None if np.isnan(x) else int(x) for x in p_rank], dtype="Int64"
        )
    return out


def _top_k(
    U: np.ndarray, queries: np.ndarray, cand: np.ndarray, samples: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each query row: its k most similar candidates (positions in ``cand``, most
    similar first; equal similarities in candidate order), their cosines, and the 1-based
    rank of its partner (same sample) among all candidates (NaN when it has none)."""
    where = {int(s): i for i, s in enumerate(samples[cand])}
    partner = np.array([where.get(int(s), -1) for s in samples[queries]])
    top = np.empty((len(queries), k), dtype=np.int64)
    sims_k = np.empty((len(queries), k))
    ranks = np.full(len(queries), np.nan)
    items = U[cand].T  # (d, n_m)
    step = max(1, _BLOCK_ENTRIES // max(len(cand), 1))
    for start in range(0, len(queries), step):
        blk = slice(start, start + step)
        S = U[queries[blk]] @ items  # (b, n_m)
        if k < S.shape[1]:
            part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(S.shape[1]), (S.shape[0], 1))
        ps = np.take_along_axis(S, part, axis=1)
        order = np.lexsort((part, -ps), axis=1)  # by similarity, then candidate order
        top[blk] = np.take_along_axis(part, order, axis=1)
        sims_k[blk] = np.take_along_axis(ps, order, axis=1)
        p = partner[blk]
        has = p >= 0
        s_true = S[np.flatnonzero(has), p[has]][:, None]
        r = np.full(len(p), np.nan)
        r[has] = (S[has] > s_true).sum(1) + 1
        ranks[blk] = r
    return top, sims_k, ranks


def write_selection(df: pd.DataFrame, path_or_buffer: str | os.PathLike | IO, fmt: str) -> None:
    """Write a :func:`selection_table` as ``fmt`` ("csv": UTF-8 with a header, no index;
    "parquet": pyarrow) to a path or a binary buffer."""
    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        raise DataError("errors.selection.bad_format", fmt=fmt, known=", ".join(FORMATS))
    if fmt == "csv":
        if isinstance(path_or_buffer, str | os.PathLike):
            df.to_csv(path_or_buffer, index=False)
        else:
            path_or_buffer.write(df.to_csv(index=False).encode("utf-8"))
    else:
        df.to_parquet(path_or_buffer, index=False)


def selection_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """:func:`write_selection` into memory (a download button's data)."""
    buf = io.BytesIO()
    write_selection(df, buf, fmt)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# A new data set from a selection


def subset_dataset(
    data: PairedData,
    sample_ids: Iterable[str],
    keep: bool = True,
    origin: Mapping[str, Any] | None = None,
) -> PairedData:
    """The samples of ``data`` whose id is selected (``keep``) or not (``keep=False``),
    every modality of each, in their order in ``data``.

    The result's ``source`` says it is a subset (``kind: "subset"``, ``keep``, how many
    samples, ``origin``: e.g. the run the selection was made on, and ``subset_of``: the
    source it came from), so a run trained on it never claims to be the full generated
    data set. Raises DataError when nothing is selected, when none of the selected ids
    is in ``data``, or when fewer than :data:`fusion.data.MIN_ROWS` samples remain (too
    few to split into training and validation rows).
    """
    wanted = {str(i) for i in sample_ids}
    if not wanted:
        raise DataError("errors.selection.nothing_selected")
    hit = np.isin(data.ids.astype(str), list(wanted))
    if not hit.any():
        raise DataError("errors.selection.not_in_data", n=len(wanted))
    chosen = hit if keep else ~hit
    n_left = int(chosen.sum())
    if n_left == 0:
        raise DataError("errors.selection.drop_everything", n=len(data.ids))
    if n_left < MIN_ROWS:
        raise DataError("errors.selection.subset_too_small", n=n_left, min_rows=MIN_ROWS)
    sub = data.subset(chosen)
    moved = ("generator", "params", "files")  # the full data's recipe: not this subset's
    source = {k: v for k, v in data.source.items() if k not in (*moved, "kind", "name")}
    source.update(
        kind="subset",
        keep=bool(keep),
        n_selected=int(hit.sum()),
        n=n_left,
        origin=dict(origin or {}),
        subset_of={k: v for k, v in data.source.items() if k in (*moved, "kind", "name")},
    )
    sub.source = source
    return sub


# ---------------------------------------------------------------------------
# The selection beside the rest


@dataclass
class SelectionSummary:
    """The selection beside the rest of the map (see :func:`selection_summary`)."""

    n_points: int  # selected map points
    n_samples: int  # selected samples (a sample has a point per modality)
    n_points_total: int
    n_samples_total: int
    classes: pd.DataFrame  # label, selected, selected_share, rest, rest_share (samples)
    reliability: pd.DataFrame | None  # modality, selected_mean, selected_n, rest_mean, rest_n
    retrieval: pd.DataFrame | None  # scope, recall_at_1, n_queries, n_gallery, chance
    notes: list[str] = field(default_factory=list)  # catalogue keys of what could not be said

    @property
    def empty(self) -> bool:
        return self.n_points == 0

    @property
    def whole(self) -> bool:
        """Every sample is selected: the rest is empty."""
        return self.n_samples_total > 0 and self.n_samples == self.n_samples_total

    @property
    def n_rest_samples(self) -> int:
        return self.n_samples_total - self.n_samples


def _share(count: np.ndarray, total: int) -> np.ndarray:
    return count / total if total else np.full(len(count), np.nan)


def selection_summary(
    points: pd.DataFrame,
    Z: np.ndarray | None,
    rows: Iterable[int],
    max_rows: int | None = RETRIEVAL_MAX_ROWS,
    seed: int = 0,
) -> SelectionSummary:
    """The selected samples beside the rest: class mix, reliability and retrieval.

    points, Z, rows: as :func:`selection_table` (Z None: no retrieval). Counted over
    samples (a sample selected in any modality is selected):

    - ``classes``: per class, selected and rest counts and their shares of the selection
      and of the rest (NaN where that side is empty: nothing selected, or everything);
    - ``reliability``: per modality, the mean reliability-mask value of the selected
      points and of the rest, with each one's point count (None: the run has no mask);
    - ``retrieval``: cross-modal Recall@1 averaged over every ordered pair of modalities
      (a→b, b→a, ...), in three scopes: ``selection`` (queries and gallery are the
      selected samples), ``selection_in_all`` (the selected samples' queries against the
      whole gallery) and ``all`` (every sample). With cosine similarity s_ij between query
      a_i and item b_j, rank_i = #{j : s_ij > s_ii} and

          Recall@1 = 1/|Q| Σ_{i∈Q} [rank_i = 0],   chance = 1/N

      where Q are the queries and N the gallery size (open_clip's retrieval evaluation,
      Ilharco et al. 2021; :func:`fusion.metrics.retrieval`). Each row carries
      ``n_queries``, ``n_gallery`` and ``chance``. Above ``max_rows`` samples a scope uses
      a seeded subsample (:func:`fusion.metrics.retrieval_subsample`), and its counts say
      so. Scopes that cannot be measured are left out, and ``notes`` says why: nothing
      selected, one sample (a gallery of one), or fewer than two embedding modalities.
    """
    arr = _check_rows(points, rows)
    samples = points["sample"].to_numpy()
    all_samples = np.unique(samples)
    sel_samples = np.unique(samples[arr])
    notes: list[str] = []
    if not arr.size:
        notes.append("selection.note_nothing_selected")
    elif len(sel_samples) == len(all_samples):
        notes.append("selection.note_whole_set")

    # Class mix over samples: one label per sample (its first point's), in class order.
    first = pd.DataFrame(
        {
            "sample": samples,
            "label": points["label_name"].astype(str),
            "index": points.get("label", 0),
        }
    ).drop_duplicates("sample")
    chosen = first["sample"].isin(sel_samples).to_numpy()
    order = first.sort_values(["index", "label"], kind="stable")
    labels = list(pd.unique(order["label"].to_numpy()))
    sel_n = np.array([int(((first["label"] == c).to_numpy() & chosen).sum()) for c in labels])
    rest_n = np.array([int(((first["label"] == c).to_numpy() & ~chosen).sum()) for c in labels])
    classes = pd.DataFrame(
        {
            "label": labels,
            "selected": sel_n,
            "selected_share": _share(sel_n, int(sel_n.sum())),
            "rest": rest_n,
            "rest_share": _share(rest_n, int(rest_n.sum())),
        }
    )

    reliability = None
    rel = points["reliability"].to_numpy(dtype=float) if "reliability" in points else None
    if rel is not None and np.isfinite(rel).any():
        mods = points["modality"].astype(str).to_numpy()
        sel_point = np.zeros(len(points), dtype=bool)
        sel_point[arr] = True
        rows_out = []
        for m in pd.unique(mods):
            in_m = (mods == m) & np.isfinite(rel)
            if not in_m.any():
                continue
            a, b = rel[in_m & sel_point], rel[in_m & ~sel_point]
            rows_out.append(
                {
                    "modality": m,
                    "selected_mean": float(a.mean()) if a.size else np.nan,
                    "selected_n": int(a.size),
                    "rest_mean": float(b.mean()) if b.size else np.nan,
                    "rest_n": int(b.size),
                }
            )
        reliability = pd.DataFrame(rows_out)

    ret = None
    if Z is not None:
        ret = _retrieval_scopes(points, Z, sel_samples, all_samples, max_rows, seed, notes)
    return SelectionSummary(
        n_points=int(arr.size),
        n_samples=int(len(sel_samples)),
        n_points_total=int(len(points)),
        n_samples_total=int(len(all_samples)),
        classes=classes,
        reliability=reliability,
        retrieval=ret,
        notes=notes,
    )


def _modality_matrices(
    points: pd.DataFrame, U: np.ndarray, mods: Sequence[str], keep: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(sample numbers, each modality's unit embeddings of those samples in that order)
    for the samples ``keep`` that every modality holds."""
    m_col = points["modality"].astype(str).to_numpy()
    s_col = points["sample"].to_numpy()
    common = np.unique(keep)
    for m in mods:
        common = np.intersect1d(common, s_col[m_col == m])
    out = {}
    for m in mods:
        idx = np.flatnonzero(m_col == m)
        idx = idx[np.argsort(s_col[idx], kind="stable")]
        out[m] = U[idx[np.searchsorted(s_col[idx], common)]]
    return common, out


def _retrieval_scopes(
    points: pd.DataFrame,
    Z: np.ndarray,
    sel_samples: np.ndarray,
    all_samples: np.ndarray,
    max_rows: int | None,
    seed: int,
    notes: list[str],
) -> pd.DataFrame | None:
    mods = _retrieval_modalities(points)
    if len(mods) < 2:
        notes.append("selection.note_one_modality")
        return None
    U = _unit(Z)

    def sub(s: np.ndarray) -> np.ndarray:
        pick = retrieval_subsample(len(s), max_rows, seed)
        return s if pick is None else s[pick]

    rows = []
    sel_s, sel = _modality_matrices(points, U, mods, sub(sel_samples))
    if len(sel_s) >= 2:
        rows.append(_scope_row("selection", _mean_recall(sel, mods), len(sel_s), len(sel_s)))
    elif len(sel_s) == 1:
        notes.append("selection.note_one_sample")
    if len(sel_s):
        all_s, full = _modality_matrices(points, U, mods, all_samples)
        partner = np.searchsorted(all_s, sel_s)  # each query's own item in the gallery
        recall = _recall_in_gallery(mods, sel, full, partner)
        rows.append(_scope_row("selection_in_all", recall, len(sel_s), len(all_s)))
    whole_s, whole = _modality_matrices(points, U, mods, sub(all_samples))
    if len(whole_s):
        rows.append(_scope_row("all", _mean_recall(whole, mods), len(whole_s), len(whole_s)))
    return pd.DataFrame(rows, columns=["scope", "recall_at_1", "n_queries", "n_gallery", "chance"])


def _scope_row(scope: str, recall: float, n_queries: int, n_gallery: int) -> dict[str, Any]:
    return {
        "scope": scope,
        "recall_at_1": recall,
        "n_queries": int(n_queries),
        "n_gallery": int(n_gallery),
        "chance": 1.0 / n_gallery,
    }


def _mean_recall(emb: Mapping[str, np.ndarray], mods: Sequence[str]) -> float:
    """Recall@1 averaged over both directions of every modality pair, the gallery being
    the same samples as the queries (:func:`fusion.metrics.retrieval`)."""
    vals = []
    for a, b in combinations(mods, 2):
        r = retrieval(emb[a], emb[b], a, b, ks=(1,))
        vals += [r[f"recall_at_1_{a}_to_{b}"], r[f"recall_at_1_{b}_to_{a}"]]
    return float(np.mean(vals))


def _recall_in_gallery(
    mods: Sequence[str],
    queries: Mapping[str, np.ndarray],
    gallery: Mapping[str, np.ndarray],
    partner: np.ndarray,
) -> float:
    """Recall@1 of the queries against a larger gallery, averaged over ordered modality
    pairs; ``partner[i]``: the gallery position of query i's own sample. Ties count as
    ranked below the partner, as :func:`fusion.metrics.retrieval` does by default."""
    vals = []
    for a, b in permutations(mods, 2):
        q, items = queries[a], gallery[b]
        hits = np.empty(len(q), dtype=bool)
        step = max(1, _BLOCK_ENTRIES // max(len(items), 1))
        for start in range(0, len(q), step):
            blk = slice(start, start + step)
            sims = q[blk] @ items.T  # (b, N)
            s_true = sims[np.arange(sims.shape[0]), partner[blk]][:, None]
            hits[blk] = (sims > s_true).sum(1) == 0
        vals.append(float(hits.mean()))
    return float(np.mean(vals))
