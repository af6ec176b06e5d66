"""Every corpus record of every portal kind, harvested the real way, for the conformance tests.

The sandbox replicas serve the corpus (CERN Open Data over REST and OAI-PMH, Zenodo over REST and OAI-PMH, HEPData,
the DMDC-style GitLab group holding COSINE-100, KCDC's data-shop page and its OAI-PMH prototype); the sources file
the sandbox writes names each with its connector options (OAI-PMH profile and metadata prefix, GitLab group); the
registered connectors list every source page by page and their mappers map each raw record.

The harvest is done once per process (`harvest_corpus` is cached): the conformance test modules share it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import pytest

from connectors import registry
from connectors.base import HarvestState, Limits, MappingError
from connectors.http import HttpClient
from harvester.config import parse
from ontology import Record
from ontology.shacl import GATES, Finding
from sandbox import build_replicas, sources_toml, start
from sandbox.replicas import REPLICA_CLASSES
from sandbox.server import RunningSandbox, SourceLine

OTHER_FORMATS = {
    "zenodo-oai-datacite": ("zenodo-oai", "datacite"),
    "zenodo-oai-oai_datacite": ("zenodo-oai", "oai_datacite"),
}
"""Sources beside the sandbox's own: Zenodo's OAI-PMH replica also serves the recorded DataCite kernels, as
`datacite` and in DataCite's OAI envelope (`oai_datacite`); the sandbox's sources file harvests `oai_dc`."""

SOURCES = (*REPLICA_CLASSES, *OTHER_FORMATS)
"""Every source harvested: the sandbox's (cernopendata, zenodo, hepdata, dmdc, kcdc-html, zenodo-oai, kcdc-oai,
cernopendata-oai) and the other metadata formats of the OAI-PMH replicas."""

EXPECTED_RECORDS = {
    "cernopendata": 7443,  # every record of the corpus's CERN fixture files (MANIFEST.md §1a)
    "cernopendata-oai": 7443,  # the same records through the portal's OAI-PMH server
    "zenodo": 17,  # the recorded Zenodo REST records
    "zenodo-oai": 213,  # the 216 identifiers recorded with an oai_dc body, less the 3 Zenodo listed as deleted
    "hepdata": 2,  # the two HEPData submissions of the corpus
    "dmdc": 4,  # COSINE-100 v1.0 and the group's public synthetic companions (CRESST v1.0 and v2.0, ANAIS)
    "kcdc-html": 13,  # the release rows of KCDC's data-shop page
    "kcdc-oai": 37,  # the records of KCDC's OAI-PMH prototype
    "zenodo-oai-datacite": 52,  # the 54 identifiers recorded with a DataCite kernel, less 2 listed as deleted
    "zenodo-oai-oai_datacite": 52,  # the same kernels in DataCite's OAI envelope
}
"""Records each source must deliver and map: the corpus gives these, so a smaller count means records were lost."""

EXPECTED_DELETIONS = {"zenodo-oai": 3, "zenodo-oai-datacite": 3, "zenodo-oai-oai_datacite": 3}
"""Records a source lists as deleted: Zenodo's `status="deleted"` headers of the recorded answers (a deleted
record's header is listed whatever the metadata format asked for)."""

UNMAPPABLE: dict[tuple[str, str], str] = {}
"""(source, native id) → why a corpus record cannot become a model record. None: every corpus record maps."""


@dataclass
class CorpusHarvest:
    records: dict[str, list[Record]] = field(default_factory=dict)
    """Mapped records by source name, in listing order."""
    deleted: dict[str, list[str]] = field(default_factory=dict)
    """Native ids each source listed as deleted."""
    problems: list[str] = field(default_factory=list)
    """Fetch failures and mapping errors of records not listed in UNMAPPABLE."""
    unmappable: dict[tuple[str, str], str] = field(default_factory=dict)
    """The mapping errors of the records listed in UNMAPPABLE."""
    seconds: float = 0.0

    def all(self) -> Iterator[Record]:
        for records in self.records.values():
            yield from records

    def count(self) -> int:
        return sum(len(records) for records in self.records.values())

    def counts(self) -> str:
        return ", ".join(f"{source} {len(records)}" for source, records in self.records.items())

    @cached_property
    def source_of(self) -> dict[str, str]:
        """Record id → source name."""
        return {record.id: source for source, records in self.records.items() for record in records}


@cache
def harvest_corpus(corpus: Path) -> CorpusHarvest:
    started = time.perf_counter()
    result = CorpusHarvest()
    replicas = build_replicas(corpus=corpus)
    missing = sorted(set(REPLICA_CLASSES) - set(replicas))
    assert not missing, f"the corpus should feed a replica of every kind; none for {missing}"
    with start(replicas) as running, HttpClient(Limits(concurrency=4), sleep=lambda s: None, max_backoff=0.01) as http:
        for source in parse(_sources_file(running), "<sandbox>", sorted(registry())).sources.values():
            connector_class = registry()[source.spec.kind]
            mapped = result.records.setdefault(source.name, [])
            deleted = result.deleted.setdefault(source.name, [])
            for page in connector_class(source.spec, http).pages(HarvestState(full=True)):
                deleted += [d.native_id for d in page.deletions]
                result.problems += [f"{source.name} {f.native_id}: fetch failed: {f.message}" for f in page.failures]
                for raw in page.records:
                    try:
                        mapped.append(connector_class.map_record(raw, source.name))
                    except MappingError as error:
                        if (source.name, raw.native_id) in UNMAPPABLE:
                            result.unmappable[(source.name, raw.native_id)] = str(error)
                        else:
                            result.problems.append(f"{source.name} {raw.native_id}: {error}")
    result.seconds = time.perf_counter() - started
    return result


SEVERITIES = ("Violation", "Warning", "Info")


def _sources_file(running: RunningSandbox) -> str:
    """The sandbox's sources file, plus a source per other metadata format of an OAI-PMH replica."""
    described: dict[str, SourceLine] = {}
    for name, replica in running.replicas.items():
        described[name] = (replica.kind, running.urls[name], replica.source_options())
    for name, (served_by, prefix) in OTHER_FORMATS.items():
        replica = running.replicas[served_by]
        options = {**replica.source_options(), "metadata_prefix": prefix}
        described[name] = (replica.kind, running.urls[served_by], options)
    return sources_toml(described)


def gate_table(
    findings: Iterable[Finding], source_of: dict[str, str], sources: Iterable[str], gates: Iterable[str]
) -> list[str]:
    """Findings counted per gate and severity (rows; every gate's Violations, even none) and per source (columns).

    Gates that only advise (recommended properties) are marked: their Violations are advice, not failures."""
    columns = list(sources)
    counts: Counter[tuple[str, str, str]] = Counter()
    for finding in findings:
        counts[(finding.gate, finding.severity, source_of.get(finding.record_id, "?"))] += 1
    if any(source == "?" for _, _, source in counts):
        columns.append("?")
    names = list(dict.fromkeys([*gates, *(gate for gate, _, _ in counts)]))
    found = {(gate, severity) for gate, severity, _ in counts}
    blocking = {name for name in names if name in GATES and GATES[name].blocking}
    rows = [(g, s) for g in names for s in SEVERITIES if (g, s) in found or (s == "Violation" and g in blocking)]
    widths = [max(len(c), 6) + 2 for c in columns]
    label = 34
    header = "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
    lines = [f"  {'gate':<{label}}{'severity':<10}{header}" + (f"{'total':>9}" if len(columns) > 1 else "")]
    for gate, severity in rows:
        cells = [counts[(gate, severity, c)] for c in columns]
        name = gate if gate in blocking else f"{gate} (advice only)"
        row = "".join(f"{n:>{w}}" for n, w in zip(cells, widths, strict=True))
        lines.append(f"  {name:<{label}}{severity:<10}{row}" + (f"{sum(cells):>9}" if len(columns) > 1 else ""))
    return lines


def show(request: pytest.FixtureRequest, lines: list[str]) -> None:
    """Print the lines: on the terminal even when output is captured and the test passes, when pytest runs in one
    process; under xdist (whose workers' terminal output is lost) into the captured output, which `-rP` shows for
    passed tests and every failure report shows."""
    text = "\n" + "\n".join(lines)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None or hasattr(request.config, "workerinput"):
        print(text)
        return
    with capture.global_and_fixture_disabled():
        print(text)
