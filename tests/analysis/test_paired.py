"""Paired comparisons over seeds (bisenet.analysis.paired)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bisenet.analysis.paired import Contrast, compare, interval, verdict


def test_interval_is_the_t_interval_of_the_per_seed_differences():
    mean, se, half = interval(pd.Series([1.0, 2.0, 3.0]))
    assert mean == 2.0
    assert se == pytest.approx(1.0 / math.sqrt(3))  # sd 1 over sqrt(3)
    assert half == pytest.approx(4.303 / math.sqrt(3))  # t(0.975, 2 df) = 4.303
    assert math.isnan(interval(pd.Series([1.5]))[2])


@pytest.mark.parametrize(
    "mean, half, expect, text",
    [
        (2.0, 1.0, "positive", "reproduced"),
        (-2.0, 1.0, "positive", "not reproduced: the opposite"),
        (0.5, 1.0, "positive", "inconclusive at this scale"),
        (0.5, 1.0, "zero", "no difference shown"),
        (2.0, 1.0, "zero", "differ"),
        (2.0, math.nan, "positive", "one seed: no verdict"),
    ],
)
def test_verdict_says_only_what_the_interval_shows(mean, half, expect, text):
    assert verdict(mean, half, expect) == text


def test_compare_pairs_runs_by_seed_and_skips_claims_without_runs():
    runs = pd.DataFrame(
        {
            "variant": ["a", "b"] * 3 + ["c"],
            "seed": [0, 0, 1, 1, 2, 2, 0],
            "mIoU": [10.0, 8.0, 30.0, 27.5, 20.0, 18.5, 5.0],
        }
    )
    table = compare(
        runs,
        [
            Contrast("a beats b", {"a": 1, "b": -1}, "a - b", paper=1.5),
            Contrast("a beats d", {"a": 1, "d": -1}, "a - d"),
        ],
    )
    assert table["claim"].tolist() == ["a beats b"]  # no run of d
    row = table.iloc[0]
    # the seeds differ by 20 points among themselves; paired, a - b is 2, 2.5, 1.5
    assert (row["seeds"], row["per seed"], row["mean"]) == (3, "+2.00, +2.50, +1.50", 2.0)
    assert row["95% low"] > 0 and row["verdict"] == "reproduced" and row["paper"] == 1.5


def test_compare_with_no_claim_to_test_is_an_empty_table_with_its_columns():
    runs = pd.DataFrame({"variant": ["a"], "seed": [0], "mIoU": [1.0]})
    table = compare(runs, [Contrast("a beats b", {"a": 1, "b": -1}, "a - b")])
    assert table.empty and {"claim", "verdict", "95% low"} <= set(table.columns)
