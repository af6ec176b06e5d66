"""Stored blobs: zstd frames now, zlib streams from catalogues written before, both read back."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from connectors.base import RawRecord
from connectors.zenodo import ZenodoConnector
from harvester import codec


def _zenodo_payload(corpus: Path) -> bytes:
    """The first search hit of the recorded Zenodo REST captures, as the harvester stores it."""
    for path in sorted((corpus / "zenodo" / "rest").rglob("*.json")):
        page = json.loads(path.read_bytes())
        if page.get("hits", {}).get("hits"):
            return json.dumps(page["hits"]["hits"][0]).encode()
    raise AssertionError("no Zenodo search page with hits in the corpus")


def test_compress_writes_zstd_frames_that_read_back(corpus: Path) -> None:
    payload = _zenodo_payload(corpus)
    blob = codec.compress(payload)
    assert blob[:4] == codec.ZSTD_MAGIC
    assert len(blob) < len(payload) / 2
    assert codec.decompress(blob) == payload


def test_blobs_written_the_old_way_with_zlib_still_read(corpus: Path) -> None:
    payload = _zenodo_payload(corpus)
    old = zlib.compress(payload, 1)  # what harvester.codec.compress wrote before zstd
    assert old[0] == 0x78
    assert codec.decompress(old) == payload


def test_an_old_zlib_record_blob_decodes_to_the_same_record(corpus: Path) -> None:
    payload = _zenodo_payload(corpus)
    native_id = str(json.loads(payload)["id"])
    record = ZenodoConnector.map_record(RawRecord(native_id, payload, "application/json", "x"), "zenodo")
    old_blob = zlib.compress(record.model_dump_json(exclude_none=True).encode(), 1)
    assert codec.decode_record(old_blob) == record
    assert codec.decode_record(codec.encode_record(record)) == record


def test_a_blob_in_neither_format_is_an_error_that_says_so() -> None:
    with pytest.raises(ValueError, match="neither a zstd frame nor a zlib stream"):
        codec.decompress(b"plain text, never compressed")
