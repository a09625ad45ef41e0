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
    require_dataset,
    show_error,
    start_training,
    t,
    training_panel,
    training_running,
)

METHOD_HELP = {
    "joint": "Map every modality into one shared space so that paired samples land close.",
    "attention": "Weigh each modality per sample with a small attention network, then classify.",
    "early": "Concatenate all modalities' features, then one classifier (needs labels).",
    "late": "One classifier per modality; average their predictions (needs labels).",
    "single": "A classifier on one modality alone: the no-fusion reference (needs labels).",
    "cca": "Classical linear CCA between the first two modalities; no training loop.",
}
ENCODER_LABELS = {
    "auto": "Auto (CNN for images, MLP otherwise)",
    "linear": "Linear",
    "mlp": "MLP",
    "cnn": "Small CNN (images only)",
}
OPTIMIZER_LABELS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD with momentum"}
SCHEDULE_LABELS = {"constant": "Constant", "cosine": "Cosine decay to 0"}
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "GPU (CUDA)"}
DIM_LABELS = {
    "joint": ("Shared dimension", "Size of the shared embedding space every modality maps into."),
    "attention": ("Token dimension", "Size of each modality's token before attention fuses them."),
    "early": ("Hidden width", "Width of the classifier's hidden layer."),
    "late": ("Hidden width", "Width of each per-modality classifier's hidden layer."),
    "single": ("Hidden width", "Width of the classifier's hidden layer."),
    "cca": ("Components", "Number of canonical directions (at most the smaller input width)."),
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
            t("Method"),
            METHODS,
            format_func=lambda m: t(METHOD_LABELS[m]),
            key="train_method",
            help=t("Which fusion model to train; the baselines are for comparison."),
        )
        st.caption(t(METHOD_HELP[method]))
    with c2:
        if method == "joint":
            loss = st.selectbox(
                t("Loss"),
                JOINT_LOSSES,
                format_func=lambda k: t(LOSS_LABELS[k]),
                key="train_loss_choice",
                help=t("How paired embeddings are pulled together (and others pushed apart)."),
            )
            info = LOSS_INFO[loss]
            note = (
                t("Has negatives: resists collapse.")
                if info["repulsive"]
                else t("No negatives: can collapse to a point.")
                if not info["prevents_collapse"]
                else t("No negatives; whitening prevents collapse.")
            )
            st.caption(f"{t(info['title'])} · {note}  \n{t('Source')}: {info['source']}")
        else:
            loss = "cca" if method == "cca" else "cross_entropy"
            st.selectbox(
                t("Loss"),
                [loss],
                format_func=lambda k: t(LOSS_LABELS[k]),
                key=f"train_loss_fixed_{loss}",
                disabled=True,
                help=t("This method has one loss; pick joint embedding to choose among several."),
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
            st.markdown(t("**Model**"))
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
                    t("Encoder"),
                    ENCODER_KINDS,
                    index=ENCODER_KINDS.index(enc.kind),
                    format_func=lambda e: t(ENCODER_LABELS[e]),
                    key=f"tr_encoder_{k}",
                    help=t("The network that turns each modality's input into features."),
                )
                v["width"] = st.select_slider(
                    t("Encoder width"),
                    WIDTHS,
                    value=_nearest(WIDTHS, enc.hidden),
                    key=f"tr_width_{k}",
                    help=t("Units per hidden layer (MLP) or channels (CNN)."),
                )
                v["depth"] = st.slider(
                    t("Encoder depth"),
                    0,
                    4,
                    enc.depth,
                    key=f"tr_depth_{k}",
                    help=t("Hidden layers of the MLP encoder; 0 makes it linear."),
                )
            if loss == "info_nce":
                v["temperature"] = st.select_slider(
                    t("Temperature τ"),
                    TEMPERATURES,
                    value=_nearest(TEMPERATURES, model.temperature),
                    key=f"tr_temp_{k}",
                    help=t("InfoNCE softmax temperature: lower is sharper (CLIP starts at 0.07)."),
                )
                v["learn_temperature"] = st.checkbox(
                    t("Learn the temperature"),
                    value=model.learn_temperature,
                    key=f"tr_learn_temp_{k}",
                    help=t("Train τ along with the encoders, as CLIP does."),
                )
            elif loss == "seed_alignment":
                v["lam"] = st.select_slider(
                    t("Seed λ (L2 weight)"),
                    LAMBDAS,
                    value=0.1,
                    key=f"tr_lam_{k}",
                    help=t("Weight of the L2 term that keeps embeddings small."),
                )
            elif loss == "triplet":
                v["margin"] = st.slider(
                    t("Triplet margin"),
                    0.05,
                    1.0,
                    0.2,
                    0.05,
                    key=f"tr_margin_{k}",
                    help=t("How much closer the true partner must be than the hardest negative."),
                )
                v["mining"] = st.selectbox(
                    t("Negative mining"),
                    ["hardest", "semi-hard", "all"],
                    key=f"tr_mining_{k}",
                    help=t("Which negatives count: the hardest (VSE++), semi-hard, or all."),
                )
            if method == "attention":
                v["heads"] = st.selectbox(
                    t("Attention heads"),
                    [0, 1, 2, 4, 8],
                    index=[0, 1, 2, 4, 8].index(model.heads),
                    format_func=lambda h: t("none (scoring only)") if h == 0 else str(h),
                    key=f"tr_heads_{k}",
                    help=t(
                        "Self-attention heads across modality tokens before scoring; must divide the token dimension."
                    ),
                )
            if method == "single":
                v["modality"] = st.selectbox(
                    t("Modality"),
                    data.names,
                    key=f"tr_modality_{k}",
                    help=t("The one modality this baseline sees."),
                )
        with c_opt:
            st.markdown(t("**Optimisation**"))
            if method == "cca":
                st.caption(t("Linear CCA is solved in closed form: no optimiser, epochs or GPU."))
            else:
                v["optimizer"] = st.selectbox(
                    t("Optimiser"),
                    list(OPTIMIZER_LABELS),
                    format_func=lambda o: t(OPTIMIZER_LABELS[o]),
                    key=f"tr_opt_{k}",
                    help=t("The gradient method; Adam is a safe default."),
                )
                v["lr"] = st.select_slider(
                    t("Learning rate"),
                    LEARNING_RATES,
                    value=_nearest(LEARNING_RATES, train.lr),
                    format_func=lambda x: f"{x:g}",
                    key=f"tr_lr_{k}",
                    help=t("Step size; if the loss turns NaN, lower it."),
                )
                v["schedule"] = st.selectbox(
                    t("LR schedule"),
                    list(SCHEDULE_LABELS),
                    format_func=lambda s: t(SCHEDULE_LABELS[s]),
                    key=f"tr_sched_{k}",
                    help=t("Keep the learning rate constant, or decay it to 0 by the last step."),
                )
                v["batch_size"] = st.select_slider(
                    t("Batch size"),
                    BATCH_SIZES,
                    value=train.batch_size,
                    key=f"tr_bs_{k}",
                    help=t(
                        "Pairs per step; contrastive losses see more negatives in bigger batches."
                    ),
                )
        with c_run:
            st.markdown(t("**Run**"))
            if method != "cca":
                v["epochs"] = st.slider(
                    t("Epochs"),
                    1,
                    200,
                    train.epochs,
                    key=f"tr_epochs_{k}",
                    help=t("Passes over the training data (80% of the rows; 20% validate)."),
                )
            v["seed"] = st.number_input(
                t("Seed"),
                min_value=0,
                max_value=2**31 - 1,
                value=train.seed,
                key=f"tr_seed_{k}",
                help=t("Fixes the split, the initial weights and the batch order."),
            )
            if method != "cca":
                v["device"] = st.selectbox(
                    t("Device"),
                    list(DEVICE_LABELS),
                    format_func=lambda d: t(DEVICE_LABELS[d]),
                    key=f"tr_device_{k}",
                    help=t("Auto uses a GPU when there is one.")
                    + ("" if gpu_ok else " " + t(gpu_reason)),
                )
                if not gpu_ok:
                    st.caption(t("GPU: unavailable. {reason}", reason=t(gpu_reason)))
            v["name"] = st.text_input(
                t("Run name (optional)"),
                key=f"tr_name_{k}",
                placeholder=t("date-method-loss"),
                help=t("Folder name of the saved run; shown on Explore and Compare."),
            )
        submitted = st.form_submit_button(
            t("Start training"), type="primary", icon=":material/rocket_launch:", disabled=busy
        )
    if busy:
        st.caption(t("A training is running: stop it above, or wait, to start another."))
    if not submitted:
        return None
    if v.get("device") == "cuda" and not gpu_ok:
        raise ConfigError(t("GPU training is not available: {reason}", reason=t(gpu_reason)))
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


st.title(t(":material/model_training: Train"))
data = require_dataset()
st.caption(t("Training on **{label}**: {what}", label=dataset_label(), what=data.describe()))

if current_job() is not None:
    with st.container(border=True):
        if training_running():
            st.markdown(t("#### Training"))
            st.caption(
                t("You can switch pages; the training keeps going and this panel re-attaches.")
            )
        else:
            st.markdown(t("#### Last training"))
        training_panel("train")

busy = training_running()
with st.container(border=True):
    st.markdown(t("#### New training"))
    method, loss = method_ui(data)
    try:
        values = settings_ui(method, loss, data, busy)
        if values is not None:
            start_training(data, build_config(method, loss, values))
            st.rerun()
    except FusionError as exc:
        show_error(exc)
