"""Replica state shown everywhere (issue 8): the search facets `availability` and `site`, the record page's files,
`GET /api/records/{id}/where`, `dmlake where`. Replication is not needed: the tests fill the ledger directly, as
`replication/` does after asking Rucio."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from replica_records import File, make_record, store, tombstone
from rich.console import Console
from typer.testing import CliRunner

from dmlake.lake import Lake
from dmlake.where import SITES_ENV, SettingsError, choose, preferred_sites
from harvester import where_cli
from harvester.replica_ledger import FileReplica
from harvester.where_cli import where as where_command
from indexer.query import Query
from ontology.model import RECORD_ID_BASE, Availability, Checksum, Distribution, record_id
from portal.app import create_app

ONLINE, REPLICATING, REQUESTED = Availability.ONLINE, Availability.REPLICATING, Availability.REQUESTED
COSINE = record_id("dmdc", "cosine100@v1.0")
COSINE_ZENODO = record_id("zenodo", "1234")  # the same release through Zenodo: one cluster with COSINE
OTHER = record_id("dmdc", "anais@v2")
PLAIN = record_id("zenodo", "999")
COSINE_HIT = COSINE_ZENODO  # the cluster's hit: the Zenodo record speaks for it (indexer.document.representative)


def short(rid: str) -> str:
    return rid.removeprefix(RECORD_ID_BASE)


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    monkeypatch.delenv(SITES_ENV, raising=False)
    monkeypatch.delenv("DMLAKE_ES_URL", raising=False)
    the_lake = Lake.open(tmp_path / "home")
    store(
        the_lake.catalogue,
        make_record("dmdc", "cosine100@v1.0", [File("events.csv"), File("README.md")], doi="10.5281/zenodo.1234",
                    kind="gitlab"),
        make_record("dmdc", "anais@v2", [File("spectrum.csv")]),
    )  # fmt: skip
    store(
        the_lake.catalogue,
        make_record("zenodo", "1234", [File("events.csv")], doi="10.5281/zenodo.1234", kind="zenodo"),
        make_record("zenodo", "999", [File("x.csv", availability=Availability.ON_REQUEST)]),
    )
    assert the_lake.catalogue.cluster(COSINE).members == (COSINE, COSINE_ZENODO)
    the_lake.update_index()
    yield the_lake
    the_lake.close()


def fill(lake: Lake, tmp_path: Path) -> Path:
    """COSINE at SITE_B (verified) and SITE_C (still replicating), ANAIS requested, the Zenodo twin on this machine."""
    local = tmp_path / "site-a" / "events.csv"
    local.parent.mkdir(parents=True)
    local.write_text("t,rate\n1,2\n")
    ledger = lake.replica_ledger()
    ledger.replace(
        COSINE,
        [
            FileReplica(COSINE, "events.csv", "SITE_B", ONLINE, "https://site-b.example/cosine/events.csv", True),
            FileReplica(COSINE, "events.csv", "SITE_C", REPLICATING),
            FileReplica(COSINE, "README.md", "SITE_B", ONLINE, "root://site-b.example//cosine/README.md", True),
        ],
    )
    ledger.replace(OTHER, [FileReplica(OTHER, "spectrum.csv", "SITE_C", REQUESTED)])
    ledger.replace(COSINE_ZENODO, [FileReplica(COSINE_ZENODO, "events.csv", "SITE_A", ONLINE, local.as_uri(), True)])
    lake.update_index()
    return local


def facet(lake: Lake, name: str, *filters: str, text: str = "") -> dict[str, int]:
    result = lake.search(Query.parse(text, filters=filters, facets=[name]))
    return {v.value: v.count for v in result.facets[name]}


def hits(lake: Lake, *filters: str, text: str = "") -> list[str]:
    return sorted(h.id for h in lake.search(Query.parse(text, filters=filters)).hits)


# -- search ---------------------------------------------------------------------------------------------------------
def test_facets_and_filters_follow_the_ledger(lake: Lake, tmp_path: Path) -> None:
    assert facet(lake, "site") == {}
    assert facet(lake, "availability") == {"online": 2, "on-request": 1}
    fill(lake, tmp_path)
    # one document per cluster: COSINE's holds the sites of both of its records; SITE_C only replicates (not held)
    assert facet(lake, "site") == {"SITE_A": 1, "SITE_B": 1}
    assert facet(lake, "availability") == {"online": 1, "requested": 1, "on-request": 1}
    assert hits(lake, "site=SITE_B") == [COSINE_HIT]
    assert hits(lake, "site=site_b") == [COSINE_HIT]  # typed as people type it
    assert hits(lake, text="site:SITE_A") == [COSINE_HIT]
    assert hits(lake, "availability=requested") == [OTHER]
    assert hits(lake, "site=SITE_C") == []
    # the copy at SITE_C is verified, ANAIS's request is dropped: the index follows the feed
    ledger = lake.replica_ledger()
    ledger.replace(
        COSINE,
        [
            FileReplica(COSINE, "events.csv", "SITE_B", ONLINE, "https://site-b.example/cosine/events.csv", True),
            FileReplica(COSINE, "events.csv", "SITE_C", ONLINE, "https://site-c.example/cosine/events.csv", True),
        ],
    )
    ledger.replace(OTHER, [])
    assert lake.update_index() == 2
    assert facet(lake, "site") == {"SITE_A": 1, "SITE_B": 1, "SITE_C": 1}
    assert facet(lake, "availability") == {"online": 2, "on-request": 1}
    assert facet(lake, "site", "experiment=nothing-at-all") == {}


def test_a_rebuilt_index_shows_the_same_replica_state(lake: Lake, tmp_path: Path) -> None:
    fill(lake, tmp_path)
    before = facet(lake, "site"), facet(lake, "availability")
    lake.rebuild_index()
    assert (facet(lake, "site"), facet(lake, "availability")) == before


# -- where ----------------------------------------------------------------------------------------------------------
def distribution(name: str = "events.csv", url: str | None = "https://portal.example/events.csv") -> Distribution:
    return Distribution(name=name, url=url, size_bytes=12, checksum=Checksum(algorithm="adler32", value="1a2b3c4d"))


def test_where_chooses_preferred_then_local_then_verified_then_the_source(tmp_path: Path) -> None:
    local = tmp_path / "events.csv"
    local.write_text("x")
    r = "dmlake:x/1"
    b = FileReplica(r, "events.csv", "SITE_B", ONLINE, "https://b.example/events.csv", True)
    c = FileReplica(r, "events.csv", "SITE_C", ONLINE, "root://c.example//events.csv", True)
    a_local = FileReplica(r, "events.csv", "SITE_A", ONLINE, local.as_uri(), True)
    a_gone = FileReplica(r, "events.csv", "SITE_A", ONLINE, (tmp_path / "gone.csv").as_uri(), True)
    d_unverified = FileReplica(r, "events.csv", "SITE_D", ONLINE, "https://d.example/events.csv", False)
    e_requested = FileReplica(r, "events.csv", "SITE_E", REQUESTED)

    def pick(copies: list[FileReplica], preferred: list[str] = [], **file: Any) -> tuple[str | None, str | None, str]:  # noqa: B006
        choice = choose(distribution(**file), copies, preferred)
        return choice.url, choice.site, choice.reason

    assert pick([b, c, a_local], ["SITE_C", "SITE_B"]) == (c.url, "SITE_C", "online at SITE_C, checksum verified; "
                                                          "a site you prefer")  # fmt: skip
    assert pick([b, c, a_local], ["SITE_X"])[:2] == (a_local.url, "SITE_A")  # on this machine
    assert pick([b, c, a_gone])[:2] == (b.url, "SITE_B")  # a file:// copy whose file is not here is no local copy
    assert pick([b, c], ["SITE_X"])[2] == "online at SITE_B, checksum verified (none at SITE_X)"
    # no verified copy: the source's own URL, saying what replication knows
    url, site, reason = pick([d_unverified, e_requested])
    assert (url, site) == ("https://portal.example/events.csv", None)
    assert reason == ("from the source portal: no verified copy (online (not verified) at SITE_D, requested at "
                      "SITE_E)")  # fmt: skip
    assert pick([], [])[2] == "from the source portal: replication knows no copy of this file"
    # an unverified copy only when the source gives no URL; nothing readable at all says so
    assert pick([d_unverified, e_requested], url=None)[:2] == (d_unverified.url, "SITE_D")
    url, site, reason = pick([e_requested], url=None)
    assert url is None and site is None and reason.startswith("no readable copy: no verified copy (requested at")
    # a preferred site holding only an unverified copy is not preferred over a verified one
    assert pick([b, d_unverified], ["SITE_D"])[:2] == (b.url, "SITE_B")
    choice = choose(distribution(), [e_requested, b])
    assert choice.availability == ONLINE and [x.site for x in choice.replicas] == ["SITE_B", "SITE_E"]


def test_preferred_sites_come_from_the_caller_the_environment_or_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SITES_ENV, raising=False)
    assert preferred_sites([], tmp_path) == []
    (tmp_path / "replication.toml").write_text('[replication]\nstaging_rse = "SITE_A"\n\n[where]\n'
                                               'preferred_sites = ["site_c", "SITE_B"]\n')  # fmt: skip
    assert preferred_sites([], tmp_path) == ["SITE_C", "SITE_B"]
    monkeypatch.setenv(SITES_ENV, "SITE_B, site_d,")
    assert preferred_sites([], tmp_path) == ["SITE_B", "SITE_D"]
    assert preferred_sites(["SITE_X"], tmp_path) == ["SITE_X"]
    monkeypatch.delenv(SITES_ENV)
    (tmp_path / "replication.toml").write_text('[where]\npreferred_sites = "SITE_B"\n')
    with pytest.raises(SettingsError, match=r"replication\.toml: \[where\] preferred_sites must be a list"):
        preferred_sites([], tmp_path)


# -- the HTTP service -----------------------------------------------------------------------------------------------
def test_the_where_route_answers_per_file_with_404_and_410(lake: Lake, tmp_path: Path) -> None:
    local = fill(lake, tmp_path)
    client = TestClient(create_app(lake))
    answer = client.get(f"/api/records/{short(COSINE)}/where")
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == COSINE and body["preferred_sites"] == []
    events, readme = body["files"]
    assert events == {
        "name": "events.csv",
        "size_bytes": 1000,
        "checksum": "adler32:0a1b2c3d",
        "availability": "online",
        "url": "https://site-b.example/cosine/events.csv",
        "site": "SITE_B",
        "reason": "online at SITE_B, checksum verified",
        "replicas": [
            {"site": "SITE_B", "state": "online", "url": "https://site-b.example/cosine/events.csv",
             "checksum_verified": True},
            {"site": "SITE_C", "state": "replicating", "url": None, "checksum_verified": False},
        ],
    }  # fmt: skip
    assert readme["url"] == "root://site-b.example//cosine/README.md"
    twin = client.get(f"/api/records/{short(COSINE_ZENODO)}/where", params={"site": "SITE_B,SITE_C"}).json()
    assert twin["preferred_sites"] == ["SITE_B", "SITE_C"]
    assert (twin["files"][0]["url"], twin["files"][0]["site"]) == (local.as_uri(), "SITE_A")
    plain = client.get(f"/api/records/{short(PLAIN)}/where").json()["files"][0]
    assert (plain["url"], plain["site"], plain["availability"]) == (
        "https://portal.example.org/zenodo/999/x.csv", None, "on-request")  # fmt: skip
    missing = client.get("/api/records/zenodo/nothing-here/where")
    assert missing.status_code == 404 and "no record" in missing.json()["error"]
    tombstone(lake.catalogue, "dmdc", "anais@v2")
    gone = client.get(f"/api/records/{short(OTHER)}/where")
    assert gone.status_code == 410 and gone.json()["tombstone"] == "deleted at the source"
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]["/api/records/{record_id}/where"]["get"]["responses"]) >= {"200", "404", "410"}


def test_the_record_api_shows_replicas_and_its_etag_follows_them(lake: Lake, tmp_path: Path) -> None:
    client = TestClient(create_app(lake))
    path = f"/api/records/{short(COSINE)}"
    first = client.get(path, params={"format": "json"})
    assert first.json()["distributions"][0].get("replicas", []) == []
    fill(lake, tmp_path)
    # a cache holding the answer before replication must not be told it is still fresh
    again = client.get(path, params={"format": "json"}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != first.headers["etag"]
    events = again.json()["distributions"][0]
    assert events["availability"] == "online"
    assert [(r["site"], r["state"], r.get("checksum_verified", False)) for r in events["replicas"]] == [
        ("SITE_B", "online", True),
        ("SITE_C", "replicating", False),
    ]
    assert (
        client.get(path, params={"format": "json"}, headers={"If-None-Match": again.headers["etag"]}).status_code == 304
    )
    # RDF views carry the replicas too
    assert "SITE_B" in client.get(path, params={"format": "turtle"}).text


def test_the_record_page_lists_each_file_s_sites_and_its_json_ld_the_verified_copies(
    lake: Lake, tmp_path: Path
) -> None:
    fill(lake, tmp_path)
    client = TestClient(create_app(lake))
    page = lxml_html.fromstring(client.get(f"/records/{short(COSINE)}").text)
    rows = page.xpath("//table[@class='files']//tr[@class='file']")
    assert [r.xpath("string(.//td[@class='availability'])") for r in rows] == ["online", "online"]
    events = rows[0]
    sites = [(li.get("data-site"), li.get("data-state")) for li in events.xpath(".//li[@class='replica']")]
    assert sites == [("SITE_B", "online"), ("SITE_C", "replicating")]
    b, c = events.xpath(".//li[@class='replica']")
    assert b.xpath(".//a/@href") == ["https://site-b.example/cosine/events.csv"] and "verified" in b.text_content()
    assert c.xpath(".//a") == [] and "verified" not in c.text_content()  # nothing to read there yet
    assert page.xpath(f"//a[@href='/api/records/{short(COSINE)}/where']")
    (script,) = page.xpath("//script[@type='application/ld+json']")
    downloads = json.loads(script.text)["distribution"]
    assert downloads[0]["contentUrl"] == [
        "https://portal.example.org/dmdc/cosine100@v1.0/events.csv",
        "https://site-b.example/cosine/events.csv",
    ]
    assert downloads[1]["contentUrl"] == [
        "https://portal.example.org/dmdc/cosine100@v1.0/README.md",
        "root://site-b.example//cosine/README.md",
    ]
    # a local file:// copy is no address for the web
    twin = lxml_html.fromstring(client.get(f"/records/{short(COSINE_ZENODO)}").text)
    (script,) = twin.xpath("//script[@type='application/ld+json']")
    assert (
        json.loads(script.text)["distribution"][0]["contentUrl"] == "https://portal.example.org/zenodo/1234/events.csv"
    )


# -- dmlake where ---------------------------------------------------------------------------------------------------
def cli(lake: Lake) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(home: str = typer.Option(str(lake.home.path), "--home")) -> None:
        """dmlake, as the lead registers `where` in it."""

    app.command("where")(where_command)
    return app


def test_dmlake_where_prints_a_table_or_the_api_s_json(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(lake, tmp_path)
    runner = CliRunner()
    app = cli(lake)
    monkeypatch.setattr(where_cli, "out", Console(width=300))  # a wide terminal: Rich folds nothing
    shown = runner.invoke(app, ["where", short(COSINE), "--site", "site_c"])
    assert shown.exit_code == 0, shown.output
    assert "https://site-b.example/cosine/events.csv" in shown.output
    assert "online at SITE_B, checksum verified (none at SITE_C)" in shown.output
    assert "SITE_C replicating" in shown.output and "preferred sites: SITE_C" in shown.output
    as_json = runner.invoke(app, ["where", short(COSINE), "--json"])
    assert as_json.exit_code == 0, as_json.output
    api = TestClient(create_app(lake)).get(f"/api/records/{short(COSINE)}/where").json()
    assert json.loads(as_json.stdout) == api
    missing = runner.invoke(app, ["where", "zenodo/nothing-here"])
    assert missing.exit_code == 1 and "no record" in missing.output
    tombstone(lake.catalogue, "dmdc", "anais@v2")
    gone = runner.invoke(app, ["where", short(OTHER)])
    assert gone.exit_code == 2 and "removed at its source" in gone.output
