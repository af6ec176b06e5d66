"""`connectors.markup.unescape_html` is `html.unescape`: on every HTML5 named reference and a range of numeric
ones in context, on malformed references, and on every text of the recorded Zenodo OAI-PMH answers."""

from __future__ import annotations

import html
from html.entities import html5
from pathlib import Path

from lxml import etree

from connectors.markup import unescape_html


def test_every_named_and_numeric_reference_in_context() -> None:
    cases = []
    for name in html5:
        cases += [f"a&{name}b", f"&{name}", f"x &{name}&{name}y", f"&{name};;"]
    for number in [*range(300), 0x80, 0x9F, 0xD800, 0x10FFFF, 0x110000, 8211]:
        cases += [f"&#{number};", f"&#{number}", f"&#x{number:x};", f"q&#{number};r&lt;"]
    assert len(cases) > 9000
    for case in cases:
        assert unescape_html(case) == html.unescape(case), case


def test_malformed_references_read_as_html_reads_them() -> None:
    for case in ["&", "&&", "a & b", "&;", "&lt", "&lt;&", "&amp;lt;", "&#;", "& lt;", "&l t;", "&" + "a" * 40 + ";"]:
        assert unescape_html(case) == html.unescape(case), case
    assert unescape_html("&lt;p&gt;4.62&nbsp;&times;&#39;&quot;&amp;lt;") == "<p>4.62\xa0×'\"&lt;"


def test_every_text_of_the_recorded_zenodo_answers(corpus: Path) -> None:
    texts = 0
    for path in sorted((corpus / "zenodo" / "oai" / "extracted").glob("*.xml")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue
        for text in root.itertext():
            texts += "&" in text
            assert unescape_html(text) == html.unescape(text)
            assert unescape_html(html.unescape(text)) == html.unescape(html.unescape(text))
    assert texts > 100  # Zenodo's oai_dc sends descriptions escaped twice
