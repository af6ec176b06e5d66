"""The Zenodo mappers' speed-ups (REST and OAI-PMH) change no output: each shortcut checked against the slow way.

* HTML → text: `zenodo_fields.html_to_text` walks simple HTML itself (`markup.simple_html_pieces`) instead of
  through `_TextExtractor`'s handlers; it gives the blocks `HTMLParser` gives, on generated fragments made of the
  awkward pieces of `test_markup.py`, random characters, every CERN Open Data abstract and the descriptions of
  generated Zenodo records, and it declines exactly what `parse_html`'s fast path declines.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from connectors import markup, zenodo_fields
from connectors.markup import _dispatch_simple, simple_html_pieces
from connectors.zenodo_fields import _TextExtractor, html_to_text
from sandbox.replicas.zenodo import ZenodoReplica

# the awkward pieces of tests/connectors/test_markup.py
PIECES = (
    "<p>", "</p>", "<br>", "<br/>", "<br />", "<BR>", '<P class="x">', "<a href='u>v'>", "<a href=x>", "<a href=x/>",
    "<a href=x/y>", '<a href = "x" >', '<a\thref="x"\n>', "<a\vhref=x>", "<a\xa0b>", "< p>", "</ p>", "</p >",
    "</P\n>", "<!-- c -->", "<!doctype html>", "<?php x ?>", "<![CDATA[x]]>", "<script>a<b</script>",
    "<style>p{}</style>", "<scr", "<", ">", "&", "&amp;", "&amp", "&lt;", "&#60;", "&#x3C;", "&#", "&#x", "&nbsp;",
    "&foo;", "&zwnj", "x", " ", "\n", "\t", "\xa0", "words and more words", "a<b", "a < b", "p_T<20", "<1>", "</>",
    "</3>", "<a b c>", '<a b="1"c="2">', '<img src="a.png"/>', '<img src="a.png" />', "<x:y>", "</x:y>", "<h1>",
    "</h1>", "<li>", "</li>", "<ul>", "<pre>", "</pre>", "<sup>", "</sup>", "<div/>", "<p/ >", "<p / >",
    '<a href="x"/>', "<a href='x' / >", "<a ==x>", "<a b==c>", "<a b='c'd>", "</a b>", '</a"b">', "<a\x00>",
    "<a\fb>", "\r\n", "&#0;", "&#1234567;", "&lt", "&LT;", "&gt;&gt", "<td>", "</td>", '<span style="a:b;">',
    '<a href="http://x?a=1&amp;b=2">', "<a href=http://x?a=1&b=2>", "<a title=`x`>", "<-x>", "<a-b>", "<a_b>",
    "<a.b>", "<1a>", "<a1>", "<!>", "<!x>", "<!-->", "<?>", "</\n>", "<a\n/>", "<a/\n>", "<a/b>", "<a //>",
    "<a /x>", "</a/>", "<br/ >", "<a href=“http://x”>",
)  # fmt: skip

AWKWARD = (
    "<p>a<br/>b</p><pre>  x\n  y</pre><ul><li>one</li><li>two &amp; three</li></ul>",
    "<p>p_T < 20 GeV, &lt;x&gt; &nbsp;&times; 3</p><script>ignored()</script><p>after</p>",
    "<div class='a>b'>text<!-- comment --></div> <a href=http://x/y>link</a> tail &amp",
    "<P>UPPER</P><BR><Li>item",
    "<pre><pre>a\n</pre>b<br>c</pre>  <li/><li>x<br />y</li><p/>",
    "a &amp<b>c</b> &lt<i>d</i> 1 < 2 &amp;< 3 <",
    "<STYLE>p{}</STYLE>",
    "<scripts>not raw text</scripts><styles/>",
    "\x00<p>nul\x00</p>",
)


def _htmlparser_blocks(html: str) -> list[tuple[str, bool]]:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _check(html: str) -> bool:
    """The fast blocks (when the fragment is simple) are HTMLParser's; True when the fast path took it."""
    fast = zenodo_fields._simple_blocks(html)
    assert (fast is not None) == _dispatch_simple(html, _TextExtractor()), html
    if fast is not None:
        assert fast == _htmlparser_blocks(html), html
    return fast is not None


def test_awkward_fragments() -> None:
    taken = [_check(html) for html in AWKWARD]
    assert taken == [True, False, False, True, True, True, False, True, True]


def test_generated_fragments() -> None:
    rng = random.Random(20261122)
    simple_pieces = [piece for piece in PIECES if simple_html_pieces(piece) is not None]
    taken = 0
    for _ in range(20_000):
        pool = PIECES if rng.random() < 0.5 else simple_pieces
        taken += _check("".join(rng.choice(pool) for _ in range(rng.randint(1, 12))))
    assert taken > 8_000  # the fast path was exercised, not only the fallback


def test_random_characters() -> None:
    rng = random.Random(23)
    alphabet = "<>/=\"' abplirAB&;#x1\n\t\r\f\v\xa0\x00!?-:._`"
    taken = sum(_check("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))) for _ in range(20_000))
    assert taken > 1_000


def test_every_cern_corpus_abstract(corpus: Path) -> None:
    abstracts = {
        record["abstract"]["description"]
        for path in sorted((corpus / "cernopendata" / "records").glob("*.json"))
        for record in orjson.loads(path.read_bytes())
        if isinstance(record.get("abstract"), dict) and isinstance(record["abstract"].get("description"), str)
    }
    assert sum(_check(html) for html in abstracts) > 0.99 * len(abstracts)


def test_generated_zenodo_descriptions(monkeypatch: pytest.MonkeyPatch) -> None:
    replica = ZenodoReplica.generated(300, seed=29)
    descriptions = [replica.store.record(entry)["rdm"]["metadata"]["description"] for entry in replica.store.entries()]
    assert all(_check(html) for html in descriptions)
    fast = [html_to_text(html) for html in [*descriptions, *AWKWARD]]
    monkeypatch.setattr(zenodo_fields, "_simple_blocks", lambda html: None)
    monkeypatch.setattr(markup, "_dispatch_simple", lambda html, parser: False)
    assert fast == [html_to_text(html) for html in [*descriptions, *AWKWARD]]
