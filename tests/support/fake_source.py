"""A tiny in-memory source kind for harvester tests: records are dicts, pages are slices, edits are explicit.

A record dict may carry `dois`, `concepts` (concept DOIs it is a version of) and `papers` (arXiv ids it supplements)
for the identity rules.

It behaves like a real connector (checkpoints, stamps, incremental by stamp, full listings marked complete,
mapping from bytes), without HTTP, so the catalogue's rules can be tested precisely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from connectors.base import Connector, Deletion, HarvestState, MappingError, Page, RawRecord, provenance_for
from ontology import Record, record_id
from ontology.model import Identifier, IdentifierScheme


class FakeStore:
    def __init__(self, count: int) -> None:
        self.items: dict[str, dict[str, Any]] = {
            f"r{i:05d}": {"id": f"r{i:05d}", "title": f"Record {i}", "stamp": 1} for i in range(count)
        }
        self.deleted_signals: list[str] = []
        self.fail_after_pages: int | None = None

    def edit(self, native_id: str, **changes: Any) -> None:
        item = self.items[native_id]
        item.update(changes)
        item["stamp"] += 1


class FakeConnector(Connector):
    kind: ClassVar[str] = "fake"
    mapping_version: ClassVar[str] = "1"
    default_url: ClassVar[str] = "http://fake.invalid"
    store: ClassVar[FakeStore]
    page_size: ClassVar[int] = 10

    def pages(self, state: HarvestState) -> Iterator[Page]:
        ordered = sorted(self.store.items)
        start = int(state.resume["next"]) if state.resume else 0
        pages_done = 0
        while True:
            if self.store.fail_after_pages is not None and pages_done >= self.store.fail_after_pages:
                raise RuntimeError("simulated crash")
            chunk = ordered[start : start + self.page_size]
            known = state.known(chunk)
            page = Page(checkpoint={"next": start + len(chunk)})
            for native_id in chunk:
                item = self.store.items[native_id]
                if not state.full and known.get(native_id) == str(item["stamp"]):
                    page.unchanged.append(native_id)
                else:
                    page.records.append(
                        RawRecord(
                            native_id, orjson.dumps(item), "application/json", f"fake:{native_id}", str(item["stamp"])
                        )
                    )
            start += len(chunk)
            last = start >= len(ordered)
            if last:
                page.deletions = [Deletion(n, "source says deleted") for n in self.store.deleted_signals]
                page.listing_complete = True
            pages_done += 1
            yield page
            if last:
                return

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        data = orjson.loads(raw.payload)
        if data.get("broken"):
            raise MappingError("title", f"cannot read title {data['broken']!r}")
        return Record(
            id=record_id(source, data["id"]),
            source=source,
            native_id=data["id"],
            title=data["title"],
            issued=data.get("issued"),
            identifiers=[Identifier(scheme=IdentifierScheme.DOI, value=doi) for doi in data.get("dois", [])],
            is_version_of=[Identifier(scheme=IdentifierScheme.CONCEPT_DOI, value=c) for c in data.get("concepts", [])],
            is_supplement_to=[Identifier(scheme=IdentifierScheme.ARXIV, value=a) for a in data.get("papers", [])],
            provenance=provenance_for(cls, raw, source),
        )


class FakePaperDataConnector(FakeConnector):
    """The fake kind under HEPData's name: its records are the data of the papers they supplement."""

    kind: ClassVar[str] = "hepdata"
