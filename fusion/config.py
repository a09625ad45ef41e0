"""The run configuration: small dataclasses that import without torch.

One config class per fusion method (:class:`JointConfig`, :class:`AttentionConfig`,
:class:`BaselineConfig`, :class:`CCAConfig`), the shared :class:`EncoderConfig` and
:class:`TrainConfig`, and :class:`RunConfig`, which names the method and loss (both from
:mod:`fusion.registry`) and holds their configs. Runs save it as JSON and read it back
with :meth:`RunConfig.from_dict`; links and the Train form fill it by dotted paths.

Every config's ``validate`` starts with :func:`check_types`, so a wrong type or a NaN is a
:class:`~fusion.errors.ConfigError` naming the field, never a ``TypeError`` deep inside.
Importing this module (and :mod:`fusion.runs`, :mod:`fusion.share`) never imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fusion import registry
from fusion.errors import ConfigError
from fusion.params import Interval, Param, check_fields, declared, spec
from fusion.registry import ACTIVATIONS, DEVICES, ENCODER_KINDS, OPTIMIZERS, SCHEDULES


def check_types(cfg: Any) -> None:
    """Each field of a config dataclass has its annotated type (JSON and widgets can lie).

    int fields take integers, float fields finite numbers, str fields text, bool
    fields true/false, ``X | None`` also None; nested configs are checked too.
    """
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        allowed = typing.get_args(hints[f.name]) or (hints[f.name],)
        if value is None and type(None) in allowed:
            continue
        kind = next((t for t in allowed if t is not type(None)), None)
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, kind):
                raise ConfigError(
                    "errors.config.not_nested",
                    field=f"{type(cfg).__name__}.{f.name}",
                    config=kind.__name__,
                    value=value,
                )
            check_types(value)
            continue
        if kind is bool:
            ok = isinstance(value, (bool, np.bool_))
        elif kind is int:
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        elif kind is float:
            ok = (
                isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        elif kind is str:
            ok = isinstance(value, str)
        else:  # Any, containers: checked where they are used
            continue
        if not ok:
            raise _type_error(f"{type(cfg).__name__}.{f.name}", kind, type(None) in allowed, value)


def _type_error(field: str, kind: type, nullable: bool, value: Any) -> ConfigError:
    """The error for ``field`` (``Class.name``) holding ``value`` instead of a ``kind``."""
    if kind is int:
        if nullable:
            return ConfigError("errors.config.not_int_or_null", field=field, value=value)
        return ConfigError("errors.config.not_int", field=field, value=value)
    if kind is float:
        if nullable:
            return ConfigError("errors.config.not_number_or_null", field=field, value=value)
        return ConfigError("errors.config.not_number", field=field, value=value)
    if kind is str:
        if nullable:
            return ConfigError("errors.config.not_text_or_null", field=field, value=value)
        return ConfigError("errors.config.not_text", field=field, value=value)
    if nullable:
        return ConfigError("errors.config.not_bool_or_null", field=field, value=value)
    return ConfigError("errors.config.not_bool", field=field, value=value)


# ---------------------------------------------------------------------------------------
# Models


AUTO_WIDTH_RANGE = (64, 256)  # "auto" encoder widths stay within these bounds


@dataclass
class EncoderConfig:
    # "auto" = small CNN for image-shaped modalities, MLP otherwise
    kind: str = spec(
        "auto",
        choices=ENCODER_KINDS,
        error="errors.models.unknown_encoder",
        label="train.encoder",
        help="train.network_turns_each_modality",
    )
    # Width of hidden layers (MLP) / channels of the last conv (CNN); 0 = auto: each
    # modality's own, from its width (width_for).
    hidden: int = spec(
        0,
        bounds=Interval(0, None),
        error="errors.models.encoder_size",
        label="train.encoder_width",
        help="train.units_per_hidden_layer_auto",
    )
    depth: int = spec(  # hidden layers of the MLP
        1,
        bounds=Interval(0, None),
        widget_range=(0, 4),
        error="errors.models.encoder_size",
        label="train.encoder_depth",
        help="train.hidden_layers_mlp_encoder",
    )
    activation: str = spec("relu", choices=ACTIVATIONS, error="errors.models.unknown_activation")
    dropout: float = spec(
        0.0, bounds=Interval(0.0, 1.0, closed="left"), error="errors.models.bad_dropout"
    )

    def validate(self) -> None:
        check_types(self)
        check_fields(self)

    def width_for(self, input_shape: tuple[int, ...]) -> int:
        """The encoder width for a modality of this per-sample shape: ``hidden``, or for 0
        ("auto") the next power of two at or above its number of features, within
        :data:`AUTO_WIDTH_RANGE` (6 or 36 features -> 64, 120 -> 128, 240 -> 256; an 8×8
        image -> 64 channels): a wide modality gets room, and a narrow one
        the width that suits the playground's generated data."""
        if self.hidden:
            return self.hidden
        lo, hi = AUTO_WIDTH_RANGE
        d = max(math.prod(input_shape), 1)
        return int(min(hi, max(lo, 2 ** math.ceil(math.log2(d)))))


@dataclass
class JointConfig:
    dim: int = spec(  # shared-space dimension
        16, bounds=Interval(1, None), error="errors.models.bad_shared_dim"
    )
    # L2-normalise (cosine geometry, as CLIP); None = the loss's default.
    normalize: bool | None = spec(None)
    temperature: float = spec(  # initial softmax temperature τ of InfoNCE
        0.1,
        bounds=Interval(0.0, None, closed="neither"),
        error="errors.models.bad_temperature",
        label="train.temperature",
        help="train.infonce_softmax_temperature_lower",
    )
    learn_temperature: bool = spec(
        False, label="train.learn_temperature", help="train.train_along_encoders_clip"
    )
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def validate(self) -> None:
        check_fields(self)
        self.encoder.validate()


@dataclass
class AttentionConfig:
    dim: int = spec(  # token dimension per modality
        32, bounds=Interval(1, None), error="errors.models.bad_token_dim"
    )
    # > 0 adds multi-head self-attention across modality tokens
    heads: int = spec(
        0,
        bounds=Interval(0, None),
        error="errors.models.heads_not_divisor",
        label="train.attention_heads",
        help="train.self_attention_heads_across",
    )
    attention_hidden: int = spec(32)  # width of the scoring network
    entropy_weight: float = spec(0.0)  # weight of the attention-entropy term in the loss
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def validate(self) -> None:
        check_fields(self, dim=self.dim)
        if self.heads and self.dim % self.heads:  # the heads split the token dimension
            raise ConfigError("errors.models.heads_not_divisor", dim=self.dim, heads=self.heads)
        self.encoder.validate()


@dataclass
class BaselineConfig:
    kind: str = "early"  # "early" | "late" | "single"
    modality: str | None = spec(None)  # for "single": which modality (default: the first)
    dim: int = spec(  # encoder output width
        32, bounds=Interval(1, None), error="errors.models.bad_encoder_dim"
    )
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def validate(self) -> None:
        if self.kind not in [m for m, s in registry.METHODS.items() if s.baseline]:
            raise ConfigError("errors.models.unknown_baseline", kind=self.kind)
        check_fields(self)
        self.encoder.validate()


@dataclass
class CCAConfig:
    dim: int = spec(  # number of canonical components
        8, bounds=Interval(1, None), error="errors.experiment.cca_dim"
    )

    def validate(self) -> None:
        check_fields(self)


# ---------------------------------------------------------------------------------------
# Training


DEFAULT_BATCH_SIZE = 128  # the default batch; on fewer training rows it takes them all
# The share of the wall time that per-epoch task metrics may take (:mod:`fusion.train`'s
# notes; :mod:`fusion.estimate` counts on it): measured, joint InfoNCE's metrics on 2,000
# validation rows took as long as a training epoch of 8,000 pairs, which halved
# whole-epoch throughput.
EVAL_SHARE = 0.2


@dataclass
class TrainConfig:
    # An upper bound: early stopping (patience) usually ends sooner.
    epochs: int = spec(
        50,
        bounds=Interval(1, None),
        widget_range=(1, 200),
        error="errors.train.bad_epochs",
        label="train.epochs",
        help="train.passes_over_training_data",
    )
    # Rows per step. The default adapts to small data (all training rows when there are fewer);
    # a batch chosen larger than the training rows is refused with the largest that fits.
    batch_size: int = spec(
        DEFAULT_BATCH_SIZE,
        bounds=Interval(2, None),
        error="errors.train.bad_batch_size",
        label="train.batch_size",
        help="train.pairs_per_step_contrastive",
    )
    lr: float = spec(
        3e-3,
        bounds=Interval(0.0, None, closed="neither"),
        error="errors.train.bad_lr",
        label="train.learning_rate",
        help="train.step_size_if_loss",
    )
    optimizer: str = spec(
        "adamw",
        choices=OPTIMIZERS,
        error="errors.train.unknown_optimizer",
        label="train.optimiser",
        help="train.gradient_method_adam_safe",
    )
    # Learning-rate schedule: "constant" or "cosine" (decays to 0).
    schedule: str = spec(
        "constant",
        choices=SCHEDULES,
        error="errors.train.unknown_schedule",
        label="train.lr_schedule",
        help="train.keep_learning_rate_constant",
    )
    # AdamW: decoupled decay (Loshchilov & Hutter 2019); else L2.
    weight_decay: float = spec(
        1e-2,
        bounds=Interval(0.0, None),
        error="errors.train.negative_weight_decay",
        label="train.weight_decay",
        help="train.weight_decay_help",
    )
    seed: int = spec(
        0,
        widget_range=(0, 2**31 - 1),
        label="train.seed",
        help="train.fixes_split_initial_weights",
    )
    device: str = spec(
        "auto",
        choices=DEVICES,
        error="errors.train.unknown_device",
        label="train.device",
        help="train.auto_uses_gpu_when",
    )
    val_fraction: float = spec(
        0.2, bounds=Interval(0.0, 1.0, closed="neither"), error="errors.train.bad_val_fraction"
    )
    # Validation snapshots kept for the map (epoch 0 and last included).
    n_snapshots: int = spec(10, bounds=Interval(0, None), error="errors.train.bad_snapshots")
    # At most this many validation rows per snapshot (bounds memory).
    snapshot_rows: int = spec(2000, bounds=Interval(1, None), error="errors.train.bad_snapshots")
    threads: int | None = spec(None)  # torch intra-op threads; None keeps torch's setting
    # Each modality's features are scaled to zero mean and unit variance with the training
    # rows' statistics, inside the model (fusion.models.Standardize).
    standardize: bool = spec(True, label="train.standardize", help="train.standardize_help")
    # Early stopping: end after this many epochs without a better validation score (the
    # method's monitored metric, fusion.train) and keep the best epoch's weights; 0 = off.
    patience: int = spec(
        10,
        bounds=Interval(0, None),
        widget_range=(0, 50),
        error="errors.train.bad_patience",
        label="train.patience",
        help="train.patience_help",
    )
    # With standardize on, a labelled classifier and fewer training rows than this, a fifth of
    # the training rows is held out to check it first: standardisation stays on unless training
    # without it scores a lower held-out cross-entropy (fusion.experiment.choose_standardize,
    # the choice is saved in the run's config); 0 = never check.
    standardize_check_rows: int = spec(
        500, bounds=Interval(0, None), error="errors.train.bad_standardize_check_rows"
    )
    # Rows held out as test rows: reported and compared, never chosen on (validation rows
    # serve early stopping and every automatic choice). 0 = none (the layout of schema 3 and
    # older reads so: those runs' numbers were measured on validation rows).
    test_fraction: float = spec(
        0.2, bounds=Interval(0.0, 1.0, closed="left"), error="errors.train.bad_test_fraction"
    )
    # When the test rows would be fewer than min_test_rows, the run is evaluated by
    # cv_folds-fold cross-validation instead (fusion.data.plan_roles): every row is tested
    # once, by a model that never saw it.
    cv_folds: int = spec(5, bounds=Interval(2, None), error="errors.train.bad_cv")
    min_test_rows: int = spec(30, bounds=Interval(0, None), error="errors.train.bad_cv")

    def validate(self, n_train: int | None = None) -> None:
        check_types(self)
        check_fields(self, val_fraction=self.val_fraction, folds=self.cv_folds)
        if n_train is not None and self.batch_size > n_train:
            raise ConfigError(
                "errors.train.batch_too_large", batch_size=self.batch_size, n_train=n_train
            )
        if self.val_fraction + self.test_fraction >= 1.0:  # some rows must be left to train
            raise ConfigError(
                "errors.train.bad_test_fraction",
                test_fraction=self.test_fraction,
                val_fraction=self.val_fraction,
            )


# ---------------------------------------------------------------------------------------
# A run


def method_names() -> tuple[str, ...]:
    return tuple(registry.METHODS)


@dataclass
class RunConfig:
    method: str = "joint"
    loss: str = "info_nce"  # one of the method's losses (fusion.registry)
    loss_params: dict[str, Any] = field(default_factory=dict)
    model: Any = field(default_factory=JointConfig)  # the method's own config
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method not in registry.METHODS:
            raise ConfigError(
                "errors.experiment.unknown_method", method=self.method, choices=method_names()
            )
        spec = registry.METHODS[self.method]
        if isinstance(self.model, dict):
            self.model = config_from_dict(spec.config_class, self.model)
        if isinstance(self.train, dict):
            self.train = config_from_dict(TrainConfig, self.train)
        if self.loss not in spec.losses and self.loss in registry.joint_losses():
            self.loss = spec.losses[0]  # a joint loss named for a classifier: its own loss
        if spec.baseline and isinstance(self.model, BaselineConfig):
            self.model.kind = self.method

    def validate(self, data: Any = None) -> None:
        """Refuse an invalid configuration before any work, with a message that names the fix.

        ``data`` (a :class:`~fusion.data.PairedData`) adds the checks that need it: enough
        modalities, labels where the method needs them, a batch that fits.
        """
        spec = registry.METHODS[self.method]
        if not isinstance(self.model, spec.config_class):
            raise ConfigError(
                "errors.experiment.wrong_model_config", method=self.method, config=spec.config
            )
        if not isinstance(self.train, TrainConfig):
            raise ConfigError("errors.experiment.train_not_config")
        if not isinstance(self.name, str):
            raise ConfigError("errors.experiment.name_not_text", name=self.name)
        check_types(self.model)
        check_types(self.train)
        self.model.validate()
        if not isinstance(self.loss_params, dict):
            raise ConfigError("errors.experiment.loss_params_not_dict", value=self.loss_params)
        if self.method == "joint":
            self._validate_joint_loss()
        self.train.validate()
        if data is None:
            return
        if data.n_modalities < spec.min_modalities:
            raise ConfigError("errors.experiment.joint_needs_two")
        if spec.needs_labels and data.labels is None:
            raise ConfigError("errors.experiment.needs_labels", method=self.method)
        modality = getattr(self.model, "modality", None)
        if self.method == "single" and modality and modality not in data.names:
            raise ConfigError(
                "errors.experiment.modality_not_in_data", modality=modality, choices=data.names
            )
        from fusion.data import plan_roles  # the real split: too few rows is a DataError

        n_train = min(len(r.train) for r in plan_roles(data, self.train))
        adapts = self.train.batch_size == DEFAULT_BATCH_SIZE  # the default fits itself
        self.train.validate(None if adapts else n_train)

    def _validate_joint_loss(self) -> None:
        losses = registry.joint_losses()
        if self.loss not in losses:
            raise ConfigError("errors.experiment.unknown_loss", loss=self.loss, choices=losses)
        params = registry.LOSSES[self.loss].params
        unknown = set(self.loss_params) - set(params)
        if unknown and not params:
            raise ConfigError(
                "errors.experiment.loss_takes_no_params",
                loss=self.loss,
                unknown=sorted(unknown, key=str),
            )
        if unknown:
            raise ConfigError(
                "errors.experiment.unknown_loss_params",
                loss=self.loss,
                unknown=sorted(unknown, key=str),
                known=sorted(params),
            )
        for key, value in self.loss_params.items():
            _check_loss_param(self.loss, key, value, params[key])

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "loss": self.loss,
            "loss_params": dict(self.loss_params),
            "model": asdict(self.model),
            "train": asdict(self.train),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        if not isinstance(d, dict) or "method" not in d:
            raise ConfigError("errors.experiment.needs_method")
        known = {"method", "loss", "loss_params", "model", "train", "name"}
        d = {k: v for k, v in migrate(d).items() if k in known}
        d.setdefault("model", {})  # the method's default config, not the joint one
        return cls(**d)


# ---------------------------------------------------------------------------------------
# Saved configs: the layout's version and the migrations from each older one

# The layout of a saved config (run.json's config.json); a run saves it as "schema_version".
#   1: TrainConfig without standardisation or early stopping;
#   2: + train.standardize, train.patience;
#   3: + train.standardize_check_rows (the held-out check of standardisation);
#   4: + train.test_fraction, cv_folds, min_test_rows (test rows and cross-validation).
SCHEMA_VERSION = 4

# The TrainConfig fields of each older layout, by which a config saved without a version is
# recognised (such a config has every field of its layout and none of a later one).
_TRAIN_FIELDS_V1 = frozenset(
    [
        "epochs",
        "batch_size",
        "lr",
        "optimizer",
        "schedule",
        "weight_decay",
        "seed",
        "device",
        "val_fraction",
        "n_snapshots",
        "snapshot_rows",
        "threads",
    ]
)
_TRAIN_FIELDS_V2 = _TRAIN_FIELDS_V1 | {"standardize", "patience"}
_TRAIN_FIELDS_V3 = _TRAIN_FIELDS_V2 | {"standardize_check_rows"}


def saved_version(d: dict[str, Any]) -> int:
    """The layout a saved config dict is in: its "schema_version", else the layout its train
    fields match (a hand-written or partial config without a version is read as current)."""
    version = d.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    train = d.get("train")
    if not isinstance(train, dict):
        return SCHEMA_VERSION
    keys = set(train)
    if keys == _TRAIN_FIELDS_V1:
        return 1
    if keys == _TRAIN_FIELDS_V2:
        return 2
    if keys <= _TRAIN_FIELDS_V3 and len(keys) >= len(_TRAIN_FIELDS_V1):
        return 3
    return SCHEMA_VERSION


# Each migration turns a train dict of version v into one of v + 1 that trains as the saved
# run did: the behaviour a later field added is off where the run did not have it.
_MIGRATIONS = {
    1: lambda t: {**t, "standardize": False, "patience": 0},
    2: lambda t: {**t, "standardize_check_rows": 0},
    3: lambda t: {**t, "test_fraction": 0.0},
}


def migrate(d: dict[str, Any]) -> dict[str, Any]:
    """A saved config dict in the current layout, from whichever layout it was saved in."""
    version = saved_version(d)
    if version > SCHEMA_VERSION:
        raise ConfigError("errors.experiment.newer_schema", version=version, current=SCHEMA_VERSION)
    d = {k: v for k, v in d.items() if k != "schema_version"}
    if isinstance(d.get("train"), dict):
        train = d["train"]
        for v in range(max(version, 1), SCHEMA_VERSION):
            train = _MIGRATIONS[v](train)
        d["train"] = train
    return d


def config_from_dict(cls: type, d: dict[str, Any]) -> Any:
    """A config dataclass from a JSON dict: unknown fields and wrong types are refused."""
    fields = getattr(cls, "__dataclass_fields__", {})
    unknown = set(d) - set(fields)
    if unknown:
        raise ConfigError(
            "errors.experiment.unknown_fields", config=cls.__name__, fields=sorted(unknown, key=str)
        )
    d = dict(d)
    if "encoder" in d and isinstance(d["encoder"], dict):
        d["encoder"] = config_from_dict(EncoderConfig, d["encoder"])
    try:
        cfg = cls(**d)
    except TypeError as exc:  # wrong value types from a hand-edited JSON file
        raise ConfigError(
            "errors.experiment.invalid_config", config=cls.__name__, problem=exc
        ) from None
    check_types(cfg)
    return cfg


def settable_paths(method: str, loss: str | None = None) -> list[str]:
    """The dotted paths of every declared parameter of a method and loss's config."""
    loss = loss or registry.default_loss(method)

    def walk(cls: type, prefix: str) -> list[str]:
        out = [f"{prefix}{name}" for name in declared(cls)]
        for name, hint in typing.get_type_hints(cls).items():
            if dataclasses.is_dataclass(hint):
                out += walk(hint, f"{prefix}{name}.")
        return out

    spec_ = registry.LOSSES.get(loss)
    return [
        *walk(registry.METHODS[method].config_class, "model."),
        *(f"loss_params.{k}" for k in (spec_.params if spec_ is not None else {})),
        *walk(TrainConfig, "train."),
    ]


def param_at(path: str, method: str = "joint", loss: str | None = None) -> Param | None:
    """The :class:`~fusion.params.Param` at a dotted path of :meth:`RunConfig.to_dict` for a
    method and loss ("train.patience", "model.encoder.hidden", "loss_params.margin"); None
    for a path that is not a declared parameter."""
    head, _, rest = path.partition(".")
    if head == "loss_params":
        spec_ = registry.LOSSES.get(loss or registry.default_loss(method))
        return spec_.params.get(rest) if spec_ is not None else None
    cls: Any = {"train": TrainConfig, "model": registry.METHODS[method].config_class}.get(head)
    parts = rest.split(".") if rest else []
    while cls is not None and len(parts) > 1:
        hints = typing.get_type_hints(cls)
        cls = hints.get(parts.pop(0))
        cls = cls if dataclasses.is_dataclass(cls) else None
    if cls is None or not parts:
        return None
    return declared(cls).get(parts[0])


def _check_loss_param(loss: str, key: str, value: Any, param: Param) -> None:
    """A loss parameter's value: one of its choices, or a finite number within its bound."""
    param.check(value, ConfigError, loss=loss, param=key)


def monitored_metric(method: str, loss: str) -> str | None:
    """What early stopping watches on the validation rows for a method and loss: a
    classifier's accuracy (higher is better); a joint embedding's own loss ("loss", lower is
    better: its retrieval scores are too noisy on data with near-duplicates, such as the
    digits' resampled copies). None for a method without training and for a joint loss that
    can collapse, which the playground shows to the end (stopping would hide the collapse)."""
    if registry.METHODS[method].gradient_free:
        return None
    spec = registry.LOSSES[loss]
    if spec.family == "joint":
        return "loss" if spec.prevents_collapse else None
    return "accuracy"


def default_config(method: str = "joint", loss: str | None = None, **train: Any) -> RunConfig:
    """The playground's defaults for a method: small and fast on a laptop CPU."""
    if method not in registry.METHODS:
        raise ConfigError("errors.experiment.unknown_method", method=method, choices=method_names())
    spec = registry.METHODS[method]
    model = spec.config_class()
    if spec.baseline:
        model.kind = method
    loss = loss or spec.losses[0]
    loss_spec = registry.LOSSES.get(loss)
    if loss_spec is not None and loss_spec.linear_encoders:
        model.encoder.kind = "linear"
    return RunConfig(method=method, loss=loss, model=model, train=TrainConfig(**train))


def get_path(cfg: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path of :meth:`RunConfig.to_dict` (``default`` if absent)."""
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set_path(cfg: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path of :meth:`RunConfig.to_dict`, creating dicts on the way."""
    *parents, last = path.split(".")
    node = cfg
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
