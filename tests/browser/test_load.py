"""Many users on one server, reduced: a few concurrent browser sessions make data and train.

The full size (20 sessions) is ``python -m benchmarks --only load``; both run
:func:`benchmarks.bench_load.run_load` against a fresh server of their own (a cap of 2
trainings at once, a short session TTL), so this test is independent of ``app_server``.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 5


def test_concurrent_sessions_stay_apart_and_the_server_recovers(browser, tmp_path, record_timing):
    from benchmarks.bench_load import CAP, run_load

    r = run_load(SESSIONS, timeout_s=180, tmp=tmp_path, browser=browser)
    print(r.report())
    record_timing(f"load_{SESSIONS}_sessions_s", r.seconds)
    assert r.finished == SESSIONS, r.problems
    assert not r.problems, "\n".join(r.problems)  # each saw only its own data, run, model
    assert r.health_median_s is not None and r.health_median_s < 1.0, r.report()
    # The bound is on the median. A poll that gets no answer within 5 s is counted and
    # reported: here every session's Chromium renders on the same 2 cores as the server, and
    # the server's event loop has been seen to stall for seconds now and then (1 of 95 polls
    # in one run; 7 of 413 with 20 sessions). Such stalls must stay rare, not be hidden.
    assert r.health_failures <= max(1, round(0.05 * r.health_polls)), r.report()
    assert SESSIONS > CAP and r.saw_waiting >= 1, (
        f"{SESSIONS} trainings started together with at most {CAP} at once, but no session "
        "showed a waiting message"
    )
    assert r.threads_after == 0, r.report()
    assert abs(r.rss_change) <= 0.20, r.report()
