"""A replica of hepdata.net's public API, fed by the corpus submissions or by generated records.

Routes, as HEPData serves them (HEPData/hepdata `modules/records/views.py`, `modules/search/views.py`,
`modules/converter/views.py`):

* `GET /record/ins<INSPIRE>` and `GET /record/<recid>` with `format=json|html|yaml|csv|…`, `version=N`, `light=…`,
  `table=…`: the record page context as JSON (see `hepdata_render.record_context`), an HTML page, or a redirect to
  the download routes. An unknown or removed record, or a version that does not exist, is HEPData's HTML 404.
* `GET /record/data/<recid>/<table id>/<version>`: one table as the record page renders it (JSON).
* `GET /search/?q=&format=json&page=&size=&sort_by=&sort_order=` + facet filters: `results`, `facets`, `total`,
  `hits.total`; `size` is clamped to 1..100 and the OpenSearch window of 10,000 hits applies.
* `GET /search/ids?inspire_ids=true&last_updated=YYYY-MM-DD&sort_by=latest`: a JSON list of ints.
* `GET /download/submission/<ins<ID>|recid>/[<version>/]<format>` (yaml, csv, original; json redirects) and
  `GET /download/table/<ins<ID>|recid>/<table name>/[<version>/]<format>` (yaml, csv; json redirects), generated
  from the submission data. ROOT and YODA need HEPData's converter service and are answered with HEPData's converter
  error page, as are tables whose data file the corpus copy does not hold.

Sandbox decisions where HEPData's behaviour could not be reproduced from the corpus: the corpus holds one version
of each submission (hepdata.net has two of ins1396331); `last_updated` of corpus records is 2020-07-15 (the date the
youngest corpus file last changed upstream); record ids that could not be verified are assigned
(`hepdata_inspire.REPLICA_ASSIGNED_RECIDS`); an edit through `/_sandbox/edit` finalises a new version.
"""

from __future__ import annotations

import itertools
import mimetypes
import re
import shlex
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.replica import Replica
from sandbox.replicas import hepdata_render as render
from sandbox.replicas.hepdata_generate import GeneratedHoldings
from sandbox.replicas.hepdata_inspire import hepdata_recid, publication
from sandbox.replicas.hepdata_submission import corpus_submissions, holding, parse_iso, revise
from sandbox.store import Entry, ListBase, ReplicaStore

CORPUS_LAST_UPDATED = datetime(2020, 7, 15, tzinfo=UTC)
EPOCH = datetime.min.replace(tzinfo=UTC)
DEFAULT_SIZE = 10
MAX_SIZE = 100
MAX_RESULT_WINDOW = 10_000
CONVERTER_FORMATS = ("yaml", "csv", "root", "yoda", "yoda1", "yoda.h5", "original")
SORT_FIELDS = ("relevance", "title", "collaborations", "date", "latest")
FACET_FILTERS = ("collaboration", "subject_areas", "date", "reactions", "observables", "cmenergies", "phrases",
                 "author")  # fmt: skip
FIELD_QUERIES = {
    "title": ("title",),
    "abstract": ("abstract",),
    "collaborations": ("collaborations",),
    "collaboration": ("collaborations",),
    "inspire_id": ("inspire_id",),
    "recid": ("recid",),
    "doi": ("doi",),
    "hepdata_doi": ("hepdata_doi",),
    "arxiv_id": ("arxiv_id",),
    "data_abstract": ("data_abstract",),
    "reactions": ("data_keywords.reactions",),
    "observables": ("data_keywords.observables",),
    "phrases": ("data_keywords.phrases",),
}


class HoldingBase(Protocol):
    """A `RecordBase` of HEPData holdings that can also find a record by its HEPData id, cheaply."""

    def __len__(self) -> int: ...
    def native_id(self, index: int) -> str: ...
    def record(self, index: int) -> dict[str, Any]: ...
    def updated(self, index: int) -> datetime: ...
    def index_of(self, native_id: str) -> int | None: ...
    def recid(self, index: int) -> int: ...
    def index_of_recid(self, recid: int) -> int | None: ...
    def inspire_number(self, index: int) -> int: ...


@dataclass(frozen=True)
class CorpusHoldings(ListBase):
    """The corpus submissions, in HEPData record id order."""

    def record(self, index: int) -> dict[str, Any]:
        # revise() deep-copies the version it builds on and only appends, so a copy of the version list is enough
        # (a deep copy of the 1,600-cell correlation table on every request is what would cost)
        data = dict(self.records[index])
        data["versions"] = list(data["versions"])
        return data

    def recid(self, index: int) -> int:
        return int(self.records[index]["recid"])

    def inspire_number(self, index: int) -> int:
        return int(self.records[index]["inspire_id"])

    def index_of_recid(self, recid: int) -> int | None:
        for index, record in enumerate(self.records):
            if int(record["recid"]) == recid:
                return index
        return None


class HEPDataReplica(Replica):
    kind = "hepdata"

    def __init__(self, base: HoldingBase) -> None:
        super().__init__(ReplicaStore(base, revise))
        self.holdings = base
        self._views: dict[int, int] = {}
        self._views_lock = threading.Lock()

    # -- feeding -----------------------------------------------------------------------------------------------
    @classmethod
    def from_corpus(cls, corpus: Path) -> HEPDataReplica | None:
        holdings = []
        for position, (parsed, inspire_id) in enumerate(corpus_submissions(corpus), 1):
            recid, verified = hepdata_recid(inspire_id, fallback=9_000_000 + position)
            holdings.append(holding(parsed, inspire_id, recid, verified, publication(inspire_id), CORPUS_LAST_UPDATED))
        if not holdings:
            return None
        base = CorpusHoldings.build(
            holdings,
            native_id=lambda h: f"ins{h['inspire_id']}",
            stamp=lambda h: parse_iso(h["versions"][-1]["last_updated"]),
            sort_key=lambda native: next(int(h["recid"]) for h in holdings if f"ins{h['inspire_id']}" == native),
        )
        return cls(cast(HoldingBase, base))

    @classmethod
    def generated(cls, count: int, seed: int = 0) -> HEPDataReplica:
        return cls(GeneratedHoldings(count, seed))

    # -- routes ------------------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/record/data/{recid:int}/{data_id:int}/{version:int}", self._table_details),
            Route("/record/{ident}", self._record),
            Route("/search/", self._search),
            Route("/search/ids", self._ids),
            Route("/download/submission/{ident}/{rest:path}", self._download_submission),
            Route("/download/table/{ident}/{rest:path}", self._download_table),
        ]

    @property
    def site_url(self) -> str:
        return self.base_url

    # -- lookups -----------------------------------------------------------------------------------------------
    def _entry(self, ident: str) -> Entry | None:
        if ident.startswith("ins") and ident[3:].isdigit():
            return self.store.find(f"ins{int(ident[3:])}")
        if ident.isdigit():
            index = self.holdings.index_of_recid(int(ident))
            return None if index is None else self.store.entry(index)
        return None

    def _holding(self, ident: str) -> dict[str, Any] | None:
        entry = self._entry(ident)
        return None if entry is None else self.store.record(entry)

    def _count_view(self, recid: int) -> int:
        """HEPData's access counter: the count shown, then incremented (so the same page differs between views)."""
        with self._views_lock:
            count = self._views.get(recid, 0)
            self._views[recid] = count + 1
            return count

    # -- /record ---------------------------------------------------------------------------------------------------
    async def _record(self, request: Request) -> Response:
        data = self._holding(request.path_params["ident"])
        if data is None:
            return _not_found()
        try:
            version = int(request.query_params.get("version", -1))
        except ValueError:
            version = -1
        count = len(data["versions"])
        if version == -1:
            version = count
        output = request.query_params.get("format", "html")
        light = bool(request.query_params.get("light", ""))  # HEPData: bool(request.args.get('light', False))
        ctx = render.record_context(data, version, self.site_url, light, 0)
        if ctx is None:
            return _not_found()
        if output == "json" and "table" not in request.query_params:
            ctx["access_count"] = self._count_view(int(data["recid"]))
            return Response(render.to_json(ctx), media_type="application/json")
        if output == "html":
            return Response(render.record_page(ctx), media_type="text/html; charset=utf-8")
        if output == "json_ld":
            return JSONResponse({"error": "JSON-LD could not be retrieved from the sandbox replica"}, status_code=404)
        if "table" in request.query_params:
            table = request.query_params["table"].replace("%", "%25").replace("\\", "%5C")
            return RedirectResponse(
                f"/download/table/{render.file_identifier(data)}/{quote(table)}/{version}/{output}", status_code=302
            )
        return RedirectResponse(f"/download/submission/{data['recid']}/{version}/{output}", status_code=302)

    async def _table_details(self, request: Request) -> Response:
        """`get_table_details` → `generate_table_structure`: the table as the record page draws it."""
        params = request.path_params
        data = self._holding(str(params["recid"]))
        entry = None if data is None else render.version_entry(data, int(params["version"]))
        table = None if entry is None else next((t for t in entry["tables"] if t["id"] == params["data_id"]), None)
        if table is None or table["data"] is None:
            return JSONResponse({"review": {"review_flag": "todo", "messages": False}})
        return Response(render.to_json(table_structure(table)), media_type="application/json")

    # -- /search ---------------------------------------------------------------------------------------------------
    async def _search(self, request: Request) -> Response:
        params = request.query_params
        query = params.get("q", "")
        page = _positive_int(params.get("page"), 1)
        size = _positive_int(params.get("size"), DEFAULT_SIZE)
        size = min(size, MAX_SIZE)
        sort_by = params.get("sort_by", "") or ("date" if not query else "relevance")
        sort_order = params.get("sort_order", "")
        wants_json = params.get("format") == "json" or "json" in request.headers.get("accept", "")
        offset = (page - 1) * size
        if sort_by not in SORT_FIELDS or offset + size > MAX_RESULT_WINDOW:
            # HEPData's search returns {'error': ...}, on which its JSON view fails with a server error
            return Response(b"Internal Server Error", status_code=500, media_type="text/plain")
        try:
            matcher = QueryMatcher(query)
        except ValueError:
            return Response(b"Internal Server Error", status_code=500, media_type="text/plain")
        filters = [(name, params[name]) for name in FACET_FILTERS if name in params]
        hits = []
        for data in self._live_holdings():
            doc = render.publication_document(data, self.site_url)
            tables = render.latest(data)["tables"]
            score = matcher.score(doc, tables)
            if score and _passes(doc, filters):
                hits.append((score, doc, data))
        hits.sort(key=_sort_key(sort_by), reverse=_descending(sort_by, sort_order))
        chosen = hits[offset : offset + size]
        results = [
            render.search_hit(data, matcher.matching_tables(render.latest(data)["tables"]), self.site_url)
            for _, _, data in chosen
        ]
        body = {
            "results": results,
            "facets": render.facets([doc for _, doc, _ in hits]),
            "total": len(hits),
            "hits": {"total": len(hits)},
        }
        if wants_json:
            return Response(render.to_json(body), media_type="application/json")
        titles = "".join(f"<li>{r.get('title')}</li>" for r in results)
        return Response(f"<html><body><ul>{titles}</ul></body></html>".encode(), media_type="text/html")

    def _live_holdings(self) -> Iterator[dict[str, Any]]:
        for entry in self.store.entries():
            yield self.store.record(entry)

    async def _ids(self, request: Request) -> Response:
        params = request.query_params
        inspire = params.get("inspire_ids", "").lower() not in ("", "false", "f")
        since = None
        if params.get("last_updated"):
            try:
                since = datetime.strptime(params["last_updated"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                text = params["last_updated"]
                return JSONResponse(
                    {
                        "error": f"Unable to parse date from last_updated value {text}. "
                        "last_updated should be in format YYYY-mm-dd"
                    },
                    status_code=400,
                )
        numbers = self._listed(since, latest=params.get("sort_by") == "latest", inspire=inspire)
        # orjson writes a list of integers byte for byte as Flask's jsonify does, a hundred times faster
        return Response(orjson.dumps(numbers), media_type="application/json")

    def _listed(self, since: datetime | None, latest: bool, inspire: bool) -> list[int]:
        """`get_all_ids`: the INSPIRE (or HEPData) ids of live records updated since a date, in record id order or
        latest first.

        A base whose stamps and ids grow with the index (the generator) is answered without looking at every
        record: a binary search finds where `since` starts, the overlay's edits and deletions cut that stretch
        into runs of consecutive records, and each run's ids are an arithmetic progression."""
        base = self.holdings
        number = base.inspire_number if inspire else base.recid
        first_since = getattr(base, "first_index_since", None)
        numbers_between = getattr(base, "numbers_between", None)
        if first_since is None or numbers_between is None:
            rows = [(e.updated, e.index) for e in self.store.entries() if since is None or e.updated >= since]
            if latest:
                rows.sort(key=lambda row: row[0], reverse=True)
            return [number(index) for _, index in rows]
        deleted = {i for native, _ in self.store.deleted_since(EPOCH) if (i := base.index_of(native)) is not None}
        edited = {e.index: e.updated for e in self.store.changed_since(EPOCH)}
        start = first_since(since) if since is not None else 0
        runs = _runs_without(start, len(base), sorted(i for i in deleted | set(edited) if i >= start))
        # latest first; records updated at the same moment stay in record id order
        recent = sorted(
            ((stamp, i) for i, stamp in edited.items() if i not in deleted and (since is None or stamp >= since)),
            key=_newest_first,
        )
        if not latest:
            ordered = sorted([*runs, *(range(i, i + 1) for _, i in recent)], key=lambda run: run.start)
            return list(itertools.chain.from_iterable(numbers_between(r.start, r.stop, inspire) for r in ordered))
        if recent and runs and recent[-1][0] < base.updated(runs[-1][-1]):  # an edit dated before a base stamp
            rows = recent + [(base.updated(i), i) for run in runs for i in run]
            rows.sort(key=_newest_first)
            return [number(i) for _, i in rows]
        newest = (numbers_between(r.start, r.stop, inspire)[::-1] for r in reversed(runs))
        return [*(number(i) for _, i in recent), *itertools.chain.from_iterable(newest)]

    # -- /download ---------------------------------------------------------------------------------------------
    async def _download_submission(self, request: Request) -> Response:
        ident = request.path_params["ident"]
        parts = [p for p in request.path_params["rest"].split("/") if p]
        version_text, fmt = (parts[0], parts[1]) if len(parts) >= 2 else (None, parts[0] if parts else "")
        data = self._holding(ident)
        if data is None:
            number = ident.removeprefix("ins")
            return _converter_error("No submission found", f"A submission with Inspire ID {number} does not exist")
        version = int(version_text) if version_text and version_text.isdigit() else len(data["versions"])
        entry = render.version_entry(data, version)
        if entry is None:
            return _converter_error(
                "No submission found",
                f"A submission with Inspire ID {data['inspire_id']} and version {version} does not exist",
            )
        stem = f"HEPData-{render.file_identifier(data)}-v{version}"
        if fmt == "json":
            return RedirectResponse(f"/record/{render.file_identifier(data)}?version={version}&format=json", 302)
        if fmt not in CONVERTER_FORMATS:
            return _converter_error(f"The {fmt} output format is not supported", _supported())
        missing = [t["data_file"] for t in entry["tables"] if t["data"] is None]
        if fmt == "original":
            name, payload = render.original_archive(data, entry)
            return _attachment(payload, name)
        if missing:
            return _converter_error(
                "Report concerns to info@hepdata.net",
                f"the sandbox corpus copy of this submission lacks the data files {', '.join(missing)}",
            )
        if fmt == "yaml":
            return _attachment(render.submission_yaml_archive(data, entry), f"{stem}-yaml.tar.gz")
        if fmt == "csv":
            return _attachment(render.submission_csv_archive(data, entry), f"{stem}-csv.tar.gz")
        return _converter_error("Report concerns to info@hepdata.net", _unconverted(fmt))

    async def _download_table(self, request: Request) -> Response:
        ident = request.path_params["ident"]
        parsed = _split_table_path(request.path_params["rest"])
        if parsed is None:
            return _not_found()
        table_name, version_number, fmt = parsed
        data = self._holding(ident)
        if data is None:
            return _converter_error("No submission found", f"A submission with Inspire ID {ident} does not exist")
        version = version_number or len(data["versions"])
        entry = render.version_entry(data, version)
        position, table = _find_table(entry["tables"] if entry else [], table_name)
        if entry is None or table is None:
            return _converter_error(
                "No data submission found",
                f"A data submission with Inspire ID {data['inspire_id']}, version {version} and table name "
                f"'{table_name}' does not exist",
            )
        if fmt == "json":
            return RedirectResponse(f"/record/data/{data['recid']}/{table['id']}/{version}", status_code=302)
        if fmt not in CONVERTER_FORMATS:
            return _converter_error(f"The {fmt} output format is not supported", _supported())
        if table["data"] is None:
            return _converter_error(
                "Report concerns to info@hepdata.net",
                f"the sandbox corpus copy of this submission lacks the data file {table['data_file']}",
            )
        submission_id = f"ins{data['inspire_id']}" if ident.startswith("ins") else str(data["recid"])
        stem = f"HEPData-{submission_id}-v{version}-" + (
            table["name"].replace(" ", "_").replace("/", "_").replace("$", "").replace("\\", "")
        )
        if fmt in ("yaml", "original"):
            return _attachment(render.table_yaml(table).encode(), stem + ".yaml")
        if fmt == "csv":
            doi = table["doi"].rsplit("/", 1)[0]
            return _attachment(render.table_csv(table, position, doi).encode(), stem + ".csv")
        return _converter_error("Report concerns to info@hepdata.net", _unconverted(fmt))


def _newest_first(row: tuple[datetime, int]) -> tuple[float, int]:
    return (-row[0].timestamp(), row[1])


def _runs_without(start: int, stop: int, skipped: list[int]) -> list[range]:
    """[start, stop) without the sorted indices `skipped`, as runs of consecutive indices (none empty)."""
    runs = []
    for index in [*skipped, stop]:
        if index > start:
            runs.append(range(start, index))
        start = max(start, index + 1)
    return runs


# -- search helpers ------------------------------------------------------------------------------------------------
class QueryMatcher:
    """A small stand-in for HEPData's query parser: words (AND), quoted phrases, `field:value`, and
    `cmenergies:[a TO b]` ranges. Words also match the publication's data tables, as HEPData's has_child query."""

    _RANGE = re.compile(r"cmenergies:\[\s*([-\d.]+)\s+TO\s+([-\d.]+)\s*\]", re.IGNORECASE)

    def __init__(self, query: str) -> None:
        self.words: list[str] = []
        self.fields: list[tuple[str, str]] = []
        # like HEPDataQueryParser.get_range_queries: ranges are taken out before the rest is parsed
        self.ranges = [(float(m.group(1)), float(m.group(2))) for m in self._RANGE.finditer(query)]
        for token in _tokens(self._RANGE.sub(" ", query).strip()):
            field, sep, value = token.partition(":")
            if sep and field in FIELD_QUERIES and value:
                self.fields.append((field, value.lower().strip('"')))
            elif token.upper() not in ("AND", ""):
                self.words.append(token.lower().strip('"'))

    @property
    def empty(self) -> bool:
        return not (self.words or self.fields or self.ranges)

    def score(self, doc: dict[str, Any], tables: list[dict[str, Any]]) -> int:
        if self.empty:
            return 1
        for field, value in self.fields:
            if not any(value in text for text in _field_texts(doc, FIELD_QUERIES[field])):
                return 0
        energies = doc["data_keywords"].get("cmenergies") or []
        for low, high in self.ranges:
            if not any(e["gte"] <= high and e["lte"] >= low for e in energies):
                return 0
        text = _document_text(doc)
        table_texts = [_table_text(t) for t in tables]
        score = 1 + len(self.fields) + len(self.ranges)
        for word in self.words:
            in_doc = text.count(word)
            in_tables = sum(t.count(word) for t in table_texts)
            if not in_doc and not in_tables:
                return 0
            score += 3 * in_doc + in_tables
        return score

    def matching_tables(self, tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.words:
            return tables
        return [t for t in tables if all(w in _table_text(t) for w in self.words)]


def _tokens(query: str) -> list[str]:
    try:
        return shlex.split(query, posix=False)
    except ValueError as error:
        raise ValueError(f"cannot parse the query {query!r}: {error}") from error


def _field_texts(doc: dict[str, Any], paths: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for path in paths:
        value: Any = doc
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        values = value if isinstance(value, list) else [value]
        out += [str(v).lower() for v in values if v is not None]
    return out


def _document_text(doc: dict[str, Any]) -> str:
    parts = [doc.get("title"), doc.get("abstract"), doc.get("data_abstract"), doc.get("inspire_id"), doc.get("doi")]
    parts += doc.get("collaborations") or []
    parts += [str(k.get("value", k)) if isinstance(k, dict) else str(k) for k in doc.get("keywords") or []]
    for name in ("reactions", "observables", "phrases"):
        parts += doc["data_keywords"].get(name) or []
    return " ".join(str(p) for p in parts if p).lower()


def _table_text(table: dict[str, Any]) -> str:
    parts = [table["name"], table["description"], table.get("location") or ""]
    parts += [str(v) for k in table.get("keywords") or [] for v in k["values"]]
    return " ".join(parts).lower()


def _passes(doc: dict[str, Any], filters: list[tuple[str, str]]) -> bool:
    for name, value in filters:
        if name == "collaboration":
            if value.lower() not in [c.lower() for c in doc.get("collaborations") or []]:
                return False
        elif name == "subject_areas":
            if value not in (doc.get("subject_area") or []):
                return False
        elif name == "author":
            if value not in [a["full_name"] for a in doc.get("summary_authors") or []]:
                return False
        elif name == "date":
            years = _years(value)
            if years is not None and str(doc.get("year") or "")[:4] not in years:
                return False
        elif name == "cmenergies":
            bounds = _floats(value)
            if bounds is not None:
                low, high = bounds[0], bounds[-1]
                energies = doc["data_keywords"].get("cmenergies") or []
                if not any(_in_energy_filter(e, low, high) for e in energies):
                    return False
        elif value not in (doc["data_keywords"].get(name) or []):
            return False
    return True


def _in_energy_filter(energy: dict[str, float], low: float, high: float) -> bool:
    """`get_filter_field('cmenergies')`: gte low, and lt high (lte when the filter is a single value)."""
    below = energy["gte"] < high if high > low else energy["gte"] <= high
    return energy["lte"] >= low and below


def _years(value: str) -> set[str] | None:
    """`check_date`: 'YYYY' or 'YYYY,YYYY' (other lengths are ignored, as there)."""
    if len(value) not in (4, 9):
        return None
    parts = [int(p) for p in value.split(",") if p.strip().isdigit()]
    if not parts:
        return None
    return {str(y) for y in range(parts[0], parts[-1] + 1)}


def _floats(value: str) -> list[float] | None:
    try:
        return sorted(float(x) for x in value.split(",", 1))
    except ValueError:
        return None


def _sort_key(sort_by: str) -> Any:
    if sort_by == "title":
        return lambda hit: str(hit[1].get("title") or "")
    if sort_by == "collaborations":
        return lambda hit: ",".join(hit[1].get("collaborations") or [])
    if sort_by == "date":
        return lambda hit: str(hit[1].get("creation_date") or "")
    if sort_by == "latest":
        return lambda hit: hit[1]["last_updated"]
    return lambda hit: hit[0]


def _descending(sort_by: str, sort_order: str) -> bool:
    """`calculate_sort_order`: an explicit asc/desc wins, 'rev' flips the field's default."""
    default = sort_by not in ("title", "collaborations")
    if sort_order in ("asc", "desc"):
        return sort_order == "desc"
    return not default if sort_order == "rev" else default


def _positive_int(text: str | None, default: int) -> int:
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    return value if value >= 1 else default


# -- download helpers ----------------------------------------------------------------------------------------------
def _split_table_path(rest: str) -> tuple[str, int | None, str] | None:
    """`<table name>/[<version>/]<format>[/<rivet>]`: the table name may itself contain slashes."""
    parts = rest.split("/")
    if len(parts) >= 3 and parts[-2] in ("yoda", "yoda1", "yoda.h5") and parts[-3].isdigit():
        parts = parts[:-1]  # a Rivet analysis name after the format
    if len(parts) < 2:
        return None
    fmt = parts[-1]
    if len(parts) >= 3 and parts[-2].isdigit():
        return "/".join(parts[:-2]), int(parts[-2]), fmt
    return "/".join(parts[:-1]), None, fmt


def _find_table(tables: list[dict[str, Any]], name: str) -> tuple[int, dict[str, Any] | None]:
    """By name, or (HEPData allows this) by the name with its spaces left out."""
    for position, table in enumerate(tables, 1):
        if table["name"] == name:
            return position, table
    if " " not in name:
        for position, table in enumerate(tables, 1):
            if table["name"].replace(" ", "") == name:
                return position, table
    return 0, None


def _attachment(payload: bytes, filename: str) -> Response:
    media_type = "application/gzip" if filename.endswith(".tar.gz") else mimetypes.guess_type(filename)[0]
    return Response(
        payload,
        media_type=media_type or "application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


def _converter_error(message: str, description: str) -> Response:
    return Response(render.error_page(message, description), media_type="text/html; charset=utf-8")


def _supported() -> str:
    return "This output format is not supported. Currently supported formats: " + str(list(CONVERTER_FORMATS))


def _unconverted(fmt: str) -> str:
    return f"the sandbox replica has no hepdata-converter service: {fmt} is not produced here (yaml and csv are)"


def _not_found() -> Response:
    return Response(render.NOT_FOUND_PAGE, status_code=404, media_type="text/html; charset=utf-8")


# -- the table as the record page draws it ---------------------------------------------------------------------------
def table_structure(table: dict[str, Any]) -> dict[str, Any]:
    """`generate_table_structure`: headers with colspans, qualifiers per column group, and rows of x and y values."""
    contents = table["data"]
    record: dict[str, Any] = {
        "name": table["name"],
        "doi": table["doi"],
        "location": table.get("location"),
        "qualifiers": {},
        "qualifier_order": [],
        "headers": [],
        "review": {"review_flag": "passed", "messages": False},
        "associated_files": [],
        "keywords": {},
        "values": [],
        "description": render.sanitize(table["description"]),
    }
    for keyword in table.get("keywords") or []:
        bucket = record["keywords"].setdefault(keyword["name"], [])
        for value in keyword["values"]:
            if value not in bucket:
                bucket.append(value)
    independents = [dict(v) for v in contents.get("independent_variables") or []]
    dependents = contents.get("dependent_variables") or []
    if not independents and dependents:
        padding = [{"value": ""} for _ in dependents[0]["values"]]
        independents = [{"header": {"name": "", "units": ""}, "values": padding}]
    x_axes: dict[str, list[Any]] = {}
    for count, axis in enumerate(independents):
        header = str(axis["header"]["name"]) + (f" [{axis['header']['units']}]" if axis["header"].get("units") else "")
        if header in x_axes:
            header += f"__{count}"
        x_axes[header] = list(axis.get("values") or [])
        record["headers"].append({"name": header, "colspan": 1})
    record["x_count"] = len(x_axes)
    rows: dict[int, dict[str, Any]] = {}
    y_headers: list[dict[str, Any]] = []
    for group, axis in enumerate(dependents):
        seen: dict[str, int] = {}
        for qualifier in axis.get("qualifiers") or []:
            name = str(qualifier["name"])
            if name in seen:
                seen[name] += 1
                name = f"{name}-{seen[name]}"
            else:
                seen[name] = 0
            if name not in record["qualifiers"]:
                record["qualifier_order"].append(name)
                record["qualifiers"][name] = []
            value = str(qualifier.get("value")) + (f" {qualifier['units']}" if "units" in qualifier else "")
            cells = record["qualifiers"][name]
            if cells and cells[-1]["type"] == qualifier["name"] and cells[-1]["value"] == value:
                cells[-1]["colspan"] += 1
            else:
                cells.append({"type": qualifier["name"], "value": value, "colspan": 1, "group": group})
        units = f" [{axis['header']['units']}]" if axis["header"].get("units") else ""
        y_headers.append({"name": str(axis["header"]["name"]) + units, "colspan": 1})
        for count, value in enumerate(axis.get("values") or []):
            if count not in rows:
                if any(count >= len(xs) for xs in x_axes.values()):
                    break
                rows[count] = {"x": [xs[count] for xs in x_axes.values()], "y": []}
            item = dict(value, group=group)
            item.setdefault("errors", [{"symerror": 0, "hide": True}])
            rows[count]["y"].append(item)
    merged: list[dict[str, Any]] = []
    for y_header in y_headers:
        if merged and merged[-1]["name"] == y_header["name"]:
            merged[-1]["colspan"] += 1
        else:
            merged.append(dict(y_header))
    record["headers"] += merged
    record["values"] = [rows[k] for k in sorted(rows)]
    return record
