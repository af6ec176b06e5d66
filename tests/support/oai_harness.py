"""Testing the OAI-PMH provider: a client that validates every answer against the OAI-PMH schemas, a lake with
live, edited and deleted records from the sandbox replicas, and the service on 127.0.0.1 in a thread."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from lakes import edit, harvest_all, sources_of
from lxml import etree
from oai_schema import oai_pmh_schema

from connectors.base import RawRecord
from dmlake.lake import Lake
from harvester import codec
from harvester.catalogue import Mapped, PageWork
from ontology.model import Provenance, Record, record_id
from portal.oai import add_oai_routes
from portal.oai_settings import OaiSettings
from sandbox import build_replicas, start
from sandbox.server import RunningSandbox

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"oai": OAI}


class OaiAnswers:
    """GET the provider (over httpx, or a TestClient, which is one); every answer must be HTTP 200, text/xml, and
    valid against OAI-PMH.xsd with the schemas of its metadata, about and description parts (oai_dc, oai_datacite
    with DataCite kernel 4.6, provenance, oai-identifier), which the envelope's `processContents="strict"` makes lxml
    check too."""

    def __init__(self, http: httpx.Client, standards: Path, path: str = "/oai") -> None:
        self.http = http
        self.path = path
        self.schema = oai_pmh_schema(standards)
        self.answers = 0

    def get(self, *pairs: tuple[str, str], **params: str) -> etree._Element:
        query = httpx.QueryParams([*pairs, *params.items()])
        response = self.http.get(self.path, params=query)
        assert response.status_code == 200, (query, response.status_code, response.text[:500])
        assert response.headers["content-type"] == "text/xml; charset=utf-8"
        root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
        if not self.schema.validate(root):
            raise AssertionError(f"invalid answer to {query}: {self.schema.error_log}\n{response.text[:3000]}")
        self.answers += 1
        return root

    def errors(self, *pairs: tuple[str, str], **params: str) -> list[tuple[str, str]]:
        root = self.get(*pairs, **params)
        return [(e.get("code") or "", e.text or "") for e in root.iterfind("oai:error", NS)]

    def codes(self, *pairs: tuple[str, str], **params: str) -> list[str]:
        return [code for code, _ in self.errors(*pairs, **params)]

    def walk(self, verb: str, **params: str) -> Walk:
        """Every page of a list, following resumption tokens."""
        walk = Walk()
        root = self.get(verb=verb, **params)
        while True:
            walk.pages.append(root)
            body = root.find(f"oai:{verb}", NS)
            assert body is not None, etree.tostring(root)[:1000]
            walk.items += [e for e in body if etree.QName(e).localname in ("record", "header")]
            token = body.find("oai:resumptionToken", NS)
            if token is None or not (token.text or "").strip():
                if token is not None:
                    walk.tokens.append(token)
                return walk
            walk.tokens.append(token)
            root = self.get(verb=verb, resumptionToken=token.text.strip())


@dataclass
class Walk:
    pages: list[etree._Element] = field(default_factory=list)
    items: list[etree._Element] = field(default_factory=list)
    tokens: list[etree._Element] = field(default_factory=list)

    def headers(self) -> list[etree._Element]:
        return [i if etree.QName(i).localname == "header" else i.find("oai:header", NS) for i in self.items]

    def identifiers(self) -> list[str]:
        return [h.findtext("oai:identifier", namespaces=NS) for h in self.headers()]

    def deleted(self) -> set[str]:
        return {h.findtext("oai:identifier", namespaces=NS) for h in self.headers() if h.get("status") == "deleted"}


def header_of(item: etree._Element) -> etree._Element:
    found = item if etree.QName(item).localname == "header" else item.find("oai:header", NS)
    assert found is not None
    return found


def identifier_of(record: str, settings: OaiSettings) -> str:
    return f"oai:{settings.repository_identifier}:{record.removeprefix('https://w3id.org/dmlake/record/')}"


# -- lakes --------------------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    lake: Lake
    running: RunningSandbox
    edited: dict[str, list[str]]
    """Native ids edited after the first harvest, by source."""
    deleted: dict[str, list[str]]
    """Native ids deleted at their source after the first harvest, by source (tombstoned by the second harvest)."""


@contextmanager
def scenario_lake(home: Path, generate: int = 30, kinds: Sequence[str] | None = None) -> Iterator[Scenario]:
    """Every replica kind (or `kinds`) with `generate` records each, harvested; then, a second later, some Zenodo
    records edited and three deleted at the source and the Zenodo sources harvested again in full, so the
    catalogue has records of two datestamps and tombstones (deleted records carry the later datestamp)."""
    assert generate >= 30, "three deletions of fewer than 30 records exceed the mass-deletion guard (10%)"
    lake = Lake.open(home)
    with start(build_replicas(generate=generate, seed=5, kinds=list(kinds) if kinds else None)) as running:
        reports = harvest_all(lake, sources_of(running))
        assert all(r.state == "succeeded" for r in reports.values()), reports
        time.sleep(1.1)  # the changes below get a later datestamp, to the second
        edited: dict[str, list[str]] = {}
        deleted: dict[str, list[str]] = {}
        names: list[str] = [n for n in ("zenodo", "zenodo-oai") if n in running.urls]
        for name in names:
            edited[name] = edit(running, name, "edit", count=4, seed=2)
            deleted[name] = edit(running, name, "delete", count=3, seed=9)
        config = sources_of(running)
        with lake.harvester() as harvester:
            for name in edited:
                report = harvester.harvest(config.sources[name], full=True)
                assert report.state == "succeeded" and report.counts.deleted == 3, report
        try:
            yield Scenario(lake, running, edited, deleted)
        finally:
            lake.close()


def store_undated_record(lake: Lake, source: str, native_id: str, title: str) -> str:
    """A record with no date at all and no harvest time, stored as a harvest stores a page: a record DataCite's
    schema cannot express (no publicationYear), as an older harvester could have left it."""
    payload = f'{{"id": "{native_id}", "title": "{title}"}}'.encode()
    sha = hashlib.sha256(payload).hexdigest()
    record = Record(
        id=record_id(source, native_id),
        source=source,
        native_id=native_id,
        title=title,
        provenance=Provenance(source=source, source_kind="fake", raw_sha256=sha, mapping_version="1"),
    )
    raw = RawRecord(native_id, payload, "application/json", f"fake:{native_id}", "1")
    mapped = Mapped(
        raw=raw,
        record_id=record.id,
        native_id=native_id,
        raw_sha256=sha,
        mapping_version="1",
        content_hash=codec.content_hash(record),
        blob=codec.encode_record(record),
        raw_blob=codec.compress(payload),
    )
    lake.catalogue.ensure_source(source, "fake", "http://fake.invalid")
    lake.catalogue.commit_page(source, 0, PageWork(checkpoint={}, mapped=[mapped]), None)
    return record.id


# -- the service on 127.0.0.1 ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve an app with uvicorn on an ephemeral 127.0.0.1 port in a thread; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def oai_app(lake: Lake, settings: OaiSettings) -> FastAPI:
    app = FastAPI()
    add_oai_routes(app, lake, settings)
    return app


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now
