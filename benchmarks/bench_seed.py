"""The seed article's objective: its per-pair double loop vs ``fusion.losses.seed_alignment``.

The reference is the seed article's section 4 code (/work/shared/seed-article.md), loss
value only, with its double loop over pairs ``for i: for j: if S[i][j] == 1: ...``::

    L = sum_{i,j} s_ij ||f(x_i) - g(y_j)||^2 + lam * sum_i (||f(x_i)||^2 + ||g(y_i)||^2)

Ours computes the same sums vectorised and divides by the batch size B, so B * ours is
compared with the reference. s_ij = [label_i == label_j] with 2 classes, as ours builds it
from labels: half the pairs match, like the article's ``S = np.random.randint(0, 2, (100,
100))``, and the embeddings have the article's 10 dimensions; float64 in both so the values
can agree to 1e-5 relative.
Speed-up = reference seconds / ours seconds, round by round over interleaved rounds.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.common import MIN_ROUNDS, Entry, entry, interleaved, paired_entry, time_call

LAM = 0.1
DIM = 10  # the article's X = np.random.rand(100, 10)
N_CLASSES = 2  # s_ij = 1 for half of the pairs, as the article's random 0/1 S


def reference_loss(X: np.ndarray, Y: np.ndarray, S: np.ndarray, lam: float = LAM) -> float:
    """The article's objective, pair by pair as its code loops."""
    n = X.shape[0]
    loss = 0.0
    for i in range(n):
        for j in range(n):
            if S[i][j] == 1:
                d = X[i] - Y[j]
                loss += float(np.sum(d * d))
    loss += lam * (
        float(np.sum(np.linalg.norm(X, axis=1) ** 2))
        + float(np.sum(np.linalg.norm(Y, axis=1) ** 2))
    )
    return loss


def inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, DIM))
    Y = X + 0.5 * rng.normal(size=(n, DIM))
    labels = rng.integers(0, N_CLASSES, n)
    return X, Y, labels


def run(quick: bool) -> list[Entry]:
    from fusion.losses import seed_alignment

    entries: list[Entry] = []
    for n in (100, 1000):
        X, Y, labels = inputs(n)
        S = (labels[:, None] == labels[None, :]).astype(np.int64)
        xa, yb, lab = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(labels)

        def ours(xa=xa, yb=yb, lab=lab):
            with torch.no_grad():
                return seed_alignment(xa, yb, lab, lam=LAM)["loss"]

        ref_value = reference_loss(X, Y, S)
        our_value = n * float(ours())
        rel = abs(our_value - ref_value) / abs(ref_value)
        entries.append(
            entry(
                f"seed objective n={n}: relative error of B*ours vs the per-pair reference",
                rel,
                "relative",
                target=("value", "<=", 1e-5),
                note=f"reference {ref_value:.6g}, B*ours {our_value:.6g} (float64)",
            )
        )
        got = interleaved(
            {
                "ref": lambda X=X, Y=Y, S=S: (
                    1e3 * time_call(lambda: reference_loss(X, Y, S), repeat=1, warmup=0)
                ),
                # A few untimed calls first in every round: torch's threads, asleep after
                # the reference's Python loop, wake before the timing (as without rounds).
                "ours": lambda ours=ours: 1e3 * time_call(ours, repeat=1, warmup=3, number=20),
            },
            MIN_ROUNDS if quick or n > 100 else 9,
        )
        entries.append(
            paired_entry(
                f"seed objective n={n}: vectorised seed_alignment speed-up over the per-pair loop",
                got["ours"],
                got["ref"],
                "ms",
                "base/ours",
                ("ratio", ">=", 100) if n == 100 else None,
            )
        )
    return entries
