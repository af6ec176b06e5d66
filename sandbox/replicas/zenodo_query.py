"""The part of InvenioRDM's search syntax (Lucene `query_string`, parsed with luqum) the Zenodo replica answers.

`title:neutrino AND updated:["2024-01-01T00:00:00.000+00:00" TO *]`, `resource_type.type:(dataset OR software)`,
`"dark matter"`, `recid:[100 TO 200]`, `NOT access_right:open`, parentheses, `*` wildcards. Adjacent terms without
an operator are ORed (Elasticsearch's default operator). Field names follow Zenodo's search mapping
(`ZENODO_LEGACY_SEARCH_MAP` in zenodo-rdm's invenio.cfg) and the RDM index paths.

Like InvenioRDM, a query luqum cannot parse is not an error: it silently becomes a full-text match of its words.
That includes a range on timestamps with a UTC offset (`updated:[2024-01-01T10:00:00+00:00 TO *]`: luqum takes the
colons of `T10:00:00` as a time but not the one of `+00:00`), the classic way a client's incremental harvest
quietly matches the wrong records — so the replica reproduces it. Quoted bounds always parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

FieldKind = Literal["keyword", "text", "date", "number", "flag"]

FIELDS: dict[str, tuple[str, FieldKind]] = {
    # record identity
    "id": ("id", "number"),
    "recid": ("id", "number"),
    "conceptrecid": ("parent", "number"),
    "parent.id": ("parent", "number"),
    "doi": ("doi", "keyword"),
    "pids.doi.identifier": ("doi", "keyword"),
    "conceptdoi": ("conceptdoi", "keyword"),
    "parent.pids.doi.identifier": ("conceptdoi", "keyword"),
    # dates
    "created": ("created", "date"),
    "updated": ("updated", "date"),
    "publication_date": ("publication_date", "date"),
    "publicationdate": ("publication_date", "date"),
    "metadata.publication_date": ("publication_date", "date"),
    # facets
    "communities": ("communities", "keyword"),
    "parent.communities.ids": ("communities", "keyword"),
    "type": ("type", "keyword"),
    "resource_type.type": ("type", "keyword"),
    "metadata.resource_type.props.type": ("type", "keyword"),
    "resource_type.subtype": ("resource_type", "keyword"),
    "metadata.resource_type.props.subtype": ("resource_type", "keyword"),
    "metadata.resource_type.id": ("resource_type", "keyword"),
    "access_right": ("access", "keyword"),
    "access.status": ("access", "keyword"),
    "keywords": ("keywords", "keyword"),
    "metadata.subjects.subject": ("keywords", "keyword"),
    "filetype": ("file_types", "keyword"),
    "files.types": ("file_types", "keyword"),
    "versions.is_latest": ("is_latest", "flag"),
    "version": ("version_index", "number"),
    "versions.index": ("version_index", "number"),
    # text (needs the record itself)
    "title": ("title", "text"),
    "metadata.title": ("title", "text"),
    "description": ("description", "text"),
    "metadata.description": ("description", "text"),
    "creators.name": ("creators", "text"),
    "metadata.creators.person_or_org.name": ("creators", "text"),
    "creators.affiliation": ("affiliations", "text"),
    "metadata.creators.affiliations.name": ("affiliations", "text"),
    "filename": ("filenames", "text"),
    "files.entries.key": ("filenames", "text"),
    "metadata.version": ("version", "keyword"),
}

TEXT_FIELDS = frozenset({"title", "description", "creators", "affiliations", "filenames", "version", "_all"})
"""Canonical fields whose values come from the record itself, not from its cheap facts."""


class QuerySyntaxError(ValueError):
    pass


class Doc(Protocol):
    """A record as the query sees it."""

    def keywords(self, field: str) -> tuple[str, ...]: ...

    def text(self, field: str) -> str: ...

    def instant(self, field: str) -> datetime | None: ...

    def number(self, field: str) -> int | None: ...


_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


# -- the syntax tree -------------------------------------------------------------------------------------------------


class Node:
    def matches(self, doc: Doc) -> bool:
        raise NotImplementedError

    def fields(self) -> set[str]:
        """Canonical fields the node reads (`_all` for free text)."""
        raise NotImplementedError


@dataclass(frozen=True)
class MatchAll(Node):
    def matches(self, doc: Doc) -> bool:
        return True

    def fields(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class MatchNone(Node):
    def matches(self, doc: Doc) -> bool:
        return False

    def fields(self) -> set[str]:
        return set()


@dataclass(frozen=True)
class Term(Node):
    field: str | None
    value: str
    phrase: bool = False

    def canonical(self) -> tuple[str, FieldKind] | None:
        if self.field is None:
            return ("_all", "text")
        return FIELDS.get(self.field)

    def fields(self) -> set[str]:
        found = self.canonical()
        return {found[0]} if found else set()

    def matches(self, doc: Doc) -> bool:
        found = self.canonical()
        if found is None:
            return False  # Elasticsearch: a field the index does not have matches nothing
        name, kind = found
        value = self.value
        if kind in ("keyword", "flag"):
            candidates = doc.keywords(name)
            if value == "*":
                return bool(candidates)
            lowered = value.lower()
            if value.endswith("*") and not self.phrase:
                return any(c.lower().startswith(lowered[:-1]) for c in candidates)
            return any(c.lower() == lowered for c in candidates)
        if kind == "number":
            number = doc.number(name)
            return number is not None and value.strip().isdigit() and number == int(value)
        if kind == "date":
            moment = doc.instant(name)
            bound = parse_instant(value)
            return moment is not None and bound is not None and floor_ms(moment) == bound
        haystack = words(doc.text(name))
        wanted = words(value)
        if not wanted:
            return value.strip() == "*" and bool(haystack)
        if self.phrase:
            size = len(wanted)
            return any(haystack[i : i + size] == wanted for i in range(len(haystack) - size + 1))
        if value.endswith("*"):
            return any(w.startswith(wanted[-1]) for w in haystack) and all(w in haystack for w in wanted[:-1])
        return all(w in haystack for w in wanted)


@dataclass(frozen=True)
class Range(Node):
    field: str
    low: str | None
    high: str | None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def canonical(self) -> tuple[str, FieldKind] | None:
        return FIELDS.get(self.field)

    def fields(self) -> set[str]:
        found = self.canonical()
        return {found[0]} if found else set()

    def instants(self) -> tuple[datetime | None, datetime | None]:
        """The range as a half-open interval [start, stop) of raw instants (compared at millisecond precision)."""
        start = parse_instant(self.low) if self.low else None
        stop = parse_instant(self.high) if self.high else None
        if start is not None and not self.low_inclusive:
            start += timedelta(milliseconds=1)
        if stop is not None and self.high_inclusive:
            stop += timedelta(milliseconds=1)
        return start, stop

    def matches(self, doc: Doc) -> bool:
        found = self.canonical()
        if found is None:
            return False
        name, kind = found
        if kind == "date":
            moment = doc.instant(name)
            if moment is None:
                return False
            start, stop = self.instants()
            return (start is None or moment >= start) and (stop is None or moment < stop)
        if kind == "number":
            number = doc.number(name)
            if number is None:
                return False
            low = int(self.low) if self.low and self.low.lstrip("-").isdigit() else None
            high = int(self.high) if self.high and self.high.lstrip("-").isdigit() else None
            above = low is None or (number >= low if self.low_inclusive else number > low)
            below = high is None or (number <= high if self.high_inclusive else number < high)
            return above and below
        values = [v.lower() for v in doc.keywords(name)]
        return any(
            (self.low is None or (v >= self.low.lower() if self.low_inclusive else v > self.low.lower()))
            and (self.high is None or (v <= self.high.lower() if self.high_inclusive else v < self.high.lower()))
            for v in values
        )


@dataclass(frozen=True)
class And(Node):
    parts: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        return all(p.matches(doc) for p in self.parts)

    def fields(self) -> set[str]:
        return set().union(*(p.fields() for p in self.parts))


@dataclass(frozen=True)
class Or(Node):
    parts: tuple[Node, ...]

    def matches(self, doc: Doc) -> bool:
        return any(p.matches(doc) for p in self.parts)

    def fields(self) -> set[str]:
        return set().union(*(p.fields() for p in self.parts))


@dataclass(frozen=True)
class Not(Node):
    part: Node

    def matches(self, doc: Doc) -> bool:
        return not self.part.matches(doc)

    def fields(self) -> set[str]:
        return self.part.fields()


def conjoin(parts: list[Node]) -> Node:
    flat: list[Node] = []
    for part in parts:
        if isinstance(part, And):
            flat.extend(part.parts)
        elif not isinstance(part, MatchAll):
            flat.append(part)
    if not flat:
        return MatchAll()
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def conjuncts(node: Node) -> list[Node]:
    return list(node.parts) if isinstance(node, And) else [node]


# -- instants ----------------------------------------------------------------------------------------------------


def floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 date or timestamp as a UTC instant at millisecond precision (a date alone is its midnight)."""
    if text is None or text.strip() in ("", "*"):
        return None
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}", value):
            moment = datetime(int(value), 1, 1, tzinfo=UTC)
        elif re.fullmatch(r"\d{4}-\d{2}", value):
            moment = datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return floor_ms(moment.astimezone(UTC))


# -- the parser ----------------------------------------------------------------------------------------------------

Token = tuple[str, str]  # (kind, text): lparen, rparen, phrase, range, word, field, op


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1]) if text.startswith('"') else re.sub(r"\\(.)", r"\1", text)


# luqum lets a colon into a word only as the time of a timestamp (`T10:00` or `T10:00:00`, its TIME_RE)
_TIME = r"(?<=T\d{2}):\d{2}(?::\d{2})?"
_RANGE_BOUND = rf'"(?:[^"\\]|\\.)*"|(?:[^\s\]}}:\\]|\\.|{_TIME})+'
_RANGE = re.compile(rf"([\[{{])\s*({_RANGE_BOUND})\s+TO\s+({_RANGE_BOUND})\s*([\]}}])")
_TERM = re.compile(rf'(?:[^\s()"\[\]{{}}:\\]|\\.|{_TIME})+')


def _tokens(text: str) -> Iterator[Token]:
    position = 0
    while position < len(text):
        char = text[position]
        if char.isspace():
            position += 1
        elif char in "()":
            yield ("lparen" if char == "(" else "rparen", char)
            position += 1
        elif char == '"':
            match = re.compile(r'"(?:[^"\\]|\\.)*"').match(text, position)
            if match is None:
                raise QuerySyntaxError(f"unclosed quote at {position}")
            yield ("phrase", match.group(0))
            position = match.end()
        elif char in "[{":
            match = _RANGE.match(text, position)
            if match is None:
                raise QuerySyntaxError(f"a range must read [A TO B] with quoted or colon-free bounds, at {position}")
            yield ("range", match.group(0))
            position = match.end()
        else:
            match = _TERM.match(text, position)
            if match is None:
                raise QuerySyntaxError(f"unexpected {char!r} at {position}")
            word = match.group(0)
            position = match.end()
            if position < len(text) and text[position] == ":":
                yield ("field", word)
                position += 1
            elif word in ("AND", "OR", "NOT", "&&", "||"):
                yield ("op", {"&&": "AND", "||": "OR"}.get(word, word))
            else:
                yield ("word", word)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends too early")
        self.position += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or(None)
        if self.peek() is not None:
            raise QuerySyntaxError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def parse_or(self, field: str | None) -> Node:
        parts = [self.parse_and(field)]
        while (token := self.peek()) is not None and token[0] != "rparen":
            if token == ("op", "OR"):
                self.take()
            parts.append(self.parse_and(field))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self, field: str | None) -> Node:
        parts = [self.parse_not(field)]
        while self.peek() == ("op", "AND"):
            self.take()
            parts.append(self.parse_not(field))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self, field: str | None) -> Node:
        if self.peek() == ("op", "NOT"):
            self.take()
            return Not(self.parse_not(field))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        kind, text = self.take()
        if kind == "lparen":
            node = self.parse_or(field)
            if self.take()[0] != "rparen":
                raise QuerySyntaxError("unbalanced parenthesis")
            return node
        if kind == "field":
            return self.parse_primary(text)
        if kind == "range":
            match = _RANGE.fullmatch(text)
            assert match is not None
            low, high = _unquote(match.group(2)), _unquote(match.group(3))
            if field is None:
                raise QuerySyntaxError("a range needs a field")
            return Range(
                field,
                None if low == "*" else low,
                None if high == "*" else high,
                match.group(1) == "[",
                match.group(4) == "]",
            )
        if kind == "phrase":
            return Term(field, _unquote(text), phrase=True)
        if kind == "word":
            return Term(field, _unquote(text))
        raise QuerySyntaxError(f"unexpected {text!r}")


def parse_query(text: str | None) -> Node:
    """The query as a tree; an empty query matches everything, one that does not parse matches its words."""
    if text is None or not text.strip():
        return MatchAll()
    try:
        return _Parser(list(_tokens(text))).parse()
    except QuerySyntaxError:
        terms = tuple(Term(None, w) for w in words(text))
        return Or(terms) if terms else MatchNone()
