"""The catalogue's rules for HTTP validators, on SQLite and PostgreSQL: kept with the record they validate, offered
only while they can vouch for what the catalogue holds.

The source here is in memory and answers "not modified" exactly as a server would (the validator it was shown
equals the item's current one), so each rule can be checked precisely; the HTTP path is tested in
`test_conditional_get.py`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson
import pytest
from alembic import command
from sqlalchemy import insert, select

from connectors.base import Connector, HarvestState, Limits, Page, RawRecord, SourceSpec, provenance_for
from connectors.http import HttpClient
from harvester import db
from harvester.catalogue import Catalogue, now
from harvester.config import Source
from harvester.harvest import Harvester
from harvester.runs import Runs
from harvester.schema import records, runs
from ontology import Record, record_id

PAGE = 4


class ValidatingStore:
    def __init__(self, count: int) -> None:
        self.items = {f"v{i:03d}": {"title": f"Dataset {i}", "etag": f'"{i}-1"'} for i in range(count)}
        self.not_modified: list[str] = []
        self.shown: dict[str, str | None] = {}
        """The validator each id was asked with in the last run (None: asked unconditionally)."""

    def revise(self, native_id: str, title: str | None = None) -> None:
        item = self.items[native_id]
        number, revision = item["etag"].strip('"').split("-")
        item["etag"] = f'"{number}-{int(revision) + 1}"'
        if title is not None:
            item["title"] = title


class ValidatingConnector(Connector):
    kind: ClassVar[str] = "validating"
    mapping_version: ClassVar[str] = "1"
    default_url: ClassVar[str] = "http://validating.invalid"
    store: ClassVar[ValidatingStore]

    def pages(self, state: HarvestState) -> Iterator[Page]:
        ids = sorted(self.store.items)
        self.store.not_modified.clear()
        self.store.shown.clear()
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            held = state.validators(chunk)
            page = Page(checkpoint={"next": start + PAGE}, listing_complete=start + PAGE >= len(ids))
            for native_id in chunk:
                item = self.store.items[native_id]
                shown = held.get(native_id, {}).get("etag")
                self.store.shown[native_id] = shown
                if shown == item["etag"]:  # what a server's If-None-Match comparison does
                    self.store.not_modified.append(native_id)
                    self.http.stats.not_modified += 1  # as the shared client counts a 304
                    page.unchanged.append(native_id)
                    continue
                payload = orjson.dumps({"id": native_id, "title": item["title"]})
                url = f"{self.default_url}/{native_id}"
                page.records.append(
                    RawRecord(native_id, payload, "application/json", url, validators={"etag": item["etag"]})
                )
            yield page

    @classmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        data = orjson.loads(raw.payload)
        return Record(
            id=record_id(source, data["id"]),
            source=source,
            native_id=data["id"],
            title=data["title"],
            provenance=provenance_for(cls, raw, source),
        )


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> ValidatingStore:
    created = ValidatingStore(10)
    monkeypatch.setattr(ValidatingConnector, "store", created, raising=False)
    return created


@pytest.fixture
def harvester(catalogue: Catalogue, store: ValidatingStore) -> Iterator[Harvester]:
    with Harvester(catalogue, HttpClient(Limits()), {"validating": ValidatingConnector}) as running:
        yield running


SOURCE = Source(SourceSpec("val", "validating", "http://validating.invalid"), True, 0.5, None)


def held(catalogue: Catalogue, *ids: str, mapping_version: str = "1") -> dict[str, str | None]:
    found = catalogue.known_validators("val", list(ids), mapping_version)
    return {native_id: found[native_id].get("etag") for native_id in found}


def test_validators_are_stored_with_their_record_and_offered_back(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore
) -> None:
    first = harvester.harvest(SOURCE)
    assert (first.state, first.counts.added) == ("succeeded", 10)
    assert set(store.shown.values()) == {None}, "nothing is held yet: every record asked for unconditionally"
    assert held(catalogue, "v000", "v007", "v999") == {"v000": '"0-1"', "v007": '"7-1"'}

    seq = catalogue.last_seq()
    second = harvester.harvest(SOURCE)
    assert sorted(store.not_modified) == sorted(store.items)
    assert (second.counts.unchanged, second.counts.added, second.counts.updated) == (10, 0, 0)
    assert catalogue.last_seq() == seq


def test_a_changed_record_is_fetched_and_its_new_validators_replace_the_old(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore
) -> None:
    harvester.harvest(SOURCE)
    store.revise("v003", title="Dataset 3, revised")
    store.revise("v004")  # a new revision with the same content: the server's ETag moves, the record does not
    report = harvester.harvest(SOURCE)
    assert (report.counts.updated, report.counts.unchanged) == (1, 9)
    assert sorted(set(store.items) - set(store.not_modified)) == ["v003", "v004"]
    assert held(catalogue, "v003", "v004") == {"v003": '"3-2"', "v004": '"4-2"'}
    harvester.harvest(SOURCE)
    assert sorted(store.not_modified) == sorted(store.items)


def test_a_tombstone_offers_no_validators_and_comes_back_whole(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore
) -> None:
    harvester.harvest(SOURCE)
    gone = store.items.pop("v005")
    report = harvester.harvest(SOURCE)
    assert report.counts.deleted == 1
    assert held(catalogue, "v005") == {}
    store.items["v005"] = gone  # back, with the very ETag its tombstoned copy was stored with
    back = harvester.harvest(SOURCE)
    assert store.shown["v005"] is None and "v005" not in store.not_modified
    assert back.counts.added == 1
    stored = catalogue.find("val", "v005")
    assert stored is not None and stored.tombstone is None


def test_a_new_mapping_version_fetches_everything_again(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 304 would keep a record as the old mapping read it: the validators of another mapping version are not
    offered, so a new mapper sees every payload again (and its records' validators then count again)."""
    harvester.harvest(SOURCE)
    monkeypatch.setattr(ValidatingConnector, "mapping_version", "2")
    assert held(catalogue, "v001", mapping_version="2") == {}
    remapped = harvester.harvest(SOURCE)
    assert store.not_modified == [] and set(store.shown.values()) == {None}
    assert remapped.counts.unchanged == 10
    assert held(catalogue, "v001", mapping_version="2") == {"v001": '"1-1"'}
    harvester.harvest(SOURCE)
    assert sorted(store.not_modified) == sorted(store.items)


def test_a_commit_that_fails_stores_no_validators(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validators and records share the page's transaction: when it rolls back, neither is there."""
    original = Catalogue._save_checkpoint
    calls = itertools.count()

    def failing_second_page(self: Catalogue, *args: Any) -> None:
        if next(calls) == 1:
            raise OSError("simulated failure while saving the checkpoint")
        original(self, *args)

    monkeypatch.setattr(Catalogue, "_save_checkpoint", failing_second_page)
    harvester.batch_records = 1  # one transaction per page: the second page's is the one that fails
    failed = harvester.harvest(SOURCE)
    assert failed.state == "failed"
    assert catalogue.count("val") == PAGE
    assert set(held(catalogue, *store.items)) == {f"v{i:03d}" for i in range(PAGE)}
    monkeypatch.setattr(Catalogue, "_save_checkpoint", original)
    harvester.harvest(SOURCE, full=True)
    assert [store.shown[f"v{i:03d}"] is None for i in range(10)] == [False] * PAGE + [True] * (10 - PAGE)
    assert catalogue.count("val") == 10


def test_the_run_row_and_report_count_not_modified_answers(
    catalogue: Catalogue, harvester: Harvester, store: ValidatingStore
) -> None:
    first = harvester.harvest(SOURCE)
    store.revise("v002", title="changed")
    second = harvester.harvest(SOURCE)
    stored = [Runs(catalogue.engine).get(r.run_id) for r in (first, second)]
    assert [row.not_modified if row else None for row in stored] == [0, 9]
    assert [first.not_modified, second.not_modified] == [0, 9]


# -- the migration -----------------------------------------------------------------------------------------------
def test_migration_0002_keeps_existing_rows_and_offers_them_no_validators(database_url: str) -> None:
    engine = db.create(database_url)
    config = db._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    stamp = now()
    with engine.begin() as connection:
        connection.execute(
            insert(records).values(
                id="dmlake:val/old",
                source="val",
                native_id="old",
                content_hash="0" * 64,
                data=b"x",
                raw_sha256="1" * 64,
                mapping_version="1",
                created_at=stamp,
                updated_at=stamp,
            )
        )
        connection.exec_driver_sql(
            "INSERT INTO runs (source, state, mode, started_at, pages, added, updated, unchanged, deleted, errored, "
            "quarantined, pending_deletions, requests, retries) "
            "VALUES ('val', 'succeeded', 'full', CURRENT_TIMESTAMP, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0)"
        )
    db.migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(select(records.c.validators)).scalar_one() is None
        assert connection.execute(select(runs.c.not_modified)).scalar_one() == 0
    assert Catalogue(engine).known_validators("val", ["old"], "1") == {}
    engine.dispose()
