"""What opendata.cern.ch's REST API makes of a record fixture: the single-record body and the search hit.

The portal loads `data/records/*.json` fixtures (the corpus format) into Invenio and serves them through
invenio-records-rest. On the way it adds keys the fixtures never carry, which this module adds the same way:

* `$schema`, `_bucket` (the files bucket, for a record with files), `pids.oai.id` (`oai:cernopendata.cern:<recid>`,
  as observed live on recid 84000 even though the portal config names another prefix), `availability` and
  `_availability_details` (cold-storage state, computed by `ColdRecord.check_availability`: per-file counts keyed
  `online` / `on demand`; one key gives that availability, two give `partially`), and `_file_indices` for datasets
  whose data files are listed in `*_file_index.json` files (`FileIndexMetadata.dumps`).
* For `GET /api/records/<recid>` the serializer (`serializers/basic_json.py`) rebuilds `files` as
  `[{checksum, size, filename, uri}]` and moves index files (`type` `index.json` / `index.txt`) to `index_files`.
* Search hits come from the search index, which stores neither files nor file indices.

Invenio's `created`/`updated` stamps are not in the fixtures; `fixture_stamps` derives deterministic ones. Keys are
serialised sorted, as the live portal's responses are.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

SCHEMA_URL = "http://opendata.cern.ch/schema/records/record-v1.0.0.json"
OAI_PREFIX = "oai:cernopendata.cern:"
_BUCKETS = uuid.UUID("5b1c3a86-7c8e-4c55-9d1b-cf0b5a3e2f11")
"""Namespace for deterministic bucket UUIDs (the real ones are random; ours must be stable across runs)."""

ONLINE = "online"
ON_DEMAND = "on demand"
PARTIALLY = "partially"
ONDEMAND_MARK = "ondemand"
"""How a fixture marks a record whose files sit in cold storage (`distribution.availability`)."""

Json = dict[str, Any]


def dumps(value: Any) -> bytes:
    """JSON bytes as the replica sends them: keys sorted, UTF-8."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def recid_of(fixture: Mapping[str, Any]) -> str:
    recid = fixture.get("recid")
    if recid is None or str(recid).strip() == "":
        raise ValueError(f"a CERN Open Data record without recid: {str(fixture)[:120]}")
    return str(recid)


def bucket_id(recid: str, key: str = "") -> str:
    """The files bucket of a record (or, with `key`, of one of its file indices): a UUID 5, computed directly."""
    digest = bytearray(hashlib.sha1(_BUCKETS.bytes + f"{recid}/{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def fixture_stamps(fixture: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """Deterministic `created`/`updated` for a fixture that has none.

    `created` falls in the record's publication year (`date_published`, else 2016) at an instant chosen by a CRC32
    of the recid; `updated` follows it by up to 60 days (another CRC32). Neither passes `STAMPS_UNTIL`, the date of
    the corpus snapshot, so no stamp lies in the future. Same recid, same stamps, on every machine.
    """
    recid = recid_of(fixture)
    published = str(fixture.get("date_published") or "")
    year = int(published[:4]) if published[:4].isdigit() else 2016
    return spread_stamps(year, zlib.crc32(recid.encode()), zlib.crc32(b"updated:" + recid.encode()), 60)


STAMPS_UNTIL = datetime(2026, 6, 30, tzinfo=UTC)
"""The corpus snapshot's date (opendata.cern.ch commit cbdb4cc, 2026-06-30): derived stamps never pass it."""


def spread_stamps(year: int, first: int, second: int, max_gap_days: int) -> tuple[datetime, datetime]:
    """`created` in `year` and `updated` up to `max_gap_days` later, placed by two hash values, before the snapshot."""
    start = datetime(min(year, STAMPS_UNTIL.year), 1, 1, tzinfo=UTC)
    span = int(min(timedelta(days=300), STAMPS_UNTIL - start).total_seconds())
    created = start + timedelta(seconds=first % max(1, span), microseconds=(first >> 7) % 1_000_000)
    gap = int(min(timedelta(days=max_gap_days), STAMPS_UNTIL - created).total_seconds())
    return created, created + timedelta(seconds=second % max(1, gap))


def isoformat(stamp: datetime) -> str:
    """Invenio's stamp format: `2020-08-27T00:39:40.879546+00:00`."""
    if stamp.tzinfo is not UTC:
        stamp = stamp.astimezone(UTC)
    return stamp.isoformat(timespec="microseconds")


def is_index_file(file: Mapping[str, Any]) -> bool:
    return "index" in str(file.get("type") or "")


def filename_of(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def is_ondemand(fixture: Mapping[str, Any]) -> bool:
    distribution = fixture.get("distribution")
    return isinstance(distribution, Mapping) and distribution.get("availability") == ONDEMAND_MARK


def availability(fixture: Mapping[str, Any], index_members: int) -> tuple[str, dict[str, int]]:
    """`availability` and `_availability_details` as `ColdRecord.check_availability` computes them.

    Counted are the record's own files and the files its indices list. For a record in cold storage the data
    files are on tape ("on demand") while the small index files stay on disk.
    """
    files = [f for f in fixture.get("files") or [] if isinstance(f, Mapping)]
    index_files = sum(1 for f in files if is_index_file(f))
    data_files = len(files) - index_files + index_members
    details: dict[str, int] = {}
    if is_ondemand(fixture):
        if data_files:
            details[ON_DEMAND] = data_files
        if index_files:
            details[ONLINE] = index_files
    elif data_files + index_files:
        details[ONLINE] = data_files + index_files
    if not details:
        return ONLINE, details
    if len(details) == 1:
        return next(iter(details)), details
    return PARTIALLY, details


def _file_entry(file: Mapping[str, Any]) -> Json:
    uri = str(file.get("uri", ""))
    return {
        "checksum": file.get("checksum", ""),
        "filename": filename_of(uri),
        "size": file.get("size", ""),
        "uri": uri,
    }


def _file_indices(
    recid: str, files: Sequence[Mapping[str, Any]], members: Mapping[str, Sequence[Json]] | None, ondemand: bool
) -> list[Json]:
    """One entry per `index.json` file (the portal builds indices from the JSON lists only).

    The corpus holds the index files' names but not their contents, so without `members` an entry carries what
    is known (key, description, bucket) and leaves out the file list rather than claim it is empty.
    """
    indices = []
    for file in files:
        if file.get("type") != "index.json":
            continue
        key = filename_of(str(file.get("uri", "")))
        entry: Json = {"bucket": bucket_id(recid, key), "description": file.get("description") or key, "key": key}
        listed = None if members is None else members.get(key)
        if listed is not None:
            state = ON_DEMAND if ondemand else ONLINE
            entry["files"] = [{**m, "availability": state} for m in listed]
            entry["number_files"] = len(listed)
            entry["size"] = sum(int(m.get("size", 0)) for m in listed)
            entry["availability"] = {state: len(listed)} if listed else {}
        indices.append(entry)
    return indices


def api_metadata(
    fixture: Mapping[str, Any],
    index_members: Mapping[str, Sequence[Json]] | None = None,
    *,
    file_indices: bool = True,
) -> Json:
    """The record's `metadata` as Invenio stores it: the fixture plus the keys the portal adds (files untouched).

    `file_indices=False` leaves `_file_indices` out (a search hit does not carry them: no need to build them)."""
    metadata: Json = dict(fixture)  # a shallow copy suffices: only top-level keys are added or replaced
    recid = recid_of(metadata)
    files = [f for f in metadata.get("files") or [] if isinstance(f, Mapping)]
    members_count = sum(len(v) for v in index_members.values()) if index_members else 0
    if index_members is None and any(f.get("type") == "index.json" for f in files):
        # the corpus does not hold the indices' contents: the dataset's own file count stands in for them
        number_files = (metadata.get("distribution") or {}).get("number_files")
        members_count = int(number_files) if isinstance(number_files, int) else 0
    state, details = availability(metadata, members_count)
    metadata["$schema"] = SCHEMA_URL
    if files:
        metadata["_bucket"] = bucket_id(recid)
    metadata["_availability_details"] = details
    metadata["availability"] = state
    metadata["pids"] = {"oai": {"id": f"{OAI_PREFIX}{recid}"}}
    indices = _file_indices(recid, files, index_members, is_ondemand(metadata)) if file_indices else []
    if indices:
        metadata["_file_indices"] = indices
    return metadata


def record_links(metadata: Mapping[str, Any], base_url: str) -> dict[str, str]:
    """The portal's `links_factory`: the record's API address, and its files bucket when it has one."""
    links = {"self": f"{base_url}/api/records/{recid_of(metadata)}"}
    if metadata.get("_bucket"):
        links["bucket"] = f"{base_url}/api/files/{metadata['_bucket']}"
    return links


def api_record(
    fixture: Mapping[str, Any],
    *,
    created: datetime,
    updated: datetime,
    base_url: str,
    index_members: Mapping[str, Sequence[Json]] | None = None,
) -> Json:
    """The body of `GET /api/records/<recid>`."""
    metadata = api_metadata(fixture, index_members)
    recid = recid_of(metadata)
    files = [f for f in metadata.pop("files", None) or [] if isinstance(f, Mapping)]
    metadata["files"] = [_file_entry(f) for f in files if not is_index_file(f)]
    metadata["index_files"] = [_file_entry(f) for f in files if is_index_file(f)]
    return {
        "created": isoformat(created),
        "id": recid,
        "links": record_links(metadata, base_url),
        "metadata": metadata,
        "updated": isoformat(updated),
    }


def api_hit(
    fixture: Mapping[str, Any],
    *,
    created: datetime,
    updated: datetime,
    base_url: str,
    index_members: Mapping[str, Sequence[Json]] | None = None,
) -> Json:
    """One item of `hits.hits` in a search response: what the search index holds (no files, no file indices)."""
    metadata = api_metadata(fixture, index_members, file_indices=False)
    metadata.pop("files", None)
    recid = recid_of(metadata)
    return {
        "created": isoformat(created),
        "id": recid,
        "links": record_links(metadata, base_url),
        "metadata": metadata,
        "updated": isoformat(updated),
    }


def error_body(status: int, message: str) -> bytes:
    """Invenio's REST error body (`invenio_rest.errors.RESTException.get_body`)."""
    return orjson.dumps({"status": status, "message": message})


PID_DOES_NOT_EXIST = "PID does not exist."
PID_DELETED = "PID has been deleted."
MAX_RESULT_WINDOW = "Maximum number of results have been reached."
INVALID_QUERY = "Invalid query syntax."
