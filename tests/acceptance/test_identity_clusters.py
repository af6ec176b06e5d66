"""Issue 4, acceptance 3: a dataset harvested from two sources appears once in search, with both provenances.

Two real paths through the sandbox replicas, the harvester, the catalogue and the index:
- Zenodo's REST API and its OAI-PMH server serve the same (generated) records, as Zenodo does: each release is
  found once, its REST record speaking for it with the OAI record beside it, and the versions of one concept DOI
  are one hit;
- a HEPData record (corpus) and a Zenodo upload that is a supplement to the same paper (a real corpus record whose
  depositor added the paper's arXiv id) are one hit, merged by the `same-paper` rule, which a data manager can undo.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from indexer.query import Query
from sandbox import build_replicas, start
from sandbox.replicas.zenodo_generate import GeneratedBase

GENERATED = 60
PAPER_ARXIV = "1510.01707"  # the paper of the corpus's HEPData record ins1396331
UPLOAD = Path("zenodo/rest/rdm-json_cyanheads-fixtures/record-22705923.json")


def every_hit(lake: Lake, query: str = "") -> list[dict[str, object]]:
    hits: list[dict[str, object]] = []
    cursor = None
    while True:
        page = lake.search(Query.parse(query, sort="title", size=50, cursor=cursor))
        hits += [{"id": hit.id, **hit.fields} for hit in page.hits]
        cursor = page.next_cursor
        if not cursor:
            return hits


def test_zenodo_rest_and_oai_pmh_records_of_one_release_are_one_hit(tmp_path: Path) -> None:
    replicas = build_replicas(generate=GENERATED, seed=11, kinds=["zenodo", "zenodo-oai"])
    lake = Lake.open(tmp_path / "home")
    with start(replicas) as running:
        reports = harvest_all(lake, sources_of(running))
    assert {name: report.counts.added for name, report in reports.items()} == {"zenodo": 60, "zenodo-oai": 60}
    hits = every_hit(lake)
    generated = GeneratedBase(GENERATED, seed=11)
    families = {generated.concept_id(i) for i in range(GENERATED)}
    assert len(hits) == len(families) < GENERATED  # one hit per concept: its versions, through both interfaces
    for hit in hits:
        records = hit["records"]
        assert isinstance(records, list)
        assert hit["id"] == records[0]["id"] and records[0]["source"] == "zenodo"
        by_doi = Counter(r["doi"].lower() for r in records if r["doi"])
        # every version is there twice, once per interface, under its own DOI
        assert set(by_doi.values()) == {2}, records
        assert Counter(r["source"] for r in records) == {"zenodo": len(by_doi), "zenodo-oai": len(by_doi)}
    rules = Counter(link.rule for link in lake.catalogue.identity_links(limit=10_000))
    assert rules["same-doi"] == GENERATED and rules["version-of"] > 0
    facets = lake.search(Query.parse("", facets=["source"], size=0)).facets["source"]
    assert {f.value: f.count for f in facets} == {"zenodo": len(families), "zenodo-oai": len(families)}
    lake.close()


def test_a_hepdata_record_and_an_upload_supplementing_its_paper_are_one_hit(corpus: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "hepdata").symlink_to(corpus / "hepdata")
    upload = json.loads((corpus / UPLOAD).read_text())
    upload["metadata"]["related_identifiers"].append(
        {"identifier": PAPER_ARXIV, "scheme": "arxiv", "relation_type": {"id": "issupplementto"}}
    )
    (folder / "zenodo" / "rest" / "upload").mkdir(parents=True)
    (folder / "zenodo" / "rest" / "upload" / "record.json").write_text(json.dumps(upload))
    replicas = build_replicas(corpus=folder)
    assert set(replicas) == {"hepdata", "zenodo"}
    lake = Lake.open(tmp_path / "home")
    with start(replicas) as running:
        harvest_all(lake, sources_of(running))
    records = lake.catalogue.count()
    hits = every_hit(lake)
    assert len(hits) == records - 1
    merged = [hit for hit in hits if len(hit["records"]) > 1]  # type: ignore[arg-type]
    assert len(merged) == 1
    provenance = merged[0]["records"]
    assert isinstance(provenance, list)
    assert sorted(r["native_id"] for r in provenance) == ["22705923", "ins1396331.v1"]
    (link,) = lake.catalogue.identity_links(rule="same-paper")
    assert link.key == f"paper:arxiv:{PAPER_ARXIV}"
    # found by the paper's arXiv id or by the upload's DOI: the same single hit
    assert [h.id for h in lake.search(Query.parse("10.5281/zenodo.22705923")).hits] == [merged[0]["id"]]

    lake.catalogue.undo_link(link.id, "the upload holds the analysis code, not the HEPData tables")
    lake.update_index()
    assert len(every_hit(lake)) == records
    lake.close()
