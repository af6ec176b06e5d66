r"""Fast equivalents of the text clean-up that mappers do on every record: whitespace collapsing and HTML parsing.

Whitespace: `collapse_whitespace(text)` is `re.sub(r"\s+", " ", text)` and `collapse_ascii_whitespace(text)` is
`re.sub(r"[ \t\r\f\v\n]+", " ", text)`, without the regular-expression engine's per-character cost: `str.split()`
splits on exactly the characters `\s` matches (both use `str.isspace`).

HTML: `parse_html(html, new_parser)` is `parser = new_parser(); parser.feed(html); parser.close()` for an
`html.parser.HTMLParser` subclass, with a fast path for the simple HTML that portal abstracts are made of. Abstracts
on CERN Open Data and Zenodo are short fragments of plain tags (`<p>`, `<br />`, `<a href="…">`, `<sup>`) and
entities; `HTMLParser` reads them piece by piece in Python, which made HTML → text the largest single cost of
mapping a record. The fast path tokenises such a fragment with one regular expression and calls the parser's own
`handle_starttag` / `handle_endtag` / `handle_startendtag` / `handle_data` with the events `HTMLParser` would
produce, so the subclass's text extraction stays the single source of truth. Anything outside that subset (comments,
declarations, processing instructions, `<script>`/`<style>` raw text, a tag cut off at the end, an unquoted
attribute value running into `/`, whitespace in a tag other than space, tab, CR, LF and form feed ...) is parsed
by `HTMLParser` itself, in a new parser. `tests/connectors/test_markup.py` compares the events with `HTMLParser`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from html.entities import html5
from html.parser import HTMLParser
from typing import TypeVar

# -- whitespace --------------------------------------------------------------------------------------------------

_ASCII_SPACE = re.compile(r"[ \t\r\f\v\n]+")
_OTHER_SPACE = re.compile(r"[^\S \t\r\f\v\n]")
"""What `str.split()` splits on beside `[ \t\r\f\v\n]`: \x1c-\x1f, NEL, NBSP and the other Unicode spaces."""


def collapse_whitespace(text: str) -> str:
    r"""`re.sub(r"\s+", " ", text)`: each run of whitespace becomes one space, leading and trailing runs included."""
    words = text.split()
    if not words:
        return " " if text else ""
    collapsed = " ".join(words)
    if text[0].isspace():
        collapsed = " " + collapsed
    if text[-1].isspace():
        collapsed += " "
    return collapsed


def collapse_ascii_whitespace(text: str) -> str:
    r"""`re.sub(r"[ \t\r\f\v\n]+", " ", text)`: like `collapse_whitespace`, but NBSP and the like are kept."""
    if text.isascii():
        other = "\x1c" in text or "\x1d" in text or "\x1e" in text or "\x1f" in text
    else:
        other = _OTHER_SPACE.search(text) is not None
    return _ASCII_SPACE.sub(" ", text) if other else collapse_whitespace(text)


# -- character references ----------------------------------------------------------------------------------------

_COMPLETE_REFERENCES = {name[:-1]: text for name, text in html5.items() if name.endswith(";")} | {
    "#34": '"',
    "#38": "&",
    "#39": "'",
    "#60": "<",
    "#62": ">",
    "#160": "\xa0",
}
"""`&name;` → its text, for every HTML5 named reference written with its semicolon and a few numeric ones."""


def unescape_html(text: str) -> str:
    """`html.unescape(text)`, without a regular-expression callback per reference when every `&` in `text` starts a
    complete named reference (`&lt;`, `&nbsp;`, `&#39;`): what escaped portal abstracts are made of. Anything else
    (a bare `&`, `&lt` without its semicolon, other numeric references) is left to `html.unescape`."""
    if "&" not in text:
        return text
    head, *references = text.split("&")
    parts = [head]
    for reference in references:
        name, semicolon, rest = reference.partition(";")
        replacement = _COMPLETE_REFERENCES.get(name) if semicolon else None
        if replacement is None:
            return unescape(text)
        parts.append(replacement)
        parts.append(rest)
    return "".join(parts)


# -- HTML --------------------------------------------------------------------------------------------------------

_SPACE = r"[ \t\n\r\f]"
_ATTRIBUTE = (
    rf"{_SPACE}+[a-zA-Z_:][-a-zA-Z0-9_:.]*"
    rf"(?:{_SPACE}*={_SPACE}*(?:\"[^\"]*\"|'[^']*'|[^ \t\n\r\f\"'=<>`/]+(?=[ \t\n\r\f>])))?"
)
_TOKEN = re.compile(
    r"(?P<text>[^<]+)"
    rf"|<(?P<start>[a-zA-Z][a-zA-Z0-9]*)(?:{_ATTRIBUTE})*{_SPACE}*(?P<empty>/?)>"
    rf"|</(?P<end>[a-zA-Z][-.a-zA-Z0-9:_]*){_SPACE}*>"
    r"|(?P<lt><)(?![a-zA-Z/!?])"
)
"""One piece of simple HTML: text up to the next `<`; a start tag (`empty` is the `/` of `<br/>`) whose unquoted
attribute values end at whitespace or `>`; an end tag; a `<` that starts no markup (`a < b`), which is text."""
_TAG = re.compile(
    rf"<(?:(?P<start>[a-zA-Z][a-zA-Z0-9]*)(?:{_ATTRIBUTE})*{_SPACE}*(?P<empty>/?)"
    rf"|/(?P<end>[a-zA-Z][-.a-zA-Z0-9:_]*){_SPACE}*)>"
)
"""`_TOKEN`'s start and end tags, alternatives in the same order: tried at each `<` they match what `_TOKEN` does."""
_MARKUP_START = re.compile(r"<[a-zA-Z/!?]")
"""A `<` that `_TOKEN` reads as no piece when no tag matched at it (a comment, a declaration, a broken tag)."""
_RAW_TEXT_ELEMENTS = frozenset(HTMLParser.CDATA_CONTENT_ELEMENTS)
_RAW_TEXT_START = re.compile(rf"<(?:{'|'.join(_RAW_TEXT_ELEMENTS)})(?![a-zA-Z0-9])", re.IGNORECASE)
"""Where a raw-text element's start tag may be (`<script`, `<STYLE`), not followed by more of a tag name."""

ParserT = TypeVar("ParserT", bound=HTMLParser)


def parse_html(html: str, new_parser: Callable[[], ParserT]) -> ParserT:
    """A new parser that has been fed all of `html` and closed.

    Only for parsers that ignore tag attributes and `get_starttag_text()`: the fast path passes an empty attribute
    list. When `html` turns out not to be simple part-way through, a second new parser reads it with `HTMLParser`.
    """
    parser = new_parser()
    if not _dispatch_simple(html, parser):
        parser = new_parser()
        parser.feed(html)
    parser.close()  # after the fast path HTMLParser has nothing buffered: this runs only the subclass's own close
    return parser


def _dispatch_simple(html: str, parser: HTMLParser) -> bool:
    """Call `parser`'s handlers for `html` as `feed` would; False (part-way) at the first piece that is not simple."""
    if not parser.convert_charrefs:  # HTMLParser would report entities through handle_entityref / handle_charref
        return False
    handle_data, handle_starttag, handle_endtag = parser.handle_data, parser.handle_starttag, parser.handle_endtag
    position = 0
    for token in _TOKEN.finditer(html):
        if token.start() != position:  # a `<` that none of the simple pieces matches
            return False
        position = token.end()
        kind = token.lastgroup
        if kind == "text":
            text = token.group()
            handle_data(unescape_html(text) if "&" in text else text)
        elif kind == "end":
            handle_endtag(token.group("end").lower())
        elif kind == "lt":
            handle_data("<")
        else:  # a start tag, whose last group is `empty`
            tag = token.group("start").lower()
            if tag in _RAW_TEXT_ELEMENTS:
                return False
            if token.group("empty"):
                parser.handle_startendtag(tag, [])
            else:
                handle_starttag(tag, [])
    return position == len(html)


def simple_html_pieces(html: str) -> list[str | None] | None:
    """`html` cut at its tags, for a caller that walks simple HTML itself instead of through a parser's handlers
    (a method call per event, and the parser's set-up, cost more than the walk); None where `html` is not simple.

    The list is `_TAG.split(html)`: a text, then per tag its start-tag name, its `empty` (`"/"` for `<br/>`, else
    `""`) and its end-tag name (the start-tag name and `empty` are None for an end tag, the end-tag name for a start
    tag), then the text after it, and so on. Tag names are as written (not lower-cased); texts are raw: entities
    undecoded (`unescape_simple_text`), a `<` that starts no markup kept. It is None exactly where `parse_html`'s
    fast path would leave `html` to HTMLParser: a `<` that starts markup but no simple tag, or a `<script>` or
    `<style>` (raw text). Both read the same tags: at each `<`, `_TAG` tries the start and end tags `_TOKEN` tries.
    """
    pieces: list[str | None] = _TAG.split(html)
    # each check first over the whole string (one scan in C), piece by piece only when it finds something
    stray = html.count("<") != len(pieces) // 4  # a `<` that is no tag
    if stray and any(text and _MARKUP_START.search(text) for text in pieces[::4]):
        return None
    if _RAW_TEXT_START.search(html) and any(start and start.lower() in _RAW_TEXT_ELEMENTS for start in pieces[1::4]):
        return None
    return pieces


def unescape_simple_text(text: str) -> str:
    """The text `parse_html`'s fast path hands to `handle_data` for a text piece of `simple_html_pieces` (which may
    hold a `<` that starts no markup: the fast path decodes the entities on each side of it separately)."""
    if "&" not in text:
        return text
    if "<" not in text:
        return unescape_html(text)
    return "<".join(unescape_html(part) for part in text.split("<"))
