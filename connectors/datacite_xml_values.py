"""What an OAI record describes, as model values, whatever metadata format carried it.

`Described` is the meeting point of the format readers (DataCite XML here, Dublin Core in `connectors.oai_dc`) and
the profiles (`connectors.oai_metadata`): the readers fill it from their format, the profiles (generic, Zenodo, CERN
Open Data) turn it into `Record` fields. The value helpers here are shared by both formats so a licence, an access
right, a creator or an HTML abstract means the same whichever format it came in. Where the Zenodo REST mapping has
the helper already (`connectors.zenodo_fields`), it is called, not copied.

Choices where DataCite and the model do not line up one to one:

* **Licence.** The first rights entry that names an SPDX licence, by `rightsIdentifier` (any scheme; Zenodo writes
  lower-case SPDX-like ids), by `rightsURI` (Creative Commons, opensource.org, apache.org, gnu.org, Open Data
  Commons and spdx.org URLs) or by its name ("Creative Commons Attribution 4.0 International", "MIT License");
  else the first rights entry that is not an access right, unmapped. `info:eu-repo/semantics/*Access` URIs are the
  access rights.
* **Dates.** `Issued` (else `publicationYear`) → issued, `Created` → created, `Updated` → modified, `Collected`
  (a date or an RKMS-ISO 8601 interval `start/end`) → temporal coverage. The other date types have no model field.
* **Sizes and formats.** The first size that is a number of bytes (`6155 MB`, `13.6 MB`, `285 kb`, `2 GiB`) →
  `size_bytes` (decimal prefixes are powers of 1000, binary ones of 1024); formats as written.
* **Subjects.** A subject whose `valueURI` is a concept of dmlake's vocabularies (as dmlake's own DataCite export
  writes them) goes to that concept's field; a subject with a scheme or a value URI is a subject concept; a bare
  subject is a keyword (Zenodo writes its free keywords so).
* **Funding.** The model has no funding field: award URIs become `related_links`; funder names and award numbers
  are kept in the parsed `DataCiteResource` only. **Geo locations** have no model field either (`sky_coverage` is
  for celestial coverage) and are likewise kept only in the parsed resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from connectors.base import MappingError
from connectors.datacite_xml import DataCiteResource, Description, Name
from connectors.markup import collapse_whitespace, unescape_html
from connectors.zenodo_fields import (
    AccessRights,
    Relations,
    affiliation,
    agent,
    date_interval,
    doi,
    html_to_text,
    license_for,
    organisation,
    related_identifier,
    shared_concept,
    shared_coverage,
    split_name,
    unique_identifiers,
)
from ontology import Agent, Concept, Identifier, IdentifierScheme, TemporalCoverage
from ontology.model import Affiliation
from ontology.vocabulary import by_uri, license_concept

VocabularyField = Literal[
    "experiments", "messengers", "detection_technique", "targets", "data_level", "resource_categories",
    "collaboration", "accelerator", "collision_type",
]  # fmt: skip
_VOCABULARY_FIELDS: dict[str, VocabularyField] = {
    "experiment": "experiments",
    "messenger": "messengers",
    "technique": "detection_technique",
    "target": "targets",
    "data-level": "data_level",
    "resource-category": "resource_categories",
    "accelerator": "accelerator",
    "collision-type": "collision_type",
}


@dataclass
class Described:
    """The model values one OAI record gives, before a profile adds what its repository implies."""

    title: str
    identifiers: list[Identifier] = field(default_factory=list)
    description: str | None = None
    type_general: str | None = None
    """The DataCite `resourceTypeGeneral` (or the Dublin Core type, as written)."""
    type_text: str | None = None
    creators: list[Agent] = field(default_factory=list)
    contributors: list[Agent] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    """Names of organisations among creators and contributors: collaborations name experiments."""
    publisher: Agent | None = None
    keywords: list[str] = field(default_factory=list)
    subjects: list[Concept] = field(default_factory=list)
    vocabulary: dict[VocabularyField, list[Concept]] = field(default_factory=dict)
    license: Concept | None = None
    access: AccessRights | None = None
    language: str | None = None
    version: str | None = None
    issued: str | None = None
    created: str | None = None
    modified: str | None = None
    coverage: TemporalCoverage | None = None
    relations: Relations = field(default_factory=Relations)
    size_bytes: int | None = None
    formats: list[str] = field(default_factory=list)
    landing_page: str | None = None
    links: list[str] = field(default_factory=list)
    """Related links that are no relation (award pages, `dc:source` URLs)."""
    technical_info: list[str] = field(default_factory=list)
    """DataCite `TechnicalInfo` descriptions, kept apart: a profile may read physics facts from them."""

    def full_description(self) -> str | None:
        """The description with the technical information appended under its heading."""
        parts = [p for p in (self.description, *(f"Technical information:\n{t}" for t in self.technical_info)) if p]
        return "\n\n".join(parts) or None


# --------------------------------------------------------------------------------------------------------------------
# text

_ESCAPED_MARKUP = re.compile(r"&lt;/?[a-zA-Z][a-zA-Z0-9]*[\s\S]*?&gt;")
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*)+")


def plain_text(text: str) -> str:
    """An abstract as plain text: HTML (also HTML escaped once more, as Zenodo's `oai_dc` sends it) → text;
    plain text keeps its paragraphs (runs of blank lines become one), each line's spaces collapsed."""
    if _ESCAPED_MARKUP.search(text):
        text = unescape_html(text)
    if _MARKUP.search(text):
        return html_to_text(text)
    lines = [collapse_whitespace(line).strip() for line in text.strip().split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------------------------------------------------
# licences and access rights

_ACCESS_URIS: dict[str, AccessRights] = {
    "openaccess": "open",
    "embargoedaccess": "embargoed",
    "restrictedaccess": "restricted",
    "closedaccess": "closed",
    "metadataonlyaccess": "closed",
}
_EU_REPO_ACCESS = re.compile(r"^info:eu-repo/semantics/(\w+)$", re.IGNORECASE)
_COAR_ACCESS = {
    "c_abf2": "open",
    "c_f1cf": "embargoed",
    "c_16ec": "restricted",
    "c_14cb": "closed",
}
_COAR_ACCESS_URI = re.compile(r"^https?://purl\.org/coar/access_right/(c_[0-9a-f]{4})/?$", re.IGNORECASE)


# The three readers of rights statements below are pure functions of a string that returns a string, and a
# repository writes the same few statements on every record: cached (a licence `Concept` is built per record).
@lru_cache(maxsize=4096)
def access_right(value: str | None) -> AccessRights | None:
    """`info:eu-repo/semantics/openAccess` (OpenAIRE) or a COAR access-right URI → an access right; else None."""
    if not value:
        return None
    text = value.strip()
    match = _EU_REPO_ACCESS.match(text)
    if match:
        return _ACCESS_URIS.get(match.group(1).lower())
    match = _COAR_ACCESS_URI.match(text)
    if match:
        return _COAR_ACCESS.get(match.group(1).lower())  # type: ignore[return-value]
    return None


_CC_URL = re.compile(
    r"^https?://(www\.)?creativecommons\.org/licenses/(?P<kind>[a-z\-]+)/(?P<version>\d\.\d)(/[a-z]{2,3})?(/|/legalcode.*|/deed.*)?$",
    re.IGNORECASE,
)
_CC0_URL = re.compile(r"^https?://(www\.)?creativecommons\.org/publicdomain/zero/1\.0", re.IGNORECASE)
_LICENSE_URLS = (
    (re.compile(r"^https?://(www\.)?opensource\.org/licenses?/(?P<id>[A-Za-z0-9.\-]+?)(\.php|\.html)?/?$"), None),
    (re.compile(r"^https?://(www\.)?apache\.org/licenses/LICENSE-2\.0(\.html|\.txt)?/?$", re.IGNORECASE), "Apache-2.0"),
    (re.compile(r"^https?://(www\.)?gnu\.org/licenses/gpl-3\.0", re.IGNORECASE), "GPL-3.0-only"),
    (re.compile(r"^https?://(www\.)?gnu\.org/licenses/(old-licenses/)?gpl-2\.0", re.IGNORECASE), "GPL-2.0-only"),
    (re.compile(r"^https?://(www\.)?gnu\.org/licenses/lgpl-3\.0", re.IGNORECASE), "LGPL-3.0-only"),
    (re.compile(r"^https?://(www\.)?gnu\.org/licenses/agpl-3\.0", re.IGNORECASE), "AGPL-3.0-only"),
    (re.compile(r"^https?://(www\.)?opendatacommons\.org/licenses/odbl", re.IGNORECASE), "ODbL-1.0"),
    (re.compile(r"^https?://(www\.)?opendatacommons\.org/licenses/pddl", re.IGNORECASE), "PDDL-1.0"),
    (re.compile(r"^https?://(www\.)?opendatacommons\.org/licenses/by", re.IGNORECASE), "ODC-By-1.0"),
    (re.compile(r"^https?://(www\.)?mit-license\.org", re.IGNORECASE), "MIT"),
    (re.compile(r"^https?://spdx\.org/licenses/(?P<id>[A-Za-z0-9.\-+]+?)(\.html|\.json)?$"), None),
)
_CC_NAME = re.compile(
    r"^creative\s+commons\s+attribution(?P<nc>[\s\-]+non[\s\-]*commercial)?"
    r"(?P<variant>[\s\-]+(share[\s\-]*alike|no[\s\-]*derivatives?))?[\s\-]+(?P<version>\d\.\d)\b",
    re.IGNORECASE,
)
_CC0_NAME = re.compile(r"^creative\s+commons\s+zero\b|^cc0\b|^cc\s+zero\b", re.IGNORECASE)
_LICENSE_WORD = re.compile(r"\s+licen[cs]e\s*$|^the\s+", re.IGNORECASE)


@lru_cache(maxsize=4096)
def spdx_from_uri(uri: str) -> str | None:
    """The SPDX id a licence URL stands for, where the URL says it unambiguously."""
    text = uri.strip()
    match = _CC_URL.match(text)
    if match:
        kind = match.group("kind").upper()
        return f"CC-{kind}-{match.group('version')}"
    if _CC0_URL.match(text):
        return "CC0-1.0"
    for pattern, spdx in _LICENSE_URLS:
        found = pattern.match(text)
        if found:
            return spdx or found.group("id")
    return None


@lru_cache(maxsize=4096)
def spdx_from_name(name: str) -> str | None:
    """The SPDX id of a licence name ("Creative Commons Attribution Non Commercial 4.0 International")."""
    text = name.strip()
    match = _CC_NAME.match(text)
    if match:
        parts = ["CC", "BY"]
        if match.group("nc"):
            parts.append("NC")
        variant = (match.group("variant") or "").lower()
        if "share" in variant:
            parts.append("SA")
        elif "deriv" in variant:
            parts.append("ND")
        return "-".join(parts) + "-" + match.group("version")
    if _CC0_NAME.match(text):
        return "CC0-1.0"
    mapped = license_concept(_LICENSE_WORD.sub("", text))
    return mapped.label if mapped.mapped else None


@dataclass(frozen=True)
class RightsStatement:
    """One rights statement, from DataCite `<rights>` or Dublin Core `<dc:rights>`."""

    text: str | None = None
    uri: str | None = None
    identifier: str | None = None


def licence_and_access(statements: Sequence[RightsStatement]) -> tuple[Concept | None, AccessRights | None]:
    """The record's licence (an SPDX concept where any statement names one) and its access right."""
    access: AccessRights | None = None
    mapped: Concept | None = None
    fallback: Concept | None = None
    for statement in statements:
        right = access_right(statement.uri) or access_right(statement.text)
        if right is not None:
            access = access or right
            continue
        candidate = _licence(statement)
        if candidate is None:
            continue
        if candidate.mapped and mapped is None:
            mapped = candidate
        elif not candidate.mapped and fallback is None:
            fallback = candidate
    return mapped or fallback, access


def _licence(statement: RightsStatement) -> Concept | None:
    raw = statement.identifier or statement.uri or statement.text
    if raw is None:
        return None
    if statement.identifier:
        by_id = license_for(statement.identifier)
        if by_id is not None and by_id.mapped:
            return by_id
    for spdx in (
        spdx_from_uri(statement.uri) if statement.uri else None,
        spdx_from_uri(statement.text) if statement.text else None,
        spdx_from_name(statement.text) if statement.text else None,
    ):
        if spdx:
            found = license_concept(spdx)
            if found.mapped:
                return shared_concept(found.uri, found.label, raw)
    label = statement.text or statement.identifier or statement.uri or raw
    return shared_concept(None, label, raw)


# --------------------------------------------------------------------------------------------------------------------
# sizes

_SIZE = re.compile(r"^\s*(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>[kKMGTP]?i?[bB](?:ytes?)?|bytes?|octets?)\s*$")
_DECIMAL = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def size_in_bytes(text: str) -> int | None:
    """`"6155 MB"` → 6,155,000,000; `"2 GiB"` → 2 × 2³⁰; `"100 pages"` → None. Lower-case `kb` is read as kB."""
    match = _SIZE.match(text)
    if match is None:
        return None
    value = float(match.group("value").replace(",", "."))
    unit = match.group("unit").lower()
    if unit.startswith(("byte", "octet")) or unit == "b":
        return round(value)
    prefix = unit[0]
    factor = _BINARY[prefix] if unit[1:2] == "i" else _DECIMAL[prefix]
    return round(value * factor)


# --------------------------------------------------------------------------------------------------------------------
# people and organisations

_ORGANISATION_WORDS = re.compile(
    r"\b(collaboration|consortium|institute|institut|university|universit[äéy]|centre|center|laborator(y|ies)|"
    r"observatory|organi[sz]ation|group|team|department|agency|foundation|council|society|project|network|"
    r"data cent(re|er)|cern|kit|gmbh|inc\.?|ltd\.?)\b",
    re.IGNORECASE,
)
_ORCID_VALUE = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])\s*$")


def looks_like_organisation(name: str) -> bool:
    """For names whose type the source does not give: "CMS Collaboration", "Zenodo", "KIT" are organisations."""
    return _ORGANISATION_WORDS.search(name) is not None


def name_agent(entry: Name, where: str) -> Agent:
    """A DataCite creator or contributor as an `Agent` (ORCID and ROR from name identifiers, ROR affiliations)."""
    if entry.name_type:
        organised = entry.name_type.lower().startswith("organi")
    else:
        organised = not (entry.given_name or entry.family_name) and looks_like_organisation(entry.name)
    orcid = ror = None
    for number, identifier in enumerate(entry.identifiers):
        scheme = (identifier.scheme or "").lower()
        value = identifier.value.strip()
        if scheme == "orcid" or "orcid.org/" in value:
            if orcid is None:
                match = _ORCID_VALUE.search(value)
                if match is None:
                    raise MappingError(f"{where}.nameIdentifier[{number}]", f"{value!r} is not an ORCID iD")
                orcid = match.group(1)
        elif (scheme == "ror" or "ror.org/" in value) and ror is None:
            ror = value
    affiliations: list[Affiliation] = []
    for place in entry.affiliations:
        is_ror = (place.scheme or "").lower() == "ror" or "ror.org/" in (place.identifier or "")
        found = affiliation(place.name, place.identifier if is_ror else None)
        if found is not None:
            affiliations.append(found)
    given, family = entry.given_name, entry.family_name
    if not organised and not (given or family):
        given, family = split_name(entry.name)
    return agent(
        where,
        entry.name,
        kind="organization" if organised else "person",
        given_name=None if organised else given,
        family_name=None if organised else family,
        orcid=orcid if not organised else None,
        ror=ror if organised else None,
        affiliations=affiliations,
    )


def text_agent(name: str, where: str) -> Agent:
    """A creator given only as a name (Dublin Core): "Family, Given" is a person, "… Collaboration" an organisation."""
    if "," not in name and looks_like_organisation(name):  # "Family, Given" is a person: no need for the regex
        return agent(where, name, kind="organization")
    given, family = split_name(name)
    return agent(where, name, kind="person", given_name=given, family_name=family)


def organisation_names(agents: Iterable[Agent]) -> list[str]:
    return [a.name for a in agents if a.kind == "organization"]


# --------------------------------------------------------------------------------------------------------------------
# DataCite → Described


def describe_datacite(resource: DataCiteResource) -> Described:
    """The model values of a DataCite resource (no repository-specific knowledge: see the profiles)."""
    titles = [t for t in resource.titles if not t.title_type] or resource.titles
    if not titles:
        raise MappingError("resource.titles", "missing: a DataCite record has at least one title")
    main_title = titles[0].text
    subtitles = [t.text for t in resource.titles if (t.title_type or "").lower() == "subtitle"]
    if subtitles and subtitles[0] != main_title and not subtitles[0].startswith(main_title):
        main_title = f"{main_title}: {subtitles[0]}"

    identifiers = _own_identifiers(resource)
    creators = [name_agent(c, f"resource.creators[{n}]") for n, c in enumerate(resource.creators)]
    contributors = [name_agent(c, f"resource.contributors[{n}]") for n, c in enumerate(resource.contributors)]
    keywords: list[str] = []
    subjects: list[Concept] = []
    vocabulary: dict[VocabularyField, list[Concept]] = {}
    for subject in resource.subjects:
        known = by_uri(subject.value_uri) if subject.value_uri else None
        target = _VOCABULARY_FIELDS.get(known.scheme) if known is not None else None
        if known is not None and target is not None:
            bucket = vocabulary.setdefault(target, [])
            if all(c.uri != known.uri for c in bucket):
                bucket.append(shared_concept(known.uri, known.label, subject.text))
        elif subject.value_uri or subject.scheme:
            uri = (
                subject.value_uri
                if subject.value_uri and subject.value_uri.startswith(("http://", "https://"))
                else None
            )
            subjects.append(shared_concept(uri, subject.text, subject.value_uri or subject.text))
        else:
            keywords.append(subject.text)

    licence, access = licence_and_access(
        [RightsStatement(text=r.text, uri=r.uri, identifier=r.identifier) for r in resource.rights]
    )
    issued = created = modified = None
    coverage_pairs: list[tuple[str | None, str | None]] = []
    for number, entry in enumerate(resource.dates):
        kind = (entry.date_type or "").lower()
        if kind not in ("issued", "created", "updated", "collected"):
            continue
        start, end = date_interval(entry.value, f"resource.dates[{number}]")
        if kind == "issued" and issued is None:
            issued = start
        elif kind == "created" and created is None:
            created = start
        elif kind == "updated" and modified is None:
            modified = end or start
        elif kind == "collected":
            coverage_pairs.append((start, end))
    if issued is None and resource.publication_year:
        issued = date_interval(resource.publication_year, "resource.publicationYear")[0]

    relations = Relations()
    for related in resource.related_identifiers:
        relations.add(related.relation_type or "", _related(related.value, related.identifier_type))
    links = [f.award_uri for f in resource.funding if f.award_uri]

    descriptions = _descriptions([d for d in resource.descriptions if _type_key(d.description_type) != "technicalinfo"])
    technical = [d.text.strip() for d in resource.descriptions if _type_key(d.description_type) == "technicalinfo"]
    publisher = organisation(resource.publisher) if resource.publisher else None
    if (
        publisher is not None
        and resource.publisher_identifier
        and "ror" in (resource.publisher_identifier_scheme or "ror").lower()
    ):
        publisher = agent("resource.publisher", publisher.name, kind="organization", ror=resource.publisher_identifier)
    sizes = [s for s in (size_in_bytes(text) for text in resource.sizes) if s is not None]
    return Described(
        title=main_title,
        identifiers=identifiers,
        description=descriptions,
        type_general=resource.resource_type_general,
        type_text=resource.resource_type,
        creators=creators,
        contributors=contributors,
        organisations=organisation_names([*creators, *contributors]),
        publisher=publisher,
        keywords=list(dict.fromkeys(keywords)),
        subjects=subjects,
        vocabulary=vocabulary,
        license=licence,
        access=access,
        language=resource.language,
        version=resource.version,
        issued=issued,
        created=created,
        modified=modified,
        coverage=coverage(coverage_pairs),
        relations=relations,
        size_bytes=sizes[0] if sizes else None,
        formats=list(dict.fromkeys(resource.formats)),
        links=list(dict.fromkeys(links)),
        technical_info=list(dict.fromkeys(technical)),
    )


def coverage(pairs: Sequence[tuple[str | None, str | None]]) -> TemporalCoverage | None:
    starts = [s for s, _ in pairs if s]
    ends = [e for _, e in pairs if e]
    if not starts and not ends:
        return None
    return shared_coverage(min(starts) if starts else None, max(ends) if ends else None)


_PLACEHOLDER = re.compile(r"^\(:\w+\)$")
"""DataCite's standard values for unknown information: `(:tba)`, `(:unav)`, `(:none)` ..."""


def _own_identifiers(resource: DataCiteResource) -> list[Identifier]:
    out: list[Identifier] = []
    if resource.identifier and not _PLACEHOLDER.match(resource.identifier):
        kind = (resource.identifier_type or "DOI").lower()
        if kind == "doi":
            out.append(doi(resource.identifier, "resource.identifier"))
        else:
            found = _related(resource.identifier, resource.identifier_type)
            if found is not None:
                out.append(found)
    for alternate in resource.alternate_identifiers:
        if _PLACEHOLDER.match(alternate.value):
            continue
        kind = (alternate.identifier_type or "").lower()
        if kind == "oai" or alternate.value.startswith("oai:"):
            out.append(Identifier(scheme=IdentifierScheme.OAI, value=alternate.value))
            continue
        found = _related(alternate.value, alternate.identifier_type)
        if found is not None:
            out.append(found)
    return unique_identifiers(out)


def _related(value: str, identifier_type: str | None) -> Identifier | None:
    kind = (identifier_type or "").strip().lower() or None
    return related_identifier(value, kind)


_DESCRIPTION_ORDER = {"abstract": 0, "methods": 1, "technicalinfo": 2, "tableofcontents": 3, "seriesinformation": 4}
_DESCRIPTION_HEADINGS = {
    "methods": "Methods",
    "technicalinfo": "Technical information",
    "tableofcontents": "Table of contents",
    "seriesinformation": "Series information",
}


def _descriptions(descriptions: Sequence[Description]) -> str | None:
    """Abstract first, then the other descriptions, each typed one under its heading: nothing is dropped."""
    ordered = sorted(
        enumerate(descriptions),
        key=lambda item: (_DESCRIPTION_ORDER.get(_type_key(item[1].description_type), 5), item[0]),
    )
    parts: list[str] = []
    for _, entry in ordered:
        text = plain_text(entry.text)
        heading = _DESCRIPTION_HEADINGS.get(_type_key(entry.description_type))
        block = f"{heading}:\n{text}" if heading and parts else text
        if text and block not in parts:
            parts.append(block)
    return "\n\n".join(parts) or None


_TYPE_SEPARATORS = re.compile(r"[\s_\-]+")


@lru_cache(maxsize=256)
def _type_key(value: str | None) -> str:
    """`Table of Contents`, `table_of_contents` → `tableofcontents` (cached: a handful of types, four reads each)."""
    return _TYPE_SEPARATORS.sub("", (value or "").lower())
