"""Seeded synthetic paired data sets, each returning a :class:`~fusion.data.PairedData`.

Every generator is deterministic for a given ``seed`` and records everything
needed to redo it in ``source = {"generator": name, "params": {...}}``, so
``generate(d.source["generator"], **d.source["params"])`` rebuilds ``d``.
Defaults are small: a demo trains in seconds on a laptop CPU.

- :func:`shared_latent`: M views of one class-structured latent, each through
  its own random nonlinear map, with controllable noise, corrupted modalities
  and mismatched pairs (the setting contrastive alignment assumes, e.g. CLIP,
  Radford et al. 2021, and where it breaks).
- :func:`gated_reliability`: per sample only one of two modalities carries the
  class, after the synthetic task of Arevalo et al. 2017, "Gated Multimodal
  Units for Information Fusion" (ICLR workshop).
- :func:`digits_two_view`: the Noisy-MNIST two-view setup of Wang et al. 2015,
  "On Deep Multi-View Representation Learning" (ICML), on scikit-learn's
  bundled 8x8 digits: a rotated view and a different same-class noisy view.
- :func:`digits_captions`: digit images paired with short English / Chinese
  captions featurised by character n-grams (an image-text toy for retrieval).

Each generator registers where it is defined (:func:`register_generator`), declaring
its parameters as :class:`~fusion.params.Param` (range, step; defaults from its
signature, label and help from the catalogue). ``GENERATOR_SPECS`` holds the entries,
``GENERATORS`` maps names to functions, and ``generate(name, **params)`` calls one;
the Data page, the command line and share links derive their lists and widgets from
them. Invalid parameters raise :class:`DataError`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from fusion.data import MIN_ROWS, PairedData
from fusion.errors import DataError
from fusion.params import Interval, Param

_SEED_MAX = 2**31 - 1

# Shared declarations: every generator has a row count and a seed.
_SEED = Param(kind=int, bounds=Interval(0, _SEED_MAX), step=1)


def _rows(hi: int, step: int, nullable: bool = False) -> Param:
    return Param(kind=int, bounds=Interval(MIN_ROWS, hi), step=step, nullable=nullable)


@dataclass(frozen=True)
class GeneratorSpec:
    """One generator: its function and its parameters, in the function's order.

    Its catalogue strings: ``data.generator_info.<name>.title`` and ``.body`` (the Data
    page's menu entry and caption), ``gen_params.<name>.<param>.label`` and ``.help``.
    """

    name: str
    function: Callable[..., PairedData]
    params: dict[str, Param]

    @property
    def title(self) -> str:
        return f"data.generator_info.{self.name}.title"

    @property
    def body(self) -> str:
        return f"data.generator_info.{self.name}.body"

    def catalogue_keys(self) -> list[str]:
        """The catalogue keys the generator needs in every language."""
        keys = [self.title, self.body]
        for p in self.params.values():
            keys += [p.label, p.help]
        return keys


GENERATOR_SPECS: dict[str, GeneratorSpec] = {}
GENERATORS: dict[str, Callable[..., PairedData]] = {}  # name -> function, in registration order


def register_generator(
    name: str | None = None, **params: Param
) -> Callable[[Callable[..., PairedData]], Callable[..., PairedData]]:
    """Register the decorated function as a generator (under its own name unless ``name``)
    with its parameters: one :class:`~fusion.params.Param` per argument, in the signature's
    order, whose defaults are the signature's. A number's refusal names the generator and
    the range (``errors.generators.not_integer_in_range`` / ``not_number_in_range``)."""

    def register(fn: Callable[..., PairedData]) -> Callable[..., PairedData]:
        gen = name or fn.__name__
        assert gen not in GENERATORS, f"generator {gen!r} is registered twice"
        signature = inspect.signature(fn).parameters
        assert list(params) == list(signature), f"{gen}: declare every parameter, in order"
        declared = {}
        for key, p in params.items():
            error = p.error or (
                "errors.generators.not_integer_in_range"
                if p.type is int
                else "errors.generators.not_number_in_range"
            )
            declared[key] = replace(
                p,
                name=key,
                default=_jsonable(signature[key].default),
                label=p.label or f"gen_params.{gen}.{key}.label",
                help=p.help or f"gen_params.{gen}.{key}.help",
                error=error,
            )
        GENERATOR_SPECS[gen] = GeneratorSpec(gen, fn, declared)
        GENERATORS[gen] = fn
        return fn

    return register


def unregister_generator(name: str) -> None:
    """Remove a generator (tests register toy generators and take them away again)."""
    GENERATOR_SPECS.pop(name)
    GENERATORS.pop(name)


# -- parameter validation ------------------------------------------------------


def _number(gen: str, param: str, value: Any, integer: bool) -> int | float:
    """``value`` checked against the generator's declared range for ``param``."""
    p = GENERATOR_SPECS[gen].params[param]
    assert (p.type is int) == integer, (gen, param)
    return p.check_one(value, DataError, gen=gen)


def _per_modality(
    gen: str, param: str, value: Any, m: int, integer: bool, cycle: bool = False
) -> list:
    """A scalar or a sequence of per-modality values, as a list of length ``m``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        return [_number(gen, param, value, integer)] * m
    values = list(value)
    if not values or (len(values) != m and not cycle):
        raise DataError(
            "errors.generators.not_per_modality", gen=gen, param=param, m=m, value=value
        )
    values = [_number(gen, param, v, integer) for v in values]
    return [values[i % len(values)] for i in range(m)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _source(name: str, **params: Any) -> dict[str, Any]:
    return {"generator": name, "params": {k: _jsonable(v) for k, v in params.items()}}


def _rng(seed: int, stream: str) -> np.random.Generator:
    # One independent stream per ingredient, so changing one parameter (say the
    # noise) keeps everything else (latent, maps, classes) identical.
    return np.random.default_rng([seed, *stream.encode()])


def _standardise(x: np.ndarray) -> np.ndarray:
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _modality_names(m: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(m)]


# -- shared latent ----------------------------------------------------------------


@register_generator(
    n=_rows(50_000, 100),
    n_classes=Param(kind=int, bounds=Interval(2, 20)),
    n_modalities=Param(kind=int, bounds=Interval(2, 6)),
    dims=Param(kind=int, bounds=Interval(1, 1024), per_modality=True),
    noise=Param(kind=float, bounds=Interval(0.0, 5.0), step=0.05, per_modality=True),
    corrupt_fraction=Param(kind=float, bounds=Interval(0.0, 1.0), step=0.05, per_modality=True),
    mismatch_fraction=Param(kind=float, bounds=Interval(0.0, 1.0), step=0.05),
    latent_dim=Param(kind=int, bounds=Interval(2, 64)),
    seed=_SEED,
)
def shared_latent(
    n: int = 2000,
    n_classes: int = 8,
    n_modalities: int = 2,
    dims: int | Sequence[int] = (32, 16),
    noise: float | Sequence[float] = 0.3,
    corrupt_fraction: float | Sequence[float] = 0.0,
    mismatch_fraction: float = 0.0,
    latent_dim: int = 8,
    seed: int = 0,
) -> PairedData:
    """M noisy nonlinear views of one class-clustered latent variable.

    Each sample has a latent z = centre[class] + N(0, I) in ``latent_dim``
    dimensions. Modality m ("a", "b", ...) is its own fixed random two-layer
    tanh network of z, scaled to unit variance, plus Gaussian noise of std
    ``noise[m]``; features are standardised per column.

    ``corrupt_fraction[m]`` of the samples get modality m replaced by pure noise
    (``mask[i, m] = 0``). ``mismatch_fraction`` of the pairs get modalities
    b, c, ... (with their mask entries) from another random sample, so the
    views disagree (``flags["mismatched"]``); labels follow modality a.

    What a learner should see: with low noise every modality alone classifies
    well and contrastive alignment retrieves the true partner; as one modality's
    noise rises, fusion should lean on the cleaner one; corrupted rows and
    mismatched pairs show up as low-similarity pairs and hurt naive alignment.
    """
    gen = "shared_latent"
    n = _number(gen, "n", n, integer=True)
    k = _number(gen, "n_classes", n_classes, integer=True)
    m = _number(gen, "n_modalities", n_modalities, integer=True)
    dims_m = _per_modality(gen, "dims", dims, m, integer=True, cycle=True)
    noise_m = _per_modality(gen, "noise", noise, m, integer=False)
    corrupt_m = _per_modality(gen, "corrupt_fraction", corrupt_fraction, m, integer=False)
    mismatch = _number(gen, "mismatch_fraction", mismatch_fraction, integer=False)
    latent = _number(gen, "latent_dim", latent_dim, integer=True)
    seed = _number(gen, "seed", seed, integer=True)

    # Balanced classes; centres spread 2 latent-noise stds apart per axis, so the
    # latent is well separated and the difficulty comes from the maps and noise.
    labels = _rng(seed, "labels").permutation(np.arange(n) % k)
    centres = _rng(seed, "centres").normal(0.0, 2.0, size=(k, latent))
    z = centres[labels] + _rng(seed, "latent").normal(size=(n, latent))  # (N, L)

    names = _modality_names(m)
    views: list[np.ndarray] = []
    mask = np.ones((n, m), dtype=np.float32)
    hidden = 64
    for i, (name, d) in enumerate(zip(names, dims_m, strict=True)):
        maps = _rng(seed, f"map-{name}")
        w1 = maps.normal(size=(latent, hidden)) * (1.5 / np.sqrt(latent))
        b1 = maps.normal(size=hidden) * 0.5
        w2 = maps.normal(size=(hidden, d)) / np.sqrt(hidden)
        x = _standardise(np.tanh(z @ w1 + b1) @ w2)  # (N, d)
        rng = _rng(seed, f"noise-{name}")
        x = x + rng.normal(scale=noise_m[i], size=x.shape)
        bad = rng.choice(n, size=int(round(corrupt_m[i] * n)), replace=False)
        x[bad] = rng.normal(scale=np.sqrt(1.0 + noise_m[i] ** 2), size=(len(bad), d))
        mask[bad, i] = 0.0
        views.append(x)

    mismatched = np.zeros(n, dtype=bool)
    rng = _rng(seed, "mismatch")
    rows = rng.choice(n, size=int(round(mismatch * n)), replace=False)
    partners = (rows + rng.integers(1, n, size=len(rows))) % n  # never the row itself
    mismatched[rows] = True
    for i in range(1, m):
        views[i][rows] = views[i][partners]
        mask[rows, i] = mask[partners, i]

    return PairedData(
        modalities={name: _standardise(x) for name, x in zip(names, views, strict=True)},
        labels=labels,
        label_names=[f"class {c}" for c in range(k)],
        mask=mask,
        flags={"mismatched": mismatched},
        source=_source(
            gen,
            n=n,
            n_classes=k,
            n_modalities=m,
            dims=dims,
            noise=noise,
            corrupt_fraction=corrupt_fraction,
            mismatch_fraction=mismatch,
            latent_dim=latent,
            seed=seed,
        ),
    )


# -- gated reliability -------------------------------------------------------------


@register_generator(
    n=_rows(50_000, 100),
    n_classes=Param(kind=int, bounds=Interval(2, 20)),
    dims=Param(kind=int, bounds=Interval(1, 1024), per_modality=True),
    noise=Param(kind=float, bounds=Interval(0.0, 5.0), step=0.05),
    signal=Param(kind=float, bounds=Interval(0.0, 10.0), step=0.1),
    p_informative=Param(kind=float, bounds=Interval(0.0, 1.0), step=0.05, per_modality=True),
    seed=_SEED,
)
def gated_reliability(
    n: int = 2000,
    n_classes: int = 4,
    dims: int | Sequence[int] = (16, 16),
    noise: float = 1.0,
    signal: float = 4.0,
    p_informative: Sequence[float] = (0.5, 0.5),
    seed: int = 0,
) -> PairedData:
    """Two modalities, only one of which carries the class for each sample.

    After the synthetic task of Arevalo et al. 2017 (Gated Multimodal Units): a
    hidden indicator, drawn with probabilities ``p_informative`` = (p_a, p_b),
    picks the informative modality of each sample; p_a + p_b must be 1 (values that
    do not sum to 1 are refused rather than silently rescaled). That modality is a class
    mean (a fixed random vector of length ``signal``) plus N(0, noise²); the
    other is N(0, noise²) only. ``mask`` is one-hot per row: 1 on the
    informative modality.

    What a learner should see: each modality alone is right only on its share
    of the samples, and concatenation does better but muddles the noise in; a
    gated / attention fusion learns to weight the informative modality per
    sample, and its gate values should track ``mask``. Skewing
    ``p_informative`` "breaks" one sensor more often.
    """
    gen = "gated_reliability"
    n = _number(gen, "n", n, integer=True)
    k = _number(gen, "n_classes", n_classes, integer=True)
    dims_m = _per_modality(gen, "dims", dims, 2, integer=True, cycle=True)
    noise = _number(gen, "noise", noise, integer=False)
    signal = _number(gen, "signal", signal, integer=False)
    p = np.array(_per_modality(gen, "p_informative", p_informative, 2, integer=False))
    if abs(p.sum() - 1.0) > 1e-6:  # exactly one modality is informative per sample
        raise DataError(
            "errors.generators.p_informative_sum",
            gen=gen,
            value=p_informative,
            total=round(float(p.sum()), 6),
        )
    seed = _number(gen, "seed", seed, integer=True)

    labels = _rng(seed, "labels").permutation(np.arange(n) % k)
    informative = (_rng(seed, "indicator").random(n) < p[1]).astype(np.int64)  # 0 = a, 1 = b
    mask = np.eye(2, dtype=np.float32)[informative]
    modalities = {}
    for i, (name, d) in enumerate(zip(("a", "b"), dims_m, strict=True)):
        means = _rng(seed, f"means-{name}").normal(size=(k, d))
        means *= signal / np.linalg.norm(means, axis=1, keepdims=True)
        x = _rng(seed, f"noise-{name}").normal(scale=noise, size=(n, d))
        x += means[labels] * mask[:, i : i + 1]
        modalities[name] = x

    return PairedData(
        modalities=modalities,
        labels=labels,
        label_names=[f"class {c}" for c in range(k)],
        mask=mask,
        source=_source(
            gen,
            n=n,
            n_classes=k,
            dims=dims,
            noise=noise,
            signal=signal,
            p_informative=p_informative,
            seed=seed,
        ),
    )


# -- digits -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as float images in [0, 1] and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    images.flags.writeable = False
    target = d.target.astype(np.int64)
    target.flags.writeable = False
    return images, target


def _pick_rows(n: int | None, total: int, rng: np.random.Generator) -> np.ndarray:
    """All rows (n=None), a sorted subsample (n < total), or all plus resampled extras.

    Extras repeat a source image; the generators give every row its source as its group,
    so the train/validation split keeps all copies of an image on one side.
    """
    if n is None or n == total:
        return np.arange(total)
    if n < total:
        return np.sort(rng.choice(total, size=n, replace=False))
    return np.concatenate([np.arange(total), rng.integers(0, total, size=n - total)])


def _row_ids(rows: np.ndarray) -> np.ndarray:
    """Ids naming the source digit; repeats get '#1', '#2', ... appended."""
    seen: dict[int, int] = {}
    ids = []
    for r in rows.tolist():
        k = seen.get(r, 0)
        seen[r] = k + 1
        ids.append(f"digit{r}" if k == 0 else f"digit{r}#{k}")
    return np.array(ids)


def _source_groups(rows: np.ndarray) -> np.ndarray:
    """Each row's source digit: copies of one image must not straddle the split."""
    return np.array([f"digit{r}" for r in rows.tolist()])


@register_generator(
    n=_rows(20_000, 10, nullable=True),  # None: all 1797 digits; more: re-augmented copies
    max_angle=Param(kind=float, bounds=Interval(0.0, 180.0), step=5.0),
    noise=Param(kind=float, bounds=Interval(0.0, 1.0), step=0.05),
    seed=_SEED,
)
def digits_two_view(
    n: int | None = None,
    max_angle: float = 45.0,
    noise: float = 0.5,
    seed: int = 0,
) -> PairedData:
    """Noisy-MNIST style two views of scikit-learn's 8x8 digits (Wang et al. 2015).

    View "rotated" is the digit rotated by a uniform random angle in
    ±``max_angle`` degrees. View "noisy" is a *different* image of the same
    digit plus uniform noise in [0, ``noise``], clipped to [0, 1]. Both are
    (N, 8, 8) images in [0, 1]; labels are the digits 0-9.

    What a learner should see: the only thing the two views share is the digit
    identity (rotation and noise are view-specific nuisances), so a multi-view
    method (CCA, contrastive alignment) learns a class-driven embedding without
    labels, and cross-view retrieval finds the same digit, not the same image.
    """
    gen = "digits_two_view"
    if n is not None:
        n = _number(gen, "n", n, integer=True)
    max_angle = _number(gen, "max_angle", max_angle, integer=False)
    noise = _number(gen, "noise", noise, integer=False)
    seed = _number(gen, "seed", seed, integer=True)

    from scipy.ndimage import rotate

    images, target = _digits()
    rows = _pick_rows(n, len(target), _rng(seed, "rows"))
    labels = target[rows]

    rng = _rng(seed, "rotate")
    angles = rng.uniform(-max_angle, max_angle, size=len(rows))
    rotated = np.stack(
        [
            rotate(images[r], a, reshape=False, order=1, mode="constant")
            for r, a in zip(rows, angles, strict=True)
        ]
    )

    # A random same-class partner that is never the image itself.
    rng = _rng(seed, "partner")
    by_class = {c: np.flatnonzero(target == c) for c in range(10)}
    partners = np.empty(len(rows), dtype=np.int64)
    for i, (r, c) in enumerate(zip(rows, labels, strict=True)):
        pool = by_class[int(c)]
        j = pool[rng.integers(0, len(pool) - 1)]
        partners[i] = pool[-1] if j == r else j
    noisy = images[partners] + rng.uniform(0.0, noise, size=(len(rows), 8, 8))

    return PairedData(
        modalities={"rotated": np.clip(rotated, 0.0, 1.0), "noisy": np.clip(noisy, 0.0, 1.0)},
        labels=labels,
        label_names=[str(c) for c in range(10)],
        ids=_row_ids(rows),
        groups=_source_groups(rows),
        source=_source(gen, n=n, max_angle=max_angle, noise=noise, seed=seed),
    )


_EN_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_ZH_WORDS = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"]
_TEMPLATES = {
    "en": [
        "a handwritten {word}",
        "the digit {d}",
        "number {word}, written by hand",
        "{d}",
        "{word}",
        "a picture of the number {word}",
        "handwritten digit {d}",
        "a scanned {word} from a form",
    ],
    "zh": [
        "手写的数字{zh}",
        "数字 {d}",
        "这是一个{zh}",
        "一个手写的{zh}",
        "{zh}",
        "图片中的数字是{d}",
        "手写体数字{zh}",
    ],
}


@register_generator(
    n=_rows(20_000, 10, nullable=True),  # None: all 1797 digits; more: new captions
    featurizer=Param(
        kind=str, choices=("hashing", "tfidf"), error="errors.generators.bad_featurizer"
    ),
    n_features=Param(kind=int, bounds=Interval(16, 4096), step=16),
    languages=Param(
        kind=str, choices=("en", "zh"), multi=True, error="errors.generators.bad_languages"
    ),
    seed=_SEED,
)
def digits_captions(
    n: int | None = None,
    featurizer: str = "hashing",
    n_features: int = 256,
    languages: Sequence[str] = ("en", "zh"),
    seed: int = 0,
) -> PairedData:
    """Digit images paired with short captions in English and/or Chinese.

    Modality "image" is the 8x8 digit in [0, 1]; modality "text" is its caption
    as ``n_features`` character n-gram features (1-3 chars, within words):
    ``featurizer="hashing"`` uses a HashingVectorizer (no vocabulary, works for
    Chinese without a tokenizer), ``"tfidf"`` a TfidfVectorizer fitted on all
    captions. Each sample's caption is drawn at random from templates of a
    random allowed language ("a handwritten seven", "7", "手写的数字七", ...);
    the raw strings are in ``texts["text"]``.

    What a learner should see: the text names the class almost perfectly but in
    several surface forms ("7", "seven", "七" share no characters), so text-only
    models must learn each form, image-text retrieval matches by class, and
    fusion is dominated by the text unless it is corrupted.
    """
    gen = "digits_captions"
    if n is not None:
        n = _number(gen, "n", n, integer=True)
    featurizer = GENERATOR_SPECS[gen].params["featurizer"].check(featurizer, DataError, gen=gen)
    n_features = _number(gen, "n_features", n_features, integer=True)
    if isinstance(languages, str):
        languages = (languages,)
    langs = list(dict.fromkeys(languages))
    if not langs or any(lang not in _TEMPLATES for lang in langs):
        raise DataError("errors.generators.bad_languages", gen=gen, value=languages)
    seed = _number(gen, "seed", seed, integer=True)

    images, target = _digits()
    rows = _pick_rows(n, len(target), _rng(seed, "rows"))
    labels = target[rows]

    rng = _rng(seed, "captions")
    captions = []
    for c in labels.tolist():
        templates = _TEMPLATES[langs[rng.integers(0, len(langs))]]
        template = templates[rng.integers(0, len(templates))]
        captions.append(template.format(d=c, word=_EN_WORDS[c], zh=_ZH_WORDS[c]))

    return PairedData(
        modalities={"image": images[rows], "text": _featurise(captions, featurizer, n_features)},
        labels=labels,
        label_names=[str(c) for c in range(10)],
        ids=_row_ids(rows),
        groups=_source_groups(rows),
        texts={"text": captions},
        source=_source(
            gen, n=n, featurizer=featurizer, n_features=n_features, languages=langs, seed=seed
        ),
    )


def _featurise(texts: list[str], featurizer: str, n_features: int) -> np.ndarray:
    """(N, n_features) float32 character n-gram features of ``texts``."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

    if featurizer == "hashing":
        vec = HashingVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), n_features=n_features, alternate_sign=False
        )
    else:
        vec = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), max_features=n_features, sublinear_tf=True
        )
    x = vec.fit_transform(texts).toarray().astype(np.float32)
    # TF-IDF can find fewer n-grams than asked for; pad so the width is fixed.
    return np.pad(x, ((0, 0), (0, n_features - x.shape[1])))


def generate(name: str, **params: Any) -> PairedData:
    """Run the generator called ``name`` with ``params`` (see GENERATOR_SPECS)."""
    if name not in GENERATORS:
        raise DataError(
            "errors.generators.unknown_generator", name=name, choices=", ".join(sorted(GENERATORS))
        )
    declared = GENERATOR_SPECS[name].params
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise DataError(
            "errors.generators.unknown_params",
            generator=name,
            unknown=", ".join(unknown),
            valid=", ".join(declared),
        )
    for key, value in params.items():  # each value within its declared range or choices
        declared[key].check(value, DataError, gen=name)
    return GENERATORS[name](**params)
