"""Acceptance (issue 5, item 3): the OAI-PMH provider, served on 127.0.0.1, is harvested completely by two
independent clients, Sickle and pyoai; dmlake's own OAI-PMH connector harvesting it into a second lake reproduces
the catalogue (same records, DOIs, titles, creators, dates; tombstones as deletions); resumption tokens stay valid
across a restart of `dmlake serve`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from lakes import edit, sources_of
from oai_harness import NS, OaiAnswers, Scenario, free_port, identifier_of, oai_app, scenario_lake, serving
from oaipmh.metadata import MetadataRegistry, oai_dc_reader
from pyoai_client import pyoai_client
from sickle import Sickle

from connectors import registry
from dmlake.lake import Lake
from harvester.catalogue import StoredRecord
from harvester.config import SourcesConfig, parse
from ontology.model import Agent, Record
from portal.oai_settings import OaiSettings

SETTINGS = OaiSettings(page_size=25, identifiers_page_size=40)
REPO = Path(__file__).resolve().parents[2]
PLACEHOLDERS = ("(:unav)", "(:tba)", "(:none)", "(:unkn)")
"""DataCite's standard values for unknown information: our oai_datacite writes `(:unav)` for a record without any
creator; dmlake's DataCite reader keeps such a value as a creator's name (a follow-up for connectors/), so the
comparison below reads it as what it means, no creator."""


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with scenario_lake(tmp_path_factory.mktemp("oai-clients")) as built:
        yield built


@pytest.fixture(scope="module")
def url(scenario: Scenario) -> Iterator[str]:
    with serving(oai_app(scenario.lake, SETTINGS)) as base:
        yield base + "/oai"


def catalogue(lake: Lake) -> dict[str, StoredRecord]:
    return {identifier_of(row.id, SETTINGS): row for row in lake.catalogue.iter_records(include_tombstones=True)}


# -- Sickle ---------------------------------------------------------------------------------------------------------
def test_sickle_harvests_everything(url: str, scenario: Scenario) -> None:
    rows = catalogue(scenario.lake)
    sickle = Sickle(url, max_retries=0)
    identify = sickle.Identify()
    assert identify.deletedRecord == "persistent" and identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert [f.metadataPrefix for f in sickle.ListMetadataFormats()] == ["oai_dc", "oai_datacite"]
    specs = {s.setSpec for s in sickle.ListSets()}
    assert {f"source:{row.source}" for row in rows.values()} <= specs

    records = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    assert sorted(r.header.identifier for r in records) == sorted(rows)
    for record in records:
        row = rows[record.header.identifier]
        assert record.deleted == bool(row.tombstone)
        if not record.deleted:
            assert record.metadata["title"] == [row.record.title.strip()]
            assert record.header.datestamp == row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    as_datacite = list(sickle.ListRecords(metadataPrefix="oai_datacite", ignore_deleted=True))
    assert sorted(r.header.identifier for r in as_datacite) == sorted(i for i, row in rows.items() if not row.tombstone)
    for record in as_datacite:
        assert record.metadata["schemaVersion"] == ["4.6"]
        assert record.metadata["title"][0] == rows[record.header.identifier].record.title.strip()

    headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="source:zenodo", ignore_deleted=False))
    assert sorted(h.identifier for h in headers) == sorted(i for i, row in rows.items() if row.source == "zenodo")
    assert {h.identifier for h in headers if h.deleted} == {
        i for i, row in rows.items() if row.source == "zenodo" and row.tombstone
    }
    one = next(i for i, row in rows.items() if not row.tombstone)
    assert sickle.GetRecord(identifier=one, metadataPrefix="oai_dc").metadata["title"] == [
        rows[one].record.title.strip()
    ]


# -- pyoai ------------------------------------------------------------------------------------------------------------
def test_pyoai_harvests_everything_by_post_and_by_get(url: str, scenario: Scenario) -> None:
    rows = catalogue(scenario.lake)
    client_module = pyoai_client()
    metadata = MetadataRegistry()
    metadata.registerReader("oai_dc", oai_dc_reader)
    for client in (client_module.Client(url, metadata), client_module.Client(url, metadata, force_http_get=True)):
        identify = client.identify()
        assert identify.deletedRecord() == "persistent"
        client.updateGranularity()  # seconds: pyoai then sends from/until with seconds
        records = list(client.listRecords(metadataPrefix="oai_dc"))
        assert sorted(header.identifier() for header, _, _ in records) == sorted(rows)
        for header, fields, _ in records:
            row = rows[header.identifier()]
            assert header.isDeleted() == bool(row.tombstone)
            assert header.datestamp() == row.updated_at.replace(microsecond=0, tzinfo=None)
            if not header.isDeleted():
                assert fields.getField("title") == [row.record.title.strip()]
        identifiers = list(client.listIdentifiers(metadataPrefix="oai_datacite"))
        assert sorted(h.identifier() for h in identifiers) == sorted(rows)
        assert {spec for spec, _, _ in client.listSets()} >= {"source", "experiment", "messenger"}
        newest = max(row.updated_at for row in rows.values()).replace(microsecond=0, tzinfo=None)
        recent = list(client.listIdentifiers(metadataPrefix="oai_dc", from_=newest))
        assert {h.identifier() for h in recent} == {
            i for i, row in rows.items() if row.updated_at.replace(microsecond=0, tzinfo=None) >= newest
        }


# -- our own OAI-PMH connector ----------------------------------------------------------------------------------------
def mirror_sources(url: str) -> SourcesConfig:
    lines = []
    for name, prefix in (("mirror-dc", "oai_dc"), ("mirror-datacite", "oai_datacite")):
        lines += [
            f"[sources.{name}]", 'kind = "oaipmh"', f'url = "{url}"',
            f"[sources.{name}.options]", f'metadata_prefix = "{prefix}"',
            f"[sources.{name}.limits]", 'requests_per_minute = "unlimited"', "",
        ]  # fmt: skip
    return parse("\n".join(lines), "<mirror>", sorted(registry()))


def display(agent: Agent) -> str:
    if agent.kind == "person" and agent.family_name and agent.given_name:
        return f"{agent.family_name}, {agent.given_name}"
    return agent.name


def creators_written(record: Record) -> list[str]:
    """The creators a record's views name: its creators, else the collaborations that made the data."""
    if record.creators:
        return [display(a) for a in record.creators]
    return [c.raw if c.raw and not c.raw.startswith("from ") else c.label for c in record.collaboration]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_reproduced(original: Record, mirrored: Record, prefix: str) -> None:
    where = f"{original.id} via {prefix}"
    assert mirrored.title == original.title.strip(), where
    assert sorted(i.value.lower() for i in mirrored.identifiers if i.scheme == "doi") == sorted(
        i.value.lower() for i in original.identifiers if i.scheme == "doi"
    ), where
    assert [display(a) for a in mirrored.creators if a.name not in PLACEHOLDERS] == creators_written(original), where
    assert [c.uri for c in mirrored.experiments] == [c.uri for c in original.experiments], where
    assert mirrored.access_rights == original.access_rights, where
    first_date = original.issued or original.created or original.modified
    if original.issued:
        assert mirrored.issued == original.issued, where
    elif first_date and prefix == "oai_dc":  # Dublin Core has one date: the first the record has
        assert mirrored.issued and moment(mirrored.issued) == moment(first_date), where
    elif first_date:  # DataCite's publicationYear
        assert mirrored.issued == first_date[:4], where
    if prefix == "oai_datacite":  # DataCite says which date is which
        assert mirrored.created == original.created, where
        if original.modified:
            assert mirrored.modified == original.modified, where


def test_our_connector_harvesting_the_provider_reproduces_the_catalogue(
    url: str, scenario: Scenario, tmp_path: Path
) -> None:
    mirror = Lake.open(tmp_path / "mirror")
    try:
        config = mirror_sources(url)
        with mirror.harvester() as harvester:
            for source in config.sources.values():
                report = harvester.harvest(source)
                assert report.state == "succeeded" and report.counts.errored == report.counts.quarantined == 0, report
        rows = catalogue(scenario.lake)
        live = {i for i, row in rows.items() if not row.tombstone}
        for name, prefix in (("mirror-dc", "oai_dc"), ("mirror-datacite", "oai_datacite")):
            mirrored = {row.native_id: row for row in mirror.catalogue.iter_records(source=name)}
            assert set(mirrored) == live, name  # deleted before the mirror first came: never in it
            for identifier, row in mirrored.items():
                assert_reproduced(rows[identifier].record, row.record, prefix)

        # records deleted in the catalogue afterwards reach the mirror as deletions
        removed = edit(scenario.running, "zenodo", "delete", count=2, seed=21)
        with scenario.lake.harvester() as harvester:
            report = harvester.harvest(sources_of(scenario.running).sources["zenodo"], full=True)
        assert report.state == "succeeded" and report.counts.deleted == 2, report
        gone = {identifier_of(row.id, SETTINGS) for row in scenario.lake.catalogue.iter_records(source="zenodo",
                include_tombstones=True) if row.tombstone and row.native_id in removed}  # fmt: skip
        assert len(gone) == 2
        with mirror.harvester() as harvester:
            for source in config.sources.values():
                report = harvester.harvest(source)  # incremental: from the last run's start, minus an overlap
                assert report.state == "succeeded" and report.counts.deleted == 2, report
        for name in ("mirror-dc", "mirror-datacite"):
            tombstoned = {row.native_id for row in mirror.catalogue.iter_records(source=name, include_tombstones=True)
                          if row.tombstone}  # fmt: skip
            assert tombstoned == gone, name
            assert mirror.catalogue.count(name) == len(live) - 2
    finally:
        mirror.close()


# -- a restart of the service -----------------------------------------------------------------------------------------
def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`dmlake serve` on a free port, as an operator starts it; returns the process and its base URL."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DMLAKE_OAI_IDENTIFIERS_PAGE_SIZE": "40",
        "DMLAKE_OAI_ADMIN_EMAIL": "data-manager@example.org",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester.cli", "--home", str(home), "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/oai", params={"verb": "Identify"}, timeout=5).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"dmlake serve did not start: {process.communicate()[1].decode()[-2000:]}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def copy_of_catalogue(lake: Lake, home: Path) -> Path:
    """A new home holding a consistent copy of the lake's catalogue (SQLite's online backup): `dmlake serve` there
    builds its own index, while this process keeps writing the lake's."""
    home.mkdir()
    with (
        sqlite3.connect(lake.home.path / "catalogue.sqlite") as source,
        sqlite3.connect(home / "catalogue.sqlite") as copy,
    ):
        source.backup(copy)
    return home


def test_a_list_goes_on_across_a_restart_of_dmlake_serve(scenario: Scenario, standards: Path, tmp_path: Path) -> None:
    home = copy_of_catalogue(scenario.lake, tmp_path / "served")
    first, base = serve(home)
    try:
        oai = OaiAnswers(httpx.Client(base_url=base, timeout=60), standards)
        expected = oai.walk("ListIdentifiers", metadataPrefix="oai_dc").identifiers()
        page = oai.get(verb="ListIdentifiers", metadataPrefix="oai_dc")
        token = page.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
        identifiers = [h.findtext("oai:identifier", namespaces=NS) for h in page.iterfind(".//oai:header", NS)]
        assert token and len(identifiers) == 40 < len(expected)
    finally:
        stop(first)
    second, base = serve(home)
    try:
        assert not base.endswith(str(first.args[-1])), "a new process on another port"  # type: ignore[index]
        oai = OaiAnswers(httpx.Client(base_url=base, timeout=60), standards)
        while token:
            page = oai.get(verb="ListIdentifiers", resumptionToken=token)
            identifiers += [h.findtext("oai:identifier", namespaces=NS) for h in page.iterfind(".//oai:header", NS)]
            token = page.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
        assert identifiers == expected
    finally:
        stop(second)
