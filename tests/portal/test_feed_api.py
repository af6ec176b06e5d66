"""`/api/changes` (the change feed for downstream portals), ETags on search answers, CORS."""

from __future__ import annotations

from pathlib import Path

from fake_sources import Lab
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dmlake.lake import Lake
from ontology import record_id
from portal.app import create_app
from portal.feed import add_cors


def test_a_downstream_portal_follows_the_feed_page_by_page(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": str(i)} for i in range(5)])
    lab.harvest()
    lake.update_index()
    client = TestClient(create_app(lake))

    seen: list[str] = []
    since = 0
    while True:
        page = client.get("/api/changes", params={"since": since, "limit": 2}).json()
        seen += [c["record_id"] for c in page["changes"]]
        assert all(c["kind"] == "upsert" for c in page["changes"])
        since = page["next_since"]
        if not page["more"]:
            break
    assert seen == [record_id("rest", str(i)) for i in range(5)]
    assert since == page["last_seq"] == 5

    del lab.stores["rest"].items["3"]
    lab.harvest(full=True)
    after = client.get("/api/changes", params={"since": since}).json()
    assert [(c["record_id"], c["kind"]) for c in after["changes"]] == [(record_id("rest", "3"), "delete")]
    assert after["more"] is False

    ahead = client.get("/api/changes", params={"since": 999})
    assert ahead.status_code == 400 and "was the catalogue rebuilt" in ahead.json()["error"]
    assert client.get("/api/changes", params={"since": -1}).status_code == 422
    lake.close()


def test_search_answers_carry_an_etag_and_a_match_is_a_304(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "home")
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": "1", "title": "muon pairs"}])
    lab.harvest()
    lake.update_index()
    client = TestClient(create_app(lake))
    first = client.get("/api/search", params={"q": "muon"})
    etag = first.headers["etag"]
    assert first.json()["total"] == 1
    again = client.get("/api/search", params={"q": "muon"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    lab.stores["rest"].edit("1", title="muon pairs, reprocessed")
    lab.harvest()
    lake.update_index()
    changed = client.get("/api/search", params={"q": "muon"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    lake.close()


def test_cors_allows_any_origin_by_default_and_what_is_configured() -> None:
    def preflight(environ: dict[str, str]) -> dict[str, str]:
        app = FastAPI()
        add_cors(app, environ)

        @app.get("/api/search")
        def search() -> dict[str, int]:
            return {"total": 0}

        answer = TestClient(app).get("/api/search", headers={"Origin": "https://portal.example.org"})
        return dict(answer.headers)

    assert preflight({})["access-control-allow-origin"] == "*"
    allowed = preflight({"DMLAKE_CORS_ORIGINS": "https://portal.example.org, https://other.example.org"})
    assert allowed["access-control-allow-origin"] == "https://portal.example.org"
    assert "access-control-allow-origin" not in preflight({"DMLAKE_CORS_ORIGINS": "https://other.example.org"})
    assert "access-control-allow-origin" not in preflight({"DMLAKE_CORS_ORIGINS": ""})
