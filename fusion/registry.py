"""One entry per loss and per fusion method; every list, form, CLI choice and page derives from it.

A :class:`LossSpec` holds everything about a loss: where its function lives, its parameters
with defaults and bounds, the default L2 normalisation of the embeddings it trains, flags
(whether it uses labels, the model's temperature, a CCA step after training), its formula,
paper and the symbols the Learn page explains, and the Train form's fields for it. A
:class:`MethodSpec` does the same for a fusion method (its config class, model, losses,
what it needs from the data, its form fields). :func:`register_loss` and
:func:`register_method` add entries, so adding a loss means writing the loss, one
``register_loss`` call and its strings in both catalogues:

- ``common.loss_labels.<name>``: its short name in menus;
- ``info.loss.<name>``: ``title`` and ``source`` (the citation);
- ``learn.loss_symbols.<name>.<i>``: symbol i of the formula, in words;
- a label (and help) key for each of its form fields.

This module imports neither torch nor streamlit: functions, models and config classes are
named as ``"module:attribute"`` and imported when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from fusion.params import Interval, Param

# The choices of the configs' text settings (fusion.config validates against them).
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")  # learning-rate schedule; cosine decays to 0 at the end
DEVICES = ("auto", "cpu", "cuda", "mps")
# auto: a small CNN for images, else an MLP. The two adapters start as the identity
# (fusion.models.IdentityStart): a head trained on top of vectors that already share a space.
ENCODER_KINDS = ("auto", "linear", "mlp", "cnn", "adapter_linear", "adapter_mlp")
ACTIVATIONS = ("relu", "gelu", "tanh", "silu")


def resolve(target: str) -> Any:
    """The object named ``"package.module:attribute"`` (imported on first use)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Field:
    """One setting of the Train form: where it lives in a run config and how it is asked for.

    ``path`` is dotted into :meth:`fusion.config.RunConfig.to_dict` ("model.dim",
    "model.encoder.kind", "loss_params.lam", "train.lr"). ``widget`` is one of
    "select_slider", "slider", "selectbox", "checkbox", "number", "text". ``options`` are
    the choices (a hand-edited link's value is snapped to the nearest numeric one and
    refused if it is not among text ones); "modalities" as ``dynamic`` takes the data's
    modality names instead. ``bounds`` is (min, max, step) for a slider or number input.
    ``label``, ``help`` and ``bounds`` left empty come from the :class:`~fusion.params.Param`
    declared at ``path`` (:func:`fusion.form.form_fields` fills them in).
    ``option_labels`` is a catalogue prefix: option x is shown as ``<prefix>.x``.
    ``column`` is the form column ("model", "optimisation", "run"); ``advanced`` fields are
    hidden in presenter mode; ``default`` is used where the config has no value (a loss
    parameter the user did not set); ``key`` names the widget (default: the path's last part).
    """

    path: str
    widget: str
    label: str = ""
    help: str = ""
    options: tuple[Any, ...] = ()
    bounds: tuple[float, ...] = ()
    option_labels: str = ""
    column: str = "model"
    advanced: bool = False
    default: Any = None
    dynamic: str = ""
    key: str = ""  # the widget's short name (widget key tr_<key>_<method>_<loss>)
    placeholder: str = ""  # text fields: catalogue key of the hint shown when empty

    @property
    def name(self) -> str:
        """The widget's short name: ``key``, else the path's last part."""
        return self.key or self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class LossSpec:
    """Everything about one loss (see the module docstring for its catalogue strings)."""

    name: str
    function: str  # "module:function", called as function(za, zb, **params) or by its task
    family: str  # "joint" (pairwise, in JointTask), "classifier", "cca" or "none" (no training)
    formula_latex: str
    url: str
    symbols: tuple[str, ...] = ()  # LaTeX; symbol i is explained by learn.loss_symbols.<name>.<i>
    params: Mapping[str, Param] = field(default_factory=dict)
    normalize: bool = False  # default L2 normalisation of the shared space it trains
    repulsive: bool = False  # has a term pushing non-matching items apart
    prevents_collapse: bool = False  # something (negatives, whitening) rules out collapse
    uses_temperature: bool = False  # gets the model's (possibly learnable) temperature
    uses_labels: bool = False  # gets the batch's labels (pairs of a class count as matches)
    linear_encoders: bool = False  # its source defines f and g as linear maps
    cca_step: bool = False  # scored after a linear CCA fitted on training outputs
    fields: tuple[Field, ...] = ()  # the Train form's fields for it

    @property
    def fn(self) -> Callable[..., Any]:
        return resolve(self.function)


@dataclass(frozen=True)
class MethodSpec:
    """Everything about one fusion method."""

    name: str
    config: str  # its config class: a name in fusion.config, or "module:Class"
    losses: tuple[str, ...]  # the losses it trains with; the first is the default
    model: str = ""  # "module:class", built as cls(input_shapes, [n_classes,] cfg); "" = none
    needs_labels: bool = False
    min_modalities: int = 1
    baseline: bool = False  # a classification baseline (config.kind is the method's name)
    gradient_free: bool = False  # solved in closed form: no optimiser, epochs or device
    fields: tuple[Field, ...] = ()  # its model settings on the Train form

    @property
    def config_class(self) -> type:
        """``config`` names a class of fusion.config, or is a full ``"module:Class"``."""
        return resolve(self.config if ":" in self.config else f"fusion.config:{self.config}")


LOSSES: dict[str, LossSpec] = {}
METHODS: dict[str, MethodSpec] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    """Add a loss; a second entry under the same name is a programming error."""
    assert spec.name not in LOSSES, f"loss {spec.name!r} is registered twice"
    assert spec.family in ("joint", "classifier", "cca", "none"), spec.family
    params = {
        k: replace(p, name=k, error=p.error or "errors.experiment.loss_param_not_number")
        for k, p in spec.params.items()
    }
    spec = replace(spec, params=params)
    LOSSES[spec.name] = spec
    if spec.family == "joint" and "joint" in METHODS:
        joint = METHODS["joint"]
        METHODS["joint"] = replace(joint, losses=(*joint.losses, spec.name))
    return spec


def unregister_loss(name: str) -> None:
    """Remove a loss (tests register toy losses and take them away again)."""
    LOSSES.pop(name)
    for key, method in list(METHODS.items()):
        if name in method.losses:
            METHODS[key] = replace(method, losses=tuple(x for x in method.losses if x != name))


def register_method(spec: MethodSpec) -> MethodSpec:
    assert spec.name not in METHODS, f"method {spec.name!r} is registered twice"
    METHODS[spec.name] = spec
    return spec


def joint_losses() -> tuple[str, ...]:
    """The names of the joint-embedding losses, in registration order."""
    return tuple(name for name, spec in LOSSES.items() if spec.family == "joint")


def default_loss(method: str) -> str:
    return METHODS[method].losses[0]


# ---------------------------------------------------------------------------------------
# The Train form's fields shared by methods (the method's and loss's own come first).

TRAIN_FIELDS: tuple[Field, ...] = (
    Field(
        "train.optimizer",
        "selectbox",
        options=OPTIMIZERS,
        option_labels="train.optimizer_labels",
        column="optimisation",
        advanced=True,
        key="opt",
    ),
    Field(
        "train.lr",
        "select_slider",
        options=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
        column="optimisation",
    ),
    Field(
        "train.schedule",
        "selectbox",
        options=SCHEDULES,
        option_labels="train.schedule_labels",
        column="optimisation",
        advanced=True,
        key="sched",
    ),
    Field(
        "train.batch_size",
        "select_slider",
        options=(16, 32, 64, 128, 256, 512, 1024),
        column="optimisation",
        advanced=True,
        key="bs",
    ),
    Field(
        "train.weight_decay",
        "select_slider",
        options=(0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
        column="optimisation",
        advanced=True,
        key="wd",
    ),
    Field("train.epochs", "slider", column="run"),
    Field("train.patience", "slider", column="run", advanced=True),
    Field("train.standardize", "checkbox", column="run", advanced=True, key="std"),
    Field("train.seed", "number", column="run"),
    Field(
        "train.device",
        "selectbox",
        options=DEVICES,
        option_labels="train.device_labels",
        column="run",
        advanced=True,
    ),
    Field(
        "name",
        "text",
        "train.run_name_optional",
        "train.folder_name_saved_run",
        column="run",
        advanced=True,
        placeholder="train.date_method_loss",
    ),
)
GRADIENT_FREE_TRAIN_FIELDS = ("train.seed", "name")


def _encoder_fields() -> tuple[Field, ...]:
    return (
        Field(
            "model.encoder.kind",
            "selectbox",
            options=ENCODER_KINDS,
            option_labels="train.encoder_labels",
            key="encoder",
        ),
        Field(
            "model.encoder.hidden",
            "select_slider",
            options=(0, 16, 32, 64, 128, 256, 512),  # 0 = auto: from each modality's width
            option_labels="train.width_labels",
            advanced=True,
            key="width",
        ),
        Field("model.encoder.depth", "slider", advanced=True),
    )


_DIMS = (2, 4, 8, 16, 32, 64, 128)


def _dim_field(method: str) -> Field:
    return Field(
        "model.dim",
        "select_slider",
        f"train.dim_labels.{method}.0",
        f"train.dim_labels.{method}.1",
        options=_DIMS,
    )


# ---------------------------------------------------------------------------------------
# The entries. Formulas are LaTeX, exactly as the code computes them.

register_method(
    MethodSpec(
        "joint",
        "JointConfig",
        losses=(),  # filled by register_loss for every "joint" loss
        model="fusion.models:JointEmbedding",
        min_modalities=2,
        fields=(_dim_field("joint"), *_encoder_fields()),
    )
)
register_method(
    MethodSpec(
        "attention",
        "AttentionConfig",
        losses=("cross_entropy",),
        model="fusion.models:AttentionFusion",
        needs_labels=True,
        fields=(
            _dim_field("attention"),
            *_encoder_fields(),
            Field(
                "model.heads",
                "selectbox",
                options=(0, 1, 2, 4, 8),
                option_labels="train.heads_labels",
            ),
        ),
    )
)
for _baseline, _model in (
    ("early", "EarlyFusion"),
    ("late", "LateFusion"),
    ("single", "SingleModality"),
):
    _extra: tuple[Field, ...] = ()
    if _baseline == "single":
        _extra = (
            Field(
                "model.modality",
                "selectbox",
                "train.modality",
                "train.one_modality_baseline_sees",
                dynamic="modalities",
            ),
        )
    register_method(
        MethodSpec(
            _baseline,
            "BaselineConfig",
            losses=("cross_entropy",),
            model=f"fusion.models:{_model}",
            needs_labels=True,
            baseline=True,
            fields=(_dim_field(_baseline), *_encoder_fields(), *_extra),
        )
    )
register_method(
    MethodSpec(
        "cca",
        "CCAConfig",
        losses=("cca",),
        min_modalities=2,
        gradient_free=True,
        fields=(_dim_field("cca"),),
    )
)

register_loss(
    LossSpec(
        "info_nce",
        "fusion.losses:info_nce",
        "joint",
        formula_latex=(
            r"\mathcal{L} = -\frac{1}{2B}\sum_{i}\Big["
            r"\log\frac{e^{a_i\cdot b_i/\tau}}{\sum_j e^{a_i\cdot b_j/\tau}}"
            r" + \log\frac{e^{a_i\cdot b_i/\tau}}{\sum_j e^{a_j\cdot b_i/\tau}}\Big]"
        ),
        url="https://arxiv.org/abs/2103.00020",
        symbols=(r"a_i, b_i", r"a_i\cdot b_j", r"\tau", r"\sum_j", r"B"),
        normalize=True,
        repulsive=True,
        prevents_collapse=True,
        uses_temperature=True,
        fields=(
            Field(
                "model.temperature",
                "select_slider",
                options=(0.01, 0.02, 0.05, 0.07, 0.1, 0.2, 0.5, 1.0),
                key="temp",
            ),
            Field("model.learn_temperature", "checkbox", advanced=True, key="learn_temp"),
        ),
    )
)
register_loss(
    LossSpec(
        "seed_alignment",
        "fusion.losses:seed_alignment",
        "joint",
        formula_latex=(
            r"\min_{f,g}\ \frac{1}{B}\Big[\sum_{i,j} s_{ij}\,\lVert f(x_i)-g(y_j)\rVert^2"
            r" + \lambda \sum_i \big(\lVert f(x_i)\rVert^2 + \lVert g(y_i)\rVert^2\big)\Big]"
        ),
        url="https://doi.org/10.1109/CVPR.2006.100",
        symbols=(r"f, g", r"x_i, y_j", r"s_{ij}", r"\lVert\cdot\rVert^2", r"\lambda", r"B"),
        params={
            "lam": Param(
                0.1,
                bounds=Interval(0.0, None),
                label="train.seed_l2_weight",
                help="train.weight_l2_term_keeps",
            )
        },
        uses_labels=True,
        linear_encoders=True,  # the seed article's f and g are linear maps ("简单的线性函数")
        fields=(
            Field(
                "loss_params.lam", "select_slider", options=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
            ),
        ),
    )
)
register_loss(
    LossSpec(
        "triplet",
        "fusion.losses:triplet",
        "joint",
        formula_latex=(
            r"\mathcal{L} = \frac{1}{B}\sum_i \max_{j\ne i}\big[m - s_{ii} + s_{ij}\big]_+"
            r" + \frac{1}{B}\sum_j \max_{i\ne j}\big[m - s_{jj} + s_{ij}\big]_+"
        ),
        url="https://arxiv.org/abs/1707.05612",
        symbols=(r"s_{ij}", r"m", r"\max_{j\ne i}", r"[\cdot]_+"),
        params={
            "margin": Param(
                0.2,
                bounds=Interval(0.0, None),
                widget_range=(0.05, 1.0),
                step=0.05,
                label="train.triplet_margin",
                help="train.how_much_closer_true",
            ),
            "mining": Param(
                "hardest",
                choices=("hardest", "semi-hard", "all"),
                label="train.negative_mining",
                help="train.which_negatives_count_hardest",
                error="errors.experiment.bad_mining",
            ),
        },
        normalize=True,
        repulsive=True,
        prevents_collapse=True,
        fields=(
            Field("loss_params.margin", "slider"),
            Field("loss_params.mining", "selectbox", options=("hardest", "semi-hard", "all")),
        ),
    )
)
register_loss(
    LossSpec(
        "dcca",
        "fusion.losses:dcca",
        "joint",
        formula_latex=(
            r"\mathcal{L} = -\operatorname{tr}\big((T^\top T)^{1/2}\big),\quad "
            r"T = \Sigma_{aa}^{-1/2}\,\Sigma_{ab}\,\Sigma_{bb}^{-1/2}"
        ),
        url="https://proceedings.mlr.press/v28/andrew13.html",
        symbols=(
            r"\Sigma_{aa}, \Sigma_{bb}",
            r"\Sigma_{ab}",
            r"T",
            r"\operatorname{tr}\big((T^\top T)^{1/2}\big)",
        ),
        params={"eps": Param(1e-3, bounds=Interval(0.0, None, closed="neither"))},
        # No negatives, but whitening (unit variance per direction) rules out collapse.
        prevents_collapse=True,
        cca_step=True,
    )
)
register_loss(
    LossSpec(
        "cross_entropy",
        "fusion.losses:cross_entropy",
        "classifier",
        formula_latex=(
            r"\mathcal{L} = -\frac{1}{B}\sum_i \log p_\theta\big(y_i \mid "
            r"x_i^{(1)}, \dots, x_i^{(M)}\big) + \beta\,\frac{1}{B}\sum_i H(w_i),\quad "
            r"H(w_i) = -\sum_m w_{im} \log w_{im}"
        ),
        url="https://www.deeplearningbook.org/contents/mlp.html",
        symbols=(r"p_\theta(y_i \mid \cdot)", r"x_i^{(m)}", r"w_{im}", r"\beta", r"B"),
    )
)
register_loss(
    LossSpec(
        "cca",
        "fusion.experiment:run_cca",
        "cca",
        formula_latex=(
            r"\max_{u, v}\ \frac{u^\top \Sigma_{ab}\, v}"
            r"{\sqrt{u^\top \Sigma_{aa} u}\,\sqrt{v^\top \Sigma_{bb} v}}"
        ),
        url="https://doi.org/10.1093/biomet/28.3-4.321",
        symbols=(r"a, b", r"u, v", r"\Sigma_{aa}, \Sigma_{bb}, \Sigma_{ab}"),
    )
)

# Pretrained embeddings explored as they are: no model, no training (fusion/pretrained.py).
register_method(
    MethodSpec(
        "asis",
        "fusion.pretrained:AsIsConfig",
        losses=("as_is",),
        min_modalities=2,
        gradient_free=True,
        fields=(
            Field(
                "model.normalize",
                "checkbox",
                "train.asis_normalize",
                "train.asis_normalize_help",
                key="asis_norm",
            ),
        ),
    )
)
register_loss(
    LossSpec(
        "as_is",
        "fusion.pretrained:run_asis",
        "none",
        formula_latex=r"z_i^{(m)} = \frac{x_i^{(m)}}{\lVert x_i^{(m)}\rVert}",
        url="https://arxiv.org/abs/2203.02053",
        symbols=(r"x_i^{(m)}", r"z_i^{(m)}"),
    )
)
