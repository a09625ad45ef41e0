"""Home's demos launched again and again in one browser tab: the worst launch against the
typical one.

Runs ``tests/browser/test_demo_repeat.py`` (the real ``streamlit run app.py`` in headless
Chromium) with ``FUSION_DEMO_REPEATS`` launches of each demo (20; 5 with ``--quick``) and
reads the click-to-Explore times it records in ``test-artifacts/timings.json``. The value
is the slowest launch; the baseline is the median launch of the same run, so the ratio
(max / median) shows a stall whatever the machine's speed: a launch that sits on Home for
a minute makes it large, while a uniformly slower machine leaves it near 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.common import ROOT, Entry, entry

REPEATS, QUICK_REPEATS = 20, 5
RATIO_TARGET = 3.0  # the slowest launch takes at most 3x the median one


def run(quick: bool) -> list[Entry]:
    repeats = QUICK_REPEATS if quick else REPEATS
    timings = ROOT / "test-artifacts" / "timings.json"
    timings.unlink(missing_ok=True)
    env = {**os.environ, "FUSION_DEMO_REPEATS": str(repeats)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["-m", "browser", "tests/browser/test_demo_repeat.py"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    got = json.loads(timings.read_text()) if timings.exists() else {}
    out = []
    for kind in ("joint", "attention"):
        worst = got.get(f"demo_{kind}_click_to_explore_max_s")
        middle = got.get(f"demo_{kind}_click_to_explore_median_s")
        ratio = worst / middle if worst and middle else None
        out.append(
            entry(
                f"demo_repeat_{kind}_max_vs_median",
                worst,
                "s",
                baseline=middle,
                ratio=ratio,
                target=("ratio", "<=", RATIO_TARGET),
                note=f"{repeats} launches in one tab; pytest exit {done.returncode}",
            )
        )
    return out
