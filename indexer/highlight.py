"""Highlighting: the fragments of a hit's title and description that the search text matched, with `<mark>` tags.

dmlake highlights itself, from the hit's stored title and full description and the words of the search text, so
both backends give the same fragments for the same hit (tantivy's SnippetGenerator and Elasticsearch's unified
highlighter choose and cut fragments differently). A word of the text counts for the title when it searches every
field or one of `title`, `title_exact`, `physics`; for the description when it searches every field or
`description` or `physics`; excluded words (`-word`, `NOT word`) are never marked. A token of the hit's text is
marked when the prose analyser (stemmed, accents folded) or the physics analyser (`B0->K*mumu`, `13TeV`) makes of it
a token the query's word was analysed to (for `"..."*`, the last word as a prefix).

The title is returned whole; the description as at most `MAX_FRAGMENTS` fragments of about `FRAGMENT_CHARS`
characters around the matches, cut at spaces, with "…" where text was cut. Everything outside the tags is HTML
escaped. A field without a match is left out; a hit that matched only through other fields has `{}`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from indexer.document import TEXT_FIELDS
from indexer.tantivy_schema import analyzers

FRAGMENT_CHARS = 160
MAX_FRAGMENTS = 3
LEAD_CHARS = 40
"""Characters of context kept before a fragment's first match."""

TITLE_FIELDS = frozenset(("title", "title_exact", "physics"))
DESCRIPTION_FIELDS = frozenset(("description", "physics"))
_PROSE_TOKEN = re.compile(r"[^\W_]+")
_PHYSICS_TOKEN = re.compile(r"[^\W_]+(?:(?:->|→|[-−+*/_^.'])[^\W_]+)*[+\-−*']*")
"""`indexer.document.PHYSICS_TOKEN_PATTERN` in Python's `re` (letters, marks and digits as `[^\\W_]`)."""


@dataclass
class Words:
    """What to mark in one field: analysed prose and physics tokens, and prefixes."""

    prose: set[str] = field(default_factory=set)
    physics: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.prose or self.physics or self.prefixes)


@dataclass
class QueryWords:
    title: Words = field(default_factory=Words)
    description: Words = field(default_factory=Words)


@lru_cache(maxsize=1)
def _analyzers() -> dict[str, Any]:
    return {str(name): analyzer for name, analyzer in analyzers().items()}


@lru_cache(maxsize=65_536)
def _prose(token: str) -> str | None:
    found = [str(t) for t in _analyzers()["prose"].analyze(token)]
    return found[0] if len(found) == 1 else None


def query_words(search_text: str) -> QueryWords:
    """The words of a search text (in the grammar both backends read) to mark in titles and descriptions."""
    from indexer.elasticsearch_query import syntax_tree

    words = QueryWords()
    if not search_text.strip():
        return words
    _collect(syntax_tree(search_text), words, excluded=False)
    return words


def _collect(node: Mapping[str, Any], words: QueryWords, *, excluded: bool) -> None:
    kind = node.get("type")
    if kind == "bool":
        for occur, child in node["clauses"]:
            _collect(child, words, excluded=excluded or occur == "must_not")
    elif kind == "boost":
        _collect(node["underlying"], words, excluded=excluded)
    elif kind == "literal" and not excluded:
        name = node.get("field_name")
        if name is not None and name not in TEXT_FIELDS:
            return
        phrase = str(node["phrase"])
        prose = [str(t) for t in _analyzers()["prose"].analyze(phrase)]
        physics = [str(t) for t in _analyzers()["physics"].analyze(phrase)]
        targets = []
        if name is None or name in TITLE_FIELDS:
            targets.append(words.title)
        if name is None or name in DESCRIPTION_FIELDS:
            targets.append(words.description)
        prefix = bool(node.get("prefix"))
        for target in targets:
            if prefix and prose:
                target.prefixes.add(prose[-1])
            target.prose.update(prose[:-1] if prefix else prose)
            target.physics.update(physics[:-1] if prefix else physics)


def _spans(text: str, words: Words) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if words.prose or words.prefixes:
        for match in _PROSE_TOKEN.finditer(text):
            token = _prose(match[0])
            if token is None:
                continue
            if token in words.prose or any(token.startswith(p) for p in words.prefixes):
                spans.append(match.span())
    if words.physics:
        for match in _PHYSICS_TOKEN.finditer(text):
            if match[0].lower() in words.physics:
                spans.append(match.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked(text: str, spans: Iterable[tuple[int, int]], start: int, end: int) -> str:
    out = []
    position = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        out.append(html.escape(text[position:span_start]))
        out.append(f"<mark>{html.escape(text[span_start:span_end])}</mark>")
        position = span_end
    out.append(html.escape(text[position:end]))
    return "".join(out)


def fragments(text: str, words: Words, *, whole: bool = False) -> list[str]:
    """The marked fragments of `text` (the whole text with `whole`); [] when nothing matches."""
    if not text or not words:
        return []
    spans = _spans(text, words)
    if not spans:
        return []
    if whole:
        return [_marked(text, spans, 0, len(text))]
    out: list[str] = []
    index = 0
    previous_end = 0
    while index < len(spans) and len(out) < MAX_FRAGMENTS:
        first_start = spans[index][0]
        start = 0 if first_start <= LEAD_CHARS else text.rfind(" ", 0, first_start - LEAD_CHARS) + 1
        start = max(start, previous_end)
        end = min(len(text), start + FRAGMENT_CHARS)
        if end < len(text):
            space = text.rfind(" ", first_start, end)
            end = space if space > spans[index][1] else max(end, spans[index][1])
        inside = [span for span in spans[index:] if span[1] <= end]
        index += len(inside)
        previous_end = end
        fragment = _marked(text, inside, start, end).strip()
        out.append(("…" if start > 0 else "") + fragment + ("…" if end < len(text) else ""))
    return out


def highlight(words: QueryWords, title: str | None, description: str | None) -> dict[str, list[str]]:
    """`{"title": [...], "description": [...]}` of one hit, each field only when something in it matched."""
    out: dict[str, list[str]] = {}
    marked_title = fragments(title or "", words.title, whole=True)
    if marked_title:
        out["title"] = marked_title
    marked_description = fragments(description or "", words.description)
    if marked_description:
        out["description"] = marked_description
    return out
