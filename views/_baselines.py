"""A run beside its logistic-regression baselines, on Explore and Compare.

Bars: the run's own score (its accuracy, or a joint embedding's linear probe) and logistic
regression on each modality alone and on all modalities concatenated, fitted on the run's
split (:mod:`fusion.baselines`), each with a tick at chance; then one sentence that says
whether fusion beat them. Runs saved before baselines existed say so instead.
"""

from __future__ import annotations

import streamlit as st

from fusion import plots
from fusion.baselines import MAX_TRAIN_ROWS, TRAIN_ROWS, Comparison, comparison, verdict
from fusion.runs import LoadedRun
from views._shared import chart, language, t

RUN_COLOR = plots.MODALITY_COLORS[0]
BASELINE_COLOR = "#9e9e9e"  # the baselines in grey: the run's own bar stands out
BOXES = {"beat": st.success, "level": st.info, "below": st.warning}


def _bars(c: Comparison, prefix: str = "") -> tuple[dict, dict, dict, list[str]]:
    """metric_bars' values, chance levels, titles and bar colours for one run."""
    values = {f"{prefix}run": c.score}
    titles = {f"{prefix}run": t("baselines.bar_run", what=t(f"baselines.what.{c.score_key}"))}
    for m, v in c.single.items():
        values[f"{prefix}single_{m}"] = v
        titles[f"{prefix}single_{m}"] = t("baselines.bar_single", m=m)
    if c.concat is not None:
        values[f"{prefix}concat"] = c.concat
        titles[f"{prefix}concat"] = t("baselines.bar_concat")
    if prefix:
        titles = {k: f"{prefix}{v}" for k, v in titles.items()}
    chance = {k: c.chance for k in values if c.chance is not None}
    colors = [RUN_COLOR if k.endswith("run") else BASELINE_COLOR for k in values]
    return values, chance, titles, colors


def _figure(values: dict, chance: dict, titles: dict, colors: list[str], title: str):
    fig = plots.metric_bars(values, chance, titles, title=title, x_label=t("baselines.axis"), t=t)
    fig.data[0].marker.color = colors
    fig.update_xaxes(range=[0, 1.08])
    fig.update_yaxes(title=None)  # the bars say what they are
    fig.update_layout(showlegend=False)
    return fig


def baselines_section(run: LoadedRun) -> None:
    """Explore: the run's score beside its baselines, and whether fusion beat them."""
    c = comparison(run.metrics)
    if c is None:
        if run.metrics.get("accuracy") is not None or "linear_probe_accuracy" in run.metrics:
            st.caption(t("baselines.none"))
        return
    with st.container(border=True):
        st.markdown(f"**{t('baselines.title')}**")
        BOXES[c.outcome](verdict(run.metrics, language()))
        chart(_figure(*_bars(c), title=t("baselines.axis")), key="explore_baselines")
        caption = t("baselines.caption")
        rows = run.metrics.get(TRAIN_ROWS)
        if rows is not None and rows >= MAX_TRAIN_ROWS:  # a seeded sample of the training rows
            caption += " " + t("baselines.subsampled", rows=int(rows))
        st.caption(caption)


def compare_baselines(runs: dict[str, LoadedRun]) -> None:
    """Compare: every run's score beside its own baselines, one sentence per run."""
    found = {name: c for name, r in runs.items() if (c := comparison(r.metrics)) is not None}
    if not found:
        st.caption(t("baselines.compare_none"))
        return
    values, chance, titles, colors = {}, {}, {}, []
    for name, c in found.items():
        v, ch, ti, co = _bars(c, prefix=f"{name} · ")
        values.update(v)
        chance.update(ch)
        titles.update(ti)
        colors += co
    chart(_figure(values, chance, titles, colors, t("baselines.axis")))
    for name, r in runs.items():
        if name in found:
            st.markdown(f"**{name}**: {verdict(r.metrics, language())}")
    st.caption(t("baselines.compare_caption"))
