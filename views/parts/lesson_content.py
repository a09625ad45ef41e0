"""The content of an open lesson, built from its saved runs: its steps (text with the runs'
numbers, formulas, figures), its question and the list of its runs.

The analyses (:func:`fusion.lessons.analyse`) are cached per lesson, language and run
files, so a lesson trained once opens at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from fusion.baselines import verdict_sentence
from fusion.i18n import text_for
from fusion.registry import LOSSES
from fusion.rundata import run_signature
from fusion.runs import run_info
from fusion.verdicts import Verdict
from views.parts.links import runs_dir
from views.parts.state import set_active_run
from views.parts.text import fmt, language, presenter, t
from views.parts.widgets import chart
from views.site import EXPLORE


def found_runs(lesson: Any) -> dict[str, Path]:
    """The lesson's runs saved in this session's runs folder, by run key."""
    from fusion.lessons import find_runs  # the package imports torch

    return find_runs(lesson, runs_dir())


@st.cache_data(show_spinner=False, max_entries=64)
def _findings_cached(lesson_id: str, lang: str, runs: tuple[tuple[str, str, str], ...]) -> Any:
    from fusion.lessons import analyse  # the package imports torch

    return analyse(lesson_id, {key: path for key, path, _ in runs}, text_for(lang))


def findings(lesson: Any, found: dict[str, Path]) -> Any:
    """The lesson's analyses of its runs (numbers and figures), cached until a run changes."""
    runs = tuple(sorted((k, str(p), run_signature(p)) for k, p in found.items()))
    return _findings_cached(lesson.id, language(), runs)


def numbers(found_out: Any) -> dict[str, str]:
    """The findings' numbers as the lesson's text shows them."""
    out = {}
    for k, v in found_out.numbers.items():
        if k.endswith("_pct"):
            out[k] = f"{v:.0%}"
        elif isinstance(v, int) or (v == v and abs(v) < 1e6 and float(v).is_integer()):
            out[k] = str(int(v))
        elif v == v and 0 < abs(v) < 0.01:
            out[k] = f"{v:.2g}"  # 0.00088, not 0.001: a collapsing spread keeps its digits
        else:
            out[k] = fmt(v)
    return out


def figure(fig: Any, key: str, big: bool) -> None:
    """A lesson's figure; a copy in presenter mode, where :func:`chart` enlarges it in place
    (the findings holding it are cached)."""
    if fig is None:
        return
    chart(go.Figure(fig) if big else fig, key=key)


def steps(lesson: Any, found: dict[str, Path]) -> None:
    """The lesson's steps: text with the numbers of its runs, formulas and figures."""
    big = presenter()
    found_out = findings(lesson, found)
    values = numbers(found_out)
    st.markdown(f"### {t('lessons.tab.look')}")
    for i, step in enumerate(lesson.steps, start=1):
        with st.container(border=True):
            st.markdown(f"**{t('lessons.tab.step', n=i)}**")
            st.markdown(t(f"lessons.{lesson.id}.steps.{step.name}", **values))
            if step.latex:
                st.latex(LOSSES[step.latex].formula_latex)
            figs = [n for n in step.figures if found_out.figures.get(n) is not None]
            if len(figs) == 2 and not big:
                for col, name in zip(st.columns(2), figs, strict=True):
                    with col:
                        figure(found_out.figures[name], f"lesson_{lesson.id}_{name}", big)
            else:
                for name in figs:
                    figure(found_out.figures[name], f"lesson_{lesson.id}_{name}", big)


def question(lesson: Any, found: dict[str, Path]) -> None:
    """The lesson's question, with its answer behind a "reveal"."""
    values = numbers(findings(lesson, found))
    st.markdown(f"### {t('lessons.tab.question')}")
    with st.container(border=True):
        st.markdown(t(f"lessons.{lesson.id}.question", **values))
        with st.expander(t("lessons.tab.reveal"), icon=":material/lightbulb:"):
            st.markdown(t(f"lessons.{lesson.id}.answer", **values))


def runs_list(lesson: Any, found: dict[str, Path], size: str) -> None:
    """The lesson's saved runs, each with a way to open it on Explore."""
    specs = {s.key: s for s in lesson.all_runs(size)}
    with st.expander(t("lessons.tab.runs_title"), icon=":material/folder_open:"):
        for key, path in found.items():
            spec = specs.get(key)
            left, right = st.columns([3, 1], vertical_alignment="center")
            left.markdown(f"{t(spec.label[0], **spec.label[1]) if spec else key} · `{path.name}`")
            verdict = Verdict.from_dict(run_info(path).verdicts.get("verdict"))
            if verdict is not None:  # the run's paired verdict against its baseline
                left.caption(verdict_sentence(verdict, language()))
            if right.button(
                t("lessons.tab.open_explore"),
                key=f"lesson_explore_{lesson.id}_{key}",
                icon=":material/explore:",
            ):
                set_active_run(path)
                st.switch_page(EXPLORE.script)
