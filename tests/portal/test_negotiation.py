from __future__ import annotations

import pytest

from ontology.views import negotiate


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "json"),
        ("*/*", "json"),
        ("application/json", "json"),
        ("text/turtle", "turtle"),
        ("application/ld+json", "jsonld"),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "turtle"),
        ("text/html, application/xhtml+xml, */*;q=0.8", "json"),
        ("application/vnd.datacite.datacite+xml", "datacite-xml"),
        ("text/*", "turtle"),
        ("image/png", None),
        ("text/turtle;q=0", None),
    ],
)
def test_choose_format(accept: str, expected: str | None) -> None:
    assert negotiate(accept) == expected
