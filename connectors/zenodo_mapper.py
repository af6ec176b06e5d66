"""Zenodo REST JSON → model, for both shapes Zenodo serves a record in.

* the legacy JSON (`application/json`, Zenodo's `ZenodoJSONSerializer`): `recid`, `conceptdoi`, `metadata.creators`
  as `{name, affiliation, orcid}`, `files` as a list of `{filename, filesize, checksum}` (older captures:
  `{key, size, checksum: "md5:…"}`), related identifiers with camel-case relations;
* the InvenioRDM JSON (`application/vnd.inveniordm.v1+json`): `pids`, `parent`, `versions`,
  `metadata.creators[].person_or_org`, `metadata.rights`, `files.entries` keyed by file name, `access.status`.

The shape is recognised from the payload itself. Both shapes go through the same field functions
(`connectors.zenodo_fields`), so the same data gives the same model values whichever shape was fetched; what one
shape cannot carry (ROR ids and given/family names exist only in the RDM shape) is simply absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from connectors.base import MappingError
from connectors.zenodo_fields import (
    ZENODO,
    AccessRights,
    ExperimentSignals,
    Relations,
    access_rights,
    affiliation,
    agent,
    community_identifier,
    date_interval,
    detect_experiments,
    distribution,
    doi,
    html_to_text,
    license_for,
    organisation,
    partial_date,
    physics,
    related_identifier,
    resource_categories,
    resource_type,
    shared_concept,
    shared_coverage,
    split_name,
    unique_identifiers,
)
from ontology import Agent, Concept, Distribution, Identifier, IdentifierScheme, TemporalCoverage

Shape = Literal["legacy", "rdm"]

_ORGANISED = re.compile(r"\b(collaboration|consortium)\b", re.IGNORECASE)
_DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)\]])")


def parse_payload(payload: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise MappingError("payload", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise MappingError("payload", f"expected a JSON object, got {type(data).__name__}")
    return data


def detect_shape(data: Mapping[str, Any]) -> Shape:
    """`rdm` for InvenioRDM JSON, `legacy` for Zenodo's legacy JSON; anything else is not a Zenodo record."""
    if "tombstone" in data and "metadata" not in data:
        raise MappingError("payload", "a tombstone of a deleted record, not a record")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        raise MappingError("metadata", "missing: not a Zenodo record")
    creators = metadata.get("creators")
    first = creators[0] if isinstance(creators, list) and creators and isinstance(creators[0], dict) else {}
    if isinstance(data.get("files"), dict) or "pids" in data or "person_or_org" in first or "rights" in metadata:
        return "rdm"
    if isinstance(data.get("files"), list) or {"recid", "conceptrecid", "doi"} & data.keys():
        return "legacy"
    if "access_right" in metadata or "upload_type" in metadata:
        return "legacy"
    raise MappingError("payload", "neither Zenodo's legacy JSON nor InvenioRDM JSON (no pids, files or recid)")


@dataclass
class ZenodoFields:
    """Everything a Zenodo record says, as model values (the `Record` fields minus identity and provenance)."""

    native_id: str
    values: dict[str, Any] = field(default_factory=dict)


def map_zenodo(data: Mapping[str, Any]) -> ZenodoFields:
    """The model values of a Zenodo record in either shape."""
    shape = detect_shape(data)
    return _from_rdm(data) if shape == "rdm" else _from_legacy(data)


# --------------------------------------------------------------------------------------------------------------------
# helpers shared by both shapes


# The readers take the field's name in two parts, `field_name + suffix`, joined only for an error message: a record
# has dozens of fields, nearly always valid, and building each one's name up front was a measurable share of mapping.


def _text(value: Any, field_name: str, suffix: str = "") -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value.strip() or None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise MappingError(field_name + suffix, f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


def _list(value: Any, field_name: str, suffix: str = "") -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(field_name + suffix, f"expected a list, got {type(value).__name__}")
    return value


def _dict(value: Any, field_name: str, suffix: str = "") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(field_name + suffix, f"expected an object, got {type(value).__name__}")
    return value


def _scheme(value: Any, field_name: str, suffix: str) -> str | None:
    """An identifier's scheme as the record gives it (`related_identifier` guesses a blank one); a scheme that is
    not a string (a number, a list) names no scheme and is a mapping error, not a guess."""
    if value is None or type(value) is str:
        return value
    raise MappingError(field_name + suffix, f"expected text, got {type(value).__name__}")


def _link(links: Mapping[str, Any], name: str) -> str | None:
    """One of a file's `links`, if it is a non-empty string. A link of another type is skipped like an absent one,
    as `_landing` and `links.files` skip theirs: the file keeps the URL Zenodo's files endpoint gives it."""
    link = links.get(name)
    return link if isinstance(link, str) and link else None


def _recid(value: Any, field_name: str) -> str:
    text = _text(value, field_name)
    if text is None:
        raise MappingError(field_name, "missing: a Zenodo record has an id")
    return text


def _reference_identifiers(references: Iterable[tuple[str, str | None, str | None]]) -> list[Identifier]:
    """References are citation strings; those naming an identifier (or a DOI in the text) become identifiers."""
    out = []
    for text, given, scheme in references:
        target = related_identifier(given, scheme) if given else None
        if target is None:
            match = _DOI_IN_TEXT.search(text)
            target = related_identifier(match.group(1), "doi") if match else None
        if target is not None:
            out.append(target)
    return out


def _files_total(distributions: list[Distribution]) -> int | None:
    sizes = [d.size_bytes for d in distributions if d.size_bytes is not None]
    return sum(sizes) if sizes else None


@dataclass
class ZenodoValues:
    """What every Zenodo shape says, read out of it; `fields()` turns it into `Record` keyword arguments.

    Each reader (legacy JSON, InvenioRDM JSON, and later OAI-PMH DataCite XML) only reads its shape into this;
    the derived values — experiments, physics, communities as collections, relations by field — are made here
    once, so every path derives them alike."""

    native_id: str
    title: str
    identifiers: list[Identifier]
    concept: Identifier | None
    landing_page: str | None
    description: str | None
    type_id: str | None
    type_title: str | None
    creators: list[Agent]
    contributors: list[Agent]
    organisations: list[str]
    publisher: Agent | None
    keywords: list[str]
    subjects: list[Concept]
    communities: list[str]
    license: Concept | None
    access: AccessRights | None
    language: str | None
    version: str | None
    issued: str | None
    created: str | None
    modified: str | None
    coverage: TemporalCoverage | None
    distributions: list[Distribution]
    relations: Relations
    references: list[Identifier]

    def fields(self) -> ZenodoFields:
        experiments, collaborations = detect_experiments(
            ExperimentSignals(self.keywords, self.communities, self.organisations)
        )
        known = physics(experiments, self.keywords)
        relations = self.relations
        for slug in self.communities:
            relations.add("isPartOf", community_identifier(slug))
        for reference in self.references:
            relations.add("references", reference)
        version_of = relations.get("is_version_of")
        if self.concept is not None:
            version_of = [self.concept, *(i for i in version_of if i.value.lower() != self.concept.value.lower())]
        identifiers = unique_identifiers([*self.identifiers, *relations.get("identifiers")])
        distributions = sorted(self.distributions, key=lambda d: d.name)
        values: dict[str, Any] = {
            "identifiers": identifiers,
            "version": self.version,
            "is_version_of": unique_identifiers(version_of),
            "landing_page": self.landing_page,
            "title": self.title,
            "description": self.description,
            "resource_type": resource_type(self.type_id, self.type_title),
            "creators": self.creators,
            "contributors": self.contributors,
            "collaboration": collaborations,
            "experiments": experiments,
            "accelerator": known.accelerator,
            "publisher": self.publisher,
            "keywords": list(dict.fromkeys(self.keywords)),
            "subjects": self.subjects,
            "license": self.license,
            "access_rights": self.access,
            "language": self.language,
            "issued": self.issued,
            "created": self.created,
            "modified": self.modified,
            "temporal_coverage": self.coverage,
            "messengers": known.messengers,
            "detection_technique": known.techniques,
            "targets": known.targets,
            "resource_categories": resource_categories(self.type_id, self.keywords),
            "distributions": distributions,
            "size_bytes": _files_total(distributions),
            "formats": sorted({d.format for d in distributions if d.format}),
            "is_part_of": relations.get("is_part_of"),
            "has_part": relations.get("has_part"),
            "is_supplement_to": relations.get("is_supplement_to"),
            "references": relations.get("references"),
            "is_new_version_of": relations.get("is_new_version_of"),
            "related_links": relations.links,
        }
        return ZenodoFields(self.native_id, values)


def _landing(links: Mapping[str, Any], native_id: str) -> str:
    link = links.get("self_html") or links.get("html")
    if isinstance(link, str) and link:
        return link
    return f"{ZENODO}/records/{native_id}"


def _coverage(pairs: list[tuple[str | None, str | None]]) -> TemporalCoverage | None:
    starts = [s for s, _ in pairs if s]
    ends = [e for _, e in pairs if e]
    if not starts and not ends:
        return None
    return shared_coverage(min(starts) if starts else None, max(ends) if ends else None)


# --------------------------------------------------------------------------------------------------------------------
# legacy JSON


def _from_legacy(data: Mapping[str, Any]) -> ZenodoFields:
    md = _dict(data.get("metadata"), "metadata")
    native_id = _recid(data.get("id", data.get("recid")), "id")
    title = _text(md.get("title", data.get("title")), "metadata.title")
    if title is None:
        raise MappingError("metadata.title", "missing: every Zenodo record has a title")
    links = _dict(data.get("links"), "links")

    identifiers: list[Identifier] = []
    if native_id.isdigit():
        identifiers.append(Identifier(scheme=IdentifierScheme.ZENODO, value=native_id))
    record_doi = _text(data.get("doi") or md.get("doi"), "doi")
    if record_doi:
        identifiers.append(doi(record_doi, "doi"))
    concept_doi = _text(data.get("conceptdoi"), "conceptdoi")
    concept: Identifier | None = None
    if concept_doi:
        concept = doi(concept_doi, "conceptdoi", IdentifierScheme.CONCEPT_DOI)
        identifiers.append(concept)
    else:
        concept_recid = _text(data.get("conceptrecid"), "conceptrecid")
        if concept_recid and concept_recid != native_id:
            concept = Identifier(scheme=IdentifierScheme.ZENODO, value=concept_recid)
    if native_id.isdigit():
        identifiers.append(Identifier(scheme=IdentifierScheme.OAI, value=f"oai:zenodo.org:{native_id}"))
    for number, alternate in enumerate(_list(md.get("alternate_identifiers"), "metadata.alternate_identifiers")):
        where = f"metadata.alternate_identifiers[{number}]"
        item = _dict(alternate, where)
        found = related_identifier(str(item.get("identifier") or ""), _scheme(item.get("scheme"), where, ".scheme"))
        if found is not None:
            identifiers.append(found)

    type_info = _dict(md.get("resource_type"), "metadata.resource_type")
    type_id = _text(type_info.get("type"), "metadata.resource_type.type")
    subtype = _text(type_info.get("subtype"), "metadata.resource_type.subtype")
    if type_id and subtype:
        type_id = f"{type_id}-{subtype}"

    organisations: list[str] = []
    creators = [
        _legacy_agent(c, f"metadata.creators[{n}]", organisations)
        for n, c in enumerate(_list(md.get("creators"), "metadata.creators"))
    ]
    people = _list(md.get("contributors"), "metadata.contributors")
    thesis = _dict(md.get("thesis"), "metadata.thesis")
    people = people + _list(thesis.get("supervisors"), "metadata.thesis.supervisors")
    contributors = [_legacy_agent(c, f"metadata.contributors[{n}]", organisations) for n, c in enumerate(people)]

    imprint = _dict(md.get("imprint"), "metadata.imprint")
    publisher_name = _text(imprint.get("publisher"), "metadata.imprint.publisher") or "Zenodo"

    keywords = [k for k in (_text(k, "metadata.keywords") for k in _list(md.get("keywords"), "metadata.keywords")) if k]
    subjects = []
    for number, subject in enumerate(_list(md.get("subjects"), "metadata.subjects")):
        where = f"metadata.subjects[{number}]"
        item = _dict(subject, where)
        term = _text(item.get("term"), where, ".term")
        identifier = _text(item.get("identifier"), where, ".identifier")
        if term:
            uri = identifier if identifier and identifier.startswith(("http://", "https://")) else None
            subjects.append(shared_concept(uri, term, identifier or term))

    communities = [
        slug
        for n, c in enumerate(_list(md.get("communities"), "metadata.communities"))
        if (slug := _text(_dict(c, f"metadata.communities[{n}]").get("id"), f"metadata.communities[{n}].id"))
    ]

    license_value = md.get("license")
    if isinstance(license_value, dict):
        license_id = _text(license_value.get("id"), "metadata.license.id")
    else:
        license_id = _text(license_value, "metadata.license")
    access = access_rights(_text(md.get("access_right"), "metadata.access_right"), "metadata.access_right")

    pairs = []
    for number, entry in enumerate(_list(md.get("dates"), "metadata.dates")):
        item = _dict(entry, f"metadata.dates[{number}]")
        if str(item.get("type", "")).lower() == "collected":
            where = f"metadata.dates[{number}]"
            start = partial_date(item.get("start"), f"{where}.start")
            pairs.append((start, partial_date(item.get("end"), f"{where}.end")))

    files_url = links.get("files") if isinstance(links.get("files"), str) else None
    distributions = []
    for number, entry in enumerate(_list(data.get("files"), "files")):
        where = f"files[{number}]"
        item = _dict(entry, where)
        name = item.get("filename", item.get("key"))
        file_links = _dict(item.get("links"), where, ".links")
        url = _link(file_links, "download") or _link(file_links, "self")
        if not url and files_url and isinstance(name, str):
            url = f"{files_url}/{name}/content"
        distributions.append(
            distribution(
                where,
                name,
                url=url,
                size=item.get("filesize", item.get("size")),
                checksum=item.get("checksum"),
                given_media_type=None,
                record_type=type_id,
                access=access,
                name_key="filename" if "filename" in item else "key",  # as `name` and `size` are read: for errors
                size_key="filesize" if "filesize" in item else "size",
            )
        )

    relations = Relations()
    for number, entry in enumerate(_list(md.get("related_identifiers"), "metadata.related_identifiers")):
        where = f"metadata.related_identifiers[{number}]"
        item = _dict(entry, where)
        relation = _text(item.get("relation"), where, ".relation") or ""
        scheme = _scheme(item.get("scheme"), where, ".scheme")
        relations.add(relation, related_identifier(str(item.get("identifier") or ""), scheme))
    references = [
        (text, None, None)
        for text in (_text(r, "metadata.references") for r in _list(md.get("references"), "metadata.references"))
        if text
    ]

    description = _text(md.get("description"), "metadata.description")
    return ZenodoValues(
        native_id=native_id,
        title=title,
        identifiers=identifiers,
        concept=concept,
        landing_page=_landing(links, native_id),
        description=html_to_text(description) if description else None,
        type_id=type_id,
        type_title=_text(type_info.get("title"), "metadata.resource_type.title"),
        creators=creators,
        contributors=contributors,
        organisations=organisations,
        publisher=organisation(publisher_name),
        keywords=keywords,
        subjects=subjects,
        communities=communities,
        license=license_for(license_id),
        access=access,
        language=_text(md.get("language"), "metadata.language"),
        version=_text(md.get("version"), "metadata.version"),
        issued=partial_date(md.get("publication_date"), "metadata.publication_date"),
        created=partial_date(data.get("created"), "created"),
        modified=partial_date(
            data.get("modified") or data.get("updated"), "modified" if data.get("modified") else "updated"
        ),
        coverage=_coverage(pairs),
        distributions=distributions,
        relations=relations,
        references=_reference_identifiers(references),
    ).fields()


def _legacy_agent(value: Any, field_name: str, organisations: list[str]) -> Agent:
    item = _dict(value, field_name)
    name = _text(item.get("name"), f"{field_name}.name") or ""
    organised = _ORGANISED.search(name) is not None
    if organised:
        organisations.append(name)
    given, family = (None, None) if organised else split_name(name)
    found = affiliation(_text(item.get("affiliation"), f"{field_name}.affiliation"))
    return agent(
        field_name,
        name,
        kind="organization" if organised else "person",
        given_name=given,
        family_name=family,
        orcid=_text(item.get("orcid"), f"{field_name}.orcid"),
        affiliations=[found] if found else [],
    )


# --------------------------------------------------------------------------------------------------------------------
# InvenioRDM JSON


def _i18n(value: Any) -> str | None:
    """An InvenioRDM vocabulary title: `{"en": ...}` (or a plain string in some dumps)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        text = value.get("en") or next((v for v in value.values() if isinstance(v, str) and v), None)
        return text.strip() if isinstance(text, str) and text.strip() else None
    return None


def _from_rdm(data: Mapping[str, Any]) -> ZenodoFields:
    md = _dict(data.get("metadata"), "metadata")
    native_id = _recid(data.get("id"), "id")
    title = _text(md.get("title"), "metadata.title")
    if title is None:
        raise MappingError("metadata.title", "missing: every Zenodo record has a title")
    links = _dict(data.get("links"), "links")
    pids = _dict(data.get("pids"), "pids")
    parent = _dict(data.get("parent"), "parent")

    identifiers: list[Identifier] = []
    if native_id.isdigit():
        identifiers.append(Identifier(scheme=IdentifierScheme.ZENODO, value=native_id))
    record_doi = _text(_dict(pids.get("doi"), "pids.doi").get("identifier"), "pids.doi.identifier")
    if record_doi:
        identifiers.append(doi(record_doi, "pids.doi.identifier"))
    parent_pids = _dict(parent.get("pids"), "parent.pids")
    concept_doi = _text(
        _dict(parent_pids.get("doi"), "parent.pids.doi").get("identifier"), "parent.pids.doi.identifier"
    )
    concept: Identifier | None = None
    if concept_doi:
        concept = doi(concept_doi, "parent.pids.doi.identifier", IdentifierScheme.CONCEPT_DOI)
        identifiers.append(concept)
    else:
        parent_id = _text(parent.get("id"), "parent.id")
        if parent_id and parent_id.isdigit() and parent_id != native_id:
            concept = Identifier(scheme=IdentifierScheme.ZENODO, value=parent_id)
    oai = _text(_dict(pids.get("oai"), "pids.oai").get("identifier"), "pids.oai.identifier")
    if oai:
        identifiers.append(Identifier(scheme=IdentifierScheme.OAI, value=oai))
    for number, alternate in enumerate(_list(md.get("identifiers"), "metadata.identifiers")):
        where = f"metadata.identifiers[{number}]"
        item = _dict(alternate, where)
        found = related_identifier(str(item.get("identifier") or ""), _scheme(item.get("scheme"), where, ".scheme"))
        if found is not None:
            identifiers.append(found)

    type_info = _dict(md.get("resource_type"), "metadata.resource_type")
    type_id = _text(type_info.get("id"), "metadata.resource_type.id")

    organisations: list[str] = []
    creators = [
        _rdm_agent(c, f"metadata.creators[{n}]", organisations)
        for n, c in enumerate(_list(md.get("creators"), "metadata.creators"))
    ]
    contributors = [
        _rdm_agent(c, f"metadata.contributors[{n}]", organisations)
        for n, c in enumerate(_list(md.get("contributors"), "metadata.contributors"))
    ]
    publisher_name = _text(md.get("publisher"), "metadata.publisher")

    keywords: list[str] = []
    subjects: list[Concept] = []
    for number, subject in enumerate(_list(md.get("subjects"), "metadata.subjects")):
        where = f"metadata.subjects[{number}]"
        item = _dict(subject, where)
        term = _text(item.get("subject"), where, ".subject")
        subject_id = _text(item.get("id"), where, ".id")
        if subject_id:
            uri = subject_id if subject_id.startswith(("http://", "https://")) else None
            subjects.append(shared_concept(uri, term or subject_id, subject_id))
        elif term:
            keywords.append(term)

    communities = _rdm_communities(_dict(parent.get("communities"), "parent.communities"))

    license_value: Concept | None = None
    for number, right in enumerate(_list(md.get("rights"), "metadata.rights")):
        where = f"metadata.rights[{number}]"
        item = _dict(right, where)
        props = _dict(item.get("props"), where, ".props")
        candidate = license_for(
            _text(item.get("id"), where, ".id"),
            _i18n(item.get("title")),
            _text(props.get("url"), where, ".props.url"),
        )
        if candidate is not None and (license_value is None or (candidate.mapped and not license_value.mapped)):
            license_value = candidate
        if license_value is not None and license_value.mapped:
            break
    access_info = _dict(data.get("access"), "access")
    access = access_rights(_text(access_info.get("status"), "access.status"), "access.status")

    languages = _list(md.get("languages"), "metadata.languages")
    first_language = _dict(languages[0], "metadata.languages[0]") if languages else {}
    language = _text(first_language.get("id"), "metadata.languages[0].id")

    pairs = []
    for number, entry in enumerate(_list(md.get("dates"), "metadata.dates")):
        where = f"metadata.dates[{number}]"
        item = _dict(entry, where)
        if _dict(item.get("type"), where, ".type").get("id") == "collected" and item.get("date"):
            pairs.append(date_interval(str(item["date"]), f"{where}.date"))

    files = _dict(data.get("files"), "files")
    entries = _dict(files.get("entries"), "files.entries")
    files_url = links.get("files") if isinstance(links.get("files"), str) else None
    if files_url is None and native_id.isdigit():
        files_url = f"{ZENODO}/api/records/{native_id}/files"
    distributions = []
    for key, entry in entries.items():
        where = f"files.entries[{key!r}]"
        item = _dict(entry, where)
        name = item.get("key", key)
        file_links = _dict(item.get("links"), where, ".links")
        url = _link(file_links, "content") or (f"{files_url}/{name}/content" if files_url else None)
        distributions.append(
            distribution(
                where,
                name,
                url=url,
                size=item.get("size"),
                checksum=item.get("checksum"),
                given_media_type=_text(item.get("mimetype"), where, ".mimetype"),
                record_type=type_id,
                access=access,
            )
        )

    relations = Relations()
    for number, entry in enumerate(_list(md.get("related_identifiers"), "metadata.related_identifiers")):
        where = f"metadata.related_identifiers[{number}]"
        item = _dict(entry, where)
        relation_type = _dict(item.get("relation_type"), where, ".relation_type")
        relation = _text(relation_type.get("id"), where, ".relation_type.id") or ""
        scheme = _scheme(item.get("scheme"), where, ".scheme")
        relations.add(relation, related_identifier(str(item.get("identifier") or ""), scheme))
    references = []
    for number, entry in enumerate(_list(md.get("references"), "metadata.references")):
        where = f"metadata.references[{number}]"
        item = _dict(entry, where)
        text = _text(item.get("reference"), where, ".reference")
        if text:
            given = _text(item.get("identifier"), where, ".identifier")
            references.append((text, given, _text(item.get("scheme"), where, ".scheme")))

    publication = _text(md.get("publication_date"), "metadata.publication_date")
    issued = date_interval(publication, "metadata.publication_date")[0] if publication else None
    description = _text(md.get("description"), "metadata.description")
    return ZenodoValues(
        native_id=native_id,
        title=title,
        identifiers=identifiers,
        concept=concept,
        landing_page=_landing(links, native_id),
        description=html_to_text(description) if description else None,
        type_id=type_id,
        type_title=_i18n(type_info.get("title")),
        creators=creators,
        contributors=contributors,
        organisations=organisations,
        publisher=organisation(publisher_name) if publisher_name else None,
        keywords=keywords,
        subjects=subjects,
        communities=communities,
        license=license_value,
        access=access,
        language=language,
        version=_text(md.get("version"), "metadata.version"),
        issued=issued,
        created=partial_date(data.get("created"), "created"),
        modified=partial_date(data.get("updated"), "updated"),
        coverage=_coverage(pairs),
        distributions=distributions,
        relations=relations,
        references=_reference_identifiers(references),
    ).fields()


def _rdm_communities(communities: Mapping[str, Any]) -> list[str]:
    """Community slugs from `parent.communities.entries` (expanded), else the community ids."""
    slugs = []
    for number, entry in enumerate(_list(communities.get("entries"), "parent.communities.entries")):
        where = f"parent.communities.entries[{number}]"
        item = _dict(entry, where)
        slug = _text(item.get("slug") or item.get("id"), where, ".slug")
        if slug:
            slugs.append(slug)
    if slugs:
        return slugs
    ids = _list(communities.get("ids"), "parent.communities.ids")
    return [i for i in (_text(v, "parent.communities.ids[", f"{n}]") for n, v in enumerate(ids)) if i]


def _rdm_agent(value: Any, field_name: str, organisations: list[str]) -> Agent:
    item = _dict(value, field_name)
    person = _dict(item.get("person_or_org"), field_name, ".person_or_org")
    kind_raw = _text(person.get("type"), field_name, ".person_or_org.type") or "personal"
    organised = kind_raw == "organizational"
    name = _text(person.get("name"), field_name, ".person_or_org.name")
    orcid = ror = None
    for number, entry in enumerate(_list(person.get("identifiers"), field_name, ".person_or_org.identifiers")):
        identifier = _dict(entry, field_name, f".person_or_org.identifiers[{number}]")
        scheme = str(identifier.get("scheme", "")).lower()
        text = _text(identifier.get("identifier"), field_name, f".person_or_org.identifiers[{number}].identifier")
        if scheme == "orcid" and text and orcid is None:
            orcid = text.removeprefix("orcid:")
        elif scheme == "ror" and text and ror is None:
            ror = text
    if organised and name:
        organisations.append(name)
    affiliations = []
    for number, entry in enumerate(_list(item.get("affiliations"), field_name, ".affiliations")):
        place = _dict(entry, field_name, f".affiliations[{number}]")
        found = affiliation(
            _text(place.get("name"), field_name, f".affiliations[{number}].name"),
            _text(place.get("id"), field_name, f".affiliations[{number}].id"),
        )
        if found is not None:
            affiliations.append(found)
    return agent(
        field_name,
        name,
        kind="organization" if organised else "person",
        given_name=None if organised else _text(person.get("given_name"), field_name, ".person_or_org.given_name"),
        family_name=None if organised else _text(person.get("family_name"), field_name, ".person_or_org.family_name"),
        orcid=orcid,
        ror=ror,
        affiliations=affiliations,
        name_suffix=".person_or_org.name",
    )


SHAPE_MEDIA_TYPES: dict[Shape, str] = {
    "legacy": "application/json",
    "rdm": "application/vnd.inveniordm.v1+json",
}
