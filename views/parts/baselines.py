"""A run beside its baselines, with the paired verdict, on Explore and Compare.

A classifier is set against logistic regression on each modality alone and on all
modalities concatenated (:mod:`fusion.baselines`). A joint embedding is judged first on what
it is for, retrieval across modalities against linear CCA, and then on the class structure
it kept (its linear probe against logistic regression on the raw features). Each verdict
(:mod:`fusion.verdicts`) says beat / no detectable difference / below with its 95 %
interval and the number of test rows. Runs saved before test rows existed say so.
"""

from __future__ import annotations

import streamlit as st

from fusion import plots
from fusion.baselines import (
    CCA_R1,
    MAX_TRAIN_ROWS,
    TRAIN_ROWS,
    Comparison,
    baseline_label,
    comparison,
    verdict_sentence,
)
from fusion.runs import LoadedRun
from fusion.verdicts import Verdict, saved
from views.parts.text import language, t
from views.parts.widgets import chart

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


def _figure(values: dict, chance: dict, titles: dict, colors: list[str], axis: str):
    fig = plots.metric_bars(values, chance, titles, title=axis, x_label=axis, t=t)
    fig.data[0].marker.color = colors
    fig.update_xaxes(range=[0, 1.08])
    fig.update_yaxes(title=None)  # the bars say what they are
    fig.update_layout(showlegend=False)
    return fig


def _verdict(run: LoadedRun, key: str) -> Verdict | None:
    return Verdict.from_dict(run.verdicts.get(key))


def _say(v: Verdict | None) -> None:
    if v is not None:
        BOXES[v.outcome](verdict_sentence(v, language()))


def baselines_section(run: LoadedRun) -> None:
    """Explore: the run beside its baselines, and whether it beat them."""
    c = comparison(run.metrics)
    retrieval = _verdict(run, "verdict")
    if retrieval is not None and retrieval.against != "cca":
        retrieval = None
    if c is None and retrieval is None:
        if run.run.get("method") == "asis":  # the vectors themselves are the baseline
            st.caption(t("baselines.none_as_is"))
        elif run.metrics.get("accuracy") is not None or "linear_probe_accuracy" in run.metrics:
            st.caption(t("baselines.none"))
        return
    if retrieval is not None:  # a joint embedding: what it is for comes first
        with st.container(border=True):
            st.markdown(f"**{t('baselines.retrieval_title')}**")
            _say(retrieval)
            chance = run.metrics.get(f"{CCA_R1}_chance")
            values = {"run": retrieval.score, "cca": retrieval.baseline_score}
            titles = {
                "run": t("baselines.bar_run", what=t("baselines.what.recall_at_1")),
                "cca": t("baselines.bar_cca"),
            }
            chances = {k: chance for k in values if chance is not None}
            axis = t("baselines.axis_retrieval")
            fig = _figure(values, chances, titles, [RUN_COLOR, BASELINE_COLOR], axis)
            chart(fig, key="explore_retrieval_baseline")
            st.caption(t("baselines.retrieval_caption"))
    if c is None:
        return
    with st.container(border=True):
        joint = c.score_key == "linear_probe_accuracy"
        st.markdown(f"**{t('baselines.class_title' if joint else 'baselines.title')}**")
        if run.validation_reported:
            st.caption(t("baselines.validation_reported"))
        else:
            _say(_verdict(run, "verdict_class_structure" if joint else "verdict"))
        axis = t("baselines.axis_validation" if run.validation_reported else "baselines.axis")
        chart(_figure(*_bars(c), axis=axis), key="explore_baselines")
        caption = t("baselines.class_caption") + " " if joint else ""
        caption += t("baselines.caption") + " " + t("baselines.interval_note")
        rows = run.metrics.get(TRAIN_ROWS)
        if rows is not None and rows >= MAX_TRAIN_ROWS:  # a seeded sample of the training rows
            caption += " " + t("baselines.subsampled", rows=int(rows))
        st.caption(caption)


def compare_baselines(runs: dict[str, LoadedRun]) -> None:
    """Compare: every run's score beside its own baselines, one verdict per run."""
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
        for _, v in saved(r.verdicts):
            st.markdown(f"**{name}** · {baseline_label(v.against, language())}")
            _say(v)
        if name in found and r.validation_reported:
            st.caption(f"**{name}**: {t('baselines.validation_reported')}")
    st.caption(t("baselines.compare_caption") + " " + t("baselines.interval_note"))
