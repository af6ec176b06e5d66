"""The two histogram facets, computed the same way for every backend from counts the backend makes.

* `year_histogram`: datasets per issued year, oldest first, every year from the first to the last that has a
  dataset (years between with none are listed with 0, so a plot has no gaps; years outside are not listed).
* `energy_histogram`: datasets per decade of energy in GeV, lowest first, from 1 eV (1e-9 GeV) up to 1e12 GeV.
  A dataset counts in every decade its energy interval or its √s meets, so the buckets can add up to more than the
  total; each bucket's count is exactly what the filter `energy=LOW..HIGH` (its inclusive bounds, in `low`/`high`)
  returns. Decades before the first and after the last non-empty one are left out; empty ones between are kept.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from indexer.query import FacetValue, Range
from indexer.query_text import TOLERANCE, overlap_syntax

YEAR_HISTOGRAM = "year_histogram"
ENERGY_HISTOGRAM = "energy_histogram"
YEAR_BUCKETS = 10_000
"""Years asked of a backend's terms aggregation: all of them."""

_UNITS = (("eV", -9), ("keV", -6), ("MeV", -3), ("GeV", 0), ("TeV", 3), ("PeV", 6), ("EeV", 9))


@dataclass(frozen=True)
class Decade:
    exponent: int
    """The bucket is [10^exponent, 10^(exponent+1)] GeV."""

    @property
    def low(self) -> float:
        return float(f"1e{self.exponent}")

    @property
    def high(self) -> float:
        return float(f"1e{self.exponent + 1}")

    @property
    def label(self) -> str:
        return f"{energy_label(self.exponent)}–{energy_label(self.exponent + 1)}"

    @property
    def syntax(self) -> str:
        """The bucket's clause in the search grammar (the `energy=LOW..HIGH` filter's)."""
        return overlap_syntax("energy", Range(self.low, self.high))


DECADES = tuple(Decade(exponent) for exponent in range(-9, 12))


def energy_label(exponent: int) -> str:
    """10^exponent GeV written as people read it: -9 → "1 eV", 4 → "10 TeV", 11 → "100 EeV"."""
    unit, base = next((u, b) for u, b in reversed(_UNITS) if exponent >= b or b == -9)
    return f"{10 ** (exponent - base):,} {unit}"


def year_histogram(counts: Mapping[str, int]) -> list[FacetValue]:
    """Counts per year (from a terms aggregation on `year`) as the histogram: every year from the first to the last."""
    years = {int(float(year)): count for year, count in counts.items() if count > 0}
    if not years:
        return []
    return [FacetValue(str(year), years.get(year, 0)) for year in range(min(years), max(years) + 1)]


def energy_histogram(counts: Sequence[int]) -> list[FacetValue]:
    """Counts per decade of `DECADES` (in that order) as the histogram, trimmed of empty decades at both ends."""
    if len(counts) != len(DECADES):
        raise ValueError(f"expected {len(DECADES)} decade counts, got {len(counts)}")
    filled = [i for i, count in enumerate(counts) if count > 0]
    if not filled:
        return []
    return [
        FacetValue(DECADES[i].label, int(counts[i]), DECADES[i].low, DECADES[i].high)
        for i in range(filled[0], filled[-1] + 1)
    ]


@dataclass(frozen=True)
class DecadeBounds:
    """What a decade's `energy=LOW..HIGH` filter compares with, exactly: the bounds widened by `TOLERANCE` as the
    grammar widens them (`indexer.query_text`), and the first value above the upper one (for ranges whose upper end
    is exclusive, as aggregation ranges are)."""

    low: float
    high: float
    above_high: float


def decade_bounds() -> list[DecadeBounds]:
    out = []
    for decade in DECADES:
        high = decade.high * (1 + TOLERANCE)
        out.append(DecadeBounds(decade.low * (1 - TOLERANCE), high, math.nextafter(high, math.inf)))
    return out


def cut_points(values: Sequence[float]) -> list[float]:
    """Sorted distinct cut points: the aggregation ranges are (-inf, c0), [c0, c1), …, [cN, inf)."""
    return sorted(set(values))


def bucket_of(cuts: Sequence[float], value: float) -> int:
    """The index of the range [value, …) starts: values >= `value` are in ranges `bucket_of(...)` and above."""
    return bisect.bisect_left(cuts, value) + 1
