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
    LINK_BASE,
    LINK_CONFIG,
    LOSS_LABELS,
    METHOD_LABELS,
    SCROLL_TO_PANEL,
    current_job,
    dataset_label,
    fmt_duration,
    gpu_available,
    info_text,
    language,
    presenter,
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
            cite = "" if presenter() else f"  \n{t('train.source')}: {source}"
            st.caption(f"{title} · {note}{cite}")
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


def _default(key: str, value: Any) -> str:
    """A widget's key, with its starting value put in session state (once): a value from a
    shared link, set there before the form is drawn, wins over the default."""
    st.session_state.setdefault(key, value)
    return key


def settings_ui(method: str, loss: str, data: PairedData, busy: bool) -> dict[str, Any] | None:
    """The settings form; the chosen values when "Start training" was pressed, else None."""
    base = default_config(method, loss)
    model, train = base.model, base.train
    gpu_ok, gpu_reason = gpu_available()
    k = f"{method}_{loss}"  # defaults differ per method/loss: so do the widgets
    advanced = not presenter()  # presenter mode keeps only what a lesson or demo needs
    v: dict[str, Any] = {}
    with st.form("train_settings"):
        c_model, c_opt, c_run = st.columns(3, gap="large")
        with c_model:
            st.markdown(t("train.model"))
            dim_label, dim_help = DIM_LABELS[method]
            v["dim"] = st.select_slider(
                t(dim_label),
                DIMS,
                key=_default(f"tr_dim_{k}", _nearest(DIMS, model.dim)),
                help=t(dim_help),
            )
            if method != "cca":
                enc = model.encoder
                v["encoder"] = st.selectbox(
                    t("train.encoder"),
                    ENCODER_KINDS,
                    format_func=lambda e: t(ENCODER_LABELS[e]),
                    key=_default(f"tr_encoder_{k}", enc.kind),
                    help=t("train.network_turns_each_modality"),
                )
            if method != "cca" and advanced:
                v["width"] = st.select_slider(
                    t("train.encoder_width"),
                    WIDTHS,
                    key=_default(f"tr_width_{k}", _nearest(WIDTHS, enc.hidden)),
                    help=t("train.units_per_hidden_layer"),
                )
                v["depth"] = st.slider(
                    t("train.encoder_depth"),
                    0,
                    4,
                    key=_default(f"tr_depth_{k}", enc.depth),
                    help=t("train.hidden_layers_mlp_encoder"),
                )
            if loss == "info_nce":
                v["temperature"] = st.select_slider(
                    t("train.temperature"),
                    TEMPERATURES,
                    key=_default(f"tr_temp_{k}", _nearest(TEMPERATURES, model.temperature)),
                    help=t("train.infonce_softmax_temperature_lower"),
                )
                if advanced:
                    v["learn_temperature"] = st.checkbox(
                        t("train.learn_temperature"),
                        key=_default(f"tr_learn_temp_{k}", model.learn_temperature),
                        help=t("train.train_along_encoders_clip"),
                    )
            elif loss == "seed_alignment":
                v["lam"] = st.select_slider(
                    t("train.seed_l2_weight"),
                    LAMBDAS,
                    key=_default(f"tr_lam_{k}", 0.1),
                    help=t("train.weight_l2_term_keeps"),
                )
            elif loss == "triplet":
                v["margin"] = st.slider(
                    t("train.triplet_margin"),
                    0.05,
                    1.0,
                    step=0.05,
                    key=_default(f"tr_margin_{k}", 0.2),
                    help=t("train.how_much_closer_true"),
                )
                v["mining"] = st.selectbox(
                    t("train.negative_mining"),
                    ["hardest", "semi-hard", "all"],
                    key=_default(f"tr_mining_{k}", "hardest"),
                    help=t("train.which_negatives_count_hardest"),
                )
            if method == "attention":
                v["heads"] = st.selectbox(
                    t("train.attention_heads"),
                    [0, 1, 2, 4, 8],
                    format_func=lambda h: t("train.none_scoring_only") if h == 0 else str(h),
                    key=_default(f"tr_heads_{k}", model.heads),
                    help=t("train.self_attention_heads_across"),
                )
            if method == "single":
                v["modality"] = st.selectbox(
                    t("train.modality"),
                    data.names,
                    key=_default(f"tr_modality_{k}", data.names[0]),
                    help=t("train.one_modality_baseline_sees"),
                )
        with c_opt:
            st.markdown(t("train.optimisation"))
            if method == "cca":
                st.caption(t("train.linear_cca_solved_closed"))
            else:
                if advanced:
                    v["optimizer"] = st.selectbox(
                        t("train.optimiser"),
                        list(OPTIMIZER_LABELS),
                        format_func=lambda o: t(OPTIMIZER_LABELS[o]),
                        key=_default(f"tr_opt_{k}", train.optimizer),
                        help=t("train.gradient_method_adam_safe"),
                    )
                v["lr"] = st.select_slider(
                    t("train.learning_rate"),
                    LEARNING_RATES,
                    format_func=lambda x: f"{x:g}",
                    key=_default(f"tr_lr_{k}", _nearest(LEARNING_RATES, train.lr)),
                    help=t("train.step_size_if_loss"),
                )
                if advanced:
                    v["schedule"] = st.selectbox(
                        t("train.lr_schedule"),
                        list(SCHEDULE_LABELS),
                        format_func=lambda s: t(SCHEDULE_LABELS[s]),
                        key=_default(f"tr_sched_{k}", train.schedule),
                        help=t("train.keep_learning_rate_constant"),
                    )
                    v["batch_size"] = st.select_slider(
                        t("train.batch_size"),
                        BATCH_SIZES,
                        key=_default(f"tr_bs_{k}", train.batch_size),
                        help=t("train.pairs_per_step_contrastive"),
                    )
        with c_run:
            st.markdown(t("train.run"))
            if method != "cca":
                v["epochs"] = st.slider(
                    t("train.epochs"),
                    1,
                    200,
                    key=_default(f"tr_epochs_{k}", train.epochs),
                    help=t("train.passes_over_training_data"),
                )
            v["seed"] = st.number_input(
                t("train.seed"),
                min_value=0,
                max_value=2**31 - 1,
                key=_default(f"tr_seed_{k}", train.seed),
                help=t("train.fixes_split_initial_weights"),
            )
            if method != "cca" and advanced:
                v["device"] = st.selectbox(
                    t("train.device"),
                    list(DEVICE_LABELS),
                    format_func=lambda d: t(DEVICE_LABELS[d]),
                    key=_default(f"tr_device_{k}", train.device),
                    help=t("train.auto_uses_gpu_when") + ("" if gpu_ok else " " + t(gpu_reason)),
                )
                if not gpu_ok:
                    st.caption(t("train.gpu_unavailable_reason", reason=t(gpu_reason)))
            if advanced:
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


def estimate_ui(method: str, loss: str, data: PairedData) -> None:
    """The run's estimated time, from the data's size and the form's settings as last applied
    (defaults before the first run); a warning when it is long (fusion.estimate)."""
    from fusion.estimate import estimate_run

    k, state = f"{method}_{loss}", st.session_state
    cfg = default_config(method, loss)
    tr, m = cfg.train, cfg.model
    tr.epochs = int(state.get(f"tr_epochs_{k}", tr.epochs))
    tr.batch_size = int(state.get(f"tr_bs_{k}", tr.batch_size))
    m.dim = int(state.get(f"tr_dim_{k}", m.dim))
    if hasattr(m, "encoder"):
        m.encoder.kind = state.get(f"tr_encoder_{k}", m.encoder.kind)
        m.encoder.hidden = int(state.get(f"tr_width_{k}", m.encoder.hidden))
        m.encoder.depth = int(state.get(f"tr_depth_{k}", m.encoder.depth))
    device = state.get(f"tr_device_{k}", tr.device)
    gpu = method != "cca" and device in ("auto", "cuda") and gpu_available()[0]
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


def build_config(
    method: str, loss: str, v: dict[str, Any], base: RunConfig | None = None
) -> RunConfig:
    """The RunConfig for the form's values; everything the form does not show comes from
    ``base`` (a configuration loaded from a shared link, when its method and loss match)
    or else from the library's defaults."""
    train = {
        key: v[key]
        for key in ("epochs", "batch_size", "lr", "optimizer", "schedule", "device")
        if key in v
    }
    if base is not None and (base.method, base.loss) == (method, loss):
        cfg = RunConfig.from_dict(base.to_dict())
        for key, value in {**train, "seed": int(v["seed"])}.items():
            setattr(cfg.train, key, value)
    else:
        cfg = default_config(method, loss, seed=int(v["seed"]), **train)
    m = cfg.model
    m.dim = int(v["dim"])
    if "encoder" in v:
        m.encoder.kind = v["encoder"]
    if "width" in v:
        m.encoder.hidden, m.encoder.depth = v["width"], v["depth"]
    if method == "joint":
        if loss == "info_nce":
            m.temperature = v["temperature"]
            m.learn_temperature = v.get("learn_temperature", m.learn_temperature)
        cfg.loss_params = {
            **cfg.loss_params,
            **{p: v[p] for p in ("lam", "margin", "mining") if p in v},
        }
    if method == "attention":
        m.heads = v["heads"]
    if method == "single":
        m.modality = v["modality"]
    cfg.name = (v.get("name") or "").strip()
    return cfg


def prefill_form(cfg: RunConfig, data: PairedData) -> list[str]:
    """Put a configuration (from a shared link) into the form's widgets, before they are
    drawn. Returns the settings whose value the form cannot show exactly (snapped to the
    nearest choice)."""
    state = st.session_state
    method, loss = cfg.method, cfg.loss
    state["train_method"] = method
    if method == "joint":
        state["train_loss_choice"] = loss
    k = f"{method}_{loss}"
    m, tr = cfg.model, cfg.train
    snapped: list[str] = []

    def put(name: str, value: Any, options: list | None = None) -> None:
        if options is not None and value not in options:
            snapped.append(name)
            value = _nearest(options, value)
        state[f"tr_{name}_{k}"] = value

    put("dim", m.dim, DIMS)
    if method != "cca":
        put("encoder", m.encoder.kind)
        put("width", m.encoder.hidden, WIDTHS)
        put("depth", min(max(m.encoder.depth, 0), 4))
        put("opt", tr.optimizer)
        put("lr", tr.lr, LEARNING_RATES)
        put("sched", tr.schedule)
        put("bs", tr.batch_size, BATCH_SIZES)
        put("epochs", min(max(tr.epochs, 1), 200))
        put("device", tr.device)
    if loss == "info_nce":
        put("temp", m.temperature, TEMPERATURES)
        put("learn_temp", m.learn_temperature)
    lp = cfg.loss_params
    if loss == "seed_alignment" and "lam" in lp:
        put("lam", lp["lam"], LAMBDAS)
    if loss == "triplet":
        if "margin" in lp:
            put("margin", lp["margin"])
        if "mining" in lp:
            put("mining", lp["mining"])
    if method == "attention":
        put("heads", m.heads)
    if method == "single" and m.modality in data.names:
        put("modality", m.modality)
    put("seed", tr.seed)
    return snapped


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

link_config = st.session_state.pop(LINK_CONFIG, None)
if link_config is not None:  # a shared link's settings go into the form once
    snapped = prefill_form(link_config, data)
    st.session_state[LINK_BASE] = link_config
    st.info(t("train.link_settings_loaded"), icon=":material/link:")
    if snapped:
        st.warning(t("train.link_settings_snapped", names=", ".join(snapped)))

busy = training_running()
with st.container(border=True):
    st.markdown(t("train.new_training"))
    method, loss = method_ui(data)
    estimate_ui(method, loss, data)
    try:
        values = settings_ui(method, loss, data, busy)
        if values is not None:
            base = st.session_state.get(LINK_BASE)
            start_training(data, build_config(method, loss, values, base))
            st.session_state[SCROLL_TO_PANEL] = True  # the panel sits above the form's button
            st.rerun()
    except FusionError as exc:
        show_error(exc)
