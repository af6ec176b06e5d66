"""A `Record` as simple Dublin Core for OAI-PMH (`oai_dc:dc`, the 15 unqualified DC 1.1 elements, each repeatable).

Simple DC cannot say which date or which relation a value is, so every element carries the values a harvester that
reads only DC should see first, first. Where the DRIVER / OpenAIRE guidelines for `oai_dc` apply, they are followed:

* `dc:title` the title; `dc:creator` people as "Family, Given", organisations by name (a record without creators
  names its collaborations, who produced the data — as in the DataCite view); `dc:contributor` the contributors,
  and the collaborations when there are creators.
* `dc:subject` keywords, subject labels, then the labels of the experiments, messengers and detection techniques
  (vocabulary concepts), each once.
* `dc:description` the description (plain text, as the model holds it), then the physics facts (collision, √s,
  energies, targets, exposure…) as one sentence, like DataCite's `TechnicalInfo`.
* `dc:publisher` the publisher's name.
* `dc:date` one date, W3CDTF: issued, else created, else modified (an unqualified second date would be read as a
  second publication date).
* `dc:type` the DCMI Type Vocabulary term (`Dataset`, `Software`, `Text`, …, from the DataCite general type), then
  the source's own resource type. The DRIVER `info:eu-repo/semantics/*` publication types describe literature; for
  data they offer only `other`, so they are not used: OpenAIRE harvests data archives as `oai_datacite`.
* `dc:format` IANA media types of the files (given, or known from the format name or file extension), then other
  format names the source gives (`ROOT`, `AOD`).
* `dc:identifier` resolvable URIs: the DOI as `https://doi.org/…` first, the landing page, the other identifiers that
  have a resolver (INSPIRE, arXiv, HEPData, CERN Open Data, Zenodo, handles, URLs), and last the dmlake record URI.
* `dc:source` where dmlake read the record (the source portal's record URL).
* `dc:language` ISO 639-3, as DRIVER asks (`en` → `eng`).
* `dc:relation` resolvable URIs of the versions, parents, parts, supplemented papers, references and newer or older
  versions (the concept DOI among them), and related links.
* `dc:coverage` the temporal coverage as an ISO 8601 interval (`start/end`, `..` for an open end), and the sky
  coverage as given.
* `dc:rights` the access right as `info:eu-repo/semantics/openAccess` (…`embargoedAccess`, `restrictedAccess`,
  `closedAccess`) first, as OpenAIRE asks, then the licence URL (else its name).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from lxml import etree

from ontology.datacite import resource_type_general
from ontology.model import Agent, IdentifierScheme, Record
from ontology.rdf import timestamp
from ontology.standards import standard
from ontology.summary import physics_facts
from ontology.terms import FILE_TYPES, FORMAT_LABELS, ISO_639_1_TO_EU

OAI_DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
SCHEMA_LOCATION = f"{OAI_DC_NAMESPACE} {SCHEMA}"
MEDIA_TYPE = "application/xml"
XSD_PATH = "oai-pmh/oai_dc.xsd"

DCMI_TYPES = {
    "Dataset": "Dataset",
    "Model": "Dataset",  # likelihoods, background models: data, not software
    "Software": "Software",
    "ComputationalNotebook": "Software",
    "Workflow": "Software",
    "Collection": "Collection",
    "Image": "Image",
    "Audiovisual": "MovingImage",
    "Sound": "Sound",
    "InteractiveResource": "InteractiveResource",
    "Event": "Event",
    "PhysicalObject": "PhysicalObject",
    "Instrument": "PhysicalObject",
    "Service": "Service",
}
"""DataCite resourceTypeGeneral → DCMI Type Vocabulary term; every other general type (articles, reports, theses,
documentation…) is `Text`, except `Other`, which has no DCMI term."""

ACCESS_RIGHTS = {
    "open": "info:eu-repo/semantics/openAccess",
    "embargoed": "info:eu-repo/semantics/embargoedAccess",
    "restricted": "info:eu-repo/semantics/restrictedAccess",
    "closed": "info:eu-repo/semantics/closedAccess",
}

_DC = f"{{{DC_NAMESPACE}}}"
_XML_SAFE = {c: None for c in range(32) if chr(c) not in "\t\n\r"}


def dublin_core(record: Record) -> dict[str, list[str]]:
    """The values of each DC element, in the order they are written; elements without values are absent."""
    elements = {
        "title": [record.title],
        "creator": _creators(record),
        "subject": _subjects(record),
        "description": _descriptions(record),
        "publisher": [record.publisher.name] if record.publisher else [],
        "contributor": _contributors(record),
        "date": _date(record),
        "type": _types(record),
        "format": _formats(record),
        "identifier": _identifiers(record),
        "source": [record.provenance.source_url] if record.provenance.source_url else [],
        "language": [_language(record.language)] if record.language else [],
        "relation": _relations(record),
        "coverage": _coverage(record),
        "rights": _rights(record),
    }
    cleaned = {name: _unique(_clean(value) for value in values) for name, values in elements.items()}
    return {name: values for name, values in cleaned.items() if values}


def element(record: Record) -> etree._Element:
    """The record's `<oai_dc:dc>` element (with its schema location), to put in an OAI-PMH `<metadata>`."""
    root = etree.Element(
        f"{{{OAI_DC_NAMESPACE}}}dc", nsmap={"oai_dc": OAI_DC_NAMESPACE, "dc": DC_NAMESPACE, "xsi": XSI}
    )
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    for name, values in dublin_core(record).items():
        for value in values:
            etree.SubElement(root, _DC + name).text = value
    return root


def to_xml(record: Record) -> bytes:
    """The record's `oai_dc:dc` as a standalone XML document (UTF-8, with declaration)."""
    result: bytes = etree.tostring(element(record), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return result


# ------------------------------------------------------------------------------------------------------ elements
def _agent_name(agent: Agent) -> str:
    if agent.kind == "person" and agent.family_name and agent.given_name:
        return f"{agent.family_name}, {agent.given_name}"
    return agent.name


def _collaborations(record: Record) -> list[str]:
    names = []
    for concept in record.collaboration:
        raw = concept.raw.strip()
        names.append(raw if raw and not raw.startswith("from ") else concept.label)
    return names


def _creators(record: Record) -> list[str]:
    if record.creators:
        return [_agent_name(agent) for agent in record.creators]
    return _collaborations(record)


def _contributors(record: Record) -> list[str]:
    names = [_agent_name(agent) for agent in record.contributors]
    if record.creators:
        names += _collaborations(record)
    creators = {name.casefold() for name in _creators(record)}
    return [name for name in names if name.casefold() not in creators]


def _subjects(record: Record) -> list[str]:
    concepts = [*record.subjects, *record.experiments, *record.messengers, *record.detection_technique]
    return [k.strip() for k in record.keywords if k.strip()] + [c.label for c in concepts]


def _descriptions(record: Record) -> list[str]:
    descriptions = []
    if record.description and record.description.strip():
        descriptions.append(record.description.strip())
    facts = physics_facts(record)
    if facts:
        descriptions.append("; ".join(facts) + ".")
    return descriptions


def _w3cdtf(value: str) -> str:
    return timestamp(value) if len(value) > 10 else value


def _date(record: Record) -> list[str]:
    for value in (record.issued, record.created, record.modified):
        if value:
            return [_w3cdtf(value)]
    return []


def dcmi_type(record: Record) -> str | None:
    """The DCMI Type Vocabulary term of the record (None for DataCite's `Other`)."""
    general = resource_type_general(record)
    if general == "Other":
        return None
    return DCMI_TYPES.get(general, "Text")


def _types(record: Record) -> list[str]:
    types = [t for t in (dcmi_type(record),) if t]
    if record.resource_type is not None:
        types.append(record.resource_type.label)
    return types


def _media_type_of(name: str | None) -> str | None:
    if not name:
        return None
    key = name.strip().lower()
    known = FILE_TYPES.get(key) or FILE_TYPES.get(key.rsplit(".", 1)[-1] if "." in key else "")
    return known[1] if known else None


def _formats(record: Record) -> list[str]:
    media_types: list[str] = []
    names: list[str] = []
    for file in record.distributions:
        given = file.media_type.split(";")[0].strip().lower() if file.media_type else None
        found = given or _media_type_of(file.format) or _media_type_of(file.name)
        if found:
            media_types.append(found)
        elif file.format:
            names.append(file.format)
    for value in record.formats:
        found = _media_type_of(value)
        if found:
            media_types.append(found)
        else:
            names.append(value)
    return media_types + [FORMAT_LABELS.get(name.strip().lower(), name) for name in names]


def _identifiers(record: Record) -> list[str]:
    dois = [i for i in record.identifiers if i.scheme == IdentifierScheme.DOI]
    others = [i for i in record.identifiers if i.scheme not in (IdentifierScheme.DOI, IdentifierScheme.CONCEPT_DOI)]
    values = [i.uri() for i in dois]
    if record.landing_page:
        values.append(record.landing_page)
    values += [i.uri() for i in others]
    values.append(record.id)
    return [v for v in values if v]


def _relations(record: Record) -> list[str]:
    concept_dois = [i for i in record.identifiers if i.scheme == IdentifierScheme.CONCEPT_DOI]
    related = [
        *record.is_version_of,
        *concept_dois,
        *record.is_part_of,
        *record.is_supplement_to,
        *record.references,
        *record.is_new_version_of,
        *record.has_part,
    ]
    values = [i.uri() for i in related]
    return [v for v in values if v] + list(record.related_links)


def _language(value: str) -> str:
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    if len(primary) == 2:
        return ISO_639_1_TO_EU.get(primary, primary).lower()
    return primary or value


def _coverage(record: Record) -> list[str]:
    values = []
    coverage = record.temporal_coverage
    if coverage is not None and (coverage.start or coverage.end):
        start = _w3cdtf(coverage.start) if coverage.start else ".."
        end = _w3cdtf(coverage.end) if coverage.end else ".."
        values.append(start if start == end else f"{start}/{end}")
    if record.sky_coverage and record.sky_coverage.strip():
        values.append(record.sky_coverage.strip())
    return values


def _rights(record: Record) -> list[str]:
    rights = []
    if record.access_rights is not None:
        rights.append(ACCESS_RIGHTS[record.access_rights])
    if record.license is not None:
        rights.append(record.license.uri or record.license.label)
    return rights


def _clean(value: str) -> str:
    return value.translate(_XML_SAFE).strip()


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return list(seen.values())


# ------------------------------------------------------------------------------------------------------ validation
class _LocalSchemas(etree.Resolver):
    """The oai_dc schema imports Dublin Core from dublincore.org: read the copy in the standards folder instead."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
        name = (url or "").rsplit("/", 1)[-1]
        if url and url.startswith("http") and (self.folder / name).is_file():
            return self.resolve_filename(str(self.folder / name), context)
        return None


@cache
def _xml_schema() -> etree.XMLSchema:
    path = standard(XSD_PATH)
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalSchemas(path.parent))
    return etree.XMLSchema(etree.parse(str(path), parser))


def xml_errors(document: bytes | etree._Element) -> list[str]:
    """Why an `oai_dc:dc` document does not validate against oai_dc.xsd (empty: it does)."""
    schema = _xml_schema()
    if isinstance(document, bytes):
        document = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
