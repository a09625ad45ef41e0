"""Compare's "Evaluate on my data": cross-validate several methods on the active data set.

The evaluation (:class:`fusion.evaluation.EvaluationRun`) runs in a thread of the server
that sends each (method, fold) as a training job to the server's executor (worker
processes by default), so folds train in parallel and this process never imports torch.
It belongs to the visitor's workspace, as a training job does: a reload re-attaches to its
progress. A fragment polls it twice a second; Stop ends the folds still training and
keeps the finished ones. The finished evaluation is saved in the workspace's runs folder
(``evaluations/<name>/``) and shown as a table with a CSV download; earlier ones can be
picked again.
"""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import streamlit as st

from fusion.errors import FusionError
from fusion.evaluation import (
    DEFAULT_FOLDS,
    Evaluation,
    EvaluationRun,
    arms_for,
    check_evaluation,
    list_evaluations,
    method_choices,
    row_label,
)
from fusion.i18n import translate
from fusion.verdicts import Verdict
from views.parts.jobs import _workspace_key, executor
from views.parts.links import runs_dir
from views.parts.state import get_dataset
from views.parts.text import fmt, language, method_label, t

DEFAULT_METHODS = ("attention", "early", "single")
MAX_FOLDS = 10
DEFAULT_EPOCHS = 50
PICK_KEY = "evaluate_pick"
CHOICE_KEY = "evaluate_choice"  # the form's last submitted choices


class _Board:
    """The server's evaluations, one per workspace (the newest started there)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[str, EvaluationRun] = {}

    def get(self, ws: str) -> EvaluationRun | None:
        with self.lock:
            return self.runs.get(ws)

    def put(self, ws: str, run: EvaluationRun) -> None:
        with self.lock:
            self.runs[ws] = run


@st.cache_resource(show_spinner=False)
def evaluation_board() -> _Board:
    return _Board()


def _current() -> EvaluationRun | None:
    return evaluation_board().get(_workspace_key())


def evaluate_section() -> None:
    """The section: the form, the live progress while folds train, then the table."""
    run = _current()
    running = run is not None and run.running
    with st.expander(t("evaluate.title"), expanded=running or run is not None, icon="🧪"):
        st.caption(t("evaluate.intro"))
        if running:
            _live(run)
            return
        if run is not None and run.error_key:
            st.error(translate(run.error_key, language(), **run.error_params), icon="⚠️")
        _form()
        _results(run)


def _form() -> None:
    data = get_dataset()
    if data is None:
        st.info(t("evaluate.needs_data"), icon="📂")
        return
    if data.labels is None:
        st.info(t("evaluate.needs_labels"), icon="🏷️")
        return
    st.caption(t("evaluate.data", data=data.describe(language())))
    default = {"methods": DEFAULT_METHODS, "folds": DEFAULT_FOLDS, "epochs": DEFAULT_EPOCHS}
    last = st.session_state.get(CHOICE_KEY, default)
    with st.container(key="evaluate_setup"), st.form("evaluate_form", border=False):
        st.markdown(f"**{t('evaluate.methods')}**", help=t("evaluate.methods_help"))
        choices = method_choices()
        cols = st.columns(3)
        ticked = [
            m
            for i, m in enumerate(choices)
            if cols[i % 3].checkbox(
                method_label(m), value=m in last["methods"], key=f"evaluate_m_{m}"
            )
        ]
        c1, c2 = st.columns(2)
        folds = c1.number_input(
            t("evaluate.folds"),
            min_value=2,
            max_value=MAX_FOLDS,
            value=last["folds"],
            step=1,
            key="evaluate_folds",
            help=t("evaluate.folds_help"),
        )
        epochs = c2.number_input(
            t("evaluate.epochs"),
            min_value=1,
            max_value=500,
            value=last["epochs"],
            step=1,
            key="evaluate_epochs",
            help=t("evaluate.epochs_help"),
        )
        go = st.form_submit_button(t("evaluate.start"), type="primary", icon=":material/science:")
    if not go:
        return
    # The widgets are not drawn while the folds run (their values would be forgotten).
    st.session_state[CHOICE_KEY] = {"methods": ticked, "folds": int(folds), "epochs": int(epochs)}
    if not ticked:
        st.warning(t("evaluate.pick_methods"))
        return
    _start(data, ticked, int(folds), int(epochs))


def _start(data: Any, methods: list[str], folds: int, epochs: int) -> None:
    try:  # refuse bad input here, with the message, before a thread starts
        check_evaluation(data, arms_for(data, methods, epochs), folds)
    except FusionError as exc:
        st.error(exc.localized(language()), icon="⚠️")
        return
    run = EvaluationRun(
        data, methods, root=runs_dir(), folds=folds, epochs=epochs, executor=executor()
    )
    evaluation_board().put(_workspace_key(), run.start())
    st.session_state.pop(PICK_KEY, None)  # show the new one when it ends
    st.rerun()


@st.fragment(run_every=0.5)
def _live(run: EvaluationRun) -> None:
    """Folds done of the total, per method; the thread never calls st.*."""
    if not run.running:
        st.rerun(scope="app")  # the whole page shows the table
    p = run.progress()
    with st.container(key="evaluate_progress"):
        frac = p.done / p.total if p.total else 0.0
        st.progress(frac, text=t("evaluate.progress", done=p.done, total=p.total))
        lines = []
        for key, m in p.methods.items():
            line = t("evaluate.progress_method", name=_arm_label(key), done=m.done, total=m.total)
            if m.running:
                line += " · " + t("evaluate.progress_running", n=m.running)
            if m.failed:
                line += " · " + t("evaluate.progress_failed", n=m.failed)
            lines.append(f"- {line}")
        st.markdown("\n".join(lines))
        if p.state == "stopping":
            st.info(t("evaluate.stopping"), icon="⏹️")
        st.button(
            t("evaluate.stop"),
            key="evaluate_stop",
            icon=":material/stop:",
            on_click=run.stop,
            help=t("evaluate.stop_help"),
            disabled=p.state != "running",
        )


def _arm_label(key: str) -> str:
    method, _, modality = key.partition(":")
    name = method_label(method)
    return t("evaluate.with_modality", name=name, m=modality) if modality else name


def _results(run: EvaluationRun | None) -> None:
    saved = list_evaluations(runs_dir())
    if not saved:
        return
    newest = run.result.path if run is not None and run.result is not None else saved[0].path
    by_path = {e.path: e for e in saved}
    if PICK_KEY not in st.session_state or st.session_state[PICK_KEY] not in by_path:
        st.session_state[PICK_KEY] = newest if newest in by_path else saved[0].path
    if len(saved) > 1:
        st.selectbox(
            t("evaluate.earlier", n=len(saved)),
            list(by_path),
            format_func=lambda p: f"{by_path[p].name} · {by_path[p].created}",
            key=PICK_KEY,
        )
    show_table(by_path[st.session_state[PICK_KEY]])


def table_frame(ev: Evaluation) -> pd.DataFrame:
    """The table as shown, in the session's language."""
    lang = language()
    rows = []
    for s in ev.scores:
        v = Verdict.from_dict(s.verdict)
        if s.error_key:
            verdict = t("evaluate.failed", error=translate(s.error_key, lang, **s.error_params))
        elif s.chosen:
            verdict = t("evaluate.chosen")
        else:
            verdict = t(f"evaluate.verdict.{v.outcome}", rows=f"{v.test_rows:,}") if v else "–"
        rows.append(
            {
                t("evaluate.col_method"): row_label(s, lang),
                t("evaluate.col_score"): t(f"evaluate.score_{s.metric}", score=fmt(s.score)),
                t("evaluate.col_interval"): f"{fmt(s.interval[0])} – {fmt(s.interval[1])}",
                t("evaluate.col_rows"): f"{s.test_rows:,}",
                t("evaluate.col_folds"): t("evaluate.folds_of", done=s.folds, total=s.folds_total),
                t("evaluate.col_verdict"): verdict,
                t("evaluate.col_difference"): _difference(v),
            }
        )
    return pd.DataFrame(rows)


def _difference(v: Verdict | None) -> str:
    """Run minus baseline in accuracy points, with the paired interval."""
    if v is None:
        return "–"
    return t(
        "evaluate.difference",
        points=f"{v.difference * 100:+.1f}",
        low=f"{v.interval[0] * 100:+.1f}",
        high=f"{v.interval[1] * 100:+.1f}",
    )


def show_table(ev: Evaluation) -> None:
    with st.container(key="evaluate_result"):
        if ev.stopped:
            st.warning(t("evaluate.stopped", total=ev.folds), icon="⏹️")
        else:
            st.success(
                t(
                    "evaluate.finished",
                    folds=ev.folds,
                    rows=f"{ev.n:,}",
                    seconds=f"{ev.seconds:.0f}",
                ),
                icon="✅",
            )
        st.table(table_frame(ev), hide_index=True)
        st.caption(t("evaluate.caption"))
        st.download_button(
            t("evaluate.download"),
            data=ev.table().to_csv(index=False).encode("utf-8"),
            file_name=f"{ev.name}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="evaluate_download",
        )
