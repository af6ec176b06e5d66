"""The Zenodo replica answers as zenodo.org does: envelopes, paging, limits, content negotiation, deletions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.replicas.zenodo_generate import PERIOD, GeneratedBase
from sandbox.replicas.zenodo_query import parse_query
from sandbox.replicas.zenodo_records import facts_of
from sandbox.replicas.zenodo_search import Searcher, SearchRequest
from sandbox.server import RunningSandbox, start
from sandbox.store import ReplicaStore

RDM = "application/vnd.inveniordm.v1+json"
CLIENT = httpx.Client()  # keep-alive: a new httpx client per request costs more than the request


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    corpus_replica = ZenodoReplica.from_corpus(corpus)
    assert corpus_replica is not None
    with start({"corpus": corpus_replica, "generated": ZenodoReplica.generated(600, seed=7)}) as running:
        yield running


@pytest.fixture
def zenodo(sandbox: RunningSandbox) -> Iterator[str]:
    url = sandbox.urls["corpus"]
    yield url
    sandbox.replicas["corpus"].enforce_rate_limits = False  # type: ignore[attr-defined]


def _get(url: str, path: str, accept: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return CLIENT.get(f"{url}{path}", params=params, headers=headers, follow_redirects=False)


# -- the corpus --------------------------------------------------------------------------------------------------


def test_corpus_replica_serves_every_zenodo_record_once(corpus: Path) -> None:
    replica = ZenodoReplica.from_corpus(corpus)
    assert replica is not None
    ids = [replica.store.base.native_id(i) for i in range(len(replica.store.base))]
    # 13 legacy search hits + the 2020 legacy record + record 22705923 + two more versions of it
    assert len(ids) == len(set(ids)) == 17
    assert {"3974864", "5173799", "15482", "22705923", "20510517", "17880109"} <= set(ids)
    assert "gjgvm-4mq98" not in ids  # CERN's InvenioRDM demo record: not Zenodo's
    assert set(replica.tombstones) == {"22705918"}
    # the fuller capture of 22705923 (the single record, not its trimmed versions-page hit) is the one served
    index = replica.store.base.index_of("22705923")
    assert index is not None
    assert replica.store.base.record(index)["rdm"]["metadata"]["publisher"] == "Zenodo"


def test_search_envelope_and_link_paging(zenodo: str) -> None:
    response = _get(zenodo, "/api/records", all_versions="true", size=5, sort="updated-asc")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["hits", "aggregations", "links", "sortBy"]
    assert body["hits"]["total"] == 17 and len(body["hits"]["hits"]) == 5
    assert body["sortBy"] == "updated-asc"
    assert set(body["aggregations"]) == {"access_status", "resource_type", "subject", "file_type"}
    assert "prev" not in body["links"]
    assert body["links"]["self"].endswith("?all_versions=true&page=1&size=5&sort=updated-asc")
    seen, pages, link = [], 0, body["links"]["self"]
    while link:
        page = httpx.get(link).json()
        seen += [str(h["id"]) for h in page["hits"]["hits"]]
        pages += 1
        link = page["links"].get("next")
        if pages > 1:
            assert "prev" in page["links"]
    assert pages == 4 and len(seen) == len(set(seen)) == 17
    stamps = [
        h["updated"] for h in httpx.get(body["links"]["self"].replace("size=5", "size=25")).json()["hits"]["hits"]
    ]
    assert stamps == sorted(stamps)


def test_only_latest_versions_without_all_versions(zenodo: str) -> None:
    latest = _get(zenodo, "/api/records", size=25).json()
    every = _get(zenodo, "/api/records", size=25, all_versions="true").json()
    latest_ids = {str(h["id"]) for h in latest["hits"]["hits"]}
    assert every["hits"]["total"] == 17 and latest["hits"]["total"] == len(latest_ids) == 14
    # older versions (captured with is_last/is_latest false) are hidden by default, as Zenodo hides them
    assert {"20510517", "17880109", "5173799"}.isdisjoint(latest_ids)


def test_page_size_limits_anonymous_and_with_a_token(zenodo: str) -> None:
    refused = _get(zenodo, "/api/records", size=26)
    assert refused.status_code == 400
    assert refused.json() == {
        "status": 400,
        "message": "A validation error occurred.",
        "errors": [
            {
                "field": "size",
                "messages": [
                    "Page size cannot be greater than 25. "
                    "Please use authenticated requests to increase the limit to 100."
                ],
            }
        ],
    }
    token = {"Authorization": "Bearer secret-token"}
    assert httpx.get(f"{zenodo}/api/records", params={"size": 100}, headers=token).status_code == 200
    too_big = httpx.get(f"{zenodo}/api/records", params={"size": 101}, headers=token)
    assert too_big.status_code == 400 and "greater than 100." in too_big.text
    assert _get(zenodo, "/api/records", size="many").json()["errors"][0]["field"] == "size"


def test_result_window_of_ten_thousand(zenodo: str) -> None:
    assert _get(zenodo, "/api/records", page=400, size=25).status_code == 200
    beyond = _get(zenodo, "/api/records", page=401, size=25)
    assert beyond.status_code == 400
    assert beyond.json() == {"status": 400, "message": "Invalid querystring parameters."}
    assert _get(zenodo, "/api/records", page=10001, size=1).status_code == 400


def test_sort_options(zenodo: str) -> None:
    bogus = _get(zenodo, "/api/records", sort="bogus")
    assert bogus.status_code == 400
    assert bogus.json()["errors"] == [{"field": "_schema", "messages": ["Invalid sort option 'bogus'."]}]
    newest = _get(zenodo, "/api/records", all_versions="1", size=25).json()
    assert newest["sortBy"] == "newest"
    created = [h["created"] for h in newest["hits"]["hits"]]
    assert created == sorted(created, reverse=True)
    assert _get(zenodo, "/api/records", q="linguistics").json()["sortBy"] == "bestmatch"
    for sort in ("oldest", "mostrecent", "updated-desc", "publication-desc", "publication-asc", "mostviewed"):
        assert _get(zenodo, "/api/records", sort=sort).status_code == 200


def test_accept_negotiation(zenodo: str) -> None:
    legacy = _get(zenodo, "/api/records/5173799").json()
    assert legacy["recid"] == "5173799" and legacy["metadata"]["creators"][0] == {
        "name": "Greenhill, Simon J.",
        "affiliation": None,
    }
    assert _get(zenodo, "/api/records/5173799", "application/vnd.zenodo.v1+json").json() == legacy
    rdm = _get(zenodo, "/api/records/5173799", RDM)
    assert rdm.headers["content-type"] == RDM
    body = rdm.json()
    assert body["pids"]["doi"]["identifier"] == "10.5281/zenodo.5173799"
    assert body["metadata"]["creators"][0]["person_or_org"]["family_name"] == "Greenhill"
    assert body["parent"]["communities"]["entries"][0]["slug"] == "lexibank"
    preferred = _get(zenodo, "/api/records/5173799", f"application/json;q=0.5, {RDM}")
    assert preferred.headers["content-type"] == RDM
    refused = _get(zenodo, "/api/records/5173799", "text/html")
    assert refused.status_code == 406 and "application/vnd.inveniordm.v1+json" in refused.json()["message"]
    # an RDM-captured record in the legacy shape, laid out as ZenodoJSONSerializer writes it (corpus 3c)
    served = _get(zenodo, "/api/records/22705923").json()
    assert list(served) == list(legacy)
    assert served["files"][0]["checksum"] == "63498a22114ec6465a79e4d00774cc00"
    assert served["metadata"]["license"] == {"id": "bsd-3-clause"}
    assert served["metadata"]["relations"]["version"][0] == {
        "index": 46,
        "is_last": True,
        "parent": {"pid_type": "recid", "pid_value": "591564"},
    }


def test_single_record_versions_concepts_and_not_found(zenodo: str) -> None:
    record = _get(zenodo, "/api/records/22705923", RDM)
    assert record.status_code == 200 and record.headers["etag"] == '"4"'
    concept = _get(zenodo, "/api/records/591564")
    assert concept.status_code == 302 and concept.headers["location"] == f"{zenodo}/api/records/22705923"
    versions = _get(zenodo, "/api/records/20510517/versions", RDM, size=2).json()
    assert versions["hits"]["total"] == 3 and versions["sortBy"] == "version"
    assert [h["id"] for h in versions["hits"]["hits"]] == ["22705923", "20510517"]
    assert versions["links"]["next"].endswith("/api/records/20510517/versions?page=2&size=2&sort=version")
    latest = _get(zenodo, "/api/records/17880109/versions/latest")
    assert latest.status_code == 301 and latest.headers["location"].endswith("/api/records/22705923")
    missing = _get(zenodo, "/api/records/1")
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "message": "The persistent identifier does not exist."}
    community = _get(zenodo, "/api/communities/lexibank").json()
    assert community["id"] == "8b166a49-0700-467b-a5bd-e824e45beb88"
    assert community["links"]["self_html"] == f"{zenodo}/communities/lexibank"
    assert _get(zenodo, "/api/communities/8b166a49-0700-467b-a5bd-e824e45beb88").status_code == 200
    assert _get(zenodo, "/api/communities/dplace").json()["slug"] == "dplace"
    assert _get(zenodo, "/api/communities/no-such-community").status_code == 404


def test_tombstones_answer_410(zenodo: str, corpus: Path, sandbox: RunningSandbox) -> None:
    captured = json.loads((corpus / "zenodo/rest/rdm-json_cyanheads-fixtures/tombstone-22705918.json").read_text())
    gone = _get(zenodo, "/api/records/22705918")
    assert gone.status_code == 410 and gone.json() == captured
    empty = _get(zenodo, "/api/records/22705918/versions")
    assert empty.status_code == 200 and empty.json() == {"hits": {"hits": [], "total": 0}}

    url = sandbox.urls["generated"]
    replica = sandbox.replicas["generated"]
    victim = replica.store.sample_ids(1, seed=3)[0]
    assert httpx.post(f"{url}/_sandbox/delete", json={"ids": [victim]}).json() == {"deleted": [victim]}
    deleted = _get(url, f"/api/records/{victim}")
    assert deleted.status_code == 410
    body = deleted.json()
    assert body["status"] == 410 and body["message"] == "Record deleted"
    assert set(body["tombstone"]) == {
        "note",
        "removed_by",
        "removal_date",
        "citation_text",
        "is_visible",
        "removal_reason",
    }
    assert f"https://doi.org/10.5281/zenodo.{victim}" in body["tombstone"]["citation_text"]
    everything = _get(url, "/api/records", all_versions="true", size=25, q=f"recid:{victim}").json()
    assert everything["hits"]["total"] == 0


def test_rate_limit_headers_and_429(zenodo: str, sandbox: RunningSandbox) -> None:
    first = _get(zenodo, "/api/records")
    second = _get(zenodo, "/api/records")
    for response in (first, second):
        assert response.headers["x-ratelimit-limit"] == "30"
        assert int(response.headers["x-ratelimit-reset"]) > 1_700_000_000
        assert 1 <= int(response.headers["retry-after"]) <= 60
    assert int(second.headers["x-ratelimit-remaining"]) <= int(first.headers["x-ratelimit-remaining"])
    assert _get(zenodo, "/api/records/5173799").headers["x-ratelimit-limit"] == "133"
    token = httpx.get(f"{zenodo}/api/records/5173799", headers={"Authorization": "Bearer t"})
    assert token.headers["x-ratelimit-limit"] == "100"

    sandbox.replicas["corpus"].enforce_rate_limits = True  # type: ignore[attr-defined]
    statuses = [_get(zenodo, "/api/records").status_code for _ in range(32)]
    assert statuses[-1] == 429 and statuses.count(429) >= 2
    refused = _get(zenodo, "/api/records")
    assert refused.status_code == 429 and refused.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_query_syntax(zenodo: str) -> None:
    def total(q: str, **params: Any) -> int:
        response = _get(zenodo, "/api/records", q=q, all_versions="true", **params)
        assert response.status_code == 200, response.text
        return int(response.json()["hits"]["total"])

    assert total('updated:["2023-08-16T00:00:00.000+00:00" TO *]') == 12
    assert total('updated:["2023-08-16T02:26:53.786+00:00" TO "2023-08-16T02:26:53.787+00:00"]') == 1
    assert total('updated:{"2023-08-16T02:26:53.786+00:00" TO *]') == 10  # exclusive: 8249894 itself is out
    assert total("updated:[2023-08-16T00:00:00 TO *]") == 12  # luqum reads T00:00:00 as a time
    # ... but not a UTC offset: InvenioRDM then falls back to matching the query's words anywhere
    bare = total("updated:[2023-08-16T00:00:00+00:00 TO *]")
    assert bare != 12 and bare == total("updated 2023 08 16T00 00 00 00 00 to")
    assert total("resource_type.type:(dataset OR software)") == 16
    assert total("resource_type.type:software") == 4
    assert total("recid:[8249000 TO 8250200]") == 6
    assert total('"Uto-Aztecan"') == 1
    assert total("linguistics AND NOT communities:phlorest") == 2
    assert total("", communities="phlorest") == 9
    assert total("", communities="8b166a49-0700-467b-a5bd-e824e45beb88") == 1
    assert total("", resource_type="publication::publication-article") == 1
    assert total("", type="software") == 4
    assert total("", type="publication", subtype="article") == 1
    assert total("", access_status="restricted") == 1
    assert total('doi:"10.5281/ZENODO.8250015"') == 1


def test_edits_change_content_stamp_and_revision(sandbox: RunningSandbox) -> None:
    url = sandbox.urls["generated"]
    replica = sandbox.replicas["generated"]
    target = replica.store.sample_ids(1, seed=11)[0]
    before_rdm = _get(url, f"/api/records/{target}", RDM)
    before_legacy = _get(url, f"/api/records/{target}").json()
    assert httpx.post(f"{url}/_sandbox/edit", json={"ids": [target]}).json() == {"edited": [target]}
    after = _get(url, f"/api/records/{target}", RDM)
    assert after.json()["updated"] > before_rdm.json()["updated"]
    assert after.json()["revision_id"] == before_rdm.json()["revision_id"] + 1
    assert after.headers["etag"] != before_rdm.headers["etag"]
    assert "Revision 1 of this record" in after.json()["metadata"]["description"]
    legacy = _get(url, f"/api/records/{target}").json()
    assert legacy["modified"] == legacy["updated"] == after.json()["updated"] != before_legacy["updated"]
    assert "Revision 1 of this record" in legacy["metadata"]["description"]
    newest_first = _get(url, "/api/records", RDM, all_versions="true", sort="updated-desc", size=1).json()
    assert newest_first["hits"]["hits"][0]["id"] == target


# -- generated records -------------------------------------------------------------------------------------------


def test_generated_records_are_deterministic_and_independent_of_count() -> None:
    small, large, other = GeneratedBase(100, seed=5), GeneratedBase(5000, seed=5), GeneratedBase(100, seed=6)
    assert small.record(42) == large.record(42) == GeneratedBase(100, seed=5).record(42)
    assert small.record(42) != other.record(42)
    assert [small.native_id(i) for i in range(3)] == ["40000000", "40000002", "40000004"]
    assert small.index_of("40000084") == 42 and small.index_of("40000085") is None and small.index_of("x") is None


def test_generated_records_are_dark_matter_and_astroparticle_releases() -> None:
    base = GeneratedBase(400, seed=1)
    records = [base.record(i)["rdm"] for i in range(400)]
    titles = " ".join(r["metadata"]["title"] for r in records)
    for name in ("XENONnT", "IceCube", "CRESST-III", "COSINE-100", "LHAASO"):
        assert name in titles
    families: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        families.setdefault(record["parent"]["id"], []).append(record)
        assert record["pids"]["doi"]["identifier"] == f"10.5281/zenodo.{record['id']}"
        assert record["parent"]["pids"]["doi"]["identifier"] == f"10.5281/zenodo.{record['parent']['id']}"
        for entry in (record["files"].get("entries") or {}).values():
            assert entry["checksum"].startswith("md5:") and len(entry["checksum"]) == 36 and entry["size"] > 0
        assert record["parent"]["communities"]["entries"]
    assert any(len(members) > 1 for members in families.values())
    for members in families.values():
        assert [m["versions"]["index"] for m in members] == list(range(1, len(members) + 1))
        assert [m["versions"]["is_latest"] for m in members] == [False] * (len(members) - 1) + [True]
    access = {r["access"]["status"] for r in records}
    assert access == {"open", "embargoed", "restricted"}
    people = [c for r in records for c in r["metadata"]["creators"] if c["person_or_org"]["type"] == "personal"]
    assert any(c["person_or_org"].get("identifiers") for c in people)
    assert any(a.get("id") == "01ggx4157" for c in people for a in c.get("affiliations", []))


def test_generated_facts_agree_with_the_records() -> None:
    """The search reads facts computed from the index alone; they must be what the record says."""
    base = GeneratedBase(3 * PERIOD + 2, seed=2)
    for index in [*range(0, 3 * PERIOD + 2, 37), 3 * PERIOD, 3 * PERIOD + 1]:
        assert facts_of(base.record(index)["rdm"]) == base.facts(index)
    stamps = [base.updated(i) for i in range(2000)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(base.created(i) <= base.updated(i) < base.created(i + 1) for i in range(2000))


def test_a_million_records_serve_a_page(tmp_path: Path) -> None:
    replica = ZenodoReplica.generated(1_000_000, seed=0)
    with start({"zenodo": replica}) as running:
        url = running.urls["zenodo"]
        body = _get(url, "/api/records", RDM, all_versions="true", size=25, sort="updated-desc").json()
        assert body["hits"]["total"] == 1_000_000
        assert body["hits"]["hits"][0]["id"] == str(40_000_000 + 2 * 999_999)
        filtered = _get(
            url,
            "/api/records",
            RDM,
            communities="escape2020",
            size=25,
            sort="updated-asc",
            q='updated:["2022-01-01T00:00:00.000+00:00" TO *]',
        ).json()
        assert 0 < filtered["hits"]["total"] < 1_000_000
        assert all(h["updated"] >= "2022-01-01" for h in filtered["hits"]["hits"])
        assert all(
            "escape2020" in [e["slug"] for e in h["parent"]["communities"]["entries"]] for h in filtered["hits"]["hits"]
        )


# -- the arithmetic search gives the brute-force answer -------------------------------------------------------

# the harvester's own requests: the first page without a stamp, then keyset pages from the last stamp seen
KEYSET = 'updated:["2018-01-04T10:00:00.123+00:00" TO *]'
EQUIVALENCE_CASES = [
    ("", {"all_versions": True, "sort": "updated-asc"}),
    (KEYSET, {"all_versions": True, "sort": "updated-asc"}),
    (KEYSET, {"all_versions": True, "sort": "updated-asc", "page": 2}),
    (f'resource_type.type:("dataset") AND {KEYSET}', {"all_versions": True, "sort": "updated-asc"}),
    (f"communities:escape2020 AND {KEYSET}", {"all_versions": True, "sort": "updated-asc"}),
    (KEYSET, {"sort": "updated-asc", "page": 4}),
    ("", {"all_versions": False, "sort": "newest"}),
    ('updated:["2018-01-03T00:00:00.000+00:00" TO "2018-01-06T12:00:00.000+00:00"]', {"sort": "updated-asc"}),
    ("communities:escape2020 AND resource_type.type:dataset", {"all_versions": True, "sort": "oldest"}),
    ('keywords:"event data" OR access_right:embargoed', {"sort": "updated-desc", "page": 3}),
    ('created:["2018-01-05" TO *] AND NOT communities:gw-open-science', {"sort": "publication-asc"}),
    ("XENONnT AND title:likelihood", {"all_versions": True, "sort": "updated-asc"}),
    ("", {"all_versions": True, "sort": "mostviewed", "page": 2}),
    # deep pages are counted, not walked: every position of the merge with the overlay must still be right
    ("", {"all_versions": True, "sort": "updated-asc", "page": 60}),
    ("", {"all_versions": True, "sort": "updated-desc", "page": 9}),
    ("", {"all_versions": True, "sort": "oldest", "page": 33}),
    ("resource_type.type:software", {"all_versions": True, "sort": "publication-desc", "page": 2}),
    (KEYSET, {"all_versions": True, "sort": "updated-desc", "page": 5}),
]


@pytest.fixture(scope="module", params=[3, PERIOD - 5, 3 * PERIOD + 1500], ids=lambda n: f"{n}-records")
def edited_searcher(request: pytest.FixtureRequest) -> Searcher:
    """A generated base with deletions (some of them latest versions) and edits, now and back in time."""
    from sandbox.replicas.zenodo import revise

    base = GeneratedBase(request.param, seed=3)
    store = ReplicaStore(base, revise)
    ids = store.sample_ids(min(40, len(base)), seed=1)
    store.delete(ids[:12])
    store.edit(ids[12:24])
    # edits dated inside the base's own span: the edited records move into the middle of the updated order
    for offset, native_id in enumerate(ids[24:34]):
        store.edit([native_id], when=base.updated(len(base) * offset // 10) + timedelta(microseconds=500))
    # deleting the latest version of a family crowns the version before it
    latest = [i for i in range(len(base)) if base.is_latest(i) and len(base.family(i)) > 1]
    store.delete([base.native_id(i) for i in latest[1 : len(latest) : max(1, len(latest) // 6)]])
    return Searcher(store, base)


@pytest.mark.parametrize(("q", "params"), EQUIVALENCE_CASES)
def test_arithmetic_search_equals_record_by_record_search(
    q: str, params: dict[str, Any], edited_searcher: Searcher
) -> None:
    from sandbox.replicas.zenodo_query import Term, conjoin

    query = parse_query(q)
    if not params.get("all_versions"):
        query = conjoin([query, Term("versions.is_latest", "true")])
    request = SearchRequest(query, params["sort"], params.get("page", 1), 25)
    overlay = edited_searcher.overlay()
    fast = edited_searcher.search(request, overlay)
    slow = edited_searcher.record_by_record(request, overlay)
    assert fast.total == slow.total
    assert [e.native_id for e in fast.entries] == [e.native_id for e in slow.entries]
    assert [e.revision for e in fast.entries] == [e.revision for e in slow.entries]
    assert fast.aggregations == slow.aggregations
    if len(edited_searcher.base) > PERIOD and not params.get("page", 1) > 1 and q != "XENONnT AND title:likelihood":
        assert fast.total > 0 and fast.entries


@pytest.mark.parametrize("q", ["", KEYSET, "resource_type.type:dataset"])
@pytest.mark.parametrize("sort", ["updated-asc", "updated-desc", "oldest", "publication-desc"])
def test_every_page_of_a_walk_equals_the_scan(q: str, sort: str, edited_searcher: Searcher) -> None:
    """Page by page, the counted positions give the scan's order, around every edited and deleted record."""
    overlay = edited_searcher.overlay()
    everything = edited_searcher.record_by_record(SearchRequest(parse_query(q), sort, 1, 10**6), overlay)
    expected = [e.native_id for e in everything.entries]
    walked: list[str] = []
    for page in range(1, len(expected) // 25 + 2):
        walked += [e.native_id for e in edited_searcher.search(SearchRequest(parse_query(q), sort, page, 25)).entries]
    assert walked == expected


def test_the_overlay_reaches_the_arithmetic_answers() -> None:
    """Edits and deletions change what the keyset pages list, and every page of a walk agrees with the scan."""
    from sandbox.replicas.zenodo import revise

    base = GeneratedBase(2 * PERIOD + 17, seed=5)
    store = ReplicaStore(base, revise)
    searcher = Searcher(store, base)
    moved = base.native_id(40)
    gone = base.native_id(41)
    store.edit([moved], when=base.updated(300) + timedelta(microseconds=1))
    store.delete([gone])
    request = SearchRequest(parse_query(""), "updated-asc", 1, 25)
    listed: list[str] = []
    page = 1
    while True:
        request = SearchRequest(parse_query(""), "updated-asc", page, 25)
        fast = searcher.search(request)
        assert [e.native_id for e in fast.entries] == [
            e.native_id for e in searcher.record_by_record(request, searcher.overlay()).entries
        ]
        listed += [e.native_id for e in fast.entries]
        if page * 25 >= fast.total:
            break
        page += 1
    assert len(listed) == len(set(listed)) == len(base) - 1
    assert gone not in listed
    assert listed.index(moved) == listed.index(base.native_id(300)) + 1
