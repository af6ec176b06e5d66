"""The search text people type, read by dmlake before any backend sees it.

The text keeps tantivy's query grammar (words, `"phrases"`, `"phrase"~2`, `"prefix"*`, `AND`/`OR`/`-`/`NOT`,
parentheses, `^boost`, `FIELD:value`, `FIELD:[a TO b]`, `FIELD:>=x`, `FIELD: IN [a b]`, `FIELD:*`), which both
backends already execute identically (the Elasticsearch backend translates tantivy's syntax tree). What dmlake adds
is read here, by a small scanner of our own, and rewritten into that grammar over the index's own fields:

* **portal fields** — the keyword fields of `indexer.query.FIELDS` (`experiment:`, `collaboration:`, `messenger:`,
  `technique:`, `keyword:`, `doi:`, `license:`/`licence:`, `file_format:`/`format:`, `source:`, ...) match what
  people type, not only the stored spelling: `experiment:cms` and `experiment:"CMS Collaboration"` both find CMS,
  `doi:https://doi.org/10.7483/...` finds the DOI (each value expanded as the `field=value` filter expands it,
  `indexer.document.filter_terms`); `FIELD: IN [a b]` expands every member;
* **energies with units** — `energy:` and `sqrt_s:` take quantities in eV, keV, MeV, GeV, TeV, PeV or EeV (`13TeV`,
  `13 TeV`, `0.9TeV`; the unit's case is free, "mev" is MeV) and compare in GeV, the unit of the index:
  `energy:[1 TeV TO 100 TeV]`, `energy:>=13TeV`, `energy:13TeV`, `sqrt_s:13TeV`, `sqrt_s:[7TeV TO 8TeV]`.
  `energy:` means *overlap*: a record matches when its energy interval [energy_min_gev, energy_max_gev] (an open
  side when only one bound is known) or its centre-of-mass energy √s meets the asked interval. `sqrt_s:` compares
  √s alone. A quantity without a unit is in GeV. Inclusive bounds are widened by one part in 10⁹, so "13 TeV"
  matches a record that said "13000 GeV" whatever the rounding of either;
* **dates** — `date:2011`, `date:[2015-01-01 TO 2018-12]`, `date:>=2016` (years, months or days): overlap with the
  record's temporal coverage, or with its issued date (the whole year or month it names) when it has no coverage.

Everything else is passed through unchanged. A field name that no field has is refused with the list of fields; an
energy without a known unit with the list of units; a range whose low bound is above its high bound with the
range written the right way round. `rewrite_text` returns the rewritten text; `overlap_syntax` writes the same
overlap clauses for the `energy=` and `date=` filters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from indexer.query import FIELDS, QueryError, Range

ENERGY_UNITS: dict[str, float] = {"eV": 1e-9, "keV": 1e-6, "MeV": 1e-3, "GeV": 1.0, "TeV": 1e3, "PeV": 1e6, "EeV": 1e9}
"""Units of an energy in a query, as GeV multipliers (the index stores GeV)."""
_UNITS_BY_FOLDED = {unit.lower(): unit for unit in ENERGY_UNITS}

TOLERANCE = 1e-9
"""Relative widening of inclusive energy bounds (and the half-width of a point such as `sqrt_s:13TeV`)."""

ENERGY_OVERLAP = ("energy_min_gev", "energy_max_gev", "sqrt_s_gev")
DATE_START_FIELD = "date_start_ts"
DATE_END_FIELD = "date_end_ts"

ALIASES: dict[str, str] = {"licence": "license", "format": "file_format"}
"""Other names people use for a field."""

SPECIAL_FIELDS = ("energy", "sqrt_s", "date")
"""Fields read here (with units or dates) rather than by the backend."""

DOCUMENTED_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "keywords",
    "experiments",
    "identifiers",
    "physics",
    *SPECIAL_FIELDS,
    *(name for name, kind in FIELDS.items() if kind == "keyword"),
    *(name for name, kind in FIELDS.items() if kind in ("integer", "float") and not name.startswith("date_")),
    "licence",
    "format",
)
"""Fields named in errors and in the README: the full-text fields people use, dmlake's own, the filter fields."""

_SPECIAL_CHARS = set('+^`:{}"[]()!\\* ')
_FIELD_NAME = re.compile(r"""([^\s+^`:{}"\[\]()!\\*\-][^\s+^`:{}"\[\]()!\\*]*):""")
_WORD_END = set(':^{}"[]()')
_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
_QUANTITY = re.compile(rf"\s*({_NUMBER})\s*([A-Za-z]+)?\s*$")
_QUANTITY_AT = re.compile(rf"({_NUMBER})(?:[ ]?([A-Za-z]+))?")
_COMPARISON = re.compile(r"(>=|<=|>|<)\s*")
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_RANGE_SPLIT = re.compile(r"\s+TO\s+")


@dataclass(frozen=True)
class Bound:
    value: float | None
    inclusive: bool = True


class _Scanner:
    """Finds the `FIELD:` clauses of a text (outside quotes, at the start of a clause) and rewrites dmlake's own."""

    def __init__(self, text: str, schema_fields: frozenset[str]) -> None:
        self.text = text
        self.schema_fields = schema_fields
        self.out: list[str] = []

    def run(self) -> str:
        text = self.text
        i = 0
        clause_start = True
        while i < len(text):
            char = text[i]
            if char == '"':
                end = _quote_end(text, i)
                self.out.append(text[i:end])
                i = end
                clause_start = False
                continue
            if char == "\\" and i + 1 < len(text):
                self.out.append(text[i : i + 2])
                i += 2
                clause_start = False
                continue
            if clause_start:
                match = _FIELD_NAME.match(text, i)
                if match:
                    i = self._field(match)
                    clause_start = False
                    continue
            self.out.append(char)
            clause_start = char.isspace() or char == "(" or (char in "+-" and clause_start)
            i += 1
        return "".join(self.out)

    def _field(self, match: re.Match[str]) -> int:
        name = match[1]
        position = match.start()
        canonical = ALIASES.get(name, name)
        value_at = match.end()
        if canonical in SPECIAL_FIELDS:
            syntax, end = self._special(canonical, position, value_at)
            self.out.append(syntax)
            return end
        if FIELDS.get(canonical) == "keyword":
            rewritten = _keyword_clause(canonical, self.text, value_at)
            if rewritten is not None:
                syntax, end = rewritten
                self.out.append(syntax)
                return end
            self.out.append(canonical + ":")
            return value_at
        if canonical in self.schema_fields:
            self.out.append(self.text[position:value_at])
            return value_at
        raise QueryError(
            f"cannot read the search text: there is no field {name!r} (at position {position})",
            parameter="q",
            position=position,
            hint="fields: "
            + ", ".join(DOCUMENTED_FIELDS)
            + f'; to search for words with a colon, quote them ("{self.text[position:][:40]}")',
        )

    def _special(self, name: str, position: int, at: int) -> tuple[str, int]:
        text = self.text
        start = at
        while at < len(text) and text[at] == " ":
            at += 1
        if at < len(text) and text[at] in "[{":
            close = _closing(text, at)
            if close is None:
                raise QueryError(
                    f"{name}: the range opened at position {at} is not closed",
                    parameter="q",
                    position=at,
                    hint=f"write {name}:[LOW TO HIGH] with ] or }} at the end",
                )
            inner = text[at + 1 : close]
            parts = _RANGE_SPLIT.split(inner.strip())
            if len(parts) != 2:
                raise QueryError(
                    f"{name}: a range is [LOW TO HIGH], not [{inner}]",
                    parameter="q",
                    position=at,
                    hint=_example(name),
                )
            low = _bound(name, parts[0], text[at] == "[", at + 1, upper=False)
            high = _bound(name, parts[1], text[close] == "]", at + 1 + inner.find(parts[1]), upper=True)
            _check_order(name, low, high, at, text[at : close + 1])
            return clause_syntax(name, low, high), close + 1
        comparison = _COMPARISON.match(text, at)
        if comparison:
            operator = comparison[1]
            value, end = _value_at(name, text, comparison.end())
            bound = _bound(name, value, "=" in operator, comparison.end(), upper=operator.startswith("<"))
            if operator.startswith(">"):
                return clause_syntax(name, bound, Bound(None)), end
            return clause_syntax(name, Bound(None), bound), end
        if at < len(text) and text[at] == '"':
            end = _quote_end(text, at)
            value = text[at + 1 : end - 1]
            low = _bound(name, value, True, at + 1, upper=False)
            high = _bound(name, value, True, at + 1, upper=True)
            return clause_syntax(name, low, high), end
        if at >= len(text) or text[at].isspace() or text[at] == ")":
            raise QueryError(
                f"{name}: no value after {name}: (position {start})",
                parameter="q",
                position=start,
                hint=_example(name),
            )
        value, end = _value_at(name, text, at)
        low = _bound(name, value, True, at, upper=False)
        high = _bound(name, value, True, at, upper=True)
        return clause_syntax(name, low, high), end


def rewrite_text(text: str) -> str:
    """The search text in the grammar both backends execute (see the module doc); raises `QueryError`."""
    if ":" not in text:
        return text
    return _Scanner(text, _schema_fields()).run()


def _schema_fields() -> frozenset[str]:
    from indexer.document import CLUSTER_FIELD, ID_FIELD, SORT_KEYS, SUMMARY_FIELD, TEXT_FIELDS

    return frozenset((ID_FIELD, CLUSTER_FIELD, SUMMARY_FIELD, *FIELDS, *SORT_KEYS, *TEXT_FIELDS))


def _quote_end(text: str, start: int) -> int:
    """The position after the quote closing the one at `start` (the end of the text if none closes it)."""
    closing = closing_quote(text, start)
    return len(text) if closing is None else closing + 1


def closing_quote(text: str, start: int) -> int | None:
    """Where the quote closing the one at `start` is (a backslash escapes the next character), None if none is."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return None


def splice(text: str, replacements: Iterable[tuple[int, int, str | None]]) -> str:
    """The text with each span `(start, end)` replaced (spans in order; None, or a span overlapping one already
    replaced, leaves it as it is)."""
    out: list[str] = []
    done = 0
    for start, end, replacement in replacements:
        if replacement is None or start < done:
            continue
        out.append(text[done:start])
        out.append(replacement)
        done = end
    out.append(text[done:])
    return "".join(out)


def _closing(text: str, start: int) -> int | None:
    for i in range(start + 1, len(text)):
        if text[i] in "]}":
            return i
        if text[i] in "[{":
            return None
    return None


def _word_end(text: str, start: int, *, colons: bool = False) -> int:
    i = start
    while i < len(text) and not text[i].isspace() and (text[i] not in _WORD_END or (colons and text[i] == ":")):
        i += 1
    return i


def _value_at(name: str, text: str, at: int) -> tuple[str, int]:
    """The value after `name:` (or after a comparison): a quantity with an optional unit separated by one space
    ("13 TeV"), a date, or a word."""
    if name in ("energy", "sqrt_s"):
        match = _QUANTITY_AT.match(text, at)
        if match:
            end = match.end()
            unit = match[2]
            # "13 TeV": the unit is part of the value only if it is a unit ("energy:13 muon" is 13 GeV and a word)
            if unit is not None and unit.lower() not in _UNITS_BY_FOLDED and text[match.start(2) - 1] == " ":
                end = match.start(2) - 1
            if end >= len(text) or text[end].isspace() or text[end] in _WORD_END:
                return text[at:end], end
    end = _word_end(text, at)
    return text[at:end], end


def _example(name: str) -> str:
    if name == "date":
        return "e.g. date:2011, date:[2015-01-01 TO 2018-12-31] or date:>=2016-06"
    return f"e.g. {name}:13TeV, {name}:[1 TeV TO 100 TeV] or {name}:>=900GeV (units: {', '.join(ENERGY_UNITS)})"


def _bound(name: str, value: str, inclusive: bool, position: int, *, upper: bool) -> Bound:
    value = value.strip()
    if value == "*":
        return Bound(None)
    if name == "date":
        return Bound(date_bound(value, position, upper=upper, parameter="q"), inclusive)
    return Bound(energy_gev(value, position, parameter="q", field=name), inclusive)


def energy_gev(value: str, position: int = 0, *, parameter: str = "q", field: str = "energy") -> float:
    """A quantity such as "13TeV", "13 TeV" or "900" (GeV) in GeV; raises `QueryError` naming the unit."""
    match = _QUANTITY.match(value)
    if match is None:
        raise QueryError(
            f"{field}: {value!r} is not an energy",
            parameter=parameter,
            position=position,
            hint=f"write a number and a unit, e.g. 13TeV or 13 TeV (units: {', '.join(ENERGY_UNITS)})",
        )
    number = float(match[1])
    unit = match[2]
    if unit is None:
        return number
    canonical = _UNITS_BY_FOLDED.get(unit.lower())
    if canonical is None:
        raise QueryError(
            f"{field}: unknown energy unit {unit!r} in {value!r}",
            parameter=parameter,
            position=position + match.start(2),
            hint="units: " + ", ".join(ENERGY_UNITS),
        )
    if not math.isfinite(number):
        raise QueryError(f"{field}: {value!r} is not finite", parameter=parameter, position=position)
    return number * ENERGY_UNITS[canonical]


def date_bound(value: str, position: int = 0, *, upper: bool, parameter: str = "q") -> int:
    """Seconds since 1970 (UTC) of the start of a year, month or day, or, for an upper bound, of its last second."""
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise QueryError(
            f"date: {value!r} is not a date",
            parameter=parameter,
            position=position,
            hint="write YYYY, YYYY-MM or YYYY-MM-DD, e.g. date:[2015-01-01 TO 2018-12-31]",
        )
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        start = datetime(year, month, day, tzinfo=UTC)
    except ValueError as error:
        raise QueryError(
            f"date: {value!r} is not a date ({error})",
            parameter=parameter,
            position=position,
            hint="check the month and day",
        ) from None
    if not upper:
        return int(start.timestamp())
    if match[3]:
        end = start + timedelta(days=1)
    elif match[2]:
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    else:
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
    return int(end.timestamp()) - 1


def _check_order(name: str, low: Bound, high: Bound, position: int, written: str) -> None:
    if low.value is not None and high.value is not None and low.value > high.value:
        parts = _RANGE_SPLIT.split(written[1:-1].strip())
        swapped = f"{name}:[{parts[1].strip()} TO {parts[0].strip()}]" if len(parts) == 2 else written
        raise QueryError(
            f"{name}: the range {written} is empty (its low bound is above its high bound)",
            parameter="q",
            position=position,
            hint=f"swap the bounds: {swapped}",
        )


def _keyword_clause(name: str, text: str, at: int) -> tuple[str, int] | None:
    """`FIELD:value`, `FIELD:"value"` or `FIELD: IN [a b]` on a keyword field as a set of the indexed terms the values
    stand for; None (left to the backend as written) for ranges, `*`, prefixes and anything else."""
    from indexer.document import filter_terms

    i = at
    if text.startswith(" IN [", i) or text.startswith("IN [", i):
        open_at = text.index("[", i)
        close = text.find("]", open_at)
        if close < 0:
            return None
        values = _set_members(text[open_at + 1 : close])
        if values is None:
            return None
        end = close + 1
    elif i < len(text) and text[i] == '"':
        end = _quote_end(text, i)
        if end > len(text) or text[end - 1] != '"' or (end < len(text) and text[end] in "*~"):
            return None
        values = [text[i + 1 : end - 1]]
    else:
        # identifiers carry colons of their own (doi:https://doi.org/…, identifier:arxiv:1207.7214)
        end = _word_end(text, i, colons=name in ("doi", "identifier"))
        word = text[i:end]
        if not word or "*" in word or word[0] in "<>=[{-" or "~" in word:
            return None
        values = [word]
    terms = list(dict.fromkeys(term for value in values for term in filter_terms(name, value)))
    if not terms or any('"' in term or "\\" in term for term in terms):
        return None
    return f"{name}: IN [{' '.join(_quoted(t) for t in terms)}]", end


def _set_members(inner: str) -> list[str] | None:
    members = []
    i = 0
    while i < len(inner):
        if inner[i].isspace():
            i += 1
        elif inner[i] == '"':
            end = inner.find('"', i + 1)
            if end < 0:
                return None
            members.append(inner[i + 1 : end])
            i = end + 1
        else:
            end = i
            while end < len(inner) and not inner[end].isspace():
                end += 1
            members.append(inner[i:end])
            i = end
    return members


def _quoted(term: str) -> str:
    return f'"{term}"'


# ---- the clauses, in the grammar both backends read -----------------------------------------------------------


def number_text(value: float | int) -> str:
    """A number as the grammar reads it back to the same float: positional, no exponent."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _widen(bound: Bound, *, upper: bool) -> tuple[float | None, bool]:
    """An energy bound widened (inclusive) or narrowed (exclusive) by `TOLERANCE`, with its inclusiveness."""
    if bound.value is None:
        return None, True
    value = bound.value
    grow = (1 + TOLERANCE) if (upper == bound.inclusive) else (1 - TOLERANCE)
    if value < 0:
        grow = 2 - grow
    return value * grow, bound.inclusive


def _range(field: str, low: tuple[float | int | None, bool], high: tuple[float | int | None, bool]) -> str:
    (lv, li), (hv, hi) = low, high
    if lv is None and hv is None:
        return f"{field}:*"
    if hv is None:
        return f"{field}:{'>=' if li else '>'}{number_text(lv)}"  # type: ignore[arg-type]
    if lv is None:
        return f"{field}:{'<=' if hi else '<'}{number_text(hv)}"
    return f"{field}:{'[' if li else '{'}{number_text(lv)} TO {number_text(hv)}{']' if hi else '}'}"


def clause_syntax(name: str, low: Bound, high: Bound) -> str:
    """The clause for `energy`, `sqrt_s` or `date` between two bounds (None: open)."""
    if name == "date":
        return _date_syntax(low, high)
    wide_low = _widen(low, upper=False)
    wide_high = _widen(high, upper=True)
    sqrt_s = _range("sqrt_s_gev", wide_low, wide_high)
    if name == "sqrt_s":
        return sqrt_s
    minimum, maximum = ENERGY_OVERLAP[0], ENERGY_OVERLAP[1]
    # the record's interval [min, max] (a missing side open, but at least one side known) meets [low, high]
    starts_before_high = (
        f"({_range(minimum, (None, True), wide_high)} OR ({maximum}:* -{minimum}:*))"
        if wide_high[0] is not None
        else f"({minimum}:* OR {maximum}:*)"
    )
    ends_after_low = (
        f"({_range(maximum, wide_low, (None, True))} OR ({minimum}:* -{maximum}:*))"
        if wide_low[0] is not None
        else f"({minimum}:* OR {maximum}:*)"
    )
    return f"(({starts_before_high} AND {ends_after_low}) OR {sqrt_s})"


def _date_syntax(low: Bound, high: Bound) -> str:
    # the record's [start, end] meets [low, high]; both are always indexed together
    clauses = []
    if high.value is not None:
        clauses.append(_range(DATE_START_FIELD, (None, True), (int(high.value), high.inclusive)))
    if low.value is not None:
        clauses.append(_range(DATE_END_FIELD, (int(low.value), low.inclusive), (None, True)))
    if not clauses:
        return f"{DATE_START_FIELD}:*"
    return "(" + " AND ".join(clauses) + ")" if len(clauses) > 1 else clauses[0]


def overlap_syntax(name: str, bounds: Range) -> str:
    """The `energy=` or `date=` filter's clause (bounds in GeV or seconds, inclusive)."""
    return clause_syntax(name, Bound(bounds.low), Bound(bounds.high))


def parse_overlap_filter(name: str, value: str, offset: int) -> Range:
    """`energy=1TeV..100TeV` (GeV) or `date=2015-01-01..2018-12-31` (seconds): either side may be left open; one
    value is a point (an energy) or the period it names (a date)."""
    low_text, sep, high_text = value.partition("..")
    if not sep:
        high_text = low_text
    position_high = offset + (len(low_text) + 2 if sep else 0)
    low: float | None
    high: float | None
    if name == "date":
        low = date_bound(low_text, offset, upper=False, parameter="filter") if low_text.strip() else None
        high = date_bound(high_text, position_high, upper=True, parameter="filter") if high_text.strip() else None
    else:
        low = energy_gev(low_text, offset, parameter="filter", field=name) if low_text.strip() else None
        high = energy_gev(high_text, position_high, parameter="filter", field=name) if high_text.strip() else None
    if low is not None and high is not None and low > high:
        raise QueryError(
            f"{name}: range {value!r} is empty (low > high)",
            parameter="filter",
            position=offset,
            hint=f"swap the bounds: {name}={high_text.strip()}..{low_text.strip()}",
        )
    return Range(low, high)


def sqrt_s_range(value: str, offset: int) -> Range:
    """`sqrt_s=13TeV` or `sqrt_s=7TeV..8TeV` as a range of `sqrt_s_gev`, inclusive bounds widened by `TOLERANCE`."""
    low_text, sep, high_text = value.partition("..")
    if not sep:
        high_text = low_text
    low = energy_gev(low_text, offset, parameter="filter", field="sqrt_s") if low_text.strip() else None
    high = energy_gev(high_text, offset, parameter="filter", field="sqrt_s") if high_text.strip() else None
    if low is not None and high is not None and low > high:
        raise QueryError(
            f"sqrt_s: range {value!r} is empty (low > high)",
            parameter="filter",
            position=offset,
            hint=f"swap the bounds: sqrt_s={high_text.strip()}..{low_text.strip()}",
        )
    wide_low = _widen(Bound(low), upper=False)[0]
    wide_high = _widen(Bound(high), upper=True)[0]
    return Range(wide_low, wide_high)


@lru_cache(maxsize=1024)
def search_text(text: str) -> str:
    """`rewrite_text`, remembered: the backends call it on every page of a walk."""
    return rewrite_text(text)


def overlap_filter_syntax(name: str, alternatives: tuple[Range, ...]) -> str:
    """One overlap filter's ranges, OR-ed (a record meeting any of them matches)."""
    clauses = [overlap_syntax(name, bounds) for bounds in alternatives]
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"
