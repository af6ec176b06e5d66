"""Dublin Core as OAI-PMH serves it (`oai_dc`: the 15 unqualified elements, each repeatable) → `Described`.

Simple Dublin Core is untyped: a `dc:identifier` may be a DOI, a URL or an OAI id; a `dc:rights` a licence name, a
licence URL or an access right; a `dc:relation` any related resource. Each value is read for what it shows itself to
be:

* `dc:identifier`: DOIs (bare, `doi:` or resolver URLs) → DOI identifiers, the first is the record's DOI; `oai:` ids,
  arXiv ids, handles and ISSN/ISBNs by their prefix; other URLs → URL identifiers.
* `dc:relation`: related resources without a relation type → `related_links` (a profile that knows its
  repository's conventions, Zenodo's communities say, reads more).
* `dc:rights`: licence (SPDX where a name or URL says which) and access right, as for DataCite.
* `dc:date`: the first ISO 8601 date is the issue date; OpenAIRE's `info:eu-repo/date/...` values and free-text
  dates ("circa 1900") are not dates the model can hold and are passed over.
* `dc:description`: every description, HTML turned to text (also HTML escaped twice, as Zenodo sends it),
  separated by blank lines. `dc:format`: formats; a `Size: 11.273 MB` format is the size. `dc:coverage`: an ISO
  date or interval is the temporal coverage; anything else (places) has no field. `dc:source`: a URL is a related
  link, a DOI in a citation a reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from connectors.base import MappingError
from connectors.datacite_xml_values import (
    Described,
    RightsStatement,
    coverage,
    licence_and_access,
    organisation_names,
    plain_text,
    size_in_bytes,
    text_agent,
)
from connectors.zenodo_fields import Relations, date_interval, organisation, related_identifier, unique_identifiers
from ontology import Concept, Identifier, IdentifierScheme

OAI_DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
ELEMENTS = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
    "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass
class DublinCore:
    """The values of each element, in document order, trimmed; empty elements are left out."""

    values: dict[str, list[str]] = field(default_factory=dict)
    languages: dict[str, list[str | None]] = field(default_factory=dict)

    def get(self, element: str) -> list[str]:
        return self.values.get(element, [])

    def first(self, element: str) -> str | None:
        found = self.values.get(element)
        return found[0] if found else None


_ELEMENT_TAGS = {f"{{{DC_NAMESPACE}}}{name}": name for name in ELEMENTS}
"""Clark notation (`{namespace}local`) → DC element name: a child's tag looked up once, no `QName` per child."""


def parse_dublin_core(element: etree._Element) -> DublinCore:
    """Read an `<oai_dc:dc>` element (DC elements in the DC 1.1 namespace; unknown children are ignored)."""
    qname = etree.QName(element)
    if qname.localname != "dc" or qname.namespace != OAI_DC_NAMESPACE:
        raise MappingError("metadata", f"expected <oai_dc:dc>, got <{qname.localname}> in {qname.namespace}")
    parsed = DublinCore()
    values, languages = parsed.values, parsed.languages
    for child in element:
        name = _ELEMENT_TAGS.get(child.tag)  # comments and processing instructions (tag: a function) are not DC
        if name is None:
            continue
        # a DC element is nearly always a leaf: its text is all there is, without an itertext iterator
        text = "".join(child.itertext()) if len(child) else child.text
        if not text:
            continue
        text = text.strip()
        if text:
            found = values.get(name)
            if found is None:
                values[name] = [text]
                languages[name] = [child.get(XML_LANG)]
            else:
                found.append(text)
                languages[name].append(child.get(XML_LANG))
    return parsed


_DOI = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|info:doi/)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_ARXIV = re.compile(r"^(?:arxiv:|https?://arxiv\.org/abs/)(\S+)$", re.IGNORECASE)
_HANDLE = re.compile(r"^(?:hdl:|https?://hdl\.handle\.net/)(\d[\d.]*/\S+)$", re.IGNORECASE)
_PREFIXED = re.compile(r"^(issn|isbn|urn|lsid|pmid|pmcid|ark|bibcode):", re.IGNORECASE)
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])")
_EU_REPO_DATE = re.compile(r"^info:eu-repo/date/", re.IGNORECASE)
_SIZE_PREFIX = re.compile(r"^\s*size\s*:\s*", re.IGNORECASE)
_FORMAT_PREFIX = re.compile(r"^\s*format\s*:\s*", re.IGNORECASE)


def dc_identifier(value: str) -> Identifier | None:
    """A `dc:identifier` or `dc:relation` value as an identifier of the scheme it shows."""
    text = value.strip()
    if not text:
        return None
    match = _DOI.match(text)
    if match:
        return related_identifier(match.group(1), "doi")
    if text.lower().startswith("oai:"):
        return Identifier(scheme=IdentifierScheme.OAI, value=text)
    match = _ARXIV.match(text)
    if match:
        return related_identifier(match.group(1), "arxiv")
    match = _HANDLE.match(text)
    if match:
        return Identifier(scheme=IdentifierScheme.HANDLE, value=match.group(1))
    if text.lower().startswith("isbn:"):
        return related_identifier(text[5:], "isbn")
    if _PREFIXED.match(text):
        return Identifier(scheme=IdentifierScheme.OTHER, value=text)
    return related_identifier(text, None)


def describe_dublin_core(dc: DublinCore) -> Described:
    """The model values of a Dublin Core record (no repository-specific knowledge: see the profiles)."""
    title = dc.first("title")
    if not title:
        raise MappingError("dc:title", "missing: an oai_dc record without a title cannot be catalogued")
    creators = [text_agent(name, f"dc:creator[{n}]") for n, name in enumerate(dc.get("creator"))]
    contributors = [text_agent(name, f"dc:contributor[{n}]") for n, name in enumerate(dc.get("contributor"))]

    identifiers = unique_identifiers(i for i in map(dc_identifier, dc.get("identifier")) if i is not None)
    relations = Relations()
    for value in dc.get("relation"):
        relations.add("", dc_identifier(value))

    keywords: list[str] = []
    subjects: list[Concept] = []
    for subject in dc.get("subject"):
        if subject.startswith(("http://", "https://")):
            subjects.append(Concept(uri=subject, label=subject, raw=subject))
        else:
            keywords.append(subject)

    descriptions: list[str] = []
    for text in dc.get("description"):
        cleaned = plain_text(text)
        if cleaned and cleaned not in descriptions:
            descriptions.append(cleaned)

    issued = None
    for number, value in enumerate(dc.get("date")):
        if _EU_REPO_DATE.match(value):
            continue
        try:
            issued = date_interval(value, f"dc:date[{number}]")[0]
        except MappingError:
            continue  # a free-text date: Dublin Core allows it, the model cannot hold it
        if issued:
            break

    size_bytes = None
    formats: list[str] = []
    for value in dc.get("format"):
        if _SIZE_PREFIX.match(value):
            size_bytes = size_bytes if size_bytes is not None else size_in_bytes(_SIZE_PREFIX.sub("", value))
            continue
        text = _FORMAT_PREFIX.sub("", value).strip()
        if text and text not in formats:
            formats.append(text)

    pairs = []
    for number, value in enumerate(dc.get("coverage")):
        try:
            pairs.append(date_interval(value, f"dc:coverage[{number}]"))
        except MappingError:
            continue  # a place or a period name

    links: list[str] = []
    for value in dc.get("source"):
        if value.startswith(("http://", "https://")):
            links.append(value)
            continue
        match = _DOI_IN_TEXT.search(value)
        if match:
            relations.add("references", related_identifier(match.group(1), "doi"))

    licence, access = licence_and_access([_rights_statement(value) for value in dc.get("rights")])
    publisher = dc.first("publisher")
    return Described(
        title=title,
        identifiers=identifiers,
        description="\n\n".join(descriptions) or None,
        type_general=dc.first("type"),
        creators=creators,
        contributors=contributors,
        organisations=organisation_names([*creators, *contributors]),
        publisher=organisation(publisher) if publisher else None,
        keywords=list(dict.fromkeys(keywords)),
        subjects=subjects,
        license=licence,
        access=access,
        language=dc.first("language"),
        issued=issued,
        coverage=coverage(pairs),
        relations=relations,
        size_bytes=size_bytes,
        formats=formats,
        links=links,
    )


def _rights_statement(value: str) -> RightsStatement:
    if re.match(r"^(https?|info):", value, re.IGNORECASE):
        return RightsStatement(uri=value)
    return RightsStatement(text=value)
