"""Paired comparisons over seeds: is a change between two training set-ups larger than the
spread between seeds?

Two set-ups trained with the same seed see the same data in the same order (the trainer's
sampler and augmentation are seeded), so their difference *per seed* removes what the seed alone
does. With n seeds, the mean of those n differences, its standard error and a two-sided 95 %
Student-t interval (n - 1 degrees of freedom) say what the runs show: a change whose interval
excludes zero is shown, one whose interval holds zero is not (which is not a proof that there is
none). A contrast may combine more than two set-ups, e.g. ``(A+ - A) - (B+ - B)``, "does a change
help A and B alike".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

# two-sided 95 % quantiles of Student's t by degrees of freedom (any statistics table); beyond
# 10 degrees of freedom the 10's value is used, which widens the interval a little
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


@dataclass(frozen=True)
class Contrast:
    """A claim as a signed sum of set-ups' scores, compared per seed.

    Args:
        claim: the claim in words ("BGA beats summation").
        weights: set-up -> coefficient, e.g. ``{"bga": 1, "sum": -1}``.
        label: the contrast written out, e.g. "bga - sum".
        expect: "positive" (the claim is that the contrast is above zero) or "zero" (that the
            set-ups behave alike).
        paper: the paper's value of the contrast, or None when the paper has no such number.
    """

    claim: str
    weights: dict[str, float]
    label: str
    expect: str = "positive"
    paper: float | None = None


def interval(diffs: pd.Series) -> tuple[float, float, float]:
    """(mean, standard error, half-width of the two-sided 95 % t-interval) of per-seed differences;
    the last two NaN for fewer than two seeds."""
    n = len(diffs)
    mean = float(diffs.mean())
    if n < 2:
        return mean, math.nan, math.nan
    se = float(diffs.std(ddof=1)) / math.sqrt(n)
    return mean, se, T_95[min(n - 1, 10)] * se


def verdict(mean: float, half_width: float, expect: str) -> str:
    """What an interval shows about a claim: for an expected positive change "reproduced" (the
    interval lies above zero), "not reproduced: the opposite" (below zero) or "inconclusive at this
    scale" (it holds zero); for an expected zero, "differ" or "no difference shown". "one seed: no
    verdict" without an interval."""
    if math.isnan(half_width):
        return "one seed: no verdict"
    low, high = mean - half_width, mean + half_width
    if expect == "zero":
        return "no difference shown" if low <= 0 <= high else "differ"
    if low > 0:
        return "reproduced"
    if high < 0:
        return "not reproduced: the opposite"
    return "inconclusive at this scale"


def compare(
    scores: pd.DataFrame,
    contrasts: list[Contrast] | tuple[Contrast, ...],
    *,
    setup: str = "variant",
    value: str = "mIoU",
) -> pd.DataFrame:
    """One row per contrast whose set-ups all have runs: the seeds they share, each seed's value of
    the contrast, its mean, standard error, 95 % interval, the paper's value and the verdict.

    Args:
        scores: one row per run, with columns ``setup``, "seed" and ``value``.
        contrasts: the claims to test.
        setup: the column naming a run's set-up. Default "variant".
        value: the score compared. Default "mIoU".
    """
    by_seed = scores.pivot_table(index="seed", columns=setup, values=value)
    rows = []
    for c in contrasts:
        if not set(c.weights) <= set(by_seed.columns):
            continue
        per_seed = sum(w * by_seed[name] for name, w in c.weights.items()).dropna()
        if per_seed.empty:
            continue
        mean, se, half = interval(per_seed)
        rows.append(
            {
                "claim": c.claim,
                "contrast": c.label,
                "seeds": len(per_seed),
                "per seed": ", ".join(f"{v:+.2f}" for v in per_seed),
                "mean": mean,
                "std error": se,
                "95% low": mean - half,
                "95% high": mean + half,
                "paper": c.paper,
                "verdict": verdict(mean, half, c.expect),
            }
        )
    columns = ["claim", "contrast", "seeds", "per seed", "mean", "std error", "95% low", "95% high", "paper", "verdict"]
    return pd.DataFrame(rows, columns=columns)
