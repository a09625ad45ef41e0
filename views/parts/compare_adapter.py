"""Compare, before and after: pretrained vectors as they are beside an adapter trained on them.

When the runs compared hold one ``asis`` run (the "before", :mod:`fusion.pretrained`) and
trained joint runs on the same data, a small table puts the numbers the "close the gap"
experiment of Liang et al. 2022 is about side by side: Recall@1 against chance, the
modality gap, alignment and uniformity (Wang & Isola 2020).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fusion.metric_names import metric_name
from fusion.runs import LoadedRun
from views.parts.text import fmt, language, t

KEYS = ("recall_at_1_mean", "modality_gap", "alignment", "uniformity", "linear_probe_accuracy")


def before_after(runs: dict[str, LoadedRun]) -> None:
    """The before/after table, when one run is ``asis`` and another a trained joint run."""
    before = [n for n, r in runs.items() if r.run.get("method") == "asis"]
    after = [n for n, r in runs.items() if r.run.get("method") == "joint"]
    if len(before) != 1 or not after:
        return
    first = runs[before[0]]
    rows = []
    for key in KEYS:
        if key not in first.metrics:
            continue
        row = {t("compare.metric"): metric_name(key, language())}
        row[t("pretrained.before", run=before[0])] = fmt(first.metrics.get(key))
        for name in after:
            row[t("pretrained.after", run=name)] = fmt(runs[name].metrics.get(key))
        row[t("compare.chance")] = fmt(first.metrics.get(f"{key}_chance"))
        rows.append(row)
    with st.container(border=True, key="compare_before_after"):
        st.subheader(t("pretrained.before_after_title"))
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        r0 = first.metrics.get("recall_at_1_mean")
        r1 = runs[after[0]].metrics.get("recall_at_1_mean")
        chance = first.metrics.get("recall_at_1_mean_chance")
        st.caption(
            t("pretrained.before_after_note", before=fmt(r0), after=fmt(r1), chance=fmt(chance))
        )
        if r0 is not None and r1 is not None and not r1 > r0:
            st.warning(t("pretrained.adapter_no_gain", before=fmt(r0), after=fmt(r1)))
