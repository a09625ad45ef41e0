"""Training objectives for joint embeddings and attention fusion.

Every loss is a small function on torch tensors that returns a dict of named scalar
tensors: ``"loss"`` is the total to back-propagate, the other keys are its parts, so the
trainer and the plots can show each. All are vectorised over the batch.

Joint-embedding losses (two modalities, ``za`` and ``zb`` of shape (B, D), row i of each
describing the same sample):

- :func:`seed_alignment` -- the objective of the seed article (section 4): pull same-meaning
  pairs together plus an L2 penalty. It has no repulsive term, so its minimum is the
  collapsed solution f = g = 0 (cf. Hadsell, Chopra & LeCun 2006, who add a margin term
  on negative pairs for exactly this reason). Kept faithfully because it teaches that.
- :func:`info_nce` -- symmetric InfoNCE / CLIP loss (van den Oord et al. 2018; Radford et
  al. 2021).
- :func:`triplet` -- margin ranking with in-batch negatives (Schroff et al. 2015, FaceNet;
  Faghri et al. 2018, VSE++).
- :func:`dcca` -- Deep CCA (Andrew et al. 2013).

:func:`pairwise` applies any of them to every pair of M >= 2 modalities. For attention
fusion, :func:`cross_entropy` adds an optional attention-entropy term.

Each loss is described once, in :mod:`fusion.registry` (its parameters, formula, paper,
whether it has a repulsive term or otherwise prevents collapse, its form fields); the
trainer, the command line and the pages all read it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any, Literal

import torch
import torch.nn.functional as F

from fusion.errors import ConfigError

Parts = dict[str, torch.Tensor]
JointLoss = Callable[..., Parts]


def _check_pair(za: torch.Tensor, zb: torch.Tensor, min_batch: int = 1) -> None:
    if za.ndim != 2 or zb.ndim != 2 or za.shape[0] != zb.shape[0]:
        raise ConfigError(
            "errors.losses.batch_shapes", shape_a=tuple(za.shape), shape_b=tuple(zb.shape)
        )
    if za.shape[0] < min_batch:
        raise ConfigError("errors.losses.batch_too_small", min_batch=min_batch, n=za.shape[0])


def seed_alignment(
    za: torch.Tensor,
    zb: torch.Tensor,
    labels: torch.Tensor | None = None,
    lam: float = 0.1,
) -> Parts:
    """The seed article's joint-embedding objective on one batch.

    Formula (seed article, section 4), with a = f(x), b = g(y)::

        L = 1/B * [ sum_{i,j} s_ij ||a_i - b_j||^2  +  lam * sum_i (||a_i||^2 + ||b_i||^2) ]

    s_ij = 1 when x_i and y_j have the same meaning: equal ``labels`` when labels are given,
    otherwise i == j (the paired rows). The sums run over pairs as written (not a mean);
    the single division by the batch size B keeps the gradient scale, and so the learning
    rate, independent of B (for unlabelled batches; with labels the number of same-label
    pairs per sample still grows with B).

    The objective has no term pushing different meanings apart, so it is minimised by the
    collapsed map a = b = 0 (loss 0). Hadsell, Chopra & LeCun 2006 ("Dimensionality
    Reduction by Learning an Invariant Mapping") add a margin term on dissimilar pairs for
    exactly this reason; the losses below all have one.

    Returns ``{"loss", "align", "reg"}`` where align and reg are the two terms (both / B).
    """
    _check_pair(za, zb)
    if lam < 0:
        raise ConfigError("errors.losses.bad_lam", lam=lam)
    n = za.shape[0]
    if labels is None:
        s = torch.eye(n, dtype=za.dtype, device=za.device)
    else:
        labels = torch.as_tensor(labels, device=za.device)
        if labels.shape != (n,):
            raise ConfigError("errors.losses.labels_shape", n=n, shape=tuple(labels.shape))
        s = (labels[:, None] == labels[None, :]).to(za.dtype)  # (B, B)

    # Distances are translation invariant; expanding around the batch centre keeps the
    # ||a||^2 + ||b||^2 - 2 a.b expansion from cancelling large norms against each other.
    center = torch.cat([za, zb]).mean(0).detach()
    a, b = za - center, zb - center
    # sum_ij s_ij ||a_i - b_j||^2 = sum_i r_i ||a_i||^2 + sum_j c_j ||b_j||^2 - 2 sum_ij s_ij a_i.b_j
    align = (
        (s.sum(1) * a.square().sum(1)).sum()
        + (s.sum(0) * b.square().sum(1)).sum()
        - 2.0 * (s * (a @ b.T)).sum()
    ) / n
    reg = lam * (za.square().sum() + zb.square().sum()) / n
    return {"loss": align + reg, "align": align, "reg": reg}


def info_nce(
    za: torch.Tensor,
    zb: torch.Tensor,
    temperature: float | torch.Tensor = 0.1,
    normalize: bool = True,
) -> Parts:
    """Symmetric InfoNCE, the CLIP loss.

    Formula (Radford et al. 2021, CLIP; van den Oord et al. 2018, CPC)::

        logits_ij = a_i . b_j / tau          (a, b L2-normalised when normalize=True)
        a_to_b = -1/B sum_i log softmax_j(logits_ij)[j = i]
        b_to_a = -1/B sum_j log softmax_i(logits_ij)[i = j]
        L = (a_to_b + b_to_a) / 2

    The other B - 1 items of the batch are the negatives: the softmax denominator is the
    repulsive term the seed objective lacks. ``temperature`` may be a learnable scalar
    tensor (CLIP learns it); it must stay positive.

    Returns ``{"loss", "a_to_b", "b_to_a"}``.
    """
    _check_pair(za, zb)
    if not torch.is_tensor(temperature) and temperature <= 0:
        raise ConfigError("errors.losses.bad_temperature", temperature=temperature)
    if normalize:
        za, zb = F.normalize(za, dim=1), F.normalize(zb, dim=1)
    logits = za @ zb.T / temperature  # (B, B)
    target = torch.arange(za.shape[0], device=za.device)
    a_to_b = F.cross_entropy(logits, target)
    b_to_a = F.cross_entropy(logits.T, target)
    return {"loss": (a_to_b + b_to_a) / 2, "a_to_b": a_to_b, "b_to_a": b_to_a}


Mining = Literal["hardest", "semi-hard", "all"]


def _triplet_direction(sim: torch.Tensor, margin: float, mining: Mining) -> torch.Tensor:
    """Mean over anchors (rows of ``sim``) of the hinge on in-batch negatives (columns)."""
    n = sim.shape[0]
    off_diag = ~torch.eye(n, dtype=torch.bool, device=sim.device)
    pos = sim.diagonal()[:, None]  # (B, 1)
    if mining == "all":
        cost = F.relu(margin - pos + sim)
        return cost[off_diag].mean()
    if mining == "hardest":
        cost = F.relu(margin - pos + sim).masked_fill(~off_diag, 0.0)
        return cost.max(dim=1).values.mean()
    # Semi-hard: the most similar negative that is still less similar than the positive;
    # when an anchor has none, its easiest negative (as in TensorFlow's semi-hard loss).
    below = off_diag & (sim < pos)
    semi = sim.masked_fill(~below, float("-inf")).max(dim=1).values
    easiest = sim.masked_fill(~off_diag, float("inf")).min(dim=1).values
    neg = torch.where(below.any(dim=1), semi, easiest)
    return F.relu(margin - pos.squeeze(1) + neg).mean()


def triplet(
    za: torch.Tensor,
    zb: torch.Tensor,
    margin: float = 0.2,
    mining: Mining = "hardest",
) -> Parts:
    """Bidirectional margin ranking loss with in-batch negatives on cosine similarity.

    With s_ij = cos(a_i, b_j) and the hinge h_ij = max(0, margin - s_ii + s_ij), j != i::

        a_to_b = 1/B sum_i  reduce_j h_ij        (anchor a_i, positive b_i, negatives b_j)
        b_to_a = 1/B sum_j  reduce_i h_ij        (anchor b_j, positive a_j, negatives a_i)
        L = a_to_b + b_to_a                      (summed over both directions, as VSE++)

    ``mining`` picks reduce_j:

    - "hardest": max_j h_ij, the hardest negative (Faghri et al. 2018, VSE++).
    - "semi-hard": h_ij for the negative with the largest s_ij < s_ii, i.e. farther than the
      positive but possibly inside the margin (Schroff et al. 2015, FaceNet); an anchor
      with no such negative uses its easiest one.
    - "all": the mean of h_ij over all B - 1 negatives (VSE0 in Faghri et al., averaged
      rather than summed so the scale does not grow with B).

    Returns ``{"loss", "a_to_b", "b_to_a"}``.
    """
    _check_pair(za, zb, min_batch=2)
    if mining not in ("hardest", "semi-hard", "all"):
        raise ConfigError("errors.losses.bad_mining", value=mining)
    sim = F.normalize(za, dim=1) @ F.normalize(zb, dim=1).T  # (B, B)
    a_to_b = _triplet_direction(sim, margin, mining)
    b_to_a = _triplet_direction(sim.T, margin, mining)
    return {"loss": a_to_b + b_to_a, "a_to_b": a_to_b, "b_to_a": b_to_a}


class _InvSqrtPSD(torch.autograd.Function):
    """A^(-1/2) of a symmetric positive definite matrix, with a stable backward.

    Autograd through ``torch.linalg.eigh`` divides by eigenvalue gaps l_i - l_j and gives
    inf/NaN when eigenvalues repeat -- which they do whenever B < d or a column is constant
    (all null directions share the ridge eigenvalue). The Daleckii-Krein formula needs only
    the divided differences of g(l) = l^(-1/2), which have the gap-free closed form
    (g(l_i) - g(l_j)) / (l_i - l_j) = -1 / (r_i r_j (r_i + r_j)), r = sqrt(l),
    equal to g'(l) when l_i = l_j.
    """

    @staticmethod
    def forward(ctx: Any, mat: torch.Tensor, floor: float) -> torch.Tensor:
        eigval, eigvec = torch.linalg.eigh(mat)
        root = eigval.clamp_min(floor).sqrt()  # (d,)
        ctx.save_for_backward(root, eigvec)
        return (eigvec / root) @ eigvec.T

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        root, eigvec = ctx.saved_tensors
        divided = -1.0 / (root[:, None] * root[None, :] * (root[:, None] + root[None, :]))
        inner = eigvec.T @ grad @ eigvec
        inner = (inner + inner.T) / 2  # the input is symmetric; keep the symmetric part
        return eigvec @ (divided * inner) @ eigvec.T, None


def _inv_sqrt_psd(mat: torch.Tensor, floor: float) -> torch.Tensor:
    return _InvSqrtPSD.apply(mat, floor)


def dcca(za: torch.Tensor, zb: torch.Tensor, eps: float = 1e-3, k: int | None = None) -> Parts:
    """Deep CCA: maximise the sum of canonical correlations between the two views.

    Formula (Andrew et al. 2013, Deep Canonical Correlation Analysis), with H_a, H_b the
    batch-centred embeddings (B, d_a), (B, d_b)::

        S_aa = H_a^T H_a / (B - 1) + eps I,   S_bb likewise,   S_ab = H_a^T H_b / (B - 1)
        T    = S_aa^(-1/2) S_ab S_bb^(-1/2)
        corr = sum of the top-k singular values of T   (all min(d_a, d_b) when k is None)
        L    = -corr

    The inverse square roots use ``torch.linalg.eigh`` with eigenvalues clamped at eps
    (anything below the ridge is rounding error) and a gap-free backward, so batches with
    B < d or constant columns give finite values and gradients. Singular values come from
    ``torch.linalg.svdvals``, whose gradient is stable even for repeated values.

    Returns ``{"loss", "corr"}`` with corr >= 0.
    """
    _check_pair(za, zb, min_batch=2)
    if eps <= 0:
        raise ConfigError("errors.losses.bad_eps", eps=eps)
    if k is not None and k < 1:
        raise ConfigError("errors.losses.bad_k", k=k)
    n = za.shape[0]
    ha, hb = za - za.mean(0), zb - zb.mean(0)
    eye_a = torch.eye(za.shape[1], dtype=za.dtype, device=za.device)
    eye_b = torch.eye(zb.shape[1], dtype=zb.dtype, device=zb.device)
    s_aa = ha.T @ ha / (n - 1) + eps * eye_a
    s_bb = hb.T @ hb / (n - 1) + eps * eye_b
    s_ab = ha.T @ hb / (n - 1)
    t = _inv_sqrt_psd(s_aa, eps) @ s_ab @ _inv_sqrt_psd(s_bb, eps)  # (d_a, d_b)
    corr = torch.linalg.svdvals(t)[:k].sum()
    return {"loss": -corr, "corr": corr}


def cross_entropy(
    logits: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor | None = None,
    entropy_weight: float = 0.0,
) -> Parts:
    """Classification loss for attention fusion, with an optional attention-entropy term.

    Formula::

        ce = -1/B sum_i log softmax(logits_i)[y_i]
        H(w_i) = -sum_m w_im log w_im          (w: (B, M) attention weights, rows sum to 1)
        L = ce + entropy_weight * 1/B sum_i H(w_i)

    Sign convention: the entropy is *added*, so a positive ``entropy_weight`` pushes
    attention toward low entropy (peaked on one modality); a negative one spreads it out.
    Entropy regularisation of attention is common practice (e.g. the attention-fusion
    modules of TorchMultimodal leave it to the trainer); the cross-entropy is the usual
    softmax classifier loss.

    Returns ``{"loss", "ce", "attn_entropy"}`` (attn_entropy is 0 without weights).
    """
    ce = F.cross_entropy(logits, y)
    if weights is None:
        if entropy_weight != 0.0:
            raise ConfigError("errors.losses.entropy_without_weights")
        entropy = torch.zeros((), dtype=ce.dtype, device=ce.device)
    else:
        # w log w -> 0 as w -> 0; the clamp keeps log finite (and its gradient) at w = 0.
        entropy = -(weights * weights.clamp_min(1e-12).log()).sum(1).mean()
    return {"loss": ce + entropy_weight * entropy, "ce": ce, "attn_entropy": entropy}


def pairwise(loss_fn: JointLoss, embeddings: dict[str, torch.Tensor], **kw: Any) -> Parts:
    """Apply a two-modality loss to every unordered pair of M >= 2 modalities and average.

    L = 1 / C(M, 2) * sum_{m < n} loss_fn(z_m, z_n). Every part is averaged the same way;
    with M > 2 the total of each pair is also returned as ``"loss_<m>_<n>"`` (modality
    names in insertion order). Extra keyword arguments go to ``loss_fn``.
    """
    if len(embeddings) < 2:
        if not embeddings:
            raise ConfigError("errors.losses.pairwise_no_modalities")
        raise ConfigError(
            "errors.losses.pairwise_too_few", n=len(embeddings), names=", ".join(embeddings)
        )
    if len(embeddings) == 2:  # one pair: nothing to average (saves ~10 % of a small step)
        return dict(loss_fn(*embeddings.values(), **kw))
    per_pair = {
        (m, n): loss_fn(embeddings[m], embeddings[n], **kw) for m, n in combinations(embeddings, 2)
    }
    first = next(iter(per_pair.values()))
    out = {key: torch.stack([p[key] for p in per_pair.values()]).mean() for key in first}
    if len(embeddings) > 2:
        out.update({f"loss_{m}_{n}": p["loss"] for (m, n), p in per_pair.items()})
    return out
