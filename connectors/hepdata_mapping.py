"""HEPData record JSON → the canonical model. A pure function of the payload bytes.

The payload is one version of a HEPData record as `GET /record/ins<ID>?format=json&version=<N>` returns it (the
record page context: `record{…}` from HEPData's search index, `data_tables[…]`, `version`, `version_count`, …).
One HEPData version is one dmlake record (native id `ins<ID>.v<N>`): each version has its own DOI
`10.17182/hepdata.<recid>.v<N>`; the base DOI `10.17182/hepdata.<recid>` (which HEPData points at the latest
version) is the concept the versions are versions of, and version N is a new version of version N-1.

Where HEPData's JSON says nothing the mapper says nothing, except for what HEPData states for all its records: the
data are CC0, they are DPHEP level 1 (publication data), and each record is a set of data tables.
"""

from __future__ import annotations

import email.utils
import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from pydantic import ValidationError

from connectors.base import MappingError, RawRecord
from ontology import (
    Agent,
    Availability,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    record_id,
)
from ontology.model import Affiliation
from ontology.vocabulary import by_uri, concept, concepts, experiment_physics, from_uri, license_concept

MAPPING_VERSION = "hepdata-1"

COLLIDER = "https://w3id.org/dmlake/vocab/messenger/collider"
DCMI_DATASET = "http://purl.org/dc/dcmitype/Dataset"

TABLE_FORMATS = {
    # format key in data_tables[].data → (label, media type, file extension HEPData gives the download)
    "yaml": ("YAML", "application/yaml", "yaml"),
    "csv": ("CSV", "text/csv", "csv"),
    "json": ("JSON", "application/json", "json"),
    "root": ("ROOT", "application/octet-stream", "root"),
    "yoda": ("YODA", "text/plain", "yoda"),
    "yoda1": ("YODA1", "text/plain", "yoda"),
    "yoda.h5": ("YODA-H5", "application/x-hdf5", "yoda.h5"),
}
SUBMISSION_FORMATS = ("yaml", "csv", "root", "yoda", "yoda.h5")

_VERSION_SUFFIX = re.compile(r"\.v\d+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_ARXIV_ARCHIVE = re.compile(r"[a-z\-]+(\.[A-Za-z\-]+)?")
_CHARGE = re.compile(r"[+\-]")
_SUBMISSION_VERSION = re.compile(r"/download/submission/([^/]+)/\d+/")


def native_id(inspire_id: int | str, version: int) -> str:
    """The dmlake native id of one HEPData version: `ins<INSPIRE>.v<N>`."""
    return f"ins{inspire_id}.v{version}"


def map_payload(raw: RawRecord, source: str, provenance: Provenance) -> Record:
    """Map one HEPData version. Raises `MappingError(field, message)` for a payload that is not a usable record."""
    try:
        document = orjson.loads(raw.payload)
    except orjson.JSONDecodeError as error:
        raise MappingError("payload", f"not JSON ({error}); expected /record/ins<ID>?format=json") from error
    if not isinstance(document, dict):
        raise MappingError("payload", f"expected a JSON object, got {type(document).__name__}")
    try:
        return _map(document, raw, source, provenance)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        raise MappingError(where, f"{first.get('msg')} (value {first.get('input')!r})") from error


def _map(doc: dict[str, Any], raw: RawRecord, source: str, provenance: Provenance) -> Record:
    record = _dict(doc, "record")
    recid = _int(doc, "recid")
    version = _int(doc, "version")
    version_count = _int(doc, "version_count")
    if version < 1 or version > version_count:
        raise MappingError("version", f"version {version} is outside 1..version_count ({version_count})")
    status = doc.get("status")
    if status != "finished":
        said = "missing" if status is None else repr(status)
        raise MappingError("status", f"{said}: only finished (published) HEPData versions are records")
    inspire_id = record.get("inspire_id")
    inspire = str(inspire_id or "").strip()
    if not inspire.isdigit():
        if inspire_id is None:
            raise MappingError("record.inspire_id", "missing: every HEPData record has an INSPIRE record number")
        raise MappingError("record.inspire_id", f"{inspire_id!r} is not an INSPIRE record number")
    expected = native_id(inspire, version)
    if raw.native_id != expected:
        # the page of another record is quarantined under the INSPIRE number it has, so the data manager finds the
        # value that disagrees in the payload; a page of another version is a fetch that went wrong
        wrong = "native_id" if raw.native_id.startswith(f"ins{inspire}.v") else "record.inspire_id"
        raise MappingError(wrong, f"the payload is {expected} but was fetched as {raw.native_id}")

    site = _site_url(doc, raw)
    base_doi = _base_doi(record, recid)
    version_doi = f"{base_doi}.v{version}"
    last_updated = _timestamp(record.get("last_updated"), "record.last_updated")
    data_abstract = _text(record.get("data_abstract"))
    title = _title(record, data_abstract)
    collaborations = _strings(record.get("collaborations"), "record.collaborations")
    experiments = concepts("experiment", collaborations)
    physics = experiment_physics(experiments)
    keywords_block = record.get("data_keywords") or {}
    if not isinstance(keywords_block, dict):
        raise MappingError("record.data_keywords", f"expected an object, got {type(keywords_block).__name__}")
    reactions = _unique(_strings(keywords_block.get("reactions"), "record.data_keywords.reactions"))
    observables = _unique(_strings(keywords_block.get("observables"), "record.data_keywords.observables"))
    phrases = _unique(_strings(keywords_block.get("phrases"), "record.data_keywords.phrases"))
    collision, energy_range = _collision(reactions, keywords_block.get("cmenergies"))
    messengers = list(physics.messengers)
    if not messengers and (collision is not None or reactions):
        messengers = [from_uri(COLLIDER, raw="HEPData reactions are accelerator processes")]
    tables = _distributions(doc, inspire, version, site)
    landing = f"{site}/record/ins{inspire}?version={version}"

    return Record(
        id=record_id(source, expected),
        source=source,
        native_id=expected,
        identifiers=[
            Identifier(scheme=IdentifierScheme.DOI, value=version_doi),
            Identifier(scheme=IdentifierScheme.HEPDATA, value=str(recid)),
            Identifier(scheme=IdentifierScheme.INSPIRE, value=inspire),
        ],
        version=str(version),
        is_version_of=[Identifier(scheme=IdentifierScheme.CONCEPT_DOI, value=base_doi)],
        landing_page=landing,
        title=title,
        description=data_abstract or _abstract(record),
        resource_type=Concept(uri=DCMI_DATASET, label="Dataset", raw=_record_type(doc.get("record_type"))),
        creators=_creators(collaborations, record.get("summary_authors")),
        collaboration=experiments,
        experiments=experiments,
        accelerator=_accelerator(experiments),
        publisher=Agent(name="HEPData", kind="organization"),
        keywords=_unique(phrases + _inspire_keywords(record.get("keywords"))),
        subjects=[_subject(s) for s in _strings(record.get("subject_area"), "record.subject_area")],
        license=_cc0(),
        access_rights="open",
        issued=last_updated.date().isoformat(),
        modified=last_updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        messengers=messengers,
        detection_technique=list(physics.techniques),
        data_level=concept("data-level", "1"),
        resource_categories=[concept("resource-category", "data table")],
        collision=collision,
        energy_range=energy_range,
        observables=[Concept(uri=None, label=o, raw=o) for o in observables],
        reactions=reactions,
        distributions=tables + _resource_distributions(doc) + _submission_archives(record, inspire, version),
        formats=sorted({d.format for d in tables if d.format}),
        is_supplement_to=_paper(record, inspire),
        is_new_version_of=[Identifier(scheme=IdentifierScheme.DOI, value=f"{base_doi}.v{version - 1}")]
        if version > 1
        else [],
        related_links=_links(record),
        provenance=provenance,
    )


# -- fields ----------------------------------------------------------------------------------------------------------
def _dict(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise MappingError(key, f"missing or not an object ({type(value).__name__}); is this a HEPData record page?")
    return value


def _int(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(
            key, "missing: expected an integer" if value is None else f"expected an integer, got {value!r}"
        )
    return value


def _list(value: Any, field: str) -> list[Any]:
    """An optional list: null or empty (HEPData's `or []`) is none; any other kind of value is a malformed record,
    not one to iterate (a string would give its characters, an object its keys)."""
    if not value:
        return []
    if not isinstance(value, list):
        raise MappingError(field, f"expected a list, got {type(value).__name__}")
    return value


def _record_type(value: Any) -> str:
    """What HEPData calls the page; a value that is not text is skipped like the other optional texts."""
    return value if isinstance(value, str) and value else "publication"


def _text(value: Any) -> str | None:
    """HEPData sanitises abstracts with bleach (`&`, `<`, `>` escaped): unescape to the text the submitter wrote."""
    if not isinstance(value, str):
        return None
    text = html.unescape(value).strip()
    return text if text and text != "None" else None


def _strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # HEPData's format_submission splits a comma-separated collaboration string
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise MappingError(field, f"expected a list of text, got {type(value).__name__}")
    out = []
    for position, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise MappingError(f"{field}[{position}]", f"expected text, got {type(item).__name__}")
        text = str(item).strip()
        if text:
            out.append(text)
    return out


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _site_url(doc: dict[str, Any], raw: RawRecord) -> str:
    site = doc.get("site_url")
    if isinstance(site, str) and site.startswith("http"):
        return site.rstrip("/")
    parts = urlsplit(raw.url)
    return f"{parts.scheme}://{parts.netloc}"


def _base_doi(record: dict[str, Any], recid: int) -> str:
    """HEPData writes the base DOI, with `.v<N>` only when there are several versions; both must name this record."""
    doi = record.get("hepdata_doi")
    if not isinstance(doi, str) or not doi.strip():
        raise MappingError("record.hepdata_doi", _absent_text(doi, "every finished HEPData record has a DOI"))
    base = _VERSION_SUFFIX.sub("", doi.strip())
    if not base.endswith(f"/hepdata.{recid}"):
        raise MappingError("record.hepdata_doi", f"{doi!r} does not name HEPData record {recid}")
    return base


def _timestamp(value: Any, field: str) -> datetime:
    """Flask writes datetimes as HTTP dates ('Wed, 15 Jul 2020 00:00:00 GMT'); ISO text is accepted too."""
    if not isinstance(value, str) or not value.strip():
        raise MappingError(field, "missing: expected a date" if value is None else f"expected a date, got {value!r}")
    text = value.strip()
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise MappingError(field, f"{text!r} is neither an HTTP date nor ISO 8601") from error
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError as error:  # year 1 east of UTC, or year 9999 west of it
        raise MappingError(field, f"{text!r} is out of the range of dates in UTC") from error


def _title(record: dict[str, Any], data_abstract: str | None) -> str:
    """INSPIRE's title; HEPData keeps `None` when INSPIRE has none, then the data abstract's first sentence."""
    title = _text(record.get("title"))
    if title:
        return title
    if data_abstract:
        sentence = _SENTENCE_END.split(data_abstract, maxsplit=1)[0].strip()
        return sentence if len(sentence) <= 300 else sentence[:297].rstrip() + "..."
    raise MappingError("record.title", "missing: no title from INSPIRE and no data abstract to name the record by")


def _abstract(record: dict[str, Any]) -> str | None:
    return _text(record.get("abstract"))


def _creators(collaborations: list[str], summary_authors: Any) -> list[Agent]:
    """HEPData registers the collaboration as the creator of a record's DOI; without one, the first authors."""
    if collaborations:
        return [
            Agent(name=c if c.lower().endswith("collaboration") else f"{c} Collaboration", kind="organization")
            for c in collaborations
        ]
    creators = []
    for position, author in enumerate(_list(summary_authors, "record.summary_authors")):
        if not isinstance(author, dict):
            where = f"record.summary_authors[{position}]"
            raise MappingError(where, f"expected {{full_name, affiliation}}, got {type(author).__name__}")
        name = author.get("full_name")
        if not isinstance(name, str) or not name.strip():
            where = f"record.summary_authors[{position}].full_name"
            raise MappingError(where, _absent_text(name, "an author without a name"))
        # an optional text of another kind is skipped, as `_text` skips titles and descriptions
        affiliation = author.get("affiliation")
        affiliation = affiliation.strip() if isinstance(affiliation, str) else ""
        creators.append(Agent(name=name.strip(), affiliations=[Affiliation(name=affiliation)] if affiliation else []))
    return creators


def _accelerator(experiments: list[Concept]) -> Concept | None:
    found = {a for e in experiments if e.uri and (k := by_uri(e.uri)) and (a := k.accelerator)}
    if len(found) != 1:
        return None
    uri = found.pop()
    return from_uri(uri, raw="from experiment " + ", ".join(e.label for e in experiments))


def _inspire_keywords(value: Any) -> list[str]:
    """INSPIRE keywords as HEPData copies them: strings or `{value, schema}` objects."""
    out = []
    for item in _list(value, "record.keywords"):
        text = item.get("value") if isinstance(item, dict) else item
        if isinstance(text, str) and text.strip():
            out.append(text.strip())
    return out


def _subject(category: str) -> Concept:
    """HEPData's subject areas are arXiv archives (hep-ex, nucl-ex, …)."""
    if _ARXIV_ARCHIVE.fullmatch(category):
        return Concept(uri=f"https://arxiv.org/archive/{category.split('.')[0]}", label=category, raw=category)
    return Concept(uri=None, label=category, raw=category)


def _cc0() -> Concept:
    spdx = license_concept("CC0-1.0")
    return Concept(uri=spdx.uri, label=spdx.label, raw="HEPData: all data are released under CC0")


def _collision(reactions: list[str], cmenergies: Any) -> tuple[Collision | None, EnergyRange | None]:
    """Collision type from the reactions' initial states (`P P --> …` → pp); √s in GeV from `cmenergies`."""
    types: dict[str, Concept] = {}
    for reaction in reactions:
        initial = reaction.split("-->", 1)[0].strip() if "-->" in reaction else ""
        if len(initial.split()) != 2:  # a decay (`BBAR0 --> …`) or no initial state: no colliding beams
            continue
        found = concept("collision-type", initial)
        if found.uri is None and _CHARGE.search(initial):
            stripped = concept("collision-type", _CHARGE.sub("", initial))
            found = Concept(uri=stripped.uri, label=stripped.label, raw=initial) if stripped.uri else found
        if found.uri is not None:
            types.setdefault(found.uri, found)
    collision_type = next(iter(types.values())) if len(types) == 1 else None
    ranges = _energy_ranges(cmenergies)
    sqrt_s, energy_range = None, None
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        sqrt_s = Quantity(value=ranges[0][0], unit="GeV", raw=f"cmenergies {ranges[0][0]:g}")
    elif ranges:
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        text = ", ".join(f"{a:g}" if a == b else f"{a:g}-{b:g}" for a, b in ranges)
        energy_range = EnergyRange(min=low, max=high, unit="GeV", raw=f"√s (cmenergies) {text}")
    if collision_type is None and sqrt_s is None:
        return None, energy_range
    return Collision(type=collision_type, sqrt_s=sqrt_s), energy_range


def _energy_ranges(value: Any) -> list[tuple[float, float]]:
    """`cmenergies` as HEPData indexes it: `{gte, lte}` ranges in GeV."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError("record.data_keywords.cmenergies", f"expected a list of {{gte, lte}}, got {value!r}")
    out: list[tuple[float, float]] = []
    for position, item in enumerate(value):
        field = f"record.data_keywords.cmenergies[{position}]"
        if not isinstance(item, dict):
            raise MappingError(field, f"expected {{gte, lte}}, got {item!r}")
        low, high = _number(item.get("gte")), _number(item.get("lte"))
        if low is None or high is None:
            raise MappingError(field, f"gte and lte must be numbers in GeV, got {item!r}")
        if low < 0 or high < low:
            raise MappingError(field, f"{item!r} is not an energy range (0 ≤ gte ≤ lte)")
        if (low, high) not in out:
            out.append((low, high))
    return sorted(out)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# -- files -----------------------------------------------------------------------------------------------------------
def _distributions(doc: dict[str, Any], inspire: str, version: int, site: str) -> list[Distribution]:
    """One distribution per table and download format, each carrying the table's DOI."""
    tables = doc.get("data_tables")
    if tables is None:
        raise MappingError("data_tables", "missing: the record was fetched with light=true, which drops the tables")
    if not isinstance(tables, list):
        raise MappingError("data_tables", f"expected a list, got {type(tables).__name__}")
    out: list[Distribution] = []
    online = Availability.ONLINE
    for position, table in enumerate(tables):
        field = f"data_tables[{position}]"
        if not isinstance(table, dict):
            raise MappingError(field, f"expected a table {{name, doi, data, …}}, got {type(table).__name__}")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MappingError(f"{field}.name", _absent_text(name, "every table has a name"))
        doi = table.get("doi")
        if not isinstance(doi, str) or not doi.strip():
            raise MappingError(f"{field}.doi", _absent_text(doi, f"table {name!r} has no DOI"))
        try:
            table_doi = Identifier(scheme=IdentifierScheme.DOI, value=doi)
        except ValidationError as error:
            raise MappingError(f"{field}.doi", f"{doi!r} is not a DOI") from error
        urls = table.get("data")
        if not isinstance(urls, dict):
            said = "missing" if urls is None else f"expected an object of URLs by format, got {type(urls).__name__}"
            raise MappingError(f"{field}.data", f"{said}: table {name!r} lists no download URLs")
        if not urls:
            raise MappingError(f"{field}.data", f"table {name!r} lists no download URLs")
        description = _table_description(table)
        stem = f"HEPData-ins{inspire}-v{version}-" + name.replace(" ", "_").replace("/", "_").replace("$", "")
        stem = stem.replace("\\", "")
        landing = f"{site}/record/ins{inspire}?version={version}&table={quote(name)}"
        for key, (label, media_type, extension) in TABLE_FORMATS.items():
            url = urls.get(key)
            if url is None:
                continue
            if not isinstance(url, str) or not url.startswith("http"):
                raise MappingError(f"{field}.data{_key_step(key)}", f"not a URL: {url!r}")
            out.append(
                Distribution(
                    name=f"{stem}.{extension}",
                    url=url,
                    access_url=landing,
                    media_type=media_type,
                    format=label,
                    description=description,
                    role="table",
                    availability=online,
                    identifiers=[table_doi],
                )
            )
    return out


def _absent_text(value: Any, what: str) -> str:
    """Why a required text is unusable: absent, of another kind, or blank."""
    if value is None:
        return f"missing: {what}"
    if not isinstance(value, str):
        return f"expected text, got {type(value).__name__}: {what}"
    return f"blank: {what}"


def _key_step(key: str) -> str:
    """A key as a step of a field path: `.yaml`, but `['yoda.h5']` for a key that has a dot of its own."""
    return f"[{key!r}]" if "." in key else f".{key}"


def _table_description(table: dict[str, Any]) -> str | None:
    location = _text(table.get("location"))
    description = _text(table.get("description"))
    if location and description:
        return f"{location}: {description}"
    return location or description


def _resource_distributions(doc: dict[str, Any]) -> list[Distribution]:
    """Submission resources HEPData minted DOIs for (uploaded files: code, ROOT files, …)."""
    out = []
    for position, item in enumerate(_list(doc.get("resources_with_doi"), "resources_with_doi")):
        field = f"resources_with_doi[{position}]"
        if not isinstance(item, dict):
            raise MappingError(field, f"expected {{filename, description, doi}}, got {type(item).__name__}")
        value = item.get("doi")
        if not isinstance(value, str):
            raise MappingError(f"{field}.doi", _absent_text(value, "a resource HEPData minted a DOI for"))
        try:
            doi = Identifier(scheme=IdentifierScheme.DOI, value=value)
        except ValidationError as error:
            raise MappingError(f"{field}.doi", f"{value!r} is not a DOI") from error
        filename = item.get("filename")
        out.append(
            Distribution(
                # a file name that is not text is skipped for the DOI, as an absent one is
                name=filename if isinstance(filename, str) and filename else value,
                access_url=f"https://doi.org/{doi.value}",
                description=_text(item.get("description")),
                role="auxiliary",
                availability=Availability.ONLINE,
                identifiers=[doi],
            )
        )
    return out


def _submission_archives(record: dict[str, Any], inspire: str, version: int) -> list[Distribution]:
    """The whole submission in each format HEPData offers (`access_urls`), for this version."""
    access_urls = record.get("access_urls") or {}
    if not isinstance(access_urls, dict):
        raise MappingError("record.access_urls", f"expected an object, got {type(access_urls).__name__}")
    links = access_urls.get("links") or {}
    if not isinstance(links, dict):
        raise MappingError("record.access_urls.links", f"expected an object, got {type(links).__name__}")
    out = []

    def this_version(match: re.Match[str]) -> str:
        return f"/download/submission/{match.group(1)}/{version}/"

    for fmt in SUBMISSION_FORMATS:
        url = links.get(fmt.replace(".", "-"))
        if not isinstance(url, str) or "/download/submission/" not in url:
            continue
        # the index holds the latest version's links: point them at this version
        url = _SUBMISSION_VERSION.sub(this_version, url)
        label = TABLE_FORMATS[fmt][0]
        out.append(
            Distribution(
                name=f"HEPData-ins{inspire}-v{version}-{fmt.replace('.', '-')}.tar.gz",
                url=url,
                media_type="application/gzip",
                format=label,
                description=f"The whole submission, every table in {label}",
                role="data",
                availability=Availability.ONLINE,
            )
        )
    return out


def _paper(record: dict[str, Any], inspire: str) -> list[Identifier]:
    """The publication the data belong to: INSPIRE record, arXiv e-print and journal DOI."""
    out = [Identifier(scheme=IdentifierScheme.INSPIRE, value=inspire)]
    arxiv = record.get("arxiv_id")
    if isinstance(arxiv, str) and arxiv.strip() and arxiv.strip() != "None":
        out.append(Identifier(scheme=IdentifierScheme.ARXIV, value=arxiv.strip()))
    doi = record.get("doi")
    if isinstance(doi, str) and doi.strip() and doi.strip() != "None":
        try:
            out.append(Identifier(scheme=IdentifierScheme.DOI, value=doi))
        except ValidationError as error:
            raise MappingError("record.doi", f"{doi!r} is not a DOI") from error
    return out


def _links(record: dict[str, Any]) -> list[str]:
    """Additional resources (web pages, code repositories) and analysis implementations (Rivet, SModelS, …)."""
    links = []
    for position, item in enumerate(_list(record.get("resources"), "record.resources")):
        if not isinstance(item, dict):
            where = f"record.resources[{position}]"
            raise MappingError(where, f"expected {{description, type, url}}, got {type(item).__name__}")
        url = item.get("url")
        if isinstance(url, str) and url.startswith("http"):
            links.append(url)
    for item in _list(record.get("analyses"), "record.analyses"):
        url = item.get("analysis") if isinstance(item, dict) else None
        if isinstance(url, str) and url.startswith("http"):
            links.append(url)
    return _unique(links)
