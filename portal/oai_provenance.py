"""The `<about>` of records dmlake harvested from another OAI-PMH repository: where the metadata came from.

An aggregator that re-exposes harvested metadata says so in each record's `about` with the OAI provenance schema
(`http://www.openarchives.org/OAI/2.0/provenance`, as OpenAIRE asks of aggregators): the origin repository's base
URL, the record's identifier and datestamp there, the namespace of the metadata format harvested, when dmlake
harvested it, and `altered="true"` (the metadata were mapped to dmlake's model and written anew). All of it is read
from the raw `<record>` dmlake keeps, so it states what the origin sent, not what dmlake assumes.

Records from sources that are not OAI-PMH repositories (REST APIs, GitLab, HTML pages) have no such description:
the schema describes OAI harvesting only; their origin is the record's `dc:source`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from urllib.parse import urlsplit, urlunsplit

from lxml import etree

from ontology.model import Record

PROVENANCE_NAMESPACE = "http://www.openarchives.org/OAI/2.0/provenance"
PROVENANCE_SCHEMA = "http://www.openarchives.org/OAI/2.0/provenance.xsd"
OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_CONNECTOR_KIND = "oaipmh"
_P = f"{{{PROVENANCE_NAMESPACE}}}"
_OAI = f"{{{OAI_NAMESPACE}}}"
_DATESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

RawPayload = Callable[[str], bytes | None]
"""The raw bytes dmlake stored under a sha256, if it has them."""


def provenance(record: Record, raw_payload: RawPayload) -> etree._Element | None:
    """The `provenance` element of a record harvested over OAI-PMH, or None."""
    origin = record.provenance
    if origin.source_kind != OAI_CONNECTOR_KIND or not origin.source_url or origin.retrieved_at is None:
        return None
    raw = raw_payload(origin.raw_sha256)
    if raw is None:
        return None
    try:
        harvested = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        return None
    identifier = harvested.findtext(f"{_OAI}header/{_OAI}identifier")
    datestamp = (harvested.findtext(f"{_OAI}header/{_OAI}datestamp") or "").strip()
    metadata = harvested.find(f"{_OAI}metadata")
    formats = [child for child in metadata if isinstance(child.tag, str)] if metadata is not None else []
    if not identifier or not _DATESTAMP.match(datestamp) or not formats:
        return None
    parts = urlsplit(origin.source_url)
    harvest_date = origin.retrieved_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root = etree.Element(f"{_P}provenance", nsmap={None: PROVENANCE_NAMESPACE, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{PROVENANCE_NAMESPACE} {PROVENANCE_SCHEMA}")
    description = etree.SubElement(root, f"{_P}originDescription", harvestDate=harvest_date, altered="true")
    etree.SubElement(description, f"{_P}baseURL").text = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    etree.SubElement(description, f"{_P}identifier").text = identifier.strip()
    etree.SubElement(description, f"{_P}datestamp").text = datestamp
    etree.SubElement(description, f"{_P}metadataNamespace").text = etree.QName(formats[0]).namespace
    return root
