"""Evaluation metrics for joint embeddings and attention fusion (numpy / scikit-learn).

Every metric takes float arrays and returns a flat ``dict[str, float]``; a metric with a
chance level also returns it under ``<name>_chance``, so the dashboard can show how far a
model is from guessing.

- :func:`retrieval` -- cross-modal Recall@K and median rank, as in open_clip's retrieval
  evaluation (Ilharco et al. 2021, OpenCLIP).
- :func:`class_retrieval_precision` -- precision@k of same-class cross-modal neighbours.
- :func:`alignment`, :func:`uniformity` -- Wang & Isola 2020, Understanding Contrastive
  Representation Learning through Alignment and Uniformity on the Hypersphere.
- :func:`modality_gap` -- Liang et al. 2022, Mind the Gap.
- :func:`spread` -- mean per-dimension standard deviation (shows collapse).
- :func:`linear_probe_accuracy` -- logistic-regression probe (Alain & Bengio 2016; the
  linear-probe protocol of Radford et al. 2021).
- :func:`canonical_correlations`, :func:`mean_canonical_correlation` -- regularised CCA
  (Hotelling 1936).
- :func:`classification` -- accuracy and macro-F1 of the attention-fusion classifier.
- :func:`attention_mask_agreement` -- per-modality Spearman correlation between attention
  weights and the reliability mask (Spearman 1904), which a constant preference cannot win.
- :func:`joint_metrics` -- all of the above that apply, for every modality pair.

Their descriptions for people (title, direction, source, formula, help) are
:data:`fusion.metric_names.METRIC_INFO`.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any, Literal

import numpy as np

from fusion.errors import DataError

# scipy and scikit-learn are imported inside the functions that use them: the web server
# imports this module for its constants and small helpers on the way to Home's first paint,
# and scipy.stats with sklearn's models would cost seconds there.

Metrics = dict[str, float]

# Similarity matrices are built in row blocks of at most this many entries (32 MiB float32),
# so retrieval stays memory-safe at N = 20k.
_BLOCK_ENTRIES = 1 << 23
# Uniformity uses all pairs up to this many points, a seeded subsample beyond.
_UNIFORMITY_MAX_POINTS = 4000


def _as_2d(z: Any, name: str = "embeddings") -> np.ndarray:
    arr = np.asarray(z, dtype=np.float64)
    if arr.ndim != 2:
        raise DataError("errors.metrics.not_2d", name=name, shape=arr.shape)
    return arr


def _as_pair(za: Any, zb: Any) -> tuple[np.ndarray, np.ndarray]:
    za, zb = _as_2d(za, "za"), _as_2d(zb, "zb")
    if za.shape[0] != zb.shape[0]:
        raise DataError("errors.metrics.row_mismatch", n_a=za.shape[0], n_b=zb.shape[0])
    return za, zb


def _as_shared_space(za: Any, zb: Any) -> tuple[np.ndarray, np.ndarray]:
    za, zb = _as_pair(za, zb)
    if za.shape[1] != zb.shape[1]:
        raise DataError("errors.metrics.dim_mismatch", dim_a=za.shape[1], dim_b=zb.shape[1])
    return za, zb


def _l2_normalize(z: np.ndarray) -> np.ndarray:
    # Zero rows stay zero rather than becoming NaN.
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def _row_blocks(n_rows: int, n_cols: int) -> Iterable[slice]:
    step = max(1, _BLOCK_ENTRIES // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


# -- retrieval ---------------------------------------------------------------------------

Ties = Literal["optimistic", "random"]


def _rank_counts(
    queries: np.ndarray, items: np.ndarray, count_ties: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per query i: how many items score strictly higher than item i, and how many tie it."""
    n = queries.shape[0]
    higher = np.empty(n, dtype=np.int64)
    tied = np.zeros(n, dtype=np.int64)
    items_t = items.T.astype(np.float32)
    for rows in _row_blocks(n, n):
        sims = queries[rows].astype(np.float32) @ items_t  # (block, N)
        true = sims[np.arange(sims.shape[0]), np.arange(n)[rows]][:, None]
        higher[rows] = (sims > true).sum(1)
        if count_ties:
            tied[rows] = (sims == true).sum(1) - 1  # minus the true item itself
    return higher, tied


def retrieval(
    za: Any,
    zb: Any,
    a: str = "a",
    b: str = "b",
    ks: Iterable[int] = (1, 5, 10),
    ties: Ties = "optimistic",
) -> Metrics:
    """Cross-modal retrieval Recall@K and median rank, both directions.

    Definition (open_clip's retrieval evaluation; Ilharco et al. 2021, OpenCLIP): the
    correct match of query a_i is item b_i; with cosine similarity s_ij,

        rank_i        = #{j : s_ij > s_ii}                      (0 = retrieved first)
        recall@K      = 1/N sum_i [rank_i < K]
        median_rank   = floor(median_i rank_i) + 1              (1-based)

    Chance (a random ordering): recall@K = K/N, and median rank (N + 1)/2, the expected
    median of a rank uniform on 1..N.

    ``ties``: "optimistic" (the definition above) counts items that tie the true one as
    ranked below it, so fully collapsed embeddings (all similarities equal) score a
    perfect recall. "random" counts ties as broken uniformly at random, in expectation:
    recall contribution clip((K - rank_i) / (t_i + 1), 0, 1) with t_i the number of ties,
    median over rank_i + t_i / 2. The two agree whenever nothing ties.

    Keys: ``recall_at_{K}_{a}_to_{b}``, ``recall_at_{K}_{b}_to_{a}``,
    ``median_rank_{a}_to_{b}``, ``median_rank_{b}_to_{a}``, each with ``_chance``.
    Similarities are computed in row blocks, so N = 20k fits in memory.
    """
    za, zb = _as_shared_space(za, zb)
    if ties not in ("optimistic", "random"):
        raise DataError("errors.metrics.bad_ties", ties=ties)
    n = za.shape[0]
    if n == 0:
        raise DataError("errors.metrics.retrieval_empty")
    na, nb = _l2_normalize(za), _l2_normalize(zb)
    out: Metrics = {}
    for src, dst, queries, items in ((a, b, na, nb), (b, a, nb, na)):
        higher, tied = _rank_counts(queries, items, count_ties=ties == "random")
        for k in ks:
            hits = _hits(higher, tied, k)
            out[f"recall_at_{k}_{src}_to_{dst}"] = float(hits.mean())
            out[f"recall_at_{k}_{src}_to_{dst}_chance"] = min(k, n) / n
        out[f"median_rank_{src}_to_{dst}"] = float(np.floor(np.median(higher + tied / 2)) + 1)
        out[f"median_rank_{src}_to_{dst}_chance"] = (n + 1) / 2
    return out


def _hits(higher: np.ndarray, tied: np.ndarray, k: int) -> np.ndarray:
    """Per query: 1 when its true item is within the top k, ties broken at random in
    expectation (see :func:`retrieval`)."""
    return np.clip((k - higher) / (tied + 1), 0.0, 1.0)


def recall_hits(za: Any, zb: Any, k: int = 1) -> np.ndarray:
    """Per pair i, Recall@k's outcome averaged over both directions (a_i finds b_i, b_i
    finds a_i), ties broken at random in expectation: values in [0, 1], whose mean is the
    mean of :func:`retrieval`'s two ``recall_at_{k}`` (with ``ties="random"``). The paired
    verdicts compare two methods row by row with it (:mod:`fusion.verdicts`)."""
    za, zb = _as_shared_space(za, zb)
    na, nb = _l2_normalize(za), _l2_normalize(zb)
    out = np.zeros(za.shape[0])
    for queries, items in ((na, nb), (nb, na)):
        higher, tied = _rank_counts(queries, items, count_ties=True)
        out += _hits(higher, tied, k) / 2
    return out


def _chance_same_class(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    p = counts / counts.sum()
    return float((p**2).sum())


def class_retrieval_precision(
    za: Any, zb: Any, labels: Any, k: int = 10, a: str = "a", b: str = "b"
) -> Metrics:
    """Precision@k of same-class items among the k nearest cross-modal neighbours.

    For query a_i, with N_k(i) the k items b_j of highest cosine similarity (the paired
    item included)::

        precision@k = 1/N sum_i 1/k #{j in N_k(i) : y_j = y_i}

    A semantic retrieval score: it rewards retrieving *any* item of the right class, the
    usual evaluation when labels rather than exact pairs define relevance. Chance is
    sum_c p_c^2, the probability that a random item shares the query's class. Ties go to
    the lower index. Cost O(k N^2), computed in row blocks.

    Keys: ``class_precision_at_{k}_{a}_to_{b}`` and ``..._{b}_to_{a}``, with ``_chance``.
    """
    za, zb = _as_shared_space(za, zb)
    labels = np.asarray(labels)
    n = za.shape[0]
    if labels.shape != (n,):
        raise DataError("errors.metrics.labels_shape", n=n, shape=labels.shape)
    if k < 1:
        raise DataError("errors.metrics.bad_k", k=k)
    k_eff = min(k, n)
    na, nb = _l2_normalize(za), _l2_normalize(zb)
    chance = _chance_same_class(labels)
    out: Metrics = {}
    for src, dst, queries, items in ((a, b, na, nb), (b, a, nb, na)):
        hits = 0
        items_t = items.T.astype(np.float32)
        for rows in _row_blocks(n, n):
            sims = queries[rows].astype(np.float32) @ items_t  # (block, N)
            block = np.arange(sims.shape[0])
            # k rounds of argmax beat a full argpartition by far for the small k used here.
            for _ in range(k_eff):
                best = sims.argmax(1)
                hits += int((labels[best] == labels[rows]).sum())
                sims[block, best] = -np.inf
        out[f"class_precision_at_{k}_{src}_to_{dst}"] = hits / (n * k_eff)
        out[f"class_precision_at_{k}_{src}_to_{dst}_chance"] = chance
    return out


# -- geometry ------------------------------------------------------------------------------


def alignment(za: Any, zb: Any, alpha: float = 2) -> Metrics:
    """Alignment of positive pairs on the unit sphere (Wang & Isola 2020).

        alignment = 1/N sum_i || a_i/|a_i| - b_i/|b_i| ||_2^alpha        (lower is better)

    No chance level: a collapsed encoder reaches the perfect value 0, so alignment only
    means something next to uniformity, and a "random" reference would depend on the
    dimension and distribution chosen.
    """
    za, zb = _as_shared_space(za, zb)
    dist = np.linalg.norm(_l2_normalize(za) - _l2_normalize(zb), axis=1)
    return {"alignment": float(np.mean(dist**alpha))}


def uniformity(z: Any, t: float = 2, seed: int = 0) -> Metrics:
    """Uniformity of L2-normalised embeddings on the sphere (Wang & Isola 2020).

        uniformity = log( 2/(N(N-1)) sum_{i<j} exp(-t ||u_i - u_j||^2) ),  u = z/|z|

    Lower is better (more uniform); collapse gives the maximum 0. No chance level: the
    value of a uniform distribution depends on the dimension d and on N, and the metric
    is read against alignment rather than against guessing. Above 4000 points a seeded
    random subset of 4000 is used (all pairs would need O(N^2) memory).
    """
    z = _as_2d(z, "z")
    if z.shape[0] < 2:
        raise DataError("errors.metrics.uniformity_too_few")
    if z.shape[0] > _UNIFORMITY_MAX_POINTS:
        rng = np.random.default_rng(seed)
        z = z[rng.choice(z.shape[0], _UNIFORMITY_MAX_POINTS, replace=False)]
    from scipy.spatial.distance import pdist

    logits = -t * pdist(_l2_normalize(z), "sqeuclidean")
    top = logits.max()  # log-mean-exp, shifted so that large t cannot underflow to log(0)
    return {"uniformity": float(top + np.log(np.mean(np.exp(logits - top))))}


def modality_gap(za: Any, zb: Any) -> Metrics:
    """Modality gap (Liang et al. 2022, Mind the Gap).

        gap = || mean_i a_i/|a_i| - mean_i b_i/|b_i| ||_2

    The distance between the centroids of the two modalities on the unit sphere; 0 when
    both occupy the same region. No chance level (it is a geometric description).
    """
    za, zb = _as_shared_space(za, zb)
    delta = _l2_normalize(za).mean(0) - _l2_normalize(zb).mean(0)
    return {"modality_gap": float(np.linalg.norm(delta))}


def spread(z: Any) -> Metrics:
    """Mean per-dimension standard deviation: 1/d sum_k std_i(z_ik).

    Unnormalised, so it shows collapse toward a point (spread -> 0), which the seed
    objective's minimum reaches. No chance level.
    """
    z = _as_2d(z, "z")
    return {"spread": float(z.std(axis=0).mean())}


# A spread that fell by this factor or more from the first snapshot to the last is shown as
# collapse: maps of such a run default to PCA on axes fixed across epochs, where the cloud
# visibly shrinks, because UMAP keeps neighbourhoods but rescales every map to one size.
COLLAPSE_FACTOR = 100.0


def spread_factor(z_first: Any, z_last: Any) -> float:
    """How many times smaller the spread of ``z_last`` is than that of ``z_first``.

    spread(z_first) / spread(z_last) with :func:`spread`; > 1 means the embeddings
    shrank, and at least :data:`COLLAPSE_FACTOR` is called collapse. A last snapshot with
    no spread at all gives ``inf``.
    """
    first, last = spread(z_first)["spread"], spread(z_last)["spread"]
    if last <= 0.0:
        return float("inf") if first > 0.0 else 1.0
    return first / last


# -- probes and CCA ----------------------------------------------------------------------


def linear_probe_accuracy(
    z_train: Any, y_train: Any, z_val: Any, y_val: Any, seed: int = 0
) -> Metrics:
    """Validation accuracy of a logistic-regression probe trained on frozen embeddings.

    The linear-probe protocol (Alain & Bengio 2016; Radford et al. 2021, CLIP): standardise
    the features, fit multinomial logistic regression (L2, C = 1, lbfgs) on the training
    embeddings, report accuracy on the validation embeddings.

    ``linear_probe_accuracy_chance`` is the majority-class baseline (the frequency of the
    most common class in y_val); ``linear_probe_accuracy_uniform_chance`` is 1/C, C the
    number of classes seen in training or validation.
    """
    z_train, z_val = _as_2d(z_train, "z_train"), _as_2d(z_val, "z_val")
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    if len(y_train) != len(z_train) or len(y_val) != len(z_val):
        raise DataError("errors.metrics.probe_labels")
    if len(y_val) == 0:
        raise DataError("errors.metrics.probe_no_val")
    classes = np.unique(np.concatenate([y_train, y_val]))
    pred = probe_predictions(z_train, y_train, z_val, seed)
    _, counts = np.unique(y_val, return_counts=True)
    return {
        "linear_probe_accuracy": float(np.mean(pred == y_val)),
        "linear_probe_accuracy_chance": float(counts.max() / counts.sum()),
        "linear_probe_accuracy_uniform_chance": 1.0 / len(classes),
    }


def probe_predictions(z_train: Any, y_train: Any, z_val: Any, seed: int = 0) -> np.ndarray:
    """The linear probe's predicted class for each row of ``z_val`` (see
    :func:`linear_probe_accuracy`); one class seen in training predicts that class."""
    z_train, z_val = _as_2d(z_train, "z_train"), _as_2d(z_val, "z_val")
    y_train = np.asarray(y_train)
    if len(np.unique(y_train)) < 2:
        return np.full(len(z_val), y_train[0] if len(y_train) else 0)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    return probe.fit(z_train, y_train).predict(z_val)


def _inv_sqrt_psd(mat: np.ndarray) -> np.ndarray:
    eigval, eigvec = np.linalg.eigh(mat)
    return (eigvec / np.sqrt(np.maximum(eigval, 1e-12))) @ eigvec.T


def canonical_correlations(za: Any, zb: Any, k: int | None = None, eps: float = 1e-3) -> np.ndarray:
    """Canonical correlations between two embedding sets (Hotelling 1936), largest first.

    Regularised CCA via the SVD of the whitened cross-covariance::

        S_aa = cov(a) + eps I,  S_bb = cov(b) + eps I,  S_ab = cov(a, b)
        rho  = singular values of S_aa^(-1/2) S_ab S_bb^(-1/2)

    the same quantity Deep CCA maximises (Andrew et al. 2013). Returns the top ``k``
    (all min(d_a, d_b) when None) as a float array with values in [0, 1].
    """
    za, zb = _as_pair(za, zb)
    n = za.shape[0]
    if n < 2:
        raise DataError("errors.metrics.cca_too_few")
    ha, hb = za - za.mean(0), zb - zb.mean(0)
    s_aa = ha.T @ ha / (n - 1) + eps * np.eye(za.shape[1])
    s_bb = hb.T @ hb / (n - 1) + eps * np.eye(zb.shape[1])
    s_ab = ha.T @ hb / (n - 1)
    rho = np.linalg.svd(_inv_sqrt_psd(s_aa) @ s_ab @ _inv_sqrt_psd(s_bb), compute_uv=False)
    return np.clip(rho[:k], 0.0, 1.0)


def mean_canonical_correlation(za: Any, zb: Any, k: int | None = None, seed: int = 0) -> Metrics:
    """Mean of the top-k canonical correlations (see :func:`canonical_correlations`).

    The directions are fitted on the same rows they are scored on, so even independent
    data scores well above 0: spurious canonical correlations grow with d/N (about 0.17
    for d = 16 at N = 400). The chance level is therefore measured, not assumed:
    ``mean_canonical_correlation_chance`` is the same statistic on the same rows with the
    pairs shuffled (b's rows permuted, seeded), which keeps each view's own structure and
    breaks only the pairing. Read the metric as its distance above that level.
    """
    za, zb = _as_pair(za, zb)
    shuffled = zb[np.random.default_rng(seed).permutation(zb.shape[0])]
    return {
        "mean_canonical_correlation": float(canonical_correlations(za, zb, k).mean()),
        "mean_canonical_correlation_chance": float(canonical_correlations(za, shuffled, k).mean()),
    }


# -- attention fusion ------------------------------------------------------------------------


def classification(y_true: Any, y_pred: Any, n_classes: int) -> Metrics:
    """Accuracy and macro-F1 of a classifier (scikit-learn's ``f1_score(average="macro")``).

        accuracy = 1/N sum_i [y_pred_i = y_true_i]
        macro_F1 = 1/C sum_c 2 P_c R_c / (P_c + R_c)   (classes present in y_true or y_pred)

    Chance: ``accuracy_chance`` and ``macro_f1_chance`` are the scores of one guess, always
    predicting the majority class of y_true; ``accuracy_uniform_chance`` = 1 / n_classes.
    They differ for that one guess: with C balanced classes its accuracy is 1/C, but its
    macro-F1 is (2/(C+1))/C, F1 on the majority class and 0 on the others (0.1 for C = 4).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise DataError(
            "errors.metrics.classification_shapes", shape_true=y_true.shape, shape_pred=y_pred.shape
        )
    if n_classes < 1:
        raise DataError("errors.metrics.bad_n_classes", n_classes=n_classes)
    from sklearn.metrics import accuracy_score, f1_score

    values, counts = np.unique(y_true, return_counts=True)
    majority = np.full_like(y_true, values[np.argmax(counts)])
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "accuracy_chance": float(counts.max() / counts.sum()),
        "accuracy_uniform_chance": 1.0 / n_classes,
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "macro_f1_chance": float(f1_score(y_true, majority, average="macro", zero_division=0)),
    }


def attention_mask_agreement(weights: Any, mask: Any) -> Metrics:
    """Does attention follow reliability, sample by sample? Two scores and their chance.

        attention_mask_spearman  = 1/|M'| sum_{m in M'} spearman( w[R, m], mask[R, m] )
        attention_on_informative = 1/|R| sum_{i in R} sum_m w_im mask_im

    (Spearman 1904.) w (N, M) are attention weights (rows sum to 1), mask (N, M) is 1
    where a modality carries signal. R keeps only the rows where the mask is mixed: a row
    that is all 0 or all 1 says nothing about which modality deserves attention. M' are
    the modalities whose mask varies over R.

    The correlation is taken *within each modality's column* and averaged, so it asks
    "is modality m weighted more in the samples where m works than where it is broken?".
    A model that always prefers the modality that is informative more often (a base
    rate, learnt without looking at any sample) scores 0 here; pooled over all cells, as
    this metric once was, constant weights (0.1, 0.9) with P(b informative) = 0.8 scored
    0.5-0.6. A column of constant weights ranks nothing and counts 0.

    Chance (attention independent of the mask): spearman 0; attention_on_informative
    sum_m mean_R(w_m) mean_R(mask_m), which keeps the model's own average preference and
    so is what constant weights score. Without mixed rows both metrics are NaN. Against
    a binary mask the rank correlation reaches 1 only when attention takes one value
    where m works and another where it does not; spread within those groups lowers it.
    """
    w, m = np.asarray(weights, dtype=np.float64), np.asarray(mask, dtype=np.float64)
    if w.ndim != 2 or w.shape != m.shape:
        raise DataError("errors.metrics.mask_shapes", shape_weights=w.shape, shape_mask=m.shape)
    informative = m.sum(1)
    rows = (informative > 0) & (informative < m.shape[1])
    nan = float("nan")
    if not rows.any():
        return {
            "attention_mask_spearman": nan,
            "attention_mask_spearman_chance": 0.0,
            "attention_on_informative": nan,
            "attention_on_informative_chance": nan,
        }
    from scipy.stats import spearmanr

    w_r, m_r = w[rows], m[rows]
    rhos = []
    for j in range(m.shape[1]):
        if np.ptp(m_r[:, j]) == 0:
            continue  # this modality's reliability does not vary: nothing to follow
        # Constant weights rank nothing; spearmanr would return NaN with a warning.
        constant = np.ptp(w_r[:, j]) == 0
        rhos.append(0.0 if constant else float(spearmanr(w_r[:, j], m_r[:, j]).statistic))
    return {
        "attention_mask_spearman": float(np.mean(rhos)) if rhos else nan,
        "attention_mask_spearman_chance": 0.0,
        "attention_on_informative": float((w_r * m_r).sum(1).mean()),
        "attention_on_informative_chance": float((w_r.mean(0) * m_r.mean(0)).sum()),
        **attention_rank_biserial(w, m),
    }


AGREEMENT_PERMUTATIONS = 200  # permutations of the mask for the interval around chance


def attention_rank_biserial(weights: Any, mask: Any, seed: int = 0) -> Metrics:
    """Does a modality get more attention where it works than where it is broken?

        r_m = 2 AUC_m - 1,   AUC_m = P(w_im > w_jm | mask_im = 1, mask_jm = 0) (+ ties / 2)
        attention_mask_agreement = 1/|M'| sum_{m in M'} r_m

    the rank-biserial correlation (Glass 1966; Kerby 2014, "The simple difference formula")
    of each modality's weight with its reliability over all rows, averaged over the
    modalities M' whose reliability varies. Chance (attention that ignores the mask) is 0
    and a perfect gate, every working sample weighted above every broken one, scores 1 at
    any base rate; negative values mean attention goes to the broken modality.

    ``attention_mask_agreement_null_low`` / ``_null_high``: the 2.5 % and 97.5 %
    quantiles of the score over ``AGREEMENT_PERMUTATIONS`` seeded permutations of the mask
    rows (the same weights, reliability shuffled): scores inside that band are what an
    attention independent of reliability would reach on these rows.
    """
    from scipy.stats import rankdata

    w, m = np.asarray(weights, dtype=np.float64), np.asarray(mask, dtype=np.float64) > 0.5
    nan = float("nan")
    cols = [j for j in range(m.shape[1]) if 0 < m[:, j].sum() < len(m)]
    if not cols:
        return {
            "attention_mask_agreement": nan,
            "attention_mask_agreement_chance": 0.0,
            "attention_mask_agreement_null_low": nan,
            "attention_mask_agreement_null_high": nan,
        }
    rng = np.random.default_rng(seed)
    observed, null = [], np.zeros(AGREEMENT_PERMUTATIONS)
    for j in cols:
        ranks = rankdata(w[:, j])  # average ranks: ties count one half
        pos = m[:, j]
        n1, n0 = int(pos.sum()), int((~pos).sum())
        scale = 2.0 / (n1 * n0)
        offset = n1 * (n1 + 1) / 2

        def r(rank_sums: np.ndarray, scale=scale, offset=offset) -> np.ndarray:
            return (rank_sums - offset) * scale - 1.0  # 2 U / (n1 n0) - 1

        observed.append(float(r(np.array([ranks[pos].sum()]))[0]))
        shuffled = rng.permuted(np.tile(pos, (AGREEMENT_PERMUTATIONS, 1)), axis=1)
        null += r(shuffled.astype(np.float64) @ ranks)
    null /= len(cols)
    low, high = np.quantile(null, [0.025, 0.975])
    return {
        "attention_mask_agreement": float(np.mean(observed)),
        "attention_mask_agreement_chance": 0.0,
        "attention_mask_agreement_null_low": float(low),
        "attention_mask_agreement_null_high": float(high),
    }


# -- everything at once --------------------------------------------------------------------

# Retrieval and class precision compare every query with every item (O(N^2) time): above
# this many validation rows they run on a seeded subsample of this size (about 2 s on two
# CPU cores), so evaluation grows linearly with the data.
RETRIEVAL_MAX_ROWS = 10_000


def retrieval_subsample(n: int, max_rows: int | None, seed: int = 0) -> np.ndarray | None:
    """Sorted row indices of a seeded subsample of ``max_rows`` of ``n`` rows; None keeps all.

    The same ``n``, ``max_rows`` and ``seed`` always give the same rows, so a run's
    metrics are reproducible and two runs on the same validation split are compared on
    the same pairs.
    """
    if max_rows is None or n <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))


def retrieval_rows(n: int, max_rows: int | None = RETRIEVAL_MAX_ROWS) -> int:
    """How many of ``n`` validation rows :func:`joint_metrics` ranks for retrieval.

    Callers store it beside the metrics (``retrieval_rows`` in a run's metrics.json), so
    a page can say when Recall@K was measured on a subsample.
    """
    return n if max_rows is None else min(n, max_rows)


def joint_metrics(
    embeddings: dict[str, Any],
    labels: Any = None,
    train_embeddings: dict[str, Any] | None = None,
    train_labels: Any = None,
    ks: Iterable[int] = (1, 5, 10),
    ties: Ties = "optimistic",
    max_rows: int | None = RETRIEVAL_MAX_ROWS,
    seed: int = 0,
) -> Metrics:
    """Every joint-embedding metric that applies, for every modality and modality pair.

    Per pair (a, b), in the order of ``embeddings``: :func:`retrieval` (both directions),
    ``alignment_{a}_{b}``, ``modality_gap_{a}_{b}``, ``mean_canonical_correlation_{a}_{b}``
    and, with labels, ``class_precision_at_10_{a}_to_{b}`` (both directions).
    Per modality m: ``uniformity_{m}``, ``spread_{m}`` and, with training embeddings and
    labels, ``linear_probe_accuracy_{m}``.
    Summaries: ``recall_at_1_mean`` (over all directions, chance 1/N), ``spread`` (mean
    over modalities), ``modality_gap`` (mean over pairs), ``alignment`` and ``uniformity``
    (means), and ``linear_probe_accuracy`` (mean over modalities) when probed.
    Chance levels as ``_chance`` keys throughout. ``ks`` and ``ties`` go to
    :func:`retrieval` (Recall@1 is always computed); the probe needs ``labels`` too.

    Retrieval and class precision cost O(N^2): above ``max_rows`` rows (None: never) they
    use a seeded subsample of ``max_rows`` rows (:func:`retrieval_subsample`), and their
    chance levels are those of the subsample (:func:`retrieval_rows` says how many rows
    they used); every other metric uses all rows.
    """
    if len(embeddings) < 2:
        raise DataError("errors.metrics.joint_too_few", n=len(embeddings))
    ks = tuple(ks)
    emb = {name: _as_2d(z, name) for name, z in embeddings.items()}
    n = next(iter(emb.values())).shape[0]
    rows = retrieval_subsample(n, max_rows, seed)
    sub = emb if rows is None else {name: z[rows] for name, z in emb.items()}
    sub_labels = labels if rows is None or labels is None else np.asarray(labels)[rows]
    n_ret = n if rows is None else len(rows)
    out: Metrics = {}
    recall_1, gaps, aligns = [], [], []
    for a, b in combinations(emb, 2):
        za, zb = emb[a], emb[b]
        ret = retrieval(sub[a], sub[b], a, b, ks=ks if 1 in ks else (1, *ks), ties=ties)
        out.update(ret)
        recall_1 += [ret[f"recall_at_1_{a}_to_{b}"], ret[f"recall_at_1_{b}_to_{a}"]]
        out[f"alignment_{a}_{b}"] = alignment(za, zb)["alignment"]
        out[f"modality_gap_{a}_{b}"] = modality_gap(za, zb)["modality_gap"]
        mcc = mean_canonical_correlation(za, zb)
        out[f"mean_canonical_correlation_{a}_{b}"] = mcc["mean_canonical_correlation"]
        out[f"mean_canonical_correlation_{a}_{b}_chance"] = mcc["mean_canonical_correlation_chance"]
        aligns.append(out[f"alignment_{a}_{b}"])
        gaps.append(out[f"modality_gap_{a}_{b}"])
        if labels is not None:
            out.update(class_retrieval_precision(sub[a], sub[b], sub_labels, k=10, a=a, b=b))
    spreads, uniforms = [], []
    for m, z in emb.items():
        out[f"spread_{m}"] = spread(z)["spread"]
        out[f"uniformity_{m}"] = uniformity(z)["uniformity"]
        spreads.append(out[f"spread_{m}"])
        uniforms.append(out[f"uniformity_{m}"])
    out["recall_at_1_mean"] = float(np.mean(recall_1))
    out["recall_at_1_mean_chance"] = 1.0 / n_ret
    out["spread"] = float(np.mean(spreads))
    out["modality_gap"] = float(np.mean(gaps))
    out["alignment"] = float(np.mean(aligns))
    out["uniformity"] = float(np.mean(uniforms))
    if train_embeddings is not None and train_labels is not None and labels is not None:
        probes = []
        for m, z in emb.items():
            probe = linear_probe_accuracy(train_embeddings[m], train_labels, z, labels)
            probes.append(probe["linear_probe_accuracy"])
            out[f"linear_probe_accuracy_{m}"] = probe["linear_probe_accuracy"]
            out[f"linear_probe_accuracy_{m}_chance"] = probe["linear_probe_accuracy_chance"]
        out["linear_probe_accuracy"] = float(np.mean(probes))
        out["linear_probe_accuracy_chance"] = probe["linear_probe_accuracy_chance"]
        out["linear_probe_accuracy_uniform_chance"] = probe["linear_probe_accuracy_uniform_chance"]
    return out
