"""What every connector provides, and what the harvester gives it.

A connector lists a source in pages of raw records. Each page carries a checkpoint: a small JSON-serialisable
dict from which the connector can resume *after* that page. The harvester commits a page's records, its changes
and its checkpoint in one transaction, so a crash loses at most the page in hand. Connectors never write storage.

Mapping is separate from fetching: `map_record` is a pure function of the raw bytes, so the harvester can re-map
everything from its raw store without a single request.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ontology import Provenance, Record


@dataclass(frozen=True)
class Limits:
    """How politely to treat a host: requests per minute, requests in flight, and request timeout in seconds."""

    requests_per_minute: float | None = None
    concurrency: int = 4
    timeout: float = 30.0
    max_retries: int = 6


@dataclass(frozen=True)
class SourceSpec:
    """A configured source: a name unique in the catalogue, a connector kind, a base URL and kind options."""

    name: str
    kind: str
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class RawRecord:
    """One record as the source sent it: the exact bytes the mapper reads, and where they came from."""

    native_id: str
    payload: bytes
    media_type: str
    url: str
    source_updated: str | None = None
    """The source's own modification stamp for this record, if it has one; kept to skip unchanged records."""
    validators: Mapping[str, str] | None = None
    """The HTTP validators the server sent with `payload` (`connectors.http.Validators.to_state()`: `etag`,
    `last_modified`). The catalogue keeps them with the record, in the transaction that stores the record, so a
    later run may ask "changed since?" (`HarvestState.validators`) and take a 304 for this very payload."""


@dataclass(frozen=True)
class Deletion:
    """The source says this record is gone (an OAI `status="deleted"` header, an HTTP 410, a tombstone)."""

    native_id: str
    reason: str


@dataclass
class Page:
    """One unit of harvest work, committed atomically with its checkpoint."""

    checkpoint: dict[str, Any]
    records: list[RawRecord] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    """Native ids listed by the source whose stamp equals ours: not fetched again, but seen in this listing."""
    deletions: list[Deletion] = field(default_factory=list)
    failures: list[FetchFailure] = field(default_factory=list)
    listing_complete: bool = False
    """Set on the last page of a run that listed *every* record of the source: what was not seen is gone."""
    requests: int = 0


@dataclass(frozen=True)
class FetchFailure:
    """A record the connector listed but could not fetch (after retries): the run goes on, the record is reported."""

    native_id: str
    url: str
    message: str


KnownStamps = Callable[[Sequence[str]], Mapping[str, str | None]]
"""Given native ids, the source stamps the catalogue holds for them (absent: a record we do not have)."""

KnownValidators = Callable[[Sequence[str]], Mapping[str, Mapping[str, str]]]
"""Given native ids, the HTTP validators stored with the records the catalogue holds for them, in the form
`RawRecord.validators` has. Absent: nothing to validate against (a record we do not have, a tombstone, a record
stored without validators or by another mapping version): fetch it unconditionally."""


@dataclass(frozen=True)
class HarvestState:
    """What the harvester knows when it starts a run of one source."""

    resume: dict[str, Any] | None = None
    """The checkpoint of an interrupted run: continue right after its last committed page."""
    previous: dict[str, Any] | None = None
    """The final checkpoint of the last completed run: its watermark makes this run incremental."""
    full: bool = False
    """Ignore `previous` and list everything (also detects deletions by disappearance)."""
    known: KnownStamps = field(default=lambda ids: {})
    validators: KnownValidators = field(default=lambda ids: {})
    """For conditional GET: a 304 to these validators means the catalogue's copy of the record is current. Ask
    for a page's ids at once (one query per page, not per record)."""
    limit: int | None = None
    """Stop after this many records (dry runs and samples)."""


class MappingError(ValueError):
    """A raw record that cannot become a model record. Names the field so a person can find the cause."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class Connector(abc.ABC):
    """A source kind. Subclasses declare their kind, their mapping version and how to list and map."""

    kind: ClassVar[str]
    mapping_version: ClassVar[str]
    default_url: ClassVar[str]
    """The real public endpoint, used by the default sources file."""

    def __init__(self, spec: SourceSpec, http: Any) -> None:
        self.spec = spec
        self.http = http

    @abc.abstractmethod
    def pages(self, state: HarvestState) -> Iterator[Page]:
        """List the source, page by page, starting after `state.resume` if given."""

    @classmethod
    @abc.abstractmethod
    def map_record(cls, raw: RawRecord, source: str) -> Record:
        """Map one raw record to the model. Pure: the same bytes give the same record. Raises `MappingError`."""


_REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector kind known to the harvester by its `kind`."""
    if cls.kind in _REGISTRY and _REGISTRY[cls.kind] is not cls:
        raise ValueError(f"two connectors claim the kind {cls.kind!r}: {_REGISTRY[cls.kind]} and {cls}")
    _REGISTRY[cls.kind] = cls
    return cls


def connector_kinds() -> dict[str, type[Connector]]:
    """Every registered connector kind (importing `connectors` registers the built-in ones)."""
    return dict(_REGISTRY)


def provenance_for(connector: type[Connector], raw: RawRecord, source: str) -> Provenance:
    """The provenance a mapper attaches: source, kind, URL, payload hash and mapping version (no run data)."""
    return Provenance(
        source=source,
        source_kind=connector.kind,
        source_url=raw.url,
        raw_sha256=hashlib.sha256(raw.payload).hexdigest(),
        mapping_version=connector.mapping_version,
    )
