"""The six guided lessons: what each trains, and the lookups a page and a job need.

:data:`LESSONS` is the registry (lesson id -> :class:`~fusion.lessons.specs.Lesson`):
each entry names its runs at both sizes, its steps and figures, its "try this" variation
and its analysis (:mod:`fusion.lessons.analyses`). :func:`find_runs` finds a lesson's
saved runs in a runs folder; :func:`analyse` turns finished runs into
:class:`~fusion.lessons.specs.Findings`. Importing this module never imports torch.

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

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusion.errors import ConfigError
from fusion.i18n import translate
from fusion.lessons.analyses import (
    analyse_broken_sensor,
    analyse_collapse,
    analyse_digits,
    analyse_shared_space,
    analyse_temperature,
    analyse_three,
)
from fusion.lessons.specs import (
    RUN_PREFIX,
    THREE_NOISE,
    Findings,
    Lesson,
    RunSpec,
    Step,
    Translate,
    Variation,
    run_key,
)
from fusion.lessons.view import as_view

if TYPE_CHECKING:
    from fusion.config import RunConfig


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
    from fusion.config import default_config

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


# -- 1. shared space ---------------------------------------------------------------------


def _shared_space_runs(noise_b: float, size: str) -> list[RunSpec]:
    params = {"n": _n(size, 2000, 300), "noise": [0.3, noise_b], "seed": 0}
    cfg = _config("joint", "info_nce", size, (15, 6))
    label = ("lessons.runs.noise_b", {"noise": f"{noise_b:g}"})
    return [RunSpec(run_key("noise", noise_b), "shared_latent", params, cfg, label, noise_b)]


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
        RunSpec(run_key("seed-lam", lam), "shared_latent", _collapse_params(size), cfg, label, lam)
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
    return [RunSpec(run_key("tau", tau), "shared_latent", params, cfg, label, tau)]


# -- 4. broken sensor --------------------------------------------------------------------


def _broken_runs(broken: float, size: str) -> list[RunSpec]:
    # Sensor b is broken (pure noise) in a share ``broken`` of the samples: a carries the
    # class there (p_informative = (broken, 1 - broken)).
    params = {"n": _n(size, 2000, 400), "p_informative": [broken, 1.0 - broken], "seed": 0}
    pct = f"{broken:.0%}"
    return [
        RunSpec(
            run_key("att", broken),
            "gated_reliability",
            params,
            _config("attention", None, size, (20, 12)),
            ("lessons.runs.attention_broken", {"pct": pct}),
            broken,
        ),
        RunSpec(
            run_key("early", broken),
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
            run_key("joint", noise),
            "digits_two_view",
            params,
            joint,
            ("lessons.runs.digits_joint", {"noise": f"{noise:g}"}),
            noise,
        ),
        RunSpec(
            run_key("cca", noise),
            "digits_two_view",
            params,
            cca,
            ("lessons.runs.digits_cca", {"noise": f"{noise:g}"}),
            noise,
        ),
    ]


# -- 6. three modalities -----------------------------------------------------------------


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
    return [RunSpec(run_key("att-a", noise_a), "shared_latent", params, cfg, label, noise_a)]


def _three_fixed(size: str) -> list[RunSpec]:
    cfg = _config("joint", "info_nce", size, (15, 6))
    params = _three_params(size, THREE_NOISE[0])
    return [RunSpec("joint", "shared_latent", params, cfg, ("lessons.runs.three_joint", {}))]


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
            analyse=analyse_shared_space,
            steps=(
                Step("before", ("map_before",)),
                Step("after", ("map_after", "retrieval")),
            ),
            primary=run_key("noise", 0.3),
            try_figure="noise",
        ),
        Lesson(
            id="collapse",
            icon=":material/compress:",
            variation=Variation("lam", (0.0, 0.1, 1.0), (0.1,)),
            value_runs=_collapse_seed_runs,
            fixed=_collapse_fixed,
            analyse=analyse_collapse,
            steps=(
                Step("formula", (), latex="seed_alignment"),
                Step("spread", ("spread",)),
                Step("maps", ("maps",)),
                Step("retrieval", ("retrieval",)),
            ),
            primary=run_key("seed-lam", 0.1),
            try_figure="spread_last",
        ),
        Lesson(
            id="temperature",
            icon=":material/thermostat:",
            variation=Variation("tau", (0.02, 0.05, 0.1, 0.2, 0.5, 1.0), (0.02, 0.1, 1.0)),
            value_runs=_temperature_runs,
            fixed=lambda size: [],
            analyse=analyse_temperature,
            steps=(
                Step("init", ("gap_epochs",)),
                Step("gap", ("gap_vs_tau",)),
                Step("clouds", ("clouds",)),
                Step("recall", ("recall",)),
            ),
            primary=run_key("tau", 0.1),
            try_figure="gap_vs_tau",
        ),
        Lesson(
            id="broken_sensor",
            icon=":material/sensors_off:",
            variation=Variation("broken", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0), (0.5, 0.8), percent=True),
            value_runs=_broken_runs,
            fixed=lambda size: [],
            analyse=analyse_broken_sensor,
            steps=(
                Step("weights", ("reliability",)),
                Step("more_broken", ("weight_vs_broken",)),
                Step("early", ("accuracy",)),
            ),
            primary=run_key("att", 0.5),
            try_figure="weight_vs_broken",
        ),
        Lesson(
            id="digits",
            icon=":material/draw:",
            variation=Variation("noise", (0.25, 0.5, 0.75, 1.0), (0.5,)),
            value_runs=_digits_runs,
            fixed=lambda size: [],
            analyse=analyse_digits,
            steps=(
                Step("data", ("samples",)),
                Step("probe", ("probe",)),
            ),
            primary=run_key("joint", 0.5),
            try_figure="noise",
        ),
        Lesson(
            id="three_modalities",
            icon=":material/join:",
            variation=Variation("noise_a", (0.3, 1.0, 2.0, 3.0), (0.3,)),
            value_runs=_three_runs,
            fixed=_three_fixed,
            analyse=analyse_three,
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
# A lesson's findings


def analyse(lesson: Lesson | str, runs: Mapping[str, Any], t: Translate | None = None) -> Findings:
    """The lesson's findings from its finished runs (key -> run in any form :func:`as_view` takes).

    Every fixed run and the runs of at least one base value must be present; variation
    runs add points to the lesson's "try this" figure.
    """
    lesson = get_lesson(lesson) if isinstance(lesson, str) else lesson
    views = {k: as_view(r) for k, r in runs.items()}
    return lesson.analyse(views, t or _english)


def _english(key: str, **params: Any) -> str:
    return translate(key, "en", **params)
