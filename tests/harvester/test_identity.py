"""Record identity (issue 4): the rules that merge records of one dataset, undoing a merge, and what the feed gets.

Each test harvests small in-memory sources (`fake_source`) into a real catalogue (SQLite and PostgreSQL), so links
and clusters are made by the same transaction that stores the page, as in a real harvest.
"""

from __future__ import annotations

import pytest
from alembic import command
from fake_source import FakePaperDataConnector
from fake_sources import Lab
from sqlalchemy import insert, select

from harvester import codec, db, identity
from harvester.catalogue import Catalogue, now
from harvester.schema import identities, identity_keys, records
from ontology import Record, record_id
from ontology.model import Identifier, IdentifierScheme, Provenance


def rid(source: str, native_id: str) -> str:
    return record_id(source, native_id)


def feed_ids(catalogue: Catalogue, after: int) -> list[str]:
    return [change.record_id for change in catalogue.changes_since(after, 10_000)]


def test_the_same_doi_in_two_sources_is_one_cluster_named_by_its_rule(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.5281/zenodo.1"]}, {"id": "2", "dois": ["10.5281/zenodo.2"]}])
    lab.source("oai", [{"id": "oai1", "dois": ["https://doi.org/10.5281/ZENODO.1"]}])
    lab.harvest()
    cluster = catalogue.cluster(rid("rest", "1"))
    assert cluster.members == tuple(sorted([rid("rest", "1"), rid("oai", "oai1")]))
    assert cluster.id == min(cluster.members)
    (link,) = cluster.links
    assert (link.rule, link.key, link.active) == ("same-doi", "doi:10.5281/zenodo.1", True)
    assert dict(cluster.rules) == {max(cluster.members): "same-doi"}
    assert lab.members("rest", "2") == (rid("rest", "2"),)
    assert catalogue.clusters([rid("rest", "1"), rid("rest", "2")]) == {rid("rest", "1"): cluster.members}


def test_a_record_joining_later_feeds_the_members_already_there(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("oai", [{"id": "x", "title": "x"}])
    lab.harvest()
    seq = catalogue.last_seq()
    lab.stores["oai"].edit("x", dois=["10.1234/a"])
    lab.harvest("oai")
    # the edited record has its own change; the record it joined gets one so that its cluster document is redone
    assert sorted(feed_ids(catalogue, seq)) == sorted([rid("oai", "x"), rid("rest", "1")])
    assert lab.members("rest", "1") == tuple(sorted([rid("rest", "1"), rid("oai", "x")]))


def test_versions_of_one_concept_cluster_with_the_concept_record(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source(
        "zenodo",
        [
            {"id": "10", "dois": ["10.5281/zenodo.10"]},  # the concept DOI's own record
            {"id": "11", "dois": ["10.5281/zenodo.11"], "concepts": ["10.5281/zenodo.10"]},
            {"id": "12", "dois": ["10.5281/zenodo.12"], "concepts": ["10.5281/zenodo.10"]},
            {"id": "20", "dois": ["10.5281/zenodo.20"], "concepts": ["10.5281/zenodo.19"]},
        ],
    )
    lab.harvest()
    assert lab.members("zenodo", "12") == tuple(sorted(rid("zenodo", n) for n in ("10", "11", "12")))
    assert {link.rule for link in catalogue.cluster(rid("zenodo", "11")).links} == {"version-of"}
    assert lab.members("zenodo", "20") == (rid("zenodo", "20"),)


def test_same_paper_links_hepdata_to_another_source_but_never_two_citing_records(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("hepdata", [{"id": "ins1", "papers": ["1510.01707"]}], base=FakePaperDataConnector)
    lab.source("zenodo", [{"id": "z1", "papers": ["1510.01707"]}, {"id": "z2", "papers": ["1510.01707"]}])
    lab.source("other", [{"id": "o1", "papers": ["2401.10001"]}])
    lab.source("more", [{"id": "m1", "papers": ["2401.10001"]}])
    lab.harvest()
    paper_cluster = lab.members("hepdata", "ins1")
    assert paper_cluster == tuple(sorted([rid("hepdata", "ins1"), rid("zenodo", "z1"), rid("zenodo", "z2")]))
    links = catalogue.cluster(rid("hepdata", "ins1")).links
    # the two Zenodo records are in the cluster through HEPData, not linked to each other
    assert {(link.rule, link.key) for link in links} == {("same-paper", "paper:arxiv:1510.01707")}
    assert all(rid("hepdata", "ins1") in (link.record_a, link.record_b) for link in links)
    assert lab.members("other", "o1") == (rid("other", "o1"),)


def test_undoing_a_merge_splits_the_cluster_for_good_and_redo_takes_it_back(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}])
    lab.harvest()
    (link,) = catalogue.cluster(rid("rest", "1")).links
    seq = catalogue.last_seq()
    changed = catalogue.undo_link(link.id, "two different releases that share a DOI by mistake")
    assert changed == {rid("rest", "1"), rid("oai", "x")}
    assert sorted(feed_ids(catalogue, seq)) == sorted(changed)
    assert lab.members("rest", "1") == (rid("rest", "1"),)
    (undone,) = catalogue.identity_links(undone=True)
    assert undone.undone_reason == "two different releases that share a DOI by mistake"
    # the same evidence found again (an edited record, a full re-harvest) does not merge the pair again
    lab.stores["oai"].edit("x", title="edited")
    lab.harvest(full=True)
    assert lab.members("oai", "x") == (rid("oai", "x"),)
    assert len(catalogue.identity_links()) == 1
    assert catalogue.redo_link(link.id) == {rid("rest", "1"), rid("oai", "x")}
    assert lab.members("oai", "x") == tuple(sorted([rid("rest", "1"), rid("oai", "x")]))
    with pytest.raises(identity.LinkNotFound, match="no identity link 999"):
        catalogue.undo_link(999, "nothing")


def test_undoing_one_link_of_a_chain_splits_only_where_nothing_else_holds(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("a", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("b", [{"id": "1", "dois": ["10.1234/a"], "concepts": ["10.1234/c"]}])
    lab.source("c", [{"id": "1", "concepts": ["10.1234/c"]}])
    lab.harvest()
    everyone = tuple(sorted(rid(s, "1") for s in "abc"))
    assert lab.members("a", "1") == everyone
    version_link = next(link for link in catalogue.cluster(rid("a", "1")).links if link.rule == "version-of")
    catalogue.undo_link(version_link.id, "c is another dataset")
    assert lab.members("a", "1") == tuple(sorted([rid("a", "1"), rid("b", "1")]))
    assert lab.members("c", "1") == (rid("c", "1"),)


def test_a_tombstoned_member_leaves_its_cluster_and_a_returning_one_joins_again(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}, {"id": "y"}])
    lab.harvest()
    seq = catalogue.last_seq()
    del lab.stores["oai"].items["x"]
    lab.harvest("oai", full=True)
    assert lab.members("rest", "1") == (rid("rest", "1"),)
    changes = catalogue.changes_since(seq, 100)
    assert {(c.record_id, c.kind) for c in changes} == {(rid("oai", "x"), "delete"), (rid("rest", "1"), "upsert")}
    with catalogue.engine.connect() as conn:
        assert conn.execute(select(identity_keys).where(identity_keys.c.record_id == rid("oai", "x"))).first() is None
    lab.stores["oai"].items["x"] = {"id": "x", "title": "back", "stamp": 5, "dois": ["10.1234/a"]}
    lab.harvest("oai")
    assert lab.members("rest", "1") == tuple(sorted([rid("rest", "1"), rid("oai", "x")]))
    assert len(catalogue.identity_links()) == 1  # the old link, active again: no second link for the pair


def test_an_unchanged_rerun_writes_no_identity_change(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}])
    lab.harvest()
    seq = catalogue.last_seq()
    lab.harvest(full=True)
    assert catalogue.last_seq() == seq


def test_a_key_shared_by_too_many_records_links_nothing_and_says_so(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(identity, "MAX_KEY_HOLDERS", 3)
    lab = Lab(catalogue)
    lab.source("a", [{"id": str(i), "dois": ["10.1234/issn"]} for i in range(4)])
    lab.harvest()
    assert catalogue.identity_links() == []
    assert "4 records share the key doi:10.1234/issn" in caplog.text


def test_rebuild_finds_the_same_clusters_and_keeps_undone_merges(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}, {"id": "2", "dois": ["10.1234/b"]}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}, {"id": "y", "dois": ["10.1234/b"]}])
    lab.harvest()
    undo = next(link for link in catalogue.identity_links() if link.key == "doi:10.1234/b")
    catalogue.undo_link(undo.id, "not the same")
    before = {r: catalogue.cluster(r).members for r in (rid("rest", "1"), rid("rest", "2"), rid("oai", "y"))}
    assert catalogue.rebuild_identities() == 2
    after = {r: catalogue.cluster(r).members for r in before}
    assert after == before
    assert [link.key for link in catalogue.identity_links(undone=True)] == ["doi:10.1234/b"]


def test_migrating_a_catalogue_made_before_identity_clusters_its_records(database_url: str) -> None:
    engine = db.create(database_url)
    config = db._alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    stamp = now()
    doi = [Identifier(scheme=IdentifierScheme.DOI, value="10.5281/zenodo.7")]
    rows = []
    for source, native_id in (("zenodo", "7"), ("zenodo-oai", "oai:zenodo.org:7"), ("cern", "1")):
        provenance = Provenance(source=source, source_kind="fake", raw_sha256="1" * 64, mapping_version="1")
        item = Record(
            id=record_id(source, native_id),
            source=source,
            native_id=native_id,
            title="t",
            identifiers=doi if source != "cern" else [],
            provenance=provenance,
        )
        rows.append(
            {
                "id": item.id,
                "source": source,
                "native_id": native_id,
                "content_hash": codec.content_hash(item),
                "data": codec.encode_record(item),
                "raw_sha256": "1" * 64,
                "mapping_version": "1",
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    rows.append({**rows[-1], "id": record_id("broken", "b"), "source": "broken", "native_id": "b", "data": b"x"})
    with engine.begin() as connection:
        connection.execute(insert(records), rows)
    db.migrate(engine)
    catalogue = Catalogue(engine)
    assert catalogue.cluster(record_id("zenodo", "7")).members == tuple(
        sorted([record_id("zenodo", "7"), record_id("zenodo-oai", "oai:zenodo.org:7")])
    )
    assert catalogue.cluster(record_id("broken", "b")).members == (record_id("broken", "b"),)
    # the reclustered records are fed, so a running index re-renders them
    assert {c.record_id for c in catalogue.changes_since(0, 10)} == {
        record_id("zenodo", "7"),
        record_id("zenodo-oai", "oai:zenodo.org:7"),
    }
    engine.dispose()


def test_an_edit_that_keeps_the_cluster_keeps_when_and_how_its_members_were_merged(catalogue: Catalogue) -> None:
    lab = Lab(catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"]}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"]}])
    lab.harvest()
    with catalogue.engine.connect() as conn:
        before = sorted(conn.execute(select(identities)).all())
    seq = catalogue.last_seq()
    lab.stores["oai"].edit("x", title="a better title")
    lab.harvest("oai")
    with catalogue.engine.connect() as conn:
        assert sorted(conn.execute(select(identities)).all()) == before
    assert feed_ids(catalogue, seq) == [rid("oai", "x")]  # its own change only: the cluster did not change
