"""Conditional GET through the real pipeline: sandbox replicas → connectors → harvester → catalogue, on SQLite and
on PostgreSQL.

What is promised: validators are kept with what they validate (per record for CERN Open Data, in the checkpoint
for KCDC's single page), a second harvest is answered 304 and changes nothing, an edited record is fetched whole
and updated, and a record whose commit was lost is never vouched for by a 304 on the next run, even by the same
process whose HTTP client saw the newer answer. HEPData and GitLab send no conditional requests, for the reasons
their tests below pin down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lakes import edit, replica_requests, sources_of

from connectors.cernopendata import CernOpenDataConnector
from dmlake.lake import Lake
from harvester.catalogue import Catalogue, PageWork
from harvester.config import SourcesConfig
from harvester.harvest import Harvester, SourceReport
from harvester.runs import Runs
from sandbox import start
from sandbox.replicas.cernopendata import CernOpenDataReplica
from sandbox.replicas.gitlab import GitLabReplica
from sandbox.replicas.hepdata import HEPDataReplica
from sandbox.replicas.kcdc_html import KcdcHtmlReplica
from sandbox.server import RunningSandbox

CERN_RECORDS = 240
RECORD_FETCH = re.compile(r"^/api/records/\d+$")


@pytest.fixture
def lake(tmp_path: Path, database_url: str) -> Iterator[Lake]:
    opened = Lake.open(tmp_path / "home", database_url)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def running(corpus: Path) -> Iterator[RunningSandbox]:
    """Replicas that are only read here (never edited): generated CERN records, the corpus KCDC page, HEPData
    submissions and the DMDC group."""
    replicas = {
        "cernopendata": CernOpenDataReplica.generated(CERN_RECORDS, seed=5),
        "kcdc-html": KcdcHtmlReplica.from_corpus(corpus),
        "hepdata": HEPDataReplica.from_corpus(corpus),
        "dmdc": GitLabReplica.from_corpus(corpus),
    }
    assert all(replica is not None for replica in replicas.values())
    with start(replicas) as sandbox:  # type: ignore[arg-type]
        yield sandbox


@pytest.fixture
def editable(corpus: Path) -> Iterator[RunningSandbox]:
    """Replicas a test edits: a fresh pair per test."""
    replicas = {
        "cernopendata": CernOpenDataReplica.generated(CERN_RECORDS, seed=6),
        "kcdc-html": KcdcHtmlReplica.from_corpus(corpus),
    }
    with start(replicas) as sandbox:  # type: ignore[arg-type]
        yield sandbox


def harvest(harvester: Harvester, config: SourcesConfig, name: str, full: bool = False) -> SourceReport:
    report = harvester.harvest(config.sources[name], full=full)
    assert report.state == "succeeded", report.message
    return report


def record_fetches(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in log if RECORD_FETCH.match(entry["path"])]


# -- a second harvest ----------------------------------------------------------------------------------------------
def test_a_second_full_harvest_is_answered_304_and_changes_nothing(lake: Lake, running: RunningSandbox) -> None:
    config = sources_of(running)
    with lake.harvester() as harvester:
        first = {name: harvest(harvester, config, name, full=name != "kcdc-html") for name in running.urls}
        assert first["cernopendata"].counts.added == CERN_RECORDS
        assert first["kcdc-html"].counts.added == 13
        assert all(report.not_modified == 0 for report in first.values())
        for name in running.urls:
            replica_requests(running, name, clear=True)
        seq = lake.catalogue.last_seq()
        stats_before = harvester.http.stats.not_modified

        cern = harvest(harvester, config, "cernopendata", full=True)
        kcdc = harvest(harvester, config, "kcdc-html")
        assert lake.catalogue.last_seq() == seq, "a harvest of unchanged sources wrote to the change feed"

    # CERN Open Data: every record asked for with the ETag stored with it, every one answered 304
    fetches = record_fetches(replica_requests(running, "cernopendata"))
    assert len(fetches) == CERN_RECORDS
    assert {entry["status"] for entry in fetches} == {304}
    assert all(entry.get("if_none_match", "").startswith('"') for entry in fetches)
    some = fetches[0]["path"].rsplit("/", 1)[1]
    assert fetches[0]["if_none_match"] == stored_etag(lake.catalogue, some)
    assert (cern.counts.unchanged, cern.counts.added, cern.counts.updated, cern.not_modified) == (
        CERN_RECORDS,
        0,
        0,
        CERN_RECORDS,
    )

    # KCDC: the one page, asked for with the validators its listing left in the checkpoint
    [page] = replica_requests(running, "kcdc-html")
    assert (page["path"], page["status"]) == ("/datashop/fulldata", 304)
    assert page["if_none_match"].startswith('"')
    assert (kcdc.counts.unchanged, kcdc.counts.added, kcdc.counts.deleted, kcdc.not_modified) == (13, 0, 0, 1)
    assert lake.catalogue.count("kcdc-html") == 13, "a 304 must not make the rows look vanished"

    # the client's counter and the run rows say the same
    assert harvester.http.stats.not_modified - stats_before == CERN_RECORDS + 1
    runs = Runs(lake.catalogue.engine)
    assert [runs.get(r.run_id).not_modified for r in (cern, kcdc)] == [CERN_RECORDS, 1]  # type: ignore[union-attr]


def test_hepdata_and_gitlab_send_no_conditional_requests(lake: Lake, running: RunningSandbox) -> None:
    """HEPData's record pages carry a view counter (`access_count`, incremented per view, as hepdata.net's do), so
    their validators change on every request and a 304 could never come: its light probe stays the cheap check.
    GitLab versions are tags, each pinning a commit: the listing stamp proves a version unchanged with no request
    at all, cheaper than any 304."""
    url = f"{running.urls['hepdata']}/record/ins1396331"
    tags = {httpx.get(url, params={"format": "json"}, timeout=30).headers["etag"] for _ in range(2)}
    assert len(tags) == 2, "HEPData record pages became stable: conditional GET could now pay off for them"

    config = sources_of(running)
    with lake.harvester() as harvester:
        for name in ("hepdata", "dmdc"):
            harvest(harvester, config, name, full=True)
            replica_requests(running, name, clear=True)
        seq = lake.catalogue.last_seq()
        reports = {name: harvest(harvester, config, name, full=True) for name in ("hepdata", "dmdc")}
    assert lake.catalogue.last_seq() == seq
    for name, report in reports.items():
        log = replica_requests(running, name)
        assert log and not [e for e in log if "if_none_match" in e or "if_modified_since" in e], name
        assert (report.counts.added, report.counts.updated, report.not_modified) == (0, 0, 0)
    hepdata = replica_requests(running, "hepdata")
    assert all("light=true" in e["query"] for e in hepdata if e["path"].startswith("/record/"))
    per_version = ("/repository/tree", "/repository/files/")
    assert not [e for e in replica_requests(running, "dmdc") if any(p in e["path"] for p in per_version)]


# -- edits -----------------------------------------------------------------------------------------------------------
def test_an_edited_record_is_fetched_whole_and_updated(lake: Lake, editable: RunningSandbox) -> None:
    config = sources_of(editable)
    with lake.harvester() as harvester:
        harvest(harvester, config, "cernopendata", full=True)
        harvest(harvester, config, "kcdc-html")
        seq = lake.catalogue.last_seq()
        [recid] = edit(editable, "cernopendata", "edit", count=1, seed=11)
        before = lake.catalogue.find("cernopendata", recid)
        assert before is not None
        [row] = edit(editable, "kcdc-html", "edit", count=1, seed=2)
        replica_requests(editable, "cernopendata", clear=True)
        replica_requests(editable, "kcdc-html", clear=True)

        cern = harvest(harvester, config, "cernopendata", full=True)
        kcdc = harvest(harvester, config, "kcdc-html")

    fetches = record_fetches(replica_requests(editable, "cernopendata"))
    whole = [e for e in fetches if e["status"] == 200]
    assert [e["path"] for e in whole] == [f"/api/records/{recid}"]
    # the listing's stamp already shows the edit: that one is asked for unconditionally, every other one with its ETag
    assert [e["path"] for e in fetches if "if_none_match" not in e] == [f"/api/records/{recid}"]
    assert sum(e["status"] == 304 for e in fetches) == CERN_RECORDS - 1
    assert (cern.counts.updated, cern.counts.unchanged, cern.not_modified) == (1, CERN_RECORDS - 1, CERN_RECORDS - 1)
    after = lake.catalogue.find("cernopendata", recid)
    assert after is not None and after.content_hash != before.content_hash
    assert after.source_updated != before.source_updated

    [page] = replica_requests(editable, "kcdc-html")
    assert (page["status"], "if_none_match" in page) == (200, True)
    assert (kcdc.counts.updated, kcdc.counts.unchanged, kcdc.not_modified) == (1, 12, 0)
    assert [c.record_id.rsplit("/", 1)[1] for c in lake.catalogue.changes_since(seq, 10)] == [recid, row]

    # the next full run is all 304 again: the edited record's new validators were stored with it
    with lake.harvester() as harvester:
        replica_requests(editable, "cernopendata", clear=True)
        again = harvest(harvester, config, "cernopendata", full=True)
    assert again.not_modified == CERN_RECORDS
    assert {e["status"] for e in record_fetches(replica_requests(editable, "cernopendata"))} == {304}


def test_an_incremental_run_fetches_a_record_whose_stamp_changed_unconditionally(
    lake: Lake, editable: RunningSandbox
) -> None:
    """The listing's stamp already says the record changed: a conditional header could only waste a comparison."""
    config = sources_of(editable)
    with lake.harvester() as harvester:
        harvest(harvester, config, "cernopendata", full=True)
        [recid] = edit(editable, "cernopendata", "edit", count=1, seed=4)
        replica_requests(editable, "cernopendata", clear=True)
        report = harvest(harvester, config, "cernopendata")
    [fetch] = record_fetches(replica_requests(editable, "cernopendata"))
    assert (fetch["path"], fetch["status"], "if_none_match" in fetch) == (f"/api/records/{recid}", 200, False)
    assert (report.counts.updated, report.not_modified) == (1, 0)


# -- crash safety ----------------------------------------------------------------------------------------------------
def test_records_whose_commit_was_lost_are_fetched_whole_next_time(
    lake: Lake, editable: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first harvest fails to commit the page holding one record after it was fetched (pages fetched ahead of
    it are lost too). By then the HTTP client has seen their ETags. The next run, in the same process with the same
    client, must fetch every record that never committed whole, with no conditional header: the catalogue offers
    validators only for what it holds."""
    config = sources_of(editable)
    lost_page: list[str] = []
    with lake.harvester() as harvester:
        harvester.batch_records = 1  # every page commits on its own: the second one is lost
        commit_page = Catalogue.commit_page

        def failing(self: Catalogue, source: str, run_id: int, work: PageWork, listing_id: int | None) -> Any:
            if work.mapped and self.count(source) > 0:  # the first page with records commits, the next one fails
                lost_page.extend(m.native_id for m in work.mapped)
                raise OSError("simulated failure: the disk filled up during the commit")
            return commit_page(self, source, run_id, work, listing_id)

        monkeypatch.setattr(Catalogue, "commit_page", failing)
        failed = harvester.harvest(config.sources["cernopendata"], full=True)
        assert failed.state == "failed" and "disk filled up" in (failed.message or "")
        committed = {r.native_id for r in lake.catalogue.iter_records("cernopendata")}
        victim = lost_page[0]
        assert victim not in committed and 0 < len(committed) < CERN_RECORDS
        seen = harvester.http.validators.get(f"{editable.urls['cernopendata']}/api/records/{victim}")
        assert seen is not None and seen.etag, "the client did see the record whose commit was lost"
        monkeypatch.setattr(Catalogue, "commit_page", commit_page)

        replica_requests(editable, "cernopendata", clear=True)
        again = harvest(harvester, config, "cernopendata", full=True)

    fetches = {e["path"].rsplit("/", 1)[1]: e for e in record_fetches(replica_requests(editable, "cernopendata"))}
    assert len(fetches) == CERN_RECORDS
    lost = set(fetches) - committed
    assert victim in lost
    assert all((fetches[i]["status"], "if_none_match" in fetches[i]) == (200, False) for i in lost)
    assert all((fetches[i]["status"], "if_none_match" in fetches[i]) == (304, True) for i in committed)
    assert (again.counts.added, again.counts.unchanged, again.not_modified) == (
        len(lost),
        len(committed),
        len(committed),
    )
    assert lake.catalogue.count("cernopendata") == CERN_RECORDS
    assert stored_etag(lake.catalogue, victim) == seen.etag


def test_a_page_whose_commit_was_lost_is_fetched_whole_next_time(
    lake: Lake, editable: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KCDC's page validators live in the checkpoint: a changed page whose rows failed to commit leaves the older
    checkpoint in place, so the next run asks with the older validators and gets the page whole."""
    config = sources_of(editable)
    with lake.harvester() as harvester:
        harvest(harvester, config, "kcdc-html")
        [row] = edit(editable, "kcdc-html", "edit", count=1, seed=3)
        commit_page = Catalogue.commit_page

        def failing(self: Catalogue, source: str, run_id: int, work: PageWork, listing_id: int | None) -> Any:
            raise OSError("simulated failure: the disk filled up during the commit")

        monkeypatch.setattr(Catalogue, "commit_page", failing)
        failed = harvester.harvest(config.sources["kcdc-html"])
        assert failed.state == "failed"
        monkeypatch.setattr(Catalogue, "commit_page", commit_page)
        replica_requests(editable, "kcdc-html", clear=True)
        report = harvest(harvester, config, "kcdc-html")

    [page] = replica_requests(editable, "kcdc-html")
    assert (page["status"], "if_none_match" in page) == (200, True)
    assert (report.counts.updated, report.counts.unchanged, report.not_modified) == (1, 12, 0)
    stored = lake.catalogue.find("kcdc-html", row)
    assert stored is not None and "revision 1" in (stored.record.description or "")


def stored_etag(catalogue: Catalogue, recid: str) -> str | None:
    """The ETag the catalogue holds for a CERN record (None: it offers none)."""
    held = catalogue.known_validators("cernopendata", [recid], CernOpenDataConnector.mapping_version)
    return held.get(recid, {}).get("etag")
