"""What a record page shows, gathered from the catalogue: the record's fields in reading order, its files with
human sizes, the other records of its dataset, how to cite it, its schema.org JSON-LD and the formats it is served
in; each table and file anchored where its DOI lands, with that DOI (`portal.part_anchors`). `portal.web` renders it
with the templates in `portal/templates/`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lxml import html as lxml_html

from dmlake.lake import Lake
from harvester.catalogue import StoredRecord
from ontology import schemaorg
from ontology.model import RECORD_ID_BASE, Availability, Distribution, Identifier, Record, Replica
from ontology.rdf import iri
from ontology.views import FORMATS, MEDIA_TYPES
from portal.citation import bibtex, citation
from portal.part_anchors import PartAnchors, read_part_anchors
from portal.table_files import human_size
from portal.tables import is_table_name

FORMAT_NAMES = {
    "json": "JSON (dmlake model)",
    "jsonld": "JSON-LD (DCAT-AP 3)",
    "turtle": "Turtle",
    "rdfxml": "RDF/XML",
    "ntriples": "N-Triples",
    "datacite-xml": "DataCite XML",
    "datacite-json": "DataCite JSON",
    "schemaorg": "schema.org JSON-LD",
    "oai-dc": "Dublin Core (oai_dc)",
}
RELATIONS = (
    ("is_supplement_to", "Supplement to"),
    ("references", "References"),
    ("is_part_of", "Part of"),
    ("has_part", "Has part"),
    ("is_version_of", "Version of"),
    ("is_new_version_of", "New version of"),
)
_HTML_TAG = re.compile(r"<\s*(p|br|div|a|ul|ol|li|em|strong|b|i|span|sup|sub|h\d)\b[^>]*>", re.IGNORECASE)


def page_path(record_id: str) -> str:
    """The record page of a record id: `/records/SOURCE/NATIVE_ID`, the native id percent-encoded as stored."""
    return "/records/" + record_id.removeprefix(RECORD_ID_BASE)


def api_path(record_id: str) -> str:
    return "/api/records/" + record_id.removeprefix(RECORD_ID_BASE)


@dataclass(frozen=True)
class FileRow:
    index: int
    file: Distribution
    size: str
    plottable: bool

    @property
    def sites(self) -> list[Replica]:
        """The file's copies, readable ones (online, with a URL) first: what the page lists under "Sites"."""
        return sorted(self.file.replicas, key=lambda r: (not _readable(r), r.site))


def _readable(replica: Replica) -> bool:
    return replica.state == Availability.ONLINE.value and bool(replica.url)


@dataclass(frozen=True)
class Member:
    id: str
    page: str
    source: str
    title: str
    version: str | None
    joined_by: str | None
    current: bool


@dataclass(frozen=True)
class RecordPage:
    stored: StoredRecord
    record: Record
    page: str
    api: str
    where: str
    description: list[str]
    files: list[FileRow]
    total_size: str
    members: list[Member]
    citation: str
    bibtex: str
    jsonld: str
    formats: list[tuple[str, str, str, str]]
    relations: list[tuple[str, list[Identifier]]]
    parts: PartAnchors
    """The anchors its tables' and files' DOIs land on, and those DOIs (`portal.part_anchors`)."""

    @property
    def table_files(self) -> list[FileRow]:
        return [row for row in self.files if row.plottable]


def record_page(lake: Lake, stored: StoredRecord) -> RecordPage:
    record = stored.record
    files = file_rows(record)
    known = [f.size_bytes for f in record.distributions if f.size_bytes is not None]
    total = record.size_bytes if record.size_bytes is not None else (sum(known) if known else None)
    return RecordPage(
        stored=stored,
        record=record,
        page=page_path(record.id),
        api=api_path(record.id),
        where=api_path(record.id) + "/where",
        description=paragraphs(record.description),
        files=files,
        total_size=human_size(total),
        members=_members(lake, record),
        citation=citation(record),
        bibtex=bibtex(record),
        jsonld=script_json(json.dumps(page_jsonld(record), indent=2, ensure_ascii=False)),
        formats=[
            (fmt, FORMAT_NAMES.get(fmt, fmt), MEDIA_TYPES[fmt], f"{api_path(record.id)}?format={quote(fmt)}")
            for fmt in FORMATS
        ],
        relations=[(label, getattr(record, name)) for name, label in RELATIONS if getattr(record, name)],
        parts=read_part_anchors(lake.catalogue.engine, record),
    )


WEB_SCHEMES = ("https://", "http://", "root://", "davs://", "s3://")
"""Replica URLs a reader elsewhere can use; `file://` names a path on one machine, meaningless on a web page."""


def page_jsonld(record: Record) -> dict[str, Any]:
    """The record's schema.org JSON-LD, each file's `contentUrl` also listing the URLs of its online copies whose
    checksum replication verified (the source's own URL first)."""
    document = schemaorg.document(record)
    for entry, file in zip(document.get("distribution", []), record.distributions, strict=True):
        mirrors = [
            str(iri(r.url))
            for r in file.replicas
            if r.url and r.checksum_verified and r.state == Availability.ONLINE.value and r.url.startswith(WEB_SCHEMES)
        ]
        if not mirrors:
            continue
        own = entry.get("contentUrl")
        urls = list(dict.fromkeys([*([own] if own else []), *mirrors]))
        entry["contentUrl"] = urls[0] if len(urls) == 1 else urls
    return document


def file_rows(record: Record) -> list[FileRow]:
    """The record's files in its order, each with its human size and whether the page can plot it."""
    return [
        FileRow(i, f, human_size(f.size_bytes), is_table_name(f.name, f.media_type, f.format, f.role))
        for i, f in enumerate(record.distributions)
    ]


def paragraphs(text: str | None) -> list[str]:
    """A description as plain paragraphs: sources send HTML (Zenodo, CERN) or text; tags are dropped, not shown."""
    if not text:
        return []
    if _HTML_TAG.search(text):
        text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n\n", text)
        try:
            text = lxml_html.fromstring(f"<div>{text}</div>").text_content()
        except (ValueError, lxml_html.etree.ParserError):
            text = re.sub(r"<[^>]+>", "", text)
    return [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def script_json(text: str) -> str:
    """JSON made safe inside a <script> element: `<`, `>` and `&` as JSON escapes, so no string in it can close
    the element or open a comment; a JSON parser reads the same document."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _members(lake: Lake, record: Record) -> list[Member]:
    cluster = lake.catalogue.cluster(record.id)
    if len(cluster.members) <= 1:
        return []
    found = lake.catalogue.records(list(cluster.members))
    members = []
    for member_id in cluster.members:
        other = found.get(member_id)
        if other is None:
            continue
        members.append(
            Member(
                id=member_id,
                page=page_path(member_id),
                source=other.source,
                title=other.title,
                version=other.version,
                joined_by=cluster.rules.get(member_id),
                current=member_id == record.id,
            )
        )
    return members
