"""An InvenioRDM record (Zenodo's REST JSON) as Zenodo's OAI-PMH server disseminates it: sets, `oai_dc`, DataCite.

Zenodo's `/oai2d` (invenio-oaiserver) and `/api/records` serve the same records; what differs is only the
serialisation. These functions render a record's RDM JSON the way InvenioRDM's serializers do, so the generated
OAI replica can serve exactly the records the generated REST replica serves:

* sets (`oai_sets`): `user-<slug>` for each community of the record's parent, and Zenodo's OAI sets by resource
  type: `openaire_data` for `resource_type.type:dataset` (zenodo-rdm `app_data/oai_sets.yaml`) and `software` for
  software (as the recorded `/oai2d` answers show: no other type is in a type set).
* `oai_dc` (`dublin_core`, invenio-rdm-records `DublinCoreSchema` through dcxml `simpledc`, elements in alphabetical
  order): creators and contributors by their `name` ("Family, Given"), the publication date (and
  `info:eu-repo/date/embargoEnd/<date>` while embargoed), each description with its HTML escaped, not stripped
  (bleach with no allowed tags — hence the `&amp;lt;p&amp;gt;` of real answers), the pids as URLs where they have
  one (`https://doi.org/<doi>`, the oai id as it is), `eng`-style language ids, the publisher, relations (related
  identifiers as URLs, `https://zenodo.org/communities/<slug>/`, the concept DOI last), rights
  (`info:eu-repo/semantics/<status>Access`, then each licence's title and URL), subjects, the title and the
  `info:eu-repo/semantics/...` type of Zenodo's resource-type vocabulary.
* `datacite` (invenio-rdm-records `DataCite45Schema` as zenodo-rdm's `ZenodoDataciteSchema`, written by the
  `datacite` package's kernel-4.5 writer in the element order of the recorded 2026 answers): the oai id as
  alternate identifier, creators and contributors with name type, given and family names, ORCID name identifiers
  and affiliations (ROR-identified where the affiliation is linked to the vocabulary), the title, publisher Zenodo,
  publication year, subjects, dates (Issued, the record's own dates by DataCite type, Updated), language, the
  resource type (general type, and the specific one where the vocabulary has it), the DOI, related identifiers
  (those of a scheme DataCite knows, with the related resource's general type; `IsVersionOf` the concept DOI;
  `IsPartOf` each community), version, rights (licence with SPDX id and URL; the access right as an eu-repo URI) and
  the description with its HTML stripped.

Everything is read from the record; nothing is invented here. The record is assumed well-formed InvenioRDM JSON
(what the REST replica serves), so a missing mandatory field is a `KeyError`, as in invenio's own serializers.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from sandbox.replicas.oaipmh import OAI_DC_OPEN
from sandbox.replicas.zenodo_shapes import LEGACY_RELATION, ZENODO, community_slugs

TYPE_SETS = {"dataset": "openaire_data", "software": "software"}
"""Zenodo's OAI sets by resource type (`resource_type.type`), besides the community sets."""

DATACITE_OPEN = (
    '<resource xmlns="http://datacite.org/schema/kernel-4" '
    'xsi:schemaLocation="http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4.5/metadata.xsd">'
)
"""The opening tag of a `datacite` body inside a response that declares `xsi` (as Zenodo writes it)."""

# Zenodo's resource-type vocabulary (zenodo-rdm app_data/vocabularies/resource_types.yaml): id → (DataCite general
# type, DataCite specific type, info:eu-repo type)
RESOURCE_TYPE_PROPS: dict[str, tuple[str, str, str]] = {
    "publication": ("Text", "", "other"),
    "publication-article": ("JournalArticle", "", "article"),
    "publication-book": ("Book", "", "book"),
    "publication-conferencepaper": ("ConferencePaper", "", "conferencePaper"),
    "publication-deliverable": ("Text", "Project deliverable", "report"),
    "publication-preprint": ("Preprint", "", "preprint"),
    "publication-report": ("Report", "", "report"),
    "publication-softwaredocumentation": ("Text", "Software documentation", "technicalDocumentation"),
    "publication-technicalnote": ("Text", "Technical note", "technicalDocumentation"),
    "publication-thesis": ("Text", "Thesis", "doctoralThesis"),
    "publication-workingpaper": ("Text", "Working paper", "workingPaper"),
    "publication-other": ("Text", "Other", "other"),
    "poster": ("Text", "Poster", "conferencePoster"),
    "presentation": ("Text", "Presentation", "lecture"),
    "dataset": ("Dataset", "", "other"),
    "image": ("Image", "", "other"),
    "image-figure": ("Image", "Figure", "other"),
    "image-plot": ("Image", "Plot", "other"),
    "video": ("Audiovisual", "", "other"),
    "software": ("Software", "", "other"),
    "lesson": ("InteractiveResource", "Interactive resource", "lecture"),
    "model": ("Model", "", "other"),
    "workflow": ("Workflow", "", "other"),
    "other": ("Other", "", "other"),
}

# RDM_RECORDS_IDENTIFIERS_SCHEMES `datacite` names of the schemes DataCite accepts for related identifiers
RELATED_SCHEMES = {
    "ark": "ARK", "arxiv": "arXiv", "bibcode": "bibcode", "doi": "DOI", "ean13": "EAN13", "eissn": "EISSN",
    "handle": "Handle", "igsn": "IGSN", "isbn": "ISBN", "issn": "ISSN", "istc": "ISTC", "lissn": "LISSN",
    "lsid": "LSID", "pmid": "PMID", "purl": "PURL", "upc": "UPC", "url": "URL", "urn": "URN", "w3id": "w3id",
}  # fmt: skip
PID_SCHEMES = {"doi": "DOI", "oai": "oai"}
PERSON_SCHEMES = {"orcid": "ORCID", "gnd": "GND", "isni": "ISNI", "ror": "ROR"}
CONTRIBUTOR_ROLES = {
    "contactperson": "ContactPerson", "datacollector": "DataCollector", "datacurator": "DataCurator",
    "datamanager": "DataManager", "distributor": "Distributor", "editor": "Editor",
    "hostinginstitution": "HostingInstitution", "producer": "Producer", "projectleader": "ProjectLeader",
    "projectmanager": "ProjectManager", "projectmember": "ProjectMember", "registrationagency": "RegistrationAgency",
    "registrationauthority": "RegistrationAuthority", "relatedperson": "RelatedPerson", "researcher": "Researcher",
    "researchgroup": "ResearchGroup", "rightsholder": "RightsHolder", "sponsor": "Sponsor",
    "supervisor": "Supervisor", "workpackageleader": "WorkPackageLeader", "other": "Other",
}  # fmt: skip
DATE_TYPES = {
    "accepted": "Accepted", "available": "Available", "collected": "Collected", "copyrighted": "Copyrighted",
    "created": "Created", "issued": "Issued", "other": "Other", "submitted": "Submitted", "updated": "Updated",
    "valid": "Valid", "withdrawn": "Withdrawn",
}  # fmt: skip
_ROR_ID = re.compile(r"^0[a-hj-km-np-tv-z0-9]{6}[0-9]{2}$")
_ENTITY_OR_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)")
_TAG = re.compile(r"<[^>]*>")
_YEAR = re.compile(r"\d{4}")
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|(?:https?://)?(?:dx\.)?doi\.org/)", re.IGNORECASE)


def oai_sets(rdm: Mapping[str, Any]) -> tuple[str, ...]:
    """The record's OAI set specs: its communities (`user-<slug>`), then its resource-type set if it has one."""
    specs = [f"user-{slug}" for slug in community_slugs(rdm)]
    type_set = TYPE_SETS.get(resource_type_id(rdm).split("-")[0])
    return (*specs, *([type_set] if type_set else []))


def resource_type_id(rdm: Mapping[str, Any]) -> str:
    return str(((rdm.get("metadata") or {}).get("resource_type") or {}).get("id") or "other")


# -- oai_dc ------------------------------------------------------------------------------------------------------------


def dublin_core(rdm: Mapping[str, Any]) -> str:
    """The record's `oai_dc:dc` element, as invenio-rdm-records' `DublinCoreXMLSerializer` writes it."""
    md = rdm["metadata"]
    parent = rdm.get("parent") or {}
    access = rdm.get("access") or {}
    status = _access_status(access)
    elements: dict[str, list[str]] = {
        "contributor": [_name(c) for c in md.get("contributors") or []],
        "creator": [_name(c) for c in md.get("creators") or []],
        "date": [md["publication_date"]],
        "description": [
            _bleach_escaped(text)
            for text in [md.get("description"), *(d["description"] for d in md.get("additional_descriptions") or [])]
            if text
        ],
        "identifier": [
            *(_url_or_prefixed(pid["identifier"], scheme) for scheme, pid in (rdm.get("pids") or {}).items()),
            *(_url_or_prefixed(i["identifier"], i["scheme"]) for i in md.get("identifiers") or []),
        ],
        "language": [language["id"] for language in md.get("languages") or []],
        "publisher": [md["publisher"]] if md.get("publisher") else [],
        "relation": [
            *(_url_or_prefixed(i["identifier"], i["scheme"]) for i in md.get("alternate_identifiers") or []),
            *(_url_or_prefixed(i["identifier"], i["scheme"]) for i in md.get("related_identifiers") or []),
            *(community_url(slug) for slug in community_slugs(rdm)),
            *(
                _url_or_prefixed(pid["identifier"], "doi")
                for key, pid in (parent.get("pids") or {}).items()
                if key == "doi"
            ),
        ],
        "rights": [f"info:eu-repo/semantics/{status}Access", *_licence_rights(md.get("rights") or [])],
        "subject": [s["subject"] for s in md.get("subjects") or [] if s.get("subject")],
        "title": [md["title"], *(t["title"] for t in md.get("additional_titles") or [])],
        "type": [f"info:eu-repo/semantics/{RESOURCE_TYPE_PROPS.get(resource_type_id(rdm), ('', '', 'other'))[2]}"],
    }
    if status == "embargoed" and (access.get("embargo") or {}).get("until"):
        elements["date"].append(f"info:eu-repo/date/embargoEnd/{access['embargo']['until']}")
    body = "".join(
        f"<dc:{name}>{escape(value)}</dc:{name}>" for name in sorted(elements) for value in elements[name] if value
    )
    return f"{OAI_DC_OPEN}{body}</oai_dc:dc>"


def community_url(slug: str) -> str:
    """A community's page, as invenio's `communities_home` route writes it (with the trailing slash)."""
    return f"{ZENODO}/communities/{slug}/"


def _licence_rights(rights: Iterable[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for right in rights:
        out.append(_english(right.get("title")))
        url = (right.get("props") or {}).get("url") if right.get("id") else right.get("link")
        if url:
            out.append(url)
    return out


def _bleach_escaped(text: str) -> str:
    """`bleach.clean(text, tags=[], attributes=[])`: every tag escaped as text, entities kept as they were."""
    return _ENTITY_OR_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def _url_or_prefixed(identifier: str, scheme: str) -> str:
    """DublinCoreSchema._transform_identifier: the identifier's URL (idutils) if it has one, else `scheme:id`."""
    if scheme == "doi":
        return f"https://doi.org/{_DOI_PREFIX.sub('', identifier)}"
    if scheme == "arxiv":
        bare = identifier[6:] if identifier.lower().startswith("arxiv:") else identifier
        return f"https://arxiv.org/abs/arXiv:{bare}"
    if scheme == "handle":
        return f"https://hdl.handle.net/{identifier}"
    if scheme in ("url", "purl"):
        return identifier
    return identifier if identifier.startswith(scheme) else f"{scheme}:{identifier}"


# -- DataCite ----------------------------------------------------------------------------------------------------------


def datacite(rdm: Mapping[str, Any]) -> str:
    """The record's DataCite kernel-4 `resource` element, as Zenodo's `datacite` OAI format writes it."""
    md = rdm["metadata"]
    pids = rdm.get("pids") or {}
    doi = (pids.get("doi") or {}).get("identifier")
    alternates = "".join(
        f"<alternateIdentifier alternateIdentifierType={_attr(PID_SCHEMES.get(scheme, scheme))}>"
        f"{escape(pid['identifier'])}</alternateIdentifier>"
        for scheme, pid in pids.items()
        if scheme != "doi"
    ) + "".join(
        f"<alternateIdentifier alternateIdentifierType={_attr(i['scheme'])}>{escape(i['identifier'])}"
        "</alternateIdentifier>"
        for i in md.get("identifiers") or []
        if i.get("scheme") != "doi"
    )
    creators = "".join(_person(c, "creator") for c in md.get("creators") or [])
    contributors = "".join(_person(c, "contributor") for c in md.get("contributors") or [])
    titles = f"<title>{escape(md['title'])}</title>" + "".join(
        f"<title>{escape(t['title'])}</title>" for t in md.get("additional_titles") or []
    )
    subjects = "".join(_subject(s) for s in md.get("subjects") or [])
    general, specific, _ = RESOURCE_TYPE_PROPS.get(resource_type_id(rdm), ("Other", "", "other"))
    languages = md.get("languages") or []
    parts = [
        DATACITE_OPEN,
        f"<alternateIdentifiers>{alternates}</alternateIdentifiers>" if alternates else "",
        f"<creators>{creators}</creators>",
        f"<titles>{titles}</titles>",
        f"<publisher>{escape(md['publisher'])}</publisher>" if md.get("publisher") else "",
        f"<publicationYear>{_publication_year(md['publication_date'])}</publicationYear>",
        f"<subjects>{subjects}</subjects>" if subjects else "",
        f"<contributors>{contributors}</contributors>" if contributors else "",
        f"<dates>{_dates(rdm)}</dates>",
        f"<language>{escape(languages[0]['id'])}</language>" if languages else "",
        f"<resourceType resourceTypeGeneral={_attr(general)}>{escape(specific)}</resourceType>",
        f'<identifier identifierType="DOI">{escape(doi)}</identifier>' if doi else "",
        _related_identifiers(rdm),
        f"<version>{escape(md['version'])}</version>" if md.get("version") else "",
        f"<rightsList>{_rights_list(rdm)}</rightsList>",
        _descriptions(md),
        "</resource>",
    ]
    return "".join(parts)


def _person(entry: Mapping[str, Any], role: str) -> str:
    person = entry["person_or_org"]
    name_type = str(person.get("type") or "personal").capitalize()
    parts = [f"<{role}Name nameType={_attr(name_type)}>{escape(person['name'])}</{role}Name>"]
    if person.get("given_name"):
        parts.append(f"<givenName>{escape(person['given_name'])}</givenName>")
    if person.get("family_name"):
        parts.append(f"<familyName>{escape(person['family_name'])}</familyName>")
    for identifier in person.get("identifiers") or []:
        scheme = PERSON_SCHEMES.get(identifier["scheme"], identifier["scheme"])
        parts.append(
            f"<nameIdentifier nameIdentifierScheme={_attr(scheme)}>{escape(identifier['identifier'])}</nameIdentifier>"
        )
    for affiliation in entry.get("affiliations") or []:
        parts.append(_affiliation(affiliation))
    opening = f"<{role}>"
    if role == "contributor":
        role_id = (entry.get("role") or {}).get("id")
        opening = f"<contributor contributorType={_attr(CONTRIBUTOR_ROLES.get(role_id or 'other', 'Other'))}>"
    return f"{opening}{''.join(parts)}</{role}>"


def _affiliation(affiliation: Mapping[str, Any]) -> str:
    name = escape(str(affiliation.get("name") or ""))
    ident = str(affiliation.get("id") or "")
    # an affiliation linked to Zenodo's affiliations vocabulary is a ROR id; the serializer names it by its URL
    if _ROR_ID.match(ident):
        return (
            f'<affiliation affiliationIdentifier="https://ror.org/{ident}" affiliationIdentifierScheme="ROR">'
            f"{name}</affiliation>"
        )
    return f"<affiliation>{name}</affiliation>"


def _subject(subject: Mapping[str, Any]) -> str:
    attributes = ""
    if subject.get("id"):
        if subject.get("scheme"):
            attributes += f" subjectScheme={_attr(subject['scheme'])}"
        if str(subject["id"]).startswith(("http://", "https://")):
            attributes += f" valueURI={_attr(subject['id'])}"
    return f"<subject{attributes}>{escape(str(subject.get('subject') or ''))}</subject>"


def _dates(rdm: Mapping[str, Any]) -> str:
    md = rdm["metadata"]
    dates = [(md["publication_date"], "Issued", None)]
    updated = False
    for date in md.get("dates") or []:
        type_id = (date.get("type") or {}).get("id")
        updated |= type_id == "updated"
        dates.append((date["date"], DATE_TYPES.get(type_id or "", "Other"), date.get("description")))
    if not updated and rdm.get("updated"):
        dates.append((str(rdm["updated"]).split("T")[0], "Updated", None))
    return "".join(
        f"<date dateType={_attr(kind)}"
        + (f" dateInformation={_attr(information)}" if information else "")
        + f">{escape(value)}</date>"
        for value, kind, information in dates
    )


def _related_identifiers(rdm: Mapping[str, Any]) -> str:
    md = rdm["metadata"]
    items: list[str] = []
    for related in md.get("related_identifiers") or []:
        scheme = RELATED_SCHEMES.get(str(related.get("scheme")))
        if scheme is None:
            continue  # DataCite knows no such scheme: invenio leaves the relation out
        relation = (related.get("relation_type") or {}).get("id") or ""
        name = LEGACY_RELATION.get(relation, relation)
        attributes = f"relationType={_attr(name[:1].upper() + name[1:])}"
        related_type = (related.get("resource_type") or {}).get("id")
        if related_type:
            general = RESOURCE_TYPE_PROPS.get(related_type, ("Other", "", "other"))[0]
            attributes += f" resourceTypeGeneral={_attr(general)}"
        items.append(
            f"<relatedIdentifier {attributes} relatedIdentifierType={_attr(scheme)}>"
            f"{escape(related['identifier'])}</relatedIdentifier>"
        )
    concept = (((rdm.get("parent") or {}).get("pids") or {}).get("doi") or {}).get("identifier")
    if concept:
        items.append(
            f'<relatedIdentifier relationType="IsVersionOf" relatedIdentifierType="DOI">{escape(concept)}'
            "</relatedIdentifier>"
        )
    for slug in community_slugs(rdm):
        items.append(
            f'<relatedIdentifier relationType="IsPartOf" relatedIdentifierType="URL">{escape(community_url(slug))}'
            "</relatedIdentifier>"
        )
    return f"<relatedIdentifiers>{''.join(items)}</relatedIdentifiers>" if items else ""


def _rights_list(rdm: Mapping[str, Any]) -> str:
    items = []
    for right in rdm["metadata"].get("rights") or []:
        attributes = ""
        url = (right.get("props") or {}).get("url")
        if url:
            attributes += f" rightsURI={_attr(url)}"
        if right.get("id"):
            scheme = (right.get("props") or {}).get("scheme")
            attributes += (f" rightsIdentifierScheme={_attr(scheme)}" if scheme else "") + (
                f" rightsIdentifier={_attr(right['id'])}"
            )
        items.append(f"<rights{attributes}>{escape(_english(right.get('title')))}</rights>")
    items.append(f'<rights rightsURI="info:eu-repo/semantics/{_access_status(rdm.get("access") or {})}Access"/>')
    return "".join(items)


def _descriptions(md: Mapping[str, Any]) -> str:
    items = []
    if md.get("description"):
        items.append(f'<description descriptionType="Abstract">{escape(strip_html(md["description"]))}</description>')
    for extra in md.get("additional_descriptions") or []:
        kind = str((extra.get("type") or {}).get("id") or "other")
        items.append(
            f"<description descriptionType={_attr(kind[:1].upper() + kind[1:])}>"
            f"{escape(strip_html(extra['description']))}</description>"
        )
    return f"<descriptions>{''.join(items)}</descriptions>" if items else ""


def strip_html(text: str) -> str:
    """marshmallow-utils `strip_html`: tags removed (their text kept), entities resolved, ends trimmed."""
    return html.unescape(_TAG.sub("", text).strip())


# -- shared ------------------------------------------------------------------------------------------------------------


def _name(entry: Mapping[str, Any]) -> str:
    return str((entry.get("person_or_org") or {}).get("name") or "")


def _access_status(access: Mapping[str, Any]) -> str:
    status = str(access.get("status") or "open")
    return "closed" if status == "metadata-only" else status


def _publication_year(date: str) -> str:
    match = _YEAR.search(date)
    if match is None:
        raise ValueError(f"publication_date {date!r} has no year")
    return match.group(0)


def _english(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("en") or next(iter(value.values()), ""))
    return str(value or "")


def _attr(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'
