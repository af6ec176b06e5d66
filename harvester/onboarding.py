"""Onboarding a source: probe an endpoint, propose its `[sources.NAME]` table, try a first page, append it.

`probe(url, kind=...)` asks the endpoint what a data manager would otherwise find out by hand (for OAI-PMH:
Identify, the metadata formats, the sets; for the portal kinds: what the URL names and how much there is), then
fetches a first page through the kind's own connector and maps it with the harvest's own mapping and validation gate
(`harvester.mapping.map_one`), so "it works" means what a harvest would do. The result is a `ProbeReport`: the
proposed source (kind, URL, options and limits, each with the reason it was chosen), what was found, what failed and
what was tried. `render_toml` writes the proposal as a commented TOML table; `append_source` adds it to a sources
file after the config loader has accepted the whole new file, never replacing a source of the same name.

The kind-specific work lives in `harvester.probe_oai` (OAI-PMH) and `harvester.probe_portals` (the portal APIs).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connectors import registry
from connectors.base import Connector, HarvestState, Limits, SourceSpec
from connectors.http import POLITE_REQUESTS_PER_MINUTE, POLITE_REQUESTS_PER_MINUTE_BY_HOST, HttpClient, HttpError
from harvester import config as sources_config
from harvester.catalogue import Mapped
from harvester.mapping import map_one

KIND_ALIASES = {"oai": "oaipmh", "oai-pmh": "oaipmh", "oai_pmh": "oaipmh", "dmdc": "gitlab", "cern": "cernopendata"}
"""What people type for a kind, beside the connector kinds themselves."""
SAMPLE_SIZE = 10
"""Records fetched and mapped to show that a proposed source works (a first page, at most)."""
PROBE_LIMITS = Limits(requests_per_minute=None, concurrency=2, timeout=20.0, max_retries=2)
"""A probe asks few questions and a person waits for the answer: a short timeout and few retries, so an
unreachable endpoint is reported in seconds, not after the harvest's minutes of backoff."""
INLINE_COMMENT = 70
"""Reasons up to this length trail their key; longer ones go on comment lines above it."""
NAME_NOISE = {"oai", "pmh", "oai-pmh", "prototype", "repository", "portal", "server", "service", "the", "provider"}
"""Words of a repository's name that say nothing about which source it is."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
UNKNOWN_HOST_RATE = 60
"""The rate proposed for a host whose limit nobody published: one request a second."""


class ProbeError(Exception):
    """The endpoint could not be probed at all: says what was tried and what to check."""

    def __init__(self, message: str, tried: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tried = list(tried or [])

    def __str__(self) -> str:
        if not self.tried:
            return self.message
        return self.message + "\ntried:\n" + "\n".join(f"  - {line}" for line in self.tried)


@dataclass
class Proposal:
    """The source a probe proposes, with the reason for each choice (rendered as TOML comments)."""

    name: str
    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    """Comments by key: `url`, `kind`, `options.<key>`, `limits.<key>`."""
    hints: list[str] = field(default_factory=list)
    """Commented-out lines worth knowing (`# sets = ["..."]`), written under the options table."""

    def spec(self, limits: Limits | None = None) -> SourceSpec:
        return SourceSpec(self.name, self.kind, self.url, dict(self.options), limits or PROBE_LIMITS)


@dataclass(frozen=True)
class SampleFailure:
    native_id: str
    stage: str
    field: str
    message: str


@dataclass
class Sample:
    """A first page fetched through the connector and mapped as a harvest would."""

    fetched: int = 0
    mapped: int = 0
    deleted: int = 0
    titles: list[tuple[str, str]] = field(default_factory=list)
    """(native id, title) of the first records that mapped."""
    failures: list[SampleFailure] = field(default_factory=list)
    error: str | None = None
    """Why no page could be fetched at all."""

    @property
    def works(self) -> bool:
        return self.error is None and self.mapped > 0


@dataclass
class ProbeReport:
    url: str
    kind: str
    proposal: Proposal
    found: list[tuple[str, str]] = field(default_factory=list)
    """(what, value) pairs: what the endpoint told us."""
    failed: list[str] = field(default_factory=list)
    """What went wrong or looks wrong (the proposal is still made when it can be)."""
    tried: list[str] = field(default_factory=list)
    """The requests that located the endpoint, with their outcome."""
    sample: Sample = field(default_factory=Sample)

    def note(self, what: str, value: Any) -> None:
        self.found.append((what, str(value)))

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "proposal": {
                "name": self.proposal.name,
                "kind": self.proposal.kind,
                "url": self.proposal.url,
                "options": self.proposal.options,
                "limits": self.proposal.limits,
                "why": self.proposal.why,
            },
            "toml": render_toml(self.proposal),
            "found": [{"what": w, "value": v} for w, v in self.found],
            "failed": self.failed,
            "tried": self.tried,
            "sample": {
                "fetched": self.sample.fetched,
                "mapped": self.sample.mapped,
                "deleted": self.sample.deleted,
                "titles": [{"native_id": n, "title": t} for n, t in self.sample.titles],
                "failures": [f.__dict__ for f in self.sample.failures],
                "error": self.sample.error,
                "works": self.sample.works,
            },
        }


# -- kinds and names ---------------------------------------------------------------------------------------------
def canonical_kind(kind: str) -> str:
    """A connector kind from what a person typed (`oai` → `oaipmh`); unknown kinds list the known ones."""
    wanted = kind.strip().lower()
    kinds = registry()
    wanted = KIND_ALIASES.get(wanted, wanted)
    if wanted not in kinds:
        known = sorted({*kinds, *KIND_ALIASES})
        raise ProbeError(f"unknown kind {kind!r}; known: {', '.join(known)}")
    return wanted


def suggest_name(label: str, kind: str, taken: Mapping[str, Any] | set[str] | None = None) -> str:
    """A source name from a repository name or host (`Zenodo` + oaipmh → `zenodo-oai`), unique among `taken`."""
    words = [w for w in re.split(r"[^a-z0-9]+", label.lower()) if w and w not in NAME_NOISE]
    slug = "-".join(words[:3])[:40].strip("-") or ("oai" if kind == "oaipmh" else kind)
    if kind == "oaipmh" and not slug.endswith("oai"):
        slug += "-oai"
    if not slug[0].isalnum():
        slug = kind + "-" + slug
    taken = set(taken or ())
    name, number = slug, 2
    while name in taken:
        name, number = f"{slug}-{number}", number + 1
    return name


def host_label(url: str) -> str:
    """The name a host goes by: `zenodo.org` → zenodo, `opendata.cern.ch` → opendata-cern, `www.hepdata.net` →
    hepdata; a loopback address is no name (empty)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_HOSTS or re.fullmatch(r"[\d.]+", host):
        return ""
    parts = [p for p in host.split(".") if p not in ("www", "api")]
    if len(parts) > 1:
        parts = parts[:-1]  # the top-level domain says nothing about the source
    return "-".join(parts)


def propose_limits(kind: str, url: str, proposal: Proposal, concurrency: int) -> None:
    """Polite limits: the host's published or customary rate, the kind's, a server on this machine unlimited, else
    one request a second; each with its reason."""
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK_HOSTS:
        proposal.limits["requests_per_minute"] = sources_config.UNLIMITED
        proposal.why["limits.requests_per_minute"] = "a server on this machine: yours to load"
    elif host in POLITE_REQUESTS_PER_MINUTE_BY_HOST:
        proposal.limits["requests_per_minute"] = POLITE_REQUESTS_PER_MINUTE_BY_HOST[host]
        proposal.why["limits.requests_per_minute"] = f"dmlake's polite default for {host}"
    elif kind in POLITE_REQUESTS_PER_MINUTE:
        proposal.limits["requests_per_minute"] = POLITE_REQUESTS_PER_MINUTE[kind]
        proposal.why["limits.requests_per_minute"] = f"dmlake's polite default for kind {kind}"
    else:
        proposal.limits["requests_per_minute"] = UNKNOWN_HOST_RATE
        proposal.why["limits.requests_per_minute"] = "no published limit known: one request a second"
    proposal.limits["concurrency"] = concurrency


# -- the first page ----------------------------------------------------------------------------------------------
def sample_first_page(proposal: Proposal, http: HttpClient, size: int = SAMPLE_SIZE) -> Sample:
    """Fetch up to `size` records through the kind's connector with the proposed options and map them."""
    connector_class = registry()[proposal.kind]
    sample = Sample()
    try:
        connector = connector_class(proposal.spec(), http)
    except (ValueError, TypeError) as error:
        sample.error = f"the proposed options are refused by the {proposal.kind} connector: {error}"
        return sample
    state = HarvestState(full=True, limit=size)
    retrieved = datetime.now(UTC)
    try:
        for raw in _first_records(connector, state, size, sample):
            outcome = map_one(connector_class, raw, proposal.name, 0, retrieved)
            if isinstance(outcome, Mapped):
                sample.mapped += 1
                if len(sample.titles) < 5:
                    sample.titles.append((raw.native_id, _title_of(outcome)))
            else:
                sample.failures.append(SampleFailure(raw.native_id, outcome.stage, outcome.field, outcome.message))
    except HttpError as error:
        sample.error = f"fetching the first page failed: {error}"
    except Exception as error:  # a connector's own refusal (OAI configuration, a listing it cannot do): report it
        sample.error = f"fetching the first page failed: {type(error).__name__}: {error}"
    return sample


def _first_records(connector: Connector, state: HarvestState, size: int, sample: Sample) -> Iterator[Any]:
    pages = connector.pages(state)
    try:
        for page in pages:
            sample.deleted += len(page.deletions)
            for failure in page.failures:
                sample.failures.append(SampleFailure(failure.native_id, "fetch", "(record)", failure.message))
            for raw in page.records:
                if sample.fetched >= size:
                    return
                sample.fetched += 1
                yield raw
            if sample.fetched >= size:
                return
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


def _title_of(mapped: Mapped) -> str:
    from harvester.codec import decode_record

    return decode_record(mapped.blob).title


# -- TOML --------------------------------------------------------------------------------------------------------
def toml_value(value: Any) -> str:
    """A TOML value: strings, numbers, booleans and flat lists of them (all a source table needs)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"a source option of type {type(value).__name__} cannot be written to a sources file")


def _line(key: str, value: Any, comment: str | None) -> str:
    text = f"{key} = {toml_value(value)}"
    if not comment:
        return text
    if len(comment) <= INLINE_COMMENT and len(text) < 40:
        return f"{text:<40} # {comment}"
    # a long reason reads better above its key than trailing off the screen
    return "\n".join(f"# {part}" for part in textwrap.wrap(comment, 116)) + "\n" + text


def render_toml(proposal: Proposal, header: list[str] | None = None) -> str:
    """The proposed `[sources.NAME]` table (with options and limits), every choice commented."""
    name = proposal.name
    lines = [f"# {line}" if line else "#" for line in header or []]
    lines.append(f"[sources.{name}]")
    lines.append(_line("kind", proposal.kind, proposal.why.get("kind")))
    lines.append(_line("url", proposal.url, proposal.why.get("url")))
    if proposal.options or proposal.hints:
        lines.append(f"[sources.{name}.options]")
        for key, value in proposal.options.items():
            lines.append(_line(key, value, proposal.why.get(f"options.{key}")))
        lines += [f"# {hint}" for hint in proposal.hints]
    if proposal.limits:
        lines.append(f"[sources.{name}.limits]")
        for key, value in proposal.limits.items():
            lines.append(_line(key, value, proposal.why.get(f"limits.{key}")))
    return "\n".join(lines) + "\n"


# -- writing -----------------------------------------------------------------------------------------------------
class SourceExists(ValueError):
    """The sources file already has a source of that name: nothing is replaced."""


def append_source(path: Path, proposal: Proposal, header: list[str] | None = None, seed_text: str = "") -> str:
    """Append the proposal to the sources file at `path` (created, from `seed_text`, if missing) and return the
    text appended. The whole new file is validated by the config loader first, and the connector must accept the
    options; the file is replaced atomically, so a refusal or a crash leaves it as it was."""
    kinds = sorted(registry())
    existing = path.read_text(encoding="utf-8") if path.exists() else seed_text
    if existing.strip():
        try:
            current = sources_config.parse(existing, str(path), kinds)
        except sources_config.ConfigError as error:
            raise sources_config.ConfigError(f"{error} (fix the file before adding a source to it)") from None
        if proposal.name in current.sources:
            raise SourceExists(
                f"{path} already has a source named {proposal.name!r}; nothing was written. Choose another name "
                f"with --name, or edit [sources.{proposal.name}] by hand."
            )
    snippet = render_toml(proposal, header)
    separator = "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    text = existing + separator + snippet
    parsed = sources_config.parse(text, str(path), kinds)
    check_connector_accepts(parsed.sources[proposal.name].spec)
    _replace_atomically(path, text)
    return snippet


def check_connector_accepts(spec: SourceSpec) -> None:
    """Build the kind's connector from the spec: its option checks run there (unknown options, bad values)."""
    with HttpClient(PROBE_LIMITS) as http:
        try:
            registry()[spec.kind](spec, http)
        except (ValueError, TypeError) as error:
            raise sources_config.ConfigError(f"source {spec.name!r} ({spec.kind}): {error}") from None


def _replace_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- the entry point ---------------------------------------------------------------------------------------------
def probe(
    url: str,
    kind: str | None = None,
    *,
    name: str | None = None,
    options: Mapping[str, Any] | None = None,
    taken: set[str] | None = None,
    http: HttpClient | None = None,
    sample_size: int = SAMPLE_SIZE,
) -> ProbeReport:
    """Probe `url` as a source of `kind` (detected when None) and propose its configuration.

    Raises `ProbeError` when the endpoint cannot be reached or is not of the kind (saying what was tried)."""
    from harvester import probe_oai, probe_portals

    if not re.match(r"^https?://[^\s/]+", url.strip()):
        raise ProbeError(f"{url!r} is not an http(s) URL: give the endpoint's address, e.g. https://zenodo.org/oai2d")
    own = http is None
    client = http or HttpClient(PROBE_LIMITS)
    try:
        chosen = canonical_kind(kind) if kind else probe_portals.detect_kind(url.strip(), client)
        prober = probe_oai.probe_oai if chosen == "oaipmh" else probe_portals.probe_portal
        report = prober(url.strip(), chosen, dict(options or {}), client)
        report.proposal.name = name or suggest_name(
            report.proposal.name or host_label(report.proposal.url), chosen, taken
        )
        report.sample = sample_first_page(report.proposal, client, sample_size)
        if report.sample.error:
            report.failed.append(report.sample.error)
        elif report.sample.fetched == 0:
            report.failed.append("the first page listed no records: check the options (sets, community, group)")
        elif report.sample.mapped == 0:
            report.failed.append(f"none of the {report.sample.fetched} records of the first page mapped")
        return report
    finally:
        if own:
            client.close()
