"""A harvest keeps nothing per record in memory: what it needs across pages (the ids seen by the listing for deletion
by disappearance, identity clusters, the raw store) lives in the catalogue, and a batch is dropped once committed.

Measured with tracemalloc on the Python heap, never on RSS or time: tracing starts with the first commit past 1,000
of 5,000 generated Zenodo records, and after the run the allocations made since then by dmlake's own code that are
still alive must stay below what 2,500 records would leave behind if anything kept even a short id per record.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc
from pathlib import Path

from dmlake.lake import Lake
from harvester.harvest import Progress
from harvester.mapping import Mapper
from sandbox.replicas.zenodo import ZenodoReplica
from sandbox.server import start

RECORDS = 5_000
TRACE_FROM = 1_000
OWN_CODE = ("harvester", "connectors", "ontology", "indexer", "dmlake")
RETAINED_LIMIT = 64 * 1024
"""Bytes: an id of 7 characters kept per record would be at least 2,500 × 56 = 140,000."""


def test_a_harvest_retains_nothing_per_record(tmp_path: Path) -> None:
    repository = Path(__file__).resolve().parents[2]
    own = tuple(str(repository / package) + "/" for package in OWN_CODE)
    with start({"zenodo": ZenodoReplica.generated(RECORDS, seed=11)}) as sandbox:
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[sources.zenodo]\nkind = "zenodo"\nurl = "{sandbox.urls["zenodo"]}"\n'
            '[sources.zenodo.limits]\nrequests_per_minute = "unlimited"\n'
        )
        lake = Lake.open(tmp_path / "home")
        configured = lake.sources(sources)
        traced_from: list[int] = []

        def on_progress(progress: Progress) -> None:
            if not traced_from and progress.records >= TRACE_FROM:
                traced_from.append(progress.records)
                tracemalloc.start(1)

        try:
            with lake.harvester(configured.contact) as harvester:
                harvester.mapper = Mapper(workers=0)  # mapping in this process: its allocations are traced too
                report = harvester.harvest(configured.select(("zenodo",))[0], on_progress=on_progress)
                state, added = report.state, report.counts.added
                del report
            gc.collect()
            snapshot = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
            lake.close()
    assert (state, added) == ("succeeded", RECORDS)
    # batches commit up to 1,000 records at once: tracing starts at the first commit past TRACE_FROM
    assert traced_from and traced_from[0] <= RECORDS // 2, "tracing started too late to see growth"
    retained = [s for s in snapshot.statistics("lineno") if s.traceback[0].filename.startswith(own)]
    total = sum(s.size for s in retained)
    sites = "\n".join(f"{s.size:>9} B {s.count:>6} blocks  {s.traceback[0]}" for s in retained[:10])
    assert total < RETAINED_LIMIT, (
        f"{total} bytes allocated by dmlake after record {traced_from[0]} are still held:\n{sites}"
    )


def test_bulk_processes_trim_their_heap_on_one_thread() -> None:
    """In a process of its own: the tuning freezes the collector, which a test process must not do to itself."""
    program = (
        "import threading\n"
        "from harvester import heap\n"
        "from harvester.gc_tuning import tune_for_bulk_work\n"
        "assert not heap.trimming()\n"
        "tune_for_bulk_work()\n"
        "tune_for_bulk_work()\n"
        "print(heap.trimming(), [t.daemon for t in threading.enumerate() if t.name == 'heap-trim'])\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "[True]"]
