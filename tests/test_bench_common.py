"""The benchmarks' statistics and verdicts (benchmarks/common.py): no timing here."""

from __future__ import annotations

import math

import pytest

from benchmarks.common import (
    INCONCLUSIVE,
    MET,
    MIN_ROUNDS,
    MISSED,
    Spread,
    entry,
    interleaved,
    paired_entry,
    paired_ratios,
    rotated,
    table,
    verdict,
)


def test_spread_is_median_min_max_of_finite_values():
    s = Spread.of([3.0, 1.0, float("nan"), 10.0, 2.0, None])
    assert s == Spread(median=2.5, lo=1.0, hi=10.0, rounds=4)
    assert Spread.of([]) is None
    assert Spread.of([float("inf")]) is None


def test_rotation_changes_who_goes_first_every_round():
    names = ["a", "b", "c"]
    orders = [rotated(names, r) for r in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert [o[0] for o in (rotated(["a", "b"], r) for r in range(4))] == ["a", "b", "a", "b"]


def test_interleaved_calls_in_rotated_order_and_pairs_rounds():
    calls: list[str] = []

    def fn(name: str, values: list[float]):
        it = iter(values)

        def call() -> float:
            calls.append(name)
            return next(it)

        return call

    got = interleaved({"a": fn("a", [1, 2, 3, 4, 5]), "b": fn("b", [10, 20, 30, 40, 50])})
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]
    assert got == {"a": [1, 2, 3, 4, 5], "b": [10, 20, 30, 40, 50]}  # item i from round i


def test_interleaved_refuses_fewer_than_the_minimum_rounds():
    with pytest.raises(ValueError, match="at least"):
        interleaved({"a": lambda: 1.0, "b": lambda: 1.0}, rounds=MIN_ROUNDS - 1)


def test_paired_ratios_round_by_round_skipping_unknowns():
    assert paired_ratios([2.0, 3.0, None, 4.0], [1.0, 0.0, 1.0, 2.0]) == [2.0, 2.0]
    with pytest.raises(ValueError):
        paired_ratios([1.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("lo", "hi", "op", "threshold", "expected"),
    [
        (0.8, 0.9, ">=", 0.75, MET),
        (0.6, 0.7, ">=", 0.75, MISSED),
        (0.7, 0.8, ">=", 0.75, INCONCLUSIVE),
        (0.75, 0.75, ">=", 0.75, MET),  # the threshold itself meets it
        (200.0, 290.0, "<=", 300.0, MET),
        (310.0, 340.0, "<=", 300.0, MISSED),
        (280.0, 320.0, "<=", 300.0, INCONCLUSIVE),
        (None, 1.0, "<=", 300.0, None),
        (float("nan"), 1.0, ">=", 0.0, None),
    ],
)
def test_verdict_judges_the_whole_range(lo, hi, op, threshold, expected):
    assert verdict(lo, hi, op, threshold) == expected


def test_verdict_rejects_an_unknown_comparison():
    with pytest.raises(ValueError):
        verdict(1.0, 2.0, "==", 1.0)


def test_entry_judges_on_the_ratio_range_and_reports_it():
    e = paired_entry(
        "x", [80.0, 90.0, 70.0, 85.0, 95.0], [100.0] * 5, "samples/s", "ours/base",
        ("ratio", ">=", 0.75),
    )  # fmt: skip
    assert e.ratio == pytest.approx(0.85)
    assert (e.ratio_lo, e.ratio_hi) == (pytest.approx(0.70), pytest.approx(0.95))
    assert (e.value, e.value_lo, e.value_hi, e.baseline) == (85.0, 70.0, 95.0, 100.0)
    assert e.rounds == 5
    assert e.verdict == INCONCLUSIVE and e.met is None  # 0.70 misses, 0.95 meets


def test_entry_speed_up_sense_and_a_missed_range():
    e = paired_entry("t", [2.0] * 5, [1.0] * 5, "s", "base/ours", ("ratio", ">=", 1.0))
    assert e.ratio == 0.5 and e.verdict == MISSED and e.met is False
    slow = paired_entry("t", [2.0] * 5, [1.0] * 5, "s", "ours/base", ("ratio", "<=", 1.0))
    assert slow.ratio == 2.0 and slow.met is False
    with pytest.raises(ValueError):
        paired_entry("t", [1.0], [1.0], "s", "sideways")


def test_entry_judges_a_value_spread_and_a_single_figure():
    ranged = entry("r", None, "ms", target=("value", "<=", 300), spread=Spread.of([250, 290]))
    assert ranged.value == 270 and ranged.verdict == MET and ranged.met is True
    single = entry("s", 310.0, "ms", target=("value", "<=", 300))
    assert single.verdict == MISSED and single.met is False and single.rounds is None
    unknown = entry("u", None, "ms", target=("value", "<=", 300))
    assert unknown.verdict is None and unknown.met is None


def test_table_prints_the_spread_rounds_and_verdict():
    e = paired_entry("pair", [1.0, 2.0, 3.0, 4.0, 5.0], [2.0] * 5, "s", "ours/base",
                     ("ratio", "<=", 1.5))  # fmt: skip
    text = table([e, entry("plain", 1.0, "s")])
    row = next(ln for ln in text.splitlines() if ln.startswith("| pair"))
    assert "3.000 [1.000–5.000]" in row  # value median [min–max]
    assert "1.500 [0.500–2.500]" in row  # ratio
    assert "| 5 " in row and INCONCLUSIVE in row
    assert not math.isnan(e.ratio)
