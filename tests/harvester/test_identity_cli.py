"""`dmlake identity`: a data manager reads a cluster, undoes a wrong merge (with a reason), redoes it, rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

from cli import dmlake
from fake_sources import Lab

from dmlake.lake import Lake
from ontology import record_id


def test_show_undo_redo_and_rebuild_as_a_data_manager_does(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lake = Lake.open(home)
    lab = Lab(lake.catalogue)
    lab.source("rest", [{"id": "1", "dois": ["10.1234/a"], "title": "Event data"}])
    lab.source("oai", [{"id": "x", "dois": ["10.1234/a"], "title": "Event data"}, {"id": "y"}])
    lab.harvest()
    lake.update_index()
    lake.close()
    rest, oai = record_id("rest", "1"), record_id("oai", "x")

    shown = json.loads(dmlake(home, "identity", "show", "rest/1", "--json").stdout)
    assert [m["id"] for m in shown["members"]] == sorted([rest, oai])
    (link,) = shown["links"]
    assert (link["rule"], link["evidence"], link["undone_at"]) == ("same-doi", "doi:10.1234/a", None)
    table = dmlake(home, "identity", "show", "rest/1").stdout
    assert "same-doi" in table and "doi:10.1234/a" in table
    assert "in no cluster" in dmlake(home, "identity", "show", "oai/y").stdout

    def hits() -> int:
        return int(json.loads(dmlake(home, "search", "Event", "--json").stdout)["total"])

    assert hits() == 1
    table = dmlake(home, "search", "Event").stdout
    # equal in rank, the lower id speaks (oai/x) and the hit names the other source's record
    assert "1 datasets" in table and "oai/x" in table and "rest (1)" in table
    refused = dmlake(home, "identity", "undo", str(link["id"]), "--reason", " ", check=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    undone = dmlake(home, "identity", "undo", str(link["id"]), "--reason", "two releases, one DOI by mistake").stdout
    assert "2 records reclustered" in undone and "index is up to date" in undone
    assert hits() == 2
    (listed,) = json.loads(dmlake(home, "identity", "links", "--undone", "--json").stdout)
    assert listed["undone_reason"] == "two releases, one DOI by mistake"
    assert "already undone" in dmlake(home, "identity", "undo", str(link["id"]), "--reason", "again").stdout

    assert "0 records are in clusters" in dmlake(home, "identity", "rebuild").stdout
    assert hits() == 2
    dmlake(home, "identity", "redo", str(link["id"]))
    assert hits() == 1
    missing = dmlake(home, "identity", "undo", "999", "--reason", "x", check=False)
    assert missing.returncode == 1 and "no identity link 999" in missing.stderr
