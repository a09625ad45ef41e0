"""Measure the numbers in :mod:`fusion.lessons.catalogue`'s docstring.

``python -m fusion.lessons [tiny]`` trains every value of every lesson in this process
(one torch thread) and prints each lesson's findings and the seconds its base runs took.
"""

from __future__ import annotations

import sys
import time

import torch

from fusion.experiment import run_experiment
from fusion.generators import generate
from fusion.lessons import LESSONS, analyse


def main(size: str = "default") -> None:
    torch.set_num_threads(1)
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


if __name__ == "__main__":  # python -m fusion.lessons [tiny]
    main(sys.argv[1] if len(sys.argv) > 1 else "default")
