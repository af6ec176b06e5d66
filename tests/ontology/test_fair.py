"""The FAIR report on real corpus records: what each check finds, the score, and the per-source aggregate.

The records come the real way (sandbox replicas serving corpus files, the registered connectors, their mappers):
CERN Open Data records with DOIs, licences and checksummed files and CMS outreach records without them, every Zenodo
REST record, both HEPData records, the DMDC-style COSINE-100 and sandbox releases, and KCDC's 37 preselections.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import registry
from connectors.base import HarvestState, Limits
from connectors.http import HttpClient
from harvester.config import parse
from ontology import IdentifierScheme, Record, fair, vocabulary
from ontology.model import Checksum, Concept, Identifier, Provenance, record_id
from sandbox import build_replicas, start

CERN_FILES = (
    "cms-primary-datasets-Run2011A.json",  # DOIs, CC0, adler32 checksums, collision data
    "cms-learning-resources.json",  # outreach resources: no DOI, few files, groups named as collaborations
    "lhcb-antimatter-matters-2017.json",
    "atlas-higgs-challenge-2014.json",
)
OTHER_KINDS = ("zenodo", "hepdata", "dmdc", "kcdc-oai")
PRINCIPLE = re.compile(r"^(F[1-4]|A1(\.[12])?|A2|I[1-3]|R1(\.[1-3])?)$")
"""The fifteen FAIR principles as GO FAIR numbers them."""


@pytest.fixture(scope="module")
def records(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Record]]:
    """Mapped records by source. Run and retrieval time are set as the harvester sets them on every record."""
    folder = tmp_path_factory.mktemp("cern") / "cernopendata" / "records"
    folder.mkdir(parents=True)
    for name in CERN_FILES:
        (folder / name).symlink_to(corpus / "cernopendata" / "records" / name)
    replicas = build_replicas(corpus=folder.parent.parent, kinds=["cernopendata"])
    replicas.update(build_replicas(corpus=corpus, kinds=list(OTHER_KINDS)))
    found: dict[str, list[Record]] = {}
    retrieved = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    with start(replicas) as running, HttpClient(Limits(concurrency=4), sleep=lambda s: None, max_backoff=0.01) as http:
        for source in parse(running.sources_toml(), "<sandbox>", sorted(registry())).sources.values():
            connector_class = registry()[source.spec.kind]
            for page in connector_class(source.spec, http).pages(HarvestState(full=True)):
                assert page.failures == []
                for raw in page.records:
                    record = connector_class.map_record(raw, source.name)
                    record.provenance.harvest_run = 1
                    record.provenance.retrieved_at = retrieved
                    found.setdefault(source.name, []).append(record)
    assert set(found) == {"cernopendata", *OTHER_KINDS}
    return found


def by_native_id(records: dict[str, list[Record]], source: str, native_id: str) -> Record:
    return next(r for r in records[source] if r.native_id == native_id)


def status(report: fair.RecordReport) -> dict[str, fair.Status]:
    return {result.check.id: result.status for result in report.results}


def failed(report: fair.RecordReport) -> set[str]:
    return {result.check.id for result in report.missing}


# -- the checks themselves --------------------------------------------------------------------------------------------


def test_checks_name_fair_principles_are_grouped_and_say_how_to_fix() -> None:
    assert len({c.id for c in fair.CHECKS}) == len(fair.CHECKS)
    groups = [c.group for c in fair.CHECKS]
    assert groups == sorted(groups, key=fair.GROUPS.index), "checks are listed F, then A, then I, then R"
    assert set(groups) == set(fair.GROUPS)
    for check in fair.CHECKS:
        assert all(PRINCIPLE.match(p) for p in check.principles), check.principles
        assert check.weight in (1, 2, 3) and check.hint and check.label
    assert sum(c.weight for c in fair.CHECKS) == fair.TOTAL_WEIGHT
    weights = {c.id: c.weight for c in fair.CHECKS}
    assert weights["persistent-identifier"] == weights["license"] == max(weights.values())


# -- known-good records -----------------------------------------------------------------------------------------------


def test_a_cern_collision_dataset_scores_high_with_the_reasons(records: dict[str, list[Record]]) -> None:
    record = by_native_id(records, "cernopendata", "17")  # /DoubleMu/Run2011A-12Oct2013-v1/AOD
    report = fair.assess(record)
    assert report.score >= 85
    reasons = {r.check.id: r.outcome.detail for r in report.results if r.passed}
    assert reasons["persistent-identifier"] == f"https://doi.org/{record.doi}"
    assert reasons["license"] == "CC0-1.0 (http://spdx.org/licenses/CC0-1.0)"
    assert "adler32" in reasons["checksums"] and reasons["checksums"].startswith(f"{len(record.distributions)} files")
    assert reasons["experiment-concepts"] == "CMS"
    assert reasons["messenger-concepts"] == "collider"
    assert reasons["provenance"] == "cernopendata, run 1, mapping " + record.provenance.mapping_version + (
        ", retrieved 2026-11-21 09:00"
    )
    assert reasons["access-url"] == "https://opendata.cern.ch/record/17"
    # what CERN Open Data does not publish for its datasets is what is missing, each with its fix
    assert failed(report) <= {"version", "keywords", "creator-identifiers", "temporal-coverage"}
    assert all(r.check.hint for r in report.missing)


def test_every_release_with_doi_licence_and_checksummed_files_scores_above_the_rest(
    records: dict[str, list[Record]],
) -> None:
    good, others = [], []
    for record in records["cernopendata"]:
        complete = record.doi and record.license and record.distributions
        complete = complete and all(d.checksum for d in record.distributions)
        (good if complete else others).append(fair.assess(record).score)
    assert len(good) >= 19 and others
    assert min(good) > max(others)


def test_a_hepdata_record_and_the_cosine_release_score_high_with_the_reasons(
    records: dict[str, list[Record]],
) -> None:
    hepdata = fair.assess(by_native_id(records, "hepdata", "ins1396331.v1"))
    assert hepdata.score >= 75
    assert hepdata.result("persistent-identifier").outcome.detail == "https://doi.org/10.17182/hepdata.73066.v1"
    assert hepdata.result("experiment-concepts").outcome.detail == "LHCb"
    assert "is supplement to" in hepdata.result("related-identifiers").outcome.detail  # the paper
    # HEPData gives no checksums or sizes for its table downloads
    assert hepdata.result("checksums").failed and hepdata.result("file-sizes").failed

    cosine = fair.assess(by_native_id(records, "dmdc", "dmdc/cosine/cosine100-6years-modulation@v1.0"))
    assert cosine.score >= 75
    assert cosine.result("experiment-concepts").outcome.detail == "COSINE-100"
    assert cosine.result("messenger-concepts").outcome.detail == "dark-matter direct detection"
    assert cosine.result("temporal-coverage").outcome.detail == "2016-10-12 to 2023-05-08"
    assert cosine.result("persistent-identifier").failed  # a GitLab release has no DOI


# -- what is missing ----------------------------------------------------------------------------------------------


def strip(record: Record, *what: str) -> Record:
    update: dict[str, object] = {}
    if "doi" in what:
        kept = [i for i in record.identifiers if i.scheme not in (IdentifierScheme.DOI, IdentifierScheme.HANDLE)]
        update["identifiers"] = kept
    if "licence" in what:
        update["license"] = None
    if "checksums" in what:
        update["distributions"] = [d.model_copy(update={"checksum": None}) for d in record.distributions]
    return record.model_copy(update=update)


STRIPPED_CHECKS = {"doi": "persistent-identifier", "licence": "license", "checksums": "checksums"}


@pytest.mark.parametrize(
    ("source", "native_id"),
    [("cernopendata", "17"), ("cernopendata", "4902"), ("zenodo", "3974864"), ("kcdc-oai", None)],
)
def test_a_record_stripped_of_doi_licence_and_checksums_loses_exactly_those_checks(
    records: dict[str, list[Record]], source: str, native_id: str | None
) -> None:
    if native_id is None:  # KCDC has no DOIs: give one of its records one, then take it away again
        record = records[source][0]
        doi = Identifier(scheme=IdentifierScheme.DOI, value="10.5281/zenodo.0000001")
        record = record.model_copy(update={"identifiers": [*record.identifiers, doi]})
        checksum = Checksum(algorithm="md5", value="0" * 32)
        record = record.model_copy(
            update={"distributions": [d.model_copy(update={"checksum": checksum}) for d in record.distributions]}
        )
    else:
        record = by_native_id(records, source, native_id)
    whole = fair.assess(record)
    assert {"persistent-identifier", "license", "checksums"} <= {r.check.id for r in whole.results if r.passed}
    for what in (("doi",), ("licence",), ("checksums",), ("doi", "licence", "checksums")):
        stripped = fair.assess(strip(record, *what))
        lost = {STRIPPED_CHECKS[w] for w in what}
        if "doi" in what and record.landing_page is None:
            lost.add("access-url")  # without a landing page, the DOI was the way to reach the release (A1)
        assert failed(stripped) - failed(whole) == lost, what
        assert failed(whole) <= failed(stripped)
        weight = sum(fair.CHECKS_BY_ID[c].weight for c in lost)
        assert stripped.weight_applicable == whole.weight_applicable
        assert stripped.weight_passed == whole.weight_passed - weight
        assert stripped.score == round(100 * stripped.weight_passed / stripped.weight_applicable, 1)


def test_the_score_is_the_weighted_share_of_applicable_checks(records: dict[str, list[Record]]) -> None:
    for source_records in records.values():
        for record in source_records:
            report = fair.assess(record)
            applicable = [r for r in report.results if r.status != fair.Status.NOT_APPLICABLE]
            passed = sum(r.check.weight for r in applicable if r.passed)
            total = sum(r.check.weight for r in applicable)
            assert report.score == round(100 * passed / total, 1)
            for group, score in report.group_scores().items():
                inside = [r for r in applicable if r.check.group == group]
                expected = sum(r.check.weight for r in inside if r.passed) / sum(r.check.weight for r in inside)
                assert score == round(100 * expected, 1)


def test_file_checks_do_not_apply_to_a_release_without_files(records: dict[str, list[Record]]) -> None:
    record = by_native_id(records, "cernopendata", "53")  # Physics Masterclasses: a web resource, no files
    assert record.distributions == []
    report = fair.assess(record)
    assert status(report)["checksums"] == fair.Status.NOT_APPLICABLE
    assert status(report)["download-url"] == fair.Status.FAIL
    assert report.result("download-url").outcome.detail == "no files listed"
    assert report.weight_applicable == fair.TOTAL_WEIGHT - sum(
        r.check.weight for r in report.results if r.status == fair.Status.NOT_APPLICABLE
    )


def test_an_outreach_group_as_collaboration_is_no_vocabulary_gap(records: dict[str, list[Record]]) -> None:
    report = fair.assess(by_native_id(records, "cernopendata", "51"))  # VISPA, by "RWTH Aachen University in Germany"
    assert report.result("experiment-concepts").passed
    assert report.result("experiment-concepts").outcome.detail == "CMS"


def test_a_free_text_or_missing_licence_fails_and_a_licence_url_passes(records: dict[str, list[Record]]) -> None:
    record = by_native_id(records, "cernopendata", "17")
    free = record.model_copy(update={"license": vocabulary.license_concept("Other (Open)")})
    assert fair.assess(free).result("license").outcome == fair.Outcome(
        fair.Status.FAIL, "free text 'Other (Open)', not an SPDX id or licence URI"
    )
    assert fair.assess(record.model_copy(update={"license": None})).result("license").outcome.detail == "no licence"
    kcdc = fair.assess(records["kcdc-oai"][0]).result("license")  # KCDC's EULA: a licence document, not SPDX
    assert kcdc.passed and "EULA.pdf" in kcdc.outcome.detail


def test_a_concept_doi_alone_is_not_the_release_pid(records: dict[str, list[Record]]) -> None:
    record = by_native_id(records, "zenodo", "3974864")
    concept_only = [i for i in record.identifiers if i.scheme != IdentifierScheme.DOI]
    concept_only.append(Identifier(scheme=IdentifierScheme.CONCEPT_DOI, value="10.5281/zenodo.3974863"))
    result = fair.assess(record.model_copy(update={"identifiers": concept_only})).result("persistent-identifier")
    assert result.failed and "only a concept DOI" in result.outcome.detail
    handle = [*concept_only, Identifier(scheme=IdentifierScheme.HANDLE, value="21.11101/0000-0001-B1C2-3")]
    result = fair.assess(record.model_copy(update={"identifiers": handle})).result("persistent-identifier")
    assert result.passed and result.outcome.detail == "https://hdl.handle.net/21.11101/0000-0001-B1C2-3"
    ark = [*concept_only, Identifier(scheme=IdentifierScheme.OTHER, value="ark:/13030/tf5p30086k")]
    assert fair.assess(record.model_copy(update={"identifiers": ark})).result("persistent-identifier").passed


def test_unmapped_vocabulary_values_fail_naming_the_raw_string() -> None:
    record = Record(
        id=record_id("test", "1"),
        source="test",
        native_id="1",
        title="A release of an experiment nobody knows",
        experiments=[vocabulary.concept("experiment", "CMS"), Concept(label="FooBar-7", raw="FooBar-7")],
        messengers=[Concept(label="axions", raw="axions")],
        targets=[vocabulary.concept("target", "Xe")],
        provenance=Provenance(source="test", source_kind="test", raw_sha256="0" * 64, mapping_version="1"),
    )
    report = fair.assess(record)
    assert report.result("experiment-concepts").outcome.detail == "not in the experiment vocabulary: 'FooBar-7'"
    assert report.result("messenger-concepts").outcome.detail == "not in the messenger vocabulary: 'axions'"
    assert report.result("controlled-terms").passed  # the one value given, the target, is a concept
    assert report.result("provenance").outcome.detail == "no harvest run, retrieved at"


def test_the_json_of_a_record_report(records: dict[str, list[Record]]) -> None:
    report = fair.assess(by_native_id(records, "cernopendata", "17"))
    data = report.to_json()
    assert data["id"] == report.record_id and data["score"] == report.score
    assert [c["check"] for c in data["checks"]] == [c.id for c in fair.CHECKS]
    assert data["missing"] == [r.check.id for r in report.missing]
    for check in data["checks"]:
        assert ("hint" in check) == (check["status"] == "fail")
    assert data["scores_by_group"] == report.group_scores()


# -- per source ---------------------------------------------------------------------------------------------------


def test_per_source_aggregates_equal_the_per_record_sums(records: dict[str, list[Record]]) -> None:
    everything = [record for source_records in records.values() for record in source_records]
    summaries = fair.summarise(everything)
    assert list(summaries) == list(records)
    for source, source_records in records.items():
        summary = summaries[source]
        reports = [fair.assess(r) for r in source_records]
        scores = [r.score for r in reports]
        assert summary.records == len(reports)
        assert summary.score_total == pytest.approx(sum(scores))
        assert summary.mean_score == round(sum(scores) / len(scores), 1)
        assert (summary.min_score, summary.max_score) == (min(scores), max(scores))
        for n, (low, high) in enumerate(fair.SCORE_BINS):
            inside = [s for s in scores if low <= s < high or (high == 100 and s == 100)]
            assert summary.distribution[n] == len(inside), (source, low)
        for check in fair.CHECKS:
            counts = summary.checks[check.id]
            statuses = [r.result(check.id).status for r in reports]
            assert counts.passed == statuses.count(fair.Status.PASS)
            assert counts.failed == statuses.count(fair.Status.FAIL)
            assert counts.not_applicable == statuses.count(fair.Status.NOT_APPLICABLE)
        missing = summary.most_missing()
        assert [count for _, count in missing] == sorted((count for _, count in missing), reverse=True)
        assert sum(count for _, count in missing) == sum(len(r.missing) for r in reports)
        data = summary.to_json(limit=3)
        assert len(data["most_missing"]) == min(3, len(missing))
        assert sum(b["records"] for b in data["distribution"]) == summary.records


def test_the_source_aggregates_tell_the_sources_apart(records: dict[str, list[Record]]) -> None:
    summaries = fair.summarise(r for source_records in records.values() for r in source_records)
    kcdc = summaries["kcdc-oai"]
    # KCDC's preselections have no DOI and no per-file checksum: every one of its 37 records misses both
    assert kcdc.records == 37
    assert kcdc.checks["persistent-identifier"].failed == 37 and kcdc.checks["checksums"].failed == 37
    assert kcdc.checks["experiment-concepts"].passed == 37  # KASCADE, KASCADE-Grande, LOPES
    cern = summaries["cernopendata"]
    assert cern.checks["persistent-identifier"].passed >= 19 and cern.checks["license"].passed >= 19
    assert summaries["hepdata"].checks["persistent-identifier"].passed == 2


def test_a_summary_takes_only_its_own_source(records: dict[str, list[Record]]) -> None:
    summary = fair.SourceSummary("zenodo")
    with pytest.raises(ValueError, match="is from 'hepdata', not 'zenodo'"):
        summary.add(fair.assess(records["hepdata"][0]))
