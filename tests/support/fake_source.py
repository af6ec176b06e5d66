"""A tiny in-memory source kind for harvester tests: records are dicts, pages are slices, edits are explicit.

It behaves like a real connector (checkpoints, stamps, incremental by stamp, full listings marked complete,
mapping from bytes), without HTTP, so the catalogue's rules can be tested precisely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import orjson

from connectors.base import Connector, Deletion, HarvestState, MappingError, Page, RawRecord, provenance_for
from ontology import Record, record_id


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
            provenance=provenance_for(cls, raw, source),
        )
