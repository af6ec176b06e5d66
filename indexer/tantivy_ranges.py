"""Numeric ranges on tantivy as sets of the values the index holds, where that is cheaper and means the same.

tantivy answers a range on a fast field (every numeric field here is fast) by scanning the field's column: about
10 ns per document of the index whatever the range, 5–12 ms per range clause at 1M documents, and the energy and
date overlaps of the portal's queries have two or three such clauses each. The same field is indexed too, and most
of these fields hold few distinct values (years, √s, the ends of energy intervals, dates at day precision), so
"the documents whose value lies in the range" is also the union of the postings of the values in the range: a term
set, read from the inverted index, 2–4 times cheaper at 1M documents.

`RangePlanner` knows, per index state and field, the sorted distinct values of the live documents (one terms
aggregation, at most `MAX_VALUES` of them, else the field keeps its ranges) and turns
* a range filter (`year=2010..2016`) into a term set query (`range_set`), and
* every range clause on such a field in the search grammar (`year:[2010 TO 2016]`, `energy_max_gev:>=1000`,
  from the search text and the overlap filters) into the grammar's set `year: IN [2010 2011 …]` (`with_sets`).

The hits are the same documents (a value is in the set exactly when it is in the range; tantivy compares the same
64-bit numbers), with the same scores: a range clause and a term set both score a constant 1 (times a boost).
Clauses it does not recognise, or whose set would be larger than `MAX_SET`, stay ranges.

Reading a set costs about one step per posting, so a set of most of the index is dear even when the other clause of
its conjunction is selective. The overlap clauses are conjunctions of two ranges on a pair of fields that go together
(`PAIRED_FIELDS`: an interval's two ends), e.g. `(date_start_ts:<=H AND date_end_ts:>=L)`, where "start <= H" holds
for 600,000 of 1M documents and "start > H" for 150,000. When the index state shows that every document holds both
fields of the pair or neither, with one value each (`paired`), "start <= H" among the documents that have an end
is "not start > H", so the conjunction is written with the fewer postings: `(date_end_ts: IN [...]
-date_start_ts: IN [...])^2` (the boost keeps the score: the two clauses scored 1 each), or without the negated
set when nothing is outside the range (energies from 1 GeV to 1 PeV: no interval starts above 1 PeV). At 1M: the
date filter of the load mix 8.1 -> 4.1 ms, the energy filter 13.6 -> 9.9 ms.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import tantivy

from indexer.document import FLOAT_FIELDS, INTEGER_FIELDS, SORT_KEYS
from indexer.query_text import number_text, splice

MAX_VALUES = 4096
"""Distinct values a field may hold for its ranges to become sets (more: the column scan stays)."""
MAX_SET = 1024
"""Values one set may list: each is a term-dictionary lookup, and beyond this the scan is the cheaper."""
CACHED_STATES = 4
CACHED_TEXTS = 256
PAIRED_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {("date_start_ts", "date_end_ts"), ("energy_min_gev", "energy_max_gev")}
)
"""Fields written together: the two ends of a record's date interval, and of its energy interval (an interval may
lack one end, in which case the index state says so and the pair is not used)."""

Number = int | float

_INTEGER = frozenset((*INTEGER_FIELDS, *(name for name, kind in SORT_KEYS.items() if kind == "integer")))
_FLOAT = frozenset(FLOAT_FIELDS)
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RANGE_CLAUSE = re.compile(
    r"(?<![\w.])(?P<field>[A-Za-z_][\w]*):"
    r"(?:(?P<open>[\[{])(?P<low>[^\s\[\]{}()\"]+) TO (?P<high>[^\s\[\]{}()\"]+)(?P<close>[\]}])"
    r"|(?P<op>>=|<=|>|<)(?P<bound>[^\s\[\]{}()\"^]+))"
)
"""A range leaf as `indexer.query_text` writes it and as people type it: `f:[a TO b]` (`{`/`}` exclusive, `*` open)
or `f:>=a`, `f:>a`, `f:<=b`, `f:<b`. Anything written otherwise is left to tantivy as a range."""


@dataclass(frozen=True)
class Column:
    """A field's distinct values in the live documents, ascending, and how many documents hold each."""

    values: tuple[Number, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Bounds:
    low: Number | None
    high: Number | None
    low_inclusive: bool = True
    high_inclusive: bool = True


class RangePlanner:
    """Distinct values per (index state, field), and the rewrites that use them; see the module doc."""

    def __init__(self) -> None:
        self._columns: dict[str | None, dict[str, Column | None]] = {}
        self._pairs: dict[str, dict[tuple[str, str], bool]] = {}
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def column(self, searcher: tantivy.Searcher, index_state: str | None, field: str) -> Column | None:
        """The distinct values of `field` in the live documents with their counts, None when there are too many
        (or the field is not numeric, or the index state is unknown: the values could change under the search)."""
        if index_state is None or (field not in _INTEGER and field not in _FLOAT):
            return None
        with self._lock:
            known = self._columns.get(index_state, {})
            if field in known:
                return known[field]
        found = _distinct_values(searcher, field)
        with self._lock:
            if index_state not in self._columns:
                while len(self._columns) >= CACHED_STATES:
                    self._columns.pop(next(iter(self._columns)))
                self._columns[index_state] = {}
            self._columns[index_state][field] = found
        return found

    def paired(self, searcher: tantivy.Searcher, index_state: str | None, first: str, second: str) -> bool:
        """Whether every live document holds both fields or neither, one value of each, and both fields have their
        columns (then "first in a range" is "first not outside it" among the documents having `second`)."""
        if index_state is None or (first, second) not in PAIRED_FIELDS:
            return False
        with self._lock:
            known = self._pairs.get(index_state, {}).get((first, second))
        if known is not None:
            return known
        found = self._check_pair(searcher, index_state, first, second)
        with self._lock:
            if index_state not in self._pairs:
                while len(self._pairs) >= CACHED_STATES:
                    self._pairs.pop(next(iter(self._pairs)))
                self._pairs[index_state] = {}
            self._pairs[index_state][(first, second)] = found
        return found

    def _check_pair(self, searcher: tantivy.Searcher, index_state: str, first: str, second: str) -> bool:
        columns = [self.column(searcher, index_state, field) for field in (first, second)]
        if columns[0] is None or columns[1] is None:
            return False
        both = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.exists_query(first)),
                (tantivy.Occur.Must, tantivy.Query.exists_query(second)),
            ]
        )
        # A column's counts add up to at least the documents holding the field (more when one holds two values),
        # which are at least those holding both: equal sums mean both fields together, one value each.
        together = _count(searcher, both)
        return sum(columns[0].counts) == together == sum(columns[1].counts)

    def head(
        self,
        searcher: tantivy.Searcher,
        index_state: str | None,
        schema: tantivy.Schema,
        field: str,
        *,
        descending: bool,
        need: int,
    ) -> tantivy.Query | None:
        """The documents holding the first values of `field` in the order asked for, just enough of them to hold at
        least `need` documents: among all documents, the first `need` by `field` are all in it. A first page of
        everything sorted by a few-valued field (the portal's landing page, newest first) reads these instead of
        ordering the whole index (10 ms at 1M documents). None when the field has too many values or fewer than
        `need` documents hold one."""
        column = self.column(searcher, index_state, field)
        if column is None:
            return None
        positions = range(len(column.values) - 1, -1, -1) if descending else range(len(column.values))
        chosen: list[Number] = []
        held = 0
        for position in positions:
            chosen.append(column.values[position])
            held += column.counts[position]
            if held >= need:
                return tantivy.Query.term_set_query(schema, field, chosen)
            if len(chosen) >= MAX_SET:
                return None
        return None

    def range_set(
        self, searcher: tantivy.Searcher, index_state: str | None, schema: tantivy.Schema, field: str, bounds: Bounds
    ) -> tantivy.Query | None:
        """A term set query equal to the range `bounds` of `field`, or None to keep the range."""
        chosen = self._chosen(searcher, index_state, field, bounds)
        if chosen is None:
            return None
        if not chosen:
            return tantivy.Query.empty_query()
        return tantivy.Query.term_set_query(schema, field, list(chosen))

    def with_sets(self, searcher: tantivy.Searcher, index_state: str | None, text: str) -> str:
        """The search grammar `text` with its range clauses on few-valued numeric fields written as sets."""
        if index_state is None or ":" not in text:
            return text
        with self._lock:
            known = self._texts.get((index_state, text))
        if known is not None:
            return known  # a set of hundreds of dates takes a few milliseconds to write out
        rewritten = self._rewrite(searcher, index_state, text)
        with self._lock:
            self._texts[(index_state, text)] = rewritten
            while len(self._texts) > CACHED_TEXTS:
                self._texts.popitem(last=False)
        return rewritten

    def _rewrite(self, searcher: tantivy.Searcher, index_state: str, text: str) -> str:
        text = self._rewrite_pairs(searcher, index_state, text)
        quoted = _quoted_spans(text)

        def replace(match: re.Match[str]) -> str:
            if any(start <= match.start() < end for start, end in quoted):
                return match.group(0)
            field = match.group("field")
            bounds = _clause_bounds(field, match)
            if bounds is None:
                return match.group(0)
            chosen = self._chosen(searcher, index_state, field, bounds)
            if chosen is None:
                return match.group(0)
            return ValueSet(field, chosen, 0).text()

        return _RANGE_CLAUSE.sub(replace, text)

    def _rewrite_pairs(self, searcher: tantivy.Searcher, index_state: str, text: str) -> str:
        """Conjunctions of two ranges on paired fields written with the fewest postings (see the module doc)."""
        quoted = _quoted_spans(text)
        unquoted = (
            found for found in _pair_conjunctions(text) if not any(start <= found.start < end for start, end in quoted)
        )
        return splice(text, ((one.start, one.end, self._pair_sets(searcher, index_state, one)) for one in unquoted))

    def _pair_sets(self, searcher: tantivy.Searcher, index_state: str, found: PairConjunction) -> str | None:
        """The conjunction as one set and the other's complement negated, when that reads fewer postings than the
        two sets; None to leave it to the clause-by-clause rewrite."""
        first, second = (clause.group("field") for clause in found.clauses)
        pair = (first, second) if (first, second) in PAIRED_FIELDS else (second, first)
        if pair not in PAIRED_FIELDS or not self.paired(searcher, index_state, *pair):
            return None
        inside: list[ValueSet] = []
        outside: list[ValueSet] = []
        for clause in found.clauses:
            field = clause.group("field")
            bounds = _clause_bounds(field, clause)
            column = self.column(searcher, index_state, field)
            if bounds is None or column is None:
                return None
            start, end = _positions(column.values, bounds)
            inside.append(ValueSet(field, column.values[start:end], sum(column.counts[start:end])))
            rest = sum(column.counts[:start]) + sum(column.counts[end:])
            outside.append(ValueSet(field, column.values[:start] + column.values[end:], rest))
        # Postings read: both sets, or one set and the values outside the other's range (a negated set).
        as_is = inside[0].postings + inside[1].postings
        kept = min((0, 1), key=lambda side: inside[side].postings + outside[1 - side].postings)
        positive, negated = inside[kept], outside[1 - kept]
        if positive.postings + negated.postings >= as_is or max(len(positive.values), len(negated.values)) > MAX_SET:
            return None
        written = positive.text()
        if negated.values:
            written += " -" + negated.text()
        return f"({written})^2"  # the two clauses scored 1 each; a set scores 1

    def _chosen(
        self, searcher: tantivy.Searcher, index_state: str | None, field: str, bounds: Bounds
    ) -> Sequence[Number] | None:
        column = self.column(searcher, index_state, field)
        if column is None:
            return None
        start, end = _positions(column.values, bounds)
        chosen = column.values[start:end]
        return chosen if len(chosen) <= MAX_SET else None


def _positions(values: Sequence[Number], bounds: Bounds) -> tuple[int, int]:
    """The slice of the ascending `values` inside `bounds` (start == end when none is)."""
    start = 0
    if bounds.low is not None:
        start = (bisect_left if bounds.low_inclusive else bisect_right)(values, bounds.low)
    end = len(values)
    if bounds.high is not None:
        end = (bisect_right if bounds.high_inclusive else bisect_left)(values, bounds.high)
    return start, max(start, end)


@dataclass(frozen=True)
class ValueSet:
    """Some values of a field and how many documents hold them."""

    field: str
    values: Sequence[Number]
    postings: int

    def text(self) -> str:
        return f"{self.field}: IN [{' '.join(_value_text(value) for value in self.values)}]"


@dataclass(frozen=True)
class PairConjunction:
    """`(A AND B)` in the search text, A and B range leaves (each may stand in its own parentheses)."""

    start: int
    end: int
    clauses: tuple[re.Match[str], re.Match[str]]


def _pair_conjunctions(text: str) -> Iterator[PairConjunction]:
    """Every group holding exactly two range leaves joined by AND, without a boost of its own."""
    position = text.find("(")
    while position >= 0:
        clauses: list[re.Match[str]] = []
        cursor = position + 1
        for joint in (" AND ", ")"):
            wrapped = text.startswith("(", cursor)
            clause = _RANGE_CLAUSE.match(text, cursor + wrapped)
            if clause is None:
                break
            cursor = clause.end()
            if wrapped:
                if not text.startswith(")", cursor):
                    break
                cursor += 1
            if not text.startswith(joint, cursor):
                break
            cursor += len(joint)
            clauses.append(clause)
        if len(clauses) == 2 and not text.startswith("^", cursor):
            yield PairConjunction(position, cursor, (clauses[0], clauses[1]))
        position = text.find("(", position + 1)


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    return int(getattr(searcher.search(query, limit=1, count=True), "count", 0) or 0)


def _distinct_values(searcher: tantivy.Searcher, field: str) -> Column | None:
    spec = {"values": {"terms": {"field": field, "size": MAX_VALUES + 1, "segment_size": MAX_VALUES + 1}}}
    result = searcher.aggregate(tantivy.Query.all_query(), spec).get("values", {})
    buckets = result.get("buckets", [])
    # Values cut from some segment's top list leave documents uncounted: the list would be incomplete.
    if len(buckets) > MAX_VALUES or int(result.get("sum_other_doc_count", 0) or 0) > 0:
        return None
    convert: Callable[[object], Number] = _as_int if field in _INTEGER else _as_float
    counts: dict[Number, int] = {}
    try:
        for bucket in buckets:
            value = convert(bucket["key"])
            counts[value] = counts.get(value, 0) + int(bucket["doc_count"])
    except (TypeError, ValueError, KeyError):
        return None
    if any(isinstance(v, float) and (math.isnan(v) or math.isinf(v) or (v == 0 and math.copysign(1, v) < 0))
           for v in counts):  # fmt: skip
        return None  # NaN, ±∞ and −0 order differently in tantivy's terms than in Python's comparisons
    values = tuple(sorted(counts))
    return Column(values, tuple(counts[value] for value in values))


def _as_int(key: object) -> int:
    if isinstance(key, bool) or not isinstance(key, int | float):
        raise ValueError(f"not an integer: {key!r}")
    if isinstance(key, float) and (not key.is_integer() or abs(key) >= 2**53):
        raise ValueError(f"not an exact integer: {key!r}")  # a 64-bit value rounded on the way: not the term
    return int(key)


def _as_float(key: object) -> float:
    if isinstance(key, bool) or not isinstance(key, int | float):
        raise ValueError(f"not a number: {key!r}")
    return float(key)


def _clause_bounds(field: str, match: re.Match[str]) -> Bounds | None:
    if match.group("op"):
        value = _bound_number(field, match.group("bound"))
        if value is None:
            return None
        op = match.group("op")
        if op.startswith(">"):
            return Bounds(value, None, low_inclusive=op == ">=")
        return Bounds(None, value, high_inclusive=op == "<=")
    low_text, high_text = match.group("low"), match.group("high")
    low = None if low_text == "*" else _bound_number(field, low_text)
    high = None if high_text == "*" else _bound_number(field, high_text)
    if (low is None and low_text != "*") or (high is None and high_text != "*"):
        return None
    return Bounds(low, high, low_inclusive=match.group("open") == "[", high_inclusive=match.group("close") == "]")


def _bound_number(field: str, text: str) -> Number | None:
    """The bound as tantivy reads it for the field, or None when it is written in a way left to tantivy."""
    if field in _INTEGER:
        return int(text) if _INTEGER_TEXT.fullmatch(text) and -(2**63) <= int(text) < 2**63 else None
    if field in _FLOAT and _FLOAT_TEXT.fullmatch(text):
        value = float(text)
        return value if math.isfinite(value) else None
    return None


def _value_text(value: Number) -> str:
    return str(value) if isinstance(value, int) else number_text(value)


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Where the phrases are (a range written inside quotes is a phrase's words, not a clause)."""
    spans = []
    start: int | None = None
    escaped = False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            if start is None:
                start = position
            else:
                spans.append((start, position + 1))
                start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans
