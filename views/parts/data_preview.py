"""Data page, preview: the active dataset's size, per-modality statistics, a 2-D PCA of each
modality (Pearson 1901, through :mod:`fusion.projection`), sample images and captions, the
reliability mask, its first rows, and downloads as CSV or Parquet.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from fusion.data import PairedData
from fusion.loaders import localized_warnings
from views.parts.dataset import dataset_label
from views.parts.text import fmt, language, t
from views.parts.widgets import chart

GENERATED_CLASS = re.compile(r"class (\d+)")  # the generators' label names: "class 0", ...


def label_names(data: PairedData) -> list[str]:
    """The class names to show: a generator's "class 3" in the session's language."""
    out = []
    for name in data.label_names:
        m = GENERATED_CLASS.fullmatch(str(name))
        out.append(t("data.class_n", c=m.group(1)) if m else str(name))
    return out


def modality_stats(data: PairedData) -> pd.DataFrame:
    """One row per modality: kind, shape, mean, std, min, max and share of missing values."""
    rows = []
    for name in data.names:
        x = data.flat(name)
        finite = np.isfinite(x)
        kind = (
            t("data.image")
            if data.is_image(name)
            else t("data.text_features")
            if name in data.texts
            else t("data.features")
        )
        missing = 1.0 - finite.mean()
        rows.append(
            {
                t("data.modality"): name,
                t("data.kind"): kind,
                t("data.samples_3"): f"{data.n:,}",
                t("data.dims"): "×".join(map(str, data.input_shapes()[name])),
                t("data.mean"): fmt(float(np.nanmean(x))),
                t("data.std"): fmt(float(np.nanstd(x))),
                t("data.min"): fmt(float(np.nanmin(x))),
                t("data.max"): fmt(float(np.nanmax(x))),
                t("data.missing"): t("data.none") if missing == 0 else f"{missing:.1%}",
            }
        )
    return pd.DataFrame(rows)


def pca_figure(data: PairedData, name: str, max_points: int = 1500):
    """A 2-D PCA of one modality, coloured by label, as a small titled scatter."""
    from fusion import plots
    from fusion.projection import project

    rows = np.arange(data.n)
    if data.n > max_points:
        rows = np.sort(np.random.default_rng(0).choice(data.n, max_points, replace=False))
    if data.labels is not None:
        rows = rows[np.argsort(data.labels[rows], kind="stable")]  # legend in class order
    uv = project(data.flat(name)[rows], method="pca")
    points = pd.DataFrame({"u": uv[:, 0], "v": uv[:, 1], "sample": rows, "modality": name})
    if data.labels is not None:
        names = label_names(data)
        points["label_name"] = [names[i] for i in data.labels[rows]]
    fig = plots.shared_space(
        points,
        color_by="label" if data.labels is not None else "modality",
        title=t("data.name_2_d_pca", name=name),
        axis_labels=(t("data.pc_1"), t("data.pc_2")),
        marker_size=5,
        t=t,
    )
    fig.update_layout(
        height=400, margin=dict(l=50, r=10, t=50, b=40), showlegend=data.n_classes <= 12
    )
    return fig


def preview_ui(data: PairedData) -> None:
    from fusion import plots
    from fusion.export import data_to_bytes, data_to_frame

    head, dl1, dl2 = st.columns([4, 1, 1], vertical_alignment="bottom")
    head.subheader(t("data.active_dataset_label", label=dataset_label()))
    stem = "fusion-data"
    downloads = (
        (dl1, "csv", "text/csv", "data.download_active_dataset_one"),
        (dl2, "parquet", "application/octet-stream", "data.download_active_dataset_parquet"),
    )
    for box, kind, mime, help_key in downloads:
        box.download_button(
            t(f"data.{kind}"),
            data=partial(data_to_bytes, data, kind),  # built only when clicked
            file_name=f"{stem}.{kind}",
            mime=mime,
            icon=":material/download:",
            on_click="ignore",
            key=f"download_{kind}",
            help=t(help_key),
        )
    c = st.columns(4)
    c[0].metric(t("data.samples"), f"{data.n:,}")
    c[1].metric(t("data.modalities"), data.n_modalities)
    c[2].metric(t("data.classes"), data.n_classes if data.labels is not None else t("data.none"))
    c[3].metric(
        t("data.reliability_mask"), t("data.yes") if data.mask is not None else t("data.no")
    )
    for w in localized_warnings(data.source, language()):
        st.warning(w, icon=":material/warning:")

    st.markdown(t("data.per_modality_statistics"))
    st.dataframe(modality_stats(data), hide_index=True)

    st.markdown(t("data.each_modality_own_2"))
    st.caption(t("data.top_two_principal_directions"))
    cols = st.columns(min(data.n_modalities, 3))
    for i, name in enumerate(data.names):
        with cols[i % len(cols)]:
            chart(pca_figure(data, name), key=f"pca_{name}")

    images = [n for n in data.names if data.is_image(n)]
    texts = [n for n in data.names if n in data.texts]
    if images or texts:
        st.markdown(t("data.samples_2"))
        k = min(10, data.n)
        names = label_names(data) if data.labels is not None else []
        for name in images:
            captions = [
                f"{data.ids[i]}"
                + (f" · {names[data.labels[i]]}" if data.labels is not None else "")
                for i in range(k)
            ]
            fig = plots.image_grid(
                data.modalities[name][:k],
                captions,
                n_cols=10,
                title=t("data.name_first_k_images", name=name, k=k),
                t=t,
            )
            fig.update_layout(height=190, margin=dict(l=10, r=10, t=60, b=10))
            chart(fig, key=f"images_{name}")
        for name in texts:
            rows = {t("data.id"): data.ids[:k], name: data.texts[name][:k]}
            if data.labels is not None:
                rows[t("data.label")] = [names[i] for i in data.labels[:k]]
            st.dataframe(pd.DataFrame(rows), hide_index=True)

    if data.mask is not None:
        st.markdown(t("data.reliability_mask_2"))
        st.caption(t("data.share_samples_which_each"))
        share = data.mask.mean(axis=0)
        mc = st.columns(min(data.n_modalities, 6))
        for i, name in enumerate(data.names):
            mc[i % len(mc)].metric(t("data.name_reliable", name=name), f"{share[i]:.0%}")
        if "mismatched" in data.flags and data.flags["mismatched"].any():
            st.caption(
                t(
                    "data.p_pairs_are_deliberately",
                    p=f"{data.flags['mismatched'].mean():.0%}",
                )
            )

    st.markdown(t("data.first_rows"))
    first = data_to_frame(data.subset(np.arange(min(10, data.n))))
    if "label" in first and data.label_names:  # shown in the session's language; a
        # download keeps the data's own names
        first["label"] = first["label"].map(
            dict(zip(data.label_names, label_names(data), strict=True))
        )
    st.dataframe(first, hide_index=True)
