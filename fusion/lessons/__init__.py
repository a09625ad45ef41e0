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

from fusion.lessons.catalogue import LESSONS, analyse, find_runs, get_lesson, missing_base
from fusion.lessons.specs import Lesson, lesson_size

if TYPE_CHECKING:
    from fusion.lessons.job import THREAD_NAME, LessonJob, LessonProgress

_FROM_JOB = ("LessonJob", "LessonProgress", "THREAD_NAME")  # torch: loaded on first use

# What pages, the command line and tests use; the parts live in their modules (specs,
# catalogue, view, analyses, figures, job).
__all__ = [
    "LESSONS",
    "THREAD_NAME",
    "Lesson",
    "LessonJob",
    "LessonProgress",
    "analyse",
    "find_runs",
    "get_lesson",
    "lesson_size",
    "missing_base",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_JOB:
        from fusion.lessons import job

        return getattr(job, name)
    raise AttributeError(f"module 'fusion.lessons' has no attribute {name!r}")
