"""`/api/records/{id}/cluster`: the records of one dataset from every source and the rules that merged them."""

from __future__ import annotations

from pathlib import Path

from fake_sources import Lab
from fastapi.testclient import TestClient

from dmlake.lake import Lake
from ontology import record_id
from portal.app import create_app


def test_a_record_shows_its_cluster_with_members_rules_and_undone_links(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"], "title": "Event data"}, {"id": "2"}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"], "title": "Event data (OAI)"}])
    lab.harvest()
    client = TestClient(create_app(lake))
    rest, oai = record_id("rest", "1"), record_id("oai", "x")

    answer = client.get("/api/records/rest/1/cluster").json()
    assert answer["cluster"] == min(rest, oai)
    assert {m["id"]: (m["source"], m["native_id"], m["title"]) for m in answer["members"]} == {
        rest: ("rest", "1", "Event data"),
        oai: ("oai", "x", "Event data (OAI)"),
    }
    assert [m["joined_by"] for m in answer["members"]] == [None, "same-doi"]
    (link,) = answer["links"]
    assert (link["rule"], link["evidence"]) == ("same-doi", "doi:10.1234/a")
    assert sorted(link["records"]) == sorted([rest, oai])

    lake.catalogue.undo_link(link["id"], "not the same")
    after = client.get(f"/api/records/{oai}/cluster").json()
    assert [m["id"] for m in after["members"]] == [oai]
    assert after["links"][0]["undone_reason"] == "not the same"
    lonely = client.get("/api/records/rest/2/cluster").json()
    assert lonely == {
        "cluster": record_id("rest", "2"),
        "members": [{"id": record_id("rest", "2"), "joined_by": None, "source": "rest", "native_id": "2",
                     "title": "rest 2"}],
        "links": [],
    }  # fmt: skip
    assert client.get("/api/records/rest/404/cluster").status_code == 404
    # the record itself is still served at its own path
    assert client.get("/api/records/rest/1").json()["id"] == rest
    lake.close()
