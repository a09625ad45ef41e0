"""What a lesson is: the runs it trains, its steps and its "try this" variation.

A :class:`Lesson` names the runs it trains (:class:`RunSpec`: a generator with its
parameters and a :class:`~fusion.config.RunConfig`), at two sizes: ``"default"``
(seconds on a 2-core laptop CPU) and ``"tiny"`` (for tests; ``FUSION_LESSON_SIZE=tiny``
picks it, see :func:`lesson_size`). Each lesson has one "try this" :class:`Variation`, a
plain parameter with a few values (a temperature, a corruption level, ...); the runs of
one value are ``lesson.runs_for(value, size)``, and the lesson starts by training the
values in ``variation.base`` plus its ``fixed_runs``. Run keys encode the value
(:func:`run_key`: ``tau-0.1``), so a run trained once is found again on disk and never
retrained. A lesson's analysis returns :class:`Findings`: named numbers and named figures.
The lessons themselves are in :mod:`fusion.lessons.catalogue`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fusion.errors import ConfigError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from fusion.config import RunConfig

Translate = Callable[..., str]  # t(key, **params) -> text, as views.parts.text.t
SIZES = ("default", "tiny")
RUN_PREFIX = "lesson"  # run folders are named lesson-<lesson id>-<run key>


def lesson_size() -> str:
    """The size lessons train at: ``$FUSION_LESSON_SIZE`` (``default`` or ``tiny``)."""
    size = os.environ.get("FUSION_LESSON_SIZE", "default")
    return size if size in SIZES else "default"


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


@dataclass
class Findings:
    """The numbers a lesson's text quotes (by name) and its figures (by name)."""

    numbers: dict[str, float] = field(default_factory=dict)
    figures: dict[str, go.Figure] = field(default_factory=dict)


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ConfigError("lessons.errors.bad_size", size=size, choices=", ".join(SIZES))


def run_key(prefix: str, value: float) -> str:
    """The key of the run for variation ``value``: ``tau-0.1``."""
    return f"{prefix}-{value:g}"


# The three-modality lesson's per-modality noise; its base run has noise_a = THREE_NOISE[0].
THREE_NOISE = (0.3, 1.0, 2.0)  # per-modality noise of a, b, c
