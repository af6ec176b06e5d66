"""Records with files, stored in a catalogue as a harvest stores a page, for the tests of replica state (issue 8).

Replication is not needed to test what shows replicas: the tests fill the ledger (`ReplicaLedger.replace`) directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from connectors.base import Deletion, RawRecord
from harvester import codec
from harvester.catalogue import Catalogue, Mapped, PageWork
from harvester.identity_rules import match_keys
from indexer.document import DOCUMENT_FINGERPRINT, member_entry
from ontology import Record, record_id
from ontology.model import Availability, Checksum, Distribution, Identifier, IdentifierScheme, Provenance


@dataclass(frozen=True)
class File:
    name: str
    size: int = 1000
    adler32: str = "0a1b2c3d"
    availability: Availability = Availability.ONLINE
    url: str | None = None


def make_record(
    source: str, native_id: str, files: Sequence[File], title: str = "", doi: str | None = None, kind: str = "fake"
) -> Record:
    payload = f'{{"id": "{native_id}", "title": "{title}", "files": {[f.name for f in files]!r}}}'.encode()
    return Record(
        id=record_id(source, native_id),
        source=source,
        native_id=native_id,
        title=title or f"release {native_id} of {source}",
        identifiers=[Identifier(scheme=IdentifierScheme.DOI, value=doi)] if doi else [],
        distributions=[
            Distribution(
                name=f.name,
                url=f.url or f"https://portal.example.org/{source}/{native_id}/{f.name}",
                size_bytes=f.size,
                checksum=Checksum(algorithm="adler32", value=f.adler32),
                media_type="text/csv",
                availability=f.availability,
            )
            for f in files
        ],
        provenance=Provenance(
            source=source, source_kind=kind, raw_sha256=hashlib.sha256(payload).hexdigest(), mapping_version="1"
        ),
    )


def store(catalogue: Catalogue, *items: Record, run_id: int = 0) -> list[str]:
    """Store records as one harvested page of their source (all of one source); returns their ids."""
    source = items[0].source
    mapped = []
    for item in items:
        payload = item.model_dump_json().encode()
        raw = RawRecord(item.native_id, payload, "application/json", f"fake:{item.native_id}", "1")
        mapped.append(
            Mapped(
                raw=raw,
                record_id=item.id,
                native_id=item.native_id,
                raw_sha256=hashlib.sha256(payload).hexdigest(),
                mapping_version="1",
                content_hash=codec.content_hash(item),
                blob=codec.encode_record(item),
                raw_blob=codec.compress(payload),
                match_keys=tuple(match_keys(item)),
                # the kept index entry, as the mapping worker builds it
                index_entry=codec.compress(orjson.dumps(member_entry(item))),
                index_entry_version=DOCUMENT_FINGERPRINT,
            )
        )
    catalogue.ensure_source(source, "fake", "http://fake.invalid")
    catalogue.commit_page(source, run_id, PageWork(checkpoint={}, mapped=mapped), None)
    return [item.id for item in items]


def tombstone(catalogue: Catalogue, source: str, native_id: str) -> None:
    work = PageWork(checkpoint={}, deletions=[Deletion(native_id, "deleted at the source")])
    catalogue.commit_page(source, 0, work, None)
