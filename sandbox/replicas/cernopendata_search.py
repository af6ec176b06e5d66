"""The search behind `GET /api/records/`: query string, facet post-filters, aggregations, sorts, as the portal has them.

What the real service does, and so what this does (cernopendata-portal `config.py`, invenio-records-rest):

* `q` is an OpenSearch `query_string` with AND as default operator on `title.tokens` (and every other field).
  Understood here: `recid:[a TO b]` ranges (inclusive `[]`, exclusive `{}`, open `*`; recid is an integer field),
  `recid:N`, `doi:"…"`, `title:"…"` (title is a keyword field, so this is an exact match, as cernopendata-client
  relies on), `experiment:X`, and plain words, which must all occur among the title's tokens. Anything else (OR,
  NOT, parentheses, other fields) is refused with a 400 that says so, instead of silently answering wrongly.
* Post-filters (`experiment=`, `type=Dataset` or `type=Dataset::Simulated`, `year=`, `file_type=`, ...): several
  values of one filter are ORed, different filters ANDed. Aggregations are computed with the other facets' filters
  applied but not their own (`RECORDS_REST_FACETS_POST_FILTERS_PROPAGATE = True`), and come out flattened by
  `CODJSONSerializer` (empty `number_events` buckets removed).
* Records whose `distribution.availability` is `ondemand` are left out unless `ondemand=true` (or `ondemand`).
* Sorts: `bestmatch`, `mostrecent` (date_published then recid, descending), `title`, `title_desc`; a leading `-`
  reverses. Without `sort`: `bestmatch` when there is a query, `mostrecent` otherwise. An unknown sort is ignored.

Records are grouped by `Profile` (the tuple of their facet values), so filters and aggregations are evaluated once
per profile rather than once per record. A search without text or event-count conditions (every request of the
harvester's recid-window listing) never looks at a record: the base counts the profiles of a recid range from its
profile-id column (whole blocks from precomputed counts), totals and facets follow from those counts, and the hits
are looked up from the column only as far as the page asked for reaches (`OrderedHits`). Text and `number_events`
conditions are evaluated record by record over the recid range (`SearchEngine.record_by_record`), which is also the
reference the tests hold the counting to.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from sandbox.replicas.cernopendata_api import is_ondemand

TERM_FACETS = (
    "experiment",
    "year",
    "file_type",
    "collision_type",
    "collision_energy",
    "magnet_polarity",
    "stripping_stream",
    "stripping_version",
    "signature",
    "keywords",
    "collections",
    "tags",
)
NESTED_FACETS = {"type": "subtype", "category": "subcategory"}
TERMS_AGG_SIZE = {"year": 70, "file_type": 50}
AGGREGATIONS = (
    "type",
    "experiment",
    "year",
    "file_type",
    "collision_type",
    "collision_energy",
    "category",
    "magnet_polarity",
    "stripping_stream",
    "stripping_version",
    "number_events",
    "signature",
    "keywords",
)
POST_FILTERS = (*NESTED_FACETS, *TERM_FACETS, "number_events")
EVENT_RANGES: tuple[tuple[str, int, int | None], ...] = (
    ("0--999", 0, 1000),
    ("1000--9999", 1000, 10000),
    ("10000--99999", 10000, 100000),
    ("100000--999999", 100000, 1000000),
    ("1000000--9999999", 1000000, 10000000),
    (" 10000000--", 10000000, None),
)
SORTS = {"bestmatch", "mostrecent", "title", "title_desc"}
_DEFAULT_DESCENDING = {"bestmatch": False, "mostrecent": True, "title": False, "title_desc": True}


class QueryError(ValueError):
    """A `q` or parameter the replica cannot honour; answered as Invenio's 400."""


@dataclass(frozen=True)
class Profile:
    """A record's facet values, sort year and cold-storage flag: all that filters and aggregations read."""

    terms: tuple[tuple[str, ...], ...]
    """Values per facet, in `TERM_FACETS` order."""
    type: tuple[str, tuple[str, ...]] | None
    category: tuple[str, tuple[str, ...]] | None
    events_bucket: str | None
    ondemand: bool
    published: str

    def values(self, facet: str) -> tuple[str, ...]:
        return self.terms[TERM_FACETS.index(facet)]

    def nested(self, facet: str) -> tuple[str, tuple[str, ...]] | None:
        return self.type if facet == "type" else self.category


def _strings(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(str(v) for v in items if v is not None and str(v) != ""))


def _nested(value: Any) -> tuple[str, tuple[str, ...]] | None:
    if not isinstance(value, Mapping) or not value.get("primary"):
        return None
    return str(value["primary"]), _strings(value.get("secondary"))


def events_bucket(number_events: Any) -> str | None:
    if not isinstance(number_events, int) or isinstance(number_events, bool):
        return None
    for key, low, high in EVENT_RANGES:
        if number_events >= low and (high is None or number_events < high):
            return key
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def profile_of(fixture: Mapping[str, Any]) -> Profile:
    """The profile of a record fixture (the fields the portal's search mapping indexes for facets)."""
    distribution = _mapping(fixture.get("distribution"))
    collision = _mapping(fixture.get("collision_information"))
    stripping = _mapping(fixture.get("stripping"))
    values = {
        "experiment": _strings(fixture.get("experiment")),
        "year": _strings(fixture.get("date_created")),
        "file_type": _strings(distribution.get("formats")),
        "collision_type": _strings(collision.get("type")),
        "collision_energy": _strings(collision.get("energy")),
        "magnet_polarity": _strings(fixture.get("magnet_polarity")),
        "stripping_stream": _strings(stripping.get("stream")),
        "stripping_version": _strings(stripping.get("version")),
        "signature": _strings(fixture.get("signature")),
        "keywords": _strings(fixture.get("keywords")),
        "collections": _strings(fixture.get("collections")),
        "tags": _strings(fixture.get("tags")),
    }
    return Profile(
        terms=tuple(values[name] for name in TERM_FACETS),
        type=_nested(fixture.get("type")),
        category=_nested(fixture.get("categories")),
        events_bucket=events_bucket(distribution.get("number_events")),
        ondemand=is_ondemand(fixture),
        published=str(fixture.get("date_published") or ""),
    )


class SearchableBase(Protocol):
    """What the search reads of a record base, by base index (recids ascend with the index)."""

    def __len__(self) -> int: ...

    def recid_at(self, index: int) -> int: ...

    def profile_id_at(self, index: int) -> int: ...

    def profile_ids(self, start: int, stop: int) -> Sequence[int]: ...

    def profile_counts(self, start: int, stop: int) -> Counter[int]:
        """How many records of [start, stop) have each profile id."""
        ...

    def profile(self, profile_id: int) -> Profile: ...

    def title_at(self, index: int) -> str: ...

    def number_events_at(self, index: int) -> int | None: ...

    def find_doi(self, doi: str) -> int | None: ...


# -- the query string ---------------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r'\s*(?:(?P<field>[A-Za-z_][\w.]*):)?(?P<value>[\[{][^\]}]*[\]}]|"[^"]*"|[^\s"]+)',
)
_RANGE = re.compile(r"^(?P<open>[\[{])\s*(?P<low>\S+)\s+TO\s+(?P<high>\S+)\s*(?P<close>[\]}])$")
_WORD = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """The standard analyser's tokens, near enough: runs of word characters, lower-cased."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Query:
    recid_low: int | None = None
    recid_high: int | None = None
    """Inclusive recid bounds; None is open."""
    impossible: bool = False
    dois: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.titles or self.dois)


def _recid_bound(text: str, where: str) -> int | None:
    if text == "*":
        return None
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"recid {where} {text!r} is not an integer") from None


def parse_query(q: str | None) -> Query:
    """Parse `q`; raises `QueryError` for what the replica does not understand."""
    text = (q or "").strip()
    low: int | None = None
    high: int | None = None
    impossible = False
    dois: list[str] = []
    titles: list[str] = []
    words: list[str] = []
    experiments: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"cannot read the query from {text[position:]!r}")
        position = match.end()
        field_name, value = match.group("field"), match.group("value")
        if field_name is None and value in ("AND", "&&", "+"):
            continue
        if (field_name is None and value in ("OR", "NOT", "||", "!", "-")) or "(" in value or ")" in value:
            raise QueryError(f"the sandbox replica understands only AND queries, not {value!r}")
        unquoted = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if field_name is None:
            words.extend(tokens(unquoted.replace("\\/", "/")))
        elif field_name == "recid":
            bounds = _RANGE.match(value)
            if bounds:
                lo = _recid_bound(bounds.group("low"), "lower bound")
                hi = _recid_bound(bounds.group("high"), "upper bound")
                if lo is not None and bounds.group("open") == "{":
                    lo += 1
                if hi is not None and bounds.group("close") == "}":
                    hi -= 1
            else:
                lo = hi = _recid_bound(unquoted, "value")
            if lo is not None:
                low = lo if low is None else max(low, lo)
            if hi is not None:
                high = hi if high is None else min(high, hi)
        elif field_name == "doi":
            dois.append(unquoted.lower())
        elif field_name == "title":
            titles.append(unquoted.replace("\\/", "/"))
        elif field_name == "experiment":
            experiments.append(unquoted)
        else:
            raise QueryError(f"the sandbox replica does not search the field {field_name!r} (try recid, doi, title)")
    if low is not None and high is not None and low > high:
        impossible = True
    return Query(low, high, impossible, tuple(dois), tuple(titles), tuple(words), tuple(experiments))


# -- requests and results -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchRequest:
    query: Query
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ondemand: bool = False
    sort: str = "mostrecent"
    """A key of `SORTS`, `-` prefixed to reverse, or "" for index order (an unknown sort)."""


@dataclass
class SearchResult:
    hits: Sequence[int]
    """Base indices in the order asked for (a lazy `OrderedHits` for profile-counted searches)."""
    aggregations: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.hits)


def resolve_sort(sort: str | None, has_query: bool) -> str:
    if not sort:
        return "bestmatch" if has_query else "mostrecent"
    key = sort[1:] if sort.startswith("-") else sort
    return sort if key in SORTS else ""


def _filter_passes(name: str, values: Sequence[str], profile: Profile) -> bool:
    if name in NESTED_FACETS:
        nested = profile.nested(name)
        if nested is None:
            return False
        primary, secondaries = nested
        for value in values:
            top, sep, sub = value.partition("::")
            if top == primary and (not sep or sub in secondaries):
                return True
        return False
    have = profile.values(name)
    return any(v in have for v in values)


def _event_range_matches(values: Sequence[str], number_events: int | None) -> bool:
    if number_events is None:
        return False
    for value in values:
        if value.count("--") != 1 or value == "--":
            raise QueryError("number_events: Invalid range format.")
        start, end = value.split("--")
        ok = True
        if start:
            ok &= number_events > int(start[1:]) if start[0] == ">" else number_events >= int(start)
        if end:
            ok &= number_events < int(end[1:]) if end[0] == "<" else number_events <= int(end)
        if ok:
            return True
    return False


def _terms(counter: Counter[str], size: int = 10) -> dict[str, Any]:
    keys = sorted(counter)
    return {
        "buckets": [{"doc_count": counter[k], "key": k} for k in keys[:size]],
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": sum(counter[k] for k in keys[size:]),
    }


class SearchEngine:
    """Evaluates search requests over a base, minus deleted records, with a small cache of recent results."""

    def __init__(self, base: SearchableBase, cache_size: int = 32) -> None:
        self.base = base
        self._cache: OrderedDict[tuple[Any, ...], SearchResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def index_bounds(self, low: int | None, high: int | None) -> tuple[int, int]:
        """Base indices [start, stop) whose recids lie in [low, high] (bisection: recids ascend with the index)."""
        total = len(self.base)
        start = 0 if low is None else self._first_at_least(low, total)
        stop = total if high is None else self._first_at_least(high + 1, total)
        return start, max(start, stop)

    def _first_at_least(self, recid: int, total: int) -> int:
        lo, hi = 0, total
        while lo < hi:
            mid = (lo + hi) // 2
            if self.base.recid_at(mid) < recid:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def search(self, request: SearchRequest, deleted: frozenset[int], version: Any = None) -> SearchResult:
        key = (request, version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        result = self._run(request, deleted)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    # -- evaluation ----------------------------------------------------------------------------------------------
    def _run(self, request: SearchRequest, deleted: frozenset[int]) -> SearchResult:
        query = request.query
        active = _active_filters(request)
        if query.has_text or "number_events" in active:
            return self.record_by_record(request, deleted)
        return self._by_profile(request, deleted, active)

    def _by_profile(
        self, request: SearchRequest, deleted: frozenset[int], active: dict[str, tuple[str, ...]]
    ) -> SearchResult:
        """Counts per profile, never a record: what a recid window (the harvester's listing) is answered with.

        Only the hits of the page asked for are looked up, from the profile column, in the order asked for."""
        query = request.query
        start, stop = self.index_bounds(query.recid_low, query.recid_high)
        if query.impossible or start >= stop:
            return SearchResult([], {name: self._aggregate(name, {}, {}) for name in AGGREGATIONS})
        base = self.base
        in_range = base.profile_counts(start, stop)
        gone = sorted(i for i in deleted if start <= i < stop)
        for index in gone:
            in_range[base.profile_id_at(index)] -= 1
        profiles = {pid: base.profile(pid) for pid, n in in_range.items() if n > 0}
        groups = {
            pid: in_range[pid]
            for pid, profile in profiles.items()
            if (request.ondemand or not profile.ondemand)
            and all(e in profile.values("experiment") for e in query.experiments)
        }
        passes = {
            name: {pid: _filter_passes(name, values, profiles[pid]) for pid in groups}
            for name, values in active.items()
        }

        def counts(skip: str | None) -> dict[int, int]:
            """Records per profile passing every filter but `skip` (a facet counts without its own filter)."""
            tables = [table for name, table in passes.items() if name != skip]
            return {pid: n for pid, n in groups.items() if all(table[pid] for table in tables)}

        selected = counts(None)
        aggregations = {
            name: self._aggregate(name, counts(name) if name in passes else selected, profiles) for name in AGGREGATIONS
        }
        sort = request.sort
        key = sort.lstrip("-")
        descending = bool(sort) and _DEFAULT_DESCENDING[key] != sort.startswith("-")
        removed = frozenset(gone)

        def segment(pids: Iterable[int], reverse: bool) -> _Segment:
            wanted = frozenset(pids)
            return _Segment(base, start, stop, wanted, removed, reverse, sum(selected[pid] for pid in wanted))

        if key in ("title", "title_desc"):
            everything = segment(selected, False)
            return SearchResult(self._by_title(everything.take(everything.length), descending), aggregations)
        if key == "mostrecent":
            # date_published, then recid (which ascends with the index): one segment per publication year
            by_year: dict[str, list[int]] = {}
            for pid in selected:
                by_year.setdefault(profiles[pid].published, []).append(pid)
            segments = [segment(by_year[year], descending) for year in sorted(by_year, reverse=descending)]
        else:
            segments = [segment(selected, descending)]
        return SearchResult(OrderedHits(segments), aggregations)

    def record_by_record(self, request: SearchRequest, deleted: frozenset[int]) -> SearchResult:
        """Every record of the recid range evaluated in turn: for text and event-count conditions, and the reference
        the profile counting must equal."""
        query = request.query
        base = self.base
        groups: dict[int, list[int]] = {}
        profiles: dict[int, Profile] = {}
        words = set(query.words)
        for index, pid in self._candidates(query):
            if index in deleted:
                continue
            profile = profiles.get(pid)
            if profile is None:
                profile = profiles[pid] = base.profile(pid)
            if profile.ondemand and not request.ondemand:
                continue
            if query.experiments and not all(e in profile.values("experiment") for e in query.experiments):
                continue
            if query.titles or words:
                title = base.title_at(index)
                if query.titles and any(title != t for t in query.titles):
                    continue
                if words and not words.issubset(tokens(title)):
                    continue
            groups.setdefault(pid, []).append(index)

        active = _active_filters(request)
        passes = {
            name: {pid: _filter_passes(name, values, profiles[pid]) for pid in groups}
            for name, values in active.items()
            if name != "number_events"
        }
        events_ok: dict[int, list[int]] | None = None
        if "number_events" in active:
            values = active["number_events"]
            events_ok = {
                pid: [i for i in members if _event_range_matches(values, base.number_events_at(i))]
                for pid, members in groups.items()
            }

        def members(pid: int, skip: str | None) -> list[int]:
            if any(skip != name and not table[pid] for name, table in passes.items()):
                return []
            if events_ok is not None and skip != "number_events":
                return events_ok[pid]
            return groups[pid]

        by_year: dict[str, list[int]] = {}
        for pid in groups:
            by_year.setdefault(profiles[pid].published, []).extend(members(pid, None))
        aggregations = {
            name: self._aggregate(name, {pid: len(members(pid, name)) for pid in groups}, profiles)
            for name in AGGREGATIONS
        }
        return SearchResult(self._sorted(by_year, request, query), aggregations)

    def _candidates(self, query: Query) -> Iterable[tuple[int, int]]:
        """(base index, profile id) of the records the recid and DOI clauses allow."""
        start, stop = self.index_bounds(query.recid_low, query.recid_high)
        if query.impossible or start >= stop:
            return ()
        if query.dois:
            found = {self.base.find_doi(doi) for doi in query.dois}
            if len(found) != 1 or None in found:
                return ()
            (index,) = found
            if index is None or not start <= index < stop:
                return ()
            return ((index, self.base.profile_id_at(index)),)
        return zip(range(start, stop), self.base.profile_ids(start, stop), strict=True)

    @staticmethod
    def _aggregate(name: str, counts: Mapping[int, int], profiles: Mapping[int, Profile]) -> dict[str, Any]:
        """One facet's buckets from the number of matching records per profile."""
        doc_count = sum(counts.values())
        if name in NESTED_FACETS:
            top: Counter[str] = Counter()
            sub: dict[str, Counter[str]] = {}
            for pid, n in counts.items():
                nested = profiles[pid].nested(name)
                if n and nested is not None:
                    top[nested[0]] += n
                    below = sub.setdefault(nested[0], Counter())
                    for secondary in nested[1]:
                        below[secondary] += n
            body = _terms(top)
            for bucket in body["buckets"]:
                bucket[NESTED_FACETS[name]] = _terms(sub[bucket["key"]])
            return {"doc_count": doc_count, **body}
        if name == "number_events":
            by_range: Counter[str] = Counter()
            for pid, n in counts.items():
                bucket_key = profiles[pid].events_bucket
                if n and bucket_key is not None:
                    by_range[bucket_key] += n
            buckets = []
            for key, low, high in EVENT_RANGES:
                if by_range[key]:
                    entry: dict[str, Any] = {"doc_count": by_range[key], "from": float(low), "key": key}
                    if high is not None:
                        entry["to"] = float(high)
                    buckets.append(entry)
            return {"buckets": buckets, "doc_count": doc_count}
        position = TERM_FACETS.index(name)
        counter: Counter[str] = Counter()
        for pid, n in counts.items():
            if n:
                for value in profiles[pid].terms[position]:
                    counter[value] += n
        return {"doc_count": doc_count, **_terms(counter, TERMS_AGG_SIZE.get(name, 10))}

    def _by_title(self, hits: list[int], descending: bool) -> list[int]:
        titles = {i: self.base.title_at(i) for i in hits}
        return sorted(sorted(hits), key=lambda i: titles[i], reverse=descending)

    def _sorted(self, by_year: dict[str, list[int]], request: SearchRequest, query: Query) -> list[int]:
        """The hits (base indices grouped by date_published) in the requested order."""
        sort = request.sort
        key = sort.lstrip("-")
        descending = bool(sort) and _DEFAULT_DESCENDING[key] != sort.startswith("-")
        if key == "mostrecent":
            # date_published, then recid (which ascends with the index): year by year, no comparison of records
            ordered: list[int] = []
            for year in sorted(by_year, reverse=descending):
                ordered.extend(sorted(by_year[year], reverse=descending))
            return ordered
        hits = [i for members in by_year.values() for i in members]
        if key in ("title", "title_desc"):
            return self._by_title(hits, descending)
        if key == "bestmatch" and query.words:
            # every hit matched every term; shorter titles score higher (BM25 length norm), then index order
            lengths = {i: len(tokens(self.base.title_at(i))) for i in hits}
            return sorted(hits, key=lambda i: (lengths[i], i), reverse=descending)
        return sorted(hits, reverse=descending)


def _active_filters(request: SearchRequest) -> dict[str, tuple[str, ...]]:
    active = {name: values for name, values in request.filters if values}
    for name in active:
        if name not in POST_FILTERS:
            raise QueryError(f"unknown facet filter {name!r}")
    return active


# -- hits, looked up as pages ask for them --------------------------------------------------------------------------
_CHUNK = 2048


class _Segment:
    """The records of [start, stop) with a profile in `pids` (deleted ones left out), in index order or reversed.

    Its length is known from the profile counts; its members are looked up chunk by chunk, only as far as the pages
    asked for reach, so the first page of a million-record listing reads a few thousand profile ids, not all."""

    def __init__(
        self,
        base: SearchableBase,
        start: int,
        stop: int,
        pids: frozenset[int],
        deleted: frozenset[int],
        descending: bool,
        length: int,
    ) -> None:
        self.base = base
        self.start, self.stop = start, stop
        self.pids = pids
        self.deleted = deleted
        self.descending = descending
        self.length = length
        self.found: list[int] = []
        self._next = stop if descending else start
        """The next index to read: going down from `stop`, or up from `start`."""

    def take(self, count: int) -> list[int]:
        """The first `count` members (fewer if the segment is shorter)."""
        count = min(count, self.length)
        pids, deleted = self.pids, self.deleted
        while len(self.found) < count and self._unread():
            if self.descending:
                low = max(self.start, self._next - _CHUNK)
                chunk = zip(range(low, self._next), self.base.profile_ids(low, self._next), strict=True)
                found = [i for i, pid in chunk if pid in pids and i not in deleted]
                found.reverse()
                self._next = low
            else:
                high = min(self.stop, self._next + _CHUNK)
                chunk = zip(range(self._next, high), self.base.profile_ids(self._next, high), strict=True)
                found = [i for i, pid in chunk if pid in pids and i not in deleted]
                self._next = high
            self.found.extend(found)
        return self.found[:count]

    def _unread(self) -> bool:
        return self.start < self._next if self.descending else self._next < self.stop


class OrderedHits(Sequence[int]):
    """The hits of a search, segment after segment (one per publication year for `mostrecent`), looked up lazily.

    Thread-safe: a cached result is shared by the requests for its pages."""

    def __init__(self, segments: Sequence[_Segment]) -> None:
        self.segments = [s for s in segments if s.length]
        self._length = sum(s.length for s in self.segments)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, item: int) -> int: ...

    @overload
    def __getitem__(self, item: slice) -> list[int]: ...

    def __getitem__(self, item: int | slice) -> int | list[int]:
        if isinstance(item, slice):
            first, last, step = item.indices(self._length)
            if step != 1:
                return [self[i] for i in range(first, last, step)]
            return self._range(first, last)
        position = item + self._length if item < 0 else item
        if not 0 <= position < self._length:
            raise IndexError(f"hit {item} of {self._length}")
        return self._range(position, position + 1)[0]

    def _range(self, first: int, last: int) -> list[int]:
        out: list[int] = []
        offset = 0
        with self._lock:
            for segment in self.segments:
                if first < offset + segment.length and last > offset:
                    members = segment.take(last - offset)
                    out.extend(members[max(0, first - offset) :])
                offset += segment.length
                if offset >= last:
                    break
        return out
