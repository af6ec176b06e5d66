"""`dmlake source add` (issue 6, onboarding): probes of the sandbox replicas propose a source that loads and harvests.

For each kind the proposal is appended to a sources file with `append_source` (validated by the config loader), read
back with the loader, and harvested for real into a fresh catalogue: the harvest must succeed and hold the records
the replica serves. The OAI-PMH probes are checked for what they found (Identify, formats, sets) and why they chose
the format they chose; the portal probes for what the URL named (a Zenodo community, a GitLab group).
"""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli import dmlake

from connectors import registry
from connectors.http import HttpClient
from connectors.oaipmh_protocol import OaiClient, header_of
from dmlake.lake import Lake
from harvester import config as sources_config
from harvester.onboarding import ProbeError, ProbeReport, SourceExists, append_source, probe, render_toml
from sandbox import build_replicas
from sandbox.server import RunningSandbox, start

GENERATED = 40


@pytest.fixture(scope="module")
def generated() -> Iterator[RunningSandbox]:
    kinds = ["zenodo-oai", "kcdc-oai", "cernopendata-oai", "zenodo", "dmdc", "hepdata", "cernopendata", "kcdc-html"]
    with start(build_replicas(generate=GENERATED, seed=3, kinds=kinds)) as running:
        yield running


@pytest.fixture(scope="module")
def recorded(corpus: Path) -> Iterator[RunningSandbox]:
    with start(build_replicas(corpus=corpus, kinds=["zenodo-oai", "kcdc-oai"])) as running:
        yield running


@pytest.fixture(autouse=True)
def _map_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMLAKE_MAP_WORKERS", "0")


def found(report: ProbeReport) -> dict[str, str]:
    return dict(report.found)


def harvest_proposal(report: ProbeReport, tmp_path: Path) -> tuple[int, int, str]:
    """Append the proposal to a new sources file, load it, harvest it: (added, quarantined, state)."""
    path = tmp_path / "sources.toml"
    append_source(path, report.proposal, ["a test"])
    configured = sources_config.load(path, known_kinds=sorted(registry()))
    source = configured.sources[report.proposal.name]
    assert (source.spec.kind, source.spec.url) == (report.proposal.kind, report.proposal.url)
    assert dict(source.spec.options) == report.proposal.options
    lake = Lake.open(tmp_path / "home")
    try:
        with lake.harvester() as harvester:
            done = harvester.harvest(source)
        return done.counts.added, done.counts.quarantined, done.state
    finally:
        lake.close()


def listed_records(base_url: str, prefix: str) -> int:
    """Records (not deletion markers) a repository's ListRecords gives, counted without the harvester."""
    with HttpClient() as http:
        pages = OaiClient(http, base_url, "count").iter_pages("ListRecords", {"metadataPrefix": prefix})
        return sum(1 for page in pages for item in page.items if not header_of(item).deleted)


# -- OAI-PMH ---------------------------------------------------------------------------------------------------------
def test_oai_zenodo_recorded_proposes_oai_dc_because_datacite_covers_fewer_records(
    recorded: RunningSandbox, tmp_path: Path
) -> None:
    report = probe(recorded.urls["zenodo-oai"], "oai")
    facts = found(report)
    assert facts["repository"] == "Zenodo"
    assert facts["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert facts["earliest datestamp"] == "2014-02-03T14:41:33Z"
    assert facts["deletedRecord"].startswith("no: ") and "--full" in facts["deletedRecord"]
    assert facts["metadata formats"] == "marcxml, oai_dc, datacite, oai_datacite"
    # the recorded sessions hold a DataCite body for few records (55 listed) and Dublin Core for many more (347
    # headers): the richer format would leave records out, so Dublin Core is proposed, and the reason is given
    assert facts["records listed per format"] == "oai_datacite: 55, datacite: 55, oai_dc: 347"
    assert "would leave records out" in facts["oai_datacite not proposed"]
    options = report.proposal.options
    assert options["metadata_prefix"] == "oai_dc" and options["profile"] == "zenodo"
    assert "lists fewer records" in report.proposal.why["options.metadata_prefix"]
    # the replica answers at its root too: the URL that answered is proposed, and Identify's own baseURL is shown
    assert report.proposal.url == recorded.urls["zenodo-oai"]
    assert facts["declared baseURL"] == recorded.urls["zenodo-oai"] + "/oai2d"
    assert report.proposal.name == "zenodo-oai"
    assert report.sample.works and report.sample.mapped == report.sample.fetched == 10
    live = listed_records(report.proposal.url, "oai_dc")
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert state == "succeeded"
    assert added + quarantined == live > 200


def test_oai_zenodo_generated_proposes_oai_datacite_as_the_richest(generated: RunningSandbox, tmp_path: Path) -> None:
    report = probe(generated.urls["zenodo-oai"], "oai")
    options = report.proposal.options
    assert options["metadata_prefix"] == "oai_datacite"
    assert "DataCite" in report.proposal.why["options.metadata_prefix"]
    assert options["profile"] == "zenodo" and "sets" not in options
    assert (
        f"oai_datacite: {GENERATED}, datacite: {GENERATED}, oai_dc: {GENERATED}"
        in found(report)["records listed per format"]
    )
    sets = found(report)["sets (9)"]
    assert "user-escape2020 (ESCAPE 2020)" in sets
    assert any(hint.startswith('sets = ["openaire_data"]') for hint in report.proposal.hints)
    toml = render_toml(report.proposal)
    assert '# sets = ["openaire_data"]' in toml and 'metadata_prefix = "oai_datacite"' in toml
    assert tomllib.loads(toml)["sources"]["zenodo-oai"]["options"] == options
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert (added, quarantined, state) == (GENERATED, 0, "succeeded")


def test_a_pasted_request_url_gives_base_url_set_and_format(generated: RunningSandbox, tmp_path: Path) -> None:
    url = generated.urls["zenodo-oai"] + "/oai2d?verb=ListRecords&metadataPrefix=oai_dc&set=user-escape2020"
    report = probe(url, "oai")
    assert report.proposal.url == generated.urls["zenodo-oai"] + "/oai2d"
    assert report.proposal.options["sets"] == ["user-escape2020"]
    assert report.proposal.options["metadata_prefix"] == "oai_dc"
    assert report.proposal.why["options.metadata_prefix"] == "the format you asked for"
    in_set = httpx.get(
        generated.urls["zenodo-oai"] + "/oai2d",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "user-escape2020"},
    ).text.count("<identifier>")
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert state == "succeeded" and added + quarantined == in_set > 0


def test_kcdc_oai_prototype(recorded: RunningSandbox, tmp_path: Path) -> None:
    report = probe(recorded.urls["kcdc-oai"], "oai-pmh")
    facts = found(report)
    assert facts["repository"] == "KCDC OAI-PMH prototype"
    assert facts["granularity"] == "YYYY-MM-DD"
    assert facts["metadata formats"] == "oai_dc"
    assert facts["records listed per format"] == "oai_dc: 37"  # one answer, no resumption token: counted
    assert "experimental:KASCADE-GRANDE" in next(v for k, v in facts.items() if k.startswith("sets ("))
    assert report.proposal.options == {"metadata_prefix": "oai_dc", "profile": "kcdc"}
    assert report.proposal.why["options.metadata_prefix"] == "Dublin Core: the only format dmlake reads here"
    assert report.proposal.name == "kcdc-oai"
    assert report.sample.mapped == 10 and not report.sample.failures
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert (added, quarantined, state) == (37, 0, "succeeded")


def test_cern_oai_found_under_a_usual_path(generated: RunningSandbox) -> None:
    report = probe(generated.urls["cernopendata-oai"] + "/oai2d", "oai")
    assert report.proposal.options["profile"] == "cernopendata"
    assert report.proposal.why["options.profile"] == "identifiers oai:cernopendata.cern:…"
    assert report.sample.mapped == 10


def test_not_an_oai_endpoint_says_what_was_tried(generated: RunningSandbox) -> None:
    with pytest.raises(ProbeError) as raised:
        probe(generated.urls["hepdata"], "oai")
    error = raised.value
    assert "no OAI-PMH repository answers" in error.message and "?verb=Identify" in error.message
    tried = "\n".join(error.tried)
    assert f"Identify at {generated.urls['hepdata']}:" in tried and f"{generated.urls['hepdata']}/oai2d" in tried
    assert "tried:" in str(error)


def test_unreachable_host_fails_fast_and_says_what_to_check() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    for kind in ("oai", "zenodo", None):
        with pytest.raises(ProbeError) as raised:
            probe(f"http://127.0.0.1:{port}", kind)
        assert "reachable" in str(raised.value) or "did not answer" in str(raised.value)
        assert raised.value.tried or kind == "zenodo"


def test_unknown_kind_lists_the_known() -> None:
    with pytest.raises(ProbeError, match=r"unknown kind 'oia'; known: .*oai.*zenodo"):
        probe("https://example.org", "oia")


# -- the portals -----------------------------------------------------------------------------------------------------
def test_zenodo_community_page(generated: RunningSandbox, tmp_path: Path) -> None:
    base = generated.urls["zenodo"]
    report = probe(f"{base}/communities/escape2020", "zenodo")
    assert report.proposal.url == base
    assert report.proposal.options == {"communities": ["escape2020"]}
    assert report.proposal.why["options.communities"] == "the community page you gave"
    facts = found(report)
    assert facts["community escape2020"] == "ESCAPE 2020"
    listed = httpx.get(f"{base}/api/records", params={"communities": "escape2020", "all_versions": "true", "size": 1})
    total = listed.json()["hits"]["total"]
    assert facts["records in community escape2020 (every version)"] == str(total)
    assert "25 hits a page without a token" in facts["page size"]
    assert not report.failed
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert (added + quarantined, state) == (total, "succeeded")


def test_zenodo_without_scope_is_warned_and_unknown_community_reported(generated: RunningSandbox) -> None:
    report = probe(generated.urls["zenodo"], "zenodo", options={"communities": ["no-such-community"]})
    assert any("no community 'no-such-community'" in problem for problem in report.failed)
    everything = probe(generated.urls["zenodo"], "zenodo")
    assert any("would harvest all of Zenodo" in problem for problem in everything.failed)


def test_gitlab_group_page(generated: RunningSandbox, tmp_path: Path) -> None:
    base = generated.urls["dmdc"]
    report = probe(f"{base}/groups/dmdc", "gitlab", name="dmdc")
    assert report.proposal.options == {"group": "dmdc"}
    facts = found(report)
    assert facts["group"] == "dmdc (Dark Matter Data Center, public)"
    assert "dmdc/xenon" in facts["subgroups"]
    assert facts["projects (subgroups included)"] == str(GENERATED)
    assert any("at most 100" in hint for hint in report.proposal.hints)
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert state == "succeeded" and added >= GENERATED and quarantined == 0  # each tag is a version of its own


def test_gitlab_unknown_group_is_a_404_explained(generated: RunningSandbox) -> None:
    with pytest.raises(ProbeError, match=r"no group 'nobody' visible without a token \(404\).*token_env"):
        probe(generated.urls["dmdc"] + "/nobody", "gitlab")


@pytest.mark.parametrize(
    ("replica", "kind"), [("hepdata", "hepdata"), ("cernopendata", "cernopendata"), ("kcdc-html", "kcdc")]
)
def test_portal_probes_harvest(generated: RunningSandbox, tmp_path: Path, replica: str, kind: str) -> None:
    report = probe(generated.urls[replica], kind)
    assert report.sample.works and not report.failed
    assert report.proposal.limits["requests_per_minute"] == "unlimited"  # a server on this machine
    added, quarantined, state = harvest_proposal(report, tmp_path)
    assert state == "succeeded" and added + quarantined >= GENERATED


@pytest.mark.parametrize(
    ("replica", "suffix", "kind"),
    [
        ("zenodo-oai", "", "oaipmh"),
        ("kcdc-oai", "", "oaipmh"),
        ("zenodo", "", "zenodo"),
        ("cernopendata", "", "cernopendata"),
        ("hepdata", "", "hepdata"),
        ("dmdc", "/dmdc", "gitlab"),
        ("kcdc-html", "", "kcdc"),
    ],
)
def test_kind_is_detected(generated: RunningSandbox, replica: str, suffix: str, kind: str) -> None:
    report = probe(generated.urls[replica] + suffix)
    assert report.kind == kind and report.sample.works


def test_real_hosts_propose_their_polite_rates() -> None:
    from harvester.onboarding import Proposal, propose_limits

    for url, kind, rate in [
        ("https://zenodo.org/oai2d", "oaipmh", 30),
        ("https://opendata.cern.ch", "cernopendata", 60),
        ("https://gitlab.example.org", "gitlab", 600),
        ("https://oai.example.org/oai", "oaipmh", 60),
    ]:
        proposal = Proposal("x", kind, url)
        propose_limits(kind, url, proposal, concurrency=1)
        assert proposal.limits["requests_per_minute"] == rate, url


# -- writing the sources file -----------------------------------------------------------------------------------------
def test_append_never_clobbers_and_validates_first(generated: RunningSandbox, tmp_path: Path) -> None:
    report = probe(generated.urls["kcdc-oai"], "oai", name="kcdc-proto")
    path = tmp_path / "sources.toml"
    path.write_text('[defaults]\ncontact = "dm@example.org"\n\n[sources.other]\nkind = "kcdc"\nurl = "https://k"\n')
    append_source(path, report.proposal, ["probed"])
    text = path.read_text()
    assert text.startswith('[defaults]\ncontact = "dm@example.org"\n\n[sources.other]')
    assert set(sources_config.load(path, sorted(registry())).sources) == {"other", "kcdc-proto"}
    with pytest.raises(SourceExists, match="already has a source named 'kcdc-proto'; nothing was written"):
        append_source(path, report.proposal)
    assert path.read_text() == text
    # options the connector refuses are refused before anything is written
    report.proposal.options["mode"] = "everything"
    report.proposal.name = "kcdc-bad"
    with pytest.raises(sources_config.ConfigError, match=r"options\.mode must be 'records' or 'identifiers'"):
        append_source(path, report.proposal)
    assert path.read_text() == text
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources.x]\nkind = 'nope'\nurl = 'https://x'\n")
    with pytest.raises(sources_config.ConfigError, match="fix the file before adding a source"):
        append_source(broken, report.proposal)


def test_cli_writes_the_home_sources_file_from_the_defaults(generated: RunningSandbox, tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = generated.urls["kcdc-oai"]
    shown = dmlake(home, "source", "add", "--kind", "oai", "--url", url)
    assert "proposed configuration:" in shown.stdout and "[sources.kcdc-oai]" in shown.stdout
    assert not (home / "sources.toml").exists()  # no --write: nothing written
    written = dmlake(home, "source", "add", "--url", url, "--write", "--option", "overlap_minutes=30")
    assert "appended [sources.kcdc-oai]" in written.stdout
    assert "started from dmlake's default sources" in written.stdout
    configured = sources_config.load(home / "sources.toml", sorted(registry()))
    assert {"cernopendata", "zenodo", "hepdata", "kcdc", "kcdc-oai"} <= set(configured.sources)
    assert dict(configured.sources["kcdc-oai"].spec.options)["overlap_minutes"] == 30
    listed = dmlake(home, "sources")
    assert "kcdc-oai" in listed.stdout and "zenodo" in listed.stdout
    again = dmlake(home, "source", "add", "--url", url, "--name", "kcdc-oai", "--write", check=False)
    assert again.returncode == 1 and "already has a source named 'kcdc-oai'" in again.stderr
    # without --name, a free name is proposed
    second = dmlake(home, "source", "add", "--url", url, "--json")
    assert '"name": "kcdc-oai-2"' in second.stdout


def test_cli_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = dmlake(
        tmp_path / "home", "source", "add", "--kind", "oai", "--url", f"http://127.0.0.1:{port}/oai", check=False
    )
    assert done.returncode == 1
    assert "no OAI-PMH repository answers" in done.stderr and "tried:" in done.stderr
