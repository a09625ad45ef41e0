"""Train: choose a fusion method, its loss and settings, then train with live progress.

The method and loss are picked first (they decide which settings exist); every other
setting sits in one ``st.form``, so nothing trains until "Start training" is pressed. The
form's fields come from one table (:func:`fusion.form.form_fields`): each field names
its dotted path in the run config, its widget and its choices, and :mod:`fusion.form`
turns the widgets into a config and a shared link's config into widgets, with the same
fields. The job runs in this session's slot (``jobs.start_training``): the user can
leave and come back, and the shared live-progress panel re-attaches to it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fusion import form, registry
from fusion.config import default_config
from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.estimate import estimate_run
from fusion.registry import Field
from views.parts.dataset import dataset_label
from views.parts.demo import require_dataset
from views.parts.device import gpu_available
from views.parts.job_panel import training_panel
from views.parts.jobs import current_job, start_training, training_running
from views.parts.state import link_base, set_link_base, take_link_config
from views.parts.text import fmt_duration, info_text, language, presenter, t
from views.parts.widgets import follow_language, show_error

COLUMNS = ("model", "optimisation", "run")  # the form's columns, left to right
COLUMN_TITLES = {"model": "train.model", "optimisation": "train.optimisation", "run": "train.run"}


def widget_key(f: Field, method: str, loss: str) -> str:
    """Session key of a field's widget; defaults differ per method and loss, so do keys."""
    return f"tr_{f.name}_{method}_{loss}"


def method_ui(data: PairedData) -> tuple[str, str]:
    """Method and (for joint embedding) loss; they decide which settings the form shows."""
    c1, c2 = st.columns(2)
    with c1:
        follow_language("train_method")
        method = st.selectbox(
            t("train.method"),
            list(registry.METHODS),
            format_func=lambda m: t(f"common.method_labels.{m}"),
            key="train_method",
            help=t("train.which_fusion_model_train"),
        )
        st.caption(t(f"train.method_help.{method}"))
    with c2:
        losses = registry.METHODS[method].losses
        if len(losses) > 1:
            follow_language("train_loss_choice")
            loss = st.selectbox(
                t("train.loss"),
                losses,
                format_func=lambda k: t(f"common.loss_labels.{k}"),
                key="train_loss_choice",
                help=t("train.how_paired_embeddings_are"),
            )
            spec = registry.LOSSES[loss]
            note = (
                t("train.has_negatives_resists_collapse")
                if spec.repulsive
                else t("train.no_negatives_can_collapse")
                if not spec.prevents_collapse
                else t("train.no_negatives_whitening_prevents")
            )
            title = info_text("loss", loss, "title")
            source = info_text("loss", loss, "source")
            cite = "" if presenter() else f"  \n{t('train.source')}: {source}"
            st.caption(f"{title} · {note}{cite}")
        else:
            loss = losses[0]
            follow_language(f"train_loss_fixed_{loss}")
            st.selectbox(
                t("train.loss"),
                [loss],
                format_func=lambda k: t(f"common.loss_labels.{k}"),
                key=f"train_loss_fixed_{loss}",
                disabled=True,
                help=t("train.method_has_one_loss"),
            )
    return method, loss


def field_widget(f: Field, key: str, data: PairedData, gpu: tuple[bool, str]) -> Any:
    """One field's widget; returns its value. The starting value is in session state."""
    label, help_ = t(f.label), t(f.help) if f.help else None
    choices = list(form.options(f, data.names))
    fmt = (lambda o: t(f"{f.option_labels}.{o}")) if f.option_labels else None
    if f.widget == "select_slider":
        return st.select_slider(
            label, choices, key=key, help=help_, format_func=fmt or (lambda x: f"{x:g}")
        )
    if f.widget == "selectbox":
        if f.path == "train.device" and not gpu[0]:
            help_ = f"{help_} {t(gpu[1])}"
        return st.selectbox(label, choices, key=key, help=help_, format_func=fmt or str)
    if f.widget == "slider":
        lo, hi, step = f.bounds
        return st.slider(label, lo, hi, step=step, key=key, help=help_)
    if f.widget == "number":
        lo, hi, step = f.bounds
        return st.number_input(label, min_value=lo, max_value=hi, step=step, key=key, help=help_)
    if f.widget == "checkbox":
        return st.checkbox(label, key=key, help=help_)
    placeholder = t(f.placeholder) if f.placeholder else None
    return st.text_input(label, key=key, help=help_, placeholder=placeholder)


def settings_ui(method: str, loss: str, data: PairedData, busy: bool) -> dict[str, Any] | None:
    """The settings form; the chosen values by field path when "Start training" was pressed."""
    fields = form.form_fields(method, loss)
    if presenter():  # a projector keeps only what a lesson or demo needs
        fields = [f for f in fields if not f.advanced]
    defaults = form.values_from_config(default_config(method, loss), data.names).values
    gpu = gpu_available()
    values: dict[str, Any] = {}
    with st.form("train_settings"):
        for column, box in zip(COLUMNS, st.columns(len(COLUMNS), gap="large"), strict=True):
            with box:
                st.markdown(t(COLUMN_TITLES[column]))
                if column == "optimisation" and registry.METHODS[method].gradient_free:
                    st.caption(t("train.linear_cca_solved_closed"))
                for f in (f for f in fields if f.column == column):
                    key = widget_key(f, method, loss)
                    if f.path in defaults:
                        st.session_state.setdefault(key, defaults[f.path])
                    if f.widget == "selectbox":
                        follow_language(key)
                    values[f.path] = field_widget(f, key, data, gpu)
                    if f.path == "train.device" and not gpu[0]:
                        st.caption(t("train.gpu_unavailable_reason", reason=t(gpu[1])))
        submitted = st.form_submit_button(
            t("train.start_training"),
            type="primary",
            icon=":material/rocket_launch:",
            disabled=busy,
        )
    if busy:
        st.caption(t("train.training_running_stop_above"))
    if not submitted:
        return None
    if values.get("train.device") == "cuda" and not gpu[0]:
        st.error(t("train.gpu_training_not_available", reason=t(gpu[1])))
        return None
    return values


def applied_config(method: str, loss: str) -> Any:
    """The run config of the form's settings as last applied (defaults before the first run)."""
    state = st.session_state
    keys = {f.path: widget_key(f, method, loss) for f in form.form_fields(method, loss)}
    return form.config_from_values(
        method, loss, {path: state[key] for path, key in keys.items() if key in state}
    )


def auto_ui(method: str, loss: str, data: PairedData) -> None:
    """What the automatic settings pick for this data and why (encoder widths, standardised
    inputs, early stopping), from the settings as last applied."""
    notes = form.auto_notes(applied_config(method, loss), data, language())
    if notes:
        st.caption("  \n".join([f"**{t('train.auto.title')}**", *notes]))


def estimate_ui(method: str, loss: str, data: PairedData) -> None:
    """The run's estimated time, from the data's size and the form's settings as last applied
    (defaults before the first run); a warning when it is long (fusion.estimate)."""
    cfg = applied_config(method, loss)
    gpu = (
        not registry.METHODS[method].gradient_free
        and cfg.train.device in ("auto", "cuda")
        and gpu_available()[0]
    )
    est = estimate_run(
        data.n, data.input_shapes(), cfg, data.labels is not None, "cuda" if gpu else "cpu"
    )
    words = {
        "total": fmt_duration(est.seconds),
        "n_train": est.n_train,
        "epochs": est.epochs,
        "device": t("train.estimate_gpu" if gpu else "train.estimate_cpu"),
    }
    if est.long:
        st.warning(t("train.estimate_long", **words), icon=":material/hourglass_top:")
    else:
        train_s, eval_s = fmt_duration(est.train_seconds), fmt_duration(est.eval_seconds)
        st.caption(t("train.estimate_caption", train=train_s, evaluation=eval_s, **words))


def prefill_form(cfg: Any, data: PairedData) -> form.FormValues:
    """Put a shared link's configuration into the form's widgets, before they are drawn.

    Returns what the form could not take as it was: values snapped to the nearest choice
    and values refused (not one of the choices; the default stays).
    """
    state = st.session_state
    state["train_method"] = cfg.method
    if len(registry.METHODS[cfg.method].losses) > 1:
        state["train_loss_choice"] = cfg.loss
    filled = form.values_from_config(cfg, data.names)
    for f in form.form_fields(cfg.method, cfg.loss):
        if f.path in filled.values:
            state[widget_key(f, cfg.method, cfg.loss)] = filled.values[f.path]
    return filled


st.title(t("train.train"))
data = require_dataset()
st.caption(
    t("train.training_label_what", label=dataset_label(), what=data.describe(lang=language()))
)

if current_job() is not None:
    with st.container(border=True):
        if training_running():
            st.markdown(t("train.training"))
            st.caption(t("train.can_switch_pages_training"))
        else:
            st.markdown(t("train.last_training"))
        training_panel("train")

link_config = take_link_config()
if link_config is not None:  # a shared link's settings go into the form once
    filled = prefill_form(link_config, data)
    set_link_base(link_config)
    st.info(t("train.link_settings_loaded"), icon=":material/link:")
    if filled.snapped:
        names = ", ".join(t(k) for k in filled.snapped)
        st.warning(t("train.link_settings_snapped", names=names))
    if filled.refused:
        st.warning(t("train.link_settings_refused", names=", ".join(t(k) for k in filled.refused)))

busy = training_running()
with st.container(border=True):
    st.markdown(t("train.new_training"))
    method, loss = method_ui(data)
    estimate_ui(method, loss, data)
    try:
        values = settings_ui(method, loss, data, busy)
        auto_ui(method, loss, data)
        if values is not None:
            config = form.config_from_values(method, loss, values, link_base())
            start_training(data, config, scroll=True)  # the panel sits above the form's button
            st.rerun()
    except FusionError as exc:
        show_error(exc)
