"""FAIR report: which FAIR-relevant properties a record carries, a score, and what is missing with how to fix it.

Each check tests one property of the model and names the FAIR principles it serves (GO FAIR's numbering: F1 a
persistent identifier, F2 rich metadata, A1 retrievable by a standard protocol, A1.2 access conditions, I2 FAIR
vocabularies, I3 qualified references, R1 plurality of attributes, R1.1 licence, R1.2 provenance, R1.3 community
standards; https://www.go-fair.org/fair-principles/). Its group (F, A, I or R) is the letter of its first principle.

The score of a record is the weighted share of its applicable checks that pass, in percent:

    score = 100 × Σ weight(passed checks) / Σ weight(applicable checks)

A check is not applicable when the property cannot exist for that record (file checksums when the release lists no
files); such a check neither helps nor hurts. Weights say how much a property matters to finding and reusing the
data: 3 for a persistent identifier and a licence (without them a dataset can be neither cited nor reused), 2 for a
real description, a download URL, checksums, experiment concepts and provenance, 1 for everything else.

Principles that hold for every record dmlake serves, whatever its source, are not checked per record: F4 (indexed
in a searchable resource: the catalogue and its index), A2 (metadata outlive the data: removed records stay as
tombstones) and I1 (a formal language: every record is available as DCAT-AP RDF). A1.1 (an open protocol) holds for
the metadata, served over HTTP; for the data it is part of the download-URL check.

Per source, `SourceSummary` aggregates reports one at a time (mean score, score distribution, how often each check
passed and failed, the most common missing properties), so a whole catalogue streams through in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from ontology.model import Agent, Concept, Identifier, IdentifierScheme, Record
from ontology.vocabulary import lookup, not_an_experiment

RICH_DESCRIPTION_CHARS = 100
"""A description shorter than this restates the title at best (Google Dataset Search refuses one under 50)."""

DOWNLOAD_SCHEMES = frozenset(("http", "https", "ftp", "ftps", "root", "xroot", "s3", "gs"))
"""URL schemes of open, freely implementable transfer protocols (XRootD is how CERN Open Data serves its files)."""

GROUPS = ("F", "A", "I", "R")
GROUP_NAMES = {"F": "Findable", "A": "Accessible", "I": "Interoperable", "R": "Reusable"}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Outcome:
    """What a check found: its status and, in a few words, the evidence (what is there, or what is missing)."""

    status: Status
    detail: str


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _passed(detail: str) -> Outcome:
    return Outcome(Status.PASS, detail)


def _failed(detail: str) -> Outcome:
    return Outcome(Status.FAIL, detail)


def _not_applicable(detail: str) -> Outcome:
    return Outcome(Status.NOT_APPLICABLE, detail)


@dataclass(frozen=True)
class Check:
    """One FAIR-relevant property: its principles, weight, how to test it, and how to fix it at the source."""

    id: str
    principles: tuple[str, ...]
    label: str
    weight: int
    hint: str
    evaluate: Callable[[Record], Outcome] = field(repr=False, compare=False)

    @property
    def group(self) -> str:
        return self.principles[0][0]

    def describe(self) -> dict[str, Any]:
        return {
            "check": self.id,
            "principles": list(self.principles),
            "label": self.label,
            "weight": self.weight,
            "hint": self.hint,
        }


# -- the checks -----------------------------------------------------------------------------------------------------

_PERSISTENT = (IdentifierScheme.DOI, IdentifierScheme.HANDLE)
_PID_HOSTS = ("doi.org", "dx.doi.org", "hdl.handle.net", "n2t.net", "identifiers.org", "w3id.org", "purl.org")


def _is_ark(identifier: Identifier) -> bool:
    value = identifier.value.lower()
    return value.startswith("ark:") or "/ark:" in value


def _pid_uri(identifier: Identifier) -> str | None:
    """A resolvable URI if the identifier is persistent for this release (DOI, Handle, ARK, PID-resolver URL)."""
    if identifier.scheme in _PERSISTENT:
        return identifier.uri()
    if _is_ark(identifier):
        return identifier.value if "://" in identifier.value else f"https://n2t.net/{identifier.value}"
    if identifier.scheme == IdentifierScheme.URL and urlsplit(identifier.value).hostname in _PID_HOSTS:
        return identifier.value
    return None


def _persistent_identifier(record: Record) -> Outcome:
    found = [uri for uri in map(_pid_uri, record.identifiers) if uri]
    if found:
        return _passed(", ".join(found))
    concept_dois = [i for i in record.identifiers if i.scheme == IdentifierScheme.CONCEPT_DOI]
    if concept_dois:
        return _failed(f"only a concept DOI for all versions ({concept_dois[0].uri()}), none for this release")
    others = ", ".join(sorted({i.scheme.value for i in record.identifiers})) or "none"
    return _failed(f"no DOI, Handle or ARK (identifiers: {others})")


def _description(record: Record) -> Outcome:
    text = " ".join((record.description or "").split())
    if not text:
        return _failed("no description")
    if len(text) < RICH_DESCRIPTION_CHARS:
        return _failed(f"{len(text)} characters, fewer than {RICH_DESCRIPTION_CHARS}")
    return _passed(f"{len(text):,} characters")


def _keywords(record: Record) -> Outcome:
    count = len(record.keywords) + len(record.subjects)
    if count == 0:
        return _failed("no keywords or subjects")
    return _passed(f"{_count(len(record.keywords), 'keyword')}, {_count(len(record.subjects), 'subject')}")


def _creators(record: Record) -> Outcome:
    if record.creators:
        return _passed(_count(len(record.creators), "creator"))
    if record.collaboration:
        return _passed(f"collaboration {', '.join(c.label for c in record.collaboration)}")
    return _failed("no creator or collaboration")


def _publication_date(record: Record) -> Outcome:
    return _passed(f"issued {record.issued}") if record.issued else _failed("no publication date")


def _access_url(record: Record) -> Outcome:
    if record.landing_page and urlsplit(record.landing_page).scheme in ("http", "https"):
        return _passed(record.landing_page)
    resolvable = next((uri for uri in map(_pid_uri, record.identifiers) if uri), None)
    if resolvable:
        return _passed(f"resolves through {resolvable}")
    return _failed("no landing page and no resolvable identifier")


def _download_url(record: Record) -> Outcome:
    if not record.distributions:
        return _failed("no files listed")
    schemes = [urlsplit(d.url).scheme.lower() for d in record.distributions if d.url]
    open_ = [s for s in schemes if s in DOWNLOAD_SCHEMES]
    if not open_:
        if schemes:
            return _failed(f"no file URL over an open protocol (schemes: {', '.join(sorted(set(schemes)))})")
        return _failed(f"none of {_count(len(record.distributions), 'file')} has a download URL")
    return _passed(f"{len(open_)} of {_count(len(record.distributions), 'file')} ({', '.join(sorted(set(open_)))})")


def _access_rights(record: Record) -> Outcome:
    return _passed(record.access_rights) if record.access_rights else _failed("access rights not stated")


def _unmapped(values: Iterable[Concept]) -> list[str]:
    return [c.raw.strip() or c.label for c in values if not c.mapped]


def _experiments(record: Record) -> Outcome:
    if not record.experiments:
        return _failed("no experiment named")
    # an outreach group named as the collaboration is no experiment the vocabulary lacks (vocab/organisation.ttl)
    raw = _unmapped(record.experiments) + [r for r in _unmapped(record.collaboration) if not not_an_experiment(r)]
    if raw:
        return _failed("not in the experiment vocabulary: " + ", ".join(repr(r) for r in raw))
    return _passed(", ".join(dict.fromkeys(c.label for c in record.experiments)))


def _messengers(record: Record) -> Outcome:
    if not record.messengers:
        return _failed("no messenger")
    raw = _unmapped(record.messengers)
    if raw:
        return _failed("not in the messenger vocabulary: " + ", ".join(repr(r) for r in raw))
    return _passed(", ".join(c.label for c in record.messengers))


def _controlled_values(record: Record) -> dict[str, list[Concept]]:
    collision_type = record.collision.type if record.collision else None
    return {
        "technique": record.detection_technique,
        "target": record.targets,
        "data level": [record.data_level] if record.data_level else [],
        "resource category": record.resource_categories,
        "collision type": [collision_type] if collision_type else [],
        "accelerator": [record.accelerator] if record.accelerator else [],
    }


def _controlled_terms(record: Record) -> Outcome:
    values = {name: concepts for name, concepts in _controlled_values(record).items() if concepts}
    if not values:
        return _failed("no technique, target, data level, resource category, collision type or accelerator")
    unmapped = [f"{name} {raw!r}" for name, concepts in values.items() for raw in _unmapped(concepts)]
    if unmapped:
        return _failed("not in the vocabularies: " + ", ".join(unmapped))
    return _passed(", ".join(f"{name} ({len(concepts)})" for name, concepts in values.items()))


_RELATIONS = ("is_version_of", "is_new_version_of", "is_part_of", "has_part", "is_supplement_to", "references")


def _related_identifiers(record: Record) -> Outcome:
    counts = {name: len(getattr(record, name)) for name in _RELATIONS if getattr(record, name)}
    if not counts:
        return _failed("no related identifiers (paper, parent, versions, references)")
    return _passed(", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items()))


def _checksums(record: Record) -> Outcome:
    if not record.distributions:
        return _not_applicable("no files listed")
    missing = sum(1 for d in record.distributions if d.checksum is None)
    if missing:
        return _failed(f"{missing} of {_count(len(record.distributions), 'file')} without a checksum")
    algorithms = sorted({d.checksum.algorithm for d in record.distributions if d.checksum})
    return _passed(f"{_count(len(record.distributions), 'file')} ({', '.join(algorithms)})")


def _file_sizes(record: Record) -> Outcome:
    if not record.distributions:
        if record.size_bytes is not None:
            return _passed(f"release size {record.size_bytes:,} bytes")
        return _not_applicable("no files listed")
    missing = sum(1 for d in record.distributions if d.size_bytes is None)
    if missing:
        return _failed(f"{missing} of {_count(len(record.distributions), 'file')} without a size")
    return _passed(_count(len(record.distributions), "file"))


def _file_formats(record: Record) -> Outcome:
    if not record.distributions:
        if record.formats:
            return _passed(", ".join(record.formats))
        return _not_applicable("no files listed")
    missing = sum(1 for d in record.distributions if not (d.media_type or d.format))
    if missing:
        return _failed(f"{missing} of {_count(len(record.distributions), 'file')} without a media type or format")
    kinds = sorted({d.media_type or d.format or "" for d in record.distributions})
    return _passed(", ".join(kinds[:5]) + (f" and {len(kinds) - 5} more" if len(kinds) > 5 else ""))


def _version(record: Record) -> Outcome:
    if record.version:
        return _passed(f"version {record.version}")
    if record.is_version_of or record.is_new_version_of:
        return _passed("linked to its other versions")
    return _failed("no version and no link to other versions")


def _temporal_coverage(record: Record) -> Outcome:
    coverage = record.temporal_coverage
    if coverage is None or not (coverage.start or coverage.end):
        return _failed("no period of data taking")
    return _passed(f"{coverage.start or '…'} to {coverage.end or '…'}")


def _license(record: Record) -> Outcome:
    licence = record.license
    if licence is None:
        return _failed("no licence")
    if not licence.mapped:
        return _failed(f"free text {licence.raw.strip() or licence.label!r}, not an SPDX id or licence URI")
    return _passed(f"{licence.label} ({licence.uri})")


_PROVENANCE = ("source", "harvest_run", "retrieved_at", "mapping_version")


def _provenance(record: Record) -> Outcome:
    provenance = record.provenance
    missing = [name.replace("_", " ") for name in _PROVENANCE if getattr(provenance, name) in (None, "")]
    if missing:
        return _failed("no " + ", ".join(missing))
    return _passed(
        f"{provenance.source}, run {provenance.harvest_run}, mapping {provenance.mapping_version}, "
        f"retrieved {provenance.retrieved_at:%Y-%m-%d %H:%M}"
    )


def _identified(agent: Agent) -> bool:
    """A person by ORCID; an organisation by ROR, or as a collaboration the experiment vocabulary knows."""
    if agent.kind == "person":
        return agent.orcid is not None
    return agent.ror is not None or lookup("experiment", agent.name) is not None


def _creator_identifiers(record: Record) -> Outcome:
    if not record.creators:
        collaborations = [c for c in record.collaboration if c.mapped]
        if collaborations:
            return _passed("collaboration " + ", ".join(c.label for c in collaborations) + " (vocabulary concept)")
        return _failed("no creators to identify")
    unidentified = [agent.name for agent in record.creators if not _identified(agent)]
    if unidentified:
        sample = ", ".join(repr(name) for name in unidentified[:3]) + (" …" if len(unidentified) > 3 else "")
        return _failed(f"{len(unidentified)} of {_count(len(record.creators), 'creator')} without ORCID/ROR: {sample}")
    return _passed(f"{_count(len(record.creators), 'creator')} identified (ORCID, ROR or a known collaboration)")


def _domain_metadata(record: Record) -> Outcome:
    facts = {
        "energy range": record.energy_range is not None,
        "collision": record.collision is not None,
        "data level": record.data_level is not None,
        "exposure": record.exposure is not None,
        "live time": record.live_time is not None,
        "events": record.number_of_events is not None,
        "selection": bool(record.selection),
        "observables": bool(record.observables),
        "reactions": bool(record.reactions),
    }
    present = [name for name, given in facts.items() if given]
    if not present:
        return _failed("no energy range, collision, data level, exposure, events, selection or observables")
    return _passed(", ".join(present))


# Every check, in report order: grouped F, A, I, R, then by principle.
# fmt: off
CHECKS: tuple[Check, ...] = (
    Check("persistent-identifier", ("F1",), "persistent identifier", 3,
          "register a DOI for the release (DataCite; Zenodo, CERN Open Data and HEPData mint them) and put it in "
          "its metadata", _persistent_identifier),
    Check("description", ("F2", "R1"), "rich description", 2,
          f"write an abstract of at least {RICH_DESCRIPTION_CHARS} characters: what was measured, how, and what "
          "the files hold", _description),
    Check("keywords", ("F2",), "keywords or subjects", 1,
          "add keywords or subjects (experiment, messenger, observable, PhySH terms)", _keywords),
    Check("creators", ("F2",), "creators", 1,
          "name the creators: the collaboration or the people who made the release", _creators),
    Check("publication-date", ("F2",), "publication date", 1,
          "give the date the release was published", _publication_date),
    Check("access-url", ("A1",), "access URL (landing page)", 1,
          "publish a landing page for the release and link it from the record", _access_url),
    Check("download-url", ("A1", "A1.1"), "download URL", 2,
          "list the release's files with direct download URLs over HTTPS (or XRootD)", _download_url),
    Check("access-rights", ("A1.2",), "access rights", 1,
          "state the access rights (open, embargoed, restricted)", _access_rights),
    Check("experiment-concepts", ("I2",), "experiments as vocabulary concepts", 2,
          "name the experiment as the collaboration spells it ('CMS', 'XENONnT'); a name the vocabulary lacks "
          "goes into ontology/vocab/experiment.ttl", _experiments),
    Check("messenger-concepts", ("I2",), "messengers as vocabulary concepts", 1,
          "name the experiment (it implies the messenger) or give the messenger as a keyword (photon, neutrino)",
          _messengers),
    Check("controlled-terms", ("I2",), "technique, target, data level, category as concepts", 1,
          "use the vocabularies' terms for technique, target, data level and resource category (ontology/vocab)",
          _controlled_terms),
    Check("related-identifiers", ("I3",), "qualified related identifiers", 1,
          "link the paper (DOI/arXiv), the parent collection and other versions as related identifiers",
          _related_identifiers),
    Check("checksums", ("R1",), "file checksums", 2,
          "publish a checksum (md5, sha256, adler32) for every file", _checksums),
    Check("file-sizes", ("R1",), "file sizes", 1,
          "give every file's size in bytes", _file_sizes),
    Check("version", ("R1",), "version", 1,
          "give the release a version and link it to its earlier versions", _version),
    Check("temporal-coverage", ("R1",), "temporal coverage", 1,
          "state when the data were taken (start and end of data taking)", _temporal_coverage),
    Check("license", ("R1.1",), "licence (a licence URI, not free text)", 3,
          "choose a standard licence and give its SPDX id (CC0-1.0, CC-BY-4.0) or a licence URL, not free text",
          _license),
    Check("provenance", ("R1.2",), "provenance (source, run, mapping, retrieval)", 2,
          "harvest the record with `dmlake harvest`: records mapped outside a run carry no run or retrieval time",
          _provenance),
    Check("creator-identifiers", ("R1.2",), "creators with ORCID / ROR", 1,
          "give ORCID iDs for people and ROR ids for organisations (a known collaboration counts as identified)",
          _creator_identifiers),
    Check("file-formats", ("R1.3",), "file formats / media types", 1,
          "give each file's format or media type (application/x-root, text/csv, application/x-hdf5)",
          _file_formats),
    Check("domain-metadata", ("R1.3",), "physics description", 1,
          "give the physics the field expects: energy range or √s, exposure or live time, events, data level",
          _domain_metadata),
)
# fmt: on

CHECKS_BY_ID = {check.id: check for check in CHECKS}
TOTAL_WEIGHT = sum(check.weight for check in CHECKS)


# -- one record -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    check: Check
    outcome: Outcome

    @property
    def status(self) -> Status:
        return self.outcome.status

    @property
    def passed(self) -> bool:
        return self.outcome.status == Status.PASS

    @property
    def failed(self) -> bool:
        return self.outcome.status == Status.FAIL

    def to_json(self) -> dict[str, Any]:
        data = self.check.describe()
        data["status"] = self.status.value
        data["detail"] = self.outcome.detail
        if not self.failed:
            del data["hint"]  # a hint is how to fix what is missing
        return data


def _score(results: Iterable[CheckResult]) -> tuple[int, int]:
    """(weight passed, weight applicable)."""
    passed = applicable = 0
    for result in results:
        if result.status != Status.NOT_APPLICABLE:
            applicable += result.check.weight
            if result.passed:
                passed += result.check.weight
    return passed, applicable


def _percent(passed: int, applicable: int) -> float:
    return round(100.0 * passed / applicable, 1) if applicable else 0.0


@dataclass(frozen=True)
class RecordReport:
    """The FAIR checklist of one record."""

    record_id: str
    source: str
    title: str
    results: tuple[CheckResult, ...]

    @property
    def weight_passed(self) -> int:
        return _score(self.results)[0]

    @property
    def weight_applicable(self) -> int:
        return _score(self.results)[1]

    @property
    def score(self) -> float:
        """Weighted share of the applicable checks that pass, in percent (one decimal)."""
        return _percent(*_score(self.results))

    def group_scores(self) -> dict[str, float]:
        """The score within each of F, A, I and R."""
        return {group: _percent(*_score(r for r in self.results if r.check.group == group)) for group in GROUPS}

    @property
    def missing(self) -> list[CheckResult]:
        return [result for result in self.results if result.failed]

    def result(self, check_id: str) -> CheckResult:
        for result in self.results:
            if result.check.id == check_id:
                return result
        raise KeyError(f"no FAIR check {check_id!r}; known: {', '.join(CHECKS_BY_ID)}")

    def to_json(self) -> dict[str, Any]:
        passed, applicable = _score(self.results)
        return {
            "id": self.record_id,
            "source": self.source,
            "title": self.title,
            "score": self.score,
            "weight_passed": passed,
            "weight_applicable": applicable,
            "scores_by_group": self.group_scores(),
            "checks": [result.to_json() for result in self.results],
            "missing": [result.check.id for result in self.missing],
        }


def assess(record: Record, checks: Iterable[Check] = CHECKS) -> RecordReport:
    """Run every check on a record."""
    return RecordReport(
        record_id=record.id,
        source=record.source,
        title=record.title,
        results=tuple(CheckResult(check, check.evaluate(record)) for check in checks),
    )


# -- one source -----------------------------------------------------------------------------------------------------

SCORE_BINS = tuple((low, low + 10) for low in range(0, 100, 10))
"""Score ranges of the distribution: [0, 10), [10, 20), … [90, 100]; a score of 100 falls in the last."""


def _bin(score: float) -> int:
    return min(int(score // 10), len(SCORE_BINS) - 1)


@dataclass
class CheckCounts:
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0


@dataclass
class SourceSummary:
    """The FAIR aggregate of one source, built one report at a time (constant memory whatever the source's size)."""

    source: str
    records: int = 0
    score_total: float = 0.0
    min_score: float | None = None
    max_score: float | None = None
    distribution: list[int] = field(default_factory=lambda: [0] * len(SCORE_BINS))
    checks: dict[str, CheckCounts] = field(default_factory=lambda: {check.id: CheckCounts() for check in CHECKS})

    def add(self, report: RecordReport) -> None:
        if report.source != self.source:
            raise ValueError(f"record {report.record_id} is from {report.source!r}, not {self.source!r}")
        score = report.score
        self.records += 1
        self.score_total += score
        self.min_score = score if self.min_score is None else min(self.min_score, score)
        self.max_score = score if self.max_score is None else max(self.max_score, score)
        self.distribution[_bin(score)] += 1
        for result in report.results:
            counts = self.checks.setdefault(result.check.id, CheckCounts())
            if result.status == Status.PASS:
                counts.passed += 1
            elif result.status == Status.FAIL:
                counts.failed += 1
            else:
                counts.not_applicable += 1

    @property
    def mean_score(self) -> float:
        return round(self.score_total / self.records, 1) if self.records else 0.0

    def most_missing(self, limit: int | None = None) -> list[tuple[Check, int]]:
        """Checks that failed, most often first (ties in report order), with how many records failed them."""
        order = {check.id: n for n, check in enumerate(CHECKS)}
        failing = [(CHECKS_BY_ID[i], c.failed) for i, c in self.checks.items() if c.failed and i in CHECKS_BY_ID]
        failing.sort(key=lambda item: (-item[1], order[item[0].id]))
        return failing[:limit] if limit is not None else failing

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "mean_score": self.mean_score,
            "min_score": self.min_score,
            "max_score": self.max_score,
            "distribution": [
                {"from": low, "to": high, "records": count}
                for (low, high), count in zip(SCORE_BINS, self.distribution, strict=True)
            ],
            "checks": [
                {
                    **check.describe(),
                    "passed": self.checks[check.id].passed,
                    "failed": self.checks[check.id].failed,
                    "not_applicable": self.checks[check.id].not_applicable,
                }
                for check in CHECKS
            ],
            "most_missing": [
                {
                    "check": check.id,
                    "principles": list(check.principles),
                    "label": check.label,
                    "records": count,
                    "share": round(count / self.records, 4),
                    "hint": check.hint,
                }
                for check, count in self.most_missing(limit)
            ],
        }


def summarise(records: Iterable[Record]) -> dict[str, SourceSummary]:
    """Per-source aggregates of a stream of records, in order of first appearance; nothing but counts is kept."""
    summaries: dict[str, SourceSummary] = {}
    for record in records:
        summary = summaries.get(record.source)
        if summary is None:
            summary = summaries[record.source] = SourceSummary(record.source)
        summary.add(assess(record))
    return summaries


def reports(records: Iterable[Record]) -> Iterator[RecordReport]:
    """A report per record, lazily."""
    return (assess(record) for record in records)
