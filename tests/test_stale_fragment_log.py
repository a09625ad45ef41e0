"""Streamlit's "fragment … does not exist anymore" notice is logged once a minute per
fragment, not once per queued timer tick (a tab's training panel polls twice a second)."""

from __future__ import annotations

import logging

from views.parts.sidebar import (
    STALE_FRAGMENT_LOGGER,
    StaleFragmentOnce,
    quiet_stale_fragment_log,
)

NOTICE = (
    "The fragment with id %s does not exist anymore - "
    "it might have been removed during a preceding full-app rerun."
)


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(STALE_FRAGMENT_LOGGER, logging.INFO, __file__, 1, msg, args, None)


def test_a_burst_of_stale_fragment_reruns_logs_one_line_per_fragment() -> None:
    f = StaleFragmentOnce()
    passed = [f.filter(_record(NOTICE, "frag-a")) for _ in range(35)]
    assert passed.count(True) == 1
    assert f.filter(_record(NOTICE, "frag-b"))  # another fragment is still reported
    assert f.filter(_record("Discarding rerun request after shutdown"))  # other lines pass
    assert all(f.filter(_record("%s", "x")) for _ in range(3))


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_filter_is_installed_once_on_streamlits_session_logger() -> None:
    logger = logging.getLogger(STALE_FRAGMENT_LOGGER)  # Streamlit's: it does not propagate
    before, level, out = list(logger.filters), logger.level, _Lines()
    logger.addHandler(out)
    logger.setLevel(logging.INFO)
    try:
        quiet_stale_fragment_log()
        quiet_stale_fragment_log()
        assert sum(isinstance(f, StaleFragmentOnce) for f in logger.filters) == 1
        for _ in range(35):
            logger.info(NOTICE, "frag-c")
        assert sum("frag-c" in line for line in out.lines) == 1
    finally:
        logger.filters[:] = before
        logger.removeHandler(out)
        logger.setLevel(level)
