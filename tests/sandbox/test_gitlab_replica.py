"""The GitLab API v4 replica answers as GitLab does: pagination headers and links, keyset trees, files API headers,
401/404 bodies, private groups hidden without the token, and a lazily generated group of any size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.base import HarvestState, Limits, SourceSpec
from connectors.gitlab import GitLabConnector
from connectors.http import HttpClient
from ontology import shacl
from sandbox.replicas.gitlab import SANDBOX_TOKEN, GitLabReplica
from sandbox.server import RunningSandbox, start


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[RunningSandbox]:
    replica = GitLabReplica.from_corpus(corpus)
    assert replica is not None
    with start({"dmdc": replica, "big": GitLabReplica.generated(250_000, seed=3)}) as sandbox:
        yield sandbox


def test_offset_pages_carry_gitlabs_headers_and_links(running: RunningSandbox) -> None:
    api = f"{running.urls['dmdc']}/api/v4"
    first = httpx.get(f"{api}/groups/dmdc/projects", params={"include_subgroups": "true", "per_page": 2,
                                                              "order_by": "id", "sort": "asc"})  # fmt: skip
    assert first.status_code == 200
    assert [p["id"] for p in first.json()] == [42, 43]
    headers = first.headers
    assert (headers["x-page"], headers["x-per-page"], headers["x-next-page"], headers["x-prev-page"]) == (
        "1",
        "2",
        "2",
        "",
    )
    assert (headers["x-total"], headers["x-total-pages"]) == ("4", "2")  # COSINE, CRESST, XENON (archived), ANAIS
    assert set(first.links) == {"next", "first", "last"}
    second = httpx.get(first.links["next"]["url"])
    assert [p["id"] for p in second.json()] == [44, 45] and second.headers["x-next-page"] == ""
    assert "next" not in second.links and second.json()[0]["archived"] is True
    capped = httpx.get(f"{api}/groups/dmdc/projects", params={"include_subgroups": "true", "per_page": 500})
    assert capped.headers["x-per-page"] == "100"
    project = first.json()[0]
    assert project["path_with_namespace"] == "dmdc/cosine/cosine100-6years-modulation"
    assert project["namespace"] == {**project["namespace"], "full_path": "dmdc/cosine", "kind": "group"}


def test_errors_are_gitlabs_bodies_and_private_groups_hide(running: RunningSandbox) -> None:
    api = f"{running.urls['dmdc']}/api/v4"
    assert httpx.get(f"{api}/groups/dmdc%2Finternal").json() == {"message": "404 Group Not Found"}
    assert httpx.get(f"{api}/projects/46").json() == {"message": "404 Project Not Found"}
    token = {"PRIVATE-TOKEN": SANDBOX_TOKEN}
    assert httpx.get(f"{api}/groups/dmdc%2Finternal", headers=token).json()["visibility"] == "private"
    assert httpx.get(f"{api}/projects/46", headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}).status_code == 200
    wrong = httpx.get(f"{api}/groups/dmdc", headers={"PRIVATE-TOKEN": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"message": "401 Unauthorized"})
    assert httpx.get(f"{api}/nothing").json() == {"error": "404 Not Found"}
    missing = httpx.get(f"{api}/projects/42/repository/files/nothing.csv", params={"ref": "main"})
    assert (missing.status_code, missing.json()) == (404, {"message": "404 File Not Found"})
    assert httpx.get(f"{api}/projects/42/repository/files/LICENSE").json() == {"error": "ref is missing"}
    descendants = httpx.get(f"{api}/groups/dmdc/descendant_groups").json()
    assert "dmdc/internal" not in {g["full_path"] for g in descendants} and len(descendants) == 6


def test_keyset_tree_and_file_headers(corpus: Path, running: RunningSandbox) -> None:
    api = f"{running.urls['dmdc']}/api/v4/projects/dmdc%2Fcosine%2Fcosine100-6years-modulation"
    url: str | None = f"{api}/repository/tree?ref=v1.0&recursive=true&pagination=keyset&per_page=10"
    entries = []
    while url:
        response = httpx.get(url)
        assert "x-total" not in response.headers
        entries += response.json()
        url = response.links.get("next", {}).get("url")
    blobs = [e["path"] for e in entries if e["type"] == "blob"]
    assert entries[0] == {**entries[0], "path": "data", "type": "tree"}
    assert len(blobs) == len(set(blobs)) == 22 + 3  # the CSVs, README.md, LICENSE, dmdc.json
    data = (corpus / "dmdc/cosine100-publicdata/COSINE100-6YearsModulation/data/CosineIQF.csv").read_bytes()
    head = httpx.head(f"{api}/repository/files/data%2FCosineIQF.csv", params={"ref": "v1.0"})
    assert head.headers["x-gitlab-size"] == str(len(data))
    assert head.headers["x-gitlab-content-sha256"] == hashlib.sha256(data).hexdigest()
    assert head.headers["x-gitlab-blob-id"] == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    raw = httpx.get(f"{api}/repository/files/data%2FCosineIQF.csv/raw", params={"ref": "v1.0"})
    assert raw.content == data
    (release,) = httpx.get(f"{api}/releases").json()
    assert release["tag_name"] == "v1.0" and release["assets"]["count"] == 5
    (tag,) = httpx.get(f"{api}/repository/tags").json()
    assert tag["release"]["tag_name"] == "v1.0" and tag["commit"]["id"] == tag["target"]


def test_a_large_generated_group_is_lazy_and_maps_cleanly(running: RunningSandbox) -> None:
    api = f"{running.urls['big']}/api/v4"
    response = httpx.get(f"{api}/projects/{1000 + 199_999}", timeout=60)
    assert response.json()["path_with_namespace"].endswith("-dataset-199999")
    assert GitLabReplica.generated(250_000, seed=3).store.base.record(7) == GitLabReplica.generated(
        10, seed=3
    ).store.base.record(7)
    # a sample of generated projects through the connector and the SHACL gate
    sample = GitLabReplica.generated(40, seed=3)
    with start({"g": sample}) as small, HttpClient(Limits(), sleep=lambda s: None) as http:
        connector = GitLabConnector(
            SourceSpec("g", "gitlab", small.urls["g"], {"group": "dmdc", "page_size": 15}), http
        )
        records = [GitLabConnector.map_record(raw, "g") for page in connector.pages(HarvestState(full=True))
                   for raw in page.records]  # fmt: skip
    assert len(records) > 40  # tagged projects give a record per tag; archived ones none
    assert any(d.categories for r in records for d in r.distributions)
    report = shacl.validate(records, gates=("dcat-ap", "dml"))
    assert report.conforms(), "\n".join(str(f) for f in report.violations()[:10])
