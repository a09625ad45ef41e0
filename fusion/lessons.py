"""Guided lessons: what each one trains, and the numbers and figures it shows afterwards.

A :class:`Lesson` names the runs it trains (:class:`RunSpec`: a generator with its
parameters and a :class:`~fusion.experiment.RunConfig`), at two sizes: ``"default"``
(seconds on a 2-core laptop CPU) and ``"tiny"`` (for tests; ``FUSION_LESSON_SIZE=tiny``
picks it, see :func:`lesson_size`). Each lesson has one "try this" :class:`Variation`, a
plain parameter with a few values (a temperature, a corruption level, ...); the runs of
one value are ``lesson.runs_for(value, size)``, and the lesson starts by training the
values in ``variation.base`` plus its ``fixed_runs``. Run keys encode the value
(``tau-0.1``), so a run trained once is found again on disk and never retrained.

:class:`LessonJob` trains a list of runs one after another in one background thread and
saves each under ``lesson-<lesson>-<key>`` in a runs folder. It reuses
:class:`fusion.jobs.TrainingJob` for every run, so the server-wide cap on concurrent
trainings, the torch thread settings, the thread names and the fault handling are those
of every other training; :meth:`LessonJob.stop` ends the current run within one batch and
skips the rest. It offers the interface of a ``TrainingJob`` (``running``, ``progress``,
``stop``, ``result``, ``config``, ``saved_path``, ``error``), so a page's training slot can
own it and the shared sidebar can show it. Its threads never touch the UI.

:func:`analyse` turns finished runs (:class:`~fusion.experiment.RunResult`,
:class:`~fusion.runs.LoadedRun` or run folders) into :class:`Findings`: plain numbers and
Plotly figures. Every user-visible string comes from the caller's translate function
``t(key, **params)`` (catalogue keys under ``lessons.``), so a page passes its own.

The six lessons and what they show at their default settings (seed 0, CPU; measured with
``python -m fusion.lessons``, which trains every value of every lesson). Seconds: the
lesson's start-up runs in a :class:`LessonJob` on a 2-core CPU, saving included, after the
process's first training (the first one also pays about 3 s of torch warm-up).

1. ``shared_space`` -- *What is a shared space?* InfoNCE on ``shared_latent`` (2,000
   pairs, 15 epochs; 1 run, 0.4 s). Mean Recall@1 0.000 before -> 0.318 after (chance
   0.0025); class precision@10 a->b 0.164 -> 0.865 (chance 0.125); modality gap 0.726 ->
   0.072. UMAP maps: before, each modality in its own part of the map; after, one cluster
   per class holding both. Try this, noise of b 0.3 / 1 / 2 / 3: class precision@10
   0.865 / 0.811 / 0.539 / 0.334.
2. ``collapse`` -- *Why the seed's objective collapses.* Seed alignment (lambda = 0.1) vs
   InfoNCE, same data, linear encoders, lr 0.01, 20 epochs (2 runs, 0.8 s). Spread under
   the seed loss 0.596 -> 0.00088 (674x smaller, still falling); InfoNCE 0.241 -> 0.245.
   Class precision@10 0.170 vs 0.894 (chance 0.125); Recall@1 0.004 vs 0.266. Try this,
   lambda = 0 and 1: spread 0.00089 and 0.00074 -- the pull alone collapses.
3. ``temperature`` -- *Temperature and the modality gap* (Liang et al. 2022). InfoNCE at
   tau = 0.02, 0.1, 1 (3 runs, 1.2 s). Gap at initialisation 0.726 (cone effect); after 15
   epochs 0.136 / 0.072 / 0.024; Recall@1 0.274 / 0.318 / 0.154 (best at 0.1, not at the
   smallest gap). Try this: tau = 0.05 / 0.2 / 0.5 give 0.096 / 0.060 / 0.037.
4. ``broken_sensor`` -- *Attention ignores a broken sensor.* ``gated_reliability``,
   attention vs early fusion with sensor b broken in 50 % and 80 % of the samples (4 runs,
   1.8 s). At 50 %: median weight on b 0.969 where b works, 0.073 where it is broken;
   attention on the working sensor 0.885 (chance 0.5). Mean weight on b 0.518 / 0.405 /
   0.323 / 0.210 / 0.104 / 0.001 with b broken in 50 / 60 / 70 / 80 / 90 / 100 %.
   Accuracy attention 0.958 vs early fusion 0.960 at 50 % (chance 0.25): as accurate, but
   only attention says which sensor it used.
5. ``digits`` -- *Two views of handwritten digits* (Wang et al. 2015). Joint embedding
   (InfoNCE, tau = 0.2, small CNNs, 15 epochs) and linear CCA (8 components) on
   ``digits_two_view`` (1,797 pairs; 2 runs, 2.7 s). Linear probe on the rotated view:
   raw pixels 0.833, linear CCA 0.811, joint 0.897 (chance 0.103); as in Wang et al.'s
   table, linear CCA is below the raw pixels and the deep multi-view model above. On the
   noisy view: 0.936 / 0.908 / 0.953. Try this, noise of the second view 0.25 / 0.75 / 1:
   joint 0.930 / 0.875 / 0.864 on the rotated view.
6. ``three_modalities`` -- *More than two modalities.* ``shared_latent`` with three
   modalities of noise 0.3 / 1 / 2: joint InfoNCE (15 epochs) and attention fusion
   (20 epochs) (2 runs, 1.4 s). Mean attention a 0.886, b 0.112, c 0.002; linear probes
   of each modality's joint embedding 0.975 / 0.838 / 0.703 (chance 0.125); accuracy
   0.995. Try this, noise of a = 1 / 2 / 3: weights (a, b, c) 0.68 / 0.26 / 0.06, 0.31 /
   0.39 / 0.30, 0.05 / 0.57 / 0.38.

``tests/test_lessons.py`` checks the qualitative result of each lesson on the tiny
settings (and the digits ordering at the real size), with thresholds that hold there.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fusion.errors import ConfigError, FusionError
from fusion.plots import LABEL_COLORS, MODALITY_COLORS, shared_space

if TYPE_CHECKING:
    from fusion.experiment import RunConfig

Translate = Callable[..., str]  # t(key, **params) -> text, as views._shared.t
SIZES = ("default", "tiny")
RUN_PREFIX = "lesson"  # run folders are named lesson-<lesson id>-<run key>
THREAD_NAME = "fusion-lesson"  # the coordinator thread; each run trains in a TrainingJob
_TRANSPARENT = "rgba(0,0,0,0)"


def lesson_size() -> str:
    """The size lessons train at: ``$FUSION_LESSON_SIZE`` (``default`` or ``tiny``)."""
    size = os.environ.get("FUSION_LESSON_SIZE", "default")
    return size if size in SIZES else "default"


# ---------------------------------------------------------------------------
# What a lesson trains


@dataclass(frozen=True)
class RunSpec:
    """One run of a lesson: data (a generator and its parameters) and a training config."""

    key: str  # unique in the lesson and stable: the run folder is lesson-<id>-<key>
    generator: str
    params: dict[str, Any]
    config: RunConfig  # copied before training (building a model fills in defaults)
    label: tuple[str, dict[str, Any]]  # catalogue key and parameters of its display name
    value: float | None = None  # the variation value this run belongs to (None: fixed run)

    def run_name(self, lesson_id: str) -> str:
        return f"{RUN_PREFIX}-{lesson_id}-{self.key}"

    def train_config(self) -> RunConfig:
        cfg = copy.deepcopy(self.config)
        cfg.name = ""
        return cfg

    @property
    def n_samples(self) -> int:
        return int(self.params.get("n") or 1797)  # digits: None means all 1,797 images


@dataclass(frozen=True)
class Variation:
    """The "try this" parameter of a lesson: the values offered and those trained at start."""

    name: str  # catalogue keys lessons.<lesson>.try.* describe it
    values: tuple[float, ...]
    base: tuple[float, ...]  # trained when the lesson starts
    percent: bool = False  # the values are shares, shown as percentages

    def format(self, value: float) -> str:
        return f"{value:.0%}" if self.percent else f"{value:g}"

    def __post_init__(self) -> None:
        assert set(self.base) <= set(self.values), "base values must be among the values"


@dataclass(frozen=True)
class Step:
    """One "what to look at" step: text ``lessons.<id>.steps.<name>`` and its figures."""

    name: str
    figures: tuple[str, ...] = ()
    latex: str | None = None  # a formula shown under the text


@dataclass(frozen=True)
class Lesson:
    """A guided lesson: its runs at each size, its steps, its variation and its analysis.

    Text lives in the catalogue under ``lessons.<id>.``: ``title``, ``summary``,
    ``steps.<step>``, ``try.prompt``/``try.label``, ``question``, ``answer``.
    """

    id: str
    icon: str
    variation: Variation
    value_runs: Callable[[float, str], list[RunSpec]]  # (value, size) -> runs of that value
    fixed: Callable[[str], list[RunSpec]]  # size -> runs that do not depend on the value
    analyse: Callable[[Mapping[str, Any], Translate], Findings]
    steps: tuple[Step, ...]
    primary: str  # key of the run that becomes the session's active run
    try_figure: str  # the figure the variation adds points to

    def runs_for(self, value: float, size: str = "default") -> list[RunSpec]:
        _check_size(size)
        if value not in self.variation.values:
            raise ConfigError(
                "lessons.errors.bad_value",
                value=value,
                choices=", ".join(f"{v:g}" for v in self.variation.values),
            )
        return self.value_runs(value, size)

    def fixed_runs(self, size: str = "default") -> list[RunSpec]:
        _check_size(size)
        return self.fixed(size)

    def base_runs(self, size: str = "default") -> list[RunSpec]:
        """What "Start lesson" trains: the fixed runs and the runs of the base values."""
        runs = self.fixed_runs(size)
        for v in self.variation.base:
            runs += self.runs_for(v, size)
        return runs

    def all_runs(self, size: str = "default") -> list[RunSpec]:
        runs = self.fixed_runs(size)
        for v in self.variation.values:
            runs += self.runs_for(v, size)
        return runs


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ConfigError("lessons.errors.bad_size", size=size, choices=", ".join(SIZES))


def _config(
    method: str,
    loss: str | None,
    size: str,
    epochs: tuple[int, int],
    *,
    lr: float | None = None,
    encoder: str | None = None,
    temperature: float | None = None,
    loss_params: dict[str, Any] | None = None,
    dim: int | None = None,
) -> RunConfig:
    """A RunConfig from the library's defaults; ``epochs`` = (default, tiny)."""
    # Imported here, not at the top: the dashboard's server reloads edited library modules,
    # and a config must be built from the same classes that will validate it.
    from fusion.experiment import default_config

    tiny = size == "tiny"
    train: dict[str, Any] = {"epochs": epochs[1] if tiny else epochs[0], "seed": 0}
    if tiny:
        train.update(batch_size=64, n_snapshots=3)
    if lr is not None:
        train["lr"] = lr
    cfg = default_config(method, loss, **train)
    if encoder is not None:
        cfg.model.encoder.kind = encoder
    if temperature is not None:
        cfg.model.temperature = temperature
    if loss_params:
        cfg.loss_params = dict(loss_params)
    if dim is not None:
        cfg.model.dim = dim
    return cfg


def _n(size: str, default: int | None, tiny: int) -> int | None:
    return tiny if size == "tiny" else default


def _key(prefix: str, value: float) -> str:
    return f"{prefix}-{value:g}"


# -- 1. shared space ---------------------------------------------------------------------


def _shared_space_runs(noise_b: float, size: str) -> list[RunSpec]:
    params = {"n": _n(size, 2000, 300), "noise": [0.3, noise_b], "seed": 0}
    cfg = _config("joint", "info_nce", size, (15, 6))
    label = ("lessons.runs.noise_b", {"noise": f"{noise_b:g}"})
    return [RunSpec(_key("noise", noise_b), "shared_latent", params, cfg, label, noise_b)]


# -- 2. collapse -------------------------------------------------------------------------


def _collapse_params(size: str) -> dict[str, Any]:
    return {"n": _n(size, 2000, 300), "seed": 0}


def _collapse_seed_runs(lam: float, size: str) -> list[RunSpec]:
    # The seed article's f and g are linear maps; InfoNCE gets the same encoders and
    # training settings, so the loss is the only difference.
    cfg = _config(
        "joint",
        "seed_alignment",
        size,
        (20, 40),
        lr=1e-2,
        encoder="linear",
        loss_params={"lam": lam},
    )
    label = ("lessons.runs.seed_lam", {"lam": f"{lam:g}"})
    return [
        RunSpec(_key("seed-lam", lam), "shared_latent", _collapse_params(size), cfg, label, lam)
    ]


def _collapse_fixed(size: str) -> list[RunSpec]:
    cfg = _config("joint", "info_nce", size, (20, 40), lr=1e-2, encoder="linear")
    return [
        RunSpec(
            "infonce", "shared_latent", _collapse_params(size), cfg, ("lessons.runs.infonce", {})
        )
    ]


# -- 3. temperature ----------------------------------------------------------------------


def _temperature_runs(tau: float, size: str) -> list[RunSpec]:
    params = {"n": _n(size, 2000, 300), "seed": 0}
    cfg = _config("joint", "info_nce", size, (15, 6), temperature=tau)
    label = ("lessons.runs.tau", {"tau": f"{tau:g}"})
    return [RunSpec(_key("tau", tau), "shared_latent", params, cfg, label, tau)]


# -- 4. broken sensor --------------------------------------------------------------------


def _broken_runs(broken: float, size: str) -> list[RunSpec]:
    # Sensor b is broken (pure noise) in a share ``broken`` of the samples: a carries the
    # class there (p_informative = (broken, 1 - broken)).
    params = {"n": _n(size, 2000, 400), "p_informative": [broken, 1.0 - broken], "seed": 0}
    pct = f"{broken:.0%}"
    return [
        RunSpec(
            _key("att", broken),
            "gated_reliability",
            params,
            _config("attention", None, size, (20, 12)),
            ("lessons.runs.attention_broken", {"pct": pct}),
            broken,
        ),
        RunSpec(
            _key("early", broken),
            "gated_reliability",
            params,
            _config("early", None, size, (20, 12)),
            ("lessons.runs.early_broken", {"pct": pct}),
            broken,
        ),
    ]


# -- 5. digits ---------------------------------------------------------------------------


def _digits_runs(noise: float, size: str) -> list[RunSpec]:
    params = {"n": _n(size, None, 300), "noise": noise, "seed": 0}
    # Temperature 0.2: the setting of tests/test_quality.py (probe 0.937 on both views).
    joint = _config("joint", "info_nce", size, (15, 6), temperature=0.2)
    cca = _config("cca", None, size, (1, 1))
    return [
        RunSpec(
            _key("joint", noise),
            "digits_two_view",
            params,
            joint,
            ("lessons.runs.digits_joint", {"noise": f"{noise:g}"}),
            noise,
        ),
        RunSpec(
            _key("cca", noise),
            "digits_two_view",
            params,
            cca,
            ("lessons.runs.digits_cca", {"noise": f"{noise:g}"}),
            noise,
        ),
    ]


# -- 6. three modalities -----------------------------------------------------------------

THREE_NOISE = (0.3, 1.0, 2.0)  # per-modality noise of a, b, c


def _three_params(size: str, noise_a: float) -> dict[str, Any]:
    return {
        "n": _n(size, 2000, 400),
        "n_modalities": 3,
        "noise": [noise_a, *THREE_NOISE[1:]],
        "seed": 0,
    }


def _three_runs(noise_a: float, size: str) -> list[RunSpec]:
    cfg = _config("attention", None, size, (20, 12))
    label = ("lessons.runs.three_attention", {"noise": f"{noise_a:g}"})
    params = _three_params(size, noise_a)
    return [RunSpec(_key("att-a", noise_a), "shared_latent", params, cfg, label, noise_a)]


def _three_fixed(size: str) -> list[RunSpec]:
    cfg = _config("joint", "info_nce", size, (15, 6))
    params = _three_params(size, THREE_NOISE[0])
    return [RunSpec("joint", "shared_latent", params, cfg, ("lessons.runs.three_joint", {}))]


# ---------------------------------------------------------------------------
# Finished runs as plain tables


@dataclass
class RunView:
    """What the analyses read from a finished run, whichever form it came in."""

    epochs: pd.DataFrame  # one row per epoch: epoch, val_<metric>, ...
    embeddings: pd.DataFrame  # long form: epoch, sample, modality, label, label_name, z0..
    attention: pd.DataFrame  # epoch, sample, label, weight_<m>, mask_<m> (attention runs)
    metrics: dict[str, float]  # final validation metrics, with _chance keys
    config: dict[str, Any]  # RunConfig.to_dict() plus "data" (the generator and params)
    modalities: list[str]
    path: Path | None = None

    @property
    def last_epoch(self) -> int:
        return int(self.embeddings["epoch"].max()) if len(self.embeddings) else 0

    @property
    def snapshot_epochs(self) -> list[int]:
        return sorted(int(e) for e in self.embeddings["epoch"].unique())


def as_view(run: Any) -> RunView:
    """A :class:`RunView` of a RunResult, a LoadedRun, or a run folder's path."""
    from fusion.experiment import RunResult, attention_frame, embeddings_frame
    from fusion.runs import LoadedRun, load_run

    if isinstance(run, RunView):
        return run
    if isinstance(run, (str, os.PathLike)):
        run = load_run(run)
    if isinstance(run, RunResult):
        return RunView(
            pd.DataFrame(run.history.epochs),
            embeddings_frame(run),
            attention_frame(run),
            dict(run.metrics),
            {**run.config.to_dict(), "data": dict(run.data_source)},
            list(run.modality_names),
        )
    if isinstance(run, LoadedRun):
        return RunView(
            run.epochs,
            run.embeddings,
            run.attention,
            dict(run.metrics),
            dict(run.config),
            run.modalities,
            run.info.path,
        )
    raise TypeError(f"expected a RunResult, LoadedRun or run folder, got {type(run).__name__}")


# ---------------------------------------------------------------------------
# What a lesson shows


@dataclass
class Findings:
    """The numbers a lesson's text quotes (by name) and its figures (by name)."""

    numbers: dict[str, float] = field(default_factory=dict)
    figures: dict[str, go.Figure] = field(default_factory=dict)


def analyse(lesson: Lesson | str, runs: Mapping[str, Any], t: Translate | None = None) -> Findings:
    """The lesson's findings from its finished runs (key -> run in any form :func:`as_view` takes).

    Every fixed run and the runs of at least one base value must be present; variation
    runs add points to the lesson's "try this" figure.
    """
    lesson = get_lesson(lesson) if isinstance(lesson, str) else lesson
    views = {k: as_view(r) for k, r in runs.items()}
    return lesson.analyse(views, t or _english)


def _english(key: str, **params: Any) -> str:
    from fusion.i18n import translate

    return translate(key, "en", **params)


def _layout(
    fig: go.Figure, t: Translate, title: str, x: str | None, y: str | None, height: int = 380
) -> go.Figure:
    fig.update_layout(
        title=dict(text=title),
        paper_bgcolor=_TRANSPARENT,
        plot_bgcolor=_TRANSPARENT,
        margin=dict(l=60, r=20, t=60, b=50),
        height=height,
        legend=dict(itemsizing="constant"),
    )
    if x is not None:
        fig.update_xaxes(title=dict(text=x))
    if y is not None:
        fig.update_yaxes(title=dict(text=y))
    return fig


def _label(t: Translate, label: tuple[str, dict[str, Any]]) -> str:
    return t(label[0], **label[1])


def _class_names(t: Translate, names: pd.Series) -> np.ndarray:
    """'class 3' (the generators' class names) as the page's language says it."""
    out = names.astype(str).to_numpy(dtype=object)
    for i, s in enumerate(out):
        m = re.fullmatch(r"class (\d+)", s)
        if m:
            out[i] = t("lessons.common.class_n", k=int(m.group(1)))
    return out


def map_points(view: RunView, epoch: int, t: Translate, method: str = "pca") -> pd.DataFrame:
    """The 2-D map (u, v) of one snapshot epoch, all modalities projected together.

    ``method="pca"`` keeps distances within the top two directions, so a shrinking cloud
    (collapse) shows as shrinking; ``"umap"`` (McInnes et al. 2018, seeded) keeps
    neighbourhoods, so clusters show, but its axes and sizes mean nothing.
    """
    from fusion.projection import project

    d = view.embeddings[view.embeddings["epoch"] == epoch]
    zcols = [c for c in d.columns if re.fullmatch(r"z\d+", c)]
    z = d[zcols].to_numpy(dtype=np.float32)
    keep = np.isfinite(z).all(axis=1)
    d, z = d[keep], z[keep]
    uv = project(z, method=method, seed=0) if method == "umap" else project(z, method="pca")
    return pd.DataFrame(
        {
            "u": uv[:, 0],
            "v": uv[:, 1],
            "sample": d["sample"].to_numpy(),
            "modality": d["modality"].astype(str).to_numpy(),
            "label_name": _class_names(t, d["label_name"]),
        }
    )


def _map_figure(
    view: RunView, epoch: int, t: Translate, title: str, color_by: str = "label"
) -> go.Figure:
    """A UMAP map of one snapshot: colour by class, symbol by modality."""
    points = map_points(view, epoch, t, method="umap")
    fig = shared_space(
        points,
        color_by=color_by,  # type: ignore[arg-type]
        title=title,
        axis_labels=(t("lessons.axes.umap1"), t("lessons.axes.umap2")),
        marker_size=6,
        t=t,
    )
    n_mod = points["modality"].nunique()
    fig.update_layout(
        height=430 + 30 * max(0, n_mod - 2),  # room for the legend's modality entries
        legend=dict(title=dict(text=t("lessons.axes.legend_map"))),
    )
    return fig


def _maps_grid(
    rows: Sequence[Sequence[tuple[RunView, int, str]]], t: Translate, title: str, color_by: str
) -> go.Figure:
    """Maps of (run, epoch, panel title) snapshots, a row of panels per run or group.

    The panels of a row share their axis ranges, so a cloud that shrank (collapse) looks
    smaller; each row has its own ranges, because normalised and unnormalised embeddings
    live on different scales.
    """
    n_cols = max(len(r) for r in rows)
    fig = make_subplots(
        rows=len(rows),
        cols=n_cols,
        subplot_titles=[p[2] for r in rows for p in r],
        horizontal_spacing=0.06,
        vertical_spacing=0.16 if len(rows) > 1 else 0.0,
    )
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        frames = [map_points(view, epoch, t) for view, epoch, _ in row]
        both = pd.concat(frames)
        pad = 0.05 * max(np.ptp(both["u"]), np.ptp(both["v"]), 1e-9)
        x_range = [float(both["u"].min() - pad), float(both["u"].max() + pad)]
        y_range = [float(both["v"].min() - pad), float(both["v"].max() + pad)]
        for col, pts in enumerate(frames, start=1):
            groups = pts["modality"] if color_by == "modality" else pts["label_name"]
            palette = MODALITY_COLORS if color_by == "modality" else LABEL_COLORS
            for j, name in enumerate(dict.fromkeys(groups)):
                sel = pts[groups == name]
                fig.add_trace(
                    go.Scatter(
                        x=sel["u"],
                        y=sel["v"],
                        mode="markers",
                        name=str(name),
                        legendgroup=str(name),
                        showlegend=str(name) not in seen,
                        marker=dict(size=5, opacity=0.7, color=palette[j % len(palette)]),
                        hoverinfo="skip",
                    ),
                    row=i,
                    col=col,
                )
                seen.add(str(name))
            fig.update_xaxes(range=x_range, row=i, col=col)
            fig.update_yaxes(range=y_range, row=i, col=col)
        fig.update_yaxes(title=dict(text=t("lessons.axes.pca2")), row=i, col=1)
    fig.update_xaxes(title=dict(text=t("lessons.axes.pca1")), row=len(rows))
    return _layout(fig, t, title, None, None, height=380 * len(rows) + 60)


def _chance_line(fig: go.Figure, y: float, t: Translate) -> None:
    """A dotted horizontal line at the chance level, named in the legend (never over data)."""
    style = dict(dash="dot", color=MODALITY_COLORS[5], width=2)
    fig.add_hline(y=y, line=style)
    _chance_legend(fig, t, y)


def _chance_legend(fig: go.Figure, t: Translate, y: float | None = None) -> None:
    name = t("lessons.common.chance", value=f"{y:.3g}") if y is not None else None
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=name or t("lessons.common.chance_legend"),
            line=dict(dash="dot", color=MODALITY_COLORS[5], width=2),
            hoverinfo="skip",
        )
    )


def _bars_with_chance(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    chance: float | None,
    t: Translate,
    title: str,
    x: str,
    y: str,
    y_range: tuple[float, float] | None = (0.0, 1.05),
) -> go.Figure:
    """Grouped vertical bars (one colour per series) and a dotted line at the chance level."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series):
        fig.add_trace(
            go.Bar(
                x=list(groups),
                y=list(values),
                name=name,
                marker=dict(color=MODALITY_COLORS[i % len(MODALITY_COLORS)]),
                text=[f"{v:.3f}" for v in values],
                textposition="outside",
                cliponaxis=False,
            )
        )
    if chance is not None:
        _chance_line(fig, chance, t)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")  # "50%" and "0.5" are names here, not numbers
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return _layout(fig, t, title, x, y)


def _line_figure(
    lines: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    t: Translate,
    title: str,
    x: str,
    y: str,
    log_x: bool = False,
    log_y: bool = False,
    dashed: Sequence[str] = (),
    dashes: Mapping[str, str] | None = None,
) -> go.Figure:
    """One line per (name, xs, ys); ``dashed`` names are reference lines (dashed), and
    ``dashes`` gives other lines their own dash so that lines on top of each other show."""
    dashes = {**{n: "dash" for n in dashed}, **(dashes or {})}
    fig = go.Figure()
    for i, (name, xs, ys) in enumerate(lines):
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines" if name in dashed else "lines+markers",
                name=name,
                line=dict(
                    color=MODALITY_COLORS[i % len(MODALITY_COLORS)],
                    width=2,
                    dash=dashes.get(name, "solid"),
                ),
            )
        )
    if log_x:  # ticks at the values shown, not at every minor step of the decade
        ticks = sorted({float(v) for _, xs, _ in lines for v in xs})
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    if log_y:
        fig.update_yaxes(type="log", dtick=1)  # one labelled tick per decade
    return _layout(fig, t, title, x, y)


def _val(view: RunView, key: str) -> pd.Series:
    col = f"val_{key}"
    return view.epochs[col] if col in view.epochs.columns else pd.Series(dtype=float)


def _first_last(view: RunView, key: str) -> tuple[float, float]:
    s = _val(view, key).dropna()
    return (float(s.iloc[0]), float(s.iloc[-1])) if len(s) else (float("nan"), float("nan"))


def _values_present(
    lesson_id: str, views: Mapping[str, RunView], prefix: str
) -> list[tuple[float, RunView]]:
    """(value, run) of every trained variation run with key ``<prefix>-<value>``, by value."""
    out = []
    for v in get_lesson(lesson_id).variation.values:
        key = _key(prefix, v)
        if key in views:
            out.append((v, views[key]))
    return out


def _require(views: Mapping[str, RunView], *keys: str) -> None:
    missing = [k for k in keys if k not in views]
    if missing:
        raise ConfigError("lessons.errors.missing_runs", runs=", ".join(missing))


# -- analyses ------------------------------------------------------------------------------


def _analyse_shared_space(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Before vs after training on the map; retrieval before and after, with chance.

    Recall@1 (Radford et al. 2021's retrieval protocol) and class precision@10 from
    :func:`fusion.metrics.joint_metrics`, at epoch 0 (random encoders) and the last epoch.
    """
    _require(views, _key("noise", 0.3))
    base = views[_key("noise", 0.3)]
    f = Findings()
    r1 = _first_last(base, "recall_at_1_mean")
    cp = _first_last(base, "class_precision_at_10_a_to_b")
    gap = _first_last(base, "modality_gap")
    f.numbers.update(
        r1_before=r1[0],
        r1_after=r1[1],
        r1_chance=float(base.metrics.get("recall_at_1_mean_chance", np.nan)),
        cp_before=cp[0],
        cp_after=cp[1],
        cp_chance=float(base.metrics.get("class_precision_at_10_a_to_b_chance", np.nan)),
        gap_before=gap[0],
        gap_after=gap[1],
        epochs=base.last_epoch,
    )
    first, last = base.snapshot_epochs[0], base.last_epoch
    f.figures["map_before"] = _map_figure(
        base, first, t, t("lessons.shared_space.fig.map_before"), "label"
    )
    f.figures["map_after"] = _map_figure(
        base, last, t, t("lessons.shared_space.fig.map_after", epoch=last), "label"
    )
    groups = [t("lessons.axes.recall_at_1"), t("lessons.axes.class_precision")]
    fig = _bars_with_chance(
        groups,
        [
            (t("lessons.common.before"), [r1[0], cp[0]]),
            (t("lessons.common.after"), [r1[1], cp[1]]),
        ],
        None,
        t,
        t("lessons.shared_space.fig.retrieval"),
        t("lessons.axes.metric"),
        t("lessons.axes.score"),
    )
    for i, c in enumerate([f.numbers["r1_chance"], f.numbers["cp_chance"]]):
        fig.add_shape(
            type="line",
            xref="x",
            x0=i - 0.45,
            x1=i + 0.45,
            y0=c,
            y1=c,
            line=dict(dash="dot", color=MODALITY_COLORS[5], width=2),
        )
    _chance_legend(fig, t)
    f.figures["retrieval"] = fig
    trained = _values_present("shared_space", views, "noise")
    xs = [v for v, _ in trained]
    f.figures["noise"] = _line_figure(
        [
            (
                t("lessons.axes.class_precision"),
                xs,
                [float(r.metrics["class_precision_at_10_a_to_b"]) for _, r in trained],
            ),
            (
                t("lessons.axes.recall_at_1"),
                xs,
                [float(r.metrics["recall_at_1_mean"]) for _, r in trained],
            ),
        ],
        t,
        t("lessons.shared_space.fig.noise"),
        t("lessons.axes.noise_b"),
        t("lessons.axes.score"),
    )
    f.figures["noise"].update_yaxes(range=[0, 1.05])
    _chance_line(f.figures["noise"], f.numbers["cp_chance"], t)
    for v, r in trained:
        f.numbers[f"cp_noise_{v:g}"] = float(r.metrics["class_precision_at_10_a_to_b"])
    return f


def _analyse_collapse(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Spread per epoch (mean per-dimension std, VICReg's collapse signal) of seed vs InfoNCE.

    The seed article's objective sum_ij s_ij ||f(x_i) - g(y_j)||^2 + lam (||f||^2 + ||g||^2)
    has no term for s_ij = 0, so its minimum is f = g = 0 (Hadsell, Chopra & LeCun 2006
    add the missing margin term); InfoNCE (van den Oord et al. 2018) pushes negatives apart.
    """
    seed_key = _key("seed-lam", 0.1)
    _require(views, seed_key, "infonce")
    seed, nce = views[seed_key], views["infonce"]
    f = Findings()
    s0, s1 = _first_last(seed, "spread")
    n0, n1 = _first_last(nce, "spread")
    f.numbers.update(
        spread_seed_first=s0,
        spread_seed_last=s1,
        spread_nce_first=n0,
        spread_nce_last=n1,
        fold=float(round(s0 / s1)) if s1 > 0 else float("inf"),
        ratio=s1 / n1 if n1 > 0 else float("nan"),
        cp_seed=float(seed.metrics["class_precision_at_10_a_to_b"]),
        cp_nce=float(nce.metrics["class_precision_at_10_a_to_b"]),
        cp_chance=float(seed.metrics["class_precision_at_10_a_to_b_chance"]),
        r1_seed=float(seed.metrics["recall_at_1_mean"]),
        r1_nce=float(nce.metrics["recall_at_1_mean"]),
        r1_chance=float(seed.metrics["recall_at_1_mean_chance"]),
        epochs=seed.last_epoch,
    )
    lines = [(t("lessons.runs.infonce"), nce.epochs["epoch"], _val(nce, "spread"))]
    dashes = {}
    for i, (lam, view) in enumerate(_values_present("collapse", views, "seed-lam")):
        name = t("lessons.runs.seed_lam", lam=f"{lam:g}")
        lines.append((name, view.epochs["epoch"], _val(view, "spread")))
        dashes[name] = ("solid", "dash", "dot")[i % 3]  # the seed's lines lie on top of each other
        f.numbers[f"spread_lam_{lam:g}"] = float(_val(view, "spread").iloc[-1])
    f.figures["spread"] = _line_figure(
        lines,
        t,
        t("lessons.collapse.fig.spread"),
        t("lessons.axes.epoch"),
        t("lessons.axes.spread_log"),
        log_y=True,
        dashes=dashes,
    )
    last = [(name, float(ys.iloc[-1])) for name, _, ys in lines]
    fig = go.Figure(
        go.Bar(
            x=[name for name, _ in last],
            y=[v for _, v in last],
            marker=dict(
                color=[MODALITY_COLORS[i % len(MODALITY_COLORS)] for i in range(len(last))]
            ),
            text=[f"{v:.2g}" for _, v in last],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_yaxes(type="log", dtick=1)
    f.figures["spread_last"] = _layout(
        fig,
        t,
        t("lessons.collapse.fig.spread_last", epoch=seed.last_epoch),
        t("lessons.axes.run"),
        t("lessons.axes.spread_log"),
    )
    f.figures["maps"] = _maps_grid(
        [
            [
                (view, epoch, t(key, epoch=epoch))
                for epoch in (view.snapshot_epochs[0], view.last_epoch)
            ]
            for view, key in (
                (seed, "lessons.collapse.fig.seed_at"),
                (nce, "lessons.collapse.fig.nce_at"),
            )
        ],
        t,
        t("lessons.collapse.fig.maps"),
        "label",
    )
    f.figures["retrieval"] = _bars_with_chance(
        [t("lessons.runs.seed_lam", lam="0.1"), t("lessons.runs.infonce")],
        [(t("lessons.axes.class_precision"), [f.numbers["cp_seed"], f.numbers["cp_nce"]])],
        f.numbers["cp_chance"],
        t,
        t("lessons.collapse.fig.retrieval"),
        t("lessons.axes.run"),
        t("lessons.axes.class_precision"),
    )
    return f


def _analyse_temperature(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Modality gap ||mean(a/|a|) - mean(b/|b|)|| (Liang et al. 2022) against InfoNCE's tau."""
    trained = _values_present("temperature", views, "tau")
    if len(trained) < 1:
        raise ConfigError("lessons.errors.missing_runs", runs="tau-*")
    f = Findings()
    taus = [v for v, _ in trained]
    gaps = [float(r.metrics["modality_gap"]) for _, r in trained]
    r1s = [float(r.metrics["recall_at_1_mean"]) for _, r in trained]
    low, high = trained[0], trained[-1]
    f.numbers.update(
        gap_init=_first_last(low[1], "modality_gap")[0],
        tau_low=low[0],
        tau_high=high[0],
        gap_low=gaps[0],
        gap_high=gaps[-1],
        r1_low=r1s[0],
        r1_high=r1s[-1],
        tau_best_r1=taus[int(np.argmax(r1s))],
        r1_best=max(r1s),
        r1_chance=float(low[1].metrics["recall_at_1_mean_chance"]),
        n_trained=len(trained),
    )
    for v, g in zip(taus, gaps, strict=True):
        f.numbers[f"gap_tau_{v:g}"] = g
    fig = _line_figure(
        [
            (t("lessons.temperature.fig.gap_after"), taus, gaps),
            (t("lessons.temperature.fig.gap_init"), taus, [f.numbers["gap_init"]] * len(taus)),
        ],
        t,
        t("lessons.temperature.fig.gap_vs_tau"),
        t("lessons.axes.tau_log"),
        t("lessons.axes.gap"),
        log_x=True,
        dashed=[t("lessons.temperature.fig.gap_init")],
    )
    fig.update_yaxes(rangemode="tozero")
    f.figures["gap_vs_tau"] = fig
    f.figures["gap_epochs"] = _line_figure(
        [
            (t("lessons.runs.tau", tau=f"{v:g}"), r.epochs["epoch"], _val(r, "modality_gap"))
            for v, r in trained
        ],
        t,
        t("lessons.temperature.fig.gap_epochs"),
        t("lessons.axes.epoch"),
        t("lessons.axes.gap"),
    )
    f.figures["gap_epochs"].update_yaxes(rangemode="tozero")
    f.figures["recall"] = _line_figure(
        [(t("lessons.axes.recall_at_1"), taus, r1s)],
        t,
        t("lessons.temperature.fig.recall"),
        t("lessons.axes.tau_log"),
        t("lessons.axes.recall_at_1"),
        log_x=True,
    )
    _chance_line(f.figures["recall"], f.numbers["r1_chance"], t)
    f.figures["recall"].update_yaxes(rangemode="tozero")
    panels = [
        (low[1], low[1].snapshot_epochs[0], t("lessons.temperature.fig.at_init")),
        (low[1], low[1].last_epoch, t("lessons.runs.tau", tau=f"{low[0]:g}")),
        (high[1], high[1].last_epoch, t("lessons.runs.tau", tau=f"{high[0]:g}")),
    ]
    if low[0] == high[0]:
        panels = panels[:2]
    f.figures["clouds"] = _gap_maps(panels, t, t("lessons.temperature.fig.clouds"))
    return f


def gap_points(view: RunView, epoch: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The two modalities' unit-length embeddings seen along their gap (Liang et al. 2022).

    u: the coordinate along the gap direction (mean(a/|a|) - mean(b/|b|), normalised), where
    the gap shows; v: the first principal direction of what is left. Returns the points
    (u, v, modality) and each modality's centre in the same coordinates.
    """
    d = view.embeddings[view.embeddings["epoch"] == epoch]
    zcols = [c for c in d.columns if re.fullmatch(r"z\d+", c)]
    z = d[zcols].to_numpy(dtype=np.float64)
    z = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    mods = d["modality"].astype(str).to_numpy()
    names = list(dict.fromkeys(mods))
    a, b = names[0], names[1]
    gap = z[mods == a].mean(0) - z[mods == b].mean(0)
    axis = gap / max(np.linalg.norm(gap), 1e-12)
    u = z @ axis
    rest = z - np.outer(u, axis)
    rest_c = rest - rest.mean(0)
    _, _, vt = np.linalg.svd(rest_c, full_matrices=False)
    pc = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    v = rest @ pc
    pts = pd.DataFrame({"u": u, "v": v, "modality": mods})
    centres = {m: np.array([u[mods == m].mean(), v[mods == m].mean()]) for m in names}
    return pts, centres


def _gap_maps(panels: Sequence[tuple[RunView, int, str]], t: Translate, title: str) -> go.Figure:
    """Panels of :func:`gap_points` on shared axes; a cross marks each modality's centre."""
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[p[2] for p in panels],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for col, (view, epoch, _) in enumerate(panels, start=1):
        pts, centres = gap_points(view, epoch)
        for j, (name, centre) in enumerate(centres.items()):
            color = MODALITY_COLORS[j % len(MODALITY_COLORS)]
            sel = pts[pts["modality"] == name]
            fig.add_trace(
                go.Scatter(
                    x=sel["u"],
                    y=sel["v"],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    marker=dict(size=4, opacity=0.5, color=color),
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=[centre[0]],
                    y=[centre[1]],
                    mode="markers",
                    name=t("lessons.temperature.fig.centre", name=name),
                    legendgroup=f"centre-{name}",
                    showlegend=col == 1,
                    marker=dict(
                        size=16, symbol="x", color=color, line=dict(width=2, color="#444444")
                    ),
                    hovertemplate=f"{name}: %{{x:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(range=[-1.05, 1.05], title=dict(text=t("lessons.axes.along_gap")))
    fig.update_yaxes(range=[-1.05, 1.05])
    fig.update_yaxes(title=dict(text=t("lessons.axes.across_gap")), col=1)
    return _layout(fig, t, title, None, None, height=430)


def _analyse_broken_sensor(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Attention weight on sensor b against how often b is broken; attention vs early fusion.

    Modality attention w = softmax_m(score(h_m)) (Bahdanau et al. 2015) on the
    gated-reliability task of Arevalo et al. 2017; early fusion concatenates the inputs.
    """
    atts = _values_present("broken_sensor", views, "att")
    if not atts:
        raise ConfigError("lessons.errors.missing_runs", runs="att-*")
    f = Findings()
    c0, a0 = atts[0]
    att = a0.attention[a0.attention["epoch"] == a0.attention["epoch"].max()]
    works = att["mask_b"] == 1
    f.numbers.update(
        broken_lo_pct=c0,
        w_b=float(a0.metrics["attention_mean_b"]),
        w_b_works=float(att.loc[works, "weight_b"].median()),
        w_b_broken=float(att.loc[~works, "weight_b"].median()),
        on_informative=float(a0.metrics["attention_on_informative"]),
        on_informative_chance=float(a0.metrics["attention_on_informative_chance"]),
        agreement=float(a0.metrics["attention_mask_spearman"]),
        acc_att=float(a0.metrics["accuracy"]),
        chance=float(a0.metrics.get("accuracy_chance", np.nan)),
    )
    early = views.get(_key("early", c0))
    f.numbers["acc_early"] = float(early.metrics["accuracy"]) if early else float("nan")
    c1, a1 = atts[-1]
    f.numbers.update(broken_hi_pct=c1, w_b_hi=float(a1.metrics["attention_mean_b"]))
    for c, r in atts:
        f.numbers[f"w_b_{c:g}"] = float(r.metrics["attention_mean_b"])

    from fusion import plots

    sensors = [t("lessons.common.sensor", name=m) for m in ("a", "b")]
    fig = plots.attention_vs_reliability(
        att[["weight_a", "weight_b"]].to_numpy(dtype=float),
        att[["mask_a", "mask_b"]].to_numpy(),
        sensors,
        colors=dict(zip(sensors, MODALITY_COLORS, strict=False)),
        t=t,
    )
    f.figures["reliability"] = _layout(
        fig,
        t,
        t("lessons.broken_sensor.fig.reliability", pct=f"{c0:.0%}"),
        t("lessons.axes.sensor"),
        t("lessons.axes.attention_weight"),
    )
    xs = [c for c, _ in atts]
    fig = _line_figure(
        [
            (
                t("lessons.broken_sensor.fig.weight_b"),
                xs,
                [float(r.metrics["attention_mean_b"]) for _, r in atts],
            ),
            (t("lessons.broken_sensor.fig.share_works"), xs, [1.0 - c for c in xs]),
        ],
        t,
        t("lessons.broken_sensor.fig.weight_vs_broken"),
        t("lessons.axes.broken_share"),
        t("lessons.axes.mean_weight_b"),
        dashed=[t("lessons.broken_sensor.fig.share_works")],
    )
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(range=[0, 1])
    f.figures["weight_vs_broken"] = fig
    groups = [f"{c:.0%}" for c in xs]
    early_acc = [
        float(views[_key("early", c)].metrics["accuracy"]) if _key("early", c) in views else np.nan
        for c in xs
    ]
    f.figures["accuracy"] = _bars_with_chance(
        groups,
        [
            (t("lessons.runs.attention"), [float(r.metrics["accuracy"]) for _, r in atts]),
            (t("lessons.runs.early"), early_acc),
        ],
        f.numbers["chance"],
        t,
        t("lessons.broken_sensor.fig.accuracy"),
        t("lessons.axes.broken_share"),
        t("lessons.axes.accuracy"),
    )
    return f


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def single_view_probe(view: RunView) -> dict[str, float]:
    """Linear-probe accuracy on each raw view of a run's data: the "single view" baseline.

    The same protocol as the runs' probes (:func:`fusion.metrics.linear_probe_accuracy`:
    standardised features, logistic regression fitted on the training split, accuracy on
    the validation split), on the raw pixels, with the run's seeded split. Keys
    ``raw_<view>`` and ``chance``.
    """
    from fusion.generators import generate
    from fusion.metrics import linear_probe_accuracy

    src = view.config.get("data", {})
    data = generate(src["generator"], **src["params"])
    train = view.config.get("train", {})
    tr, va = data.split(train.get("val_fraction", 0.2), train.get("seed", 0))
    out: dict[str, float] = {}
    for name in data.names:
        p = linear_probe_accuracy(tr.flat(name), tr.labels, va.flat(name), va.labels)
        out[f"raw_{name}"] = p["linear_probe_accuracy"]
        out["chance"] = p["linear_probe_accuracy_chance"]
    return out


def _analyse_digits(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Linear probes (Alain & Bengio 2016) on each view: raw pixels vs linear CCA vs joint.

    The Noisy-MNIST protocol of Wang et al. 2015 ("On Deep Multi-View Representation
    Learning"): train on pairs without labels, then probe the embedding of the first view
    (the rotated digit); in their table linear CCA scored below raw pixels and the deep
    multi-view models above.
    """
    joints = _values_present("digits", views, "joint")
    ccas = dict(_values_present("digits", views, "cca"))
    if not joints:
        raise ConfigError("lessons.errors.missing_runs", runs="joint-*")
    f = Findings()
    base_noise = 0.5 if _key("joint", 0.5) in views else joints[0][0]
    joint = views[_key("joint", base_noise)]
    cca = ccas.get(base_noise)
    raw = single_view_probe(joint)
    mods = joint.modalities  # ["rotated", "noisy"]
    f.numbers.update(
        noise=base_noise,
        chance=float(joint.metrics.get("linear_probe_accuracy_chance", raw["chance"])),
        **{f"raw_{m}": raw[f"raw_{m}"] for m in mods},
        **{f"joint_{m}": float(joint.metrics[f"linear_probe_accuracy_{m}"]) for m in mods},
        **{
            f"cca_{m}": float(cca.metrics[f"linear_probe_accuracy_{m}"]) if cca else float("nan")
            for m in mods
        },
    )
    groups = [t("lessons.digits.view", name=m) for m in mods]
    f.figures["probe"] = _bars_with_chance(
        groups,
        [
            (t("lessons.digits.raw"), [f.numbers[f"raw_{m}"] for m in mods]),
            (t("lessons.runs.cca"), [f.numbers[f"cca_{m}"] for m in mods]),
            (t("lessons.runs.joint"), [f.numbers[f"joint_{m}"] for m in mods]),
        ],
        f.numbers["chance"],
        t,
        t("lessons.digits.fig.probe"),
        t("lessons.axes.view_probed"),
        t("lessons.axes.probe_accuracy"),
    )
    xs = [v for v, _ in joints]
    first = mods[0]
    cca_xs = [v for v in xs if v in ccas]
    # The same order (and so colours) as the bars: raw pixels, CCA, joint.
    lines = [
        (t("lessons.digits.raw"), xs, [f.numbers[f"raw_{first}"]] * len(xs)),
        (
            t("lessons.runs.cca"),
            cca_xs,
            [float(ccas[v].metrics[f"linear_probe_accuracy_{first}"]) for v in cca_xs],
        ),
        (
            t("lessons.runs.joint"),
            xs,
            [float(r.metrics[f"linear_probe_accuracy_{first}"]) for _, r in joints],
        ),
    ]
    fig = _line_figure(
        lines,
        t,
        t("lessons.digits.fig.noise", view=first),
        t("lessons.axes.teacher_noise"),
        t("lessons.axes.probe_accuracy"),
        dashed=[t("lessons.digits.raw")],
    )
    fig.update_yaxes(range=[0, 1.05])
    _chance_line(fig, f.numbers["chance"], t)
    f.figures["noise"] = fig
    for v, r in joints:
        f.numbers[f"joint_{first}_noise_{v:g}"] = float(r.metrics[f"linear_probe_accuracy_{first}"])
    f.figures["samples"] = _digit_samples(joint, t)
    return f


def _digit_samples(view: RunView, t: Translate, k: int = 6) -> go.Figure | None:
    """The first k validation pairs, rotated view above the noisy view (from the run's data)."""
    from fusion.generators import generate
    from fusion.plots import image_grid

    src = view.config.get("data", {})
    if src.get("generator") != "digits_two_view":
        return None
    data = generate(src["generator"], **src["params"])
    train = view.config.get("train", {})
    _, va = data.split(train.get("val_fraction", 0.2), train.get("seed", 0))
    names = va.names
    images = np.concatenate([va.modalities[m][:k] for m in names])
    captions = [
        t("lessons.digits.caption", view=m, digit=va.label_names[int(va.labels[i])])
        for m in names
        for i in range(k)
    ]
    fig = image_grid(images, captions, n_cols=k, title=t("lessons.digits.fig.samples"), t=t)
    fig.update_layout(height=340)
    return fig


def _analyse_three(views: Mapping[str, RunView], t: Translate) -> Findings:
    """Three modalities in one space (pairwise InfoNCE over a-b, a-c, b-c) and their attention.

    Attention fusion's softmax weights compete across modalities, so the token that best
    predicts the class takes most of the weight; each modality's class information is read
    by a linear probe on its joint embedding (Alain & Bengio 2016).
    """
    _require(views, "joint", _key("att-a", THREE_NOISE[0]))
    joint, att = views["joint"], views[_key("att-a", THREE_NOISE[0])]
    mods = joint.modalities
    f = Findings()
    for m, noise in zip(mods, THREE_NOISE, strict=False):
        f.numbers[f"w_{m}"] = float(att.metrics[f"attention_mean_{m}"])
        f.numbers[f"probe_{m}"] = float(joint.metrics[f"linear_probe_accuracy_{m}"])
        f.numbers[f"noise_{m}"] = noise
    f.numbers.update(
        chance=float(joint.metrics["linear_probe_accuracy_chance"]),
        acc=float(att.metrics["accuracy"]),
        acc_chance=float(att.metrics.get("accuracy_chance", np.nan)),
        r1=float(joint.metrics["recall_at_1_mean"]),
        r1_chance=float(joint.metrics["recall_at_1_mean_chance"]),
    )
    f.figures["map"] = _map_figure(
        joint, joint.last_epoch, t, t("lessons.three_modalities.fig.map", epoch=joint.last_epoch)
    )
    groups = [
        t("lessons.three_modalities.modality", name=m, noise=f"{n:g}")
        for m, n in zip(mods, THREE_NOISE, strict=False)
    ]
    f.figures["attention"] = _bars_with_chance(
        groups,
        [
            (t("lessons.axes.mean_weight"), [f.numbers[f"w_{m}"] for m in mods]),
            (t("lessons.axes.probe_accuracy"), [f.numbers[f"probe_{m}"] for m in mods]),
        ],
        f.numbers["chance"],
        t,
        t("lessons.three_modalities.fig.attention"),
        t("lessons.axes.modality"),
        t("lessons.axes.score_or_weight"),
    )
    trained = _values_present("three_modalities", views, "att-a")
    xs = [v for v, _ in trained]
    f.figures["noise_a"] = _line_figure(
        [
            (
                t("lessons.three_modalities.weight_of", name=m),
                xs,
                [float(r.metrics[f"attention_mean_{m}"]) for _, r in trained],
            )
            for m in mods
        ],
        t,
        t("lessons.three_modalities.fig.noise_a"),
        t("lessons.axes.noise_a"),
        t("lessons.axes.mean_weight"),
    )
    f.figures["noise_a"].update_yaxes(range=[0, 1])
    for v, r in trained:
        for m in mods:
            f.numbers[f"w_{m}_noise_{v:g}"] = float(r.metrics[f"attention_mean_{m}"])
    return f


# ---------------------------------------------------------------------------
# The registry

LESSONS: dict[str, Lesson] = {
    lesson.id: lesson
    for lesson in (
        Lesson(
            id="shared_space",
            icon=":material/hub:",
            variation=Variation("noise_b", (0.3, 1.0, 2.0, 3.0), (0.3,)),
            value_runs=_shared_space_runs,
            fixed=lambda size: [],
            analyse=_analyse_shared_space,
            steps=(
                Step("before", ("map_before",)),
                Step("after", ("map_after", "retrieval")),
            ),
            primary=_key("noise", 0.3),
            try_figure="noise",
        ),
        Lesson(
            id="collapse",
            icon=":material/compress:",
            variation=Variation("lam", (0.0, 0.1, 1.0), (0.1,)),
            value_runs=_collapse_seed_runs,
            fixed=_collapse_fixed,
            analyse=_analyse_collapse,
            steps=(
                Step("formula", (), latex="seed_alignment"),
                Step("spread", ("spread",)),
                Step("maps", ("maps",)),
                Step("retrieval", ("retrieval",)),
            ),
            primary=_key("seed-lam", 0.1),
            try_figure="spread_last",
        ),
        Lesson(
            id="temperature",
            icon=":material/thermostat:",
            variation=Variation("tau", (0.02, 0.05, 0.1, 0.2, 0.5, 1.0), (0.02, 0.1, 1.0)),
            value_runs=_temperature_runs,
            fixed=lambda size: [],
            analyse=_analyse_temperature,
            steps=(
                Step("init", ("gap_epochs",)),
                Step("gap", ("gap_vs_tau",)),
                Step("clouds", ("clouds",)),
                Step("recall", ("recall",)),
            ),
            primary=_key("tau", 0.1),
            try_figure="gap_vs_tau",
        ),
        Lesson(
            id="broken_sensor",
            icon=":material/sensors_off:",
            variation=Variation("broken", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0), (0.5, 0.8), percent=True),
            value_runs=_broken_runs,
            fixed=lambda size: [],
            analyse=_analyse_broken_sensor,
            steps=(
                Step("weights", ("reliability",)),
                Step("more_broken", ("weight_vs_broken",)),
                Step("early", ("accuracy",)),
            ),
            primary=_key("att", 0.5),
            try_figure="weight_vs_broken",
        ),
        Lesson(
            id="digits",
            icon=":material/draw:",
            variation=Variation("noise", (0.25, 0.5, 0.75, 1.0), (0.5,)),
            value_runs=_digits_runs,
            fixed=lambda size: [],
            analyse=_analyse_digits,
            steps=(
                Step("data", ("samples",)),
                Step("probe", ("probe",)),
            ),
            primary=_key("joint", 0.5),
            try_figure="noise",
        ),
        Lesson(
            id="three_modalities",
            icon=":material/join:",
            variation=Variation("noise_a", (0.3, 1.0, 2.0, 3.0), (0.3,)),
            value_runs=_three_runs,
            fixed=_three_fixed,
            analyse=_analyse_three,
            steps=(
                Step("space", ("map",)),
                Step("attention", ("attention",)),
                Step("why", ()),
            ),
            primary="joint",
            try_figure="noise_a",
        ),
    )
}


def get_lesson(lesson_id: str) -> Lesson:
    """The lesson called ``lesson_id``; a :class:`ConfigError` naming the choices otherwise."""
    if lesson_id not in LESSONS:
        raise ConfigError(
            "lessons.errors.unknown_lesson", lesson=lesson_id, choices=", ".join(LESSONS)
        )
    return LESSONS[lesson_id]


# ---------------------------------------------------------------------------
# Runs on disk


def find_runs(lesson: Lesson, root: str | os.PathLike) -> dict[str, Path]:
    """The newest saved run of each of the lesson's run keys in ``root`` (healthy ones only).

    Runs are named ``lesson-<id>-<key>`` (``-2``, ``-3``... when trained again); the newest
    by the time its ``run.json`` was written wins.
    """
    root = Path(root)
    if not root.is_dir():
        return {}
    keys = {spec.key for spec in lesson.all_runs("default")}
    prefix = f"{RUN_PREFIX}-{lesson.id}-"
    found: dict[str, tuple[int, Path]] = {}
    for p in root.iterdir():
        if not p.is_dir() or not p.name.startswith(prefix):
            continue
        m = re.fullmatch(re.escape(prefix) + r"(.+?)(?:-(\d+))?", p.name)
        if not m:
            continue
        key = m.group(1)
        if key not in keys and m.group(2) and f"{key}-{m.group(2)}" in keys:
            key = f"{key}-{m.group(2)}"  # a key that itself ends in -<digits>
        if key not in keys:
            continue
        try:
            stamp = (p / "run.json").stat().st_mtime_ns
            if not (p / "embeddings.parquet").is_file():
                continue
        except OSError:
            continue
        if key not in found or stamp > found[key][0]:
            found[key] = (stamp, p)
    return {k: p for k, (_, p) in found.items()}


def missing_base(lesson: Lesson, found: Mapping[str, Any], size: str = "default") -> list[str]:
    """Keys of the lesson's base runs that are not in ``found``."""
    return [spec.key for spec in lesson.base_runs(size) if spec.key not in found]


# ---------------------------------------------------------------------------
# Training


@dataclass
class LessonProgress:
    """Where a lesson's training stands (a consistent copy; see :meth:`LessonJob.lesson_progress`)."""

    state: str  # waiting | running | done | failed | stopped
    index: int  # 0-based index of the run being trained (== n_runs when all are done)
    n_runs: int
    label: tuple[str, dict[str, Any]] | None  # display name of the current run
    epoch: int
    epochs: int
    fraction: float  # of all the lesson's steps
    waiting_for_slot: bool  # the current run waits for a free server slot
    message: str = ""


def _steps_of(spec: RunSpec) -> int:
    """Optimisation steps a run will take (as :func:`fusion.train.fit` batches), >= 1."""
    cfg = spec.config
    if cfg.method == "cca":
        return 1
    n_val = max(1, int(round(spec.n_samples * cfg.train.val_fraction)))
    n_train = spec.n_samples - n_val
    bs = cfg.train.batch_size
    return max(1, cfg.train.epochs * (n_train // bs + (1 if n_train % bs >= 2 else 0)))


def _blas_limit(spec: RunSpec) -> contextlib.AbstractContextManager:
    """One BLAS thread while a CCA run fits (scikit-learn's iterative CCA on small matrices).

    Measured on a busy 2-core machine: the digits lesson's CCA took 7.8 s with OpenBLAS's
    two threads and 0.1 s with one (idle workers spin and fight the training threads for
    the cores; the same reason :mod:`fusion.train` evaluates on one BLAS thread).
    """
    if spec.config.method != "cca":
        return contextlib.nullcontext()
    from fusion.train import _one_blas_thread

    return _one_blas_thread()


class LessonJob:
    """Train a lesson's runs one after another in one background thread; poll progress.

    Each run is a :class:`fusion.jobs.TrainingJob` (so it waits for a server slot like any
    training, and releases it between runs) saved as ``lesson-<id>-<key>`` under ``root``.
    Only this job's coordinator thread waits on it; neither thread touches the UI.
    """

    kind = "lesson"

    def __init__(
        self,
        lesson: Lesson,
        specs: Sequence[RunSpec],
        root: str | os.PathLike,
        on_run_saved: Callable[[str, Path], None] | None = None,
        purpose: str = "start",
    ):
        if not specs:
            raise ConfigError("lessons.errors.nothing_to_train")
        self.lesson = lesson
        self.specs = list(specs)
        self.root = Path(root)
        self.on_run_saved = on_run_saved
        self.purpose = purpose  # "start" (the lesson's base runs) or "try" (a variation)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.saved: dict[str, Path] = {}  # run key -> folder, as runs are saved
        self.results: dict[str, Any] = {}  # run key -> RunResult
        self.error: str | None = None  # English; error_key/error_params for other languages
        self.error_key: str = ""
        self.error_params: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._current: Any = None  # the TrainingJob of the run being trained
        self._index = 0
        self._totals = [_steps_of(s) for s in self.specs]
        self._done_steps = 0
        self._state = "waiting"
        self._started = time.perf_counter()

    # The attributes a page's training slot and the shared sidebar read from a TrainingJob.

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def primary_key(self) -> str:
        keys = [s.key for s in self.specs]
        return self.lesson.primary if self.lesson.primary in keys else keys[0]

    @property
    def result(self) -> Any:
        return self.results.get(self.primary_key) or next(reversed(self.results.values()), None)

    @property
    def config(self) -> RunConfig:
        spec = next(s for s in self.specs if s.key == self.primary_key)
        return self.result.config if self.result is not None else spec.config

    @property
    def saved_path(self) -> Path | None:
        return self.saved.get(self.primary_key) or next(reversed(self.saved.values()), None)

    def start(self) -> LessonJob:
        for spec in self.specs:  # refuse a bad config here, in the caller's thread
            spec.config.validate()
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        from fusion.generators import generate
        from fusion.jobs import TrainingJob
        from fusion.runs import save_run

        try:
            for i, spec in enumerate(self.specs):
                if self.stop_event.is_set():
                    break
                data = generate(spec.generator, **spec.params)
                name = spec.run_name(self.lesson.id)
                root = self.root

                def on_done(result, name=name, root=root):
                    keep = result.history.steps or result.config.method == "cca"
                    return save_run(result, root=root, name=name) if keep else None

                job = TrainingJob(data, spec.train_config(), on_done=on_done)
                with self._lock:
                    self._index, self._current = i, job
                with _blas_limit(spec):
                    job.start()
                    if self.stop_event.is_set():
                        job.stop()
                    while job.running:
                        job.join(0.2)
                with self._lock:
                    self._current = None
                    self._done_steps += self._totals[i]
                if job.result is not None:
                    self.results[spec.key] = job.result
                if job.saved_path:
                    self.saved[spec.key] = Path(job.saved_path)
                    if self.on_run_saved is not None:
                        self.on_run_saved(spec.key, Path(job.saved_path))
                if job.error:
                    self.error = job.error
                    self.error_key = getattr(job, "error_key", "")
                    self.error_params = dict(getattr(job, "error_params", {}) or {})
                    break
                if job.result is not None and job.result.history.status not in ("finished",):
                    if job.result.history.status != "stopped":
                        self.error = job.result.history.message
                    break
        except FusionError as exc:
            self.error = str(exc)
            self.error_key, self.error_params = exc.key, dict(exc.params)
        except Exception as exc:  # a bug: keep the server alive, say what happened
            import traceback

            traceback.print_exc()
            self.error = f"Lesson training failed unexpectedly: {exc.__class__.__name__}: {exc}"
        finally:
            with self._lock:
                self._current = None
                if self.error:
                    self._state = "failed"
                elif self.stop_event.is_set():
                    self._state = "stopped"
                else:
                    self._state, self._index = "done", len(self.specs)

    def stop(self) -> None:
        """End the current run within one batch (its work is kept) and skip the rest."""
        self.stop_event.set()
        with self._lock:
            job = self._current
        if job is not None:
            job.stop()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def lesson_progress(self) -> LessonProgress:
        from fusion.jobs import MAX_CONCURRENT, active_jobs

        with self._lock:
            job, index, done, state = self._current, self._index, self._done_steps, self._state
        total = sum(self._totals)
        epoch = epochs = 0
        waiting = False
        if job is not None:
            p = job.progress()
            epoch, epochs = p.epoch, p.epochs
            done += min(p.step, self._totals[index])
            state = "running" if p.state == "running" else "waiting"
            waiting = p.state in ("queued", "waiting") and active_jobs() > MAX_CONCURRENT
        label = self.specs[index].label if index < len(self.specs) else None
        return LessonProgress(
            state=state,
            index=index,
            n_runs=len(self.specs),
            label=label,
            epoch=epoch,
            epochs=epochs,
            fraction=min(1.0, done / total) if total else 0.0,
            waiting_for_slot=waiting,
            message=self.error or "",
        )

    def progress(self) -> Any:
        """A :class:`fusion.jobs.Progress` of the whole lesson (steps over all its runs)."""
        from fusion.jobs import Progress

        with self._lock:
            job, index, done, state = self._current, self._index, self._done_steps, self._state
        total = sum(self._totals)
        if job is None:
            return Progress(
                state={"stopped": "done"}.get(state, state),
                message=self.error or "",
                step=done,
                total_steps=total,
                elapsed=time.perf_counter() - self._started,
            )
        p = job.progress()
        step = done + min(p.step, self._totals[index])
        elapsed = time.perf_counter() - self._started
        p.step, p.total_steps, p.elapsed = step, total, elapsed
        p.eta = elapsed / step * (total - step) if step else None
        return p


# ---------------------------------------------------------------------------
# Measuring the figures in the module docstring

if __name__ == "__main__":  # python -m fusion.lessons [tiny]
    import sys

    import torch

    from fusion.experiment import run_experiment
    from fusion.generators import generate

    torch.set_num_threads(1)
    size = sys.argv[1] if len(sys.argv) > 1 else "default"
    for lesson in LESSONS.values():
        runs = {}
        seconds = 0.0
        for spec in lesson.all_runs(size):
            t0 = time.perf_counter()
            runs[spec.key] = run_experiment(
                generate(spec.generator, **spec.params), spec.train_config()
            )
            dt = time.perf_counter() - t0
            if spec in lesson.base_runs(size):
                seconds += dt
        f = analyse(lesson, runs)
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in f.numbers.items())
        print(f"{lesson.id}: base runs {seconds:.1f} s\n  {numbers}\n")
