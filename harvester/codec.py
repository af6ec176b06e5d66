"""How records and payloads are stored: compact bytes, and the content hash that decides whether anything changed."""

from __future__ import annotations

import hashlib
import zlib

import orjson

from ontology import Record


def compress(data: bytes) -> bytes:
    # level 1: most of the gain for a fraction of the time; the catalogue writes thousands of these per second
    return zlib.compress(data, 1)


def decompress(data: bytes) -> bytes:
    return zlib.decompress(data)


def encode_record(record: Record) -> bytes:
    return compress(record.model_dump_json(exclude_none=True).encode())


def decode_record(data: bytes) -> Record:
    return Record.model_validate_json(decompress(data))


def content_hash(record: Record) -> str:
    """sha256 of the record's content (without how-it-was-fetched provenance), canonically serialised."""
    return hashlib.sha256(orjson.dumps(record.content_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()
