"""`connectors.markup`: the fast text clean-up gives exactly what the slow reference gives.

The HTML fast path is checked event by event against `html.parser.HTMLParser` (the reference it replaces) on every
abstract of the CERN Open Data corpus and on generated fragments made of the awkward cases (attributes with `>`
inside quotes, unquoted values, self-closing tags, stray `<` and `&`, comments, declarations, raw-text elements,
unusual whitespace inside tags). The whitespace helpers are checked against the regular expressions they replace.
"""

from __future__ import annotations

import random
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from html_pieces import AWKWARD_HTML_PIECES, cern_abstracts

from connectors.markup import _dispatch_simple, collapse_ascii_whitespace, collapse_whitespace, parse_html


class Events(HTMLParser):
    """Records every event; adjacent data joined (HTMLParser may split text into chunks arbitrarily)."""

    def __init__(self, *, convert_charrefs: bool = True) -> None:
        super().__init__(convert_charrefs=convert_charrefs)
        self.events: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("startend", tag))

    def handle_data(self, data: str) -> None:
        if self.events and self.events[-1][0] == "data":
            self.events[-1] = ("data", self.events[-1][1] + data)
        else:
            self.events.append(("data", data))

    def handle_comment(self, data: str) -> None:
        self.events.append(("comment", data))

    def handle_decl(self, decl: str) -> None:
        self.events.append(("decl", decl))

    def handle_pi(self, data: str) -> None:
        self.events.append(("pi", data))

    def unknown_decl(self, data: str) -> None:
        self.events.append(("unknown", data))

    def handle_entityref(self, name: str) -> None:
        self.events.append(("entity", name))

    def handle_charref(self, name: str) -> None:
        self.events.append(("charref", name))


def reference(html: str) -> list[tuple[str, str]]:
    parser = Events()
    parser.feed(html)
    parser.close()
    return parser.events


def fast(html: str) -> list[tuple[str, str]] | None:
    """The fast path's events, or None where it leaves the fragment to HTMLParser."""
    parser = Events()
    return parser.events if _dispatch_simple(html, parser) else None


PIECES = AWKWARD_HTML_PIECES


def test_generated_fragments_give_htmlparsers_events() -> None:
    rng = random.Random(20261121)
    simple = 0
    for _ in range(20_000):
        html = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 10)))
        events = fast(html)
        if events is not None:
            simple += 1
            assert events == reference(html), html
        assert parse_html(html, Events).events == reference(html), html
    assert simple > 2_000  # the fast path was exercised, not only the fallback


def test_fragments_of_simple_pieces() -> None:
    simple_pieces = [piece for piece in PIECES if fast(piece) is not None]
    assert "<br />" in simple_pieces and "<a href='u>v'>" in simple_pieces and "a < b" in simple_pieces
    assert "<!-- c -->" not in simple_pieces and "<a href=x/>" not in simple_pieces
    rng = random.Random(7)
    simple = 0
    for _ in range(10_000):
        html = "".join(rng.choice(simple_pieces) for _ in range(rng.randint(1, 12)))
        events = fast(html)  # None when pieces join into something else ("a<b" + "<p>")
        simple += events is not None
        assert (events or parse_html(html, Events).events) == reference(html), html
    assert simple > 9_000


def test_random_characters_give_htmlparsers_events() -> None:
    rng = random.Random(11)
    alphabet = "<>/=\"' abpAB&;#x1\n\t\r\f\v\xa0!?-:._`"
    for _ in range(20_000):
        html = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        assert parse_html(html, Events).events == reference(html), html


def test_every_cern_corpus_abstract(corpus: Path) -> None:
    abstracts = cern_abstracts(corpus)
    assert len(abstracts) > 5_000
    simple = 0
    for html in abstracts:
        events = fast(html)
        if events is not None:
            simple += 1
            assert events == reference(html), html[:200]
    assert simple > 0.99 * len(abstracts)  # real abstracts are simple HTML: the speed-up applies to them


def test_parsers_that_want_entity_events_are_left_to_htmlparser() -> None:
    parser = Events(convert_charrefs=False)
    assert not _dispatch_simple("a &amp; b", parser) and parser.events == []
    fed = parse_html("a &amp; b", lambda: Events(convert_charrefs=False))
    assert fed.events == [("data", "a "), ("entity", "amp"), ("data", " b")]


def test_a_fragment_found_not_simple_part_way_is_parsed_again_from_the_start() -> None:
    html = "<p>one</p><!-- two --><p>three</p>"
    assert fast(html) is None
    assert parse_html(html, Events).events == reference(html)
    assert ("comment", " two ") in reference(html)


SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


@pytest.mark.parametrize("space", list(SPACES))
def test_collapse_matches_the_regular_expressions_for_every_space_character(space: str) -> None:
    for text in (f"a{space}b", f"{space}a{space}{space} b{space}", space, f" {space}x", f"x{space}\t"):
        assert collapse_whitespace(text) == re.sub(r"\s+", " ", text)
        assert collapse_ascii_whitespace(text) == re.sub(r"[ \t\r\f\v\n]+", " ", text)


def test_collapse_matches_the_regular_expressions_on_generated_text() -> None:
    rng = random.Random(3)
    alphabet = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2000\u3000ab\x00é"
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert collapse_whitespace(text) == re.sub(r"\s+", " ", text), repr(text)
        assert collapse_ascii_whitespace(text) == re.sub(r"[ \t\r\f\v\n]+", " ", text), repr(text)
    assert collapse_whitespace("") == "" and collapse_whitespace(" \n ") == " "
