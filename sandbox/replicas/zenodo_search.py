"""`GET /api/records` for the Zenodo replica: match, count, sort, page and aggregate over a `ReplicaStore`.

Two ways to answer, with the same results:

* the corpus is evaluated record by record on every request (`Searcher.record_by_record`): simple and exact;
* a generated base, whatever its size, is answered by arithmetic. Its records' facets repeat with a fixed period
  and its stamps grow with the index, so a query splits into date ranges (→ an index interval found by
  bisection) and a condition on facets (→ the residues of the period that satisfy it). Counting and the
  aggregations then cost O(period), and a page sorted on a stamp (`updated`, `created`, `publication_date`: every
  sort a harvester uses) is found by counting, whatever its number, in O(page × log N). A condition that needs
  the records' text (a free-text query) falls back to one cached scan; sorts on views or version sort all hits.

The overlay of edits and deletions is applied on top: edited, deleted and re-crowned records (the new latest
version when the latest one was deleted) are taken out of the arithmetic and evaluated one by one, so a request
costs O(period + overlay) — the harvester's `updated:["<stamp>" TO *]` keyset pages included.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.replicas.zenodo_generate import FAMILY_BLOCK, PERIOD, GeneratedBase, Pattern
from sandbox.replicas.zenodo_query import Doc, Node, Range, conjoin, conjuncts, parse_instant
from sandbox.replicas.zenodo_records import Facts, ZenodoBase
from sandbox.replicas.zenodo_shapes import RESOURCE_TYPES, community_uuid
from sandbox.store import Entry, ReplicaStore

MONOTONIC_FIELDS = frozenset({"updated", "created", "publication_date"})
PERIODIC_FIELDS = frozenset({"communities", "type", "resource_type", "access", "keywords", "file_types", "is_latest"})
_EVER = datetime(1970, 1, 1, tzinfo=UTC)

SORTS: dict[str, tuple[str, bool]] = {
    "bestmatch": ("created", True),
    "newest": ("created", True),
    "mostrecent": ("created", True),
    "oldest": ("created", False),
    "updated-desc": ("updated", True),
    "updated-asc": ("updated", False),
    "publication-desc": ("publication_date", True),
    "publication-asc": ("publication_date", False),
    "mostviewed": ("views", True),
    "version": ("version_index", True),
    "conference-desc": ("created", True),
    "journal-desc": ("created", True),
}
"""Sort options Zenodo accepts, as (key, descending). Without a text query `bestmatch` ranks nothing: newest first."""

ACCESS_LABELS = {"open": "Open", "embargoed": "Embargoed", "restricted": "Restricted", "metadata-only": "Metadata-only"}


@dataclass(frozen=True)
class SearchRequest:
    query: Node
    sort: str
    page: int
    size: int
    selected: dict[str, frozenset[str]] = field(default_factory=dict)
    """Facet values the request filtered on (the buckets answer `is_selected`)."""


@dataclass
class SearchResult:
    total: int
    entries: list[Entry]
    aggregations: dict[str, Any]


# -- documents ---------------------------------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")


class FactsDoc(Doc):
    """A record as the query sees it: facts first, the record itself only when a text field is asked for."""

    def __init__(self, facts: Facts, updated: datetime, is_latest: bool, load: Callable[[], dict[str, Any]]) -> None:
        self.facts = facts
        self.updated = updated
        self.is_latest = is_latest
        self._load = load
        self._rdm: dict[str, Any] | None = None

    def rdm(self) -> dict[str, Any]:
        if self._rdm is None:
            self._rdm = self._load()["rdm"]
        return self._rdm

    def keywords(self, field: str) -> tuple[str, ...]:
        f = self.facts
        if field == "is_latest":
            return ("true",) if self.is_latest else ("false",)
        if field == "type":
            return (f.type,)
        if field == "resource_type":
            return (f.resource_type,)
        if field == "access":
            return (f.access,)
        if field == "communities":
            return f.communities
        if field == "keywords":
            return f.keywords
        if field == "file_types":
            return f.file_types
        if field == "doi":
            return (f.doi,) if f.doi else ()
        if field == "conceptdoi":
            return tuple(x for x in (f.conceptdoi, str(f.parent)) if x)
        if field == "version":
            version = (self.rdm().get("metadata") or {}).get("version")
            return (str(version),) if version else ()
        return ()

    def text(self, field: str) -> str:
        md = self.rdm().get("metadata") or {}
        if field == "title":
            return str(md.get("title") or "")
        if field == "description":
            return _TAGS.sub(" ", str(md.get("description") or ""))
        if field == "creators":
            return " ".join(str((c.get("person_or_org") or {}).get("name", "")) for c in md.get("creators") or [])
        if field == "affiliations":
            return " ".join(
                str(a.get("name", "")) for c in md.get("creators") or [] for a in c.get("affiliations") or []
            )
        if field == "filenames":
            return " ".join(((self.rdm().get("files") or {}).get("entries") or {}).keys())
        if field == "version":
            return str(md.get("version") or "")
        if field == "_all":
            parts = [self.text(n) for n in ("title", "description", "creators")]
            return " ".join([*parts, *self.facts.keywords, self.facts.doi or "", str(self.facts.recid)])
        return ""

    def instant(self, field: str) -> datetime | None:
        if field == "updated":
            return self.updated
        if field == "created":
            return self.facts.created
        if field == "publication_date":
            return parse_instant(self.facts.publication_date)
        return None

    def number(self, field: str) -> int | None:
        if field == "id":
            return self.facts.recid
        if field == "parent":
            return self.facts.parent
        if field == "version_index":
            return self.facts.version_index
        return None


class PatternDoc(Doc):
    """What every record of one residue of a generated base has in common."""

    def __init__(self, pattern: Pattern, slugs_and_ids: tuple[str, ...]) -> None:
        self.pattern = pattern
        self.communities = slugs_and_ids

    def keywords(self, field: str) -> tuple[str, ...]:
        p = self.pattern
        values: dict[str, tuple[str, ...]] = {
            "is_latest": ("true",) if p.is_last_version else ("false",),
            "type": (p.resource_type.split("-")[0],),
            "resource_type": (p.resource_type,),
            "access": (p.access,),
            "communities": self.communities,
            "keywords": p.keywords,
            "file_types": p.file_types if p.access == "open" else (),
        }
        return values.get(field, ())

    def text(self, field: str) -> str:
        raise AssertionError(f"{field} is not a periodic field")

    def instant(self, field: str) -> datetime | None:
        raise AssertionError(f"{field} is not a periodic field")

    def number(self, field: str) -> int | None:
        return self.pattern.version_index if field == "version_index" else None


# -- match sets --------------------------------------------------------------------------------------------------


class PeriodicMatches:
    """The indices in [lo, hi) whose residue modulo `period` is one of `residues`, in index order."""

    def __init__(self, lo: int, hi: int, residues: Sequence[int], period: int) -> None:
        self.lo, self.hi = lo, max(lo, hi)
        self.residues = list(residues)
        self.set = frozenset(residues)
        self.period = period
        self.offset = self._before(self.lo)
        self.length = self._before(self.hi) - self.offset

    def _before(self, n: int) -> int:
        full, rest = divmod(n, self.period)
        return full * len(self.residues) + bisect_left(self.residues, rest)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k: int) -> int:
        block, position = divmod(self.offset + k, len(self.residues))
        return block * self.period + self.residues[position]

    def rank(self, index: int) -> int:
        """How many matches lie below `index`."""
        return self._before(min(max(index, self.lo), self.hi)) - self.offset

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and self.lo <= index < self.hi and index % self.period in self.set

    def iterate(self, descending: bool) -> Iterator[int]:
        positions = range(self.length - 1, -1, -1) if descending else range(self.length)
        return (self[k] for k in positions)


class ListMatches:
    """Matching indices held in a sorted list."""

    def __init__(self, indices: Sequence[int]) -> None:
        self.indices = indices
        self._set = set(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> int:
        return self.indices[k]

    def rank(self, index: int) -> int:
        """How many matches lie below `index`."""
        return bisect_left(self.indices, index)

    def __contains__(self, index: object) -> bool:
        return index in self._set

    def iterate(self, descending: bool) -> Iterator[int]:
        return reversed(self.indices) if descending else iter(self.indices)


# -- the searcher ------------------------------------------------------------------------------------------------


@dataclass
class Overlay:
    """The store's edits and deletions as the search reads them."""

    edited: dict[int, Entry]
    deleted: set[int]
    promoted: set[int]

    def updated(self, base: ZenodoBase, index: int) -> datetime:
        entry = self.edited.get(index)
        return entry.updated if entry is not None else base.updated(index)

    def is_latest(self, base: ZenodoBase, index: int) -> bool:
        if index in self.deleted:
            return False
        return index in self.promoted or base.facts(index).is_latest


class Searcher:
    def __init__(self, store: ReplicaStore, base: ZenodoBase) -> None:
        self.store = store
        self.base = base
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    # -- the overlay ---------------------------------------------------------------------------------------------
    def overlay(self) -> Overlay:
        """The edits and deletions as the search sees them (compute once per request: it reads the whole overlay)."""
        edited = {e.index: e for e in self.store.changed_since(_EVER)}
        deleted = {i for n, _ in self.store.deleted_since(_EVER) if (i := self.base.index_of(n)) is not None}
        promoted: set[int] = set()
        for index in deleted:
            if not self.base.facts(index).is_latest:
                continue
            live = [i for i in self.base.family(index) if i not in deleted]
            if live and not self.base.facts(live[-1]).is_latest:
                promoted.add(live[-1])
        return Overlay(edited, deleted, promoted)

    def doc(self, index: int, overlay: Overlay) -> FactsDoc:
        entry = overlay.edited.get(index)
        facts = self.base.facts(index)

        def load() -> dict[str, Any]:
            live = entry or self.store.entry(index)
            return self.store.record(live) if live is not None else self.base.record(index)

        return FactsDoc(facts, overlay.updated(self.base, index), overlay.is_latest(self.base, index), load)

    def live_family(self, index: int) -> list[int]:
        """A record's live versions, oldest first."""
        deleted = self.overlay().deleted
        return [i for i in self.base.family(index) if i not in deleted]

    def is_latest(self, index: int, overlay: Overlay | None = None) -> bool:
        return (overlay or self.overlay()).is_latest(self.base, index)

    # -- searching -----------------------------------------------------------------------------------------------
    def search(self, request: SearchRequest, overlay: Overlay | None = None) -> SearchResult:
        overlay = overlay or self.overlay()
        if isinstance(self.base, GeneratedBase):
            return self._arithmetic(request, overlay, self.base)
        return self.record_by_record(request, overlay)

    def _sort_key(self, sort: str, overlay: Overlay) -> tuple[Callable[[int], Any], bool]:
        name, descending = SORTS[sort]
        base = self.base

        def key(index: int) -> Any:
            if name == "updated":
                return (overlay.updated(base, index), index)
            facts = base.facts(index)
            if name == "publication_date":
                return (facts.publication_date, facts.created, index)
            if name in ("views", "version_index"):
                return (getattr(facts, name), facts.created, index)
            return (facts.created, index)

        return key, descending

    def record_by_record(self, request: SearchRequest, overlay: Overlay) -> SearchResult:
        """Every live record evaluated in turn: the corpus's way, and the reference the arithmetic must equal."""
        matches = [e.index for e in self.store.entries() if request.query.matches(self.doc(e.index, overlay))]
        key, descending = self._sort_key(request.sort, overlay)
        matches.sort(key=key, reverse=descending)
        start = (request.page - 1) * request.size
        page = matches[start : start + request.size]
        counts = _Counts()
        for index in matches:
            counts.add(self.base.facts(index))
        return SearchResult(len(matches), self._entries(page), counts.render(request.selected))

    def _entries(self, indices: Iterable[int]) -> list[Entry]:
        return [e for i in indices if (e := self.store.entry(i)) is not None]

    def _arithmetic(self, request: SearchRequest, overlay: Overlay, base: GeneratedBase) -> SearchResult:
        lo, hi, rest = self._index_interval(request.query, base)
        tail = set(range(max(0, len(base) - FAMILY_BLOCK), len(base)))
        touched = sorted(set(overlay.edited) | overlay.deleted | overlay.promoted | tail)
        matches: PeriodicMatches | ListMatches
        if rest.fields() <= PERIODIC_FIELDS:
            matches = PeriodicMatches(lo, hi, self._residues(rest, base), PERIOD)
        else:
            scanned = self._scan(rest, base)
            matches = ListMatches(scanned[bisect_left(scanned, lo) : bisect_left(scanned, hi)])
        # touched records are taken out of the arithmetic and evaluated one by one, with their overlay state
        extras = [i for i in touched if i not in overlay.deleted and request.query.matches(self.doc(i, overlay))]
        touched_matches = [i for i in touched if i in matches]
        total = len(matches) - len(touched_matches) + len(extras)

        start = (request.page - 1) * request.size
        stop = min(start + request.size, total)
        name, descending = SORTS[request.sort]
        key, _ = self._sort_key(request.sort, overlay)
        if name in MONOTONIC_FIELDS:
            ordered = _MergedOrder(matches, touched_matches, extras, key, _base_key(base, name), len(base), descending)
            page = [ordered.at(position) for position in range(start, stop)]
        else:
            touched_set = set(touched)
            stream = (i for i in matches.iterate(descending) if i not in touched_set)
            page = sorted([*stream, *extras], key=key, reverse=descending)[start:stop]

        counts = _Counts()
        if isinstance(matches, PeriodicMatches):
            self._count_periodic(counts, matches, rest, base)
        else:
            for index in matches.indices:
                counts.add(base.facts(index))
        for index in touched_matches:
            counts.add(base.facts(index), -1)
        for index in extras:
            counts.add(base.facts(index))
        return SearchResult(total, self._entries(page), counts.render(request.selected))

    def _index_interval(self, query: Node, base: GeneratedBase) -> tuple[int, int, Node]:
        """Date ranges ANDed at the top of the query, as an index interval; and the rest of the query."""
        lo, hi = 0, len(base)
        rest: list[Node] = []
        for part in conjuncts(query):
            found = part.canonical() if isinstance(part, Range) else None
            if found is None or found[0] not in MONOTONIC_FIELDS or found[1] != "date":
                rest.append(part)
                continue
            assert isinstance(part, Range)
            start, stop = part.instants()
            stamp = _stamp_function(base, found[0])
            if start is not None:
                lo = max(lo, _first_at_or_after(stamp, len(base), start))
            if stop is not None:
                hi = min(hi, _first_at_or_after(stamp, len(base), stop))
        return lo, max(lo, hi), conjoin(rest)

    def _count_periodic(self, counts: _Counts, matches: PeriodicMatches, rest: Node, base: GeneratedBase) -> None:
        """The facets of the matches: whole periods times one period's counts, plus or minus the residues between
        the interval's two ends. With P the period, residue r occurs `hi // P - lo // P` times, once more if
        `lo % P <= r < hi % P`, once less if `hi % P <= r < lo % P`."""
        key = ("period counts", repr(rest))
        with self._lock:
            whole = self._cache.get(key)
        if whole is None:
            whole = _Counts()
            for residue in matches.residues:
                whole.add_pattern(base.patterns[residue], 1)
            self._remember(key, whole)
        periods_lo, rest_lo = divmod(matches.lo, matches.period)
        periods_hi, rest_hi = divmod(matches.hi, matches.period)
        counts.add_counts(whole, periods_hi - periods_lo)
        low, high, sign = (rest_lo, rest_hi, 1) if rest_lo <= rest_hi else (rest_hi, rest_lo, -1)
        residues = matches.residues
        for residue in residues[bisect_left(residues, low) : bisect_left(residues, high)]:
            counts.add_pattern(base.patterns[residue], sign)

    def _residues(self, rest: Node, base: GeneratedBase) -> list[int]:
        key = ("residues", repr(rest))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return list(self._cache[key])
        residues = [
            r
            for r, pattern in enumerate(base.patterns)
            if rest.matches(
                PatternDoc(pattern, tuple(x for slug, _ in pattern.communities for x in (slug, community_uuid(slug))))
            )
        ]
        self._remember(key, residues)
        return residues

    def _scan(self, rest: Node, base: GeneratedBase) -> list[int]:
        key = ("scan", repr(rest))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return list(self._cache[key])
        plain = Overlay({}, set(), set())
        found = [i for i in range(len(base)) if rest.matches(self.doc(i, plain))]
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, str], value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > 16:
                self._cache.popitem(last=False)


class _MergedOrder:
    """A page of hits sorted on a stamp, found by counting instead of walking every earlier hit.

    The hits are the untouched matches, whose order is their index order (stamps grow with the index), merged with
    the few touched records evaluated one by one (`extras`, placed by their own key). Position p of the merged
    order is found from the positions the extras take: each extra is preceded by the untouched matches whose base
    key sorts before its key, which a bisection over the base's stamps counts. So page 400 costs what page 1 does.
    """

    def __init__(
        self,
        matches: PeriodicMatches | ListMatches,
        skipped: Sequence[int],
        extras: Sequence[int],
        key: Callable[[int], Any],
        base_key: Callable[[int], Any],
        length: int,
        descending: bool,
    ) -> None:
        self.matches = matches
        self.descending = descending
        self.skipped = sorted(matches.rank(i) for i in skipped)
        """Positions, among the matches in index order, of the touched ones (they are answered as extras)."""
        self.untouched = len(matches) - len(self.skipped)
        placed = sorted(((key(i), i) for i in extras), reverse=descending)
        self.extra_at: dict[int, int] = {}
        for number, (extra_key, index) in enumerate(placed):
            # only the extra itself can have a base key equal to its key, and it is not an untouched match
            below = self._untouched_below(_keys_below(base_key, extra_key, length))
            before = self.untouched - below if descending else below
            self.extra_at[before + number] = index
        self.extra_positions = sorted(self.extra_at)

    def _untouched_below(self, index: int) -> int:
        rank = self.matches.rank(index)
        return rank - bisect_left(self.skipped, rank)

    def _untouched(self, rank: int) -> int:
        """The untouched match of a given rank in index order (skipping the touched positions)."""
        position = rank
        while True:
            candidate = rank + bisect_right(self.skipped, position)
            if candidate == position:
                return self.matches[position]
            position = candidate

    def at(self, position: int) -> int:
        extra = self.extra_at.get(position)
        if extra is not None:
            return extra
        rank = position - bisect_left(self.extra_positions, position)
        return self._untouched(self.untouched - 1 - rank if self.descending else rank)


def _base_key(base: GeneratedBase, name: str) -> Callable[[int], Any]:
    """The sort key of an untouched generated record, computed from its index alone (it grows with the index)."""
    if name == "updated":
        return lambda index: (base.updated(index), index)
    if name == "created":
        return lambda index: (base.created(index), index)

    def published(index: int) -> Any:
        created = base.created(index)
        return (created.date().isoformat(), created, index)

    return published


def _keys_below(base_key: Callable[[int], Any], key: Any, length: int) -> int:
    """How many base indices have a key below `key` (keys grow with the index, so a bisection)."""
    low, high = 0, length
    while low < high:
        middle = (low + high) // 2
        if base_key(middle) < key:
            low = middle + 1
        else:
            high = middle
    return low


def _stamp_function(base: GeneratedBase, field: str) -> Callable[[int], datetime]:
    if field == "updated":
        return base.updated
    if field == "created":
        return base.created

    def published(index: int) -> datetime:
        moment = base.created(index)
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)

    return published


def _first_at_or_after(stamp: Callable[[int], datetime], length: int, moment: datetime) -> int:
    """The first index whose (non-decreasing) stamp is at or after `moment`."""
    low, high = 0, length
    while low < high:
        middle = (low + high) // 2
        if stamp(middle) < moment:
            low = middle + 1
        else:
            high = middle
    return low


# -- aggregations --------------------------------------------------------------------------------------------------


class _Counts:
    """The facets Zenodo's search answers: access status, resource type (with subtypes), subject, file type."""

    def __init__(self) -> None:
        self.access: Counter[str] = Counter()
        self.types: Counter[str] = Counter()
        self.subtypes: Counter[str] = Counter()
        self.subjects: Counter[str] = Counter()
        self.file_types: Counter[str] = Counter()

    def add(self, facts: Facts, weight: int = 1) -> None:
        self._add(facts.access, facts.resource_type, facts.keywords, facts.file_types, weight)

    def add_counts(self, other: _Counts, weight: int) -> None:
        if weight:
            for mine, theirs in zip(self._counters(), other._counters(), strict=True):
                for key, count in theirs.items():
                    mine[key] += count * weight

    def _counters(self) -> tuple[Counter[str], ...]:
        return (self.access, self.types, self.subtypes, self.subjects, self.file_types)

    def add_pattern(self, pattern: Pattern, weight: int) -> None:
        if weight:
            files = pattern.file_types if pattern.access == "open" else ()
            self._add(pattern.access, pattern.resource_type, pattern.keywords, files, weight)

    def _add(self, access: str, resource_type: str, keywords: Iterable[str], files: Iterable[str], n: int) -> None:
        self.access[access] += n
        self.types[resource_type.split("-")[0]] += n
        if "-" in resource_type:
            self.subtypes[resource_type] += n
        for keyword in set(keywords):
            self.subjects[keyword] += n
        for ext in set(files):
            self.file_types[ext] += n

    def render(self, selected: dict[str, frozenset[str]]) -> dict[str, Any]:
        def buckets(
            counter: Counter[str], facet: str, label: Callable[[str], str], top: int | None = None
        ) -> list[Any]:
            chosen = selected.get(facet, frozenset())
            items = sorted(((k, v) for k, v in counter.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
            return [
                {"key": k, "doc_count": v, "label": label(k), "is_selected": k in chosen}
                for k, v in (items[:top] if top else items)
            ]

        types = buckets(self.types, "resource_type", lambda k: RESOURCE_TYPES.get(k, k.title()))
        for bucket in types:
            inner = Counter({k: v for k, v in self.subtypes.items() if k.startswith(f"{bucket['key']}-")})
            bucket["inner"] = {"buckets": buckets(inner, "resource_type", lambda k: RESOURCE_TYPES.get(k, k))}
        return {
            "access_status": {
                "buckets": buckets(self.access, "access_status", lambda k: ACCESS_LABELS.get(k, k)),
                "label": "Access status",
            },
            "resource_type": {"buckets": types, "label": "Resource types"},
            "subject": {"buckets": buckets(self.subjects, "subject", str, 10), "label": "Subjects"},
            "file_type": {"buckets": buckets(self.file_types, "file_type", str.upper, 10), "label": "File type"},
        }
