"""The admin HTTP API (issue 6, acceptance 4): it refuses every request without the right token (and everything when
no token is configured), and mirrors the CLI — runs, errors grouped/records/retry, remap, abort, deletions, sources."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_sources import Lab
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lakes import replica_requests

from connectors.base import MappingError, RawRecord
from connectors.zenodo import ZenodoConnector
from dmlake.lake import Lake
from harvester.runs import Runs
from ontology import Record
from portal.admin import TOKEN_ENV, admin_router
from portal.app import create_app
from sandbox import build_replicas
from sandbox.server import RunningSandbox, start

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def admin_app(lake: Lake) -> TestClient:
    app = FastAPI()
    app.include_router(admin_router(lake))
    return TestClient(app)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every admin operation of the service's OpenAPI description, with path parameters filled in."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/admin"):
            concrete = path.replace("{run_id}", "1").replace("{source}", "demo")
            found += [(method.upper(), concrete) for method in operations]
    return found


def test_every_admin_route_refuses_without_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake.open(tmp_path / "home")
    app = create_app(lake)
    client = TestClient(app)
    routes = admin_routes(app)
    # sources, runs, run, abort, errors, records, retry, remap, deletions, confirm, reject; schedules: list, set,
    # clear, pause, resume, run-now
    assert len(routes) >= 17

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    for method, path in routes:  # no token configured: the admin API is off, and says how to turn it on
        answer = client.request(method, path, headers=AUTH)
        assert answer.status_code == 503, (method, path)
        assert TOKEN_ENV in answer.json()["detail"]

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    for method, path in routes:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            answer = client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/admin/runs", headers=AUTH).status_code == 200
    assert client.get("/admin/runs", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    # Prometheus scrapes /metrics without a token: it holds counts, never records
    assert client.get("/metrics").status_code == 200
    lake.close()


REAL_MAPPER = ZenodoConnector.map_record


def affiliation_bug(raw: RawRecord, source: str) -> Record:
    """The injected mapper bug: every third record's affiliations cannot be resolved."""
    if int(raw.native_id) % 3 == 0:
        raise MappingError("metadata.creators.affiliations", f"cannot resolve an affiliation of {raw.native_id}")
    return REAL_MAPPER(raw, source)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start(build_replicas(generate=24, seed=2, kinds=["zenodo"])) as running:
        yield running


@pytest.fixture
def harvested(tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """A lake whose Zenodo harvest met the bug (mapped inline: worker processes would import the real mapper)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "sources.toml").write_text(
        sandbox.sources_toml() + '\n[sources.zenodo.notify]\nemail = ["dm@example.org"]\n', encoding="utf-8"
    )
    lake = Lake.open(home)
    monkeypatch.setenv("DMLAKE_MAP_WORKERS", "0")
    monkeypatch.setattr(ZenodoConnector, "map_record", staticmethod(affiliation_bug))
    with lake.harvester() as harvester:
        report = harvester.harvest(lake.sources().sources["zenodo"])
    monkeypatch.undo()  # the mapping is fixed
    assert report.state == "succeeded" and report.counts.quarantined > 0
    yield lake
    lake.close()


def test_runs_and_errors_mirror_the_cli(harvested: Lake, token: str) -> None:
    client = admin_app(harvested)
    [run] = client.get("/admin/runs", headers=AUTH).json()["runs"]
    assert (run["source"], run["mode"], run["state"]) == ("zenodo", "full", "succeeded")
    failing = run["counts"]["quarantined"]
    assert run["counts"]["added"] + failing == 24 and run["requests"] > 0

    shown = client.get(f"/admin/runs/{run['id']}", headers=AUTH).json()
    assert len(shown["quarantined_records"]) == failing and shown["fetch_errors"] == []
    assert client.get("/admin/runs/999", headers=AUTH).status_code == 404

    errors = client.get("/admin/errors", params={"source": "zenodo"}, headers=AUTH).json()
    [group] = errors["groups"]
    assert (group["field"], group["error_class"], group["records"]) == (
        "metadata.creators.affiliations",
        "MappingError",
        failing,
    )
    assert errors["total"] == failing
    assert group["example_message"] == f"cannot resolve an affiliation of {group['example_record']}"

    listed = client.get("/admin/errors/records", params={"limit": 2, "offset": 1}, headers=AUTH).json()["records"]
    assert len(listed) == 2 and all(int(r["native_id"]) % 3 == 0 for r in listed)
    exported = client.get("/admin/errors/records", params={"format": "csv"}, headers=AUTH)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == failing and {r["field"] for r in rows} == {"metadata.creators.affiliations"}

    [source] = client.get("/admin/sources", headers=AUTH).json()["sources"]
    assert (source["name"], source["live_records"], source["quarantined"]) == ("zenodo", 24 - failing, failing)
    assert source["notify"]["email"] == ["dm@example.org"] and source["last_run"]["id"] == run["id"]


def test_retry_and_remap_over_http_fetch_nothing(harvested: Lake, sandbox: RunningSandbox, token: str) -> None:
    client = admin_app(harvested)
    failing = client.get("/admin/errors", headers=AUTH).json()["total"]
    replica_requests(sandbox, "zenodo", clear=True)

    retried = client.post("/admin/errors/retry", params={"source": "zenodo"}, headers=AUTH)
    assert retried.status_code == 200, retried.text
    [run] = retried.json()["runs"]
    assert (run["mode"], run["state"], run["added"], run["still_failing"]) == ("retry", "succeeded", failing, 0)
    assert client.get("/admin/errors", headers=AUTH).json() == {"total": 0, "groups": []}

    remapped = client.post("/admin/remap/zenodo", headers=AUTH).json()["runs"][0]
    assert (remapped["mode"], remapped["attempted"], remapped["unchanged"]) == ("remap", 24, 24)
    assert replica_requests(sandbox, "zenodo") == []
    assert harvested.catalogue.cursor("index") == harvested.catalogue.last_seq()  # the index followed
    assert client.post("/admin/remap/nowhere", headers=AUTH).status_code == 404


def test_abort_marks_the_run_and_interrupts_its_process(tmp_path: Path, token: str) -> None:
    lake = Lake.open(tmp_path / "home")
    client = admin_app(lake)
    runs_ = Runs(lake.catalogue.engine)
    # a process that stops on SIGINT as dmlake's commands do, even when the tests run with SIGINT ignored (a
    # background job of a script)
    sleeper = "import signal, time; signal.signal(signal.SIGINT, signal.default_int_handler); time.sleep(120)"
    worker = subprocess.Popen([sys.executable, "-c", sleeper])
    try:
        run_id = runs_.start("demo", "full")
        with lake.catalogue.engine.begin() as conn:
            from sqlalchemy import update

            from harvester.schema import runs

            conn.execute(update(runs).where(runs.c.id == run_id).values(pid=worker.pid))
        answer = client.post(f"/admin/runs/{run_id}/abort", params={"reason": "wrong config"}, headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert answer.json()["signalled"] is True and answer.json()["stopped"] is True
        assert worker.wait(timeout=10) == -signal.SIGINT or worker.returncode == 1  # KeyboardInterrupt
        row = runs_.get(run_id)
        assert row is not None and row.state == "aborted" and row.message == "aborted by a data manager: wrong config"
        again = client.post(f"/admin/runs/{run_id}/abort", headers=AUTH)
        assert again.status_code == 409 and "already ended (aborted)" in again.json()["detail"]
        assert client.post("/admin/runs/999/abort", headers=AUTH).status_code == 404
        # the source is free again
        assert runs_.start("demo", "full") > run_id
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    lake.close()


def test_deletions_confirm_and_reject(tmp_path: Path, token: str) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    for name in ("a", "b"):
        lab.source(name, [{"id": str(i)} for i in range(4)])
    lab.harvest()
    for name in ("a", "b"):
        lab.stores[name].items.clear()  # every record vanishes: beyond the guard, held back
    lab.harvest(full=True)
    client = admin_app(lake)
    assert client.get("/admin/deletions", headers=AUTH).json()["total"] == 8
    assert client.get("/admin/deletions", params={"source": "a"}, headers=AUTH).json()["total"] == 4

    confirmed = client.post("/admin/deletions/a/confirm", headers=AUTH).json()
    assert (confirmed["tombstoned"], lake.catalogue.count("a")) == (4, 0)
    assert client.post("/admin/deletions/b/reject", headers=AUTH).json()["dropped"] == 4
    assert (client.get("/admin/deletions", headers=AUTH).json()["total"], lake.catalogue.count("b")) == (0, 4)
    lake.close()


def test_near_misses_of_the_token_are_refused(tmp_path: Path, token: str) -> None:
    lake = Lake.open(tmp_path / "home")
    client = admin_app(lake)
    for given in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "", " "):
        assert client.get("/admin/runs", headers={"Authorization": f"Bearer {given}"}).status_code == 401
    assert client.get("/admin/runs", headers={"Authorization": f"Bearer  {TOKEN} "}).status_code == 200
    lake.close()


def test_schedules_are_listed_set_paused_and_run_as_the_cli_does(tmp_path: Path, token: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "sources.toml").write_text(
        '[sources.demo]\nkind = "zenodo"\nurl = "http://127.0.0.1:9"\nschedule = "every 6h"\n', encoding="utf-8"
    )
    lake = Lake.open(home)
    client = admin_app(lake)
    [entry] = client.get("/admin/schedules", headers=AUTH).json()["sources"]
    assert (entry["source"], entry["schedule"], entry["origin"]) == ("demo", "every 6h", "config")
    assert entry["paused"] is False

    done = client.put("/admin/schedules/demo", json={"schedule": "every 30m"}, headers=AUTH)
    assert done.status_code == 200, done.text
    assert (done.json()["schedule"]["schedule"], done.json()["schedule"]["origin"]) == ("every 30m", "set")
    assert "scheduler run" in done.json()["applies"]  # no daemon: it applies when one starts
    refused = client.put("/admin/schedules/demo", json={"schedule": "every 5 minutes"}, headers=AUTH)
    assert refused.status_code == 400 and "schedule of demo" in refused.json()["detail"]
    assert client.put("/admin/schedules/nope", json={"schedule": "every 1h"}, headers=AUTH).status_code == 404

    assert client.post("/admin/schedules/demo/pause", headers=AUTH).json()["schedule"]["paused"] is True
    assert client.post("/admin/schedules/demo/resume", headers=AUTH).json()["schedule"]["paused"] is False
    requested = client.post("/admin/schedules/demo/run-now", headers=AUTH).json()["schedule"]
    assert requested["run_now_requested"] is not None
    cleared = client.delete("/admin/schedules/demo", headers=AUTH).json()["schedule"]
    assert (cleared["schedule"], cleared["origin"]) == ("every 6h", "config")
    lake.close()
