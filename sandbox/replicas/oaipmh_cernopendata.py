"""CERN Open Data over OAI-PMH (`/oai2d`, invenio-oaiserver 3.2 in cernopendata-portal), from the corpus or generated.

What the portal serves, from its source (github.com/cernopendata/cernopendata-portal):

* Identifiers `oai:cernopendata.cern:<recid>`: the recid minter (`modules/records/minters/recid.py`) writes
  `pids.oai.id` and registers that OAI id, whatever `OAISERVER_ID_PREFIX` (`oai:opendata.cern.ch:recid/`) says;
  live data agrees (recid 84000, MANIFEST §1b). Only records with `pids.oai.id` are listed
  (`modules/records/oai/query.py`), i.e. every record the portal loads.
* `oai_dc` as the portal's dumper (`modules/records/serializers/dublincore.py`) writes it through dcxml's `simpledc`:
  `dc:title`, `dc:creator` (the collaboration's name), `dc:date` (`date_published`), `dc:type` (the primary type),
  `dc:identifier` (the OAI id), `dc:publisher` "CERN Open Data", `dc:format` per `distribution.formats` and
  `dc:description` (the abstract, HTML as stored), in simpledc's element order, empty values left out. The dumper
  reads `collaboration.name` and `distribution` without a guard, so on the live portal a record without them (1,643
  and 4,176 of the corpus's) would fail its page; the replica leaves the element out instead, so a harvest can be
  tested at all (a deliberate difference).
* invenio-oaiserver's defaults where the portal sets nothing: repository name `THEME_SITENAME` ("CERN Open Data
  Portal"), admin e-mail `info@inveniosoftware.org`, 10 records per page, resumption tokens living 60 s, second
  granularity, `deletedRecord` `no`, no XSL stylesheet, errors as HTTP 422 in invenio's envelope (the same software
  as Zenodo's: `badArgument` "metadataPrefix does not exist" for an unknown prefix), listing in search-index order
  (recid order here) rather than by datestamp; the earliest datestamp is the earliest record's creation.
* Sets: invenio's `OAISet`s are search patterns; a set per experiment (spec = the portal's `experiment` facet value,
  pattern `experiment:<name>`), so a record lists every experiment it names as a setSpec. On the corpus that gives
  CMS 6,993 · ATLAS 172 · ALICE 161 · LHCb 119 · DELPHI 1: recid 416 (the LHC experiments' joint data policy)
  names ALICE, ATLAS, CMS and LHCb and is in all four sets, and DELPHI's datasets are not in this copy of the corpus,
  only its data-policy record (recid 417, `data-policies.json`).

Datestamps are the REST replica's `updated` stamps (`cernopendata_api.fixture_stamps`, or the generator's), so a
record has the same last change over REST and OAI-PMH. Edits through `/_sandbox/edit` revise the record as the REST
replica does (a "metadata revision" paragraph in the abstract) and re-render its `oai_dc`.

Generated: the REST replica's generator (`cernopendata_generator.GeneratedCernBase`), record i built only when listed;
set counts come from the generator's profile column (one small integer per record), so `completeListSize` of a
million-record listing costs a few block counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sandbox.replicas.cernopendata import CernBase, CorpusCernBase
from sandbox.replicas.cernopendata import revise as revise_fixture
from sandbox.replicas.cernopendata_api import OAI_PREFIX
from sandbox.replicas.cernopendata_generator import GeneratedCernBase
from sandbox.replicas.oaipmh import OAI_DC, SECONDS, OaiBaseDefaults, OaiPmhReplica, RepositoryProfile, stamp_text
from sandbox.store import ReplicaStore

CERN_OAI = RepositoryProfile(
    name="CERN Open Data Portal",
    path="/oai2d",
    admin_email="info@inveniosoftware.org",
    formats=(OAI_DC,),
    granularity=SECONDS,
    deleted_record="no",
    error_status=422,
    unknown_prefix=("badArgument", "metadataPrefix does not exist"),
    page_size=10,
    set_page_size=10,
    order="index",
    token_lifetime=60.0,
    stylesheet=None,
)
PUBLISHER = "CERN Open Data"
DC_OPEN = (
    '<oai_dc:dc xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd">'
)
# characters XML 1.0 cannot carry (lxml refuses them, so the live serializer could not send them either)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def oai_identifier(recid: str) -> str:
    return f"{OAI_PREFIX}{recid}"


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value)) if value is not None else ""


def dublin_core(fixture: Mapping[str, Any], identifier: str) -> str:
    """The portal's `dumps_etree` for a record, as simpledc writes it (elements in simpledc's rule order)."""
    collaboration = fixture.get("collaboration")
    distribution = fixture.get("distribution")
    abstract = fixture.get("abstract")
    kind = fixture.get("type")
    fields: dict[str, list[Any]] = {
        "creator": [collaboration.get("name")] if isinstance(collaboration, Mapping) else [],
        "date": [fixture.get("date_published")],
        "description": [abstract.get("description")] if isinstance(abstract, Mapping) else [],
        "format": list(distribution.get("formats") or []) if isinstance(distribution, Mapping) else [],
        "identifier": [identifier],
        "publisher": [PUBLISHER],
        "title": [fixture.get("title")],
        "type": [kind.get("primary")] if isinstance(kind, Mapping) else [],
    }
    parts = [DC_OPEN]
    for element, values in fields.items():
        for value in values:
            text = _text(value)
            if text:  # simpledc skips empty values
                parts.append(f"<dc:{element}>{escape(text)}</dc:{element}>")
    parts.append("</oai_dc:dc>")
    return "".join(parts)


class CernOaiBase(OaiBaseDefaults):
    """A CERN record base (corpus or generated) seen through the OAI server: ids, experiment sets, `oai_dc`."""

    def __init__(self, base: CernBase) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def native_id(self, index: int) -> str:
        return oai_identifier(self.base.native_id(index))

    def index_of(self, native_id: str) -> int | None:
        if not native_id.startswith(OAI_PREFIX):
            return None
        return self.base.index_of(native_id[len(OAI_PREFIX) :])

    def updated(self, index: int) -> datetime:
        return self.base.updated(index)

    def record(self, index: int) -> dict[str, Any]:
        # a search hit holds every field the dumper reads (the generator's light record skips file names only)
        fixture = self.base.hit_record(index)
        identifier = self.native_id(index)
        return {
            "identifier": identifier,
            "sets": list(self.sets_of(index)),
            "fixture": fixture,
            "bodies": {"oai_dc": dublin_core(fixture, identifier)},
        }

    def sets_of(self, index: int) -> tuple[str, ...]:
        return self.base.profile(self.base.profile_id_at(index)).values("experiment")

    def formats_of(self, index: int) -> frozenset[str]:
        return frozenset(("oai_dc",))

    @property
    def monotonic(self) -> bool:
        return False  # recid order; stamps follow publication years, not recids

    def count(self, lo: int, hi: int, set_spec: str | None, prefixes: frozenset[str]) -> int | None:
        if "oai_dc" not in prefixes:
            return 0
        if set_spec is None:
            return max(0, hi - lo)
        counts = self.base.profile_counts(lo, hi)
        return sum(n for pid, n in counts.items() if _in_set(self.base.profile(pid).values("experiment"), set_spec))

    def experiments(self) -> list[str]:
        """Every experiment some record names (one set each), in the portal's facet order (by name)."""
        found = {
            e
            for pid in self.base.profile_counts(0, len(self.base))
            for e in self.base.profile(pid).values("experiment")
        }
        return sorted(found, key=str.lower)

    def earliest(self) -> datetime:
        """A lower bound of every datestamp (invenio: the earliest record's creation)."""
        if isinstance(self.base, GeneratedCernBase):
            # created falls in the record's publication year: the earliest year present bounds them all, uncomputed
            years = {int(self.base.profile(pid).published) for pid in self.base.profile_counts(0, len(self.base))}
            return datetime(min(years, default=2024), 1, 1, tzinfo=UTC)
        return min((self.base.created(i) for i in range(len(self.base))), default=datetime(2024, 1, 1, tzinfo=UTC))


def _in_set(specs: Sequence[str], wanted: str) -> bool:
    return any(spec == wanted or spec.startswith(wanted + ":") for spec in specs)


def revise(record: dict[str, Any], revision: int, when: datetime) -> dict[str, Any]:
    """An edited record: revised as the REST replica revises it, then dumped again."""
    fixture = revise_fixture(dict(record["fixture"]), revision, when)
    record["fixture"] = fixture
    record["bodies"] = {"oai_dc": dublin_core(fixture, record["identifier"])}
    return record


class CernOpenDataOaiReplica(OaiPmhReplica):
    profile = CERN_OAI

    def __init__(self, base: CernBase, sets: Sequence[str] = ()) -> None:
        oai = CernOaiBase(base)
        experiments = oai.experiments()
        profile = replace(
            CERN_OAI,
            sets=tuple((name, name) for name in experiments),
            earliest_datestamp=stamp_text(oai.earliest(), SECONDS),
        )
        super().__init__(ReplicaStore(oai, revise), profile)
        self.harvest_sets = tuple(sets)
        self._counted: dict[tuple[Any, ...], int] = {}

    def source_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"profile": "cernopendata", "metadata_prefix": "oai_dc"}
        if self.harvest_sets:
            options["sets"] = list(self.harvest_sets)
        return options

    @classmethod
    def from_corpus(cls, corpus: Path) -> CernOpenDataOaiReplica | None:
        base = CorpusCernBase.load(corpus / "cernopendata" / "records")
        return None if base is None else cls(base)

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> CernOpenDataOaiReplica:
        base = GeneratedCernBase(count, seed)
        base.fill()  # the profile column: set counts and the earliest year without building records
        return cls(base)

    def _count(
        self, prefix: str, set_spec: str | None, lower: datetime | None, upper: datetime | None, headers_only: bool
    ) -> int:
        if lower is None and upper is None:
            # index order and no range: every base record is listed, live, edited or deleted, in its own sets
            total = self.oai_base.count(0, len(self.store.base), set_spec, frozenset({prefix}))
            assert total is not None
            return total
        # a range over stamps that do not follow the index is counted record by record: once per request and overlay
        overlay = tuple((item.index, item.stamp, item.deleted) for item in self._overlay())
        key = (prefix, set_spec, lower, upper, headers_only, overlay)
        if key not in self._counted:
            if len(self._counted) > 64:
                self._counted.clear()
            self._counted[key] = super()._count(prefix, set_spec, lower, upper, headers_only)
        return self._counted[key]
