"""Acceptance (issue #4, item 1): every corpus record passes DCAT-AP 3.0.1, dmlake's `dml:` shapes and DataCite 4.6.

Every record of every source the sandbox serves from the corpus (CERN Open Data over REST and OAI-PMH, Zenodo over
REST and OAI-PMH, HEPData, the DMDC GitLab group with COSINE-100, KCDC's data-shop page and its OAI-PMH prototype),
and Zenodo's OAI-PMH records in their other formats (`datacite`, `oai_datacite`), comes through the real path
(`corpus_harvest`): sources file → replica → registered connector → mapper. Then:

* its RDF view against DCAT-AP 3.0.1 (`shapes.ttl` + `range.ttl`: Violations fail), the recommended-property shapes
  (`shapes_recommended.ttl`: Warnings, counted) and the `dml:` shapes (Violations fail; Warnings and Infos counted),
  1,000 records per pyshacl call;
* its DataCite view against the kernel-4.6 XSD (XML) and the 4.6 JSON schema of the `datacite` package (JSON; the
  schema of inveniosoftware/datacite PR #115, VALIDATORS.md §2).

The counts per gate, severity and source are printed (on the terminal even when the tests pass; under xdist in the
captured output, which `-rP` shows) and are part of every failure message. The schema.org gates run in
`test_corpus_conformance_schemaorg.py`. About two and a half minutes on one core (harvest half a minute, DCAT-AP a
minute and a half, DataCite half a minute); the DCAT-AP and DataCite tests may run on two workers.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from corpus_harvest import (
    EXPECTED_DELETIONS,
    EXPECTED_RECORDS,
    SOURCES,
    UNMAPPABLE,
    CorpusHarvest,
    gate_table,
    harvest_corpus,
    show,
)

from ontology import datacite, shacl
from ontology.terms import DCAT

pytestmark = pytest.mark.slow

GATES = ("dcat-ap", "dcat-ap-recommended", "dml")


@pytest.fixture(scope="module")
def harvest(corpus: Path) -> CorpusHarvest:
    return harvest_corpus(corpus)


def test_every_record_of_every_source_is_harvested_and_mapped(harvest: CorpusHarvest) -> None:
    assert harvest.problems == []
    assert set(harvest.unmappable) == set(UNMAPPABLE), "UNMAPPABLE must list exactly the records that fail to map"
    assert {source: len(records) for source, records in harvest.records.items()} == EXPECTED_RECORDS
    assert {source: len(ids) for source, ids in harvest.deleted.items() if ids} == EXPECTED_DELETIONS
    for source, records in harvest.records.items():
        assert len({r.id for r in records}) == len(records), f"{source}: two records share an id"
        assert {r.source for r in records} == {source}


def test_every_record_conforms_to_dcat_ap_3_0_1_and_the_dml_shapes(
    harvest: CorpusHarvest, request: pytest.FixtureRequest
) -> None:
    """One test, not several sharing a fixture: xdist may send tests of one module to both workers (and its
    `xdist_group` marks have no effect with pytest 9.2, pytest-xdist#1386), which would validate the corpus twice."""
    started = time.perf_counter()
    report = shacl.validate(harvest.all(), gates=GATES, batch_size=1000)
    seconds = time.perf_counter() - started
    source_of = harvest.source_of
    table = "\n".join(
        [
            f"DCAT-AP 3.0.1 + dml: shapes over every corpus record ({harvest.count()} records: {harvest.counts()}), "
            f"{seconds:.0f} s (harvest {harvest.seconds:.0f} s):",
            *gate_table(report.findings, source_of, SOURCES, GATES),
            report.summary(examples=8),
        ]
    )
    show(request, [table])
    assert report.records == harvest.count()
    assert report.violations("dcat-ap") == [], table
    assert report.violations("dml") == [], table
    assert report.unattributed == [], table
    assert report.conforms(), table

    # recommended properties: Warnings, counted; no source names a contact point, so each record has that warning
    recommended = [f for f in report.findings if f.gate == "dcat-ap-recommended"]
    assert {f.severity for f in recommended} == {"Warning"}, table
    assert {f.record_id for f in recommended if f.path == str(DCAT.contactPoint)} == set(source_of), table
    assert {source_of[f.record_id] for f in recommended} == set(SOURCES), table

    # dml: advice (unmapped values, generated descriptions) names its record, the property and why
    advice = [f for f in report.findings if f.gate == "dml"]
    assert advice and {f.severity for f in advice} <= {"Warning", "Info"}, table
    for finding in advice:
        assert finding.record_id in source_of and finding.message and finding.path, finding


def test_every_record_has_valid_datacite_4_6_xml_and_json(
    harvest: CorpusHarvest, request: pytest.FixtureRequest
) -> None:
    started = time.perf_counter()
    failures: dict[str, dict[str, list[str]]] = {source: {} for source in SOURCES}
    checked = dict.fromkeys(SOURCES, 0)
    for source, records in harvest.records.items():
        for record in records:
            attributes = datacite.attributes(record)
            xml = datacite.xml_errors(datacite.xml_from_attributes(attributes))  # = datacite.to_xml(record)
            json = datacite.json_errors(attributes)
            checked[source] += 1
            if xml or json:
                failures[source][record.id] = [f"XSD {e}" for e in xml[:3]] + [f"JSON {e}" for e in json[:3]]
    lines = [
        f"DataCite 4.6 (kernel-4.6 XSD + JSON schema) over every corpus record, {time.perf_counter() - started:.0f} s:",
        *(f"  {source:<24} {checked[source]:>6} records, {len(failures[source])} failing" for source in SOURCES),
    ]
    show(request, lines)
    assert sum(checked.values()) == harvest.count()
    assert {source: failed for source, failed in failures.items() if failed} == {}, "\n".join(lines)
