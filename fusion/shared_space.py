"""The linear CCA step that turns Deep CCA's network outputs into one shared space.

Deep CCA (Andrew et al. 2013, Deep Canonical Correlation Analysis, ICML) trains one
network per view so that their outputs are maximally *correlated*; the outputs of the two
networks share no coordinates. The method's last step is a linear CCA fitted on the
training outputs: each view is centred and projected onto its canonical directions, and
only there is component k of view a comparable to component k of view b. Retrieval,
alignment, the modality gap and the maps of a Deep CCA run are therefore computed in that
projected space (:class:`CCAProjection`), fitted on training rows only and applied to
validation rows.

With two views the projection is regularised CCA (Hotelling 1936)::

    S_mm = cov(z_m) + eps (tr cov(z_m) / d_m) I,   C = S_aa^(-1/2) S_ab S_bb^(-1/2) = U diag(rho) V^T
    A_a  = S_aa^(-1/2) U,      A_b = S_bb^(-1/2) V,        p_m(z) = (z - mean_m) A_m

With M > 2 views it is the MAXVAR generalisation (Kettenring 1971, Canonical analysis of
several sets of variables): the top eigenvectors of the covariance of the concatenated
whitened views, split back into one block per view. For M = 2 the two coincide (the
eigenvectors of [[I, C], [C^T, I]] are the stacked pairs (u_k, v_k) with eigenvalues
1 + rho_k), so one code path serves both. Each projected component is scaled to unit
variance on the training rows.

numpy only: reading or applying a projection needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.errors import DataError

FILE = "shared_space.npz"  # where a run folder keeps its projection (fusion.runs)
DEFAULT_EPS = 1e-3  # ridge on each view's covariance, as in the DCCA loss (fusion.losses.dcca)


@dataclass
class CCAProjection:
    """Per-view centring and projection onto shared canonical components.

    names: the views, in order; means: per view (d_m,); weights: per view (d_m, k);
    correlations: (k,) the canonical correlations of the training rows, largest first
    (for M > 2, the mean pairwise correlation of each component).
    """

    names: list[str]
    means: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    correlations: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.correlations.shape[0])

    def transform(self, embeddings: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Project each view's embeddings (n, d_m) into the shared space (n, k), float32."""
        out = {}
        for name, z in embeddings.items():
            if name not in self.weights:
                raise DataError("errors.shared_space.unknown_view", view=name, views=self.names)
            z = np.asarray(z, dtype=np.float64)
            out[name] = ((z - self.means[name]) @ self.weights[name]).astype(np.float32)
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for ``np.savez`` (no pickled objects)."""
        arrays: dict[str, np.ndarray] = {
            "names": np.array(self.names, dtype=str),
            "correlations": self.correlations,
        }
        for name in self.names:
            arrays[f"mean__{name}"] = self.means[name]
            arrays[f"weights__{name}"] = self.weights[name]
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CCAProjection:
        names = [str(n) for n in np.asarray(arrays["names"]).tolist()]
        return cls(
            names=names,
            means={n: np.asarray(arrays[f"mean__{n}"], dtype=np.float64) for n in names},
            weights={n: np.asarray(arrays[f"weights__{n}"], dtype=np.float64) for n in names},
            correlations=np.asarray(arrays["correlations"], dtype=np.float64),
        )


def _inv_sqrt_psd(mat: np.ndarray) -> np.ndarray:
    eigval, eigvec = np.linalg.eigh(mat)
    return (eigvec / np.sqrt(np.maximum(eigval, 1e-12))) @ eigvec.T


def fit_cca(
    embeddings: dict[str, np.ndarray], dim: int | None = None, eps: float = DEFAULT_EPS
) -> CCAProjection:
    """Fit the shared canonical space of two or more views on training rows (see module).

    ``dim`` components (default: the smallest view width), ``eps`` the ridge added to
    each view's covariance, relative to its mean variance (``eps * tr(S_mm) / d_m``), so
    the same ``eps`` regularises a view in millimetres and one in metres alike. Raises :class:`~fusion.errors.DataError` with fewer than two
    views or fewer rows than needed.
    """
    names = list(embeddings)
    if len(names) < 2:
        raise DataError("errors.shared_space.too_few_views", n=len(names))
    views = [np.asarray(embeddings[m], dtype=np.float64) for m in names]
    n = views[0].shape[0]
    if n < 3 or any(v.ndim != 2 or v.shape[0] != n for v in views):
        raise DataError("errors.shared_space.bad_rows", n=n)
    widths = [v.shape[1] for v in views]
    k = min(widths) if dim is None else max(1, min(int(dim), min(widths)))
    means, whiteners, whitened = {}, {}, []
    for name, v in zip(names, views, strict=True):
        means[name] = v.mean(0)
        h = v - means[name]
        cov = h.T @ h / (n - 1)
        ridge = eps * max(float(np.trace(cov)) / v.shape[1], 1e-12)  # relative to the view's scale
        whiteners[name] = _inv_sqrt_psd(cov + ridge * np.eye(v.shape[1]))
        whitened.append(h @ whiteners[name])
    joint = np.concatenate(whitened, axis=1)  # (n, sum d_m)
    evals, evecs = np.linalg.eigh(joint.T @ joint / (n - 1))
    top = evecs[:, ::-1][:, :k]  # largest eigenvalues first
    weights, projected, start = {}, [], 0
    for name, w_half, width in zip(names, whitened, widths, strict=True):
        block = whiteners[name] @ top[start : start + width]  # (d_m, k)
        p = w_half @ top[start : start + width]
        scale = p.std(0, ddof=1)
        scale[scale < 1e-12] = 1.0
        weights[name] = block / scale
        projected.append(p / scale)
        start += width
    # Signs: make component k of every view correlate positively with the first view's.
    for i in range(1, len(names)):
        flip = np.sign((projected[0] * projected[i]).sum(0))
        flip[flip == 0] = 1.0
        weights[names[i]] = weights[names[i]] * flip
        projected[i] = projected[i] * flip
    pairs = [
        (projected[i] * projected[j]).sum(0) / (n - 1)
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]
    return CCAProjection(
        names=names,
        means=means,
        weights=weights,
        correlations=np.clip(np.mean(pairs, axis=0), -1.0, 1.0),
    )
