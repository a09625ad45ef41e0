"""Paired multimodal data: one type for every data set in the playground.

A :class:`PairedData` holds M >= 2 modalities of the same N samples. Row i of
every modality describes the same thing (an image and its caption, two sensors
at the same instant). Modalities are float32 arrays, either feature vectors
(N, d) or image-shaped (N, H, W). Optional extras: class labels (N,), a
per-sample reliability mask (N, M) where 1 means "this modality carries signal
for this sample", sample ids, raw caption texts for text modalities, and
per-sample boolean flags (for example which pairs were deliberately
mismatched).

The generators live in :mod:`fusion.generators`, the file loaders in
:mod:`fusion.loaders`; both return this type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fusion.errors import DataError
from fusion.i18n import DEFAULT_LANGUAGE, translate

MIN_ROWS = 10  # fewer paired rows than this cannot be split and trained on


@dataclass
class PairedData:
    """M aligned modalities of N samples.

    modalities: name -> float32 array (N, d) or (N, H, W); insertion order is
        the modality order used everywhere (mask columns, attention weights).
    labels: int64 (N,) class index, or None when unlabelled.
    label_names: display name per class index (len = number of classes).
    mask: float32 (N, M) reliability mask, or None when unknown.
    ids: str (N,) sample identifiers (row numbers when the source had none).
    texts: modality name -> list of N raw strings, for text modalities whose
        features were computed from text (shown beside retrieval results).
    flags: name -> bool (N,) per-sample facts, e.g. "mismatched".
    groups: str (N,) group of each sample, or None: rows that share a group (several
        captions of one image, several recordings of one person, copies of one source
        digit) are kept on the same side of every train/validation split.
    source: how the data was made, e.g. {"generator": "shared_latent",
        "params": {...}} or {"files": [...]}, so a run can say and redo it.
    """

    modalities: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    label_names: list[str] | None = None
    mask: np.ndarray | None = None
    ids: np.ndarray | None = None
    texts: dict[str, list[str]] = field(default_factory=dict)
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    groups: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.modalities) < 2:
            if not self.modalities:
                raise DataError("errors.data.no_modalities")
            raise DataError(
                "errors.data.too_few_modalities",
                n=len(self.modalities),
                names=", ".join(self.modalities),
            )
        mods = {}
        n = None
        for name, arr in self.modalities.items():
            arr = np.asarray(arr)
            if arr.ndim not in (2, 3):
                raise DataError("errors.data.bad_shape", modality=name, shape=arr.shape)
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise DataError(
                    "errors.data.row_mismatch", modality=name, n_rows=arr.shape[0], n_first=n
                )
            mods[name] = np.ascontiguousarray(arr, dtype=np.float32)
        self.modalities = mods
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            assert self.labels.shape == (n,), f"labels shape {self.labels.shape} != ({n},)"
            if self.label_names is None:
                self.label_names = [str(i) for i in range(int(self.labels.max()) + 1)]
        if self.mask is not None:
            self.mask = np.asarray(self.mask, dtype=np.float32)
            assert self.mask.shape == (n, len(mods)), f"mask shape {self.mask.shape}"
        if self.ids is None:
            self.ids = np.array([str(i) for i in range(n)])
        else:
            self.ids = np.asarray(self.ids).astype(str)
        for k, v in self.flags.items():
            self.flags[k] = np.asarray(v, dtype=bool)
        if self.groups is not None:
            self.groups = np.asarray(self.groups).astype(str)
            assert self.groups.shape == (n,), f"groups shape {self.groups.shape} != ({n},)"

    # -- shape facts -------------------------------------------------------
    @property
    def n(self) -> int:
        return next(iter(self.modalities.values())).shape[0]

    @property
    def names(self) -> list[str]:
        return list(self.modalities)

    @property
    def n_modalities(self) -> int:
        return len(self.modalities)

    @property
    def n_classes(self) -> int:
        return 0 if self.labels is None else len(self.label_names or [])

    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shape of each modality: (d,) or (H, W)."""
        return {k: tuple(v.shape[1:]) for k, v in self.modalities.items()}

    def is_image(self, name: str) -> bool:
        return self.modalities[name].ndim == 3

    def flat(self, name: str) -> np.ndarray:
        """Modality ``name`` as (N, d) features (images flattened row-major)."""
        arr = self.modalities[name]
        return arr.reshape(arr.shape[0], -1)

    # -- selection ----------------------------------------------------------
    def subset(self, idx: np.ndarray) -> PairedData:
        """The samples at ``idx`` (an index array or boolean mask), in that order."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return PairedData(
            modalities={k: v[idx] for k, v in self.modalities.items()},
            labels=None if self.labels is None else self.labels[idx],
            label_names=self.label_names,
            mask=None if self.mask is None else self.mask[idx],
            ids=self.ids[idx],
            texts={k: [v[i] for i in idx] for k, v in self.texts.items()},
            flags={k: v[idx] for k, v in self.flags.items()},
            source=dict(self.source),
            groups=None if self.groups is None else self.groups[idx],
        )

    def split_rows(self, val_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of the seeded train/validation split (see :func:`split_indices`)."""
        return split_indices(self.n, val_fraction, seed, self.labels, self.groups)

    def split(self, val_fraction: float = 0.2, seed: int = 0) -> tuple[PairedData, PairedData]:
        """Deterministic seeded train/validation split (see :func:`split_indices`)."""
        tr, va = self.split_rows(val_fraction, seed)
        return self.subset(tr), self.subset(va)

    def roles(self, val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> Roles:
        """Row indices of the seeded train/validation/test split (see :func:`split_roles`)."""
        return split_roles(self.n, val_fraction, test_fraction, seed, self.labels, self.groups)

    def describe(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """One line about the data in ``lang``: '300 samples: a 8×8 + b 16, 3 classes'."""
        parts = " + ".join(
            f"{k} {'×'.join(map(str, v.shape[1:]))}" for k, v in self.modalities.items()
        )
        if self.labels is None:
            return translate(
                "messages.data.describe_unlabelled", lang, n=f"{self.n:,}", parts=parts
            )
        return translate(
            "messages.data.describe", lang, n=f"{self.n:,}", parts=parts, n_classes=self.n_classes
        )


def split_indices(
    n: int,
    val_fraction: float = 0.2,
    seed: int = 0,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation index split, stratified by label when labels exist.

    With ``groups``, whole groups go to one side: validation never holds a row whose
    group (its source image, subject or recording) also has rows in training. Groups
    are then stratified by their most common label, and ``val_fraction`` counts groups.
    When every row is its own group this is exactly the ungrouped split.

    The same arguments always give the same split. Both parts are sorted so that row
    order is kept within each part.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError("errors.data.bad_val_fraction", val_fraction=val_fraction)
    if n < MIN_ROWS:
        raise DataError("errors.data.too_few_rows", n=n, min_rows=MIN_ROWS)
    return _split(n, val_fraction, seed, labels, groups)


def _split(
    n: int, val_fraction: float, seed: int, labels: np.ndarray | None, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_indices` without its checks on the arguments."""
    if groups is not None:
        keys, member = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        if len(keys) < n:
            return _split_groups(n, member, len(keys), val_fraction, seed, labels)
    is_val = np.zeros(n, dtype=bool)
    is_val[_pick_val(n, val_fraction, np.random.default_rng(seed), labels)] = True
    return _train_val(is_val)


def _pick_val(
    n: int, val_fraction: float, rng: np.random.Generator, labels: np.ndarray | None
) -> np.ndarray:
    """Validation picks among n items, stratified by ``labels`` when given."""
    if labels is None:
        return rng.permutation(n)[: max(1, int(round(n * val_fraction)))]
    val: list[int] = []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(len(members) * val_fraction))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        val.extend(members[:k])
    if not val:
        return rng.permutation(n)[:1]
    return np.asarray(val, dtype=np.int64)


def _split_groups(
    n: int,
    member: np.ndarray,
    n_groups: int,
    val_fraction: float,
    seed: int,
    labels: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The split of :func:`split_indices` over groups; rows follow their group."""
    if n_groups < 2:
        raise DataError("errors.data.too_few_groups", n_groups=n_groups)
    group_labels = None
    if labels is not None:  # each group's most common label (the lowest on a tie)
        counts = np.zeros((n_groups, int(labels.max()) + 1), dtype=np.int64)
        np.add.at(counts, (member, labels), 1)
        group_labels = counts.argmax(1)
    val_groups = np.zeros(n_groups, dtype=bool)
    val_groups[_pick_val(n_groups, val_fraction, np.random.default_rng(seed), group_labels)] = True
    if val_groups.all():
        val_groups[np.flatnonzero(val_groups)[0]] = False
    return _train_val(val_groups[member])


def _train_val(is_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    if len(train_idx) < 2:
        raise DataError("errors.data.too_few_train_rows", n_train=len(train_idx))
    return train_idx, val_idx


@dataclass
class Roles:
    """Which rows do what in one run (sorted index arrays, disjoint, covering every row).

    train: fits the model. val: serves every choice (early stopping, the standardisation
    check, the baseline a run is set against). test: is reported and compared, and nothing
    chooses on it; empty for a run with ``test_fraction`` 0 (its numbers are measured on
    validation rows). fold / folds: which fold of a cross-validation this is
    (0 of 1 for a single split).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    fold: int = 0
    folds: int = 1


def split_roles(
    n: int,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> Roles:
    """Seeded train/validation/test split, stratified by label, keeping groups whole.

    The test rows are drawn first (``test_fraction`` of the rows, or of the groups), then
    the validation rows from the rest, so that ``val_fraction`` is a share of all rows.
    ``test_fraction`` 0 gives no test rows: the two-way split of :func:`split_indices`.
    """
    if test_fraction <= 0:
        train, val = split_indices(n, val_fraction, seed, labels, groups)
        return Roles(train, val, np.zeros(0, dtype=np.int64))
    if not 0.0 < val_fraction + test_fraction < 1.0:
        raise DataError(
            "errors.data.bad_role_fractions", val_fraction=val_fraction, test_fraction=test_fraction
        )
    rest, test = split_indices(n, test_fraction, seed, labels, groups)
    return _val_from(rest, test, val_fraction / (1.0 - test_fraction), seed, labels, groups)


def _val_from(
    rest: np.ndarray,
    test: np.ndarray,
    val_share: float,
    seed: int,
    labels: np.ndarray | None,
    groups: np.ndarray | None,
    fold: int = 0,
    folds: int = 1,
) -> Roles:
    """Roles with ``test`` held out and validation drawn from ``rest`` (a share of it)."""
    tr, va = _split(
        len(rest),
        min(max(val_share, 1e-6), 1 - 1e-6),
        seed,
        None if labels is None else labels[rest],
        None if groups is None else groups[rest],
    )
    return Roles(rest[tr], rest[va], np.sort(test), fold, folds)


def cross_validation_roles(
    n: int,
    folds: int = 5,
    val_fraction: float = 0.2,
    seed: int = 0,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> list[Roles]:
    """k-fold cross-validation: every row is a test row exactly once, in fold k, by a model
    fitted without it; within each fold the validation rows (``val_fraction`` of all rows)
    come from the other folds. Folds are stratified by label and keep groups whole
    (scikit-learn's ``StratifiedGroupKFold``, ``StratifiedKFold``, ``GroupKFold`` or
    ``KFold``, shuffled with ``seed``)."""
    import warnings

    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    if n < MIN_ROWS:
        raise DataError("errors.data.too_few_rows", n=n, min_rows=MIN_ROWS)
    n_groups = n if groups is None else len(np.unique(groups))
    if not 2 <= folds <= n_groups:
        raise DataError("errors.data.bad_folds", folds=folds, n_groups=n_groups)
    x = np.zeros((n, 1))
    grouped = groups is not None and n_groups < n
    if labels is not None and np.unique(labels).size > 1:
        splitter: Any = (
            StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
            if grouped
            else StratifiedKFold(folds, shuffle=True, random_state=seed)
        )
    else:
        splitter = GroupKFold(folds) if grouped else KFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class with fewer members than folds: still valid
        warnings.simplefilter("ignore", UserWarning)
        pieces = list(splitter.split(x, labels, groups if grouped else None))
    val_share = val_fraction / (1.0 - 1.0 / folds)
    return [
        _val_from(np.sort(rest), test, val_share, seed, labels, groups, i, folds)
        for i, (rest, test) in enumerate(pieces)
    ]


def plan_roles(data: PairedData, train: Any) -> list[Roles]:
    """The roles of ``data``'s rows for a run with ``train`` (a
    :class:`~fusion.config.TrainConfig`): one seeded train/validation/test split, or, when
    its test rows would be fewer than ``train.min_test_rows``, ``train.cv_folds``-fold
    cross-validation (:func:`cross_validation_roles`). Raises
    :class:`~fusion.errors.DataError` when the data is too small for either."""
    t = train
    n_units = data.n if data.groups is None else len(np.unique(data.groups))
    if t.test_fraction > 0 and round(n_units * t.test_fraction) < t.min_test_rows:
        folds = min(t.cv_folds, n_units)
        return cross_validation_roles(
            data.n, folds, t.val_fraction, t.seed, data.labels, data.groups
        )
    return [data.roles(t.val_fraction, t.test_fraction, t.seed)]
