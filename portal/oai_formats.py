"""The metadata formats the OAI-PMH provider disseminates: `oai_dc` and `oai_datacite`.

* `oai_dc`: `ontology.oai_dc`, for every record.
* `oai_datacite`: DataCite's OAI envelope, version 1.1 (`schemaVersion` 4.6, the configured `datacentreSymbol`, and
  the kernel-4.6 resource of `ontology.datacite` as `payload`), as DataCite's own OAI-PMH provider serves it. A
  record DataCite's schema cannot express (no date at all: `DataCiteError`) is not disseminated in this format: it
  is left out of lists and GetRecord answers `cannotDisseminateFormat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ontology import datacite, oai_dc
from ontology.model import Record
from portal.oai_settings import OaiSettings

OAI_DATACITE_NAMESPACE = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
DATACITE_SCHEMA_VERSION = "4.6"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


class CannotWrite(ValueError):
    """A record that a metadata format cannot express; the message names the record and the reason."""


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    write: Callable[[Record, OaiSettings], etree._Element]
    check: Callable[[Record], None]
    """Raises CannotWrite if the record cannot be written in this format (cheaper than writing it)."""


def _write_oai_dc(record: Record, _settings: OaiSettings) -> etree._Element:
    return oai_dc.element(record)


def _check_nothing(_record: Record) -> None:
    return None


def _write_oai_datacite(record: Record, settings: OaiSettings) -> etree._Element:
    try:
        resource = etree.fromstring(datacite.to_xml(record), _PARSER)
    except datacite.DataCiteError as error:
        raise CannotWrite(str(error)) from None
    root = etree.Element(f"{{{OAI_DATACITE_NAMESPACE}}}oai_datacite", nsmap={None: OAI_DATACITE_NAMESPACE, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI_DATACITE_NAMESPACE} {OAI_DATACITE_SCHEMA}")
    etree.SubElement(root, f"{{{OAI_DATACITE_NAMESPACE}}}schemaVersion").text = DATACITE_SCHEMA_VERSION
    etree.SubElement(root, f"{{{OAI_DATACITE_NAMESPACE}}}datacentreSymbol").text = settings.datacentre_symbol
    etree.SubElement(root, f"{{{OAI_DATACITE_NAMESPACE}}}payload").append(resource)
    return root


def _check_datacite(record: Record) -> None:
    try:
        datacite.attributes(record)
    except datacite.DataCiteError as error:
        raise CannotWrite(str(error)) from None


FORMATS: dict[str, MetadataFormat] = {
    "oai_dc": MetadataFormat("oai_dc", oai_dc.SCHEMA, oai_dc.OAI_DC_NAMESPACE, _write_oai_dc, _check_nothing),
    "oai_datacite": MetadataFormat(
        "oai_datacite", OAI_DATACITE_SCHEMA, OAI_DATACITE_NAMESPACE, _write_oai_datacite, _check_datacite
    ),
}


def unwritable(record: Record) -> list[str]:
    """The prefixes of the formats this record cannot be written in."""
    prefixes = []
    for prefix, metadata_format in FORMATS.items():
        try:
            metadata_format.check(record)
        except CannotWrite:
            prefixes.append(prefix)
    return prefixes


_DATES = ("issued", "created", "modified")


def unwritable_stored(data: Mapping[str, Any]) -> list[str]:
    """`unwritable` on a record as the catalogue stores it (its model JSON). The provider's index asks this of every
    record; building the model and the whole DataCite view of each would cost ten times the rest of indexing.
    DataCite's schema can express a record as soon as it has a publication year — a date, or the time dmlake
    harvested it (`ontology.datacite`: every other mandatory property has a standard value for unknown
    information) — so only a record with neither is built and checked in full. Writing a record for an answer
    checks again: a record that still cannot be written is left out of the answer then."""
    if any(data.get(name) for name in _DATES) or (data.get("provenance") or {}).get("retrieved_at"):
        return []
    return unwritable(Record.model_validate(data))
