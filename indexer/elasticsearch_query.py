"""The query model (`indexer.query.Query`) as Elasticsearch Query DSL, meaning what the tantivy backend means.

The search text is read by tantivy's own grammar: it is first parsed exactly as the embedded backend parses it (so
a text one backend refuses, the other refuses with the same `QueryError`, position and hint), then its syntax tree
(`tantivy.parse_query_lenient`) is translated clause by clause following tantivy's `QueryParser`:

* a word or phrase without a field searches every full-text field of `indexer.document.TEXT_FIELDS` (OR across
  fields, each with its boost); with `FIELD:` only that field. On a full-text field it is a `match_phrase` (one
  token → a term, several → a phrase with the given slop; Elasticsearch analyses it with the same analyser as the
  field), `"..."*` a `match_phrase_prefix` (of two words or more, as tantivy requires); on a keyword field a
  `term` on the whole value; on a numeric field a `term` on the number. A word that leaves no token in a field
  (punctuation in prose) contributes nothing there, and a word that leaves no token anywhere is dropped from its
  clause, as tantivy drops it;
* clauses combine as tantivy combines them: no operator → required (words are AND-ed), `OR` → should, `-`/`NOT`
  → must_not; a group of only excluding clauses matches nothing (tantivy's boolean query needs a positive clause;
  Elasticsearch would otherwise read it as "everything except");
* `FIELD:[a TO b]`, `FIELD:>x`, `FIELD: IN [a b]`, `FIELD:*` and `*` become `range`, `terms`, `exists` and
  `match_all`; bounds and set members on full-text fields are analysed to their one token first, as tantivy does.

Filters, ranges, sorts and facets follow `TantivyIndex` rule for rule: several values of a field are OR-ed (each
expanded by `filter_terms`), integer bounds round inwards, infinite bounds are open, `field=..` means "has a value",
sort values are the `SORT_LEVELS` tuple then the tie-break hash then the id, documents without the first sort value
last in both directions. Every query is written in the long forms the OpenAPI specification describes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import tantivy

from indexer.document import (
    CLUSTER_FIELD,
    FLOAT_FIELDS,
    ID_FIELD,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SORT_KEYS,
    SORT_LEVELS,
    SUMMARY_FIELD,
    TEXT_FIELDS,
    TIEBREAK_FIELD,
    AnalyzerName,
)
from indexer.histograms import DECADES, ENERGY_HISTOGRAM, YEAR_BUCKETS, YEAR_HISTOGRAM
from indexer.query import Query, QueryError, Range
from indexer.query_terms import MATCH_NOTHING, filter_values, query_fingerprint, range_limits
from indexer.query_text import overlap_filter_syntax, search_text
from indexer.tantivy_schema import analyzers

Dsl = dict[str, Any]

MATCH_ALL: Dsl = {"match_all": {}}
MATCH_NONE: Dsl = {"match_none": {}}

SOURCE_FIELDS = [ID_FIELD, SUMMARY_FIELD]
"""What a hit needs from `_source`: the id and the stored summary."""

FACET_EXTRA = 10
"""Buckets asked for beyond `facet_size`, so values tied on count are cut by value (as the tantivy backend does)."""

_KEYWORDS = frozenset((ID_FIELD, CLUSTER_FIELD, *KEYWORD_FIELDS))
_INTEGERS = frozenset((*INTEGER_FIELDS, *(name for name, kind in SORT_KEYS.items() if kind == "integer")))
_UNSIGNED = frozenset(name for name, kind in SORT_KEYS.items() if kind == "unsigned")
_FLOATS = frozenset(FLOAT_FIELDS)
_FAST = _KEYWORDS | _INTEGERS | _UNSIGNED | _FLOATS
"""Fields tantivy keeps columnar ("fast"): the only ones `FIELD:*` can test for a value."""


# ---- the search text ------------------------------------------------------------------------------------------------


@cache
def _tantivy_analyzers() -> dict[AnalyzerName, tantivy.TextAnalyzer]:
    return analyzers()


_parser_lock = threading.Lock()


@cache
def _reference_parser() -> Any:
    """An empty in-memory tantivy index: the embedded backend's parser, used to accept or refuse a text exactly as
    it would (same messages, positions and hints)."""
    from indexer.tantivy_backend import TantivyIndex

    return TantivyIndex(None)


def check_text(text: str) -> None:
    """Raise the `QueryError` the embedded backend raises for this text, if any."""
    parser = _reference_parser()
    with _parser_lock:
        parser._text_query(text)


def tokens(field: str, text: str) -> list[str]:
    """The tokens a full-text field's analyser makes of `text` (tantivy's analyser; the index's is equivalent)."""
    analyzer = _tantivy_analyzers()[TEXT_FIELDS[field].analyzer]
    return [str(token) for token in analyzer.analyze(text)]


def text_query(text: str) -> Dsl:
    """The search text as a query; `MATCH_NONE` when nothing of it is left (as tantivy's empty query).

    dmlake's own field syntax (`indexer.query_text`: portal fields, energies with units, dates) is first rewritten
    into tantivy's grammar, exactly as the embedded backend rewrites it."""
    return _grammar_query(search_text(text))


def _grammar_query(text: str) -> Dsl:
    check_text(text)
    tree = syntax_tree(text)
    translated = _node(tree)
    return MATCH_NONE if translated is None else translated


_SLASH = "\ue000"


def syntax_tree(text: str) -> dict[str, Any]:
    """tantivy's syntax tree of a text its strict parser accepted.

    Only the lenient parser returns a tree, and the two read a `/` differently: the strict one falls back to a word
    when a `/.../` regex does not parse ("/DoubleMu/Run2011A-v1/AOD", "J/psi"), the lenient one keeps a broken regex.
    In an accepted text every unquoted `/` is therefore part of a word (regex queries are refused), so slashes are
    hidden behind a private-use character while parsing and restored in the tree."""
    hidden = _SLASH not in text
    tree, problems = tantivy.parse_query_lenient(_hide_slashes(text) if hidden else text)
    if problems:
        position = int(problems[0].get("pos", 0))
        raise QueryError(
            f"cannot read the search text: {problems[0].get('message', 'syntax error')} at position {position}",
            parameter="q",
            position=position,
            hint='put words with operator characters (> < = ^ ~ : / *) in quotes, e.g. "B0->K*mumu"',
        )
    return _restore_slashes(tree) if hidden else tree


def _hide_slashes(text: str) -> str:
    out = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "/" and not quoted:
            char = _SLASH
        out.append(char)
    return "".join(out)


def _restore_slashes(node: Any) -> Any:
    if isinstance(node, str):
        return node.replace(_SLASH, "/")
    if isinstance(node, dict):
        return {key: _restore_slashes(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return type(node)(_restore_slashes(item) for item in node)
    return node


def _node(node: Mapping[str, Any]) -> Dsl | None:
    kind = node.get("type")
    if kind == "bool":
        return _clauses(node["clauses"])
    if kind == "boost":
        inner = _node(node["underlying"])
        if inner is None:
            return None
        return {"bool": {"must": [inner], "boost": float(node["boost"])}}
    if kind == "literal":
        return _literal(node)
    if kind == "range":
        return _range_leaf(node)
    if kind == "set":
        return _set_leaf(node)
    if kind == "exists":
        return _exists_leaf(node["field"])
    if kind == "all":
        return dict(MATCH_ALL)
    raise QueryError(
        f"cannot search with a {kind} clause on this backend",
        parameter="q",
        position=0,
        hint="use words, phrases, FIELD:value, ranges FIELD:[a TO b] and sets FIELD: IN [a b]",
    )


def _clauses(clauses: Iterable[tuple[str | None, Mapping[str, Any]]]) -> Dsl | None:
    occurs: dict[str, list[Dsl]] = {"must": [], "should": [], "must_not": []}
    for occur, child in clauses:
        translated = _node(child)
        if translated is None:
            continue  # tantivy trims clauses that are left empty
        occurs[occur or "must"].append(translated)
    if not any(occurs.values()):
        return None
    if not occurs["must"] and not occurs["should"]:
        return dict(MATCH_NONE)  # only excluding clauses: tantivy's boolean query matches nothing
    if len(occurs["must"]) + len(occurs["should"]) == 1 and not occurs["must_not"]:
        return (occurs["must"] or occurs["should"])[0]
    return {"bool": {occur: queries for occur, queries in occurs.items() if queries}}


def _literal(node: Mapping[str, Any]) -> Dsl | None:
    phrase = str(node["phrase"])
    slop = int(node.get("slop") or 0)
    prefix = bool(node.get("prefix"))
    field = node.get("field_name")
    names = [field] if field else list(TEXT_FIELDS)
    per_field = []
    for name in names:
        query = _field_literal(name, phrase, slop, prefix)
        if query is None:
            continue
        boost = TEXT_FIELDS[name].boost if name in TEXT_FIELDS else 1.0
        if boost != 1.0:
            query = _boosted(query, boost)
        per_field.append(query)
    if not per_field:
        return None
    if len(per_field) == 1:
        return per_field[0]
    return {"bool": {"should": per_field}}


def _boosted(query: Dsl, boost: float) -> Dsl:
    ((kind, body),) = query.items()
    ((field, options),) = body.items()
    return {kind: {field: {**options, "boost": boost}}}


def _field_literal(name: str, phrase: str, slop: int, prefix: bool) -> Dsl | None:
    if name in TEXT_FIELDS:
        if not tokens(name, phrase):
            return None
        if prefix:
            return {"match_phrase_prefix": {name: {"query": phrase, "slop": slop}}}
        return {"match_phrase": {name: {"query": phrase, "slop": slop}}}
    if name in _KEYWORDS:  # one token (the whole value): tantivy refuses a prefix phrase of fewer than two
        return {"term": {name: {"value": phrase}}}
    return {"term": {name: {"value": _number(name, phrase)}}}


def _number(name: str, text: str) -> int | float:
    """A number as tantivy reads it for the field (the reference parse has already refused what does not parse)."""
    try:
        if name in _FLOATS:
            return float(text.strip())
        return int(text.strip())
    except ValueError:
        kind = "a number" if name in _FLOATS else "an integer"
        raise QueryError(
            f"{name}: {text!r} is not {kind}", parameter="q", position=0, hint=f"write {name}:NUMBER"
        ) from None


def _bound_value(name: str, text: str) -> Any:
    if name in TEXT_FIELDS:
        found = tokens(name, text)
        if len(found) != 1:
            raise QueryError(
                f"{name}: the bound {text!r} is not one word",
                parameter="q",
                position=0,
                hint=f"ranges and sets on {name} compare single words",
            )
        return found[0]
    if name in _KEYWORDS:
        return text
    return _number(name, text)


def _range_leaf(node: Mapping[str, Any]) -> Dsl:
    name = str(node["field"])
    options: dict[str, Any] = {}
    for side, (inclusive, exclusive) in (("lower", ("gte", "gt")), ("upper", ("lte", "lt"))):
        bound = node[side]
        if bound.get("type") == "unbounded":
            continue
        options[inclusive if bound["type"] == "inclusive" else exclusive] = _bound_value(name, str(bound["value"]))
    if not options:
        return {"exists": {"field": name}}
    return {"range": {name: options}}


def _set_leaf(node: Mapping[str, Any]) -> Dsl:
    name = str(node["field"])
    values = list(dict.fromkeys(_bound_value(name, str(element)) for element in node["elements"]))
    if not values:
        return dict(MATCH_NONE)
    return {"terms": {name: values}}


def _exists_leaf(name: str) -> Dsl:
    if name not in _FAST:
        raise QueryError(
            f"cannot test {name} for a value: {name}:* works on keyword and numeric fields",
            parameter="q",
            position=0,
            hint="e.g. doi:* or year:*; to find a word in a text field, search for the word",
        )
    return {"exists": {"field": name}}


# ---- filters and ranges ---------------------------------------------------------------------------------------------


def filter_clause(name: str, values: Iterable[str]) -> Dsl:
    """Records whose `name` is any of `values` (expanded by `filter_terms`; numbers compared exactly)."""
    wanted = filter_values(name, values)
    if wanted.numbers:
        alternatives = [range_clause(name, Range(n, n)) for n in wanted.numbers]
        return {"bool": {"should": alternatives}} if len(alternatives) != 1 else alternatives[0]
    if len(wanted.terms) == 1:
        return {"term": {name: {"value": wanted.terms[0]}}}
    return {"terms": {name: wanted.terms}}


def range_clause(name: str, bounds: Range) -> Dsl:
    """Records whose numeric `name` lies in `bounds` (inclusive; integer bounds rounded inwards)."""
    limits = range_limits(name, bounds)
    if limits is MATCH_NOTHING:
        return dict(MATCH_NONE)
    low, high = limits
    if low is None and high is None:
        return {"exists": {"field": name}}
    options: dict[str, Any] = {}
    if low is not None:
        options["gte"] = low
    if high is not None:
        options["lte"] = high
    return {"range": {name: options}}


def base_query(query: Query) -> Dsl:
    """Text (scored) AND filters AND ranges (not scored), as the tantivy backend combines them."""
    must = [text_query(query.text)] if query.text else []
    filters = [filter_clause(name, values) for name, values in query.filters]
    filters += [range_clause(name, bounds) for name, bounds in query.ranges]
    filters += [_grammar_query(overlap_filter_syntax(name, ranges)) for name, ranges in query.overlaps]
    if not must and not filters:
        return dict(MATCH_ALL)
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if filters:
        body["filter"] = filters
    return {"bool": body}


# ---- sorts, facets and the request body -----------------------------------------------------------------------------


def is_relevance(sort: str) -> bool:
    return sort.lstrip("-") == "relevance"


def sort_clauses(sort: str) -> list[Dsl]:
    """The sort of `sort` with the total-order tail (tie-break hash, then id) that makes `search_after` exact."""
    tail: list[Dsl] = [{TIEBREAK_FIELD: {"order": "asc"}}, {ID_FIELD: {"order": "asc"}}]
    if is_relevance(sort):
        return [{"_score": {"order": "desc"}}, *tail]
    fields = SORT_LEVELS.get(sort.lstrip("-"))
    if fields is None:
        raise QueryError(f"cannot sort on {sort!r}", parameter="sort", hint="sorts: " + ", ".join(SORT_LEVELS))
    order = "desc" if sort.startswith("-") else "asc"
    return [*({name: {"order": order, "missing": "_last"}} for name in fields), *tail]


def facet_aggregations(query: Query) -> Dsl:
    size = query.facet_size + FACET_EXTRA
    aggregations: Dsl = {
        name: {"terms": {"field": name, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        for name in query.terms_facets
    }
    if YEAR_HISTOGRAM in query.facets:
        aggregations[YEAR_HISTOGRAM] = {"terms": {"field": "year", "size": YEAR_BUCKETS}}
    if ENERGY_HISTOGRAM in query.facets:
        aggregations[ENERGY_HISTOGRAM] = {"filters": {"filters": decade_filters(), "keyed": True}}
    return aggregations


def decade_key(exponent: int) -> str:
    return f"e{exponent}"


@cache
def _decade_filters() -> tuple[tuple[str, str], ...]:
    return tuple((decade_key(d.exponent), d.syntax) for d in DECADES)


def decade_filters() -> Dsl:
    """The energy histogram's buckets as named filters (each the `energy=LOW..HIGH` filter's clause)."""
    return {key: _grammar_query(syntax) for key, syntax in _decade_filters()}


def source_fields(query: Query) -> list[str]:
    """What a hit needs from `_source`: the id, the projected summary fields, and the text to highlight."""
    fields = [ID_FIELD]
    if query.fields is None:
        fields.append(SUMMARY_FIELD)
    else:
        fields.extend(f"{SUMMARY_FIELD}.{name}" for name in query.fields)
    if query.highlight:
        fields.extend(("title", "description"))
    return fields


def search_body(
    query: Query,
    *,
    size: int,
    sort: list[Dsl] | None = None,
    search_after: list[Any] | None = None,
    pit: Mapping[str, Any] | None = None,
    facets: bool = True,
) -> Dsl:
    """The body of one `_search` request for `query`."""
    body: dict[str, Any] = {"query": base_query(query), "size": size, "track_total_hits": True}
    if size > 0:
        body["_source"] = {"includes": source_fields(query)}
        body["sort"] = sort if sort is not None else sort_clauses(query.effective_sort)
    if search_after is not None:
        body["search_after"] = list(search_after)
    if pit is not None:
        body["pit"] = dict(pit)
    if facets and query.facets and query.facet_size > 0:
        body["aggregations"] = facet_aggregations(query)
    return body


def fingerprint(query: Query, sort: str) -> str:
    """What a cursor is bound to (`indexer.query_terms.query_fingerprint`, the tantivy backend's too)."""
    return query_fingerprint(query, sort)
