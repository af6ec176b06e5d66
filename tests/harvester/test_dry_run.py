"""`dmlake harvest SOURCE --dry-run [--limit N]` (issue 6, onboarding): what a harvest would do, writing nothing.

A Zenodo REST replica and a KCDC OAI-PMH replica are harvested once for real; then records are edited and others
broken at the source (a reviser that drops the title, published through `/_sandbox/edit`). The dry run must report
each edited record as an update, each broken one as a failure naming record, field and message, and leave the home
exactly as it was: the database file's bytes, every table's rows, no new file. A dry run of a home that has no
catalogue yet creates nothing and calls every record new.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli import dmlake
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from connectors import registry
from connectors.http import HttpClient
from dmlake.lake import Lake
from harvester import dry_run
from harvester.catalogue import Catalogue
from harvester.config import parse
from harvester.harvest import Harvester
from harvester.schema import runs, sources
from sandbox import build_replicas
from sandbox.server import RunningSandbox, start

RECORDS = 30


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=RECORDS, seed=11, kinds=["zenodo", "kcdc-oai"])) as running:
        yield running


@pytest.fixture(autouse=True)
def _map_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMLAKE_MAP_WORKERS", "0")


def home_state(home: Path) -> dict[str, Any]:
    """Everything a write could change: the files of the home with their bytes' digests, and every table's rows."""
    files = {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*"))
        # SQLite's shared-memory index is no data, and a reader of a WAL database may create the log empty
        if path.is_file()
        and not path.name.endswith("-shm")
        and not (path.name.endswith("-wal") and not path.stat().st_size)
    }
    uri = (home / "catalogue.sqlite").as_uri() + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {table: sorted(map(repr, conn.execute(f'SELECT * FROM "{table}"'))) for table in tables}
    return {"files": files, "rows": rows}


def break_titles(sandbox: RunningSandbox, ids: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Publish new revisions of `ids` without a title (a depositor's broken edit), through the replica's edit route."""
    store = sandbox.replicas["zenodo"].store
    revise = store._revise
    broken = set(ids)

    def without_title(wrapper: Any, revision: int, when: Any) -> Any:
        wrapper = revise(wrapper, revision, when)
        if str(wrapper["rdm"]["id"]) in broken:
            wrapper["rdm"]["metadata"].pop("title", None)
            wrapper["rdm"].pop("title", None)
            if wrapper.get("legacy"):
                wrapper["legacy"]["metadata"].pop("title", None)
                wrapper["legacy"].pop("title", None)
        return wrapper

    monkeypatch.setattr(store, "_revise", without_title)  # undone after the test: the records read well again
    return list(httpx.post(f"{sandbox.urls['zenodo']}/_sandbox/edit", json={"ids": ids}, timeout=30).json()["edited"])


def test_dry_run_of_a_new_home_creates_nothing(sandbox: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sandbox.sources_toml())
    home = tmp_path / "home"
    done = dmlake(home, "--config", str(sources), "harvest", "zenodo", "--dry-run", "--limit", "12", "--json")
    report = json.loads(done.stdout)
    assert not home.exists()
    assert report["catalogue"].startswith("(none yet")
    assert report["counts"]["add"] == 12 and sum(report["counts"].values()) == 12
    assert report["stopped_at_limit"] is True and report["written"] == "nothing"
    assert all(r["record_id"].startswith("https://") and r["title"] for r in report["records"])
    table = dmlake(home, "--config", str(sources), "harvest", "kcdc-oai", "--dry-run")
    assert "Nothing was written." in table.stdout and "summary" in table.stdout
    summary = table.stdout.split("summary", 1)[1].splitlines()
    counts = next(line for line in summary if line.startswith("│"))
    assert counts.split("│")[1].strip() == str(RECORDS)  # the "add" column: every record of the repository
    assert not home.exists()


def test_dry_run_reports_updates_and_failures_and_writes_nothing(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sandbox.sources_toml())
    home = tmp_path / "home"
    harvested = dmlake(home, "--config", str(sources), "harvest", "zenodo", "kcdc-oai", "--no-index")
    assert "succeeded" in harvested.stdout
    lake = Lake.open(home)
    ids = sorted(record.native_id for record in lake.catalogue.iter_records("zenodo"))
    lake.close()
    assert len(ids) == RECORDS
    edited = httpx.post(f"{sandbox.urls['zenodo']}/_sandbox/edit", json={"ids": ids[:3]}, timeout=30).json()["edited"]
    broken = break_titles(sandbox, ids[3:5], monkeypatch)
    assert edited == ids[:3] and broken == ids[3:5]
    before = home_state(home)
    runs_before = before["rows"]["runs"]

    done = dmlake(home, "--config", str(sources), "harvest", "zenodo", "--dry-run", "--json")
    report = json.loads(done.stdout)
    assert home_state(home) == before
    assert before["rows"]["runs"] == runs_before  # no run was started, not even one rolled back
    assert report["mode"] == "incremental" and report["catalogue"] == str(home / "catalogue.sqlite")
    by_id = {r["native_id"]: r for r in report["records"]}
    assert sorted(i for i, r in by_id.items() if r["outcome"] == "update") == ids[:3]
    failed = {i: r for i, r in by_id.items() if r["outcome"] == "fail"}
    assert sorted(failed) == ids[3:5]
    for record in failed.values():
        assert (record["stage"], record["field"]) == ("mapping", "metadata.title")
        assert record["message"] == "missing: every Zenodo record has a title"
    assert report["counts"]["update"] == 3 and report["counts"]["fail"] == 2 and report["counts"]["add"] == 0

    # the table form names the failed records, their field and message
    shown = dmlake(home, "--config", str(sources), "harvest", "zenodo", "--dry-run", "--limit", "50")
    assert "records that would fail" in shown.stdout
    for native_id in ids[3:5]:
        assert native_id in shown.stdout
    assert "metadata.title" in shown.stdout and "missing: every Zenodo record has a title" in shown.stdout
    assert home_state(home) == before

    # a full dry run compares every record: the unedited ones are unchanged
    full = json.loads(
        dmlake(home, "--config", str(sources), "harvest", "zenodo", "--dry-run", "--full", "--json").stdout
    )
    assert full["mode"] == "full"
    assert (full["counts"]["unchanged"], full["counts"]["update"], full["counts"]["fail"]) == (RECORDS - 5, 3, 2)
    assert home_state(home) == before

    # the real harvest then does what the dry run said
    real = dmlake(home, "--config", str(sources), "harvest", "zenodo", "--no-index")
    assert "succeeded" in real.stdout
    lake = Lake.open(home)
    try:
        assert sorted(entry.native_id for entry in lake.catalogue.quarantined("zenodo")) == ids[3:5]
    finally:
        lake.close()


def test_dry_run_of_oai_sees_deletions_and_edits(sandbox: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sandbox.sources_toml())
    home = tmp_path / "home"
    dmlake(home, "--config", str(sources), "harvest", "kcdc-oai", "--no-index")
    lake = Lake.open(home)
    ids = sorted(record.native_id for record in lake.catalogue.iter_records("kcdc-oai"))
    lake.close()
    url = sandbox.urls["kcdc-oai"]
    edited = httpx.post(f"{url}/_sandbox/edit", json={"ids": ids[:2]}, timeout=30).json()["edited"]
    before = home_state(home)
    report = json.loads(
        dmlake(home, "--config", str(sources), "harvest", "kcdc-oai", "--dry-run", "--full", "--json").stdout
    )
    assert home_state(home) == before
    outcomes = {r["native_id"]: r["outcome"] for r in report["records"]}
    assert sorted(i for i, o in outcomes.items() if o == "update") == sorted(edited)
    assert report["counts"]["unchanged"] == len(ids) - 2


def test_dry_run_usage_errors(sandbox: RunningSandbox, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(sandbox.sources_toml())
    home = tmp_path / "home"
    alone = dmlake(home, "--config", str(sources), "harvest", "zenodo", "--limit", "5", check=False)
    assert alone.returncode == 2 and "go with --dry-run" in alone.stderr
    unknown = dmlake(home, "--config", str(sources), "harvest", "nope", "--dry-run", check=False)
    assert unknown.returncode == 1 and "no source named 'nope'" in unknown.stderr
    assert not home.exists()


def test_the_catalogue_view_cannot_write_on_either_backend(
    sandbox: RunningSandbox, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run's connection is read-only by construction (SQLite `mode=ro`, PostgreSQL `READ ONLY`): a write
    through it fails, and a dry run against a harvested catalogue on either backend compares and changes nothing."""
    configured = parse(sandbox.sources_toml(), "<sandbox>", sorted(registry()))
    catalogue = Catalogue.open(database_url)
    with Harvester(catalogue, HttpClient(), registry()) as harvester:
        assert harvester.harvest(configured.sources["kcdc-oai"]).state == "succeeded"
    with catalogue.engine.connect() as conn:
        runs_before = conn.execute(select(func.count()).select_from(runs)).scalar()
    catalogue.close()

    sqlite_file = Path(database_url.removeprefix("sqlite:///")) if database_url.startswith("sqlite") else None
    engine = dry_run.read_only_engine(database_url, sqlite_file)
    assert engine is not None
    with pytest.raises(DBAPIError, match=r"(?i)read-only|readonly"), engine.begin() as conn:
        conn.execute(
            insert(sources).values(name="intruder", kind="kcdc", url="https://x", first_seen=datetime.now(UTC))
        )
    view = dry_run.CatalogueView(engine, "kcdc-oai")
    with HttpClient() as http:
        report = dry_run.dry_run(configured.sources["kcdc-oai"], http, view, limit=None, full=True)
    view.close()
    assert report.error is None and report.counts["unchanged"] == RECORDS and report.counts["add"] == 0
    check = Catalogue.open(database_url)
    with check.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == runs_before
        assert conn.execute(select(func.count()).select_from(sources)).scalar() == 1
    check.close()
