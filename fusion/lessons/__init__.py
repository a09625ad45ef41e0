"""Guided lessons: what each one trains, and the numbers and figures it shows afterwards.

- :mod:`~fusion.lessons.specs`: what a lesson is (:class:`Lesson`, :class:`RunSpec`,
  :class:`Variation`, :class:`Step`) and the sizes it trains at;
- :mod:`~fusion.lessons.catalogue`: the six lessons (:data:`LESSONS`), finding their saved
  runs, and :func:`analyse`;
- :mod:`~fusion.lessons.view`: a finished run as the analyses read it (:class:`RunView`);
- :mod:`~fusion.lessons.analyses` and :mod:`~fusion.lessons.figures`: each lesson's
  numbers, and the figures they share;
- :mod:`~fusion.lessons.job`: :class:`LessonJob`, which trains a lesson's runs in the
  background (the only part that imports torch, loaded when first asked for);
- ``python -m fusion.lessons [tiny]`` trains every lesson and prints its numbers.

Every user-visible string comes from the caller's translate function ``t(key, **params)``
(catalogue keys under ``lessons.``), so a page passes its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fusion.lessons.analyses import single_view_probe
from fusion.lessons.catalogue import LESSONS, analyse, find_runs, get_lesson, missing_base
from fusion.lessons.specs import (
    RUN_PREFIX,
    SIZES,
    THREE_NOISE,
    Lesson,
    RunSpec,
    Step,
    Translate,
    Variation,
    lesson_size,
    run_key,
)
from fusion.lessons.view import Findings, RunView, as_view, gap_points, map_points

if TYPE_CHECKING:
    from fusion.lessons.job import THREAD_NAME, LessonJob, LessonProgress

_FROM_JOB = ("LessonJob", "LessonProgress", "THREAD_NAME")  # torch: loaded on first use

__all__ = [
    "LESSONS",
    "RUN_PREFIX",
    "SIZES",
    "THREAD_NAME",
    "THREE_NOISE",
    "Findings",
    "Lesson",
    "LessonJob",
    "LessonProgress",
    "RunSpec",
    "RunView",
    "Step",
    "Translate",
    "Variation",
    "analyse",
    "as_view",
    "find_runs",
    "gap_points",
    "get_lesson",
    "lesson_size",
    "map_points",
    "missing_base",
    "run_key",
    "single_view_probe",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_JOB:
        from fusion.lessons import job

        return getattr(job, name)
    raise AttributeError(f"module 'fusion.lessons' has no attribute {name!r}")
