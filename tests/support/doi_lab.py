"""The DOI tests' lab: GitLab/DMDC and KCDC corpus replicas harvested into a real lake, and a DataCite replica."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lakes import harvest_all, sources_of

from connectors.base import RawRecord
from dmlake.lake import Lake
from harvester import codec
from harvester.catalogue import Mapped, PageWork
from ontology.model import Record
from sandbox.replicas.datacite import DEFAULT_ACCOUNT, DataCiteReplica
from sandbox.server import RunningSandbox

REPO = Path(__file__).resolve().parents[2]
PORTALS = ["dmdc", "kcdc-html"]
PUBLIC_URL = "https://lake.example.org"


@dataclass
class DoiLab:
    """A harvested home, the portal replicas it came from, and the DataCite replica its policy points at."""

    home: Path
    portals: RunningSandbox
    datacite: RunningSandbox
    replica: DataCiteReplica

    @property
    def endpoint(self) -> str:
        return self.datacite.urls["datacite"]

    def env(self, **extra: str) -> dict[str, str]:
        return {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "DATACITE_USERNAME": DEFAULT_ACCOUNT[0],
                "DATACITE_PASSWORD": DEFAULT_ACCOUNT[1], "DMLAKE_PUBLIC_URL": PUBLIC_URL, **extra}  # fmt: skip

    def doi(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """`dmlake --home HOME doi ARGS` in a real process (so a crash hook can kill it)."""
        done = subprocess.run([sys.executable, "-m", "harvester.cli", "--home", str(self.home), "doi", *args],
                              cwd=REPO, capture_output=True, text=True, timeout=300, env=self.env(**env))  # fmt: skip
        if check:
            assert done.returncode == 0, f"dmlake doi {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def harvest(self, **options: Any) -> None:
        lake = Lake.open(self.home)
        try:
            harvest_all(lake, sources_of(self.portals), **options)
        finally:
            lake.close()

    def parts_policy(self, rule: str) -> None:
        """Add a `[[doi.parts]]` rule (TOML lines) to the home's DOI policy."""
        with (self.home / "doi.toml").open("a") as policy:
            policy.write(f"\n[[doi.parts]]\n{rule}\n")

    def store(self, record: Record, kind: str = "gitlab") -> None:
        """Store a revision of `record` through the catalogue's own write path (a harvested page of one record, its
        change in the feed): what a harvest stores when the source changed the release that way."""
        payload = record.model_dump_json().encode()
        sha = hashlib.sha256(payload).hexdigest()
        raw = RawRecord(record.native_id, payload, "application/json", f"lab:{record.native_id}", sha[:12])
        mapped = Mapped(raw=raw, record_id=record.id, native_id=record.native_id, raw_sha256=sha,
                        mapping_version="lab", content_hash=codec.content_hash(record),
                        blob=codec.encode_record(record), raw_blob=codec.compress(payload))  # fmt: skip
        lake = Lake.open(self.home)
        try:
            lake.catalogue.ensure_source(record.source, kind, "http://lab.invalid")
            lake.catalogue.commit_page(record.source, 0, PageWork(checkpoint={}, mapped=[mapped]), None)
        finally:
            lake.close()

    def record(self, record_id: str) -> Record:
        lake = Lake.open(self.home)
        try:
            stored = lake.catalogue.get(record_id)
            assert stored is not None and stored.tombstone is None, record_id
            return stored.record
        finally:
            lake.close()

    def remote(self) -> dict[str, dict[str, Any]]:
        """Every DOI the replica holds, as stored."""
        answer: dict[str, dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/dois", timeout=30).json()
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/bodies", timeout=30).json()
        return answer

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/requests", timeout=30).json()
        return answer


def status(lab: DoiLab) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(lab.doi("status", "--json").stdout)
    return rows


def live_ids(lab: DoiLab, source: str) -> list[str]:
    lake = Lake.open(lab.home)
    try:
        return [stored.id for stored in lake.catalogue.iter_records(source=source)]
    finally:
        lake.close()


def assert_in_step(lab: DoiLab) -> list[dict[str, Any]]:
    """Every row settled; DataCite holds exactly our DOIs (one per record and concept), each in our state."""
    rows = status(lab)
    remote = lab.remote()
    for row in rows:
        assert row["report"] is None, row
        assert row["confirmed"] == row["intended"], row
        if row["intended"] == "deleted":
            assert row["doi"] not in remote, f"{row['doi']} was withdrawn but DataCite still has it"
        else:
            assert remote[row["doi"]]["state"] == row["intended"], (row, remote[row["doi"]]["state"])
    assert set(remote) == {r["doi"] for r in rows if r["intended"] != "deleted"}
    assert len({r["doi"] for r in rows}) == len(rows)
    return rows


def resolves(lab: DoiLab, doi: str) -> str | None:
    answer = httpx.get(f"{lab.endpoint}/resolve/{doi}", follow_redirects=False, timeout=30)
    return answer.headers["location"] if answer.status_code == 302 else None
