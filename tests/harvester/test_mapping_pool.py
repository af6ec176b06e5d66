"""Mapping on worker processes gives exactly what mapping inline gives, failures included, in page order."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import orjson
from starlette.testclient import TestClient

from connectors.base import RawRecord
from connectors.cernopendata import CernOpenDataConnector
from harvester.catalogue import Mapped, Rejected
from harvester.mapping import Mapper
from sandbox.replicas.cernopendata import CernOpenDataReplica


def raw_records(count: int) -> list[RawRecord]:
    replica = CernOpenDataReplica.generated(count, seed=4)
    client = TestClient(replica.app())
    raws = []
    for index in range(count):
        entry = replica.store.entry(index)
        assert entry is not None
        body = client.get(f"/api/records/{entry.native_id}").content
        raws.append(RawRecord(entry.native_id, body, "application/json", f"replica:{entry.native_id}", None))
    broken = orjson.loads(raws[7].payload)
    broken["metadata"]["files"] = [{"checksum": "adler32:not-hex", "size": 1, "filename": "x", "uri": "root://x/y"}]
    raws[7] = RawRecord(raws[7].native_id, orjson.dumps(broken), "application/json", raws[7].url, None)
    return raws


def test_pool_equals_inline_and_keeps_order() -> None:
    raws = raw_records(60)
    when = datetime(2026, 1, 2, tzinfo=UTC)
    inline = Mapper(workers=0).map_page(CernOpenDataConnector, raws, "cern", 1, when)
    pool = Mapper(workers=2)
    try:
        job = pool.submit(CernOpenDataConnector, raws, "cern", 1, when)
        assert pool._pool is not None, "a 60-record page of a registered kind must go to the pool"
        pooled = job.result()
        workers = {p.pid for p in pool._pool._processes.values()}
    finally:
        pool.close()
    assert os.getpid() not in workers
    assert [o.raw.native_id for o in pooled] == [r.native_id for r in raws]
    assert pooled == inline
    rejected = [o for o in pooled if isinstance(o, Rejected)]
    assert [(r.raw.native_id, r.stage) for r in rejected] == [(raws[7].native_id, "mapping")]
    assert "checksum" in rejected[0].field
    assert sum(isinstance(o, Mapped) for o in pooled) == 59


def test_small_pages_and_unknown_kinds_map_inline() -> None:
    raws = raw_records(10)
    mapper = Mapper(workers=2)
    mapper.map_page(CernOpenDataConnector, raws, "cern", 1, datetime.now(UTC))
    assert mapper._pool is None
    mapper.close()
