"""Resumption tokens and the provider's own index: tokens are signed, expire when they say and not before, survive a
restart of the service; records changing during a listing are neither lost nor repeated; the index follows the
change feed and rebuilds itself; settings are checked; a catalogue without records has no set hierarchy."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lakes import edit, sources_of
from oai_harness import NS, Clock, OaiAnswers, Scenario, oai_app, scenario_lake

from dmlake.lake import Lake
from portal.oai_settings import OaiSettings, OaiSettingsError
from portal.oai_store import STORE_FILE
from portal.oai_tokens import KEY_FILE, BadToken, ListPosition, TokenCodec, load_or_create_key

POSITION = ListPosition("ListRecords", "oai_dc", "experiment:cms", None, "2026-01-01T00:00:00.999999Z",
                        ("2025-12-31T23:59:59.000001Z", "https://w3id.org/dmlake/record/zenodo/1"), 50)  # fmt: skip
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# -- tokens on their own ----------------------------------------------------------------------------------------------
def test_a_token_gives_back_its_position_until_it_expires() -> None:
    codec = TokenCodec(b"k" * 32)
    token = codec.encode(POSITION, NOW + timedelta(minutes=10))
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    position, expires = codec.decode(token, "ListRecords", NOW + timedelta(minutes=9, seconds=59))
    assert position == POSITION and expires == NOW + timedelta(minutes=10)
    with pytest.raises(BadToken, match=r"expired at 2026-01-01T00:10:00Z; start the list again with from=2025-12-31"):
        codec.decode(token, "ListRecords", NOW + timedelta(minutes=10))


def test_a_token_cannot_be_altered_forged_or_used_for_another_verb() -> None:
    codec = TokenCodec(b"k" * 32)
    token = codec.encode(POSITION, NOW + timedelta(days=1))
    body, mac = token.split(".")
    widened = TokenCodec(b"k" * 32).encode(
        ListPosition("ListRecords", "oai_dc", None, None, POSITION.upper, None, 0), NOW + timedelta(days=1)
    )
    with pytest.raises(BadToken, match="was not issued by this repository or was altered"):
        codec.decode(widened.split(".")[0] + "." + mac, "ListRecords", NOW)  # someone else's body, our signature
    with pytest.raises(BadToken, match="was not issued by this repository or was altered"):
        TokenCodec(b"x" * 32).decode(token, "ListRecords", NOW)  # another repository's key
    with pytest.raises(BadToken, match="continues a ListRecords list, not ListIdentifiers"):
        codec.decode(token, "ListIdentifiers", NOW)
    for garbage in ("", "junk", "a.b.c", body, "%%%." + mac, token + "x"):
        with pytest.raises(BadToken):
            codec.decode(garbage, "ListRecords", NOW)


def test_the_key_is_made_once_private_to_its_owner_and_shared_by_concurrent_starts(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_key(tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]  # no leftovers
    assert load_or_create_key(tmp_path) == keys[0]
    (tmp_path / KEY_FILE).write_text("not hex\n")
    with pytest.raises(RuntimeError, match="delete it"):
        load_or_create_key(tmp_path)


# -- settings -------------------------------------------------------------------------------------------------------
def test_settings_from_the_environment_are_checked() -> None:
    settings = OaiSettings.from_env(
        contact="dmlake-admin@localhost",  # not an adminEmail (no dot in the domain): the next candidate is used
        environ={"DMLAKE_CONTACT": "curator@lab.example.org", "DMLAKE_OAI_PAGE_SIZE": "7"},
    )
    assert settings.admin_emails == ("curator@lab.example.org",) and settings.page_size == 7
    assert OaiSettings.from_env(contact="dm@example.org", environ={}).admin_emails == ("dm@example.org",)
    assert OaiSettings.from_env(environ={}).token_lifetime == timedelta(days=1)
    two = OaiSettings.from_env(environ={"DMLAKE_OAI_ADMIN_EMAIL": "a@x.org, b@y.org"})
    assert two.admin_emails == ("a@x.org", "b@y.org")
    with pytest.raises(OaiSettingsError, match="at least 600 s"):
        OaiSettings.from_env(environ={"DMLAKE_OAI_TOKEN_LIFETIME": "599"})
    with pytest.raises(OaiSettingsError, match="DMLAKE_OAI_PAGE_SIZE must be a number"):
        OaiSettings.from_env(environ={"DMLAKE_OAI_PAGE_SIZE": "many"})
    with pytest.raises(OaiSettingsError, match="not a domain name"):
        OaiSettings.from_env(environ={"DMLAKE_OAI_REPOSITORY_IDENTIFIER": "localhost"})
    with pytest.raises(OaiSettingsError, match="root@localhost is not an e-mail address"):
        OaiSettings.from_env(environ={"DMLAKE_OAI_ADMIN_EMAIL": "root@localhost"})


# -- an empty catalogue ------------------------------------------------------------------------------------------------
def test_a_catalogue_without_records_has_no_sets_and_no_records(tmp_path: Path, standards: Path) -> None:
    lake = Lake.open(tmp_path)
    try:
        clock = Clock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
        oai = OaiAnswers(TestClient(oai_app(lake, OaiSettings(clock=clock))), standards)
        assert oai.get(verb="Identify").findtext("oai:Identify/oai:earliestDatestamp", namespaces=NS) == (
            "2026-03-01T12:00:00Z"
        )
        assert oai.codes(verb="ListSets") == ["noSetHierarchy"]
        assert oai.codes(verb="ListRecords", metadataPrefix="oai_dc", set="source:zenodo") == ["noSetHierarchy"]
        assert oai.codes(verb="ListIdentifiers", metadataPrefix="oai_dc") == ["noRecordsMatch"]
        assert len(oai.get(verb="ListMetadataFormats").findall(".//oai:metadataFormat", NS)) == 2
    finally:
        lake.close()


# -- a lake that changes ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with scenario_lake(tmp_path_factory.mktemp("oai-tokens"), generate=30, kinds=["zenodo", "hepdata"]) as built:
        yield built


def full_list(oai: OaiAnswers, verb: str = "ListIdentifiers") -> list[str]:
    return oai.walk(verb, metadataPrefix="oai_dc").identifiers()


def test_tokens_survive_a_restart_of_the_service(scenario: Scenario, standards: Path) -> None:
    settings = OaiSettings(identifiers_page_size=9)
    before = OaiAnswers(TestClient(oai_app(scenario.lake, settings)), standards)
    expected = full_list(before)
    first = before.get(verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
    assert token
    # a new process: the catalogue opened again, a new provider, the key read from the home
    reopened = Lake.open(scenario.lake.home.path)
    try:
        after = OaiAnswers(TestClient(oai_app(reopened, settings)), standards)
        identifiers = [h.findtext("oai:identifier", namespaces=NS) for h in first.iterfind(".//oai:header", NS)]
        root = after.get(verb="ListIdentifiers", resumptionToken=token)
        while True:
            identifiers += [h.findtext("oai:identifier", namespaces=NS) for h in root.iterfind(".//oai:header", NS)]
            token = root.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
            if not token:
                break
            root = after.get(verb="ListIdentifiers", resumptionToken=token)
        assert identifiers == expected
    finally:
        reopened.close()


def test_tokens_expire_after_their_lifetime_and_not_before(scenario: Scenario, standards: Path) -> None:
    clock = Clock()
    settings = OaiSettings(page_size=5, token_lifetime=timedelta(minutes=10), clock=clock)
    oai = OaiAnswers(TestClient(oai_app(scenario.lake, settings)), standards)
    first = oai.get(verb="ListRecords", metadataPrefix="oai_dc")
    token = first.find("oai:ListRecords/oai:resumptionToken", NS)
    assert token is not None and token.text
    assert token.get("expirationDate") == (clock.now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    issued = clock.now
    clock.now = issued + timedelta(minutes=9, seconds=59)
    assert len(oai.get(verb="ListRecords", resumptionToken=token.text).findall(".//oai:record", NS)) == 5
    clock.now = issued + timedelta(minutes=10, seconds=1)
    ((code, message),) = oai.errors(verb="ListRecords", resumptionToken=token.text)
    assert code == "badResumptionToken" and "expired" in message and "from=" in message


def test_records_changing_during_a_listing_are_neither_lost_nor_repeated(scenario: Scenario, standards: Path) -> None:
    settings = OaiSettings(identifiers_page_size=8)
    oai = OaiAnswers(TestClient(oai_app(scenario.lake, settings)), standards)
    time.sleep(1.1)  # the listing starts a second after the last harvest
    first = oai.get(verb="ListIdentifiers", metadataPrefix="oai_dc", set="source:zenodo")
    started = first.findtext("oai:responseDate", namespaces=NS) or ""
    headers = first.findall(".//oai:header", NS)
    token = first.find("oai:ListIdentifiers/oai:resumptionToken", NS)
    assert token is not None and token.text and len(headers) == 8
    size_before = int(token.get("completeListSize") or 0)
    delivered = [h.findtext("oai:identifier", namespaces=NS) or "" for h in headers]
    live = [row for row in scenario.lake.catalogue.iter_records(source="zenodo")]
    ahead = [row for row in live if settings_identifier(row.id) not in delivered]
    behind = [row for row in live if settings_identifier(row.id) in delivered]
    changed_behind, changed_ahead, deleted_ahead = behind[0], ahead[-1], ahead[-2]
    time.sleep(1.1)  # the changes get a datestamp after the listing's start
    edit(scenario.running, "zenodo", "edit", ids=[changed_behind.native_id, changed_ahead.native_id])
    edit(scenario.running, "zenodo", "delete", ids=[deleted_ahead.native_id])
    with scenario.lake.harvester() as harvester:
        report = harvester.harvest(sources_of(scenario.running).sources["zenodo"], full=True)
    assert report.state == "succeeded" and report.counts.updated == 2 and report.counts.deleted == 1, report

    rest: list[str] = []
    root = oai.get(verb="ListIdentifiers", resumptionToken=token.text)
    sizes = []
    while True:
        rest += [h.findtext("oai:identifier", namespaces=NS) or "" for h in root.iterfind(".//oai:header", NS)]
        last = root.find("oai:ListIdentifiers/oai:resumptionToken", NS)
        if last is None:
            break
        sizes.append(int(last.get("completeListSize") or 0))
        if not last.text:
            break
        root = oai.get(verb="ListIdentifiers", resumptionToken=last.text)
    listed = delivered + rest
    unchanged = {settings_identifier(row.id) for row in live} - {
        settings_identifier(r.id) for r in (changed_behind, changed_ahead, deleted_ahead)
    }
    assert len(listed) == len(set(listed)), "nothing is repeated"
    assert unchanged <= set(listed), "every record that did not change is delivered"
    assert (
        settings_identifier(changed_behind.id) in delivered
        and listed.count(settings_identifier(changed_behind.id)) == 1
    )
    assert not {settings_identifier(changed_ahead.id), settings_identifier(deleted_ahead.id)} & set(rest)
    # the three changed records left the list (their datestamps are past its frozen end): its size says so
    assert sizes and all(size == size_before - 3 for size in sizes)

    # the next incremental harvest, from the listing's start, gets exactly the three changes
    walk = oai.walk("ListIdentifiers", metadataPrefix="oai_dc", set="source:zenodo", **{"from": started})
    assert set(walk.identifiers()) == {
        settings_identifier(r.id) for r in (changed_behind, changed_ahead, deleted_ahead)
    }
    assert walk.deleted() == {settings_identifier(deleted_ahead.id)}


def settings_identifier(record_id: str) -> str:
    return "oai:dmlake.localhost:" + record_id.removeprefix("https://w3id.org/dmlake/record/")


# -- the provider's index ----------------------------------------------------------------------------------------------
def test_the_index_follows_the_feed_and_rebuilds_itself(scenario: Scenario, standards: Path) -> None:
    lake = scenario.lake
    oai = OaiAnswers(TestClient(oai_app(lake, OaiSettings())), standards)
    before = oai.walk("ListRecords", metadataPrefix="oai_dc")
    path = lake.home.path / STORE_FILE
    with sqlite3.connect(path) as conn:
        seq = int(conn.execute("SELECT value FROM state WHERE key = 'seq'").fetchone()[0])
    assert seq == lake.catalogue.last_seq()

    latest_before = max(h.findtext("oai:datestamp", namespaces=NS) or "" for h in before.headers())
    time.sleep(1.1)
    edited = edit(scenario.running, "hepdata", "edit", count=2, seed=4)
    with lake.harvester() as harvester:
        report = harvester.harvest(sources_of(scenario.running).sources["hepdata"], full=True)
    assert report.state == "succeeded" and len(edited) == 2
    followed = oai.walk("ListRecords", metadataPrefix="oai_dc")
    assert set(before.identifiers()) <= set(followed.identifiers())
    newest = {
        settings_identifier(row.id)
        for row in lake.catalogue.iter_records(include_tombstones=True)
        if row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ") > latest_before
    }
    assert len(newest) == report.counts.added + report.counts.updated + report.counts.deleted > 0
    assert set(followed.identifiers()[-len(newest) :]) == newest, "the changed records come last, newest datestamps"

    for damage in ("DELETE FROM state WHERE key = 'version'", "UPDATE state SET value = '999999' WHERE key = 'seq'"):
        with sqlite3.connect(path) as conn:
            conn.execute(damage)
        assert oai.walk("ListRecords", metadataPrefix="oai_dc").identifiers() == followed.identifiers()
        with sqlite3.connect(path) as conn:
            seq = int(conn.execute("SELECT value FROM state WHERE key = 'seq'").fetchone()[0])
        assert seq == lake.catalogue.last_seq(), "rebuilt up to the feed"
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    fresh = OaiAnswers(TestClient(oai_app(lake, OaiSettings())), standards)
    assert fresh.walk("ListRecords", metadataPrefix="oai_dc").identifiers() == followed.identifiers()


def test_while_another_process_writes_the_index_answers_come_from_its_last_commit(
    scenario: Scenario, standards: Path
) -> None:
    lake = scenario.lake
    oai = OaiAnswers(TestClient(oai_app(lake, OaiSettings())), standards)
    before = set(oai.walk("ListIdentifiers", metadataPrefix="oai_dc").identifiers())
    edit(scenario.running, "zenodo", "edit", count=1, seed=33)
    with lake.harvester() as harvester:
        report = harvester.harvest(sources_of(scenario.running).sources["zenodo"], full=True)
    assert report.state == "succeeded" and report.counts.updated == 1, report
    changed = max(lake.catalogue.iter_records(source="zenodo"), key=lambda row: row.updated_at)
    other = sqlite3.connect(lake.home.path / STORE_FILE, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing the index
    try:
        started = time.monotonic()
        stale = oai.get(verb="GetRecord", identifier=settings_identifier(changed.id), metadataPrefix="oai_dc")
        assert time.monotonic() - started < 10
        datestamp = stale.findtext(".//oai:header/oai:datestamp", namespaces=NS)
        assert datestamp != changed.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "the last commit: the old version"
        assert set(oai.walk("ListIdentifiers", metadataPrefix="oai_dc").identifiers()) == before
    finally:
        other.execute("ROLLBACK")
        other.close()
    fresh = oai.get(verb="GetRecord", identifier=settings_identifier(changed.id), metadataPrefix="oai_dc")
    assert fresh.findtext(".//oai:header/oai:datestamp", namespaces=NS) == changed.updated_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
