"""One OAI-PMH `<record>` → the canonical `Record`: read the envelope, pick the metadata format, apply the profile.

`map_oai_record(raw, source, connector)` is what `OaiPmhConnector.map_record` calls. It is pure: the payload is the
whole `<record>` element (header, metadata, about) as a standalone XML document, `raw.media_type` names the
repository profile (`application/xml; oai-profile=zenodo`), and the metadata format is recognised from the
namespace of the `<metadata>` child, not from the prefix it was requested with:

* `http://www.openarchives.org/OAI/2.0/oai_dc/`: `oai_dc`, read by `connectors.oai_dc`;
* `http://schema.datacite.org/oai/oai-1.0/` and `…/oai-1.1/`: `oai_datacite`, an envelope around a kernel
  resource, read by `connectors.datacite_xml`;
* `http://datacite.org/schema/kernel-2.1`, `-3`, `-4`: a bare kernel resource (Zenodo's `datacite`, `datacite4`),
  read by `connectors.datacite_xml`.

Profiles add what a repository's conventions imply:

* `generic`: the record as its metadata says; experiments and physics through the vocabularies from keywords
  and organisation names (collaborations), as for every source.
* `zenodo`: the Zenodo REST mapping's derivations (`connectors.zenodo_mapper.ZenodoValues`), so a record reads
  the same whichever way it was harvested: the record id from `oai:zenodo.org:<recid>`, communities from the
  `user-<slug>` set specs (and community URLs among the relations), the concept DOI (the `IsVersionOf` DOI under
  Zenodo's prefix), Zenodo's resource types (from the DataCite general type, OpenAIRE's `info:eu-repo` type or
  the `software`/`openaire_data` sets), licences by Zenodo's ids, the landing page `https://zenodo.org/records/<id>`.
* `cernopendata`: as the REST mapping (`connectors.cernopendata_mapper`) reads the portal's records where the format
  carries the same: recid from the OAI id (`oai:cernopendata.cern:<recid>`, or the configured
  `oai:opendata.cern.ch:recid/<recid>`), the collaboration (the portal's `oai_dc` creator) → collaboration and
  experiment, the primary type (`dc:type`) → DCMI type and resource category, `distribution.formats` (`dc:format`),
  the DOI, and from DataCite the experiments, collision type and √s where given.
* `kcdc`: `connectors.kcdc_oai.map_kcdc_oai_record` (KCDC's description blocks), imported when first needed.

The record's native id is the OAI identifier from the header (what deletions name); its `modified` date is the
metadata's own modification date, else the header datestamp (the last change of the record in the repository).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree
from pydantic import ValidationError

from connectors import xmlsafe
from connectors.base import Connector, MappingError, RawRecord, provenance_for
from connectors.cernopendata_mapper import DCMI_TYPE, PORTAL, RESOURCE_TYPES, parse_energy, parse_energy_span
from connectors.datacite_xml import (
    OAI_DATACITE_NAMESPACES,
    is_kernel_namespace,
    parse_resource,
    unwrap_oai_datacite,
)
from connectors.datacite_xml_values import Described, VocabularyField, describe_datacite
from connectors.oai_dc import OAI_DC_NAMESPACE, describe_dublin_core, parse_dublin_core
from connectors.oaipmh_protocol import header_fields
from connectors.zenodo_fields import (
    ZENODO,
    ExperimentSignals,
    Relations,
    detect_experiments,
    doi,
    physics,
    resource_categories,
    unique_identifiers,
)
from connectors.zenodo_mapper import ZenodoValues
from ontology import Concept, Identifier, IdentifierScheme, Record, record_id
from ontology.model import Collision, EnergyRange, Quantity
from ontology.vocabulary import by_uri, concept, experiment_physics, from_uri, lookup

OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/"
PROFILES = ("generic", "zenodo", "cernopendata", "kcdc")
_OAI = f"{{{OAI_NAMESPACE}}}"


# --------------------------------------------------------------------------------------------------------------------
# the envelope


@dataclass(frozen=True)
class OaiRecord:
    """An OAI-PMH `<record>`: its header, its metadata element (None for a deleted record) and its `<about>`s."""

    identifier: str
    datestamp: str | None
    set_specs: tuple[str, ...]
    deleted: bool
    metadata: etree._Element | None
    about: tuple[etree._Element, ...] = ()

    @property
    def metadata_namespace(self) -> str | None:
        return etree.QName(self.metadata).namespace if self.metadata is not None else None


def _parse_xml(data: bytes, what: str) -> etree._Element:
    try:
        return xmlsafe.parse_xml(data, what)
    except xmlsafe.XmlError as error:
        raise MappingError("payload", str(error)) from None


_OAI_PMH = f"{_OAI}OAI-PMH"
_RECORD = f"{_OAI}record"
_HEADER = f"{_OAI}header"
_METADATA = f"{_OAI}metadata"
_ABOUT = f"{_OAI}about"


def parse_oai_record(payload: bytes) -> OaiRecord:
    """Read one `<record>` (a whole GetRecord response with one record is accepted too)."""
    root = _parse_xml(payload, "the OAI-PMH record")
    if root.tag == _OAI_PMH:
        found = root.findall(f".//{_RECORD}")
        if len(found) != 1:
            raise MappingError("record", f"expected one <record> in the OAI-PMH response, found {len(found)}")
        root = found[0]
    if root.tag != _RECORD:
        raise MappingError("record", f"expected an OAI-PMH <record> element, got <{etree.QName(root).localname}>")
    # one pass over the record's and the header's children (a `find` per part costs more than the whole pass);
    # the first header, metadata, identifier and datestamp count, as `find` would take them
    header = metadata_wrapper = None
    about_wrappers = []
    for child in root:
        tag = child.tag
        if tag == _HEADER:
            header = child if header is None else header
        elif tag == _METADATA:
            metadata_wrapper = child if metadata_wrapper is None else metadata_wrapper
        elif tag == _ABOUT:
            about_wrappers.append(child)
    if header is None:
        raise MappingError("header", "missing: an OAI-PMH record starts with a <header>")
    identifier, datestamp, sets = header_fields(header)
    if not identifier:
        raise MappingError("header.identifier", "missing: every OAI-PMH record has an identifier")
    metadata = None
    if metadata_wrapper is not None:
        children = [c for c in metadata_wrapper if isinstance(c.tag, str)]
        if len(children) > 1:
            raise MappingError("metadata", f"expected one metadata element, found {len(children)}")
        metadata = children[0] if children else None
    about = tuple(c for a in about_wrappers for c in a if isinstance(c.tag, str))
    return OaiRecord(
        identifier=identifier,
        datestamp=datestamp or None,
        set_specs=sets,
        deleted=header.get("status") == "deleted",
        metadata=metadata,
        about=about,
    )


_PROFILE_PARAMETER = re.compile(r";\s*oai-profile\s*=\s*\"?([\w\-]+)\"?", re.IGNORECASE)


@lru_cache(maxsize=256)  # a source's records all have the same media type
def profile_of(media_type: str) -> str:
    """The profile named in `application/xml; oai-profile=<profile>` (`generic` when none is named)."""
    match = _PROFILE_PARAMETER.search(media_type or "")
    profile = match.group(1).lower() if match else "generic"
    if profile not in PROFILES:
        raise MappingError("media_type", f"unknown OAI profile {profile!r}; known: {', '.join(PROFILES)}")
    return profile


def describe(record: OaiRecord) -> Described:
    """The metadata of a record, read by the reader of its format."""
    if record.metadata is None:
        raise MappingError("metadata", "missing: the record has no metadata (a deleted record is not mapped)")
    namespace = record.metadata_namespace
    if namespace == OAI_DC_NAMESPACE:
        return describe_dublin_core(parse_dublin_core(record.metadata))
    if namespace in OAI_DATACITE_NAMESPACES:
        return describe_datacite(parse_resource(unwrap_oai_datacite(record.metadata).resource))
    if is_kernel_namespace(namespace):
        return describe_datacite(parse_resource(record.metadata))
    local = etree.QName(record.metadata).localname
    raise MappingError(
        "metadata", f"unsupported metadata format <{local}> in {namespace}: dmlake reads oai_dc, oai_datacite, datacite"
    )


# --------------------------------------------------------------------------------------------------------------------
# the entry point


def map_oai_record(raw: RawRecord, source: str, connector: type[Connector]) -> Record:
    """Map one harvested OAI-PMH record (see the module documentation)."""
    profile = profile_of(raw.media_type)
    if profile == "kcdc":
        kcdc = importlib.import_module("connectors.kcdc_oai")
        return kcdc.map_kcdc_oai_record(raw, source, connector)
    record = parse_oai_record(raw.payload)
    if raw.native_id and raw.native_id != record.identifier:
        raise MappingError("header.identifier", f"the payload is {record.identifier}, listed as {raw.native_id}")
    if record.deleted:
        raise MappingError("header.status", f"{record.identifier} is deleted: a deletion, not a record to map")
    described = describe(record)
    values = _PROFILE_VALUES[profile](described, record)
    try:
        return Record(
            id=record_id(source, record.identifier),
            source=source,
            native_id=record.identifier,
            provenance=provenance_for(connector, raw, source),
            **values,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        if where == "modified" and not described.modified:
            where = "header.datestamp"  # read unchecked into `modified` when the metadata has no date of change
        message = str(first.get("msg")).removeprefix("Value error, ")
        raise MappingError(where, f"{record.identifier}: {message}") from None


# --------------------------------------------------------------------------------------------------------------------
# generic profile

_DCMI_TYPES = {
    t.lower(): t
    for t in (
        "Collection", "Dataset", "Event", "Image", "InteractiveResource", "MovingImage", "PhysicalObject",
        "Service", "Software", "Sound", "StillImage", "Text",
    )
}  # fmt: skip
_DATACITE_TO_DCMI = {
    "audiovisual": "MovingImage",
    "book": "Text",
    "bookchapter": "Text",
    "computationalnotebook": "Software",
    "conferencepaper": "Text",
    "conferenceproceeding": "Text",
    "datapaper": "Text",
    "dissertation": "Text",
    "journal": "Text",
    "journalarticle": "Text",
    "preprint": "Text",
    "report": "Text",
    "standard": "Text",
    "outputmanagementplan": "Text",
    "peerreview": "Text",
    "instrument": "PhysicalObject",
}
_EU_REPO_TYPE = re.compile(r"^info:eu-repo/semantics/(\w+)$", re.IGNORECASE)
_DCMI_URI = re.compile(r"^https?://purl\.org/dc/dcmitype/(\w+)$", re.IGNORECASE)


def resource_type_concept(general: str | None, text: str | None) -> Concept | None:
    """A DataCite general type (or a Dublin Core type: a DCMI name or URI, an OpenAIRE `info:eu-repo` type) as a
    DCMI Type concept where one fits; the source's own type kept in `raw` (`Dataset/Reconstructed events`)."""
    if not general and not text:
        return None
    term = (general or text or "").strip()
    match = _EU_REPO_TYPE.match(term) or _DCMI_URI.match(term)
    local = match.group(1) if match else term
    key = local.lower()
    dcmi = _DCMI_TYPES.get(key) or _DATACITE_TO_DCMI.get(key)
    if dcmi is None and match is not None and key in ("article", "book", "bookpart", "report", "preprint", "lecture"):
        dcmi = "Text"
    raw = f"{term}/{text}" if general and text else term
    return Concept(uri=f"{DCMI_TYPE}{dcmi}" if dcmi else None, label=local, raw=raw)


def _merge(*groups: list[Concept]) -> list[Concept]:
    out: dict[str, Concept] = {}
    for group in groups:
        for item in group:
            out.setdefault(item.uri or f"raw:{item.label}", item)
    return list(out.values())


def _single(described: Described, name: VocabularyField) -> Concept | None:
    found = described.vocabulary.get(name, [])
    return found[0] if len(found) == 1 else None


def _identifiers(described: Described, record: OaiRecord, *first: Identifier) -> list[Identifier]:
    oai = Identifier(scheme=IdentifierScheme.OAI, value=record.identifier)
    return unique_identifiers([*first, *described.identifiers, oai, *described.relations.get("identifiers")])


def generic_values(described: Described, record: OaiRecord) -> dict[str, Any]:
    """`Record` fields from the metadata alone."""
    found, collaborations = detect_experiments(ExperimentSignals(described.keywords, (), described.organisations))
    experiments = _merge(described.vocabulary.get("experiments", []), found)
    known = physics(experiments, described.keywords)
    type_id = (described.type_general or "").lower() or None
    categories = resource_categories(type_id, described.keywords)
    if described.type_text:
        category = lookup("resource-category", described.type_text)
        if category is not None:
            categories.append(Concept(uri=category.uri, label=category.label, raw=described.type_text))
    relations = described.relations
    collision_type = _single(described, "collision_type")
    return {
        "identifiers": _identifiers(described, record),
        "version": described.version,
        "is_version_of": relations.get("is_version_of"),
        "landing_page": described.landing_page,
        "title": described.title,
        "description": described.full_description(),
        "resource_type": resource_type_concept(described.type_general, described.type_text),
        "creators": described.creators,
        "contributors": described.contributors,
        "collaboration": _merge(described.vocabulary.get("collaboration", []), collaborations),
        "experiments": experiments,
        "accelerator": _single(described, "accelerator") or known.accelerator,
        "publisher": described.publisher,
        "keywords": described.keywords,
        "subjects": described.subjects,
        "license": described.license,
        "access_rights": described.access,
        "language": described.language,
        "issued": described.issued,
        "created": described.created,
        "modified": described.modified or record.datestamp,
        "temporal_coverage": described.coverage,
        "messengers": _merge(described.vocabulary.get("messengers", []), known.messengers),
        "detection_technique": _merge(described.vocabulary.get("detection_technique", []), known.techniques),
        "targets": _merge(described.vocabulary.get("targets", []), known.targets),
        "data_level": _single(described, "data_level"),
        "resource_categories": _merge(described.vocabulary.get("resource_categories", []), categories),
        "collision": Collision(type=collision_type) if collision_type else None,
        "size_bytes": described.size_bytes,
        "formats": described.formats,
        "is_part_of": relations.get("is_part_of"),
        "has_part": relations.get("has_part"),
        "is_supplement_to": relations.get("is_supplement_to"),
        "references": relations.get("references"),
        "is_new_version_of": relations.get("is_new_version_of"),
        "related_links": list(dict.fromkeys([*relations.links, *described.links])),
    }


# --------------------------------------------------------------------------------------------------------------------
# Zenodo profile

_ZENODO_OAI_ID = re.compile(r"^oai:zenodo\.org:(?:recid/)?(\d+)$")
_ZENODO_COMMUNITY = re.compile(r"^https?://(?:www\.)?zenodo\.org/communities/([^/?#\s]+)/?$", re.IGNORECASE)
_ZENODO_CONCEPT = re.compile(r"^10\.5281/zenodo\.(\d+)$", re.IGNORECASE)
ZENODO_TYPES_BY_GENERAL = {
    "dataset": "dataset",
    "software": "software",
    "computationalnotebook": "software",
    "text": "publication",
    "journalarticle": "publication-article",
    "preprint": "publication-preprint",
    "conferencepaper": "publication-conferencepaper",
    "conferenceproceeding": "publication-conferenceproceeding",
    "book": "publication-book",
    "bookchapter": "publication-section",
    "report": "publication-report",
    "dissertation": "publication-thesis",
    "datapaper": "publication-datapaper",
    "standard": "publication-standard",
    "outputmanagementplan": "publication-datamanagementplan",
    "peerreview": "publication-peerreview",
    "image": "image",
    "audiovisual": "video",
    "model": "model",
    "workflow": "workflow",
    "physicalobject": "physicalobject",
    "event": "event",
    "other": "other",
}
"""DataCite general types → Zenodo resource types (the inverse of Zenodo's DataCite serialisation where it is one
to one; `Text` is every other publication type, read as the generic `publication`)."""
ZENODO_TYPES_BY_EU_REPO = {
    "article": "publication-article",
    "preprint": "publication-preprint",
    "conferencepaper": "publication-conferencepaper",
    "conferenceproceedings": "publication-conferenceproceeding",
    "conferenceposter": "poster",
    "lecture": "presentation",
    "book": "publication-book",
    "bookpart": "publication-section",
    "report": "publication-report",
    "technicaldocumentation": "publication-technicalnote",
    "doctoralthesis": "publication-thesis",
    "masterthesis": "publication-thesis",
    "bachelorthesis": "publication-thesis",
    "workingpaper": "publication-workingpaper",
    "patent": "publication-patent",
    "review": "publication-review",
    "annotation": "publication-annotationcollection",
    "dataset": "dataset",
    "software": "software",
}
"""OpenAIRE `info:eu-repo/semantics/*` types (Zenodo's `dc:type`) → Zenodo resource types. `other` (which Zenodo
writes for datasets, software, images and more) says nothing and is left to the set specs."""
ZENODO_TYPES_BY_SET = {"software": "software", "openaire_data": "dataset"}
ZENODO_TYPE_TITLES = {
    "dataset": "Dataset", "software": "Software", "publication": "Publication", "publication-article":
    "Journal article", "publication-preprint": "Preprint", "publication-conferencepaper": "Conference paper",
    "publication-conferenceproceeding": "Conference proceeding", "publication-book": "Book",
    "publication-section": "Book section", "publication-report": "Report", "publication-thesis": "Thesis",
    "publication-technicalnote": "Technical note", "image": "Image", "video": "Video/Audio", "poster": "Poster",
    "presentation": "Presentation", "model": "Model", "workflow": "Workflow", "other": "Other",
}  # fmt: skip


def zenodo_type(described: Described, record: OaiRecord) -> str | None:
    if described.type_general:
        match = _EU_REPO_TYPE.match(described.type_general)
        if match is None:
            found = ZENODO_TYPES_BY_GENERAL.get(described.type_general.strip().lower())
            if found:
                return found
        else:
            found = ZENODO_TYPES_BY_EU_REPO.get(match.group(1).lower())
            if found:
                return found
    for spec in record.set_specs:
        if spec in ZENODO_TYPES_BY_SET:
            return ZENODO_TYPES_BY_SET[spec]
    return None


def zenodo_values(described: Described, record: OaiRecord) -> dict[str, Any]:
    """`Record` fields as the Zenodo REST mapping derives them (`ZenodoValues.fields()`)."""
    match = _ZENODO_OAI_ID.match(record.identifier)
    if match is None:
        raise MappingError("header.identifier", f"{record.identifier!r} is not a Zenodo OAI id (oai:zenodo.org:<id>)")
    recid = match.group(1)
    communities = [spec.removeprefix("user-") for spec in record.set_specs if spec.startswith("user-")]
    relations, found_communities, concept = _zenodo_relations(described.relations, recid)
    communities = list(dict.fromkeys([*communities, *found_communities]))
    identifiers = [Identifier(scheme=IdentifierScheme.ZENODO, value=recid)]
    identifiers += [i for i in described.identifiers if i.scheme != IdentifierScheme.OAI]
    if concept is not None:
        identifiers.append(concept)
    identifiers.append(Identifier(scheme=IdentifierScheme.OAI, value=record.identifier))
    type_id = zenodo_type(described, record)
    values = ZenodoValues(
        native_id=recid,
        title=described.title,
        identifiers=unique_identifiers(identifiers),
        concept=concept,
        landing_page=f"{ZENODO}/records/{recid}",
        description=described.full_description(),
        type_id=type_id,
        type_title=described.type_text or (ZENODO_TYPE_TITLES.get(type_id) if type_id else None),
        creators=described.creators,
        contributors=described.contributors,
        organisations=described.organisations,
        publisher=described.publisher,
        keywords=described.keywords,
        subjects=described.subjects,
        communities=communities,
        license=described.license,
        access=described.access,
        language=described.language,
        version=described.version,
        issued=described.issued,
        created=described.created,
        modified=described.modified or record.datestamp,
        coverage=described.coverage,
        distributions=[],
        relations=relations,
        references=[],
    ).fields()
    fields = values.values
    fields["size_bytes"] = described.size_bytes
    fields["formats"] = described.formats
    fields["related_links"] = list(dict.fromkeys([*fields["related_links"], *described.links]))
    return fields


def _zenodo_relations(relations: Relations, recid: str) -> tuple[Relations, list[str], Identifier | None]:
    """Community URLs out of the relations (they are the communities), and the concept DOI out of `IsVersionOf`."""
    communities: list[str] = []
    kept = Relations()
    concept: Identifier | None = None
    for name, targets in relations.fields.items():
        for target in targets:
            slug = _community(target)
            if slug is not None:
                communities.append(slug)
                continue
            if name == "is_version_of" and concept is None and target.scheme == IdentifierScheme.DOI:
                match = _ZENODO_CONCEPT.match(target.value)
                if match and match.group(1) != recid:
                    concept = doi(target.value, "relatedIdentifier[IsVersionOf]", IdentifierScheme.CONCEPT_DOI)
                    continue
            kept.fields.setdefault(name, []).append(target)
    for link in relations.links:
        # what `_community` reads of a URL identifier of the link (its value is the link, trimmed)
        match = _ZENODO_COMMUNITY.match(link.strip())
        slug = match.group(1) if match else None
        if slug is not None:
            communities.append(slug)
        else:
            kept.links.append(link)
    return kept, communities, concept


def _community(target: Identifier) -> str | None:
    if target.scheme != IdentifierScheme.URL:
        return None
    match = _ZENODO_COMMUNITY.match(target.value)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------------------------------
# CERN Open Data profile

_CERN_OAI_ID = re.compile(r"^oai:[\w.\-]+:(?:recid/)?(\d+)$")
_SQRT_S = re.compile(r"√s\s*=\s*(?P<energy>\d+(?:\.\d+)?\s*(?:TeV|GeV|MeV|keV|eV))", re.IGNORECASE)
_ENERGIES = re.compile(r"energies\s+(?P<span>\d+(?:\.\d+)?\s*[–-]\s*\d+(?:\.\d+)?\s*(?:TeV|GeV|MeV|keV|eV))")
_EVENTS = re.compile(r"(?<![\w.])(?P<count>\d{1,3}(?:,\d{3})*|\d+) events\b")


def cern_values(described: Described, record: OaiRecord) -> dict[str, Any]:
    """`Record` fields as the CERN REST mapping reads the same facts."""
    match = _CERN_OAI_ID.match(record.identifier)
    if match is None:
        raise MappingError(
            "header.identifier", f"{record.identifier!r} is not a CERN Open Data OAI id (oai:cernopendata.cern:<recid>)"
        )
    recid = match.group(1)
    values = generic_values(described, record)
    recid_identifier = Identifier(scheme=IdentifierScheme.CERN_RECID, value=recid)
    values["identifiers"] = _identifiers(described, record, recid_identifier)
    values["landing_page"] = values["landing_page"] or f"{PORTAL}/record/{recid}"
    values["description"] = described.description

    # the portal's oai_dc creator is the collaboration (an institute, for some outreach records), so every oai_dc
    # creator is one, known experiment or not; its DataCite creators may be people as well as the collaboration
    names = described.organisations
    if record.metadata_namespace == OAI_DC_NAMESPACE:
        names = list(dict.fromkeys([*names, *(creator.name for creator in described.creators)]))
    collaboration = [concept("experiment", name) for name in names]
    experiments = _merge(
        described.vocabulary.get("experiments", []), [c for c in collaboration if c.uri], values["experiments"]
    )
    known = experiment_physics(experiments)
    values["collaboration"] = _merge(described.vocabulary.get("collaboration", []), collaboration)
    values["experiments"] = experiments
    values["messengers"] = _merge(values["messengers"], known.messengers)
    values["detection_technique"] = _merge(values["detection_technique"], known.techniques)
    values["targets"] = _merge(values["targets"], known.targets)
    values["accelerator"] = _single(described, "accelerator") or _inferred_accelerator(experiments)
    values["access_rights"] = described.access or "open"  # every record of the portal is open data

    primary, secondary = _cern_type(described)
    if primary is not None:
        dcmi = RESOURCE_TYPES.get(primary)
        raw = f"{primary}/{secondary}" if secondary else primary
        values["resource_type"] = Concept(uri=f"{DCMI_TYPE}{dcmi}" if dcmi else None, label=dcmi or primary, raw=raw)
        values["resource_categories"] = _merge(
            described.vocabulary.get("resource_categories", []), _cern_categories(primary, secondary)
        )
    collision, energy_range, events = _cern_physics(described)
    values["collision"] = collision or values["collision"]
    values["energy_range"] = energy_range
    values["number_of_events"] = events
    return values


def _inferred_accelerator(experiments: list[Concept]) -> Concept | None:
    inferred = {found.accelerator for e in experiments if e.uri and (found := by_uri(e.uri)) and found.accelerator}
    if len(inferred) != 1:
        return None
    (uri,) = inferred
    return from_uri(uri, raw=f"from experiment {', '.join(e.label for e in experiments)}")


def _cern_type(described: Described) -> tuple[str | None, str | None]:
    """`dc:type` is the portal's primary type; DataCite carries it as the general type and the secondary as text."""
    general = (described.type_general or "").strip()
    if not general:
        return None, None
    primary = next((p for p in RESOURCE_TYPES if p.lower() == general.lower()), general)
    return primary, described.type_text


def _cern_categories(primary: str, secondary: str | None) -> list[Concept]:
    found: dict[str, Concept] = {}
    for raw in [s.strip() for s in (secondary or "").split("+") if s.strip()]:
        known = lookup("resource-category", raw)
        if known is not None and known.uri not in found:
            found[known.uri] = Concept(uri=known.uri, label=known.label, raw=f"{primary}/{raw}")
    if primary != "Dataset" or not found:
        mapped = concept("resource-category", primary)
        found.setdefault(mapped.uri or f"raw:{primary}", mapped)
    return list(found.values())


def _cern_physics(described: Described) -> tuple[Collision | None, EnergyRange | None, int | None]:
    """Collision type (a vocabulary subject), √s, an energy span and the event count from the technical info."""
    collision_type = _single(described, "collision_type")
    sqrt_s: Quantity | None = None
    energy_range: EnergyRange | None = None
    events: int | None = None
    for number, text in enumerate(described.technical_info):
        where = f"resource.descriptions[TechnicalInfo][{number}]"
        match = _SQRT_S.search(text)
        if match and sqrt_s is None:
            try:
                sqrt_s = parse_energy(match.group("energy").replace(" ", ""))
            except ValueError as error:
                raise MappingError(where, str(error)) from None
        match = _ENERGIES.search(text)
        if match and energy_range is None:
            try:
                energy_range = parse_energy_span(match.group("span").replace("–", "-").replace(" ", ""))
            except ValueError as error:
                raise MappingError(where, str(error)) from None
        match = _EVENTS.search(text)
        if match and events is None:
            events = int(match.group("count").replace(",", ""))
    collision = Collision(type=collision_type, sqrt_s=sqrt_s) if collision_type or sqrt_s else None
    return collision, energy_range, events


_PROFILE_VALUES: dict[str, Callable[[Described, OaiRecord], dict[str, Any]]] = {
    "generic": generic_values,
    "zenodo": zenodo_values,
    "cernopendata": cern_values,
}
