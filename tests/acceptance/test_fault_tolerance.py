"""Issue #3 acceptance 4: with 10% injected faults of every kind on every replica, a full harvest ends with exactly
the catalogue (and index) of a fault-free harvest, and the run report counts the retries; with `Retry-After: 5`
the client waits at least 5 s.

Every source registered in `sandbox.replicas.REPLICA_CLASSES` is a case (a newly registered replica is tested, and
fails, from the moment it is registered). Each harvests a small generated replica through the real pipeline
(sandbox → harvester → catalogue → index) with tight timeouts:

1. a fault-free full harvest: the reference;
2. a full harvest into a fresh lake with 10% of requests faulted, the kind drawn from every kind but page changes
   (429 and 503 with Retry-After, 500, 502, 504, stalls past the timeout, slow answers within it, truncated bodies,
   malformed JSON/XML, connection resets and drops): catalogue and index exactly the reference's, and at least one
   retry counted in the run report for every fault that made a request fail;
3. a full harvest into another fresh lake with 10% faults of every kind *including* pages that change between
   calls (records edited while the listing runs): the same records as the reference, nothing lost or doubled, and
   every record the edits did not touch identical to the reference, the touched ones either as before or as after
   their edit; then an incremental run of it (still under faults, edits stopped) ends with exactly the catalogue and
   index of a fault-free full harvest of the edited replica.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lakes import harvest_all, replica_requests, sources_of

from dmlake.lake import Lake
from harvester.config import SourcesConfig
from harvester.harvest import SourceReport
from harvester.runs import Runs
from indexer.query import Query
from sandbox.faults import MIXED_KINDS, FaultPlan
from sandbox.replicas import REPLICA_CLASSES, replica_class
from sandbox.server import RunningSandbox, start

RECORDS = 240
"""Records of a generated replica: a few hundred requests per harvest (CERN fetches each record, Zenodo pages)."""
SEED = 3
TIMEOUT = 1.0
LIMITS = f"timeout = {TIMEOUT}\nconcurrency = 4\nmax_retries = 8\n"
FAULT_RATE = 0.1
FAILING = ("stall", "truncate", "reset", "drop")
"""Faults that make the request fail on the client's side (besides every status); `malformed` does too when the
answer is JSON or XML, `slow` and `change` never do."""

SIZES = {"dmdc": 40}
"""Records per replica where the default would make a slow test: a GitLab project costs about ten requests."""


def everything(*, seed: int, changes: bool) -> list[dict[str, Any]]:
    """10% of requests faulted, each with a kind drawn from all of them; the first two requests always, so a source
    answering in a handful of requests (one HTML page, a few OAI pages) meets faults too."""
    kinds = [k for k in MIXED_KINDS if changes or k != "change"]
    options: dict[str, Any] = {
        "seed": seed,
        "retry_after": 1,
        "stall_seconds": TIMEOUT + 1.0,  # past the timeout: the client must give up and ask again
        "slow_seconds": TIMEOUT * 0.4,  # within it: the client must simply wait
        "kinds": kinds,
    }
    first = FaultPlan(kind="mixed", every=1, max_faults=2, **options)
    plans = [first.to_dict(), FaultPlan.everything(FAULT_RATE, **options).to_dict()]
    if changes:  # the second request changes the store, however few requests the harvest makes
        plans.insert(0, FaultPlan(kind="change", every=2, max_faults=1).to_dict())
    return plans


def set_faults(running: RunningSandbox, name: str, plans: list[dict[str, Any]]) -> None:
    response = httpx.put(f"{running.urls[name]}/_sandbox/faults", json=plans, timeout=30)
    assert response.status_code == 200, response.text


def fault_counts(running: RunningSandbox, name: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    plans = httpx.get(f"{running.urls[name]}/_sandbox/faults", timeout=30).json()
    by_kind: dict[str, int] = {}
    edited: list[tuple[str, str]] = []
    for plan in plans:
        for kind, count in plan["by_kind"].items():
            by_kind[kind] = by_kind.get(kind, 0) + count
        edited += [(native, when) for native, when in plan["edited"]]
    return by_kind, edited


def catalogue_rows(lake: Lake) -> dict[str, tuple[str, str, bool]]:
    """native id → (record id, content hash, live), for every record the lake holds."""
    rows = {}
    for stored in lake.catalogue.iter_records(include_tombstones=True, batch=5000):
        assert stored.native_id not in rows, f"{stored.native_id} is in the catalogue twice"
        rows[stored.native_id] = (stored.id, stored.content_hash, stored.tombstone is None)
    return rows


def index_state(lake: Lake) -> dict[str, Any]:
    walked: list[str] = []
    cursor = None
    while True:
        page = lake.search(Query.parse("", sort="title", size=1000, cursor=cursor))
        walked += [hit.id for hit in page.hits]
        cursor = page.next_cursor
        if not cursor:
            break
    facets = lake.search(Query.parse("", facets=["source", "experiment", "year"], size=0)).facets
    return {
        "ids": sorted(walked),
        "unique": len(walked) == len(set(walked)),
        "facets": {key: sorted((v.value, v.count) for v in values) for key, values in facets.items()},
    }


def state(lake: Lake) -> dict[str, Any]:
    return {
        "records": catalogue_rows(lake),
        "quarantined": sorted((q.native_id, q.field, q.message) for q in lake.catalogue.quarantined()),
        "index": index_state(lake),
    }


def explain(got: dict[str, Any], truth: dict[str, Any], before: dict[str, Any]) -> str:
    """Per differing record: whether the lake holds it as it was before the edits (a change an incremental missed)."""
    lines = []
    for native in sorted(got["records"].keys() | truth["records"].keys()):
        mine, right = got["records"].get(native), truth["records"].get(native)
        if mine != right:
            how = "as before the edits" if mine == before.get(native) else "neither as before nor as now"
            lines.append(f"  {native}: {'missing' if mine is None else how}")
    lines += [f"  {key} differs" for key in ("quarantined", "index") if got[key] != truth[key]]
    return "\n".join(lines)


def harvest(lake: Lake, config: SourcesConfig, name: str, **options: Any) -> SourceReport:
    report = harvest_all(lake, config, **options)[name]
    assert report.state == "succeeded", f"{name}: {report.state}: {report.message}"
    assert report.counts.errored == 0, f"{name}: {report.counts.errored} records could not be fetched"
    assert report.pending_deletions == 0, f"{name}: the deletion guard held back {report.pending_deletions}"
    return report


def recorded_retries(lake: Lake, report: SourceReport) -> int:
    run = next(r for r in Runs(lake.catalogue.engine).recent(report.source) if r.id == report.run_id)
    return run.retries


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[tuple[str, RunningSandbox, SourcesConfig]]:
    name: str = request.param
    replica = replica_class(name).generated(SIZES.get(name, RECORDS), SEED)
    with start({name: replica}) as running:
        yield name, running, sources_of(running, **{name: LIMITS})


@pytest.mark.parametrize("sandbox", sorted(REPLICA_CLASSES), indirect=True)
def test_ten_percent_faults_of_every_kind_end_with_the_fault_free_catalogue(
    sandbox: tuple[str, RunningSandbox, SourcesConfig], tmp_path: Path
) -> None:
    name, running, config = sandbox

    # 1. the reference
    reference = Lake.open(tmp_path / "reference")
    harvest(reference, config, name)
    expected = state(reference)
    live = {native for native, (_, _, alive) in expected["records"].items() if alive}
    assert len(live) >= 20, f"{name}: the reference harvest holds only {len(live)} records"
    # the index holds one document per dataset: records of one dataset (versions of a release) are one hit
    live_ids = [stored.id for stored in reference.catalogue.iter_records()]
    clusters = reference.catalogue.clusters(live_ids)
    datasets = {clusters.get(record, (record,))[0] for record in live_ids}
    assert len(live_ids) == len(live)
    assert expected["index"]["unique"] and len(expected["index"]["ids"]) == len(datasets)

    # 2. every kind of fault but page changes: exactly the reference, retries counted
    set_faults(running, name, everything(seed=SEED, changes=False))
    faulty = Lake.open(tmp_path / "faulty")
    report = harvest(faulty, config, name)
    by_kind, edited = fault_counts(running, name)
    assert not edited
    failing = sum(n for kind, n in by_kind.items() if kind.startswith("status:") or kind in FAILING)
    assert failing >= 1 and sum(by_kind.values()) >= 2, f"{name}: only {by_kind} injected; the test proves nothing"
    assert report.retries >= failing, f"{name}: {report.retries} retries counted for {failing} failed requests"
    # a malformed body fails only when it is JSON or XML; a little slack for answers slowed past the timeout by load
    assert report.retries <= failing + by_kind.get("malformed", 0) + 3
    assert recorded_retries(faulty, report) == report.retries
    got = state(faulty)
    assert got == expected, f"{name}: under faults {by_kind} the catalogue or index differs from the fault-free one"

    # 3. every kind, pages changing between calls included; the truth is a fault-free full harvest afterwards
    set_faults(running, name, everything(seed=SEED + 1, changes=True))
    changing = Lake.open(tmp_path / "changing")
    harvest(changing, config, name)
    by_kind, edited = fault_counts(running, name)
    assert edited, f"{name}: no page changed during the run ({by_kind}); the test proves nothing"
    during = state(changing)["records"]
    set_faults(running, name, [])
    fresh = Lake.open(tmp_path / "fresh")
    harvest(fresh, config, name)
    now = state(fresh)["records"]
    # Records the edits touched (a new revision, a new version where the source makes one, an older version that
    # now names a newer one) may be seen before or after their edit; every other record must be exactly the
    # reference's, and none may be lost or made up.
    before = expected["records"]
    touched = {n for n in now.keys() | before.keys() if before.get(n) != now.get(n)}
    for native, row in now.items():
        if native not in touched:
            assert during.get(native) == row, f"{name}: {native} was never edited but differs or is missing"
    for native, row in during.items():
        assert row in (before.get(native), now.get(native)), f"{name}: {native} is neither as before nor as after"

    # an incremental run of the changed lake (still under faults, edits stopped) ends with the fault-free full
    # harvest of the same state
    set_faults(running, name, everything(seed=SEED + 2, changes=False))
    harvest(changing, config, name)
    got, truth = state(changing), state(fresh)
    assert got == truth, f"{name}: after the edits the faulted lake differs:\n" + explain(got, truth, before)
    for lake in (reference, faulty, changing, fresh):
        lake.close()


def test_retry_after_five_seconds_holds_every_request_to_the_host(tmp_path: Path) -> None:
    name = "cernopendata"
    with start({name: replica_class(name).generated(60, SEED)}) as running:
        config = sources_of(running, **{name: "concurrency = 4\n"})
        # the fourth request is refused with Retry-After: 5 (a record fetch, while others are in flight)
        set_faults(running, name, [{"kind": "status", "status": 429, "retry_after": 5, "every": 4, "max_faults": 1}])
        replica_requests(running, name, clear=True)
        lake = Lake.open(tmp_path / "lake")
        started = time.monotonic()
        report = harvest(lake, config, name)
        assert time.monotonic() - started >= 5
        log = replica_requests(running, name)
        refused = [i for i, entry in enumerate(log) if entry["status"] == 429]
        assert len(refused) == 1 and report.retries == 1
        at = log[refused[0]]
        again = next(e for e in log[refused[0] + 1 :] if (e["path"], e["query"]) == (at["path"], at["query"]))
        assert again["time"] - at["time"] >= 5.0, "the client asked again before Retry-After had passed"
        assert again["status"] == 200
        # the hold is for the host, not only the refused request: nothing new reached it in the meantime
        meanwhile = [e for e in log if at["time"] + 0.25 < e["time"] < at["time"] + 5.0]
        assert not meanwhile, f"{len(meanwhile)} requests reached the host during its Retry-After"
        assert len(lake.catalogue.quarantined()) == 0
        lake.close()
