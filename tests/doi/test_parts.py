"""DOIs per file and per table (issue 7: "optional DOIs per file or table as HEPData has"): reserved with their release,
published with it, hidden with it, their metadata updated on change; one DOI per part; a part the release loses is
hidden; the release lists its parts (HasPart), each part says IsPartOf it; every body valid DataCite 4.6."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
from doi_lab import PUBLIC_URL, DoiLab, assert_in_step, live_ids, resolves, status
from lakes import edit, harvest_all, sources_of
from lxml import etree

from dmlake.lake import Lake
from doi.parts import file_segment
from ontology.datacite import xml_from_attributes
from ontology.model import RECORD_ID_BASE, Distribution, IdentifierScheme, Record, record_id
from sandbox import build_replicas, start


def parts_of(rows: list[dict[str, Any]], release: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["parent_key"] == release]


def has_part(lab: DoiLab, doi: str) -> set[str]:
    relations = lab.remote()[doi].get("relatedIdentifiers", [])
    return {r["relatedIdentifier"] for r in relations if r["relationType"] == "HasPart"}


def writes(lab: DoiLab) -> list[dict[str, Any]]:
    return [r for r in lab.requests() if r["method"] in ("POST", "PUT", "DELETE")]


def assert_bodies_valid(lab: DoiLab, standards: Path, at_least: int) -> None:
    """Every metadata body sent, the parts' too, validates against the DataCite 4.6 XSD and JSON schema."""
    xsd = etree.XMLSchema(etree.parse(str(standards / "datacite/kernel-4.6/metadata.xsd")))
    validator = jsonschema.Draft201909Validator(
        json.loads((standards / "datacite/json/datacite-v4.6.json").read_text())
    )
    bodies = [{k: v for k, v in b["attributes"].items() if k != "event"} for b in lab.bodies()]
    with_metadata = [b for b in bodies if "titles" in b]
    assert len(with_metadata) >= at_least
    for attributes in with_metadata:
        assert xsd.validate(etree.fromstring(xml_from_attributes(attributes))), (attributes["doi"], xsd.error_log)
        assert not list(validator.iter_errors(attributes)), attributes["doi"]


def table_key(distribution: Distribution) -> str:
    """The part key of a table distribution: its landing without the host."""
    landing = urlsplit(distribution.access_url or "")
    return f"table:{landing.path}?{landing.query}"


def test_file_dois_follow_their_release(lab: DoiLab, standards: Path) -> None:
    lab.parts_policy('sources = ["dmdc"]\ndois = "files"')
    lab.doi("reserve")
    rows = assert_in_step(lab)
    by_key = {r["key"]: r for r in rows}
    remote = lab.remote()
    for release in live_ids(lab, "kcdc-html"):
        assert not parts_of(rows, release), "the rule names dmdc only"
    releases = live_ids(lab, "dmdc")
    for release in releases:
        record = lab.record(release)
        parts = parts_of(rows, release)
        data_files = [d.name for d in record.distributions if d.role == "data"]
        assert sorted(p["part_key"] for p in parts) == sorted(f"file:{name}" for name in data_files)
        release_doi = by_key[release]["doi"]
        assert has_part(lab, release_doi) == {p["doi"] for p in parts}
        release_meta = remote[release_doi]
        for part in parts:
            assert part["kind"] == "file" and part["doi"].startswith(release_doi + "/f.")
            meta = remote[part["doi"]]
            name = part["part_key"].removeprefix("file:")
            assert meta["titles"] == [{"title": f"{name} — {release_meta['titles'][0]['title']}"}]
            assert meta["types"] == {"resourceTypeGeneral": "Dataset", "resourceType": "File"}
            for inherited in ("creators", "publisher", "publicationYear"):
                assert meta[inherited] == release_meta[inherited]
            assert {"relatedIdentifier": release_doi, "relatedIdentifierType": "DOI",
                    "relationType": "IsPartOf"} in meta["relatedIdentifiers"]  # fmt: skip
            anchor = part["doi"].rsplit("/", 1)[1]
            assert meta["url"] == f"{PUBLIC_URL}/records/{release.removeprefix(RECORD_ID_BASE)}#{anchor}"
    assert_bodies_valid(lab, standards, at_least=len(rows))

    # published with the release; a part resolves to the release's page at the part's anchor
    lab.doi("publish", "--source", "dmdc")
    rows = assert_in_step(lab)
    release = next(r for r in releases if len(parts_of(rows, r)) >= 3)
    parts = parts_of(rows, release)
    assert all(p["intended"] == "findable" for p in parts)
    assert resolves(lab, parts[0]["doi"]) == lab.remote()[parts[0]["doi"]]["url"]

    # the source drops one file and adds another: the dropped one is hidden (still resolves), the new one is published
    # at once (its release is approved), and no other part's DOI moves
    record = lab.record(release)
    dropped = next(d for d in record.distributions if f"file:{d.name}" == parts[1]["part_key"])
    added = Distribution(name="data/extra-run.csv", url="https://example.org/extra-run.csv", role="data",
                         media_type="text/csv", size_bytes=1234)  # fmt: skip
    kept = [d for d in record.distributions if d is not dropped]
    lab.store(record.model_copy(update={"distributions": [*kept, added]}))
    lab.doi("reserve")
    rows = assert_in_step(lab)
    after = {p["part_key"]: p for p in parts_of(rows, release)}
    assert all(after[p["part_key"]]["doi"] == p["doi"] for p in parts), "no part's DOI moves"
    gone = after[parts[1]["part_key"]]
    assert gone["intended"] == "registered" and not gone["live"], "a part removed from its release is hidden"
    assert resolves(lab, gone["doi"]) is not None and lab.remote()[gone["doi"]]["isActive"] is False
    new = after["file:data/extra-run.csv"]
    assert new["intended"] == "findable"
    assert new["doi"].startswith(f"{by_key[release]['doi']}/f.data-extra-run.csv.")  # a digest: the name lost "/"
    assert lab.remote()[new["doi"]]["sizes"] == ["1234 bytes"]
    release_doi = next(r["doi"] for r in rows if r["key"] == release)
    assert gone["doi"] not in has_part(lab, release_doi) and new["doi"] in has_part(lab, release_doi)
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")
    assert_bodies_valid(lab, standards, at_least=2 * len(parts))
    # drift in a part's metadata at DataCite is reported and mended
    patched = {"titles": [{"title": "edited in Fabrica"}]}
    httpx.patch(f"{lab.endpoint}/_sandbox/dois/{new['doi']}", json=patched, timeout=30).raise_for_status()
    drift = lab.doi("check", check=False)
    assert drift.returncode == 1 and f"drift {new['doi']} titles" in drift.stdout
    lab.doi("check", "--fix")
    assert lab.doi("check").returncode == 0

    # running again writes nothing
    before = writes(lab)
    lab.doi("reserve")
    assert writes(lab) == before

    # the release is tombstoned: its parts are hidden with it
    project = lab.record(release).native_id.split("@")[0]  # the replica deletes a project with its releases
    assert edit(lab.portals, "dmdc", "delete", ids=[project]) == [project]
    lab.harvest(full=True, confirm_deletions=True)
    assert release not in live_ids(lab, "dmdc")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    assert all(p["intended"] == "registered" and not p["live"] for p in parts_of(rows, release))


@pytest.fixture
def hepdata(lab: DoiLab, corpus: Path) -> Iterator[list[Record]]:
    """The HEPData replica's records harvested into the lab's home too; the policy chooses HEPData and `tables-lab`
    (a source publishing HEPData-style tables without DOIs) and gives every chosen record's tables DOIs."""
    with start(build_replicas(corpus=corpus, kinds=["hepdata"])) as running:
        lake = Lake.open(lab.home)
        try:
            harvest_all(lake, sources_of(running))
            records = [stored.record for stored in lake.catalogue.iter_records(source="hepdata")]
        finally:
            lake.close()
    policy = (lab.home / "doi.toml").read_text().replace("[doi]\n", '[doi]\nsources = ["hepdata", "tables-lab"]\n')
    (lab.home / "doi.toml").write_text(policy)
    lab.parts_policy('dois = "tables"')
    yield records


def without_dois(record: Record) -> Record:
    """The record as a source that mints no DOIs would publish it: `tables-lab`, no DOI on it or on its tables."""
    native = record.native_id
    return record.model_copy(
        update={
            "id": record_id("tables-lab", native),
            "source": "tables-lab",
            "identifiers": [i for i in record.identifiers if i.scheme != IdentifierScheme.DOI],
            "is_version_of": [],
            "distributions": [d.model_copy(update={"identifiers": []}) for d in record.distributions],
        }
    )


def test_table_dois_in_hepdatas_shape(lab: DoiLab, hepdata: list[Record], standards: Path) -> None:
    original = next(r for r in hepdata if len({d.access_url for d in r.distributions if d.role == "table"}) >= 3)
    lab.store(without_dois(original), kind="fake")
    # the same release with its tables' own DOIs kept (the source minted them, the release none): ours for the
    # release only, never a second DOI for a table that has one
    native = f"{original.native_id}-own-tables"
    own_tables = without_dois(original).model_copy(
        update={"native_id": native, "id": record_id("tables-lab", native), "distributions": original.distributions}
    )
    lab.store(own_tables, kind="fake")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    assert not [r for r in rows if r["source"] == "hepdata"], "HEPData records and tables carry their own DOIs"
    assert own_tables.id in {r["key"] for r in rows} and not parts_of(rows, own_tables.id)
    release = next(r for r in rows if r["key"] == record_id("tables-lab", original.native_id))
    parts = parts_of(rows, release["key"])
    # HEPData numbers its tables /t1, /t2, … in the record's order; ours do the same for the same tables
    theirs = {table_key(d): d.identifiers[0].value.rsplit("/", 1)[1] for d in original.distributions
              if d.role == "table"}  # fmt: skip
    assert {p["part_key"]: p["doi"].rsplit("/", 1)[1] for p in parts} == theirs
    remote = lab.remote()
    first = next(p for p in parts if p["doi"].endswith("/t1"))
    meta = remote[first["doi"]]
    table_1 = [d for d in original.distributions if d.identifiers and d.identifiers[0].value.endswith("/t1")]
    assert meta["types"] == {"resourceTypeGeneral": "Dataset", "resourceType": "Table"}
    assert meta["titles"][0]["title"] == f"Table 1 — {original.title}"
    assert meta["formats"] == list(dict.fromkeys(d.media_type or d.format for d in table_1))
    assert meta["descriptions"] == [{"description": table_1[0].description, "descriptionType": "Abstract"}]
    assert has_part(lab, release["doi"]) == {p["doi"] for p in parts}

    # published with its release; then the source drops Table 2 and adds a table: t2 is hidden, the new table is the
    # next number (never a reused or shifted one), every other table keeps its DOI
    lab.doi("publish", release["key"])
    assert all(p["intended"] == "findable" for p in parts_of(assert_in_step(lab), release["key"]))
    record = lab.record(release["key"])
    t2 = next(p for p in parts if p["doi"].endswith("/t2"))
    new_table = [d.model_copy(update={"access_url": d.access_url.replace("Table%201", "Extra%20table"),
                                      "name": d.name.replace("Table_1", "Extra_table")})
                 for d in record.distributions if d.access_url and d.access_url.endswith("Table%201")]  # fmt: skip
    assert new_table
    kept = [d for d in record.distributions if table_key(d) != t2["part_key"]]
    lab.store(record.model_copy(update={"distributions": [*kept, *new_table]}), kind="fake")
    lab.doi("reserve")
    rows = assert_in_step(lab)
    after = {p["part_key"]: p for p in parts_of(rows, release["key"])}
    assert after[t2["part_key"]]["intended"] == "registered" and not after[t2["part_key"]]["live"]
    added = next(p for k, p in after.items() if "Extra%20table" in k)
    assert added["doi"] == f"{release['doi']}/t{len(parts) + 1}" and added["intended"] == "findable"
    assert lab.remote()[added["doi"]]["titles"][0]["title"] == f"Extra table — {original.title}"
    for part in parts:
        assert after[part["part_key"]]["doi"] == part["doi"]
    assert lab.doi("check").stdout.strip().endswith("0 DOIs drifted (0 fields)")
    assert_bodies_valid(lab, standards, at_least=2 * len(parts))


def test_file_segments_are_stable_distinct_and_safe() -> None:
    names = ["data/events.csv", "data_events.csv", "data-events.csv", "Data/events.csv", "data/events.CSV",
             "events.csv", "a" * 300, "a" * 300 + "b", "metadata", "Ümlaut run.root"]  # fmt: skip
    segments = [file_segment(name) for name in names]
    assert segments == [file_segment(name) for name in names], "a pure function of the name"
    assert len(set(segments)) == len(names), "distinct names, distinct DOIs"
    assert file_segment("events.csv") == "f.events.csv", "a name DataCite takes as it is stays as it is"
    assert file_segment("metadata") == "f.metadata", "never DataCite's own /dois/{id}/metadata route"
    for segment in segments:
        assert re.fullmatch(r"f\.[a-z0-9._-]+", segment) and len(segment) <= 100, segment


def test_a_parts_rule_added_later_reaches_releases_with_reserve_all(lab: DoiLab) -> None:
    lab.doi("reserve")
    lab.doi("publish", "--source", "dmdc")
    lab.parts_policy('sources = ["dmdc"]\ndois = "files"')
    lab.doi("reserve")
    assert not [r for r in status(lab) if r["kind"] == "file"], "the feed's cursor has passed these releases"
    done = lab.doi("reserve", "--all").stdout
    rows = assert_in_step(lab)
    files = [r for r in rows if r["kind"] == "file"]
    assert {r["parent_key"] for r in files} == set(live_ids(lab, "dmdc"))
    assert all(r["intended"] == "findable" for r in files), "the releases are published: so are their files"
    assert f"{len(files)} reserved" in done
    for release in live_ids(lab, "dmdc"):
        doi = next(r["doi"] for r in rows if r["key"] == release)
        assert has_part(lab, doi) == {r["doi"] for r in files if r["parent_key"] == release}
    before = writes(lab)
    lab.doi("reserve", "--all")
    assert writes(lab) == before, "a second pass finds everything in step"
