"""Train: choose a fusion method, its loss and settings, then train with live progress.

The method and loss are picked first (they decide which settings exist); every other
setting sits in one ``st.form``, so nothing trains until "Start training" is pressed.
The job runs in this session's slot (``_shared.start_training``): the user can leave and
come back, and the shared live-progress panel re-attaches to it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fusion.data import PairedData
from fusion.errors import ConfigError, FusionError
from fusion.experiment import JOINT_LOSSES, METHODS, RunConfig, default_config
from fusion.losses import LOSS_INFO
from fusion.models import ENCODER_KINDS
from views._shared import (
    LOSS_LABELS,
    METHOD_LABELS,
    current_job,
    dataset_label,
    gpu_available,
    info_text,
    require_dataset,
    show_error,
    start_training,
    t,
    training_panel,
    training_running,
)

METHOD_HELP = {
    "joint": "train.method_help.joint",
    "attention": "train.method_help.attention",
    "early": "train.method_help.early",
    "late": "train.method_help.late",
    "single": "train.method_help.single",
    "cca": "train.method_help.cca",
}
ENCODER_LABELS = {
    "auto": "train.encoder_labels.auto",
    "linear": "train.encoder_labels.linear",
    "mlp": "train.encoder_labels.mlp",
    "cnn": "train.encoder_labels.cnn",
}
OPTIMIZER_LABELS = {
    "adam": "train.optimizer_labels.adam",
    "adamw": "train.optimizer_labels.adamw",
    "sgd": "train.optimizer_labels.sgd",
}
SCHEDULE_LABELS = {
    "constant": "train.schedule_labels.constant",
    "cosine": "train.schedule_labels.cosine",
}
DEVICE_LABELS = {
    "auto": "train.device_labels.auto",
    "cpu": "train.device_labels.cpu",
    "cuda": "train.device_labels.cuda",
}
DIM_LABELS = {
    "joint": ("train.dim_labels.joint.0", "train.dim_labels.joint.1"),
    "attention": ("train.dim_labels.attention.0", "train.dim_labels.attention.1"),
    "early": ("train.dim_labels.early.0", "train.dim_labels.early.1"),
    "late": ("train.dim_labels.late.0", "train.dim_labels.late.1"),
    "single": ("train.dim_labels.single.0", "train.dim_labels.single.1"),
    "cca": ("train.dim_labels.cca.0", "train.dim_labels.cca.1"),
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
DIMS = [2, 4, 8, 16, 32, 64, 128]
WIDTHS = [16, 32, 64, 128, 256, 512]
TEMPERATURES = [0.01, 0.02, 0.05, 0.07, 0.1, 0.2, 0.5, 1.0]
LAMBDAS = [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


def _nearest(options: list[float], value: float) -> float:
    return min(options, key=lambda o: abs(o - value))


def method_ui(data: PairedData) -> tuple[str, str]:
    """Method and (for joint embedding) loss; they decide which settings the form shows."""
    c1, c2 = st.columns(2)
    with c1:
        method = st.selectbox(
            t("train.method"),
            METHODS,
            format_func=lambda m: t(METHOD_LABELS[m]),
            key="train_method",
            help=t("train.which_fusion_model_train"),
        )
        st.caption(t(METHOD_HELP[method]))
    with c2:
        if method == "joint":
            loss = st.selectbox(
                t("train.loss"),
                JOINT_LOSSES,
                format_func=lambda k: t(LOSS_LABELS[k]),
                key="train_loss_choice",
                help=t("train.how_paired_embeddings_are"),
            )
            info = LOSS_INFO[loss]
            note = (
                t("train.has_negatives_resists_collapse")
                if info["repulsive"]
                else t("train.no_negatives_can_collapse")
                if not info["prevents_collapse"]
                else t("train.no_negatives_whitening_prevents")
            )
            title = info_text("loss", loss, "title")
            source = info_text("loss", loss, "source")
            st.caption(f"{title} · {note}  \n{t('train.source')}: {source}")
        else:
            loss = "cca" if method == "cca" else "cross_entropy"
            st.selectbox(
                t("train.loss"),
                [loss],
                format_func=lambda k: t(LOSS_LABELS[k]),
                key=f"train_loss_fixed_{loss}",
                disabled=True,
                help=t("train.method_has_one_loss"),
            )
    return method, loss


def settings_ui(method: str, loss: str, data: PairedData, busy: bool) -> dict[str, Any] | None:
    """The settings form; the chosen values when "Start training" was pressed, else None."""
    base = default_config(method, loss)
    model, train = base.model, base.train
    gpu_ok, gpu_reason = gpu_available()
    k = f"{method}_{loss}"  # defaults differ per method/loss: so do the widgets
    v: dict[str, Any] = {}
    with st.form("train_settings"):
        c_model, c_opt, c_run = st.columns(3, gap="large")
        with c_model:
            st.markdown(t("train.model"))
            dim_label, dim_help = DIM_LABELS[method]
            v["dim"] = st.select_slider(
                t(dim_label),
                DIMS,
                value=_nearest(DIMS, model.dim),
                key=f"tr_dim_{k}",
                help=t(dim_help),
            )
            if method != "cca":
                enc = model.encoder
                v["encoder"] = st.selectbox(
                    t("train.encoder"),
                    ENCODER_KINDS,
                    index=ENCODER_KINDS.index(enc.kind),
                    format_func=lambda e: t(ENCODER_LABELS[e]),
                    key=f"tr_encoder_{k}",
                    help=t("train.network_turns_each_modality"),
                )
                v["width"] = st.select_slider(
                    t("train.encoder_width"),
                    WIDTHS,
                    value=_nearest(WIDTHS, enc.hidden),
                    key=f"tr_width_{k}",
                    help=t("train.units_per_hidden_layer"),
                )
                v["depth"] = st.slider(
                    t("train.encoder_depth"),
                    0,
                    4,
                    enc.depth,
                    key=f"tr_depth_{k}",
                    help=t("train.hidden_layers_mlp_encoder"),
                )
            if loss == "info_nce":
                v["temperature"] = st.select_slider(
                    t("train.temperature"),
                    TEMPERATURES,
                    value=_nearest(TEMPERATURES, model.temperature),
                    key=f"tr_temp_{k}",
                    help=t("train.infonce_softmax_temperature_lower"),
                )
                v["learn_temperature"] = st.checkbox(
                    t("train.learn_temperature"),
                    value=model.learn_temperature,
                    key=f"tr_learn_temp_{k}",
                    help=t("train.train_along_encoders_clip"),
                )
            elif loss == "seed_alignment":
                v["lam"] = st.select_slider(
                    t("train.seed_l2_weight"),
                    LAMBDAS,
                    value=0.1,
                    key=f"tr_lam_{k}",
                    help=t("train.weight_l2_term_keeps"),
                )
            elif loss == "triplet":
                v["margin"] = st.slider(
                    t("train.triplet_margin"),
                    0.05,
                    1.0,
                    0.2,
                    0.05,
                    key=f"tr_margin_{k}",
                    help=t("train.how_much_closer_true"),
                )
                v["mining"] = st.selectbox(
                    t("train.negative_mining"),
                    ["hardest", "semi-hard", "all"],
                    key=f"tr_mining_{k}",
                    help=t("train.which_negatives_count_hardest"),
                )
            if method == "attention":
                v["heads"] = st.selectbox(
                    t("train.attention_heads"),
                    [0, 1, 2, 4, 8],
                    index=[0, 1, 2, 4, 8].index(model.heads),
                    format_func=lambda h: t("train.none_scoring_only") if h == 0 else str(h),
                    key=f"tr_heads_{k}",
                    help=t("train.self_attention_heads_across"),
                )
            if method == "single":
                v["modality"] = st.selectbox(
                    t("train.modality"),
                    data.names,
                    key=f"tr_modality_{k}",
                    help=t("train.one_modality_baseline_sees"),
                )
        with c_opt:
            st.markdown(t("train.optimisation"))
            if method == "cca":
                st.caption(t("train.linear_cca_solved_closed"))
            else:
                v["optimizer"] = st.selectbox(
                    t("train.optimiser"),
                    list(OPTIMIZER_LABELS),
                    format_func=lambda o: t(OPTIMIZER_LABELS[o]),
                    key=f"tr_opt_{k}",
                    help=t("train.gradient_method_adam_safe"),
                )
                v["lr"] = st.select_slider(
                    t("train.learning_rate"),
                    LEARNING_RATES,
                    value=_nearest(LEARNING_RATES, train.lr),
                    format_func=lambda x: f"{x:g}",
                    key=f"tr_lr_{k}",
                    help=t("train.step_size_if_loss"),
                )
                v["schedule"] = st.selectbox(
                    t("train.lr_schedule"),
                    list(SCHEDULE_LABELS),
                    format_func=lambda s: t(SCHEDULE_LABELS[s]),
                    key=f"tr_sched_{k}",
                    help=t("train.keep_learning_rate_constant"),
                )
                v["batch_size"] = st.select_slider(
                    t("train.batch_size"),
                    BATCH_SIZES,
                    value=train.batch_size,
                    key=f"tr_bs_{k}",
                    help=t("train.pairs_per_step_contrastive"),
                )
        with c_run:
            st.markdown(t("train.run"))
            if method != "cca":
                v["epochs"] = st.slider(
                    t("train.epochs"),
                    1,
                    200,
                    train.epochs,
                    key=f"tr_epochs_{k}",
                    help=t("train.passes_over_training_data"),
                )
            v["seed"] = st.number_input(
                t("train.seed"),
                min_value=0,
                max_value=2**31 - 1,
                value=train.seed,
                key=f"tr_seed_{k}",
                help=t("train.fixes_split_initial_weights"),
            )
            if method != "cca":
                v["device"] = st.selectbox(
                    t("train.device"),
                    list(DEVICE_LABELS),
                    format_func=lambda d: t(DEVICE_LABELS[d]),
                    key=f"tr_device_{k}",
                    help=t("train.auto_uses_gpu_when") + ("" if gpu_ok else " " + t(gpu_reason)),
                )
                if not gpu_ok:
                    st.caption(t("train.gpu_unavailable_reason", reason=t(gpu_reason)))
            v["name"] = st.text_input(
                t("train.run_name_optional"),
                key=f"tr_name_{k}",
                placeholder=t("train.date_method_loss"),
                help=t("train.folder_name_saved_run"),
            )
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
    if v.get("device") == "cuda" and not gpu_ok:
        raise ConfigError(t("train.gpu_training_not_available", reason=t(gpu_reason)))
    return v


def build_config(method: str, loss: str, v: dict[str, Any]) -> RunConfig:
    """The RunConfig for the form's values (library defaults for everything not shown)."""
    train = {
        key: v[key]
        for key in ("epochs", "batch_size", "lr", "optimizer", "schedule", "device")
        if key in v
    }
    cfg = default_config(method, loss, seed=int(v["seed"]), **train)
    m = cfg.model
    m.dim = int(v["dim"])
    if method != "cca":
        m.encoder.kind, m.encoder.hidden, m.encoder.depth = v["encoder"], v["width"], v["depth"]
    if method == "joint":
        if loss == "info_nce":
            m.temperature, m.learn_temperature = v["temperature"], v["learn_temperature"]
        cfg.loss_params = {p: v[p] for p in ("lam", "margin", "mining") if p in v}
    if method == "attention":
        m.heads = v["heads"]
    if method == "single":
        m.modality = v["modality"]
    cfg.name = (v.get("name") or "").strip()
    return cfg


st.title(t("train.train"))
data = require_dataset()
st.caption(t("train.training_label_what", label=dataset_label(), what=data.describe()))

if current_job() is not None:
    with st.container(border=True):
        if training_running():
            st.markdown(t("train.training"))
            st.caption(t("train.can_switch_pages_training"))
        else:
            st.markdown(t("train.last_training"))
        training_panel("train")

busy = training_running()
with st.container(border=True):
    st.markdown(t("train.new_training"))
    method, loss = method_ui(data)
    try:
        values = settings_ui(method, loss, data, busy)
        if values is not None:
            start_training(data, build_config(method, loss, values))
            st.rerun()
    except FusionError as exc:
        show_error(exc)
