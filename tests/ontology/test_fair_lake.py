"""`dmlake fair` and the FAIR routes on a lake built from the sandbox: replicas serving corpus records, harvested
into a catalogue, then the command run as a real process (`--json` and the tables) and the HTTP service asked."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from cli import dmlake
from fastapi.testclient import TestClient
from lakes import harvest_all, open_lake, sources_of

from dmlake.lake import Lake
from ontology import fair
from portal.app import create_app
from sandbox import build_replicas, start

REPO = Path(__file__).resolve().parents[2]
CERN_FILES = ("cms-primary-datasets-Run2011A.json", "cms-learning-resources.json")
OTHER_KINDS = ("hepdata", "dmdc", "kcdc-oai")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fair")
    folder = root / "corpus" / "cernopendata" / "records"
    folder.mkdir(parents=True)
    for name in CERN_FILES:
        (folder / name).symlink_to(corpus / "cernopendata" / "records" / name)
    replicas = build_replicas(corpus=root / "corpus", kinds=["cernopendata"])
    replicas.update(build_replicas(corpus=corpus, kinds=list(OTHER_KINDS)))
    lake = open_lake(root / "home")
    try:
        with start(replicas) as running:
            reports = harvest_all(lake, sources_of(running))
        assert {name: r.state for name, r in reports.items()} == dict.fromkeys(reports, "succeeded")
    finally:
        lake.close()
    return root / "home"


@pytest.fixture(scope="module")
def lake(home: Path) -> Iterator[Lake]:
    opened = open_lake(home)
    yield opened
    opened.close()


def fair_cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return dmlake(home, "fair", *args, check=check)


def summary_of(lake: Lake, source: str) -> fair.SourceSummary:
    """The aggregate computed here, record by record, from the catalogue."""
    summary = fair.SourceSummary(source)
    for stored in lake.catalogue.iter_records(source):
        summary.add(fair.assess(stored.record))
    return summary


def test_json_for_every_source_is_the_aggregate_of_its_records(home: Path, lake: Lake) -> None:
    printed = json.loads(fair_cli(home, "--json", "--top", "4").stdout)
    names = [s["source"] for s in printed["sources"]]
    assert names == sorted(["cernopendata", *OTHER_KINDS])
    for data in printed["sources"]:
        assert data["records"] == lake.catalogue.count(data["source"]) > 0
        assert data == summary_of(lake, data["source"]).to_json(limit=4)
        assert len(data["most_missing"]) <= 4


def test_json_for_one_source_and_its_table(home: Path, lake: Lake) -> None:
    data = json.loads(fair_cli(home, "kcdc-oai", "--json").stdout)
    assert [s["source"] for s in data["sources"]] == ["kcdc-oai"]
    [kcdc] = data["sources"]
    assert kcdc["records"] == 37
    checks = {c["check"]: c for c in kcdc["checks"]}
    assert checks["provenance"]["passed"] == 37  # harvested by a run: source, run, mapping, retrieval time
    assert checks["persistent-identifier"]["failed"] == 37
    assert kcdc["most_missing"][0]["records"] == 37 and kcdc["most_missing"][0]["hint"]

    table = fair_cli(home, "kcdc-oai").stdout
    summary = summary_of(lake, "kcdc-oai")
    assert f"FAIR report of kcdc-oai: 37 records, mean score {summary.mean_score:g}" in table
    for principle in ("F1", "A1.2", "I2", "I3", "R1.1", "R1.2", "R1.3"):
        assert f"│ {principle} " in table, principle
    assert "most often missing in kcdc-oai" in table and "register a DOI" in table
    assert "90–100: 0" in table


def test_one_record_checklist_as_json_and_as_a_table(home: Path, lake: Lake) -> None:
    stored = lake.catalogue.find("cernopendata", "17")
    assert stored is not None
    data = json.loads(fair_cli(home, "--record", "cernopendata/17", "--json").stdout)
    assert data == fair.assess(stored.record).to_json()
    assert data["score"] >= 85
    provenance = next(c for c in data["checks"] if c["check"] == "provenance")
    assert provenance["status"] == "pass" and ", run " in provenance["detail"]

    table = fair_cli(home, "--record", stored.id).stdout
    assert f"FAIR checklist of {stored.id}" in table
    assert f"score {data['score']:g} / 100" in table
    assert "✓ pass" in table and "CC0-1.0" in table and "https://doi.org/10.7483/" in table
    # what is missing comes with how to fix it at the source
    missing = [c for c in data["checks"] if c["status"] == "fail"]
    assert missing and all(c["hint"][:30] in table for c in missing)


def test_mistakes_are_named(home: Path) -> None:
    unknown = fair_cli(home, "zenodo", check=False)
    assert unknown.returncode == 1
    assert "no records of source 'zenodo'" in unknown.stderr and "kcdc-oai" in unknown.stderr
    missing = fair_cli(home, "--record", "cernopendata/0", check=False)
    assert missing.returncode == 1 and "no record" in missing.stderr
    other = fair_cli(home, "hepdata", "--record", "cernopendata/17", check=False)
    assert other.returncode == 2 and "is from source 'cernopendata', not 'hepdata'" in other.stderr


def test_the_fair_routes(lake: Lake) -> None:
    client = TestClient(create_app(lake))
    stored = lake.catalogue.find("dmdc", "dmdc/cosine/cosine100-6years-modulation@v1.0")
    assert stored is not None
    for path in (stored.id, quote(stored.id, safe=""), "dmdc/dmdc%2Fcosine%2Fcosine100-6years-modulation%40v1.0"):
        response = client.get(f"/api/records/{path}/fair")
        assert response.status_code == 200, (path, response.text[:300])
        assert response.json() == fair.assess(stored.record).to_json()
    # the record itself is still served by its own route
    assert client.get(f"/api/records/{stored.id}").json()["id"] == stored.id
    assert client.get("/api/records/cernopendata/0/fair").status_code == 404

    response = client.get("/api/sources/hepdata/fair", params={"top": 2})
    assert response.status_code == 200
    assert response.json() == summary_of(lake, "hepdata").to_json(limit=2)
    assert client.get("/api/sources/nowhere/fair").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/records/{record_id}/fair" in paths and "/api/sources/{name}/fair" in paths
