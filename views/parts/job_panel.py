"""The live training panel: progress while the session's job runs, then its outcome.

Pages call :func:`training_panel` where the progress belongs (Train, and Home and Explore
for a demo); leaving the page and coming back re-attaches, because the job lives in the
session's slot (``jobs``), not in the page. A fragment polls the job twice a second;
the job's threads never call ``st.*``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from fusion.i18n import has, localized_message
from views.parts.jobs import (
    collect_finished_job,
    current_job,
    stop_current_job,
    waiting_for_slot,
)
from views.parts.live_map import live_view
from views.parts.state import set_active_run, take_scroll
from views.parts.text import fmt, fmt_duration, language, loss_label, method_label, presenter, t
from views.parts.widgets import (
    chart,
    headline_metrics,
    loss_figure,
    metric_title,
    metrics_figure,
    scroll_into_view,
)
from views.site import EXPLORE

DEMO_MAP_HEIGHT = 400  # px: the map with the progress above it fits a 1400×900 window


def training_panel(key: str = "train", map_first: bool = False) -> None:
    """Live progress while this session's job runs, else the outcome of its last job.

    ``map_first``: the live map right under the progress bar, the curves below it (a
    demo, whose point is the shared space forming, in view without scrolling)."""
    job = current_job()
    if job is None:
        return
    with st.container(key=f"{key}_panel"):
        if job.running and waiting_for_slot(job.progress()):
            _queued_progress(key)
        elif job.running:
            _live_progress(key, map_first)
        else:
            collect_finished_job()
            show_job_outcome(job, key)
    if take_scroll():
        scroll_into_view(f"{key}_panel")


def job_outcome(job: Any) -> tuple[str, str]:
    """(status, message) of an ended job: finished | stopped | diverged | out_of_memory | failed."""
    lang = language()
    if job.result is None:
        if job.stop_event.is_set() and not job.error:
            return "stopped", t("common.cancelled_before_started")
        text = localized_message(job.progress(), lang) or localized_message(job, lang, "error")
        return "failed", text or t("common.training_failed")
    h = job.result.history
    return h.status, localized_message(h, lang)


def show_job_outcome(job: Any, key: str) -> None:
    """The final status of this session's last job, its headline metrics and a way on."""
    status, message = job_outcome(job)
    title = f"common.outcome_text.{status}"
    text = t(title if has(title) else "common.training_failed")
    if status == "finished":
        # "Finished 15 epochs." repeats the title in any language; other notes (CCA) do not.
        # Decided on the message's key, never on its text (that is already translated).
        plain = job.result.history.message_key == "messages.train.finished"
        detail = "" if plain or not message else f" {message}"
        st.success(text + detail, icon=":material/check_circle:")
    elif status == "failed":
        st.error(message, icon=":material/error:")
    else:
        st.warning(f"{text} {message}", icon=":material/warning:")
    if job.result is None:
        return
    p = job.progress()
    _curves(p, f"{key}_final", cfg=job.config)  # the last live curves stay with the summary
    h, cfg = job.result.history, job.config
    kept = kept_model_caption(job.result.metrics, h)
    if kept:
        st.caption(kept)
    cols = st.columns(4)
    cols[0].metric(t("common.epochs_completed"), f"{h.completed_epochs} / {cfg.train.epochs}")
    cols[1].metric(t("common.time"), fmt_duration(h.seconds))
    for col, (k, v, c) in zip(cols[2:], headline_metrics(job.result.metrics), strict=False):
        col.metric(
            metric_title(k),
            fmt(v),
            delta=t("common.chance_c", c=fmt(c)) if c is not None else None,
            delta_color="off",
            delta_arrow="off",
        )
    what = f"{method_label(cfg.method)} · {loss_label(cfg.loss)}"
    if job.saved_path:
        st.caption(t("common.what_saved_run_name", what=what, name=Path(job.saved_path).name))
        if st.button(
            t("common.open_explore"),
            icon=":material/explore:",
            type="primary",
            key=f"{key}_open_explore",
        ):
            set_active_run(job.saved_path)
            st.switch_page(EXPLORE.script)
    else:
        st.caption(t("common.what_not_saved_no", what=what))


def kept_model_caption(metrics: dict[str, float], history: Any) -> str:
    """What the outcome's metric cards are, unlike the per-epoch validation chart: the kept
    model's scores on the run's test rows (``test_rows``; retrieval ranks at most
    ``retrieval_rows`` of them), or pooled over cross-validation folds; "" when the
    metrics do not say."""
    total = int(metrics.get("test_rows") or 0)
    if not total:
        return ""
    if metrics.get("cv_folds"):
        return t("common.kept_model_cv", folds=int(metrics["cv_folds"]), rows=f"{total:,}")
    epoch = int(getattr(history, "best_epoch", 0) or 0) or int(history.completed_epochs)
    ranked = int(metrics.get("retrieval_rows") or 0)
    if 0 < ranked < total:
        return t("common.kept_model_ranked", e=epoch, total=f"{total:,}", rows=f"{ranked:,}")
    return t("common.kept_model_all", e=epoch, rows=f"{total:,}")


def epoch_chart_labels(
    row: dict[str, float], n_val: int, snapshot_rows: int | None
) -> tuple[str, str]:
    """The per-epoch validation chart's title (which epoch, on how many validation rows)
    and, when an epoch is scored on a fixed sample of at most ``snapshot_rows`` of the
    validation rows, a caption saying so ("" otherwise)."""
    e = int(row["epoch"])
    rows = min(n_val, snapshot_rows) if n_val and snapshot_rows else n_val
    if not rows:
        return t("common.validation_after_epoch_e", e=e), ""
    title = t("common.validation_epoch_rows", e=e, rows=f"{rows:,}")
    if rows < n_val:
        return title, t("common.validation_epoch_sample", rows=f"{rows:,}", total=f"{n_val:,}")
    return title, ""


QUEUED_POLL_S = 2.0  # a waiting job's place in line changes when a job ends: seconds apart


def _stop_button(key: str) -> dict[str, Any]:
    return dict(
        label=t("common.stop_training"),
        key=f"{key}_stop",
        icon=":material/stop:",
        on_click=stop_current_job,
        help=t("common.ends_within_one_batch"),
    )


@st.fragment(run_every=QUEUED_POLL_S)
def _queued_progress(key: str) -> None:
    """While the job waits for a training slot: its place in line and the estimated wait,
    polled every two seconds (a room of waiting students reruns a quarter as often as the
    live panel would); once it starts, a full rerun brings the live panel."""
    job = current_job()
    if job is None or not job.running or not waiting_for_slot(job.progress()):
        st.rerun(scope="app")
    _progress_bar(job.progress())
    st.button(**_stop_button(key))


@st.fragment(run_every=0.5)
def _live_progress(key: str, map_first: bool = False) -> None:
    """Polls this session's job twice a second; the job's thread never calls st.*."""
    job = current_job()
    if job is None or not job.running:
        st.rerun(scope="app")  # a full rerun of the same page shows the outcome
    p = job.progress()
    # Stop sits above the live map, beside the progress it stops: the map redraws twice a
    # second and may change height, which would move a button below it under the pointer.
    stop = _stop_button(key)
    if map_first:  # the map in view at once; the curves below it
        bar, button = st.columns([5, 1], vertical_alignment="bottom")
        with bar:
            started = _progress_bar(p)
        button.button(**stop, width="stretch")
        live_view(p, key, height=DEMO_MAP_HEIGHT, in_order=True)
        if started:
            _curves(p, key, cfg=job.config)
        return
    if _progress_bar(p):
        _curves(p, key, cfg=job.config)
    st.button(**stop)
    live_view(p, key)  # the map (and attention) the worker draws while training


def ordinal(n: int) -> str:
    """``n`` as a place in line: "1st", "2nd", "3rd", "11th" (in Chinese "第 3 位")."""
    if n % 100 in (11, 12, 13):
        return t("common.ordinal_th", n=n)
    key = {1: "common.ordinal_st", 2: "common.ordinal_nd", 3: "common.ordinal_rd"}
    return t(key.get(n % 10, "common.ordinal_th"), n=n)


def queue_note(p: Any, slots: int) -> str:
    """What a job waiting for a slot says: its place in line and the estimated wait
    (``p.place``, ``p.wait_s``; :meth:`fusion.jobs.TrainingJob.queue_place`), and that the
    server trains at most ``slots`` jobs at once, one per person."""
    if not getattr(p, "place", 0):
        return t("common.waiting_free_training_slot", n=slots)
    wait = p.wait_s or 0.0
    if wait < 60:
        about = t("common.wait_under_a_minute")
    else:
        about = t("common.wait_about_minutes", m=int(round(wait / 60)))
    if p.place == 1:
        return t("common.waiting_next_in_line", wait=about, n=slots)
    return t("common.waiting_place_in_line", place=ordinal(p.place), wait=about, n=slots)


MAP_EVENT = "map"  # fusion.jobs.protocol.MAP_EVENT (that module is not imported here)
MAP_STAGES = {  # the stages of fusion.worker._full_map's progress, as the bar names them
    "embed": "common.map_stage_embed",
    "neighbours": "common.map_stage_neighbours",
    "graph": "common.map_stage_graph",
    "layout": "common.map_stage_layout",
    "pca": "common.map_stage_pca",
    "done": "common.map_stage_done",
}


def _map_progress(p: Any) -> bool:
    """The map of all validation rows the worker makes after training, while it is made."""
    events = (getattr(p, "live", None) or {}).get(MAP_EVENT) or []
    if not events or events[-1].get("stage") == "done":
        return False
    last = events[-1]
    stage = str(last.get("stage", "layout"))
    key = MAP_STAGES.get(stage, "")
    st.progress(
        min(max(float(last.get("fraction", 0.0)), 0.0), 1.0),
        text=t(
            "common.map_progress",
            n=f"{int(last.get('points', 0)):,}",
            stage=t(key) if key else stage,
            elapsed=fmt_duration(float(last.get("seconds", 0.0))),
        ),
    )
    return True


def _progress_bar(p: Any) -> bool:
    """Progress bar with ETA (or why there is none yet); True once training has started.
    After training, the progress of the map of all validation rows takes its place."""
    if _map_progress(p):
        return bool(p.steps or p.epoch_rows)
    if waiting_for_slot(p):
        from fusion.jobs import MAX_CONCURRENT  # imports torch (a job exists)

        st.info(queue_note(p, MAX_CONCURRENT), icon=":material/hourglass_top:")
        return False
    if p.state in ("queued", "waiting"):
        st.progress(0.0, text=t("common.preparing_data_model"))
        return False
    eta = t("common.about_eta_left", eta=fmt_duration(p.eta)) if p.eta is not None else ""
    st.progress(
        p.fraction,
        text=t(
            "common.epoch_e_e_step",
            e=p.epoch,
            E=p.epochs,
            s=p.step,
            S=p.total_steps,
            elapsed=fmt_duration(p.elapsed),
            eta=eta,
        ),
    )
    return True


def _curves(p: Any, chart_key: str, cfg: Any = None) -> None:
    """The loss curves per part and the latest validation metrics of ``p``, side by side
    (one above the other in presenter mode: at projector sizes half a page is too narrow)."""
    if presenter():
        left = right = st.container()
    else:
        left, right = st.columns(2)
    with left:
        if p.steps:
            chart(loss_figure(p.steps), key=f"{chart_key}_loss_chart")
        elif p.state in ("done", "failed"):  # an ended job: nothing more will come
            st.caption(t("common.no_loss_curve"))
        else:
            st.caption(t("common.loss_curve_appears_after"))
    with right:
        fig, note = None, ""
        if p.epoch_rows:
            # The latest epoch with the most validation metrics: an epoch over the trainer's
            # evaluation budget carries its validation loss alone (the title names the epoch).
            last = max(reversed(p.epoch_rows), key=lambda r: sum(k[:4] == "val_" for k in r))
            snapshot_rows = getattr(getattr(cfg, "train", None), "snapshot_rows", None)
            title, note = epoch_chart_labels(last, p.n_val, snapshot_rows)
            fig = metrics_figure(last, prefix="val_", title=title)
        if fig is not None:
            chart(fig, key=f"{chart_key}_metrics_chart")
            if note:
                st.caption(note)
        elif p.state in ("done", "failed"):
            st.caption(t("common.no_validation_metrics"))
        else:
            st.caption(t("common.validation_metrics_appear_after"))
