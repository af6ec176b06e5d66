"""KCDC's OAI-PMH prototype (`oai_dc`, profile `kcdc`) → the model.

The prototype serves one `oai_dc` record per preselection. Beside the usual DC fields it packs its catalogue facts
into labelled text values, which this mapper reads:

* `dc:format`: `Size: 11.273 MB` (the ZIP; German digit grouping) and `Format: HDF5`;
* `dc:contributor`: `ContributorName: KASCADE-Grande Collaboration`, `Affiliation: … (https://ror.org/04t3en479)`;
* `dc:description`: `Abstract: …`, `Table of Contents: <file> / <size>` lines (the files inside the ZIP) and
  `TechnicalInfo:` with the quantity tables (`connectors.kcdc_tables`): quantities, ranges, cuts;
* `dc:identifier`: KCDC's repository DOI (re3data `10.17616/R3TS4P`, the same on every record, so it is where the
  record *is part of*, never the record's own DOI) and the ZIP's URL; `dc:rights`: the EULA and its URL.

Pure: the same `<record>` bytes give the same record. A value that cannot be read raises `MappingError` naming the
DC element and the block (`dc:description[TechnicalInfo].GENERAL.row[3]`, `dc:format[Size]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from connectors import kcdc_common as kcdc
from connectors.base import Connector, MappingError, RawRecord, provenance_for
from connectors.kcdc_tables import TableError, TechnicalInfo, parse_range, parse_size, parse_technical_info
from connectors.xmlsafe import XmlError, parse_xml
from ontology.model import (
    Affiliation,
    Agent,
    Concept,
    Distribution,
    EnergyRange,
    Identifier,
    IdentifierScheme,
    Record,
    SelectedQuantity,
    TemporalCoverage,
    record_id,
)
from ontology.vocabulary import concept, experiment_physics

OAI = "{http://www.openarchives.org/OAI/2.0/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"

_LABELLED = re.compile(r"^\s*(?P<label>[^:\n]{1,40}?)\s*:\s*(?P<value>.*)$", re.DOTALL)
# The prototype's files write "Сontributor" with a Cyrillic С; labels are compared after folding such look-alikes.
_HOMOGLYPHS = str.maketrans("САЕОРТКМНВХсаеорх", "CAEOPTKMHBXcaeopx")
_ISO_DATE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?$")
_ROR = re.compile(r"\((?P<ror>https?://ror\.org/[0-9a-z]+)\)\s*$")
_CONTENT_LINE = re.compile(r"^(?P<name>[^/]+?)\s*/\s*(?P<size>\d[\d.,]*\s*[kKMGT]?B)$")
_CONTENTS_PREAMBLE = re.compile(r"^data\s+file\s+names\s*/\s*sizes?\s*", re.IGNORECASE)
_PRIMARY_ENERGY = "E"


@dataclass
class _Fields:
    """The DC elements of one record, text trimmed, labelled values split by label."""

    titles: list[str] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)
    publishers: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    contributors: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)


def map_kcdc_oai_record(raw: RawRecord, source: str, connector: type[Connector]) -> Record:
    """Map one KCDC prototype `<record>` (or a bare `<metadata>` fragment) to the model."""
    try:
        root = parse_xml(raw.payload, f"KCDC OAI record {raw.native_id}")
    except XmlError as error:
        raise MappingError("record", error.message) from None
    header = root.find(f"{OAI}header") if root.tag == f"{OAI}record" else None
    if header is not None and header.get("status") == "deleted":
        raise MappingError("header.status", "the record is deleted: a deletion, not a record to map")
    dc = root if root.tag == f"{OAI_DC}dc" else root.find(f".//{OAI_DC}dc")
    if dc is None:
        raise MappingError("metadata", "no oai_dc:dc element: the kcdc profile reads oai_dc records")
    fields = _read(dc)

    title = _one(fields.titles, "dc:title")
    name = kcdc.parse_set_name(title)
    blocks = _description_blocks(fields.descriptions)
    info = _technical_info(blocks.get("technicalinfo"))
    archive_url, identifiers, part_of = _identifiers(fields.identifiers, raw.native_id)
    size, formats = _formats(fields.formats)
    archive = (
        kcdc.archive(title, archive_url, size, formats[0] if formats else None, "the preselection as one ZIP")
        if archive_url
        else None
    )
    if archive is None and size is not None:
        raise MappingError("dc:identifier", "a size is given but no download URL of the preselection's ZIP")
    contents = _contents(blocks.get("table of contents"), archive)

    experiments = kcdc.experiments(name, [table.group for table in info.tables] if info else [])
    physics = experiment_physics(experiments)
    messengers = physics.messengers or [concept("messenger", "cosmic rays")]
    date = _date(fields.dates)
    selection = _selection(info)
    return Record(
        id=record_id(source, raw.native_id),
        source=source,
        native_id=raw.native_id,
        identifiers=identifiers,
        title=title,
        description=_description(blocks, info),
        resource_type=Concept(uri="http://purl.org/dc/dcmitype/Dataset", label="Dataset", raw=fields.types[0])
        if fields.types
        else None,
        creators=[kcdc.organisation(c) for c in fields.creators],
        contributors=_contributors(fields.contributors),
        collaboration=_collaboration(fields.contributors),
        experiments=experiments,
        publisher=kcdc.organisation(fields.publishers[0]) if fields.publishers else None,
        keywords=[" ".join(s.split()) for s in fields.subjects],
        subjects=[kcdc.subject(s) for s in fields.subjects],
        license=_licence(fields.rights),
        language=fields.languages[0] if fields.languages else None,
        # KCDC's DataCite drafts call this date the selection's creation; in oai_dc it is the one date, of issue
        issued=date,
        created=date,
        temporal_coverage=_coverage(info),
        messengers=messengers,
        detection_technique=physics.techniques,
        targets=physics.targets,
        resource_categories=[kcdc.event_data(t) for t in fields.types[:1]],
        energy_range=_energy_range(selection),
        observables=_observables(selection),
        selection=selection,
        distributions=[d for d in (archive, *contents) if d is not None],
        size_bytes=size,
        formats=formats,
        is_part_of=part_of,
        related_links=[r for r in fields.rights if r.startswith("http")],
        provenance=provenance_for(connector, raw, source),
    )


# -- reading the DC elements -------------------------------------------------------------------------------------
def _read(dc: etree._Element) -> _Fields:
    fields = _Fields()
    for element in dc:
        if not isinstance(element.tag, str) or not element.tag.startswith(DC):
            continue  # comments (the prototype comments out dc:version) and foreign elements
        name = element.tag[len(DC) :]
        values: list[str] | None = getattr(fields, f"{name}s", None) if name != "rights" else fields.rights
        if values is None:
            continue
        text = (element.text or "").strip()
        if text:
            values.append(text)
    return fields


def _one(values: list[str], field_name: str) -> str:
    if not values:
        raise MappingError(field_name, "missing: a KCDC record names its preselection here")
    return " ".join(values[0].split())


def _label(text: str) -> tuple[str, str] | None:
    match = _LABELLED.match(text)
    if match is None:
        return None
    return match.group("label").translate(_HOMOGLYPHS).strip().lower(), match.group("value").strip()


def _written_label(text: str) -> str:
    """A value's label as the source spells it (for an error: `_label` folds it for comparison)."""
    match = _LABELLED.match(text)
    return match.group("label").strip() if match else ""


def _description_blocks(descriptions: list[str]) -> dict[str, str]:
    blocks: dict[str, str] = {}
    for text in descriptions:
        labelled = _label(text)
        key, value = labelled if labelled else ("abstract", text)
        if key not in ("abstract", "table of contents", "technicalinfo"):
            key, value = "abstract", text  # an unlabelled description (or a colon in prose) is prose
        blocks[key] = f"{blocks[key]}\n\n{value}" if key in blocks else value
    return blocks


def _technical_info(text: str | None) -> TechnicalInfo | None:
    if text is None:
        return None
    try:
        return parse_technical_info(text)
    except TableError as error:
        raise MappingError(f"dc:description[{error.field}]", error.message) from None


def _identifiers(values: list[str], native_id: str) -> tuple[str | None, list[Identifier], list[Identifier]]:
    archive_url: str | None = None
    identifiers: list[Identifier] = []
    part_of: list[Identifier] = []
    for value in values:
        value = " ".join(value.split())
        bare = re.sub(r"^(https?://)?(dx\.)?doi\.org/|^doi:", "", value, flags=re.IGNORECASE)
        if bare.startswith("10."):
            doi = kcdc.repository_doi(bare, "dc:identifier")
            (part_of if bare.startswith(kcdc.REPOSITORY_DOI_PREFIX) else identifiers).append(doi)
        elif value.lower().endswith(".zip") and value.startswith("http"):
            if archive_url is not None:
                raise MappingError("dc:identifier", f"two ZIP URLs: {archive_url} and {value}")
            archive_url = value
        elif value.startswith("http"):
            identifiers.append(Identifier(scheme=IdentifierScheme.URL, value=value))
        else:
            identifiers.append(Identifier(scheme=IdentifierScheme.OTHER, value=value))
    if native_id.startswith("oai:"):
        identifiers.append(Identifier(scheme=IdentifierScheme.OAI, value=native_id))
    return archive_url, identifiers, part_of


def _formats(values: list[str]) -> tuple[int | None, list[str]]:
    size: int | None = None
    formats: list[str] = []
    for value in values:
        labelled = _label(value)
        if labelled is not None and labelled[0] == "size":
            size = parse_size(labelled[1])
            if size is None:
                raise MappingError("dc:format[Size]", f"{labelled[1]!r} is not a size such as '11.273 MB' or '542 kB'")
        elif labelled is not None and labelled[0] == "format":
            if not labelled[1]:
                raise MappingError("dc:format[Format]", "empty: expected a file format such as HDF5, ROOT or ASCII")
            formats.append(labelled[1])
        else:
            formats.append(" ".join(value.split()))
    return size, formats


def _contents(text: str | None, archive: Distribution | None) -> list[Distribution]:
    """The files inside the ZIP (`Table of Contents`): reachable through the ZIP, so that is their access URL."""
    if text is None:
        return []
    if archive is None:
        raise MappingError("dc:description[Table of Contents]", "lists files but the record has no ZIP URL")
    files: list[Distribution] = []
    for line in _CONTENTS_PREAMBLE.sub("", text.strip()).splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        match = _CONTENT_LINE.match(line)
        if match is None:
            raise MappingError(
                "dc:description[Table of Contents]",
                f"{line!r} is not a '<file name> / <size>' line such as 'x.h5 / 2 MB'",
            )
        name = match.group("name")
        size = parse_size(match.group("size"))
        if size is None:
            raise MappingError(
                "dc:description[Table of Contents]",
                f"{line!r}: {match.group('size')!r} is not a size such as '2480 MB' or '75 kB'",
            )
        fmt = kcdc.file_format(name)
        files.append(
            Distribution(
                name=name,
                access_url=archive.url,
                size_bytes=size,
                format=fmt,
                media_type=kcdc.FORMAT_MEDIA_TYPES.get(fmt or ""),
                description=f"inside {archive.name}",
                role="data",
            )
        )
    return files


def _contributors(values: list[str]) -> list[Agent]:
    agents: list[Agent] = []
    for value in values:
        labelled = _label(value)
        if labelled is None or labelled[0] != "affiliation":
            name = labelled[1] if labelled else value
            if not name:  # a contributor is its name; an affiliation without one is skipped, below
                raise MappingError(
                    f"dc:contributor[{_written_label(value)}]",
                    "empty: expected a name after the label, such as 'ContributorName: KASCADE-Grande Collaboration'",
                )
            agents.append(kcdc.organisation(name))
        else:
            if not agents:
                raise MappingError("dc:contributor[Affiliation]", "an affiliation before any contributor name")
            ror = _ROR.search(labelled[1])
            name = _ROR.sub("", labelled[1]).strip()
            if name:
                affiliation = Affiliation(name=name, ror=ror.group("ror") if ror else None)
                agents[-1] = agents[-1].model_copy(update={"affiliations": [*agents[-1].affiliations, affiliation]})
    return agents


def _collaboration(values: list[str]) -> list[Concept]:
    found: list[Concept] = []
    for value in values:
        labelled = _label(value)
        name = labelled[1] if labelled else value
        if "collaboration" in name.lower():
            found.append(concept("experiment", " ".join(name.split())))
    return found


def _licence(rights: list[str]) -> Concept | None:
    if not rights:
        return None
    if any(kcdc.EULA_URL in r or "eula" in r.lower() for r in rights):
        return kcdc.eula(" ".join(" ".join(r.split()) for r in rights))
    url = next((r for r in rights if r.startswith("http")), None)
    text = " ".join(rights[0].split())
    return Concept(uri=url, label=text, raw=" ".join(rights))


def _date(values: list[str]) -> str | None:
    if not values:
        return None
    value = values[0].strip()
    match = _ISO_DATE.match(value)
    if match is None:
        raise MappingError("dc:date", f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)")
    year, month, day = (int(part) if part else 1 for part in match.group("year", "month", "day"))
    try:
        date(year, month, day)
    except ValueError as error:  # the shape of a date, not a day of the calendar: `2020-13-01`, `2020-02-30`
        raise MappingError("dc:date", f"{value!r} is not a calendar date ({error})") from None
    return value


def _description(blocks: dict[str, str], info: TechnicalInfo | None) -> str | None:
    parts = [" ".join(blocks["abstract"].split())] if "abstract" in blocks else []
    if info is not None:
        parts += [note for table in info.tables for note in table.notes]
        remarks = [r for r in info.remarks if r.lower() != "remark"]
        if remarks:
            parts.append(" ".join(remarks))
    return "\n\n".join(parts) or None


# -- the quantity tables -----------------------------------------------------------------------------------------
def _selection(info: TechnicalInfo | None) -> list[SelectedQuantity]:
    if info is None:
        return []
    selection: list[SelectedQuantity] = []
    for row in info.rows():
        parsed = parse_range(row.range_text) if row.range_text else None
        cut = row.cut
        selection.append(
            SelectedQuantity(
                quantity=row.quantity,
                description=row.description or None,
                group=row.group,
                min=parsed.low if parsed else None,
                max=parsed.high if parsed else None,
                unit=parsed.unit if parsed else None,
                cut=cut,
                applied=cut is not None and cut.lower() != "full range",
                raw=row.raw,
            )
        )
    return selection


def _energy_range(selection: list[SelectedQuantity]) -> EnergyRange | None:
    """The primary energy's range: a cut on it first (what the release keeps), else the first table's."""
    energies = [q for q in selection if q.quantity == _PRIMARY_ENERGY and q.unit == "eV" and q.min is not None]
    if not energies:
        return None
    chosen = next((q for q in energies if q.applied), energies[0])
    return EnergyRange(min=chosen.min, max=chosen.max, unit="eV", raw=chosen.raw)


def _coverage(info: TechnicalInfo | None) -> TemporalCoverage | None:
    if info is None:
        return None
    for row in info.rows():
        if row.quantity.lower() == "datetime" and row.range_text:
            parsed = parse_range(row.range_text)
            if parsed is not None and parsed.dates is not None:
                return TemporalCoverage(start=parsed.dates[0].isoformat(), end=parsed.dates[1].isoformat())
    return None


def _observables(selection: list[SelectedQuantity]) -> list[Concept]:
    seen: set[str] = set()
    observables: list[Concept] = []
    for quantity in selection:
        label = f"{quantity.description} ({quantity.quantity})" if quantity.description else quantity.quantity
        if label not in seen:
            seen.add(label)
            observables.append(Concept(uri=None, label=label, raw=quantity.raw))
    return observables
