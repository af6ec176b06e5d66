"""A `Record` as a schema.org `Dataset` in JSON-LD, for record pages and Google Dataset Search.

Follows Google's Dataset guidelines and Science-on-Schema.org (SOSO): identifiers as `PropertyValue`s (DOIs with
the identifiers.org DOI registry as `propertyID`), files as `DataDownload`s with `contentUrl`, `encodingFormat`,
`contentSize` and an SPDX checksum (the SOSO way, hence the `spdx` prefix beside the schema.org context), vocabulary
concepts as text `keywords` (what Google reads) and as `DefinedTerm`s in `about` and `measurementTechnique`,
observables and the energy range in
`variableMeasured`, the source portal as `includedInDataCatalog`.

Google requires a description of 50 to 5000 characters: a missing one is generated and marked, a short one is
extended with a marked context sentence (see `ontology.summary`), a longer one is cut at a word boundary with an
ellipsis. √s, exposure and live time have no schema.org property on a Dataset and are left to the DCAT view.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from ontology.model import Agent, Concept, Distribution, Identifier, IdentifierScheme, Record
from ontology.rdf import iri, timestamp
from ontology.summary import description_at_least
from ontology.units import unit
from ontology.vocabulary import VOCAB_BASE, by_uri

SCHEMA_CONTEXT = "https://schema.org/"
SPDX = "http://spdx.org/rdf/terms#"
CONTEXT: list[Any] = [SCHEMA_CONTEXT, {"spdx": SPDX}]
MEDIA_TYPE = "application/vnd.schemaorg.ld+json"
DESCRIPTION_MIN, DESCRIPTION_MAX = 50, 5000

CATALOGS = {
    "cernopendata": ("CERN Open Data Portal", "https://opendata.cern.ch/"),
    "zenodo": ("Zenodo", "https://zenodo.org/"),
    "hepdata": ("HEPData", "https://www.hepdata.net/"),
    "kcdc": ("KASCADE Cosmic Ray Data Centre (KCDC)", "https://kcdc.iap.kit.edu/"),
}
"""The portal each source kind harvests (a source of unknown kind is named by its name and URL)."""

_PROPERTY_IDS = {
    IdentifierScheme.DOI: "https://registry.identifiers.org/registry/doi",
    IdentifierScheme.CONCEPT_DOI: "https://registry.identifiers.org/registry/doi",
    IdentifierScheme.ARXIV: "https://registry.identifiers.org/registry/arxiv",
    IdentifierScheme.INSPIRE: "https://registry.identifiers.org/registry/inspire",
    IdentifierScheme.HANDLE: "https://registry.identifiers.org/registry/hdl",
    IdentifierScheme.ISBN: "https://registry.identifiers.org/registry/isbn",
}
_PREFIXES = {IdentifierScheme.DOI: "doi:", IdentifierScheme.CONCEPT_DOI: "doi:", IdentifierScheme.ARXIV: "arXiv:"}
_SPDX_ALGORITHMS = {
    "adler32": "checksumAlgorithm_adler32",
    "md5": "checksumAlgorithm_md5",
    "sha1": "checksumAlgorithm_sha1",
    "sha256": "checksumAlgorithm_sha256",
    "sha512": "checksumAlgorithm_sha512",
}
_KEYWORD_FIELDS = ("experiments", "collaboration", "messengers", "targets", "resource_categories", "subjects")


def _iri(text: str) -> str:
    """A URL as an IRI: characters IRIs may not hold (spaces, quotes, braces…) %-encoded, as the RDF view writes it.

    The schema.org context types `url`, `contentUrl`, `sameAs` and `license` as IRIs; a JSON-LD reader resolves a
    value that is no IRI (a space in a release asset's name) as a relative reference, to a different address."""
    return str(iri(text))


def _date(value: str) -> str:
    return timestamp(value) if len(value) > 10 else value


def _identifier(value: Identifier) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "@type": "PropertyValue",
        "propertyID": _PROPERTY_IDS.get(value.scheme, value.scheme.value),
        "value": _PREFIXES.get(value.scheme, "") + value.value,
    }
    uri = value.uri()
    if uri:
        entry["url"] = _iri(uri)
    return entry


def _agent(agent: Agent) -> dict[str, Any]:
    entry: dict[str, Any] = {"@type": "Person" if agent.kind == "person" else "Organization", "name": agent.name}
    if agent.orcid:
        entry["@id"] = entry["identifier"] = f"https://orcid.org/{agent.orcid}"
    elif agent.ror:
        entry["@id"] = entry["identifier"] = _ror(agent.ror)
    if agent.given_name:
        entry["givenName"] = agent.given_name
    if agent.family_name:
        entry["familyName"] = agent.family_name
    affiliations = []
    for affiliation in agent.affiliations:
        org: dict[str, Any] = {"@type": "Organization", "name": affiliation.name}
        if affiliation.ror:
            org["@id"] = org["identifier"] = _ror(affiliation.ror)
        affiliations.append(org)
    if affiliations:
        entry["affiliation"] = affiliations
    return entry


def _ror(value: str) -> str:
    bare = value.strip().removeprefix("https://").removeprefix("http://").removeprefix("ror.org/")
    return f"https://ror.org/{bare}"


def _term(concept: Concept) -> dict[str, Any] | str:
    """A mapped concept as a DefinedTerm of its dmlake scheme; an unmapped one as its text."""
    known = by_uri(concept.uri) if concept.uri else None
    if known is None:
        return concept.label
    return {
        "@type": "DefinedTerm",
        "@id": known.uri,
        "name": known.label,
        "termCode": known.uri.rsplit("/", 1)[1],
        "inDefinedTermSet": VOCAB_BASE + known.scheme,
    }


def _concepts(record: Record) -> list[Concept]:
    concepts = [c for field in _KEYWORD_FIELDS for c in getattr(record, field)]
    concepts += [c for c in (record.data_level, record.accelerator) if c is not None]
    if record.collision is not None and record.collision.type is not None:
        concepts.append(record.collision.type)
    return concepts


def _keywords(record: Record) -> list[str]:
    """Keywords as text (what Google reads): the source's keywords, then the labels of the record's concepts."""
    words = [k.strip() for k in record.keywords if k.strip()]
    for concept in _concepts(record):
        term = _term(concept)
        words.append(term if isinstance(term, str) else term["name"])
    return list(dict.fromkeys(words))


def _about(record: Record) -> list[dict[str, Any]]:
    """The mapped concepts as DefinedTerms, for linked-data readers (SOSO's way to name vocabulary terms)."""
    terms = [t for t in (_term(c) for c in _concepts(record)) if isinstance(t, dict)]
    return list({t["@id"]: t for t in terms}.values())


def _variables(record: Record) -> list[dict[str, Any]]:
    variables: list[dict[str, Any]] = []
    for observable in record.observables:
        entry: dict[str, Any] = {"@type": "PropertyValue", "name": observable.label}
        if observable.uri:
            entry["propertyID"] = observable.uri
        variables.append(entry)
    energy = record.energy_range
    if energy is not None:
        entry = {"@type": "PropertyValue", "name": "energy", "unitText": energy.unit}
        known = unit(energy.unit)
        if known is not None:
            entry["unitText"], entry["unitCode"] = known.symbol, known.iri
        if energy.min is not None:
            entry["minValue"] = energy.min
        if energy.max is not None:
            entry["maxValue"] = energy.max
        variables.append(entry)
    return variables


def _download(file: Distribution) -> dict[str, Any]:
    entry: dict[str, Any] = {"@type": "DataDownload", "name": file.name}
    if file.url:
        entry["contentUrl"] = _iri(file.url)
    page = file.access_url or file.url
    if page and (file.access_url or not file.url):
        entry["url"] = _iri(page)
    if file.description:
        entry["description"] = file.description
    if file.media_type or file.format:
        entry["encodingFormat"] = file.media_type or file.format
    if file.size_bytes is not None:
        entry["contentSize"] = f"{file.size_bytes} B"
    if file.checksum is not None:
        value = file.checksum.value.zfill(8) if file.checksum.algorithm == "adler32" else file.checksum.value
        entry["spdx:checksum"] = {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "spdx:" + _SPDX_ALGORITHMS[file.checksum.algorithm]},
            "spdx:checksumValue": value,
        }
    return {k: v for k, v in entry.items() if v is not None}


def _catalog(record: Record) -> dict[str, Any]:
    provenance = record.provenance
    name, url = CATALOGS.get(provenance.source_kind, (provenance.source, None))
    if url is None and provenance.source_url:
        parts = urlsplit(provenance.source_url)
        url = f"{parts.scheme}://{parts.netloc}/"
    catalog: dict[str, Any] = {"@type": "DataCatalog", "name": name}
    if url:
        catalog["url"] = _iri(url)
    return catalog


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def document(record: Record, context: Any = None) -> dict[str, Any]:
    """The schema.org Dataset of a record as a JSON-LD dict (`context` replaces the schema.org one, e.g. offline)."""
    url = _iri(record.landing_page or record.id)
    doc: dict[str, Any] = {
        "@context": CONTEXT if context is None else context,
        "@type": "Dataset",
        "@id": record.id,
        "name": record.title,
        "description": _truncate(description_at_least(record, DESCRIPTION_MIN), DESCRIPTION_MAX),
        "url": url,
        "identifier": [_identifier(i) for i in record.identifiers] + [record.id],
    }
    same_as = [_iri(u) for u in (i.uri() for i in record.identifiers) if u and _iri(u) != url]
    if url != record.id:
        same_as.append(record.id)
    if same_as:
        doc["sameAs"] = list(dict.fromkeys(same_as))
    if record.version:
        doc["version"] = record.version
    keywords = _keywords(record)
    if keywords:
        doc["keywords"] = keywords
    about = _about(record)
    if about:
        doc["about"] = about
    creators = [_agent(a) for a in record.creators] or [
        {"@type": "Organization", "name": c.label} for c in record.collaboration
    ]
    if creators:
        doc["creator"] = creators
    if record.contributors:
        doc["contributor"] = [_agent(a) for a in record.contributors]
    if record.publisher is not None:
        doc["publisher"] = _agent(record.publisher)
    if record.license is not None:
        doc["license"] = _license(record.license)
    if record.access_rights is not None:
        doc["isAccessibleForFree"] = record.access_rights == "open"
        if record.access_rights != "open":
            doc["conditionsOfAccess"] = record.access_rights
    if record.language:
        doc["inLanguage"] = record.language
    for key, value in (("datePublished", record.issued), ("dateModified", record.modified)):
        if value:
            doc[key] = _date(value)
    if record.created:
        doc["dateCreated"] = _date(record.created)
    coverage = record.temporal_coverage
    if coverage is not None and (coverage.start or coverage.end):
        doc["temporalCoverage"] = f"{_date(coverage.start) if coverage.start else '..'}/" + (
            _date(coverage.end) if coverage.end else ".."
        )
    techniques = [_term(t) for t in record.detection_technique]
    if techniques:
        doc["measurementTechnique"] = techniques
    variables = _variables(record)
    if variables:
        doc["variableMeasured"] = variables
    if record.distributions:
        doc["distribution"] = [_download(d) for d in record.distributions]
    doc["includedInDataCatalog"] = _catalog(record)
    # Related works by IRI, or (no resolver, e.g. a GitLab path) as a CreativeWork carrying the identifier.
    for key, values in (
        ("isPartOf", record.is_part_of),
        ("hasPart", record.has_part),
        ("isBasedOn", record.is_new_version_of),
        ("citation", record.is_supplement_to + record.references),
    ):
        targets = [_related(i) for i in values]
        if targets:
            doc[key] = targets
    return doc


def _license(licence: Concept) -> dict[str, Any] | str:
    """The licence's URI (SPDX) or, for a licence no vocabulary knows, a CreativeWork named as the source names it.

    The schema.org context makes a plain `license` string an IRI: a licence name ("Other (Open)") given as one would
    be read as a relative reference (to the page the JSON-LD is on), which is no licence."""
    if licence.uri:
        return _iri(licence.uri)
    name = licence.label.strip()
    if urlsplit(name).scheme in ("http", "https") and " " not in name:
        return _iri(name)  # an unmapped licence the source gave by its address
    return {"@type": "CreativeWork", "name": name}


def _related(value: Identifier) -> dict[str, Any]:
    uri = value.uri()
    if uri:
        return {"@type": "CreativeWork", "@id": _iri(uri)}
    return {"@type": "CreativeWork", "identifier": _identifier(value)}


def serialize(record: Record, indent: int | None = 2) -> str:
    return json.dumps(document(record), indent=indent, ensure_ascii=False)
