"""Several in-memory sources (`fake_source`), each with its own store, harvested into one catalogue."""

from __future__ import annotations

from typing import Any

from fake_source import FakeConnector, FakeStore

from connectors.base import Connector, Limits, SourceSpec
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from ontology import record_id


class Lab:
    """Sources of the fake kind, each with its own store, harvested into one catalogue."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.stores: dict[str, FakeStore] = {}
        self.kinds: dict[str, type[Connector]] = {}

    def source(self, name: str, items: list[dict[str, Any]], base: type[FakeConnector] = FakeConnector) -> FakeStore:
        store = FakeStore(0)
        store.items = {item["id"]: {"title": f"{name} {item['id']}", "stamp": 1, **item} for item in items}
        kind = f"{base.kind}-{name}"
        self.kinds[kind] = type(f"Fake_{name}", (base,), {"store": store})
        self.stores[name] = store
        return store

    def harvest(self, *names: str, full: bool = False) -> None:
        harvester = Harvester(self.catalogue, HttpClient(Limits()), self.kinds)
        for name in names or tuple(self.stores):
            kind = next(k for k in self.kinds if k.endswith(f"-{name}"))
            spec = SourceSpec(name, kind, "http://fake.invalid")
            report = harvester.harvest(Source(spec, True, 0.9, None), full=full)
            assert report.state == "succeeded", report

    def members(self, source: str, native_id: str) -> tuple[str, ...]:
        return self.catalogue.cluster(record_id(source, native_id)).members
