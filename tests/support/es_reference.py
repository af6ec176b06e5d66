"""A reference reading of the Query DSL subset the Elasticsearch backend emits, to test its translation offline.

Without a cluster, the question "does the ES query mean what the tantivy query means?" is answered here: this
module evaluates a search body's `query`, `sort` and `aggregations` over index documents the way Elasticsearch's
documentation defines them, and the translation tests compare its answers with `TantivyIndex` on the same
documents. It is not the protocol double (the backend never talks to it) and it proves nothing about Elasticsearch
itself: the live suite (`DMLAKE_ES_URL`) does that.

The semantics it implements, each as Elasticsearch documents it:
* `bool`: all `must` and `filter`, no `must_not`; `should` optional when there is a `must` or `filter`, else at
  least one; an empty `bool` matches everything;
* `term`/`terms` on keyword (exact, case-sensitive), numeric (equal value) fields; `range` with gt/gte/lt/lte;
  `exists`: the field has a value; `match_all`, `match_none`;
* `match_phrase`: the query analysed with the field's analyser; no token → no match; one → that term; several →
  consecutive positions, or within `slop` (Lucene: the spread of the terms' offsets is at most the slop); values
  of a multi-valued field are 100 positions apart (`position_increment_gap`), so a phrase never spans two values;
* `match_phrase_prefix`: the last token expanded to at most 50 indexed terms of the field it prefixes;
* `sort`: field values with `missing: _last`, `_score` not modelled (relevance order is not compared);
* `terms` aggregations: documents per distinct value.
The analysers are tantivy's (`indexer.tantivy_schema.analyzers`), standing in for the template's; that the two
agree is checked separately (`test_elasticsearch_analysis.py`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import cmp_to_key
from typing import Any

from indexer.document import TEXT_FIELDS
from indexer.tantivy_schema import analyzers

POSITION_GAP = 100
MAX_EXPANSIONS = 50


class Reference:
    def __init__(self, documents: Iterable[Mapping[str, Any]]) -> None:
        self.documents = list(documents)
        self._analyzers = analyzers()
        self._positions: list[dict[str, dict[str, list[int]]]] = [self._index(d) for d in self.documents]
        self._terms: dict[str, list[str]] = {
            name: sorted({term for positions in self._positions for term in positions.get(name, {})})
            for name in TEXT_FIELDS
        }

    def _analyze(self, field: str, text: str) -> list[str]:
        return [str(t) for t in self._analyzers[TEXT_FIELDS[field].analyzer].analyze(text)]

    def _index(self, document: Mapping[str, Any]) -> dict[str, dict[str, list[int]]]:
        out: dict[str, dict[str, list[int]]] = {}
        for name in TEXT_FIELDS:
            positions: dict[str, list[int]] = {}
            start = 0
            for value in document.get(name) or []:
                tokens = self._analyze(name, value)
                for offset, token in enumerate(tokens):
                    positions.setdefault(token, []).append(start + offset)
                start += len(tokens) + POSITION_GAP
            out[name] = positions
        return out

    # ---- queries --------------------------------------------------------------------------------------------

    def matching(self, query: Mapping[str, Any]) -> list[int]:
        """Positions (in `documents`) of the documents the query matches."""
        return [n for n in range(len(self.documents)) if self.matches(query, n)]

    def matches(self, query: Mapping[str, Any], n: int) -> bool:
        ((kind, body),) = query.items()
        document = self.documents[n]
        if kind == "match_all":
            return True
        if kind == "match_none":
            return False
        if kind == "bool":
            return self._bool(body, n)
        if kind == "exists":
            return bool(_values(document.get(body["field"])))
        ((name, options),) = body.items()
        if kind == "term":
            return self._has(name, n, options["value"])
        if kind == "terms":
            return any(self._has(name, n, value) for value in options)
        if kind == "range":
            return any(_in_range(value, options) for value in self._comparable(name, n))
        if kind == "match_phrase":
            return self._phrase(name, n, self._analyze(name, options["query"]), int(options.get("slop", 0)), False)
        if kind == "match_phrase_prefix":
            tokens = self._analyze(name, options["query"])
            return self._phrase(name, n, tokens, int(options.get("slop", 0)), True)
        raise AssertionError(f"the reference does not read {kind!r} queries; the backend should not emit them")

    def _bool(self, body: Mapping[str, Any], n: int) -> bool:
        def clauses(key: str) -> list[Mapping[str, Any]]:
            value = body.get(key, [])
            return value if isinstance(value, list) else [value]

        must, filters, must_not, should = (clauses(k) for k in ("must", "filter", "must_not", "should"))
        if not all(self.matches(q, n) for q in (*must, *filters)):
            return False
        if any(self.matches(q, n) for q in must_not):
            return False
        if should and not must and not filters:
            return any(self.matches(q, n) for q in should)
        return True

    def _has(self, name: str, n: int, value: Any) -> bool:
        if name in TEXT_FIELDS:
            return value in self._positions[n][name]
        return any(v == value for v in _values(self.documents[n].get(name)))

    def _comparable(self, name: str, n: int) -> list[Any]:
        if name in TEXT_FIELDS:
            return list(self._positions[n][name])
        return _values(self.documents[n].get(name))

    def _phrase(self, name: str, n: int, tokens: list[str], slop: int, prefix: bool) -> bool:
        if not tokens:
            return False
        positions = self._positions[n][name]
        lists = [positions.get(token, []) for token in tokens]
        if prefix:
            expansions = [t for t in self._terms[name] if t.startswith(tokens[-1])][:MAX_EXPANSIONS]
            lists[-1] = sorted(p for t in expansions for p in positions.get(t, []))
        if len(tokens) == 1:
            return bool(lists[0])
        if slop == 0:
            return any(all(start + i in set(lists[i]) for i in range(1, len(lists))) for start in lists[0])
        return _sloppy(lists, slop)

    # ---- sorts and facets -----------------------------------------------------------------------------------

    def ordered(self, matching: Sequence[int], sort: Sequence[Mapping[str, Any]]) -> list[str]:
        """The ids of `matching` in the order of the sort clauses (field sorts with `missing: _last`)."""

        def compare(a: int, b: int) -> int:
            for clause in sort:
                ((name, options),) = clause.items()
                descending = options.get("order") == "desc"
                x, y = (
                    _sort_value(self.documents[a].get(name), descending),
                    _sort_value(self.documents[b].get(name), descending),
                )
                if x is None or y is None:
                    if x is None and y is None:
                        continue
                    return 1 if x is None else -1  # missing last, in both directions
                if x != y:
                    return (-1 if x < y else 1) * (-1 if descending else 1)
            return 0

        return [str(self.documents[n]["id"]) for n in sorted(matching, key=cmp_to_key(compare))]

    def facet_counts(self, matching: Sequence[int], field: str) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for n in matching:
            counts.update({_key(v) for v in _values(self.documents[n].get(field))})
        return dict(counts)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _in_range(value: Any, options: Mapping[str, Any]) -> bool:
    for op, bound in options.items():
        if op == "gt" and not value > bound:
            return False
        if op == "gte" and not value >= bound:
            return False
        if op == "lt" and not value < bound:
            return False
        if op == "lte" and not value <= bound:
            return False
    return True


def _sort_value(value: Any, descending: bool) -> Any:
    """A multi-valued field sorts by its minimum ascending and its maximum descending (Elasticsearch's default)."""
    values = _values(value)
    if not values:
        return None
    return max(values) if descending else min(values)


def _sloppy(lists: list[list[int]], slop: int) -> bool:
    """Lucene's sloppy phrase: some choice of positions whose offsets (position − index in the phrase) spread over
    at most `slop`."""

    def search(i: int, low: int, high: int) -> bool:
        if i == len(lists):
            return high - low <= slop
        for position in lists[i]:
            offset = position - i
            new_low, new_high = min(low, offset), max(high, offset)
            if new_high - new_low <= slop and search(i + 1, new_low, new_high):
                return True
        return False

    return any(search(1, p, p) for p in lists[0])


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
