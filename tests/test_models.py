"""Shape tests for every model and encoder."""

import pytest
import torch

from fusion.errors import ConfigError
from fusion.models import (
    AttentionConfig,
    AttentionFusion,
    BaselineConfig,
    EarlyFusion,
    EncoderConfig,
    JointConfig,
    JointEmbedding,
    LateFusion,
    SingleModality,
    make_encoder,
)

SHAPES = {"img": (8, 8), "txt": (20,), "sig": (5,)}
B = 7


def batch(shapes=SHAPES):
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(B, *s, generator=g) for k, s in shapes.items()}


@pytest.mark.parametrize("kind", ["linear", "mlp", "auto"])
def test_vector_encoders(kind):
    enc = make_encoder((20,), 6, EncoderConfig(kind=kind, hidden=16, depth=2, dropout=0.1))
    assert enc(torch.randn(B, 20)).shape == (B, 6)


def test_cnn_encoder_on_images_and_refused_on_vectors():
    enc = make_encoder((8, 8), 5, EncoderConfig(kind="cnn", hidden=8))
    assert enc(torch.randn(B, 8, 8)).shape == (B, 5)
    with pytest.raises(ConfigError, match="image-shaped"):
        make_encoder((20,), 5, EncoderConfig(kind="cnn"))


@pytest.mark.parametrize("normalize", [True, False])
def test_joint_embedding_shapes_and_normalisation(normalize):
    model = JointEmbedding(SHAPES, JointConfig(dim=4, normalize=normalize))
    out = model(batch())
    assert set(out) == set(SHAPES)
    for z in out.values():
        assert z.shape == (B, 4)
    norms = out["txt"].norm(dim=1)
    assert torch.allclose(norms, torch.ones(B), atol=1e-5) == normalize


def test_learnable_temperature_is_a_parameter():
    m = JointEmbedding(SHAPES, JointConfig(temperature=0.07, learn_temperature=True))
    assert any(p is m.log_temperature for p in m.parameters())
    assert abs(float(m.temperature.detach()) - 0.07) < 1e-6
    fixed = JointEmbedding(SHAPES, JointConfig(temperature=0.07))
    assert all(p is not fixed.log_temperature for p in fixed.parameters())


@pytest.mark.parametrize("heads", [0, 2])
def test_attention_fusion_returns_weights_every_pass(heads):
    model = AttentionFusion(SHAPES, 3, AttentionConfig(dim=8, heads=heads))
    out = model(batch())
    assert out.logits.shape == (B, 3)
    assert out.weights.shape == (B, 3)
    assert torch.allclose(out.weights.sum(1), torch.ones(B), atol=1e-6)
    assert out.tokens.shape == (B, 3, 8)
    assert out.fused.shape == (B, 8)
    if heads:
        assert out.head_weights.shape == (B, heads, 3, 3)
    else:
        assert out.head_weights is None


def test_heads_must_divide_dim():
    with pytest.raises(ConfigError, match="divisible"):
        AttentionFusion(SHAPES, 3, AttentionConfig(dim=10, heads=3))


@pytest.mark.parametrize("cls", [EarlyFusion, LateFusion, SingleModality])
def test_baselines(cls):
    model = cls(SHAPES, 4, BaselineConfig(dim=8))
    assert model(batch()).logits.shape == (B, 4)


def test_single_modality_sees_only_its_modality():
    model = SingleModality(SHAPES, 2, BaselineConfig(kind="single", modality="sig"))
    x = batch()
    y1 = model(x).logits
    x["txt"] = x["txt"] + 100.0
    assert torch.equal(model(x).logits, y1)
    with pytest.raises(ConfigError, match="not in the data"):
        SingleModality(SHAPES, 2, BaselineConfig(kind="single", modality="nope"))


def test_invalid_configs_refused():
    with pytest.raises(ConfigError, match="at least 1"):
        JointEmbedding(SHAPES, JointConfig(dim=0))
    with pytest.raises(ConfigError, match="activation"):
        make_encoder((3,), 2, EncoderConfig(activation="nope"))
