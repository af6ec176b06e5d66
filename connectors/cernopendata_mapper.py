"""CERN Open Data record (the body of `GET /api/records/<recid>`) → the canonical `Record`.

Pure: the same bytes give the same record. Every field the portal carries that the model has is mapped; a value
that cannot be read raises `MappingError` naming the portal's field (`metadata.files[3].checksum`, ...).

Decisions where the portal and the model do not line up one to one:

* Files: `url` is the HTTPS address of the file on the portal's EOS gateway (`https://opendata.cern.ch/eos/opendata/
  ...`, what `cernopendata-client --protocol https` derives from the same URI) because a DCAT `downloadURL` must be
  usable by any client; the XRootD URI the portal stores (`root://eospublic.cern.ch//eos/opendata/...`), which
  analysis frameworks and Rucio use, is kept as `access_url`. Index files get role `index`; the data files they
  list are not expanded into the record (a CMS dataset lists tens of thousands; the index distributions point to
  them and `number_of_events`, `size_bytes` describe them).
* Creators: the record's `authors`; without authors the collaboration (an organisation), which is how the portal's
  own DataCite export credits collaboration datasets.
* Resource type: the portal's primary type as a DCMI Type concept (Dataset, Software, Text for documentation);
  the primary/secondary pair goes to `resource_categories` through the `resource-category` vocabulary.
* Collision energy: `"7TeV"` → √s 7 TeV; a span such as `"183-209GeV"` (several √s in one release) → the record's
  energy range, as √s holds one value.
* Dates: `date_published` → issued; data-taking years (`date_created`, else the years in `run_period`) → temporal
  coverage; the API's `created`/`updated` → created/modified.
* Relations: `isChildOf`/`isPartOf` → is_part_of, `isParentOf` → has_part, any other relation type and every
  `recid` link elsewhere in the record (abstract, usage, methodology, validation, system details, collaboration
  ...) → references, as `cern-recid` identifiers (plus the DOI a relation names). URL links → related_links.
* Availability: data files of a record in cold storage (`distribution.availability = ondemand`, API
  `availability` "on demand"/"partially") are on tape; index files stay online.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping
from html.parser import HTMLParser
from typing import Any, ClassVar

import orjson
from pydantic import ValidationError

from connectors.base import MappingError
from connectors.markup import collapse_whitespace, parse_html
from ontology.model import (
    Affiliation,
    Agent,
    Availability,
    Checksum,
    Collision,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Provenance,
    Quantity,
    Record,
    TemporalCoverage,
    record_id,
)
from ontology.vocabulary import (
    by_uri,
    concept,
    concepts,
    experiment_physics,
    from_uri,
    license_concept,
    lookup,
)

PORTAL = "https://opendata.cern.ch"
EOS_ROOT = "root://eospublic.cern.ch/"
DCMI_TYPE = "http://purl.org/dc/dcmitype/"
RESOURCE_TYPES = {
    "Dataset": "Dataset",
    "Supplementaries": "Dataset",
    "Environment": "Software",
    "Software": "Software",
    "Documentation": "Text",
}
"""The portal's primary types as DCMI Types: supplementaries (trigger tables, configurations, luminosity) are data
that go with datasets; environments (virtual machine images, condition databases) are software to run them."""
PART_OF = {"isChildOf", "isPartOf"}
HAS_PART = {"isParentOf"}
_ENERGY = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>TeV|GeV|MeV|keV|eV)\s*$", re.IGNORECASE)
_ENERGY_SPAN = re.compile(
    r"^\s*(?P<low>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(?P<high>\d+(?:\.\d+)?)\s*(?P<unit>TeV|GeV|MeV|keV|eV)\s*$",
    re.IGNORECASE,
)
_UNITS = {"tev": "TeV", "gev": "GeV", "mev": "MeV", "kev": "keV", "ev": "eV"}
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_MEDIA_TYPES = {
    "root": "application/x-root",
    "json": "application/json",
    "txt": "text/plain",
    "py": "text/x-python",
    "csv": "text/csv",
    "h5": "application/x-hdf5",
    "hdf5": "application/x-hdf5",
    "yaml": "application/yaml",
    "ipynb": "application/x-ipynb+json",
    "gz": "application/gzip",
    "tgz": "application/gzip",
    "zip": "application/zip",
}
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_MONTH_OR_DAY = re.compile(r"\d{4}-\d{2}(-\d{2})?")
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_FILE_AVAILABILITY = {
    "online": Availability.ONLINE,
    "ondemand": Availability.ON_TAPE,
    "partially": Availability.ON_TAPE,
    "requested": Availability.REQUESTED,
}
_RECID = IdentifierScheme.CERN_RECID
_LINK_SKIP = {"recid", "relations", "files", "index_files", "_file_indices", "collaboration", "authors", "pids", "doi"}


def map_cern_record(payload: bytes, source: str, provenance: Provenance) -> Record:
    """Map the bytes of one `GET /api/records/<recid>` response."""
    try:
        envelope = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise MappingError("payload", f"not JSON ({error}); expected the body of GET /api/records/<recid>") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("metadata"), dict):
        raise MappingError("metadata", "missing: expected {'id', 'created', 'updated', 'links', 'metadata'}")
    metadata: dict[str, Any] = envelope["metadata"]
    recid = _recid(metadata, envelope)
    title = _text(metadata.get("title"), "metadata.title")
    if not title:
        raise MappingError("metadata.title", f"missing: record {recid} has no title")

    experiments = concepts("experiment", _string_list(metadata.get("experiment"), "metadata.experiment"))
    physics = experiment_physics(experiments)
    collision, energy_span = _collision(metadata.get("collision_information"))
    distribution = _distribution(metadata)
    record_availability = _record_availability(metadata, distribution)
    distributions = list(_distributions(metadata, record_availability))
    part_of, has_part, references, links = _relations(metadata, recid)
    try:
        return Record(
            id=record_id(source, recid),
            source=source,
            native_id=recid,
            identifiers=_identifiers(metadata, recid),
            landing_page=f"{PORTAL}/record/{recid}",
            title=title,
            description=_description(metadata.get("abstract")),
            resource_type=_resource_type(metadata.get("type")),
            creators=_creators(metadata),
            collaboration=_collaboration(metadata.get("collaboration")),
            experiments=experiments,
            accelerator=_accelerator(metadata.get("accelerator"), experiments),
            publisher=_publisher(metadata.get("publisher")),
            keywords=_string_list(metadata.get("keywords"), "metadata.keywords"),
            subjects=_subjects(metadata.get("categories")),
            license=_license(metadata.get("license")),
            access_rights="open",
            language=_language(metadata.get("language")),
            issued=_date(metadata.get("date_published"), "metadata.date_published"),
            created=_stamp(envelope.get("created"), "created"),
            modified=_stamp(envelope.get("updated"), "updated"),
            temporal_coverage=_temporal_coverage(metadata),
            messengers=physics.messengers,
            detection_technique=physics.techniques,
            targets=physics.targets,
            resource_categories=_categories(metadata.get("type")),
            collision=collision,
            energy_range=energy_span,
            number_of_events=_count(distribution.get("number_events"), "metadata.distribution.number_events"),
            distributions=distributions,
            size_bytes=_size(distribution, distributions),
            formats=_string_list(distribution.get("formats"), "metadata.distribution.formats"),
            is_part_of=part_of,
            has_part=has_part,
            references=references,
            related_links=links,
            provenance=provenance,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        raise MappingError(where, f"record {recid}: {first.get('msg')}") from None


# -- identity -----------------------------------------------------------------------------------------------------
def _recid(metadata: Mapping[str, Any], envelope: Mapping[str, Any]) -> str:
    value = metadata.get("recid", envelope.get("id"))
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise MappingError("metadata.recid", "missing: every CERN Open Data record has a recid")
    if not isinstance(value, str | int):
        raise MappingError("metadata.recid", f"{value!r} is not a record number")
    return str(value).strip()


def _identifiers(metadata: Mapping[str, Any], recid: str) -> list[Identifier]:
    identifiers = [Identifier(scheme=IdentifierScheme.CERN_RECID, value=recid)]
    doi = metadata.get("doi")
    if doi:
        identifiers.append(_identifier(IdentifierScheme.DOI, doi, "metadata.doi"))
    pids = metadata.get("pids")
    oai = pids.get("oai") if isinstance(pids, dict) else None
    if isinstance(oai, dict) and oai.get("id"):
        identifiers.append(_identifier(IdentifierScheme.OAI, oai["id"], "metadata.pids.oai.id"))
    return identifiers


def _identifier(scheme: IdentifierScheme, value: Any, where: str) -> Identifier:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MappingError(where, f"{value!r} is not an identifier")
    try:
        return Identifier(scheme=scheme, value=str(value))
    except ValidationError as error:
        raise MappingError(where, _first_message(error)) from None


# -- description --------------------------------------------------------------------------------------------------
class _PlainText(HTMLParser):
    """HTML → text with paragraphs: block elements end paragraphs, `<br>` ends a line, whitespace collapses."""

    _PARAGRAPH: ClassVar[str] = "\x00P"
    _LINE: ClassVar[str] = "\x00L"
    _BLOCKS: ClassVar[frozenset[str]] = frozenset(
        {"p", "div", "blockquote", "ul", "ol", "table", "tr", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append(self._PARAGRAPH)
        elif tag == "br":
            self.parts.append(self._LINE)
        elif tag == "li":
            self.parts.append(f"{self._LINE}- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append(self._PARAGRAPH)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        raw = collapse_whitespace("".join(self.parts))
        paragraphs = []
        for block in raw.split(self._PARAGRAPH):
            lines = [line.strip() for line in block.split(self._LINE)]
            paragraph = "\n".join(line for line in lines if line)
            if paragraph:
                paragraphs.append(paragraph)
        return "\n\n".join(paragraphs)


def html_to_text(html: str) -> str:
    return parse_html(html, _PlainText).text()


def _description(abstract: Any) -> str | None:
    if abstract is None:
        return None
    if not isinstance(abstract, dict):
        raise MappingError("metadata.abstract", f"expected an object with a description, got {type(abstract).__name__}")
    html = abstract.get("description")
    if html is None:
        return None
    if not isinstance(html, str):
        raise MappingError("metadata.abstract.description", f"expected HTML text, got {type(html).__name__}")
    return html_to_text(html) or None


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MappingError(where, f"expected text, got {type(value).__name__} {value!r:.80}")
    return " ".join(value.split())  # = re.sub(r"\s+", " ", value).strip()


def _string_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise MappingError(where, f"expected a list of strings, got {type(value).__name__}")
    out = []
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise MappingError(f"{where}[{n}]", f"expected text, got {type(item).__name__} {item!r:.80}")
        if item.strip() and item.strip() not in out:
            out.append(item.strip())
    return out


def _item_where(value: Any, item: str, where: str) -> str:
    """Where the payload holds `item`, an entry of `_string_list(value, where)`: that list drops blanks and
    repeats, so its positions are not the payload's (spelt out only for an error)."""
    if not isinstance(value, list):
        return where  # a lone string stands for a list of one
    return next(
        (f"{where}[{n}]" for n, found in enumerate(value) if isinstance(found, str) and found.strip() == item), where
    )


def _first_message(error: ValidationError) -> str:
    return str(error.errors()[0].get("msg", error))


# -- agents -------------------------------------------------------------------------------------------------------
def _creators(metadata: Mapping[str, Any]) -> list[Agent]:
    authors = metadata.get("authors")
    if authors is None:
        authors = []
    if not isinstance(authors, list):
        raise MappingError("metadata.authors", f"expected a list, got {type(authors).__name__}")
    creators = [_author(author, f"metadata.authors[{n}]") for n, author in enumerate(authors)]
    if creators:
        return creators
    collaboration = metadata.get("collaboration")
    name = collaboration.get("name") if isinstance(collaboration, dict) else None
    if isinstance(name, str) and name.strip():
        return [Agent(name=name.strip(), kind="organization")]
    return []


def _author(author: Any, where: str) -> Agent:
    if not isinstance(author, dict):
        raise MappingError(where, f"expected an object with a name, got {type(author).__name__}")
    name = _text(author.get("name"), f"{where}.name")
    if not name:
        raise MappingError(f"{where}.name", "an author without a name")
    family, _, given = name.partition(",")
    affiliations = _affiliations(author.get("affiliation"), author.get("rorid"), where)
    orcid = author.get("orcid")
    try:
        return Agent(
            name=name,
            kind="person",
            family_name=family.strip() if given.strip() else None,
            given_name=given.strip() or None,
            orcid=str(orcid).strip() if orcid else None,
            affiliations=affiliations,
        )
    except ValidationError as error:
        raise MappingError(f"{where}.orcid", _first_message(error)) from None


def _affiliations(names: Any, rors: Any, where: str) -> list[Affiliation]:
    """The portal writes several affiliations as one `;`-separated string, their ROR ids likewise in `rorid`."""
    if names is None or names == "":
        return []
    if not isinstance(names, str):
        raise MappingError(f"{where}.affiliation", f"expected text, got {type(names).__name__}")
    parts = [p.strip() for p in names.split(";")]
    ids = [r.strip() for r in rors.split(";")] if isinstance(rors, str) and rors.strip() else []
    if ids and len(ids) != len(parts):
        ids = []  # cannot tell which ROR id belongs to which affiliation
    affiliations = []
    for n, part in enumerate(parts):
        if part:
            ror = ids[n] if ids and ids[n] else None
            affiliations.append(Affiliation(name=part, ror=f"https://ror.org/{ror}" if ror else None))
    return affiliations


def _publisher(value: Any) -> Agent | None:
    name = _text(value, "metadata.publisher")
    return Agent(name=name, kind="organization") if name else None


def _collaboration(value: Any) -> list[Concept]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MappingError("metadata.collaboration", f"expected an object with a name, got {type(value).__name__}")
    name = _text(value.get("name"), "metadata.collaboration.name")
    return [concept("experiment", name)] if name else []


def _accelerator(value: Any, experiments: list[Concept]) -> Concept | None:
    name = _text(value, "metadata.accelerator")
    if name:
        return concept("accelerator", name)
    # records without an accelerator: the one their experiment ran at, marked as inferred in `raw`
    inferred = {found.accelerator for e in experiments if e.uri and (found := by_uri(e.uri)) and found.accelerator}
    if len(inferred) == 1:
        (uri,) = inferred
        return from_uri(uri, raw=f"from experiment {', '.join(e.label for e in experiments)}")
    return None


def _license(value: Any) -> Concept | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MappingError("metadata.license", f"expected an object with an attribution, got {type(value).__name__}")
    attribution = _text(value.get("attribution"), "metadata.license.attribution")
    return license_concept(attribution) if attribution else None


def _language(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    name = _text(value, "metadata.language")
    return {"english": "en", "en": "en"}.get(name.lower(), name or None) if name else None


# -- type, categories, subjects -----------------------------------------------------------------------------------
def _type(value: Any) -> tuple[str, list[str]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("primary"), str):
        raise MappingError("metadata.type", f"expected {{primary, secondary[]}}, got {value!r:.80}")
    primary = value["primary"].strip()
    if not primary:
        raise MappingError("metadata.type.primary", "blank: expected the portal's type, such as Dataset or Software")
    return primary, _string_list(value.get("secondary"), "metadata.type.secondary")


def _resource_type(value: Any) -> Concept | None:
    parsed = _type(value)
    if parsed is None:
        return None
    primary, secondary = parsed
    raw = f"{primary}/{'+'.join(secondary)}" if secondary else primary
    dcmi = RESOURCE_TYPES.get(primary)
    return Concept(uri=f"{DCMI_TYPE}{dcmi}" if dcmi else None, label=dcmi or primary, raw=raw)


def _categories(value: Any) -> list[Concept]:
    """Secondary types the resource-category vocabulary knows (Collision, Simulated, Derived...), then the primary.

    A dataset's category is its secondary type; "Dataset" itself is not a category. Secondary types that are not
    categories ("Trigger", "Analysis", ...) say nothing the primary does not, so they are not counted as unmapped.
    """
    parsed = _type(value)
    if parsed is None:
        return []
    primary, secondary = parsed
    found: dict[str, Concept] = {}
    for raw in secondary:
        known = lookup("resource-category", raw)
        if known is not None and known.uri not in found:
            found[known.uri] = Concept(uri=known.uri, label=known.label, raw=f"{primary}/{raw}")
    if primary != "Dataset" or not found:
        mapped = concept("resource-category", primary)
        if mapped.uri is None or mapped.uri not in found:
            found.setdefault(mapped.uri or f"raw:{primary}", mapped)
    return list(found.values())


def _subjects(value: Any) -> list[Concept]:
    """The portal's physics categories (`Higgs Physics`, `Standard Model`, ...): free subjects, no vocabulary yet."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise MappingError("metadata.categories", f"expected {{primary, secondary[]}}, got {type(value).__name__}")
    names = []
    if isinstance(value.get("primary"), str):
        names.append(value["primary"])
    names += _string_list(value.get("secondary"), "metadata.categories.secondary")
    unique = dict.fromkeys(n.strip() for n in names if n.strip())
    return [Concept(uri=None, label=name, raw=name) for name in unique]


# -- physics ------------------------------------------------------------------------------------------------------
def parse_energy(text: str) -> Quantity:
    """`"7TeV"` → Quantity(7.0, "TeV", raw="7TeV"); raises ValueError for anything else."""
    match = _ENERGY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an energy (a number and eV, keV, MeV, GeV or TeV, like '13TeV')")
    return Quantity(value=float(match.group("value")), unit=_UNITS[match.group("unit").lower()], raw=text)


def parse_energy_span(text: str) -> EnergyRange | None:
    """`"183-209GeV"` (data taken over several √s, as at LEP2) → EnergyRange(183, 209, "GeV"); None if not a span."""
    match = _ENERGY_SPAN.match(text)
    if match is None:
        return None
    low, high = float(match.group("low")), float(match.group("high"))
    if high < low:
        raise ValueError(f"{text!r}: the upper energy is below the lower one")
    return EnergyRange(min=low, max=high, unit=_UNITS[match.group("unit").lower()], raw=text)


def _collision(value: Any) -> tuple[Collision | None, EnergyRange | None]:
    """The colliding beams and √s; an √s given as a span goes to the record's energy range instead."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise MappingError("metadata.collision_information", f"expected {{energy, type}}, got {type(value).__name__}")
    kind = _text(value.get("type"), "metadata.collision_information.type")
    energy = _text(value.get("energy"), "metadata.collision_information.energy")
    sqrt_s = span = None
    if energy:
        try:
            span = parse_energy_span(energy)
            sqrt_s = None if span is not None else parse_energy(energy)
        except ValueError as error:
            raise MappingError("metadata.collision_information.energy", str(error)) from None
    if not kind and sqrt_s is None:
        return None, span
    return Collision(type=concept("collision-type", kind) if kind else None, sqrt_s=sqrt_s), span


def _distribution(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    value = metadata.get("distribution")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError("metadata.distribution", f"expected an object, got {type(value).__name__}")
    return value


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MappingError(where, f"{value!r} is not a non-negative integer")
    return value


# -- dates --------------------------------------------------------------------------------------------------------
def _date(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not _DATE.fullmatch(text):
        raise MappingError(where, f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return text


def _stamp(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _STAMP.match(value):
        raise MappingError(where, f"{value!r} is not an ISO 8601 timestamp")
    return value


def _temporal_coverage(metadata: Mapping[str, Any]) -> TemporalCoverage | None:
    """Years of data taking: `date_created` (years, or spans like "2015-2016"), else the years in `run_period`."""
    known: set[str] = set()
    for entry in _string_list(metadata.get("date_created"), "metadata.date_created"):
        if _MONTH_OR_DAY.fullmatch(entry):
            known.add(entry)
            continue
        years = _YEAR.findall(entry)
        if not years:
            where = _item_where(metadata.get("date_created"), entry, "metadata.date_created")
            raise MappingError(where, f"{entry!r} names no year of data taking")
        known.update(years)
    if not known:
        periods = _string_list(metadata.get("run_period"), "metadata.run_period")
        known = {year for p in periods for year in _YEAR.findall(p.replace("Run", " "))}
    if not known:
        return None
    ordered = sorted(known)
    return TemporalCoverage(start=ordered[0], end=ordered[-1])


# -- files --------------------------------------------------------------------------------------------------------
def _record_availability(metadata: Mapping[str, Any], distribution: Mapping[str, Any]) -> str:
    state = str(metadata.get("availability") or "").replace(" ", "").lower()
    if distribution.get("availability") == "ondemand" and state in ("", "online"):
        state = "ondemand"
    return state or "online"


def https_url(uri: str) -> str | None:
    """The portal's HTTPS address of an EOS file (`root://eospublic.cern.ch//eos/...` → `https://opendata.cern.ch/eos/...`)."""
    if uri.startswith(EOS_ROOT):
        return PORTAL + uri[len(EOS_ROOT) :]
    if uri.startswith(("http://", "https://")):
        return uri
    return None


def _distributions(metadata: Mapping[str, Any], availability: str) -> Iterator[Distribution]:
    for key, role in (("files", "data"), ("index_files", "index")):
        files = metadata.get(key)
        if files is None:
            continue
        if not isinstance(files, list):
            raise MappingError(f"metadata.{key}", f"expected a list of files, got {type(files).__name__}")
        for n, file in enumerate(files):
            yield _file(file, f"metadata.{key}[{n}]", role, availability)


def _file(file: Any, where: str, role: str, availability: str) -> Distribution:
    if not isinstance(file, dict):
        raise MappingError(where, f"expected {{checksum, size, filename, uri}}, got {type(file).__name__}")
    uri = file.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise MappingError(f"{where}.uri", "a file without a URI")
    uri = uri.strip()
    # a name that is not text is passed over for the next one, as absent ones are: str() would make a list a name
    name = next(
        (text for text in (file.get("filename"), file.get("key")) if isinstance(text, str) and text.strip()),
        uri.rstrip("/").rsplit("/", 1)[-1],
    )
    size = file.get("size")
    if size in (None, ""):
        size = None
    elif isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MappingError(f"{where}.size", f"{size!r} is not a size in bytes")
    checksum = None
    if file.get("checksum"):
        try:
            checksum = Checksum.parse(str(file["checksum"]))
        except (ValueError, ValidationError) as error:
            message = _first_message(error) if isinstance(error, ValidationError) else str(error)
            raise MappingError(f"{where}.checksum", message) from None
    extension = _extension(name)
    if role == "index":
        state = Availability.ON_TAPE if availability == "ondemand" else Availability.ONLINE
    else:
        state = _FILE_AVAILABILITY.get(availability, Availability.UNKNOWN)
    description = file.get("description")
    https = https_url(uri)
    return Distribution(
        name=name,
        url=https or uri,
        access_url=uri if https and https != uri else None,
        size_bytes=size,
        checksum=checksum,
        media_type=_MEDIA_TYPES.get(extension) or mimetypes.guess_type(name)[0],
        format=extension or None,
        description=_text(description, f"{where}.description") or None,
        role=role,  # type: ignore[arg-type]
        availability=state,
    )


def _extension(name: str) -> str:
    base = name.lower()
    if base.endswith(".tar.gz"):
        return "tgz"
    return base.rsplit(".", 1)[1] if "." in base else ""


def _size(distribution: Mapping[str, Any], distributions: list[Distribution]) -> int | None:
    size = _count(distribution.get("size"), "metadata.distribution.size")
    if size is not None:
        return size
    data = [d.size_bytes for d in distributions if d.role == "data"]
    if data and all(s is not None for s in data) and not any(d.role == "index" for d in distributions):
        return sum(s for s in data if s is not None)
    return None


# -- relations ----------------------------------------------------------------------------------------------------
def _recid_identifier(value: Any, where: str) -> Identifier | None:
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    if not isinstance(value, str | int) or not str(value).strip().isdigit():
        raise MappingError(where, f"{value!r} is not a CERN Open Data record number")
    return Identifier(scheme=_RECID, value=str(value).strip())


def _relations(
    metadata: Mapping[str, Any], recid: str
) -> tuple[list[Identifier], list[Identifier], list[Identifier], list[str]]:
    part_of: dict[str, Identifier] = {}
    has_part: dict[str, Identifier] = {}
    references: dict[str, Identifier] = {}
    links: dict[str, None] = {}

    def add(target: dict[str, Identifier], identifier: Identifier | None) -> None:
        if identifier is not None and not (identifier.scheme == _RECID and identifier.value == recid):
            target.setdefault(identifier.key(), identifier)

    relations = metadata.get("relations")
    if relations is not None and not isinstance(relations, list):
        raise MappingError("metadata.relations", f"expected a list, got {type(relations).__name__}")
    for n, relation in enumerate(relations or []):
        where = f"metadata.relations[{n}]"
        if not isinstance(relation, dict):
            raise MappingError(where, f"expected {{type, recid?, doi?}}, got {type(relation).__name__}")
        kind = relation.get("type") if isinstance(relation.get("type"), str) else ""  # unknown: a reference
        target = part_of if kind in PART_OF else has_part if kind in HAS_PART else references
        add(target, _recid_identifier(relation.get("recid"), f"{where}.recid"))
        if relation.get("doi"):
            add(target, _identifier(IdentifierScheme.DOI, relation["doi"], f"{where}.doi"))

    collaboration = metadata.get("collaboration")
    if isinstance(collaboration, dict):
        add(references, _recid_identifier(collaboration.get("recid"), "metadata.collaboration.recid"))
    for path, node in _nested_objects(metadata):
        if "recid" in node:
            try:
                add(references, _recid_identifier(node["recid"], "recid"))
            except MappingError as error:  # the location is spelt out only when there is an error to report
                raise MappingError(f"{_where(path)}.recid", error.message) from None
        url = node.get("url")
        if isinstance(url, str) and url.strip():
            absolute = url.strip() if "://" in url else f"{PORTAL}/{url.strip().lstrip('/')}"
            links.setdefault(absolute, None)
    repository = metadata.get("source_code_repository")
    if isinstance(repository, dict) and isinstance(repository.get("url"), str):
        links.setdefault(repository["url"].strip(), None)
    return list(part_of.values()), list(has_part.values()), list(references.values()), list(links)


_Path = tuple[Any, str | int] | tuple[()]
"""Where a nested object sits below `metadata`, as (parent's path, key or index): built at no more cost than a
pair per object, spelt out by `_where` only for an error."""


def _nested_objects(metadata: Mapping[str, Any]) -> list[tuple[_Path, dict[str, Any]]]:
    """Every object nested in the record's descriptive fields (links live in abstract, usage, methodology ...),
    parents before their children, each with its path below `metadata`."""
    found: list[tuple[_Path, dict[str, Any]]] = []
    for key, value in metadata.items():
        if key in _LINK_SKIP:
            continue
        if isinstance(value, dict):
            path = ((), key)
            found.append((path, value))
            _visit(value.items(), path, found)
        elif isinstance(value, list):
            _visit(enumerate(value), ((), key), found)
    return found


def _visit(children: Iterable[tuple[str | int, Any]], path: _Path, found: list[tuple[_Path, dict[str, Any]]]) -> None:
    for key, value in children:
        if isinstance(value, dict):
            child = (path, key)
            found.append((child, value))
            if value:
                _visit(value.items(), child, found)
        elif isinstance(value, list) and value:
            _visit(enumerate(value), (path, key), found)


def _where(path: _Path) -> str:
    """`(((((), "usage"), "links"), 2)` → `metadata.usage.links[2]`."""
    steps: list[str] = []
    while path:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "metadata" + "".join(reversed(steps))
