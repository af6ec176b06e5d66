"""The HEPData replica answers as hepdata.net does: record JSON, search, ids, downloads, 404s, edits, deletions.

Shapes are checked against what HEPData's code builds (records/api.py `format_submission`, data_processing_utils
`process_ctx`, search/views.py, converter/views.py); contents against the corpus submissions read here directly.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sandbox.replicas import replica_class
from sandbox.replicas.hepdata import HEPDataReplica
from sandbox.replicas.hepdata_generate import GeneratedHoldings
from sandbox.server import RunningSandbox, start

LHCB = "ins1396331"
BELLE = "ins1512299"

# format_submission + process_ctx: what the record page JSON holds once the widget flags are dropped
CONTEXT_KEYS = {
    "access_count", "additional_resources", "coordinator", "data_tables", "mode", "participant_count", "recid",
    "record", "record_type", "resources_with_doi", "reviewers_notified", "site_url", "status", "table_id_to_show",
    "table_name_to_show", "version", "version_count", "watched", "overall_status", "related_recids",
    "related_to_this_recids",
}  # fmt: skip
WIDGET_KEYS = {"show_review_widget", "show_upload_area", "show_upload_widget", "coordinators",
               "is_submission_coordinator_or_admin", "is_admin"}  # fmt: skip
# inspire_api/parser.py parsed_content_defaults + document_enhancers (authors removed by format_submission)
RECORD_KEYS = {
    "title", "doi", "type", "abstract", "creation_date", "arxiv_id", "collaborations", "keywords", "journal_info",
    "year", "subject_area", "recid", "id", "inspire_id", "uuid", "doc_type", "access_urls", "data_abstract",
    "summary_authors", "last_updated", "analyses", "parent_child_join", "resources", "data_keywords", "hepdata_doi",
}  # fmt: skip
TABLE_KEYS = {"id", "processed_name", "name", "location", "doi", "description", "resources", "data"}


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    corpus_replica = HEPDataReplica.from_corpus(corpus)
    assert corpus_replica is not None
    with start({"corpus": corpus_replica, "generated": HEPDataReplica.generated(150, seed=11)}) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def url(sandbox: RunningSandbox, name: str, path: str) -> str:
    return sandbox.urls[name] + path


def yaml_stream(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) if d is not None]


def lhcb_tables(corpus: Path) -> list[dict[str, Any]]:
    documents = yaml_stream(corpus / "hepdata/submission_format/ins1396331_LHCb/submission.yaml")
    return [d for d in documents if "data_file" in d]


def belle_tables(corpus: Path) -> list[dict[str, Any]]:
    documents = yaml_stream(corpus / "hepdata/submission_format/ins1512299_Belle_single_file/1512299.yaml")
    return [d for d in documents if "name" in d]


def record_json(client: httpx.Client, base: str, ident: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"{base}/record/{ident}", params={"format": "json", **params})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


# -- registration and feeding ----------------------------------------------------------------------------------------
def test_the_replica_is_registered_for_the_hepdata_kind() -> None:
    assert replica_class("hepdata") is HEPDataReplica
    assert HEPDataReplica.kind == "hepdata"


def test_from_corpus_holds_every_submission_under_the_corpus(corpus: Path, tmp_path: Path) -> None:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    assert [replica.store.base.native_id(i) for i in range(len(replica.store.base))] == [LHCB, BELLE]
    assert HEPDataReplica.from_corpus(tmp_path) is None


# -- the record page JSON --------------------------------------------------------------------------------------------
def test_record_json_has_the_shape_hepdata_builds(sandbox: RunningSandbox, client: httpx.Client) -> None:
    response = client.get(url(sandbox, "corpus", f"/record/{LHCB}"), params={"format": "json"})
    document = response.json()
    assert set(document) == CONTEXT_KEYS
    assert not WIDGET_KEYS & set(document)
    assert set(document["record"]) == RECORD_KEYS | {"publication_date"}
    assert "authors" not in document["record"]
    for table in document["data_tables"]:
        assert set(table) == TABLE_KEYS
        assert set(table["data"]) == {"json", "root", "csv", "yoda", "yoda1", "yoda.h5", "yaml"}
    # Flask's jsonify: sorted keys, compact, ASCII only
    assert response.content == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["status"] == "finished" and document["record_type"] == "publication"
    assert document["record"]["doc_type"] == "publication"
    assert document["record"]["parent_child_join"] == {"name": "parent_publication"}


def test_record_json_carries_the_lhcb_submission(sandbox: RunningSandbox, client: httpx.Client, corpus: Path) -> None:
    document = record_json(client, sandbox.urls["corpus"], LHCB)
    record = document["record"]
    tables = lhcb_tables(corpus)
    assert document["recid"] == 73066 and record["recid"] == 73066  # verified on hepdata.net
    assert record["inspire_id"] == "1396331"
    assert document["version"] == document["version_count"] == 1
    # one version: HEPData writes the base DOI, without .v1
    assert record["hepdata_doi"] == "10.17182/hepdata.73066"
    assert [t["name"] for t in document["data_tables"]] == [t["name"] for t in tables]
    assert [t["doi"] for t in document["data_tables"]] == [
        f"10.17182/hepdata.73066.v1/t{n}" for n in range(1, len(tables) + 1)
    ]
    assert [t["location"] for t in document["data_tables"]] == [t["location"] for t in tables]
    assert document["data_tables"][0]["processed_name"] == "Table1"
    assert document["data_tables"][0]["data"]["csv"].endswith("/download/table/ins1396331/Table1/1/csv")
    assert document["table_id_to_show"] == document["data_tables"][0]["id"]
    # reactions, observables and energies of all tables, aggregated on the publication
    keywords = record["data_keywords"]
    assert sorted(keywords["reactions"]) == sorted({v for t in tables for k in t["keywords"] if k["name"] ==
                                                    "reactions" for v in k["values"]})  # fmt: skip
    assert sorted(keywords["observables"]) == sorted({v for t in tables for k in t["keywords"] if k["name"] ==
                                                      "observables" for v in k["values"]})  # fmt: skip
    assert keywords["cmenergies"] == [{"gte": 13000.0, "lte": 13000.0}]
    # the link resource of the submission header
    assert record["resources"] == [
        {
            "description": "web page with auxiliary material",
            "type": "html",
            "url": "http://lhcbproject.web.cern.ch/lhcbproject/Publications/LHCbProjectPublic/LHCb-PAPER-2015-041.html",
        }
    ]
    assert document["additional_resources"] is True and document["resources_with_doi"] == []
    # INSPIRE metadata from the labelled side file
    assert record["collaborations"] == ["LHCb"] and record["arxiv_id"] == "arXiv:1510.01707"
    assert record["doi"] == "10.1007/JHEP03(2016)159" and record["year"] == "2016"


def test_descriptions_are_cut_and_sanitised_as_hepdata_does(
    sandbox: RunningSandbox, client: httpx.Client, corpus: Path
) -> None:
    document = record_json(client, sandbox.urls["corpus"], LHCB)
    for table, original in zip(document["data_tables"], lhcb_tables(corpus), strict=True):
        words = original["description"].split()
        assert table["description"] == (" ".join(words[:20]) + ("..." if len(words) > 20 else "")).replace("<", "&lt;")
    abstract = document["record"]["data_abstract"]
    assert "$0 &lt; p_{\\mathrm{T}} &lt; 15$" in abstract and "<" not in abstract


def test_last_updated_is_an_http_date(sandbox: RunningSandbox, client: httpx.Client) -> None:
    document = record_json(client, sandbox.urls["corpus"], BELLE)
    assert document["record"]["last_updated"] == "Wed, 15 Jul 2020 00:00:00 GMT"
    assert parsedate_to_datetime(document["record"]["last_updated"]) == datetime(2020, 7, 15, tzinfo=UTC)


def test_unverified_inspire_metadata_takes_hepdatas_defaults(sandbox: RunningSandbox, client: httpx.Client) -> None:
    record = record_json(client, sandbox.urls["corpus"], BELLE)["record"]
    assert record["title"] is None and record["arxiv_id"] is None and record["doi"] is None
    assert record["abstract"] == "None" and record["journal_info"] == "No Journal Information"
    assert record["collaborations"] == [] and record["year"] is None and "publication_date" not in record


def test_light_mode_drops_the_tables(sandbox: RunningSandbox, client: httpx.Client) -> None:
    light = record_json(client, sandbox.urls["corpus"], LHCB, light="true")
    assert "data_tables" not in light and light["record"]["title"]
    # bool(request.args.get('light', False)): any non-empty value is light, even "false"
    assert "data_tables" not in record_json(client, sandbox.urls["corpus"], LHCB, light="false")


def test_record_by_hepdata_id_and_access_counter(sandbox: RunningSandbox, client: httpx.Client) -> None:
    first = record_json(client, sandbox.urls["corpus"], "73066")
    second = record_json(client, sandbox.urls["corpus"], LHCB)
    assert second["access_count"] == first["access_count"] + 1
    first.pop("access_count")
    second.pop("access_count")
    assert first == second


def test_unknown_records_and_versions_are_htmls_404(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = sandbox.urls["corpus"]
    for path, params in [
        ("/record/ins1", {"format": "json"}),
        ("/record/123456789", {"format": "json"}),
        (f"/record/{LHCB}", {"format": "json", "version": "2"}),
        (f"/record/{LHCB}", {"format": "json", "version": "0"}),
    ]:
        response = client.get(base + path, params=params)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")


def test_other_formats_redirect_to_the_download_routes(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = sandbox.urls["corpus"]
    response = client.get(f"{base}/record/{LHCB}", params={"format": "yaml"})
    assert response.status_code == 302 and response.headers["location"] == "/download/submission/73066/1/yaml"
    response = client.get(f"{base}/record/{LHCB}", params={"format": "csv", "table": "Table 1"})
    assert response.headers["location"] == "/download/table/ins1396331/Table%201/1/csv"
    assert client.get(f"{base}/record/{LHCB}").headers["content-type"].startswith("text/html")


# -- /search/ids -----------------------------------------------------------------------------------------------------
def test_ids_lists_every_record(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = sandbox.urls["corpus"]
    assert client.get(f"{base}/search/ids", params={"inspire_ids": "true"}).json() == [1396331, 1512299]
    assert client.get(f"{base}/search/ids").json() == [73066, 9000001]
    assert client.get(f"{base}/search/ids", params={"inspire_ids": "false"}).json() == [73066, 9000001]


def test_ids_since_a_date(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = sandbox.urls["generated"]
    holdings = GeneratedHoldings(150, seed=11)
    cut = holdings.updated(100).date()
    expected = [holdings.inspire_id(i) for i in range(150) if holdings.updated(i).date() >= cut]
    answer = client.get(
        f"{base}/search/ids", params={"inspire_ids": "true", "last_updated": cut.isoformat(), "sort_by": "latest"}
    ).json()
    assert answer == sorted(expected, reverse=True) and 50 <= len(answer) <= 52  # three records a day
    assert client.get(f"{base}/search/ids", params={"last_updated": "2099-01-01"}).json() == []


def test_ids_with_a_bad_date_is_a_400_that_says_why(sandbox: RunningSandbox, client: httpx.Client) -> None:
    response = client.get(url(sandbox, "corpus", "/search/ids"), params={"last_updated": "15/07/2020"})
    assert response.status_code == 400
    assert "last_updated should be in format YYYY-mm-dd" in response.json()["error"]


# -- /search ---------------------------------------------------------------------------------------------------------
def test_search_json_shape(sandbox: RunningSandbox, client: httpx.Client) -> None:
    body = client.get(url(sandbox, "corpus", "/search/"), params={"format": "json", "q": "charm"}).json()
    assert set(body) == {"results", "facets", "total", "hits"}
    assert body["total"] == body["hits"]["total"] >= 1
    hit = body["results"][0]
    assert hit["inspire_id"] == "1396331" and hit["total_tables"] == len(hit["data"])
    assert {"title", "collaborations", "date", "abstract", "data", "data_keywords", "hepdata_doi"} <= set(hit)
    assert all(table["doc_type"] == "datatable" and table["related_publication"] == 73066 for table in hit["data"])
    assert {f["type"] for f in body["facets"]} >= {"collaboration", "reactions", "observables", "cmenergies"}
    for facet in body["facets"]:
        assert set(facet) == {"type", "printable_name", "vals", "max_values"} and facet["vals"]


def test_search_queries_filters_and_ranges(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = url(sandbox, "generated", "/search/")
    everything = client.get(base, params={"format": "json", "size": 100}).json()
    assert everything["total"] == 150
    atlas = client.get(base, params={"format": "json", "collaboration": "ATLAS", "size": 100}).json()
    assert 0 < atlas["total"] < 150 and all(r["collaborations"] == ["ATLAS"] for r in atlas["results"])
    field = client.get(base, params={"format": "json", "q": "collaborations:atlas", "size": 100}).json()
    assert field["total"] == atlas["total"]
    ranged = client.get(base, params={"format": "json", "q": "cmenergies:[12000 TO 14000]", "size": 100}).json()
    assert ranged["total"] > 0
    for result in ranged["results"]:
        assert any(12000 <= e["gte"] <= 14000 for e in result["data_keywords"]["cmenergies"])
    filtered = client.get(base, params={"format": "json", "cmenergies": "100,1000", "size": 100}).json()
    for result in filtered["results"]:
        assert any(100 <= e["gte"] < 1000 for e in result["data_keywords"]["cmenergies"])
    none = client.get(base, params={"format": "json", "q": "nosuchwordanywhere"}).json()
    assert none["total"] == 0 and none["results"] == []


def test_search_paging_size_limits_and_sorting(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = url(sandbox, "generated", "/search/")
    assert len(client.get(base, params={"format": "json"}).json()["results"]) == 10
    assert len(client.get(base, params={"format": "json", "size": 500}).json()["results"]) == 100
    pages = [client.get(base, params={"format": "json", "size": 40, "page": p}).json()["results"] for p in (1, 2, 3, 4)]
    recids = [r["recid"] for page in pages for r in page]
    assert len(recids) == len(set(recids)) == 150
    latest = client.get(base, params={"format": "json", "size": 100, "sort_by": "latest"}).json()["results"]
    stamps = [r["last_updated"] for r in latest]
    assert stamps == sorted(stamps, reverse=True)
    titles = client.get(base, params={"format": "json", "size": 100, "sort_by": "title"}).json()["results"]
    assert [t["title"] for t in titles] == sorted(t["title"] for t in titles)
    # HEPData's search fails with a server error on an unknown sort or past the 10,000-hit window
    assert client.get(base, params={"format": "json", "sort_by": "size"}).status_code == 500
    assert client.get(base, params={"format": "json", "size": 100, "page": 101}).status_code == 500


# -- downloads -------------------------------------------------------------------------------------------------------
def test_table_yaml_is_the_data_file_as_submitted(sandbox: RunningSandbox, client: httpx.Client, corpus: Path) -> None:
    response = client.get(url(sandbox, "corpus", "/download/table/ins1396331/Table1/1/yaml"))
    assert response.status_code == 200
    assert response.content == (corpus / "hepdata/submission_format/ins1396331_LHCb/data1.yaml").read_bytes()
    assert response.headers["content-disposition"] == "attachment; filename=HEPData-ins1396331-v1-Table_1.yaml"
    # the name with its space, and without a version (the latest)
    assert client.get(url(sandbox, "corpus", "/download/table/ins1396331/Table 1/yaml")).content == response.content


def test_single_file_tables_are_split_as_hepdata_splits_them(
    sandbox: RunningSandbox, client: httpx.Client, corpus: Path
) -> None:
    for position, table in enumerate(belle_tables(corpus), 1):
        name = table["name"].replace(" ", "")
        response = client.get(url(sandbox, "corpus", f"/download/table/{BELLE}/{name}/yaml"))
        data = yaml.load(response.text, Loader=yaml.CSafeLoader)
        assert data["dependent_variables"][0]["header"] == table["dependent_variables"][0]["header"]
        assert len(data["dependent_variables"][0]["values"]) == len(table["dependent_variables"][0]["values"])
        assert [v.get("value") for v in data["dependent_variables"][0]["values"]] == [
            float(v["value"]) for v in table["dependent_variables"][0]["values"]
        ], position


def test_table_csv_follows_the_converter(sandbox: RunningSandbox, client: httpx.Client, corpus: Path) -> None:
    response = client.get(url(sandbox, "corpus", "/download/table/ins1396331/Table1/1/csv"))
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[:4] == [
        "#: table_doi: 10.17182/hepdata.73066.v1/t1",
        "#: name: Table 1",
        "#: description: " + lhcb_tables(corpus)[0]["description"],
        "#: data_file: data1.yaml",
    ]
    assert "#: keyword reactions: P P --> (D0 + DBAR0) X" in lines
    data = yaml.safe_load((corpus / "hepdata/submission_format/ins1396331_LHCb/data1.yaml").read_text())
    headers = [line for line in lines if line.startswith("'PT [GEV]'")]
    assert len(headers) == len(data["dependent_variables"])  # one block per dependent variable
    assert headers[0] == (
        "'PT [GEV]','PT [GEV] LOW','PT [GEV] HIGH','D2SIG/DPT/DYRAP [MUB/(GEV/c)]','stat +','stat -','sys +','sys -'"
    )
    first_block = lines[lines.index(headers[0]) + 1 :]
    first_row = data["dependent_variables"][0]["values"][0]
    assert first_block[0] == "0.5,0.0,1.0,365.0,3.0,-3.0,30.0,-25.0"
    assert first_row["value"] == 365.0
    assert "#: RE,,,P P --> D0 <K- PI+> X" in lines  # the converter's qualifier row layout


def test_submission_archives(sandbox: RunningSandbox, client: httpx.Client, corpus: Path) -> None:
    response = client.get(url(sandbox, "corpus", f"/download/submission/{BELLE}/1/yaml"))
    assert response.headers["content-disposition"] == "attachment; filename=HEPData-ins1512299-v1-yaml.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        names = archive.getnames()
        member = archive.extractfile("HEPData-ins1512299-v1-yaml/submission.yaml")
        assert member is not None
        documents = list(yaml.safe_load_all(member.read()))
    tables = belle_tables(corpus)
    assert documents[0]["hepdata_doi"] == "10.17182/hepdata.9000001.v1"
    assert [d["table_doi"] for d in documents[1:]] == [f"10.17182/hepdata.9000001.v1/t{n}" for n in range(1, 6)]
    assert sorted(n.rsplit("/", 1)[1] for n in names) == sorted(
        ["submission.yaml"] + [t["name"].replace(" ", "") + ".yaml" for t in tables]
    )
    response = client.get(url(sandbox, "corpus", f"/download/submission/{BELLE}/csv"))
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        assert sorted(archive.getnames()) == sorted(f"HEPData-ins1512299-v1-csv/{t['name']}.csv" for t in tables)
    original = client.get(url(sandbox, "corpus", "/download/submission/9000001/1/original"))
    single = corpus / "hepdata/submission_format/ins1512299_Belle_single_file/1512299.yaml"
    assert original.content == single.read_bytes()


def test_download_errors_are_hepdatas_converter_error_page(sandbox: RunningSandbox, client: httpx.Client) -> None:
    base = sandbox.urls["corpus"]
    cases = {
        "/download/table/ins1396331/Table2/1/yaml": "lacks the data file data2.yaml",  # not in the corpus copy
        "/download/submission/ins1396331/1/yaml": "lacks the data files",
        "/download/table/ins1396331/Table 99/1/csv": "table name &#x27;Table 99&#x27; does not exist",
        "/download/table/ins1512299/Table1/1/root": "no hepdata-converter service",
        "/download/submission/ins1/yaml": "does not exist",
    }
    for path, message in cases.items():
        response = client.get(base + path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), path
        assert message in response.text, path
    redirect = client.get(f"{base}/download/table/{BELLE}/Table1/1/json")
    assert redirect.status_code == 302 and redirect.headers["location"].startswith("/record/data/9000001/")


def test_table_json_is_the_table_structure(sandbox: RunningSandbox, client: httpx.Client) -> None:
    response = client.get(url(sandbox, "corpus", f"/download/table/{BELLE}/Table1/1/json"), follow_redirects=True)
    table = response.json()
    assert table["name"] == "Table 1" and table["doi"] == "10.17182/hepdata.9000001.v1/t1"
    assert table["headers"][0] == {"name": "$w$", "colspan": 1} and table["x_count"] == 1
    assert len(table["values"]) == 10 and table["keywords"]["observables"] == ["WIDTH"]


# -- edits and deletions ---------------------------------------------------------------------------------------------
def test_an_edit_finalises_a_new_version(corpus: Path, client: httpx.Client) -> None:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"hepdata": replica}) as running:
        base = running.urls["hepdata"]
        before = datetime.now(UTC).replace(microsecond=0)
        assert client.post(f"{base}/_sandbox/edit", json={"ids": [BELLE]}).json() == {"edited": [BELLE]}
        document = record_json(client, base, BELLE)
        assert document["version"] == document["version_count"] == 2
        assert document["record"]["hepdata_doi"] == "10.17182/hepdata.9000001.v2"
        assert parsedate_to_datetime(document["record"]["last_updated"]) >= before
        assert document["data_tables"][0]["doi"] == "10.17182/hepdata.9000001.v2/t1"
        assert document["revision_message"]["version"] == 2
        old = record_json(client, base, BELLE, version=1)
        assert old["version"] == 1 and old["version_count"] == 2
        assert old["record"]["hepdata_doi"] == "10.17182/hepdata.9000001.v1"
        assert old["record"]["last_updated"] == "Wed, 15 Jul 2020 00:00:00 GMT"
        today = date.today() - timedelta(days=1)
        changed = client.get(f"{base}/search/ids", params={"inspire_ids": "1", "last_updated": today.isoformat()})
        assert changed.json() == [1512299]


def test_a_deleted_record_is_gone_everywhere(corpus: Path, client: httpx.Client) -> None:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"hepdata": replica}) as running:
        base = running.urls["hepdata"]
        assert client.post(f"{base}/_sandbox/delete", json={"ids": [LHCB]}).json() == {"deleted": [LHCB]}
        assert client.get(f"{base}/record/{LHCB}", params={"format": "json"}).status_code == 404
        assert client.get(f"{base}/record/73066", params={"format": "json"}).status_code == 404
        assert client.get(f"{base}/search/ids", params={"inspire_ids": "true"}).json() == [1512299]
        assert [
            r["inspire_id"] for r in client.get(f"{base}/search/", params={"format": "json"}).json()["results"]
        ] == ["1512299"]


# -- generated records -----------------------------------------------------------------------------------------------
def test_generated_records_are_deterministic_and_lazy() -> None:
    one, two = GeneratedHoldings(1_000_000, seed=5), GeneratedHoldings(1_000_000, seed=5)
    started = time.perf_counter()
    for index in (0, 1, 77, 500_000, 999_999):
        assert one.record(index) == two.record(index)
        assert one.index_of(one.native_id(index)) == index
        assert one.index_of_recid(one.recid(index)) == index
    assert time.perf_counter() - started < 5  # computed on demand, not built up front
    assert GeneratedHoldings(10, seed=6).record(3) != GeneratedHoldings(10, seed=5).record(3)
    assert one.index_of("ins1") is None and one.index_of("ins" + str(one.inspire_id(5) + 1)) is None
    with pytest.raises(IndexError):
        one.record(1_000_000)


def test_generated_records_vary_as_hepdata_does() -> None:
    holdings = GeneratedHoldings(300, seed=2)
    records = [holdings.record(i) for i in range(300)]
    stamps = [holdings.updated(i) for i in range(300)]
    assert stamps == sorted(stamps)
    assert {r["versions"][-1]["last_updated"] for r in records} == {s.replace(tzinfo=None).isoformat() for s in stamps}
    assert {len(r["versions"]) for r in records} == {1, 2, 3}
    assert len({r["publication"]["collaborations"][0] for r in records}) >= 6
    energies = {k for r in records for t in r["versions"][-1]["tables"] for kw in t["keywords"] if
                kw["name"] == "cmenergies" for k in kw["values"]}  # fmt: skip
    assert len(energies) >= 8
    for record in records:
        for entry in record["versions"]:
            for position, table in enumerate(entry["tables"], 1):
                assert table["doi"] == f"10.17182/hepdata.{record['recid']}.v{entry['version']}/t{position}"
    assert any(res["doi"] for r in records for res in r["versions"][0]["resources"])


def test_ids_of_a_large_generated_base_agree_with_a_plain_scan(client: httpx.Client) -> None:
    replica = HEPDataReplica.generated(3_000, seed=3)
    holdings = replica.holdings
    store = replica.store
    store.edit([holdings.native_id(i) for i in (5, 700, 2_999)])
    store.edit([holdings.native_id(1_500)], when=datetime(2013, 6, 1, tzinfo=UTC))  # an edit dated in the past
    # deletions at both ends, next to each other and next to edits: the runs of untouched records in between
    store.delete([holdings.native_id(i) for i in (0, 6, 7, 8, 701, 2_998)])
    with start({"hepdata": replica}) as running:
        base = running.urls["hepdata"]
        for since in (None, date(2013, 1, 1), date(2014, 3, 3), date.today()):
            cut = None if since is None else datetime(since.year, since.month, since.day, tzinfo=UTC)
            live = [e for e in store.entries() if cut is None or e.updated >= cut]
            newest_first = sorted(live, key=lambda e: e.updated, reverse=True)
            for inspire, number in (("true", holdings.inspire_number), ("false", holdings.recid)):
                params = {"inspire_ids": inspire} | ({"last_updated": since.isoformat()} if since else {})
                assert client.get(f"{base}/search/ids", params=params).json() == [number(e.index) for e in live]
                latest = client.get(f"{base}/search/ids", params=params | {"sort_by": "latest"}).json()
                assert latest == [number(e.index) for e in newest_first], (since, inspire)
