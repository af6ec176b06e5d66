"""`python -m bench`: end-to-end throughput, peak memory and search latency, each next to a same-run baseline.

For each size N it starts the sandbox daemon serving N generated records of one portal kind (a separate process, so
the harvester is measured alone), then measures:

* baselines: a plain httpx client fetching the same listing (and the per-record documents the connector fetches), and
  the raw JSON parse of the same bytes;
* dmlake end to end: `dmlake harvest` in a fresh home (harvest + map + catalogue + index), its wall time, records/s,
  peak RSS (the child's rusage) and the CPU each of its processes spent per record (main process, index follower,
  mapping workers; sampled with psutil, a figure the load of a shared machine hardly moves), with the sandbox's CPU
  and the load average;
* search latency p50/p95 for text, text + filters and text + facets through the query model, next to a bare tantivy
  query loop over the same index.

It prints a table and writes the figures as JSON under `bench/results/`. It never fails a test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from bench.cpu import TreeCpu, process_cpu

REPO = Path(__file__).resolve().parent.parent
DMLAKE = [sys.executable, "-m", "harvester.cli"]
QUERIES = {
    "text": ("dataset", [], []),  # matches most records: the ranking cost, not an empty result
    "text + filters": ("collision", ["experiment=CMS", "year=2010..2016"], []),
    "text + facets": ("data", [], ["experiment", "messenger", "year", "resource_category"]),
}


@dataclass
class Figures:
    kind: str
    records: int
    plain_client_seconds: float = 0.0
    plain_client_requests: int = 0
    raw_parse_seconds: float = 0.0
    raw_bytes: int = 0
    harvest_seconds: float = 0.0
    index_seconds: float = 0.0
    end_to_end_seconds: float = 0.0
    peak_rss_mib: float = 0.0
    catalogue_mib: float = 0.0
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    bare_tantivy_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_record: dict[str, float] = field(default_factory=dict)
    """The harvest's CPU per record by process role, and `sandbox` for the replica serving it."""
    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average before and after the harvest."""

    @property
    def records_per_second(self) -> float:
        return self.records / self.end_to_end_seconds if self.end_to_end_seconds else 0.0


def start_sandbox(kind: str, count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    state = workdir / "sandbox.json"
    log = (workdir / "sandbox.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--state", str(state), "--generate", str(count), "--kinds", kind],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    deadline = time.monotonic() + 600
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox did not start; see {workdir / 'sandbox.log'}")
        time.sleep(0.1)
    url = json.loads(state.read_text())["sources"][kind]["url"]
    return process, url


class RawParse:
    """The raw-parse baseline: each body the plain client receives is parsed as it arrives and timed, then dropped
    (keeping a million bodies for a later loop would make the benchmark itself use gigabytes)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.bytes = 0

    def append(self, body: bytes) -> None:
        started = time.perf_counter()
        orjson.loads(body)
        self.seconds += time.perf_counter() - started
        self.bytes += len(body)


def plain_client(kind: str, url: str) -> tuple[float, int, RawParse]:
    """The baseline harvester: the same listing with a bare httpx loop; no mapping, no storage. Its time excludes
    the raw parse, which is reported on its own."""
    bodies = RawParse()
    requests = 0
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        if kind == "cernopendata":
            requests += _plain_cernopendata(client, url, bodies)
        elif kind == "zenodo":
            requests += _plain_zenodo(client, url, bodies)
        elif kind == "hepdata":
            ids = orjson.loads(client.get(f"{url}/search/ids", params={"inspire_ids": "true"}).content)
            requests += 1
            for inspire in ids:
                response = client.get(f"{url}/record/ins{inspire}", params={"format": "json"})
                requests += 1
                bodies.append(response.content)
    return time.perf_counter() - started - bodies.seconds, requests, bodies


def _plain_cernopendata(client: httpx.Client, url: str, bodies: RawParse) -> int:
    """Recid windows small enough for the 10,000-hit search window, every page, every record document."""
    requests = 0

    def search(q: str, page: int, size: int) -> dict[str, Any]:
        nonlocal requests
        response = client.get(
            f"{url}/api/records/", params={"q": q, "page": page, "size": size, "ondemand": "true", "sort": "mostrecent"}
        )
        requests += 1
        bodies.append(response.content)
        return orjson.loads(response.content)  # type: ignore[no-any-return]

    total = search("", 1, 1)["hits"]["total"]
    seen = 0
    low, width = 0, 9000
    while seen < total:
        first = search(f"recid:[{low} TO {low + width - 1}]", 1, 1000)
        if first["hits"]["total"] >= 10_000:
            width //= 2
            continue
        pages = [first]
        for page in range(2, (first["hits"]["total"] + 999) // 1000 + 1):
            pages.append(search(f"recid:[{low} TO {low + width - 1}]", page, 1000))
        for body in pages:
            for hit in body["hits"]["hits"]:
                detail = client.get(f"{url}/api/records/{hit['id']}")
                requests += 1
                bodies.append(detail.content)
                seen += 1
        low += width
    return requests


def _plain_zenodo(client: httpx.Client, url: str, bodies: RawParse) -> int:
    """25 hits a page (Zenodo's anonymous limit), keyset on the update stamp past the 10,000-hit window."""
    requests, seen = 0, set[str]()
    stamp = ""
    while True:
        q = f'updated:["{stamp}" TO *]' if stamp else ""
        response = client.get(
            f"{url}/api/records",
            params={"q": q, "sort": "updated-asc", "size": 25, "page": 1, "all_versions": "true"},
            headers={"Accept": "application/vnd.inveniordm.v1+json"},
        )
        requests += 1
        bodies.append(response.content)
        hits = orjson.loads(response.content)["hits"]["hits"]
        fresh = [h for h in hits if h["id"] not in seen]
        if not fresh:
            return requests
        seen.update(h["id"] for h in fresh)
        stamp = hits[-1]["updated"]


# A tiny launcher measures the harvest's peak RSS: `ru_maxrss` survives fork and exec, so a child forked straight
# from this benchmark process would report this process's own memory if that were larger than the harvest's.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], "w").write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def dmlake_harvest(
    home: Path, sources_file: Path, kind: str, cpu: dict[str, float] | None = None
) -> tuple[float, float, float]:
    """Wall seconds, index seconds and peak RSS (MiB) of `dmlake harvest` and its workers, in a fresh home; with
    `cpu`, the CPU seconds of each process role are added to it."""
    home.mkdir(parents=True, exist_ok=True)
    rss_file, out_file, err_file = home / "peak-rss-kib", home / "harvest.out", home / "harvest.err"
    started = time.perf_counter()
    with out_file.open("wb") as out, err_file.open("wb") as err:
        done = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(rss_file), *DMLAKE, "--home", str(home), "--config",
             str(sources_file), "harvest", kind],
            stdout=out, stderr=err, cwd=REPO,
        )  # fmt: skip
        tree = TreeCpu(done.pid)
        while done.poll() is None:
            tree.sample()
            time.sleep(0.25)
    wall = time.perf_counter() - started
    if cpu is not None:
        for role, seconds in tree.by_role().items():
            cpu[role] = cpu.get(role, 0.0) + seconds
    stderr = err_file.read_text(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"dmlake harvest failed:\n{out_file.read_text(errors='replace')}\n{stderr}")
    match = re.search(r"index: [\d,]+ changes applied in ([\d.]+) s", stderr)
    index_seconds = float(match.group(1)) if match else 0.0
    return wall, index_seconds, int(rss_file.read_text()) / 1024


def latencies(home: Path, repeat: int) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    from dmlake.lake import Lake
    from indexer.query import Query

    lake = Lake.open(home)
    figures: dict[str, dict[str, float]] = {}
    for name, (text, filters, facets) in QUERIES.items():
        query = Query.parse(text, filters=filters, facets=facets, size=10)
        lake.search(query)  # warm caches as a serving process would be
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            lake.search(query)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        figures[name] = {
            "p50": statistics.median(samples),
            "p95": samples[int(0.95 * (len(samples) - 1))],
        }
    bare = lake.index.bare_query_latency_ms("muon", repeat)
    lake.close()
    return figures, bare


def run_size(kind: str, count: int, repeat: int, workdir: Path) -> Figures:
    figures = Figures(kind, count)
    sandbox, url = start_sandbox(kind, count, workdir)
    try:
        figures.plain_client_seconds, figures.plain_client_requests, parsed = plain_client(kind, url)
        figures.raw_bytes, figures.raw_parse_seconds = parsed.bytes, parsed.seconds
        sources = workdir / "sources.toml"
        sources.write_text(
            f'[sources.{kind}]\nkind = "{kind}"\nurl = "{url}"\n[sources.{kind}.limits]\nconcurrency = 8\n'
            'requests_per_minute = "unlimited"\n'  # a local replica: the polite default rate would be the measure
        )
        home = workdir / "home"
        served, cpu = psutil.Process(sandbox.pid), dict[str, float]()
        load, sandbox_cpu = os.getloadavg()[0], process_cpu(served)
        wall, index_seconds, rss = dmlake_harvest(home, sources, kind, cpu)
        cpu["sandbox"] = process_cpu(served) - sandbox_cpu
        figures.cpu_ms_per_record = {role: seconds * 1000 / count for role, seconds in sorted(cpu.items())}
        figures.load = (load, os.getloadavg()[0])
        figures.end_to_end_seconds = wall
        figures.index_seconds = index_seconds
        figures.harvest_seconds = wall - index_seconds
        figures.peak_rss_mib = rss
        figures.catalogue_mib = sum(p.stat().st_size for p in home.rglob("*") if p.is_file()) / 2**20
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    figures.latency_ms, figures.bare_tantivy_ms = latencies(workdir / "home", repeat)
    return figures


def table(results: list[Figures]) -> str:
    lines = [
        "| kind | records | end to end | records/s | plain client (baseline) | raw JSON parse (baseline) | "
        "index part | peak RSS | search p50/p95 text | text + filters | text + facets | bare tantivy p50/p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in results:
        plain_rate = f.records / f.plain_client_seconds if f.plain_client_seconds else 0
        parse_rate = f.records / f.raw_parse_seconds if f.raw_parse_seconds else 0

        def pair(name: str, lat: dict[str, dict[str, float]] = f.latency_ms) -> str:
            return f"{lat[name]['p50']:.1f} / {lat[name]['p95']:.1f} ms" if name in lat else "-"

        lines.append(
            f"| {f.kind} | {f.records:,} | {f.end_to_end_seconds:.1f} s | {f.records_per_second:,.0f} | "
            f"{plain_rate:,.0f} rec/s ({f.records_per_second / plain_rate:.2f}×) | "
            f"{parse_rate:,.0f} rec/s | {f.index_seconds:.1f} s | {f.peak_rss_mib:,.0f} MiB | "
            f"{pair('text')} | {pair('text + filters')} | {pair('text + facets')} | "
            f"{f.bare_tantivy_ms.get('p50', 0):.2f} / {f.bare_tantivy_ms.get('p95', 0):.2f} ms |"
        )
    return "\n".join(lines)


def cpu_line(f: Figures) -> str:
    roles = ", ".join(f"{role} {ms:.3f}" for role, ms in f.cpu_ms_per_record.items() if role != "sandbox")
    harvest = sum(ms for role, ms in f.cpu_ms_per_record.items() if role != "sandbox")
    return (
        f"{f.kind} {f.records:,}: harvest CPU {harvest:.3f} ms/record ({roles}); sandbox "
        f"{f.cpu_ms_per_record.get('sandbox', 0):.3f} ms/record; load average {f.load[0]:.1f} → {f.load[1]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--kind", default="cernopendata", help="portal kind to generate (cernopendata, zenodo, hepdata)"
    )
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated record counts")
    parser.add_argument("--repeat", type=int, default=200, help="searches per latency figure")
    parser.add_argument(
        "--workdir", type=Path, default=None,
        help="keep each size's sandbox and home in WORKDIR/KIND-N, to query again later (default: a temporary folder)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"{args.kind}: {size:,} records ...", file=sys.stderr, flush=True)
        if args.workdir is not None:
            kept = args.workdir / f"{args.kind}-{size}"
            if kept.exists():
                shutil.rmtree(kept)
            kept.mkdir(parents=True)
            figures = run_size(args.kind, size, args.repeat, kept)
        else:
            with tempfile.TemporaryDirectory(prefix=f"dmlake-bench-{size}-") as workdir:
                figures = run_size(args.kind, size, args.repeat, Path(workdir))
        results.append(figures)
        print(table([figures]).splitlines()[-1], file=sys.stderr, flush=True)
        print(cpu_line(figures), file=sys.stderr, flush=True)
    print(table(results))
    for figures in results:
        print(cpu_line(figures))
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "results": [asdict(r) | {"records_per_second": r.records_per_second} for r in results],
    }
    (out / f"{args.kind}-{stamp}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
