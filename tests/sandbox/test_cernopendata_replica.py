"""The CERN Open Data replica answers as opendata.cern.ch's REST API does.

Shapes follow cernopendata-portal (`config.py`, `serializers/basic_json.py`, cold storage) and invenio-records-rest
(search view, facets, error bodies); contents are checked against the corpus fixtures read here directly.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.replicas import replica_class
from sandbox.replicas.cernopendata import CernOpenDataReplica, CorpusCernBase
from sandbox.replicas.cernopendata_api import OAI_PREFIX, SCHEMA_URL, STAMPS_UNTIL, api_metadata, fixture_stamps
from sandbox.replicas.cernopendata_generator import GeneratedCernBase
from sandbox.replicas.cernopendata_search import profile_of
from sandbox.server import RunningSandbox, start

API_KEYS = {"$schema", "_availability_details", "availability", "pids"}
ISO_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    """Every corpus fixture by recid, read directly (not through the replica)."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((corpus / "cernopendata" / "records").glob("*.json")):
        for record in json.loads(path.read_text()):
            records[record["recid"]] = record
    return records


@pytest.fixture(scope="module")
def source(corpus: Path) -> dict[str, dict[str, Any]]:
    return fixtures(corpus)


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = CernOpenDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"corpus": replica, "generated": CernOpenDataReplica.generated(20_000, seed=3)}) as running:
        yield running


@pytest.fixture(scope="module")
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.urls["corpus"], timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def generated_api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.urls["generated"], timeout=60) as client:
        yield client


def search(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/records/", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_hits(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Follow `links.next` from the first page, as a client of the real API would (re-adding `ondemand`)."""
    body = search(client, **params)
    hits = list(body["hits"]["hits"])
    while "next" in body["links"]:
        url = body["links"]["next"]
        if "ondemand" in params:
            url += f"&ondemand={params['ondemand']}"
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        hits += body["hits"]["hits"]
    return hits


# -- the corpus replica ---------------------------------------------------------------------------------------------
def test_registered_and_fed_from_every_record_file(corpus: Path, source: dict[str, dict[str, Any]]) -> None:
    assert replica_class("cernopendata") is CernOpenDataReplica
    base = CorpusCernBase.load(corpus / "cernopendata" / "records")
    assert base is not None
    assert len(source) == len(base) == 7443
    recids = [base.recid_at(i) for i in range(len(base))]
    assert recids == sorted(int(r) for r in source)


def test_derived_stamps_are_stable_ordered_and_never_in_the_future(source: dict[str, dict[str, Any]]) -> None:
    generated = GeneratedCernBase(30_000, seed=2)
    stamps = [fixture_stamps(f) for f in source.values()]
    stamps += [(generated.created(i), generated.updated(i)) for i in range(0, 30_000, 7)]
    assert all(created <= updated <= STAMPS_UNTIL for created, updated in stamps)
    for fixture in source.values():
        created, _ = fixture_stamps(fixture)
        assert str(created.year) == fixture["date_published"] or created.year == STAMPS_UNTIL.year
    assert fixture_stamps(source["1"]) == fixture_stamps(dict(source["1"]))


def test_from_corpus_reads_record_arrays_only(tmp_path: Path) -> None:
    records = tmp_path / "cernopendata" / "records"
    records.mkdir(parents=True)
    (records / "a.json").write_text(json.dumps([{"recid": "7", "title": "Seven"}, {"recid": "3", "title": "Three"}]))
    (records / "not-records.json").write_text(json.dumps({"recid": "9"}))
    (records / "broken.json").write_text("[{")
    (records / "INDEX.tsv").write_text("file\tbytes\n")
    replica = CernOpenDataReplica.from_corpus(tmp_path)
    assert replica is not None
    assert [replica.base.native_id(i) for i in range(len(replica.base))] == ["3", "7"]
    assert CernOpenDataReplica.from_corpus(tmp_path / "elsewhere") is None


def test_record_envelope_matches_the_portal_serializer(api: httpx.Client, source: dict[str, dict[str, Any]]) -> None:
    fixture = source["1"]
    response = api.get("/api/records/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"created", "id", "links", "metadata", "updated"}
    assert body["id"] == "1"
    assert ISO_STAMP.match(body["created"]) and ISO_STAMP.match(body["updated"])
    assert body["created"] <= body["updated"]
    metadata = body["metadata"]
    assert body["links"] == {
        "self": f"{api.base_url}/api/records/1",
        "bucket": f"{api.base_url}/api/files/{metadata['_bucket']}",
    }
    assert metadata["$schema"] == SCHEMA_URL
    assert metadata["pids"] == {"oai": {"id": f"{OAI_PREFIX}1"}}
    assert metadata["availability"] == "online"
    # every fixture key is served unchanged, except files, which the serializer rebuilds
    for key, value in fixture.items():
        if key != "files":
            assert metadata[key] == value, key
    index = [f for f in fixture["files"] if "index" in f.get("type", "")]
    plain = [f for f in fixture["files"] if "index" not in f.get("type", "")]
    rebuilt = lambda f: {  # noqa: E731
        "checksum": f["checksum"],
        "size": f["size"],
        "filename": f["uri"].rsplit("/", 1)[1],
        "uri": f["uri"],
    }
    assert metadata["files"] == [rebuilt(f) for f in plain]
    assert metadata["index_files"] == [rebuilt(f) for f in index]
    # one file index per index.json; the corpus does not hold their contents, so no file list is claimed
    keys = [f["uri"].rsplit("/", 1)[1] for f in fixture["files"] if f.get("type") == "index.json"]
    assert [i["key"] for i in metadata["_file_indices"]] == keys
    assert all("files" not in i for i in metadata["_file_indices"])
    # files listed by the indices plus the record's own files, all online
    assert metadata["_availability_details"] == {"online": fixture["distribution"]["number_files"] + len(index)}


def test_record_without_files_has_no_bucket(api: httpx.Client, source: dict[str, dict[str, Any]]) -> None:
    recid = next(r for r, f in source.items() if not f.get("files"))
    body = api.get(f"/api/records/{recid}").json()
    assert set(body["links"]) == {"self"} and "_bucket" not in body["metadata"]
    assert body["metadata"]["files"] == [] and body["metadata"]["index_files"] == []
    assert body["metadata"]["_availability_details"] == {} and body["metadata"]["availability"] == "online"


def test_unknown_record_is_invenios_404(api: httpx.Client) -> None:
    response = api.get("/api/records/99999999")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "PID does not exist."}


def test_search_envelope_and_paging(api: httpx.Client) -> None:
    body = search(api, q="recid:[1 TO 3000]", size=50, sort="mostrecent")
    assert set(body) == {"aggregations", "hits", "links"}
    total = body["hits"]["total"]
    assert isinstance(total, int) and total > 50
    first = body["hits"]["hits"][0]
    assert set(first) == {"created", "id", "links", "metadata", "updated"}
    assert set(first["metadata"]) >= API_KEYS
    assert not {"files", "index_files", "_file_indices"} & set(first["metadata"])
    assert "prev" not in body["links"]
    next_query = parse_qs(urlsplit(body["links"]["next"]).query)
    assert next_query == {"page": ["2"], "size": ["50"], "sort": ["mostrecent"], "q": ["recid:[1 TO 3000]"]}
    second = api.get(body["links"]["next"]).json()
    assert parse_qs(urlsplit(second["links"]["prev"]).query)["page"] == ["1"]
    hits = all_hits(api, q="recid:[1 TO 3000]", size=50, sort="mostrecent")
    ids = [h["id"] for h in hits]
    assert len(ids) == len(set(ids)) == total
    assert all(1 <= int(i) <= 3000 for i in ids)


def test_search_hit_metadata_is_the_record_without_files(api: httpx.Client) -> None:
    hit = search(api, q="recid:1")["hits"]["hits"][0]
    record = api.get("/api/records/1").json()
    expected = {k: v for k, v in record["metadata"].items() if k not in ("files", "index_files", "_file_indices")}
    assert hit["metadata"] == expected
    assert (hit["created"], hit["updated"], hit["links"]) == (record["created"], record["updated"], record["links"])


def test_result_window_is_refused_as_invenio_does(api: httpx.Client) -> None:
    for page, size in ((100, 100), (1, 10000), (5, 2000)):
        response = api.get("/api/records/", params={"page": page, "size": size})
        assert response.status_code == 400
        assert response.json() == {"status": 400, "message": "Maximum number of results have been reached."}
    assert api.get("/api/records/", params={"page": 99, "size": 100}).status_code == 200


def test_next_link_can_lead_into_the_window_as_on_the_real_portal(generated_api: httpx.Client) -> None:
    body = search(generated_api, size=1000, page=9, ondemand="true")
    assert body["hits"]["total"] > 10_000
    assert "page=10" in body["links"]["next"]
    assert generated_api.get(body["links"]["next"]).status_code == 400


def test_query_recid_ranges_words_doi_and_title(api: httpx.Client, source: dict[str, dict[str, Any]]) -> None:
    def ids(q: str) -> set[str]:
        return {h["id"] for h in all_hits(api, q=q, size=500)}

    numbers = sorted(int(r) for r in source)
    low, high = numbers[100], numbers[120]
    inclusive = {str(n) for n in numbers if low <= n <= high}
    assert ids(f"recid:[{low} TO {high}]") == inclusive
    assert ids(f"recid:{{{low} TO {high}}}") == inclusive - {str(low), str(high)}
    assert ids(f"recid:[{numbers[-3]} TO *]") == {str(n) for n in numbers[-3:]}
    assert ids(f"recid:{low}") == {str(low)}
    assert ids("recid:[5 TO 4]") == set()

    doi_record = next(f for f in source.values() if f.get("doi"))
    assert ids(f'doi:"{doi_record["doi"].lower()}"') == {doi_record["recid"]}
    title_record = source["1819"]
    assert ids(f'title:"{title_record["title"]}"') == {"1819"}
    word_hits = ids("Condition data 2016")
    expected = {
        r for r, f in source.items() if {"condition", "data", "2016"} <= set(re.findall(r"\w+", f["title"].lower()))
    }
    assert word_hits == expected and "1819" in word_hits


def test_unsupported_query_syntax_is_a_clear_400(api: httpx.Client) -> None:
    for q in ("CMS OR ATLAS", "(muon)", "abstract.description:muon"):
        response = api.get("/api/records/", params={"q": q})
        assert response.status_code == 400
        body = response.json()
        assert body["message"] == "Invalid query syntax."
        assert body["errors"][0]["field"] == "q" and body["errors"][0]["message"]


def test_sorts(api: httpx.Client, source: dict[str, dict[str, Any]]) -> None:
    q = "recid:[1 TO 2000]"
    recent = all_hits(api, q=q, size=500, sort="mostrecent")
    keys = [(source[h["id"]]["date_published"], int(h["id"])) for h in recent]
    assert keys == sorted(keys, reverse=True)
    oldest = all_hits(api, q=q, size=500, sort="-mostrecent")
    assert [h["id"] for h in oldest] == [h["id"] for h in reversed(recent)]
    titles = [h["metadata"]["title"] for h in all_hits(api, q=q, size=500, sort="title")]
    assert titles == sorted(titles)
    titles_desc = [h["metadata"]["title"] for h in all_hits(api, q=q, size=500, sort="title_desc")]
    assert titles_desc == sorted(titles_desc, reverse=True)
    # no query and no sort: most recent first, as RECORDS_REST_DEFAULT_SORT says
    assert parse_qs(urlsplit(search(api, size=5)["links"]["self"]).query)["sort"] == ["mostrecent"]


def test_facet_filters_and_aggregations(api: httpx.Client, source: dict[str, dict[str, Any]]) -> None:
    by_experiment = Counter(e for f in source.values() for e in f["experiment"])
    body = search(api, size=1)
    buckets = {b["key"]: b["doc_count"] for b in body["aggregations"]["experiment"]["buckets"]}
    assert buckets == dict(by_experiment)
    assert body["hits"]["total"] == len(source)

    atlas = search(api, experiment="ATLAS", size=1)
    assert atlas["hits"]["total"] == by_experiment["ATLAS"]
    # the experiment facet ignores its own filter; every other facet is computed on ATLAS records only
    assert {b["key"]: b["doc_count"] for b in atlas["aggregations"]["experiment"]["buckets"]} == dict(by_experiment)
    atlas_types = Counter(f["type"]["primary"] for f in source.values() if "ATLAS" in f["experiment"])
    assert {b["key"]: b["doc_count"] for b in atlas["aggregations"]["type"]["buckets"]} == dict(atlas_types)

    simulated = {
        r
        for r, f in source.items()
        if f["type"]["primary"] == "Dataset" and "Simulated" in f["type"].get("secondary", [])
    }
    hits = all_hits(api, type="Dataset::Simulated", size=1000)
    assert {h["id"] for h in hits} == simulated
    both = search(api, type="Dataset::Simulated", experiment=["ATLAS", "LHCb"], size=1)
    assert both["hits"]["total"] == len({r for r in simulated if {"ATLAS", "LHCb"} & set(source[r]["experiment"])})
    energies = Counter(
        f["collision_information"]["energy"]
        for f in source.values()
        if f.get("collision_information", {}).get("energy")
    )
    assert {b["key"]: b["doc_count"] for b in body["aggregations"]["collision_energy"]["buckets"]} == dict(energies)
    events = body["aggregations"]["number_events"]["buckets"]
    assert all(b["doc_count"] > 0 for b in events)
    assert sum(b["doc_count"] for b in events) == sum(
        1 for f in source.values() if isinstance(f.get("distribution", {}).get("number_events"), int)
    )
    subtype = next(b for b in body["aggregations"]["type"]["buckets"] if b["key"] == "Dataset")["subtype"]
    assert {b["key"] for b in subtype["buckets"]} == {"Collision", "Derived", "Simulated"}


def test_edits_and_deletions(corpus: Path) -> None:
    replica = CernOpenDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"cern": replica}) as running, httpx.Client(base_url=running.urls["cern"], timeout=60) as client:
        before = client.get("/api/records/1819").json()
        client.post("/_sandbox/edit", json={"ids": ["1819"]}).raise_for_status()
        after = client.get("/api/records/1819").json()
        assert after["updated"] > before["updated"] and after["created"] == before["created"]
        assert after["metadata"]["abstract"]["description"].startswith(before["metadata"]["abstract"]["description"])
        assert "Metadata revision 1 of" in after["metadata"]["abstract"]["description"]
        hit = search(client, q="recid:1819")["hits"]["hits"][0]
        assert hit["updated"] == after["updated"]

        total = search(client, size=1)["hits"]["total"]
        client.post("/_sandbox/delete", json={"ids": ["1819", "1"]}).raise_for_status()
        gone = client.get("/api/records/1819")
        assert gone.status_code == 410
        assert gone.json() == {"status": 410, "message": "PID has been deleted."}
        assert search(client, size=1)["hits"]["total"] == total - 2
        assert (
            search(client, q="recid:[1 TO 1819]", size=1)["hits"]["total"]
            == search(client, q="recid:[2 TO 1818]", size=1)["hits"]["total"]
        )


# -- the generated replica ------------------------------------------------------------------------------------------
def test_generated_records_are_deterministic_and_consistent() -> None:
    one, two, other = GeneratedCernBase(50_000, seed=5), GeneratedCernBase(50_000, seed=5), GeneratedCernBase(50_000, 6)
    sample = range(0, 50_000, 997)
    assert [one.record(i) for i in sample] == [two.record(i) for i in sample]
    assert [one.updated(i) for i in sample] == [two.updated(i) for i in sample]
    assert [one.record(i) for i in sample] != [other.record(i) for i in sample]
    for i in sample:
        record = one.record(i)
        assert one.index_of(one.native_id(i)) == i
        assert record["recid"] == one.native_id(i) == str(one.recid_at(i))
        assert profile_of(record) == one.profile(one.profile_id_at(i))
        assert one.title_at(i) == record["title"]
        assert one.created(i) <= one.updated(i)
        if record.get("doi"):
            assert one.find_doi(record["doi"]) == i
        members = one.index_members(i)
        distribution = record.get("distribution", {})
        if members:
            listed = [m for files in members.values() for m in files]
            assert distribution["number_files"] == len(listed)
            assert distribution["size"] == sum(m["size"] for m in listed)
            assert sorted(members) == sorted(
                f["uri"].rsplit("/", 1)[1] for f in record["files"] if f.get("type") == "index.json"
            )
        for file in record.get("files", []):
            assert re.fullmatch(r"adler32:[0-9a-f]{8}", file["checksum"])
            assert file["uri"].startswith("root://eospublic.cern.ch//eos/opendata/")
    assert one.index_of("0") is None and one.index_of("66") is None and one.index_of("x") is None
    assert one.recid_at(64) == 70  # a gap after each block of 64 recids


def test_generated_mix_follows_the_portal() -> None:
    base = GeneratedCernBase(20_000, seed=1)
    experiments: Counter[str] = Counter()
    types: Counter[str] = Counter()
    ondemand = dois = indexed = 0
    for i in range(0, 20_000, 4):
        record = base.record(i)
        experiments[record["experiment"][0]] += 1
        types[record["type"]["primary"]] += 1
        ondemand += record.get("distribution", {}).get("availability") == "ondemand"
        dois += "doi" in record
        indexed += any(f.get("type") == "index.json" for f in record.get("files", []))
    total = sum(experiments.values())
    assert 0.78 < experiments["CMS"] / total < 0.88  # 6,992 of 8,443 in the full snapshot
    assert 0.06 < experiments["DELPHI"] / total < 0.12
    assert {"ATLAS", "ALICE", "LHCb", "JADE", "OPERA"} <= set(experiments)
    assert {"Dataset", "Supplementaries", "Software", "Environment", "Documentation"} <= set(types)
    assert 0 < ondemand < 0.02 * total and dois > 0.1 * total and indexed > 0.05 * total


def test_generated_ondemand_records_need_ondemand_true(generated_api: httpx.Client) -> None:
    base = GeneratedCernBase(20_000, seed=3)
    cold = [i for i in range(20_000) if base.profile(base.profile_id_at(i)).ondemand]
    assert cold
    q = f"recid:[1 TO {base.recid_at(3000)}]"
    expected_cold = {base.native_id(i) for i in cold if i <= 3000}
    without = {h["id"] for h in all_hits(generated_api, q=q, size=500)}
    with_cold = {h["id"] for h in all_hits(generated_api, q=q, size=500, ondemand="true")}
    assert expected_cold and not expected_cold & without
    assert with_cold == without | expected_cold
    body = search(generated_api, q=q, size=500, ondemand="true")
    assert "ondemand" not in body["links"]["next"]  # the portal drops it from its links
    record = generated_api.get(f"/api/records/{base.native_id(cold[0])}").json()["metadata"]
    assert record["availability"] in ("on demand", "partially")
    assert record["_availability_details"].get("on demand", 0) > 0


def test_generated_file_indices_list_their_files(generated_api: httpx.Client) -> None:
    base = GeneratedCernBase(20_000, seed=3)
    index = next(i for i in range(20_000) if base.index_members(i))
    metadata = generated_api.get(f"/api/records/{base.native_id(index)}").json()["metadata"]
    members = base.index_members(index)
    assert [i["key"] for i in metadata["_file_indices"]] == list(members)
    for entry in metadata["_file_indices"]:
        listed = members[entry["key"]]
        assert entry["number_files"] == len(entry["files"]) == len(listed)
        assert entry["size"] == sum(m["size"] for m in listed)
        assert [f["uri"] for f in entry["files"]] == [m["uri"] for m in listed]


def test_api_metadata_leaves_the_fixture_untouched(source: dict[str, dict[str, Any]]) -> None:
    fixture = source["1"]
    snapshot = json.dumps(fixture, sort_keys=True)
    metadata = api_metadata(fixture)
    assert json.dumps(fixture, sort_keys=True) == snapshot
    assert set(metadata) >= API_KEYS


# -- profile counting gives the record-by-record answer ----------------------------------------------------------
PROFILE_CASES: list[tuple[str | None, dict[str, tuple[str, ...]], bool, str]] = [
    # the harvester's listing: recid windows, cold records included, newest first
    ("recid:[0 TO 4999]", {}, True, "mostrecent"),
    ("recid:[2000 TO 9711]", {}, True, "mostrecent"),
    ("recid:[9000 TO *]", {}, True, "mostrecent"),
    (None, {}, True, "mostrecent"),
    (None, {}, False, "-mostrecent"),
    ("recid:[100 TO 7000]", {}, False, "bestmatch"),
    ("recid:{100 TO 7000}", {}, True, "-bestmatch"),
    ("recid:[5000 TO 5200]", {}, True, "title"),
    ("recid:[5000 TO 5900]", {}, True, "title_desc"),
    ("experiment:CMS", {"type": ("Dataset::Simulated",)}, True, "mostrecent"),
    ("recid:[1 TO 12000]", {"experiment": ("DELPHI", "ALICE"), "year": ("1994", "2010")}, False, "mostrecent"),
    (None, {"file_type": ("root",), "collision_energy": ("7TeV",)}, True, ""),
    (None, {"category": ("Higgs Physics::Standard Model",), "keywords": ("education",)}, True, "mostrecent"),
    ("recid:[50 TO 40]", {}, True, "mostrecent"),
    ("recid:[20000 TO *]", {}, True, "mostrecent"),
]


@pytest.fixture(scope="module")
def generated_engine() -> tuple[CernOpenDataReplica, frozenset[int]]:
    """13,000 generated records (several column blocks and lookup chunks) with deletions spread over them."""
    replica = CernOpenDataReplica.generated(13_000, seed=4)
    doomed = replica.store.sample_ids(60, seed=2)
    replica.store.delete(doomed)
    return replica, replica.deleted_indices()


@pytest.mark.parametrize(("q", "filters", "ondemand", "sort"), PROFILE_CASES)
def test_profile_counted_search_equals_record_by_record(
    q: str | None,
    filters: dict[str, tuple[str, ...]],
    ondemand: bool,
    sort: str,
    generated_engine: tuple[CernOpenDataReplica, frozenset[int]],
) -> None:
    from sandbox.replicas.cernopendata_search import SearchRequest, parse_query

    replica, deleted = generated_engine
    assert deleted and len(deleted) == 60
    request = SearchRequest(parse_query(q), tuple(filters.items()), ondemand, sort)
    fast = replica.engine._run(request, deleted)
    slow = replica.engine.record_by_record(request, deleted)
    expected = list(slow.hits)
    assert fast.total == slow.total == len(expected)
    assert fast.aggregations == slow.aggregations
    # pages as a client asks for them, deep ones first: the lazy lookup must not depend on the order of requests
    pages = [(p * 700, p * 700 + 700) for p in range(len(expected) // 700 + 1)]
    for first, last in reversed(pages):
        assert list(fast.hits[first:last]) == expected[first:last]
    assert list(fast.hits) == expected
    if expected:
        assert fast.hits[-1] == expected[-1] and fast.hits[len(expected) // 2] == expected[len(expected) // 2]


def test_profile_counted_search_equals_record_by_record_on_the_corpus(corpus: Path) -> None:
    from sandbox.replicas.cernopendata_search import SearchRequest, parse_query

    replica = CernOpenDataReplica.from_corpus(corpus)
    assert replica is not None
    replica.store.delete(["1819", "1", "5500"])
    deleted = replica.deleted_indices()
    for q, filters, ondemand, sort in PROFILE_CASES:
        request = SearchRequest(parse_query(q), tuple(filters.items()), ondemand, sort)
        fast = replica.engine._run(request, deleted)
        slow = replica.engine.record_by_record(request, deleted)
        assert list(fast.hits) == list(slow.hits), (q, filters, sort)
        assert fast.aggregations == slow.aggregations, (q, filters, sort)


def test_a_hit_built_from_the_light_record_is_the_hit_of_the_full_record() -> None:
    """Search hits are built without file names and checksums; what they show must not change for it."""
    from sandbox.replicas.cernopendata_api import api_hit

    base = GeneratedCernBase(40_000, seed=9)

    def hit(record: dict[str, Any]) -> dict[str, Any]:
        return api_hit(record, created=base.created(0), updated=base.updated(0), base_url="http://replica")

    shapes: Counter[str] = Counter()
    for index in range(0, 40_000, 13):
        full = base.record(index)
        files = full.get("files", [])
        indexed = any(f.get("type") == "index.json" for f in files)
        shapes["indexed" if indexed else "plain files" if files else "no files"] += 1
        shapes["cold"] += full.get("distribution", {}).get("availability") == "ondemand"
        shapes["ALICE indexed"] += indexed and full["experiment"] == ["ALICE"]
        assert hit(base.hit_record(index)) == hit(full)
        assert base.record_and_members(index) == (full, base.index_members(index))
    # every branch of the light build: index files (ALICE has no .txt twins), plain files, none, cold storage
    assert min(shapes.values()) > 0, shapes
