"""Record identity does not depend on how records are grouped into transactions.

`identity.resolve` works per committed batch and hands what it has read on to reclustering (the clusters and active
links of the batch's records, the live holders of their shared keys). The same records committed a few at a time (each
batch meeting the clusters the earlier ones made), all at once, or reclustered from scratch (`rebuild`, which reads
everything back itself) must give the same clusters, links and evidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fake_source import FakePaperDataConnector
from fake_sources import Lab

from connectors.base import Limits, SourceSpec
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from ontology import record_id

Snapshot = tuple[dict[str, tuple[str, ...]], set[tuple[str, str, str, str, bool]]]


def zenodo_items() -> list[dict[str, Any]]:
    """Versions of eight concepts, interleaved so that a concept's versions are spread over many pages; every other
    concept has a record of its own; a few versions cite papers, one carries two concepts (joining two families)."""
    items: list[dict[str, Any]] = []
    for concept in range(0, 8, 2):
        items.append({"id": f"c{concept}", "dois": [f"10.5281/zenodo.{1000 + concept}"]})
    for n in range(40):
        item: dict[str, Any] = {
            "id": f"v{n:02d}",
            "dois": [f"10.5281/zenodo.{n}"],
            "concepts": [f"10.5281/zenodo.{1000 + n % 8}"],
        }
        if n % 5 == 0:
            item["papers"] = [f"2401.{n % 3:05d}"]
        items.append(item)
    items[-1]["concepts"].append("10.5281/zenodo.1003")
    return items


def build(lab: Lab) -> None:
    lab.source("zenodo", zenodo_items())
    # the same records through another interface (same DOI), and one that is not
    lab.source("oai", [{"id": f"o{n:02d}", "dois": [f"https://doi.org/10.5281/ZENODO.{n}"]} for n in range(0, 40, 3)])
    lab.source(
        "hepdata", [{"id": f"ins{n}", "papers": [f"2401.{n:05d}"]} for n in range(3)], base=FakePaperDataConnector
    )


def harvest(lab: Lab, page_size: int, batch_records: int) -> None:
    harvester = Harvester(lab.catalogue, HttpClient(Limits()), lab.kinds)
    harvester.batch_records = batch_records
    for name in lab.stores:
        kind = next(k for k in lab.kinds if k.endswith(f"-{name}"))
        lab.kinds[kind].page_size = page_size
        report = harvester.harvest(Source(SourceSpec(name, kind, "http://fake.invalid"), True, 0.9, None))
        assert report.state == "succeeded", report


def delete(lab: Lab) -> None:
    """Deletions that take a family's concept record and a version away.

    They come apart from the edits: a source announces deletions on its last page, so when records are committed a
    few at a time an edited record meets a record deleted later in the same harvest and links to it, which all at
    once it does not (the links of live records are the same either way)."""
    zenodo = lab.stores["zenodo"]
    for gone in ("c2", "v17"):
        del zenodo.items[gone]
        zenodo.deleted_signals.append(gone)


def edit(lab: Lab) -> None:
    """Edits that move records between clusters."""
    zenodo = lab.stores["zenodo"]
    zenodo.edit("v09", concepts=[])  # leaves its family's key (its links stay: undoing one is explicit)
    zenodo.edit("v10", dois=["10.5281/zenodo.10", "10.5281/zenodo.1001"])  # takes a concept DOI as its own
    lab.stores["oai"].edit("o03", dois=["10.5281/zenodo.4"])


def snapshot(catalogue: Catalogue, lab: Lab) -> Snapshot:
    ids = [record_id(name, native) for name, store in lab.stores.items() for native in store.items]
    members = {rid: catalogue.cluster(rid).members for rid in ids}
    links = {
        (link.record_a, link.record_b, link.rule, link.key, link.active)
        for link in catalogue.identity_links(limit=100_000)
    }
    return members, links


def test_batches_of_any_size_and_a_rebuild_give_the_same_clusters(catalogue: Catalogue, tmp_path: Path) -> None:
    few = Lab(catalogue)
    build(few)
    whole = Lab(Catalogue.open(f"sqlite:///{tmp_path / 'whole.sqlite'}"))
    build(whole)
    try:
        harvest(few, page_size=3, batch_records=1)
        harvest(whole, page_size=1000, batch_records=100_000)
        members, links = snapshot(catalogue, few)
        assert (members, links) == snapshot(whole.catalogue, whole)
        # the families are there: the concept record with its versions, the other interface's copies, the papers
        assert members[record_id("zenodo", "v08")] == members[record_id("zenodo", "c0")]
        assert len(members[record_id("zenodo", "c0")]) >= 6
        assert record_id("oai", "o03") in members[record_id("zenodo", "v03")]
        assert record_id("hepdata", "ins0") in members[record_id("zenodo", "v15")]
        assert {rule for _, _, rule, _, _ in links} == {"same-doi", "version-of", "same-paper"}

        catalogue.rebuild_identities()
        assert snapshot(catalogue, few) == (members, links)

        for step in (delete, edit):
            for lab in (few, whole):
                step(lab)
            harvest(few, page_size=3, batch_records=1)
            harvest(whole, page_size=1000, batch_records=100_000)
            assert snapshot(catalogue, few) == snapshot(whole.catalogue, whole)
        after = snapshot(catalogue, few)

        # the deleted records left their clusters; v10 took family 1's concept DOI as its own and the OAI copy o03
        # v04's DOI: both are linked by that evidence now (and keep their old links: undoing one is explicit)
        def linked(record: str, key: str) -> bool:
            return any(record in (a, b) and evidence == key for a, b, _, evidence, _ in after[1])

        assert record_id("zenodo", "c2") in members[record_id("zenodo", "v02")]
        assert record_id("zenodo", "c2") not in after[0][record_id("zenodo", "v02")]
        assert not any(record_id("zenodo", "v17") in cluster for cluster in after[0].values())
        for record, key in (("zenodo/v10", "doi:10.5281/zenodo.1001"), ("oai/o03", "doi:10.5281/zenodo.4")):
            source, native = record.split("/")
            assert linked(record_id(source, native), key)
            assert not any(record_id(source, native) in (a, b) and evidence == key for a, b, _, evidence, _ in links)
        assert after[0][record_id("oai", "o03")] == after[0][record_id("zenodo", "v04")]
    finally:
        whole.catalogue.close()
