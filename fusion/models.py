"""Fusion models: per-modality encoders, joint embedding, attention fusion, baselines.

Models return embeddings (and attention weights), never losses; the losses live
in :mod:`fusion.losses`.

- :class:`JointEmbedding` maps every modality into one shared d-dimensional
  space (one encoder per modality; optional L2 normalisation; a temperature
  that may be learned, as in CLIP, Radford et al. 2021).
- :class:`AttentionFusion` encodes each modality to a d-dimensional token,
  scores the tokens with a small attention network (softmax over modalities,
  per sample), fuses them by the weighted sum and classifies the fused vector.
  This is the modality-attention fusion of e.g. Arevalo et al. 2017 (Gated
  Multimodal Units) and TorchMultimodal's ``AttentionFusionModule``; optional
  multi-head self-attention across the modality tokens (Vaswani et al. 2017)
  runs before the scoring.
- Baselines on the same data: :class:`EarlyFusion` (concatenate, then MLP),
  :class:`LateFusion` (average of per-modality classifiers' logits) and
  :class:`SingleModality` (one modality alone).

Every model takes optional ``stats``: per modality, the training rows' mean and standard
deviation (:func:`input_stats`). Each encoder then starts with :class:`Standardize`, so
modalities of very different scales (MFCCs near 100 beside accelerations near 0.1) enter
the network on one scale, and the saved weights carry the scaling with them. An encoder
width of 0 ("auto") follows the modality's own width
(:meth:`~fusion.config.EncoderConfig.width_for`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fusion import registry
from fusion.config import AttentionConfig, BaselineConfig, EncoderConfig, JointConfig
from fusion.errors import ConfigError

# Configs live in fusion.config (they import without torch); the names stay importable here.
__all__ = [
    "AttentionConfig",
    "AttentionFusion",
    "BaselineConfig",
    "EarlyFusion",
    "EncoderConfig",
    "FusionOutput",
    "JointConfig",
    "JointEmbedding",
    "LateFusion",
    "SingleModality",
    "Standardize",
    "input_stats",
    "make_encoder",
]

Stats = dict[str, tuple[np.ndarray, np.ndarray]]  # modality -> (mean, std) of training rows
Shapes = dict[str, tuple[int, ...]]  # modality -> one sample's shape

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}
assert tuple(ACTIVATIONS) == registry.ACTIVATIONS, "fusion.registry.ACTIVATIONS is out of step"


class SmallCNN(nn.Module):
    """Two 3×3 conv layers, global average pool, linear: enough for 8×8 digits."""

    def __init__(self, out_dim: int, channels: int = 32, activation: str = "relu"):
        super().__init__()
        act = ACTIVATIONS[activation]
        c1 = max(channels // 2, 4)
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            act(),
            nn.Conv2d(c1, channels, 3, padding=1, stride=2),
            act(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
        )
        self.out = nn.Linear(channels * 4, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x.unsqueeze(1)))  # (B, H, W) -> (B, 1, H, W)


def input_stats(modalities: dict[str, np.ndarray]) -> Stats:
    """Per modality, the mean and standard deviation to standardise it with: per feature for
    vectors (N, d), one pair for an image modality (N, H, W), which keeps the image's
    contrast between pixels. A constant feature keeps its scale (std taken as 1)."""
    out: Stats = {}
    for name, x in modalities.items():
        x = np.asarray(x, dtype=np.float64)
        axis = None if x.ndim == 3 else 0
        mean, std = x.mean(axis=axis), x.std(axis=axis)
        std = np.where(std > 1e-6 * (1 + np.abs(mean)), std, 1.0)
        out[name] = (np.asarray(mean, np.float32), np.asarray(std, np.float32))
    return out


class Standardize(nn.Module):
    """z = (x - mean) / std with fixed statistics of the training rows (saved as buffers)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float32)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class IdentityStart(nn.Module):
    """An adapter that starts where its input is: ``P x`` (+ ``r(x)`` for the MLP adapter).

    ``P`` is a linear map initialised to the identity (``d_in × out``: the first coordinates
    when the widths differ); trained in the linear adapter, fixed in the MLP adapter, whose
    residual ``r`` is an MLP with a zero-initialised last layer. At the start the output is
    the input, so a run's epoch 0 scores the vectors as they are, and training moves away
    from them only as far as the loss asks.
    """

    def __init__(self, d_in: int, out_dim: int, hidden: int, depth: int, act: str, residual: bool):
        super().__init__()
        self.project = nn.Linear(d_in, out_dim)
        with torch.no_grad():
            self.project.weight.copy_(torch.eye(out_dim, d_in))
            self.project.bias.zero_()
        self.residual: nn.Module | None = None
        if residual:
            self.project.requires_grad_(False)
            layers: list[nn.Module] = []
            width = d_in
            for _ in range(max(depth, 1)):
                layers += [nn.Linear(width, hidden), ACTIVATIONS[act]()]
                width = hidden
            last = nn.Linear(width, out_dim)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.residual = nn.Sequential(*layers, last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # (B, d_in)
        z = self.project(x)  # (B, out)
        return z if self.residual is None else z + self.residual(x)


def make_encoder(
    input_shape: tuple[int, ...],
    out_dim: int,
    cfg: EncoderConfig,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
) -> nn.Module:
    """An encoder from one modality's per-sample shape to ``out_dim`` features; ``stats``
    (mean, std) standardise its input first."""
    cfg.validate()
    kind = cfg.kind
    if kind == "auto":
        kind = "cnn" if len(input_shape) == 2 else "mlp"
    hidden = cfg.width_for(input_shape)
    if kind in ("adapter_linear", "adapter_mlp"):
        residual = kind == "adapter_mlp"
        d_in = math.prod(input_shape)
        body: nn.Module = IdentityStart(d_in, out_dim, hidden, cfg.depth, cfg.activation, residual)
    elif kind == "cnn":
        if len(input_shape) != 2:
            raise ConfigError("errors.models.cnn_needs_images", shape=input_shape)
        body = SmallCNN(out_dim, hidden, cfg.activation)
    else:
        d_in = math.prod(input_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = d_in
        for _ in range(0 if kind == "linear" else cfg.depth):
            layers += [nn.Linear(width, hidden), ACTIVATIONS[cfg.activation]()]
            if cfg.dropout:
                layers.append(nn.Dropout(cfg.dropout))
            width = hidden
        layers.append(nn.Linear(width, out_dim))
        body = nn.Sequential(*layers)
    return body if stats is None else nn.Sequential(Standardize(*stats), body)


# ---------------------------------------------------------------------------
# Joint embedding


def _encoders(
    input_shapes: dict[str, tuple[int, ...]], dim: int, cfg: EncoderConfig, stats: Stats | None
) -> nn.ModuleDict:
    """One encoder per modality to ``dim`` features, each standardising with its ``stats``."""
    return nn.ModuleDict(
        {k: make_encoder(s, dim, cfg, (stats or {}).get(k)) for k, s in input_shapes.items()}
    )


class JointEmbedding(nn.Module):
    """One encoder per modality into a shared space; every modality pair is aligned by the loss."""

    def __init__(
        self, input_shapes: dict[str, tuple[int, ...]], cfg: JointConfig, stats: Stats | None = None
    ):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.names = list(input_shapes)
        self.encoders = _encoders(input_shapes, cfg.dim, cfg.encoder, stats)
        # Adapters of the vectors' own width, on unstandardised inputs, start as the vectors
        # themselves: training keeps them only where they beat that start (fusion.train).
        self.starts_as_input = (
            cfg.encoder.kind in ("adapter_linear", "adapter_mlp")
            and not stats
            and all(math.prod(s) == cfg.dim for s in input_shapes.values())
        )
        log_t = torch.tensor(math.log(cfg.temperature))
        if cfg.learn_temperature:
            self.log_temperature = nn.Parameter(log_t)
        else:
            self.register_buffer("log_temperature", log_t)

    @property
    def temperature(self) -> torch.Tensor:
        # Clamped like CLIP's logit scale (at most 100) so a learned τ cannot blow up the logits.
        return self.log_temperature.exp().clamp(min=0.01)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for name in self.names:
            z = self.encoders[name](inputs[name])  # (B, D)
            if self.cfg.normalize is not False:
                z = nn.functional.normalize(z, dim=-1)
            out[name] = z
        return out


# ---------------------------------------------------------------------------
# Attention fusion and classification baselines


@dataclass
class FusionOutput:
    logits: torch.Tensor  # (B, C)
    weights: torch.Tensor | None = None  # (B, M) modality attention, rows sum to 1
    head_weights: torch.Tensor | None = None  # (B, H, M, M) self-attention per head
    fused: torch.Tensor | None = None  # (B, D) fused representation
    tokens: torch.Tensor | None = None  # (B, M, D) per-modality tokens (attention fusion)


class _Classifier(nn.Module):
    """A classifier over ``input_shapes``' modalities: every kind takes the same arguments,
    sets :attr:`names` (the modalities it reads, in order) and builds its layers in
    :meth:`build`."""

    def __init__(
        self,
        input_shapes: Shapes,
        n_classes: int,
        cfg: AttentionConfig | BaselineConfig,
        stats: Stats | None = None,
    ):
        super().__init__()
        self.names = list(input_shapes)
        self.build(input_shapes, n_classes, cfg, stats)

    def build(self, input_shapes: Shapes, n_classes: int, cfg: Any, stats: Stats | None) -> None:
        raise NotImplementedError


class _EncoderThenHead(_Classifier):
    """One encoder (``body``) over the input :meth:`encoder_input` takes from a batch; its
    output is the fused representation, classified by a ReLU and a linear layer."""

    def add_body_and_head(self, body: nn.Module, dim: int, n_classes: int) -> None:
        self.body = body
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(dim, n_classes))

    def encoder_input(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, inputs: dict[str, torch.Tensor]) -> FusionOutput:
        fused = self.body(self.encoder_input(inputs))
        return FusionOutput(self.head(fused), fused=fused)


class AttentionFusion(_Classifier):
    """Modality attention: w = softmax_m(score(t_m)), fused = Σ_m w_m t_m, logits = head(fused)."""

    def build(
        self, input_shapes: Shapes, n_classes: int, cfg: AttentionConfig, stats: Stats | None
    ) -> None:
        cfg.validate()
        self.cfg = cfg
        self.encoders = _encoders(input_shapes, cfg.dim, cfg.encoder, stats)
        self.self_attention = (
            nn.MultiheadAttention(cfg.dim, cfg.heads, batch_first=True) if cfg.heads else None
        )
        self.norm = nn.LayerNorm(cfg.dim) if cfg.heads else None
        self.score = nn.Sequential(
            nn.Linear(cfg.dim, cfg.attention_hidden), nn.Tanh(), nn.Linear(cfg.attention_hidden, 1)
        )
        self.head = nn.Linear(cfg.dim, n_classes)

    def forward(self, inputs: dict[str, torch.Tensor]) -> FusionOutput:
        tokens = torch.stack([self.encoders[k](inputs[k]) for k in self.names], dim=1)  # (B, M, D)
        head_weights = None
        if self.self_attention is not None:
            mixed, head_weights = self.self_attention(
                tokens, tokens, tokens, need_weights=True, average_attn_weights=False
            )  # head_weights: (B, H, M, M)
            tokens = self.norm(tokens + mixed)
        weights = torch.softmax(self.score(tokens).squeeze(-1), dim=1)  # (B, M)
        fused = (weights.unsqueeze(-1) * tokens).sum(dim=1)  # (B, D)
        return FusionOutput(self.head(fused), weights, head_weights, fused, tokens)


class EarlyFusion(_EncoderThenHead):
    """Concatenate all modalities' flattened features, then one MLP classifier."""

    def build(
        self, input_shapes: Shapes, n_classes: int, cfg: BaselineConfig, stats: Stats | None
    ) -> None:
        d_in = sum(math.prod(s) for s in input_shapes.values())
        enc = EncoderConfig(
            **{**cfg.encoder.__dict__, "kind": "mlp" if cfg.encoder.kind != "linear" else "linear"}
        )
        joined = None
        if stats:  # each modality's statistics, flattened and side by side like its features
            joined = tuple(
                np.concatenate(
                    [np.broadcast_to(stats[k][i], s).ravel() for k, s in input_shapes.items()]
                )
                for i in (0, 1)
            )
        self.add_body_and_head(make_encoder((d_in,), cfg.dim, enc, joined), cfg.dim, n_classes)

    def encoder_input(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([inputs[k].flatten(1) for k in self.names], dim=1)  # (B, Σd)


class LateFusion(_Classifier):
    """One classifier per modality; the prediction is the mean of their logits."""

    def build(
        self, input_shapes: Shapes, n_classes: int, cfg: BaselineConfig, stats: Stats | None
    ) -> None:
        encoders = _encoders(input_shapes, cfg.dim, cfg.encoder, stats)
        self.branches = nn.ModuleDict(
            {
                k: nn.Sequential(encoders[k], nn.ReLU(), nn.Linear(cfg.dim, n_classes))
                for k in input_shapes
            }
        )

    def forward(self, inputs: dict[str, torch.Tensor]) -> FusionOutput:
        logits = torch.stack([self.branches[k](inputs[k]) for k in self.names], dim=1)  # (B, M, C)
        return FusionOutput(logits.mean(dim=1))


class SingleModality(_EncoderThenHead):
    """A classifier that sees one modality only (the 'no fusion' reference)."""

    def build(
        self, input_shapes: Shapes, n_classes: int, cfg: BaselineConfig, stats: Stats | None
    ) -> None:
        name = cfg.modality or next(iter(input_shapes))
        if name not in input_shapes:
            raise ConfigError(
                "errors.models.modality_not_in_data", modality=name, choices=list(input_shapes)
            )
        self.names = [name]
        body = make_encoder(input_shapes[name], cfg.dim, cfg.encoder, (stats or {}).get(name))
        self.add_body_and_head(body, cfg.dim, n_classes)

    def encoder_input(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return inputs[self.names[0]]
