"""`connectors.xmlsafe` spots a DOCTYPE however the prolog before it is made, and reads only the prolog to do so.

The check is a regular expression over the document's first bytes. It used lazy `.*?` for processing instructions
and comments, which made the engine retry every later `?>` of a document without a DOCTYPE (0.7 ms for each
ListRecords page of 50 records, more than parsing it); it now reads each PI and comment to its first end, once.
These cases pin what it must still find and what it must let through.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.xmlsafe import _DOCTYPE_IN_PROLOG, XmlError, parse_xml

DTD = b'<!DOCTYPE r [<!ENTITY a "x">]>'
PROLOGS = [
    b"",
    b"\xef\xbb\xbf",
    b"<?xml version='1.0' encoding='UTF-8'?>",
    b"\xef\xbb\xbf<?xml version='1.0'?>\n",
    b'<?xml version=\'1.0\'?>\n<?xml-stylesheet type="text/xsl" href="/static/oai2.xsl"?>\n',
    b"<?xml version='1.0'?><!-- a comment -->\n\t<!-- another - with a dash and ?> inside -->",
    b"<?xml version='1.0'?><?pi with > and - and <!-- inside?>  ",
    b"<!---->",
    b"<?x?>",
]


@pytest.mark.parametrize("prolog", PROLOGS)
def test_a_doctype_after_any_prolog_is_refused(prolog: bytes) -> None:
    assert _DOCTYPE_IN_PROLOG.match(prolog + DTD + b"<r>&a;</r>")
    with pytest.raises(XmlError, match="DOCTYPE"):
        parse_xml(prolog + DTD + b"<r>&a;</r>", "a test document")


@pytest.mark.parametrize("prolog", PROLOGS)
def test_a_document_without_doctype_passes(prolog: bytes) -> None:
    body = prolog + b"<r><a>text ?&gt; more</a><?pi ?><!-- c --><b>?></b></r>"
    assert _DOCTYPE_IN_PROLOG.match(body) is None
    assert parse_xml(body, "a test document").tag == "r"


# the expression as it was: lazy, so slow on long documents, but the same answer on every well-formed prolog
LAZY = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL)


def test_the_same_answer_as_the_lazy_expression_on_every_corpus_document(corpus: Path) -> None:
    documents = [path.read_bytes() for path in sorted(corpus.rglob("*.xml"))]
    assert len(documents) > 100
    for prolog in PROLOGS:
        documents += [prolog + DTD + b"<r/>", prolog + b"<r/>"]
    for document in documents:
        assert bool(_DOCTYPE_IN_PROLOG.match(document, 0, 65536)) == bool(LAZY.match(document[:65536]))


def test_a_listing_page_full_of_processing_instruction_ends_is_read_once() -> None:
    """Every `?>` after the prolog was a place the lazy expression tried again; the answer is still no."""
    page = b"<?xml version='1.0'?>\n<?xml-stylesheet href='x'?>\n<r>" + b"<a>?></a>" * 5000 + b"</r>"
    assert _DOCTYPE_IN_PROLOG.match(page, 0, 65536) is None
    assert len(parse_xml(page, "a long page")) == 5000
