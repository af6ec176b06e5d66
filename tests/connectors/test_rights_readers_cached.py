"""The rights readers are cached (a repository writes the same few rights statements on every record): a cached
answer, asked again and again, is the answer the function gives afresh, for every rights statement of the corpus."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from connectors.datacite_xml_values import access_right, spdx_from_name, spdx_from_uri


def _statements(corpus: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted(corpus.rglob("*.xml")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue
        for element in root.iter():
            if isinstance(element.tag, str) and etree.QName(element).localname == "rights":
                found |= {value for value in (element.text, element.get("rightsURI")) if value}
    return found


def test_cached_answers_are_fresh_answers(corpus: Path) -> None:
    statements = _statements(corpus) | {"CC0", "MIT License", "info:eu-repo/semantics/closedAccess"}
    assert len(statements) > 20
    mapped = 0
    for _ in range(3):
        for text in statements:
            assert access_right(text) == access_right.__wrapped__(text)
            assert spdx_from_uri(text) == spdx_from_uri.__wrapped__(text)
            assert spdx_from_name(text) == spdx_from_name.__wrapped__(text)
            mapped += spdx_from_uri(text) is not None or spdx_from_name(text) is not None
    assert mapped > 10
    assert spdx_from_uri("https://creativecommons.org/licenses/by/4.0/legalcode") == "CC-BY-4.0"
    assert access_right("info:eu-repo/semantics/openAccess") == "open"
