"""Each loss against a naive per-pair Python loop: values and gradients."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from fusion.errors import ConfigError
from fusion.i18n import has, info_key
from fusion.losses import (
    _inv_sqrt_psd,
    cross_entropy,
    dcca,
    info_nce,
    pairwise,
    seed_alignment,
    triplet,
)

RTOL = 1e-5


def _pair(b: int = 6, d: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    za = torch.randn(b, d, generator=gen, dtype=torch.float64, requires_grad=True)
    zb = torch.randn(b, d, generator=gen, dtype=torch.float64, requires_grad=True)
    return za, zb


def _assert_same_value_and_grad(
    fast: torch.Tensor, slow: torch.Tensor, inputs: tuple[torch.Tensor, ...]
) -> None:
    torch.testing.assert_close(fast, slow, rtol=RTOL, atol=1e-12)
    for g_fast, g_slow in zip(
        torch.autograd.grad(fast, inputs, retain_graph=True),
        torch.autograd.grad(slow, inputs, retain_graph=True),
        strict=True,
    ):
        torch.testing.assert_close(g_fast, g_slow, rtol=RTOL, atol=1e-10)


def _cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u @ v) / (u.norm() * v.norm())


# -- seed_alignment ----------------------------------------------------------------------


def _seed_reference(za, zb, labels, lam):
    """The seed article's double loop, divided by the batch size."""
    n = za.shape[0]
    total = za.new_zeros(())
    for i in range(n):
        for j in range(n):
            same = labels[i] == labels[j] if labels is not None else i == j
            if same:
                total = total + ((za[i] - zb[j]) ** 2).sum()
    for i in range(n):
        total = total + lam * ((za[i] ** 2).sum() + (zb[i] ** 2).sum())
    return total / n


@pytest.mark.parametrize("labelled", [False, True])
def test_seed_alignment_matches_double_loop(labelled):
    za, zb = _pair(b=7)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2]) if labelled else None
    out = seed_alignment(za, zb, labels=labels, lam=0.3)
    assert set(out) == {"loss", "align", "reg"}
    torch.testing.assert_close(out["loss"], out["align"] + out["reg"])
    _assert_same_value_and_grad(out["loss"], _seed_reference(za, zb, labels, 0.3), (za, zb))


def test_seed_alignment_accurate_far_from_origin_in_float32():
    za, zb = _pair(b=8)
    offset = 1000.0
    fast = seed_alignment((za + offset).float(), (zb + offset).float(), lam=0.0)["align"]
    slow = _seed_reference(za, zb, None, 0.0)  # float64, translation invariant
    assert math.isclose(fast.item(), slow.item(), rel_tol=1e-5)


def test_seed_alignment_minimum_is_collapse():
    za, zb = _pair()
    zero = torch.zeros_like(za)
    assert seed_alignment(zero, zero)["loss"].item() == 0.0
    assert seed_alignment(za, zb)["loss"].item() > 0.0


def test_seed_alignment_scale_does_not_depend_on_batch_size():
    za, zb = _pair()
    small = seed_alignment(za, zb)["loss"]
    doubled = seed_alignment(torch.cat([za, za]), torch.cat([zb, zb]))["loss"]
    torch.testing.assert_close(small, doubled)


# -- info_nce -----------------------------------------------------------------------------


def _info_nce_reference(za, zb, tau, normalize):
    n = za.shape[0]
    if normalize:
        za = torch.stack([row / row.norm() for row in za])
        zb = torch.stack([row / row.norm() for row in zb])
    a_to_b = za.new_zeros(())
    b_to_a = za.new_zeros(())
    for i in range(n):
        row = torch.stack([za[i] @ zb[j] / tau for j in range(n)])
        col = torch.stack([za[j] @ zb[i] / tau for j in range(n)])
        a_to_b = a_to_b - (row[i] - torch.logsumexp(row, 0))
        b_to_a = b_to_a - (col[i] - torch.logsumexp(col, 0))
    return (a_to_b / n + b_to_a / n) / 2


@pytest.mark.parametrize("normalize", [True, False])
def test_info_nce_matches_loop(normalize):
    za, zb = _pair()
    out = info_nce(za, zb, temperature=0.2, normalize=normalize)
    assert set(out) == {"loss", "a_to_b", "b_to_a"}
    slow = _info_nce_reference(za, zb, 0.2, normalize)
    _assert_same_value_and_grad(out["loss"], slow, (za, zb))


def test_info_nce_learnable_temperature_gets_gradient():
    za, zb = _pair()
    tau = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    fast = info_nce(za, zb, temperature=tau)["loss"]
    slow = _info_nce_reference(za, zb, tau, True)
    _assert_same_value_and_grad(fast, slow, (za, zb, tau))


def test_info_nce_rejects_non_positive_temperature():
    za, zb = _pair()
    with pytest.raises(ConfigError, match="temperature"):
        info_nce(za, zb, temperature=0.0)


# -- triplet ------------------------------------------------------------------------------


def _triplet_direction_reference(anchors, others, margin, mining):
    n = anchors.shape[0]
    total = anchors.new_zeros(())
    for i in range(n):
        pos = _cos(anchors[i], others[i])
        negs = {j: _cos(anchors[i], others[j]) for j in range(n) if j != i}
        hinges = {j: torch.clamp(margin - pos + s, min=0.0) for j, s in negs.items()}
        if mining == "all":
            total = total + sum(hinges.values()) / len(hinges)
        elif mining == "hardest":
            total = total + max(hinges.values(), key=lambda h: h.item())
        else:
            semi = [j for j, s in negs.items() if s.item() < pos.item()]
            if semi:
                j = max(semi, key=lambda j: negs[j].item())
            else:
                j = min(negs, key=lambda j: negs[j].item())
            total = total + hinges[j]
    return total / n


@pytest.mark.parametrize("mining", ["hardest", "semi-hard", "all"])
def test_triplet_matches_brute_force(mining):
    za, zb = _pair(b=8, d=3, seed=3)
    out = triplet(za, zb, margin=0.5, mining=mining)
    assert set(out) == {"loss", "a_to_b", "b_to_a"}
    slow = _triplet_direction_reference(za, zb, 0.5, mining) + _triplet_direction_reference(
        zb, za, 0.5, mining
    )
    _assert_same_value_and_grad(out["loss"], slow, (za, zb))


def test_triplet_semi_hard_uses_easiest_negative_when_none_is_farther():
    # Anchor 0's positive is its least similar item, so no negative is semi-hard.
    za = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    zb = torch.tensor([[-1.0, 0.2], [0.0, 1.0], [1.0, 0.9]], dtype=torch.float64)
    out = triplet(za, zb, margin=0.1, mining="semi-hard")
    assert torch.isfinite(out["loss"])
    slow = _triplet_direction_reference(za, zb, 0.1, "semi-hard")
    torch.testing.assert_close(out["a_to_b"], slow)


def test_triplet_rejects_unknown_mining_and_tiny_batch():
    za, zb = _pair()
    with pytest.raises(ConfigError, match="mining"):
        triplet(za, zb, mining="easy")
    with pytest.raises(ConfigError, match="at least 2"):
        triplet(za[:1], zb[:1])


# -- dcca ---------------------------------------------------------------------------------


def _numpy_cca(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unregularised CCA through orthonormal bases: singular values of Qx^T Qy."""
    qx, _ = np.linalg.qr(x - x.mean(0))
    qy, _ = np.linalg.qr(y - y.mean(0))
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def _correlated_views(b=400, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shared = torch.randn(b, 3, generator=gen, dtype=torch.float64)
    za = shared @ torch.randn(3, 4, generator=gen, dtype=torch.float64)
    za = za + 0.5 * torch.randn(b, 4, generator=gen, dtype=torch.float64)
    zb = shared @ torch.randn(3, 5, generator=gen, dtype=torch.float64)
    zb = zb + 0.8 * torch.randn(b, 5, generator=gen, dtype=torch.float64)
    return za.requires_grad_(), zb.requires_grad_()


def test_dcca_equals_minus_sum_of_numpy_canonical_correlations():
    za, zb = _correlated_views()
    rho = _numpy_cca(za.detach().numpy(), zb.detach().numpy())
    out = dcca(za, zb)
    assert set(out) == {"loss", "corr"}
    assert out["loss"].item() == pytest.approx(-rho.sum(), rel=1e-3)
    assert out["corr"].item() == pytest.approx(rho.sum(), rel=1e-3)
    top2 = dcca(za, zb, eps=1e-9, k=2)["corr"].item()
    assert top2 == pytest.approx(np.sort(rho)[::-1][:2].sum(), rel=1e-5)


def test_dcca_gradient_matches_plain_eigh_autograd_when_well_conditioned():
    za, zb = _correlated_views(b=50)

    def reference(za, zb, eps=1e-3):
        n = za.shape[0]
        ha, hb = za - za.mean(0), zb - zb.mean(0)

        def inv_sqrt(m):
            val, vec = torch.linalg.eigh(m)
            return vec @ torch.diag(val.rsqrt()) @ vec.T

        s_aa = ha.T @ ha / (n - 1) + eps * torch.eye(za.shape[1], dtype=za.dtype)
        s_bb = hb.T @ hb / (n - 1) + eps * torch.eye(zb.shape[1], dtype=zb.dtype)
        t = inv_sqrt(s_aa) @ (ha.T @ hb / (n - 1)) @ inv_sqrt(s_bb)
        return -torch.linalg.svdvals(t).sum()

    _assert_same_value_and_grad(dcca(za, zb)["loss"], reference(za, zb), (za, zb))


def test_dcca_backward_passes_gradcheck():
    gen = torch.Generator().manual_seed(4)
    za = torch.randn(7, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    zb = torch.randn(7, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: dcca(a, b)["loss"], (za, zb))


def test_inverse_square_root_gradient_is_right_at_repeated_eigenvalues():
    # 2 I + a rank-1 bump: eigenvalue 2 repeats, where eigh's own backward divides by 0.
    v = torch.tensor([1.0, 2.0, 0.0, 0.0], dtype=torch.float64)
    base = (2 * torch.eye(4, dtype=torch.float64) + torch.outer(v, v)).requires_grad_()

    def inv_sqrt(m):
        return _inv_sqrt_psd((m + m.T) / 2, 1e-9)

    assert torch.autograd.gradcheck(inv_sqrt, (base,))
    root = inv_sqrt(base.detach())
    torch.testing.assert_close(root @ root @ base.detach(), torch.eye(4, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", ["batch_smaller_than_dim", "constant_columns", "identical"])
def test_dcca_is_finite_on_degenerate_batches(case, dtype):
    gen = torch.Generator().manual_seed(1)
    za = torch.randn(16, 8, generator=gen, dtype=dtype)
    zb = torch.randn(16, 8, generator=gen, dtype=dtype)
    if case == "batch_smaller_than_dim":
        za, zb = za[:4], zb[:4]
    elif case == "constant_columns":
        za[:, :3] = 2.5
        zb[:, 5:] = 0.0
    else:
        zb = za.clone()
    za.requires_grad_()
    zb.requires_grad_()
    out = dcca(za, zb)
    grads = torch.autograd.grad(out["loss"], (za, zb))
    assert torch.isfinite(out["loss"])
    assert all(torch.isfinite(g).all() for g in grads)


# -- cross_entropy ------------------------------------------------------------------------


def test_cross_entropy_matches_loop_and_entropy_sign():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    raw = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1, 0])
    w = raw.softmax(1)
    out = cross_entropy(logits, y, weights=w, entropy_weight=0.7)
    assert set(out) == {"loss", "ce", "attn_entropy"}

    ce = sum(-(logits[i, y[i]] - torch.logsumexp(logits[i], 0)) for i in range(5)) / 5
    ent = sum(-sum(w[i, m] * torch.log(w[i, m]) for m in range(4)) for i in range(5)) / 5
    _assert_same_value_and_grad(out["loss"], ce + 0.7 * ent, (logits, raw))

    peaked = torch.tensor([[0.97, 0.01, 0.01, 0.01]], dtype=torch.float64)
    flat = torch.full((1, 4), 0.25, dtype=torch.float64)
    one = logits[:1].detach()
    lo = cross_entropy(one, y[:1], peaked, entropy_weight=1.0)["loss"]
    hi = cross_entropy(one, y[:1], flat, entropy_weight=1.0)["loss"]
    assert lo < hi  # positive weight rewards peaked attention
    assert cross_entropy(one, y[:1], flat)["attn_entropy"].item() == pytest.approx(math.log(4))


def test_cross_entropy_handles_zero_weights_and_no_weights():
    logits = torch.zeros(2, 2, requires_grad=True)
    y = torch.tensor([0, 1])
    raw = torch.tensor([[1.0, 0.0], [0.5, 0.5]], requires_grad=True)
    out = cross_entropy(logits, y, weights=raw, entropy_weight=1.0)
    grad = torch.autograd.grad(out["loss"], raw)[0]
    assert torch.isfinite(grad).all()
    assert cross_entropy(logits, y)["attn_entropy"].item() == 0.0
    with pytest.raises(ConfigError, match="attention weights"):
        cross_entropy(logits, y, entropy_weight=0.1)


# -- pairwise and registry ----------------------------------------------------------------


@pytest.mark.parametrize("loss_fn", [info_nce, seed_alignment, triplet, dcca])
def test_pairwise_three_modalities_averages_pairs(loss_fn: Callable):
    gen = torch.Generator().manual_seed(2)
    emb = {m: torch.randn(12, 3, generator=gen, dtype=torch.float64) for m in ("x", "y", "z")}
    out = pairwise(loss_fn, emb)
    pairs = [("x", "y"), ("x", "z"), ("y", "z")]
    singles = [loss_fn(emb[a], emb[b]) for a, b in pairs]
    for key in singles[0]:
        torch.testing.assert_close(out[key], sum(s[key] for s in singles) / 3)
    for (a, b), single in zip(pairs, singles, strict=True):
        torch.testing.assert_close(out[f"loss_{a}_{b}"], single["loss"])


def test_pairwise_two_modalities_is_the_loss_and_passes_kwargs():
    za, zb = _pair()
    out = pairwise(info_nce, {"img": za, "txt": zb}, temperature=0.3)
    assert set(out) == {"loss", "a_to_b", "b_to_a"}
    torch.testing.assert_close(out["loss"], info_nce(za, zb, temperature=0.3)["loss"])
    with pytest.raises(ConfigError, match="at least 2"):
        pairwise(info_nce, {"img": za})


def test_registry_describes_every_loss():
    from fusion.registry import LOSSES, joint_losses

    assert joint_losses() == ("info_nce", "seed_alignment", "triplet", "dcca")
    for name, spec in LOSSES.items():
        assert callable(spec.fn), name
        assert spec.formula_latex and spec.url.startswith("https://")
        for field in ("title", "source"):
            assert has(info_key("loss", name, field)), (name, field)
    assert LOSSES["seed_alignment"].repulsive is False
    assert LOSSES["info_nce"].repulsive is True
