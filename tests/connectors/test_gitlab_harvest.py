"""The GitLab (DMDC-style) connector through the real harvester, against the sandbox replica serving the corpus group
(COSINE-100 release + fixture projects): files with sizes, checksums and categories, versions from tags and releases,
the descriptor's physics, incremental runs, tokens, archived projects, quarantined descriptors, the SHACL gate."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.base import HarvestState, Limits, SourceSpec
from connectors.gitlab import GitLabConnector, lfs_patterns, lfs_tracked, parse_lfs_pointer
from connectors.http import HttpClient
from harvester.catalogue import Catalogue
from harvester.config import Source
from harvester.harvest import Harvester
from ontology import Record, shacl
from sandbox.replicas.gitlab import SANDBOX_TOKEN, GitLabReplica
from sandbox.server import RunningSandbox, start

COSINE = "dmdc/cosine/cosine100-6years-modulation@v1.0"
COSINE_DATA = Path("dmdc/cosine100-publicdata/COSINE100-6YearsModulation/data")
CRESST = "dmdc/cresst/cresst-dataset-000001"
NAMESPACE = "https://w3id.org/dmlake/vocab/"


@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[Catalogue]:
    opened = Catalogue.open(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    yield opened
    opened.close()


@pytest.fixture
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = GitLabReplica.from_corpus(corpus, broken_descriptor=True)
    assert replica is not None
    with start({"dmdc": replica}) as running:
        yield running


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with HttpClient(Limits(), sleep=lambda seconds: None) as client:
        yield client


def _source(running: RunningSandbox, **options: object) -> Source:
    return Source(SourceSpec("dmdc", "gitlab", running.urls["dmdc"], {"group": "dmdc", **options}), True, 0.5, None)


def _records(catalogue: Catalogue) -> dict[str, Record]:
    return {s.native_id: s.record for s in catalogue.iter_records("dmdc")}


def test_the_dmdc_group_harvests_into_the_model(
    corpus: Path, catalogue: Catalogue, sandbox: RunningSandbox, http: HttpClient
) -> None:
    harvester = Harvester(catalogue, http, {"gitlab": GitLabConnector})
    report = harvester.harvest(_source(sandbox))
    # COSINE v1.0, CRESST v1.0 and v2.0, the untagged ANAIS project; the broken DarkSide descriptor is quarantined;
    # the archived XENON project and the private subgroup's project are not published
    assert (report.state, report.mode, report.counts.added, report.counts.quarantined) == ("succeeded", "full", 4, 1)
    records = _records(catalogue)
    assert sorted(records) == sorted([COSINE, f"{CRESST}@v1.0", f"{CRESST}@v2.0", "dmdc/anais/anais-dataset-000003"])

    cosine = records[COSINE]
    assert cosine.version == "v1.0" and cosine.title.startswith("COSINE-100 Full Dataset Challenges")
    assert [c.uri for c in cosine.experiments] == [f"{NAMESPACE}experiment/COSINE-100"]
    assert [c.uri for c in cosine.collaboration] == [f"{NAMESPACE}experiment/COSINE-100"]
    assert [c.uri for c in cosine.targets] == [f"{NAMESPACE}target/NaI"]
    assert [c.uri for c in cosine.detection_technique] == [f"{NAMESPACE}technique/scintillating-crystal"]
    assert [c.uri for c in cosine.messengers] == [f"{NAMESPACE}messenger/dark-matter-direct-detection"]
    assert cosine.live_time is not None and (cosine.live_time.unit, round(cosine.live_time.value, 2)) == ("d", 2123.46)
    assert cosine.energy_range is not None and (cosine.energy_range.min, cosine.energy_range.max) == (1, 6)
    assert cosine.energy_range.raw == "1-6 keVee"
    assert cosine.temporal_coverage is not None and cosine.temporal_coverage.start == "2016-10-12"
    assert cosine.data_level is not None and cosine.data_level.uri == f"{NAMESPACE}data-level/1"
    assert cosine.license is not None and cosine.license.uri == "http://spdx.org/licenses/CC-BY-4.0"
    assert [(i.scheme, i.value) for i in cosine.is_supplement_to] == [("doi", "10.1126/sciadv.adv6503"),
                                                                      ("arxiv", "2409.13226")]  # fmt: skip
    assert cosine.is_version_of[0].value == "dmdc/cosine/cosine100-6years-modulation"
    assert cosine.landing_page is not None and cosine.landing_page.endswith("/-/releases/v1.0")
    assert cosine.publisher is not None and cosine.publisher.name == "Dark Matter Data Center"
    assert "annual-modulation" in cosine.keywords and cosine.access_rights == "open"

    # every corpus CSV is a resource with its real size, sha256 and the descriptor's category
    files = {d.name: d for d in cosine.distributions}
    csvs = sorted((corpus / COSINE_DATA).glob("*.csv"))
    assert len(csvs) == 22
    expected = {"EventRate": "event-data", "BackgroundRate": "background-model", "SelectionEfficiency":
                "detector-response", "CosineNaQF": "detector-response", "CosineIQF": "detector-response",
                "AmplitudePosterior": "likelihood", "PseudoUnderDama": "simulation", "AmplitudeSpectrum":
                "derived-data"}  # fmt: skip
    for path in csvs:
        data = path.read_bytes()
        file = files[f"data/{path.name}"]
        assert file.size_bytes == len(data)
        assert file.checksum is not None and file.checksum.value == hashlib.sha256(data).hexdigest()
        assert [c.uri for c in file.categories] == [f"{NAMESPACE}resource-category/{expected[path.stem.split('_')[0]]}"]
        assert file.format == "CSV" and file.media_type == "text/csv" and file.description
        assert file.url is not None and file.url.endswith("/raw?ref=v1.0")
    assert files["data/EventRate_erc1-6.csv"].description is not None
    assert "Usage:" in str(files["data/EventRate_erc1-6.csv"].description)
    assert files["README.md"].role == "documentation" and files["LICENSE"].role == "documentation"
    assert {"Paper (arXiv:2409.13226)", "cosine100-6years-modulation-v1.0.tar.gz"} <= set(files)
    assert {c.label for c in cosine.resource_categories} >= {"event data", "background model", "detector response"}
    repository = [d.size_bytes for d in cosine.distributions if d.size_bytes is not None]
    assert cosine.size_bytes == sum(repository)

    # versions from tags and releases; a Git LFS file's real size and oid
    first, second = records[f"{CRESST}@v1.0"], records[f"{CRESST}@v2.0"]
    assert [i.value for i in second.is_new_version_of] == [f"{CRESST}@v1.0"] and first.is_new_version_of == []
    assert "response/efficiency.csv" in {d.name for d in second.distributions}
    assert "response/efficiency.csv" not in {d.name for d in first.distributions}
    waveforms = next(d for d in second.distributions if d.name == "data/waveforms.h5")
    assert waveforms.size_bytes is not None and waveforms.size_bytes > 4000
    assert waveforms.url is not None and waveforms.url.endswith("&lfs=true")
    body = httpx.get(waveforms.url, timeout=30).content
    assert len(body) == waveforms.size_bytes and waveforms.checksum is not None
    assert hashlib.sha256(body).hexdigest() == waveforms.checksum.value
    assert [a.orcid for a in second.creators] == ["0000-0002-1825-0097"]  # from CITATION.cff
    assert second.exposure is not None and second.exposure.unit == "kg.d"  # fiducial mass × live time
    assert records["dmdc/anais/anais-dataset-000003"].version == "0.1"  # untagged: the default branch

    (quarantined,) = catalogue.quarantined("dmdc")
    assert quarantined.native_id == "dmdc/darkside/darkside-dataset-000005@v1.0"
    assert quarantined.field == "dmdc.json:$.resources[1].category"
    assert "project dmdc/darkside/darkside-dataset-000005 at tag v1.0" in quarantined.message

    gate = shacl.validate(records.values(), gates=("dcat-ap", "dml"))
    assert gate.conforms(), "\n".join(str(f) for f in gate.violations())


def test_incremental_runs_ask_for_recent_activity_and_fetch_only_what_changed(
    catalogue: Catalogue, sandbox: RunningSandbox, http: HttpClient
) -> None:
    harvester = Harvester(catalogue, http, {"gitlab": GitLabConnector})
    harvester.harvest(_source(sandbox))
    url = sandbox.urls["dmdc"]
    httpx.delete(f"{url}/_sandbox/requests", timeout=30)
    edited = httpx.post(f"{url}/_sandbox/edit", json={"ids": [CRESST]}, timeout=30).json()["edited"]
    assert edited == [CRESST]
    again = harvester.harvest(_source(sandbox))
    assert (again.mode, again.counts.added, again.counts.updated) == ("incremental", 1, 0)
    log = httpx.get(f"{url}/_sandbox/requests", timeout=30).json()
    listings = [e for e in log if e["path"] == "/api/v4/groups/dmdc/projects"]
    assert listings and all("last_activity_after=" in e["query"] for e in listings)
    # only the edited project's new tag was read whole; its older versions are unchanged (no tree requested)
    trees = {e["path"] for e in log if e["path"].endswith("/repository/tree")}
    assert trees == {"/api/v4/projects/43/repository/tree"}
    assert sum(1 for e in log if e["path"].endswith("/repository/tree")) == 1
    new = [n for n in _records(catalogue) if n.startswith(f"{CRESST}@v3.0")]
    assert len(new) == 1

    deleted = httpx.post(f"{url}/_sandbox/delete", json={"ids": [CRESST]}, timeout=30).json()["deleted"]
    assert deleted == [CRESST]
    full = harvester.harvest(_source(sandbox), full=True, confirm_deletions=True)
    assert (full.state, full.counts.deleted) == ("succeeded", 3)


def test_a_private_subgroup_needs_the_token(
    catalogue: Catalogue,
    sandbox: RunningSandbox,
    http: HttpClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    harvester = Harvester(catalogue, http, {"gitlab": GitLabConnector})
    monkeypatch.setenv("DMDC_TOKEN", SANDBOX_TOKEN)
    caplog.set_level(logging.DEBUG)
    report = harvester.harvest(_source(sandbox, token_env="DMDC_TOKEN"))
    assert report.state == "succeeded"
    record = _records(catalogue)["dmdc/internal/supercdms-dataset-000004@v1.0"]
    assert record.access_rights == "restricted"
    assert SANDBOX_TOKEN not in caplog.text

    monkeypatch.setenv("DMDC_TOKEN", "glpat-wrong")
    refused = harvester.harvest(_source(sandbox, token_env="DMDC_TOKEN"))
    assert refused.state == "failed" and refused.message is not None
    assert "refused the token (401)" in refused.message and "glpat-wrong" not in refused.message

    monkeypatch.delenv("DMDC_TOKEN")
    with pytest.raises(ValueError, match="DMDC_TOKEN, which is not set"):
        GitLabConnector(_source(sandbox, token_env="DMDC_TOKEN").spec, http)
    with pytest.raises(ValueError, match="do not put a GitLab token in the sources file"):
        GitLabConnector(_source(sandbox, token="x").spec, http)


def test_a_private_root_group_without_a_token_is_explained(sandbox: RunningSandbox, http: HttpClient) -> None:
    connector = GitLabConnector(SourceSpec("dmdc", "gitlab", sandbox.urls["dmdc"], {"group": "dmdc/internal"}), http)
    with pytest.raises(Exception, match="private and needs a token"):
        next(connector.pages(HarvestState(full=True)))


def test_an_archived_project_becomes_a_tombstone(sandbox: RunningSandbox, http: HttpClient) -> None:
    connector = GitLabConnector(SourceSpec("dmdc", "gitlab", sandbox.urls["dmdc"], {"group": "dmdc"}), http)
    archived = "dmdc/xenon/xenon-dataset-000002"
    state = HarvestState(full=True, known=lambda ids: {i: "old" for i in ids if i.startswith(archived)})
    pages = list(connector.pages(state))
    deletions = [d for p in pages for d in p.deletions]
    # its tag's record, and the record of its default branch from before it was tagged
    assert [(d.native_id, d.reason) for d in deletions] == [
        (f"{archived}@v1.0", "the GitLab project is archived"),
        (archived, "the GitLab project is archived"),
    ]
    assert pages[-1].listing_complete


def test_lfs_helpers() -> None:
    patterns = lfs_patterns("# comment\n*.h5 filter=lfs diff=lfs merge=lfs -text\nraw/** filter=lfs\n*.csv text\n")
    assert patterns == ["*.h5", "raw/**"]
    assert lfs_tracked("data/waveforms.h5", patterns) and lfs_tracked("raw/run1/x.bin", patterns)
    assert not lfs_tracked("data/events.csv", patterns)
    oid = "sha256:" + "ab" * 32
    pointer = f"version https://git-lfs.github.com/spec/v1\noid {oid}\nsize 123456\n".encode()
    assert parse_lfs_pointer(pointer) == {"oid": oid, "size": 123456}
    assert parse_lfs_pointer(b"day,rate\n1,2\n") is None
