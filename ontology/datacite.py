"""A `Record` as DataCite Metadata Schema 4.6: the REST API's JSON attributes and the kernel-4 XML.

Both are built from one dict (`attributes`), so they say the same. Choices where the schema leaves room:

* **Identifier.** A record with a DOI uses it. Without one (and unless the DOI registrar passes the DOI it is about to
  mint), the JSON omits `doi`, as a create request with only a `prefix` does, and the XML, whose schema requires an
  `<identifier>`, carries DataCite's standard value for unknown information `(:tba)` ("to be assigned").
  The record's own ids go to `alternateIdentifiers` either way, the dmlake record URI among them.
* **Mandatory values the source lacks** use DataCite's standard values for unknown information: no creator and no
  collaboration → creator `(:unav)`; no publisher → `(:unav)`. A record without creators but with a collaboration
  gets the collaboration as an organisational creator (the collaboration is who produced the data).
  `publicationYear` comes from `issued`, else `created`, else `modified`, else the year dmlake retrieved the record
  (it was public then); a record with none of these cannot be expressed and raises `DataCiteError`.
* **resourceTypeGeneral** comes from the source's resource type if it names a DataCite type, else from the resource
  categories (software and environments → Software, documentation → Text, likelihoods and background models →
  Model), else `Dataset`.
* No description is generated here (DataCite does not require one); the physics metadata become a `TechnicalInfo`
  description. `related_links` have no DataCite relation type and are not included.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from lxml import etree

from ontology.model import Agent, Concept, Identifier, IdentifierScheme, Record
from ontology.rdf import timestamp
from ontology.standards import standard
from ontology.summary import physics_facts
from ontology.vocabulary import VOCAB_BASE, by_uri

NAMESPACE = "http://datacite.org/schema/kernel-4"
SCHEMA_LOCATION = "http://datacite.org/schema/kernel-4 https://schema.datacite.org/meta/kernel-4.6/metadata.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DOI_PLACEHOLDER = "(:tba)"
UNAVAILABLE = "(:unav)"
XSD_PATH = "datacite/kernel-4.6/metadata.xsd"
JSON_SCHEMA_PATH = "datacite/json/datacite-v4.6.json"

RESOURCE_TYPES_GENERAL = (
    "Audiovisual", "Award", "Book", "BookChapter", "Collection", "ComputationalNotebook", "ConferencePaper",
    "ConferenceProceeding", "DataPaper", "Dataset", "Dissertation", "Event", "Image", "Instrument",
    "InteractiveResource", "Journal", "JournalArticle", "Model", "OutputManagementPlan", "PeerReview",
    "PhysicalObject", "Preprint", "Project", "Report", "Service", "Software", "Sound", "Standard",
    "StudyRegistration", "Text", "Workflow", "Other",
)  # fmt: skip
_GENERAL_BY_KEY = {t.lower(): t for t in RESOURCE_TYPES_GENERAL}
_GENERAL_BY_WORD = {
    "data": "Dataset", "datasets": "Dataset", "environment": "Software", "documentation": "Text",
    "publication": "Text", "article": "Text", "poster": "Text", "presentation": "Text", "figure": "Image",
    "video": "Audiovisual", "notebook": "ComputationalNotebook", "lesson": "InteractiveResource",
}  # fmt: skip
_GENERAL_BY_CATEGORY = {
    "software": "Software",
    "environment": "Software",
    "documentation": "Text",
    "likelihood": "Model",
    "background-model": "Model",
}
_RELATED_TYPES = {
    IdentifierScheme.DOI: "DOI",
    IdentifierScheme.CONCEPT_DOI: "DOI",
    IdentifierScheme.ARXIV: "arXiv",
    IdentifierScheme.HANDLE: "Handle",
    IdentifierScheme.ISBN: "ISBN",
    IdentifierScheme.URL: "URL",
}
_ALTERNATE_TYPES = {
    IdentifierScheme.DOI: "DOI",
    IdentifierScheme.CONCEPT_DOI: "DOI",
    IdentifierScheme.INSPIRE: "INSPIRE",
    IdentifierScheme.ARXIV: "arXiv",
    IdentifierScheme.HEPDATA: "HEPData",
    IdentifierScheme.CERN_RECID: "CERN Open Data recid",
    IdentifierScheme.ZENODO: "Zenodo",
    IdentifierScheme.GITLAB_PATH: "GitLab path",
    IdentifierScheme.HANDLE: "Handle",
    IdentifierScheme.CDS: "CDS",
    IdentifierScheme.OAI: "OAI",
    IdentifierScheme.URL: "URL",
    IdentifierScheme.ISBN: "ISBN",
    IdentifierScheme.OTHER: "Other",
}
_ACCESS_RIGHTS = {
    "open": ("Open Access", "info:eu-repo/semantics/openAccess"),
    "embargoed": ("Embargoed Access", "info:eu-repo/semantics/embargoedAccess"),
    "restricted": ("Restricted Access", "info:eu-repo/semantics/restrictedAccess"),
    "closed": ("Closed Access", "info:eu-repo/semantics/closedAccess"),
}
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")  # a BCP 47 tag with an ISO 639 language
_SUBJECT_FIELDS = (
    "experiments",
    "collaboration",
    "messengers",
    "detection_technique",
    "targets",
    "resource_categories",
    "observables",
)


class DataCiteError(ValueError):
    """A record that DataCite's schema cannot express; the message names the record and the missing field."""


# --------------------------------------------------------------------------------------------------- attributes
def attributes(record: Record, doi: str | None = None) -> dict[str, Any]:
    """The DataCite REST API `attributes` of a record (JSON schema datacite-v4.6). `doi` overrides the record's."""
    doi = doi or record.doi
    data: dict[str, Any] = {}
    if doi:
        data["doi"] = doi
    data["url"] = record.landing_page or record.id
    data["types"] = _types(record)
    data["creators"] = _creators(record)
    data["titles"] = [{"title": record.title}]
    data["publisher"] = _publisher(record.publisher)
    data["publicationYear"] = _publication_year(record)
    optional = {
        "subjects": _subjects(record),
        "contributors": _contributors(record),
        "dates": _dates(record),
        "language": record.language if record.language and _LANGUAGE.match(record.language) else None,
        "alternateIdentifiers": _alternate_identifiers(record, doi),
        "relatedIdentifiers": _related_identifiers(record),
        "sizes": _sizes(record),
        "formats": _formats(record),
        "version": record.version,
        "rightsList": _rights(record),
        "descriptions": _descriptions(record),
    }
    data.update({key: value for key, value in optional.items() if value})
    data["schemaVersion"] = NAMESPACE
    # DataCite's lists are sets (uniqueItems); sources repeat themselves (an author listed twice at one institute).
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = _unique(value)
    for person in (*data["creators"], *data.get("contributors", [])):
        for key in ("nameIdentifiers", "affiliation"):
            if key in person:
                person[key] = _unique(person[key])
    return data


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def resource_type_general(record: Record) -> str:
    if record.resource_type is not None:
        for text in (record.resource_type.label, record.resource_type.raw):
            found = _general_from_text(text)
            if found:
                return found
    for category in record.resource_categories:
        if category.uri and category.uri.startswith(VOCAB_BASE + "resource-category/"):
            found = _GENERAL_BY_CATEGORY.get(category.uri.rsplit("/", 1)[1])
            if found:
                return found
    return "Dataset"


def _general_from_text(text: str) -> str | None:
    key = re.sub(r"[\s_]+", "", text.strip().lower())
    if key in _GENERAL_BY_KEY:
        return _GENERAL_BY_KEY[key]
    first = re.split(r"[\s/\-:,]+", text.strip().lower())[0] if text.strip() else ""
    return _GENERAL_BY_KEY.get(first) or _GENERAL_BY_WORD.get(first)


def _types(record: Record) -> dict[str, str]:
    types = {"resourceTypeGeneral": resource_type_general(record)}
    if record.resource_type is not None:
        types["resourceType"] = record.resource_type.label
    elif record.resource_categories:
        types["resourceType"] = ", ".join(c.label for c in record.resource_categories)
    return types


def _person(agent: Agent) -> dict[str, Any]:
    person: dict[str, Any] = {}
    if agent.kind == "person":
        person["name"] = (
            f"{agent.family_name}, {agent.given_name}" if agent.family_name and agent.given_name else agent.name
        )
        person["nameType"] = "Personal"
        if agent.given_name:
            person["givenName"] = agent.given_name
        if agent.family_name:
            person["familyName"] = agent.family_name
    else:
        person["name"] = agent.name
        person["nameType"] = "Organizational"
    identifiers = []
    if agent.orcid:
        identifiers.append(
            {
                "nameIdentifier": f"https://orcid.org/{agent.orcid}",
                "nameIdentifierScheme": "ORCID",
                "schemeUri": "https://orcid.org",
            }
        )
    if agent.ror:
        identifiers.append(
            {"nameIdentifier": _ror(agent.ror), "nameIdentifierScheme": "ROR", "schemeUri": "https://ror.org"}
        )
    if identifiers:
        person["nameIdentifiers"] = identifiers
    affiliations = []
    for affiliation in agent.affiliations:
        entry: dict[str, Any] = {"name": affiliation.name}
        if affiliation.ror:
            entry |= {
                "affiliationIdentifier": _ror(affiliation.ror),
                "affiliationIdentifierScheme": "ROR",
                "schemeUri": "https://ror.org",
            }
        affiliations.append(entry)
    if affiliations:
        person["affiliation"] = affiliations
    return person


def _collaboration_name(concept: Concept) -> str:
    raw = concept.raw.strip()
    return raw if raw and not raw.startswith("from ") else concept.label


def _creators(record: Record) -> list[dict[str, Any]]:
    if record.creators:
        return [_person(c) for c in record.creators]
    if record.collaboration:
        return [{"name": _collaboration_name(c), "nameType": "Organizational"} for c in record.collaboration]
    return [{"name": UNAVAILABLE}]


def _contributors(record: Record) -> list[dict[str, Any]]:
    contributors = [_person(c) | {"contributorType": "Other"} for c in record.contributors]
    if record.creators:
        contributors += [
            {"name": _collaboration_name(c), "nameType": "Organizational", "contributorType": "ResearchGroup"}
            for c in record.collaboration
        ]
    return contributors


def _publisher(publisher: Agent | None) -> dict[str, str]:
    if publisher is None:
        return {"name": UNAVAILABLE}
    data = {"name": publisher.name}
    if publisher.ror:
        data |= {
            "publisherIdentifier": _ror(publisher.ror),
            "publisherIdentifierScheme": "ROR",
            "schemeUri": "https://ror.org/",
        }
    return data


def _publication_year(record: Record) -> str:
    for value in (record.issued, record.created, record.modified):
        if value:
            return value[:4]
    if record.provenance.retrieved_at is not None:
        return str(record.provenance.retrieved_at.year)
    raise DataCiteError(
        f"{record.id}: DataCite requires a publicationYear, but the record has no issued, created or modified date "
        "and was never stored by a harvest (no retrieved_at): fix the mapping of its dates"
    )


def _subjects(record: Record) -> list[dict[str, str]]:
    subjects: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(entry: dict[str, str]) -> None:
        key = (entry["subject"], entry.get("valueUri", ""))
        if key not in seen:
            seen.add(key)
            subjects.append(entry)

    for keyword in record.keywords:
        if keyword.strip():
            add({"subject": keyword.strip()})
    for concept in record.subjects:
        add({"subject": concept.label, "valueUri": concept.uri} if concept.uri else {"subject": concept.label})
    singles = [c for c in (record.data_level, record.accelerator, record.collision and record.collision.type) if c]
    for concept in [c for field in _SUBJECT_FIELDS for c in getattr(record, field)] + singles:
        known = by_uri(concept.uri) if concept.uri else None
        if known is None:
            add({"subject": concept.label})
            continue
        add(
            {
                "subject": known.label,
                "subjectScheme": f"dmlake {known.scheme}",
                "schemeUri": VOCAB_BASE + known.scheme,
                "valueUri": known.uri,
            }
        )
    return subjects


def _w3cdtf(value: str) -> str:
    return timestamp(value) if len(value) > 10 else value


def _dates(record: Record) -> list[dict[str, str]]:
    dates = [
        {"date": _w3cdtf(value), "dateType": kind}
        for kind, value in (("Issued", record.issued), ("Updated", record.modified), ("Created", record.created))
        if value
    ]
    coverage = record.temporal_coverage
    if coverage is not None and (coverage.start or coverage.end):
        if coverage.start and coverage.end:
            dates.append({"date": f"{coverage.start[:10]}/{coverage.end[:10]}", "dateType": "Collected"})
        else:
            edge = "start" if coverage.start else "end"
            dates.append(
                {
                    "date": _w3cdtf(coverage.start or coverage.end or ""),
                    "dateType": "Collected",
                    "dateInformation": f"{edge} of data taking; the other end is not given",
                }
            )
    return dates


def _alternate_identifiers(record: Record, doi: str | None) -> list[dict[str, str]]:
    alternates = [
        {"alternateIdentifier": i.value, "alternateIdentifierType": _ALTERNATE_TYPES[i.scheme]}
        for i in record.identifiers
        if not (i.scheme == IdentifierScheme.DOI and doi and i.value.lower() == doi.lower())
        and i.scheme != IdentifierScheme.CONCEPT_DOI
    ]
    alternates.append({"alternateIdentifier": record.id, "alternateIdentifierType": "dmlake"})
    return alternates


def _related(value: Identifier, relation: str) -> dict[str, str] | None:
    kind = _RELATED_TYPES.get(value.scheme)
    if kind == "arXiv":
        return {"relatedIdentifier": f"arXiv:{value.value}", "relatedIdentifierType": kind, "relationType": relation}
    if kind:
        return {"relatedIdentifier": value.value, "relatedIdentifierType": kind, "relationType": relation}
    uri = value.uri()
    return {"relatedIdentifier": uri, "relatedIdentifierType": "URL", "relationType": relation} if uri else None


def _related_identifiers(record: Record) -> list[dict[str, str]]:
    relations = (
        ("IsPartOf", record.is_part_of),
        ("HasPart", record.has_part),
        ("IsSupplementTo", record.is_supplement_to),
        ("References", record.references),
        ("IsNewVersionOf", record.is_new_version_of),
        (
            "IsVersionOf",
            record.is_version_of + [i for i in record.identifiers if i.scheme == IdentifierScheme.CONCEPT_DOI],
        ),
    )
    related: list[dict[str, str]] = []
    for relation, values in relations:
        for value in values:
            entry = _related(value, relation)
            if entry is not None and entry not in related:
                related.append(entry)
    return related


def _sizes(record: Record) -> list[str]:
    sizes = []
    if record.size_bytes is not None:
        sizes.append(f"{record.size_bytes} bytes")
    if record.distributions:
        sizes.append(f"{len(record.distributions)} files")
    if record.number_of_events is not None:
        sizes.append(f"{record.number_of_events} events")
    return sizes


def _formats(record: Record) -> list[str]:
    formats: list[str] = []
    for value in [*record.formats, *(d.media_type or d.format or "" for d in record.distributions)]:
        if value and value not in formats:
            formats.append(value)
    return formats


def _rights(record: Record) -> list[dict[str, str]]:
    rights = []
    if record.license is not None:
        if record.license.uri and record.license.uri.startswith("http://spdx.org/licenses/"):
            spdx_id = record.license.uri.rsplit("/", 1)[1]
            rights.append(
                {
                    "rights": spdx_id,
                    "rightsUri": record.license.uri,
                    "rightsIdentifier": spdx_id,
                    "rightsIdentifierScheme": "SPDX",
                    "schemeUri": "https://spdx.org/licenses/",
                }
            )
        elif record.license.uri:
            rights.append({"rights": record.license.label, "rightsUri": record.license.uri})
        else:
            rights.append({"rights": record.license.label})
    if record.access_rights is not None:
        label, uri = _ACCESS_RIGHTS[record.access_rights]
        rights.append({"rights": label, "rightsUri": uri})
    return rights


def _descriptions(record: Record) -> list[dict[str, str]]:
    descriptions = []
    if record.description and record.description.strip():
        descriptions.append({"description": record.description.strip(), "descriptionType": "Abstract"})
    facts = physics_facts(record)
    if facts:
        descriptions.append({"description": "; ".join(facts) + ".", "descriptionType": "TechnicalInfo"})
    return descriptions


def _ror(value: str) -> str:
    return "https://ror.org/" + re.sub(r"^(https?://)?(www\.)?ror\.org/", "", value.strip())


# ------------------------------------------------------------------------------------------------------ JSON, XML
def to_json(record: Record, doi: str | None = None, indent: int | None = 2) -> str:
    return json.dumps(attributes(record, doi), indent=indent, ensure_ascii=False)


def to_xml(record: Record, doi: str | None = None) -> bytes:
    """DataCite kernel-4.6 XML (UTF-8, with declaration) of a record."""
    return xml_from_attributes(attributes(record, doi))


def _element(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{name}", {k: v for k, v in attrs.items() if v})
    if text is not None:
        element.text = text
    return element


_XML_SAFE = {c: None for c in range(32) if chr(c) not in "\t\n\r"}


def _clean(value: str) -> str:
    return value.translate(_XML_SAFE)


def _name_element(parent: etree._Element, tag: str, person: dict[str, Any]) -> None:
    _element(parent, tag, _clean(person["name"]), nameType=person.get("nameType", ""))
    for part in ("givenName", "familyName"):
        if part in person:
            _element(parent, part, _clean(person[part]))
    for identifier in person.get("nameIdentifiers", []):
        _element(
            parent,
            "nameIdentifier",
            identifier["nameIdentifier"],
            nameIdentifierScheme=identifier["nameIdentifierScheme"],
            schemeURI=identifier.get("schemeUri", ""),
        )
    for affiliation in person.get("affiliation", []):
        _element(
            parent,
            "affiliation",
            _clean(affiliation["name"]),
            affiliationIdentifier=affiliation.get("affiliationIdentifier", ""),
            affiliationIdentifierScheme=affiliation.get("affiliationIdentifierScheme", ""),
            schemeURI=affiliation.get("schemeUri", ""),
        )


@dataclass(frozen=True)
class _ListOf:
    """A DataCite JSON list written as an XML container of elements: each item's `text` key is the element's text,
    and `attributes` map XML attribute names to JSON keys (a required key missing is a KeyError, as in the kernel)."""

    group: str
    tag: str
    text: str
    attributes: tuple[tuple[str, str, bool], ...] = ()
    """(XML attribute, JSON key, required), in the order they are written."""
    clean: bool = True
    """Strip the control characters XML cannot hold from the text (dates need not)."""
    always: bool = False
    """The list is mandatory: written (or a KeyError) even when the JSON lacks it."""


_TITLES = _ListOf("titles", "title", "title", (("titleType", "titleType", False),), always=True)
_SUBJECTS = _ListOf(
    "subjects",
    "subject",
    "subject",
    (("subjectScheme", "subjectScheme", False), ("schemeURI", "schemeUri", False), ("valueURI", "valueUri", False)),
)
_DATES = _ListOf(
    "dates",
    "date",
    "date",
    (("dateType", "dateType", True), ("dateInformation", "dateInformation", False)),
    clean=False,
)
_ALTERNATE_IDENTIFIERS = _ListOf(
    "alternateIdentifiers",
    "alternateIdentifier",
    "alternateIdentifier",
    (("alternateIdentifierType", "alternateIdentifierType", True),),
)
_RELATED_IDENTIFIERS = _ListOf(
    "relatedIdentifiers",
    "relatedIdentifier",
    "relatedIdentifier",
    (("relatedIdentifierType", "relatedIdentifierType", True), ("relationType", "relationType", True)),
)
_RIGHTS = _ListOf(
    "rightsList",
    "rights",
    "rights",
    (
        ("rightsURI", "rightsUri", False),
        ("rightsIdentifier", "rightsIdentifier", False),
        ("rightsIdentifierScheme", "rightsIdentifierScheme", False),
        ("schemeURI", "schemeUri", False),
    ),
)
_DESCRIPTIONS = _ListOf("descriptions", "description", "description", (("descriptionType", "descriptionType", True),))


def _write_list(resource: etree._Element, data: dict[str, Any], spec: _ListOf) -> None:
    if not spec.always and spec.group not in data:
        return
    container = _element(resource, spec.group)
    for item in data[spec.group]:
        attrs = {name: item[key] if required else item.get(key, "") for name, key, required in spec.attributes}
        text = item[spec.text]
        _element(container, spec.tag, _clean(text) if spec.clean else text, **attrs)


def xml_from_attributes(data: dict[str, Any]) -> bytes:
    """Render DataCite JSON attributes as kernel-4 XML (the two forms carry the same information)."""
    resource = etree.Element(f"{{{NAMESPACE}}}resource", nsmap={None: NAMESPACE, "xsi": XSI})
    resource.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    _element(resource, "identifier", data.get("doi") or DOI_PLACEHOLDER, identifierType="DOI")
    creators = _element(resource, "creators")
    for person in data["creators"]:
        _name_element(_element(creators, "creator"), "creatorName", person)
    _write_list(resource, data, _TITLES)
    publisher = data["publisher"]
    _element(
        resource,
        "publisher",
        _clean(publisher["name"]),
        publisherIdentifier=publisher.get("publisherIdentifier", ""),
        publisherIdentifierScheme=publisher.get("publisherIdentifierScheme", ""),
        schemeURI=publisher.get("schemeUri", ""),
    )
    _element(resource, "publicationYear", data["publicationYear"])
    types = data["types"]
    _element(
        resource,
        "resourceType",
        _clean(types.get("resourceType", "")),
        resourceTypeGeneral=types["resourceTypeGeneral"],
    )
    _write_list(resource, data, _SUBJECTS)
    if "contributors" in data:
        contributors = _element(resource, "contributors")
        for person in data["contributors"]:
            contributor = _element(contributors, "contributor", contributorType=person["contributorType"])
            _name_element(contributor, "contributorName", person)
    _write_list(resource, data, _DATES)
    if "language" in data:
        _element(resource, "language", data["language"])
    _write_list(resource, data, _ALTERNATE_IDENTIFIERS)
    _write_list(resource, data, _RELATED_IDENTIFIERS)
    for group, tag in (("sizes", "size"), ("formats", "format")):
        if group in data:
            container = _element(resource, group)
            for value in data[group]:
                _element(container, tag, _clean(value))
    if "version" in data:
        _element(resource, "version", _clean(data["version"]))
    _write_list(resource, data, _RIGHTS)
    _write_list(resource, data, _DESCRIPTIONS)
    result: bytes = etree.tostring(resource, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return result


# ------------------------------------------------------------------------------------------------------ validation
@cache
def _xml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(standard(XSD_PATH))))


@cache
def _json_validator() -> Any:
    import jsonschema

    schema = json.loads(standard(JSON_SCHEMA_PATH).read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


def xml_errors(document: bytes) -> list[str]:
    """Why a DataCite XML document does not validate against the kernel-4.6 XSD (empty: it does)."""
    schema = _xml_schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    if schema.validate(etree.fromstring(document, parser)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def json_errors(data: dict[str, Any]) -> list[str]:
    """Why DataCite JSON attributes do not validate against the 4.6 JSON schema (empty: they do)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in _json_validator().iter_errors(data)
    ]
