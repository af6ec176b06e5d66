"""`python -m bench.search_load`: the search API under load (issue 5, acceptance 5), next to bare tantivy.

    python -m bench.search_load --records 100000 --clients 16 --duration 60

1. **Index.** N generated records (`sandbox.generated_records`, the index tests' records: varied titles,
   descriptions, experiments, √s, energy intervals, dates, files) are indexed straight into the embedded tantivy
   index of a fresh dmlake home (`Record` → `index_document` → `TantivyIndex.index_documents`): a full harvest of
   1M records through the sandbox takes about half an hour here and measures the harvester, not search. The
   catalogue stays empty; search reads only the index. With `--reuse` an index of the same size and the same
   generated records from an earlier run is used again (and of the same index document schema).
2. **Service.** `dmlake serve` (uvicorn, the real service) starts on 127.0.0.1 over that home.
3. **Load.** 16 closed-loop clients run for `--duration` seconds (after `--warmup` seconds not counted) over a
   fixed mix of portal queries (`QUERIES`: words, field syntax, energies with units, overlap filters, facets,
   histograms, projection, highlighting, sorts); each client sends its next request when the previous answer has
   arrived. The clients are one event loop in this process speaking HTTP/1.1 keep-alive by hand
   (`RawHttpConnection`, about 0.1 ms of CPU per request): on two cores, clients that cost a millisecond each
   (httpx) would take CPU from the service they measure. Recorded: requests, throughput, p50/p95/p99 latency,
   errors (any non-200, a body that is no search answer, or a transport error; must be 0), latency and matches per
   query, the CPU of the clients and of the service's process tree, and the load average around the measured
   window. The mix repeats twelve queries, so facets are counted once and then served from the index's facet
   cache (per index state); the hits and totals are searched on every request.
4. **Baseline.** In the same run, a bare tantivy loop: the same texts parsed once and searched (top 20 and the
   count) in a tight loop on one thread — what the engine alone costs, without HTTP, filters, facets or JSON —
   and each query of the mix alone through the embedded backend (`engine_per_query`: CPU ms of the whole search,
   facets from the cache as under the load; and tantivy's first page of it with and without counting every
   match), so the load's latencies can be read against what each query costs.

`--py-spy FILE` records the service with py-spy (the thread holding the GIL, raw stack counts) during the load.
On a shared machine the absolute figures are pessimistic. Prints a table; writes
`bench/results/search-load-<N>-<time>.json`. Never fails a test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from indexer.document import SCHEMA_VERSION
from sandbox.generated_records import generated_records

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
TARGET_P95_MS = 100.0
# Written next to a built index: --reuse takes only an index of these records (not one of an earlier generator).
GENERATOR = "sandbox.generated_records/1"

QUERIES: list[dict[str, Any]] = [
    {"q": "muon"},
    {"q": "dark matter", "facet": ["experiment", "messenger"]},
    {"q": "higgs boson", "filter": ["experiment=CMS"]},
    {"q": "experiment:cms energy:[1 TeV TO 100 TeV]"},
    {"q": "sqrt_s:13TeV jets", "fields": "title,doi,experiment"},
    {"q": "", "filter": ["date=2015-01-01..2018-12-31"], "facet": ["year_histogram"]},
    {"q": "neutrino", "filter": ["energy=1GeV..1PeV"], "facet": ["energy_histogram"]},
    {"q": "cross section", "highlight": "true"},
    {"q": "", "facet": ["experiment", "source", "license", "file_format"]},
    {"q": "collision", "sort": "-issued", "filter": ["year=2010..2016"]},
    {"q": "messenger:neutrino OR messenger:photon", "facet": ["technique"]},
    {"q": '"open data" date:>=2016', "size": "50"},
]


def build_index(home: Path, records: int) -> dict[str, Any]:
    """Index N generated records into the home's embedded index; returns how long it took."""
    from dmlake.lake import Lake
    from indexer.document import index_document
    from indexer.tantivy_backend import TantivyIndex

    lake = Lake.open(home)
    index_dir = lake.home.index_dir
    lake.close()
    index = TantivyIndex(index_dir, heap_bytes=512_000_000, writer_threads=2)
    started = time.perf_counter()
    done = 0
    batch: list[dict[str, Any]] = []
    for record in generated_records(records):
        batch.append(index_document(record))
        if len(batch) == 10_000:
            done += index.index_documents(batch)
            batch = []
            if done % 100_000 == 0:
                print(f"  indexed {done:,} / {records:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    done += index.index_documents(batch)
    index.commit()
    index.close()
    seconds = time.perf_counter() - started
    (home / "bench-index.json").write_bytes(
        orjson.dumps({"records": records, "generator": GENERATOR, "schema_version": SCHEMA_VERSION, "seconds": seconds})
    )
    return {"records": done, "seconds": round(seconds, 1), "documents_per_second": round(done / seconds)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(home: Path, port: int, log: Path, search_threads: int | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "harvester.cli", "--home", str(home), "serve", "--port", str(port)]
    if search_threads is not None:
        command += ["--search-threads", str(search_threads)]
    with log.open("wb") as stderr:  # a file, not a pipe nobody reads: a chatty service must never block on it
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dmlake serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/search?size=0", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("dmlake serve did not answer within 10 minutes")


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and all its descendants, read from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree = {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(children)
        tree |= children
    return sum(times.get(pid, 0.0) for pid in tree)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class RawHttpConnection:
    """One keep-alive HTTP/1.1 connection spoken by hand: a request is a few prepared bytes, an answer is read by
    its Content-Length (or chunks). httpx costs about a millisecond of CPU per request in the client, which on two
    cores would be taken from the service being measured; this costs some tens of microseconds."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        headers = {}
        for line in header_block.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            body = await self._reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = await self._read_chunks()
        else:
            body = await self._reader.read()
        if headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        return status, body

    async def _read_chunks(self) -> bytes:
        assert self._reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def search_requests(host: str, port: int) -> list[bytes]:
    """The prepared GET request of each query of the mix."""
    return [
        f"GET /api/search?{urlencode(params, doseq=True)} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        for params in QUERIES
    ]


async def closed_loop(host: str, port: int, clients: int, duration: float) -> dict[str, Any]:
    """`clients` closed-loop clients on one event loop, each on its own keep-alive connection, for `duration` s (and
    on until every query of the mix was asked at least once)."""
    requests = search_requests(host, port)
    latencies: list[float] = []
    by_query: list[list[float]] = [[] for _ in QUERIES]
    matches: list[int | None] = [None for _ in QUERIES]
    asked = [False for _ in QUERIES]
    errors: list[str] = []
    stop = time.perf_counter() + duration

    async def client(number: int) -> None:
        connection = RawHttpConnection(host, port)
        position = number
        try:
            # past `duration` only until every query of the mix was asked once: a short run on a slow machine
            # would otherwise leave the last queries unmeasured
            while time.perf_counter() < stop or not all(asked):
                which = position % len(requests)
                position += 1
                asked[which] = True
                started = time.perf_counter()
                try:
                    status, body = await connection.get(requests[which])
                    if status != 200 or not body.startswith(b'{"total":'):
                        errors.append(f"{QUERIES[which]}: {status}: {body[:200]!r}")
                    elif matches[which] is None:
                        matches[which] = int(orjson.loads(body)["total"])
                except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                    errors.append(f"{QUERIES[which]}: {type(error).__name__}: {error}")
                    await connection.close()
                elapsed = (time.perf_counter() - started) * 1000
                latencies.append(elapsed)
                by_query[which].append(elapsed)
        finally:
            await connection.close()

    cpu_before = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_before
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "errors": len(errors),
        "first_errors": errors[:5],
        "client_cpu_seconds": round(client_cpu, 2),
        "client_cpu_share": round(client_cpu / elapsed, 3),
        "client_cpu_us_per_request": round(client_cpu / max(len(latencies), 1) * 1e6, 1),
        "per_query": [
            {
                "query": QUERIES[i],
                "matches": matches[i],
                "requests": len(samples),
                "p50_ms": round(percentile(samples, 0.50), 2),
                "p95_ms": round(percentile(samples, 0.95), 2),
            }
            for i, samples in enumerate(by_query)
        ],
    }


def mix_query(params: dict[str, Any]) -> Any:
    """The mix's query parameters as the service reads them (`indexer.query.Query`)."""
    from indexer.query import Query

    return Query.parse(
        params.get("q", ""),
        filters=params.get("filter", ()),
        facets=params.get("facet", ()),
        sort=params.get("sort"),
        size=int(params.get("size", 20)),
        fields=[params["fields"]] if "fields" in params else None,
        highlight=params.get("highlight") == "true",
    )


def engine_per_query(home: Path, repeat: int = 11) -> list[dict[str, float]]:
    """Per query of the mix alone, CPU milliseconds (median, this thread):

    * `engine_cpu_ms`: the whole `TantivyIndex.search` (filters, paging, hits, highlighting; facets from the cache,
      as under the load), without HTTP;
    * `counted_ms` / `uncounted_ms`: tantivy finding the first page of the query's documents (as the backend builds
      them, in its order) with and without counting every match: what an Elasticsearch-style `track_total_hits`
      (exact totals only up to a bound) could save. tantivy searches on the calling thread, so thread time is its
      work whatever else runs."""
    import statistics

    import tantivy

    from dmlake.lake import Lake
    from indexer.document import SORT_LEVELS
    from indexer.tantivy_backend import TantivyIndex, View

    lake = Lake.open(home)
    index_dir = lake.home.index_dir
    lake.close()
    index = TantivyIndex(index_dir)

    def cpu_ms(run: Any) -> float:
        run()
        samples = []
        for _ in range(repeat):
            started = time.thread_time()
            run()
            samples.append((time.thread_time() - started) * 1000)
        return round(statistics.median(samples), 2)

    costs = []
    for params in QUERIES:
        query = mix_query(params)
        view = View(*index._pinned_searcher())
        base = index._base_query(query, view)
        sort = query.effective_sort
        order: dict[str, Any] = {}
        if sort.lstrip("-") != "relevance":
            descending = sort.startswith("-")
            order = {
                "order_by_field": SORT_LEVELS[sort.lstrip("-")][0],
                "order": tantivy.Order.Desc if descending else tantivy.Order.Asc,
            }
        search = partial(view.searcher.search, base, limit=query.size + 1, **order)
        costs.append(
            {
                "engine_cpu_ms": cpu_ms(partial(index.search, query)),
                "counted_ms": cpu_ms(partial(search, count=True)),
                "uncounted_ms": cpu_ms(partial(search, count=False)),
            }
        )
    return costs


def bare_tantivy(home: Path, duration: float) -> dict[str, Any]:
    """The same texts, parsed once, searched for the top 20 in a loop on one thread: the engine alone."""
    from dmlake.lake import Lake
    from indexer.query_text import search_text
    from indexer.tantivy_backend import TantivyIndex

    lake = Lake.open(home)
    index_dir = lake.home.index_dir
    lake.close()
    index = TantivyIndex(index_dir)
    searcher = index._index.searcher()
    parsed = [index._text_query(search_text(q["q"])) if q["q"] else None for q in QUERIES]
    import tantivy

    queries = [query if query is not None else tantivy.Query.all_query() for query in parsed]
    latencies: list[float] = []
    stop = time.perf_counter() + duration
    position = 0
    cpu_before = time.thread_time()
    while time.perf_counter() < stop:
        started = time.perf_counter()
        searcher.search(queries[position % len(queries)], limit=20)
        latencies.append((time.perf_counter() - started) * 1000)
        position += 1
    cpu = time.thread_time() - cpu_before
    return {
        "seconds": duration,
        "queries": len(latencies),
        "throughput_qps": round(len(latencies) / duration, 1),
        # what the loop's thread spent per query: its latencies also hold the time it waited for a core
        "cpu_ms_per_query": round(cpu / max(len(latencies), 1) * 1000, 3),
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p95_ms": round(percentile(latencies, 0.95), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
    }


def measure_service(
    home: Path, args: argparse.Namespace, search_threads: int | None, log: Path
) -> tuple[dict[str, Any], tuple[float, ...], tuple[float, ...]]:
    """Start `dmlake serve` with this bound on concurrent searches, warm it up, run the closed-loop clients; the
    load's figures (with the service's CPU) and the load average before and after."""
    port = free_port()
    service = start_service(home, port, log, search_threads)
    profiler: subprocess.Popen[bytes] | None = None
    try:
        if args.warmup > 0:
            print(f"warming up for {args.warmup:g} s …", flush=True)
            asyncio.run(closed_loop("127.0.0.1", port, args.clients, args.warmup))
        if args.py_spy:
            py_spy = str(Path(sys.executable).with_name("py-spy"))
            slug = _threads_slug(search_threads)
            profile = args.py_spy.with_name(f"{args.py_spy.stem}-threads-{slug}{args.py_spy.suffix}")
            profiler = subprocess.Popen(
                [py_spy, "record", "--pid", str(service.pid), "--subprocesses", "--gil", "--format", "raw",
                 "--rate", "200", "--duration", str(int(args.duration)), "--output", str(profile)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        load_before = os.getloadavg()
        service_cpu = process_tree_cpu_seconds(service.pid)
        print(
            f"{args.clients} closed-loop clients for {args.duration:g} s against dmlake serve "
            f"({_threads_label(search_threads)}) …",
            flush=True,
        )
        load = asyncio.run(closed_loop("127.0.0.1", port, args.clients, args.duration))
        service_cpu = process_tree_cpu_seconds(service.pid) - service_cpu
        load_after = os.getloadavg()
        load["search_threads"] = search_threads
        load["service_cpu_seconds"] = round(service_cpu, 1)
        load["service_cpu_share"] = round(service_cpu / load["seconds"], 2)
        load["service_cpu_ms_per_request"] = round(service_cpu / max(load["requests"], 1) * 1000, 2)
        if profiler is not None:
            profiler.wait(timeout=120)
    finally:
        service.terminate()
        service.wait(timeout=30)
    return load, load_before, load_after


def _threads_label(search_threads: int | None) -> str:
    if search_threads is None:
        return "search threads: service default"
    return "searches unbounded" if search_threads == 0 else f"{search_threads} searches at a time"


def _threads_slug(search_threads: int | None) -> str:
    return "default" if search_threads is None else str(search_threads)


def _search_threads_list(text: str) -> list[int | None]:
    """`--search-threads 2,0`: each value a bound for one load run of the same benchmark (0: no bound)."""
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part in ("", "default"):
            values.append(None)
        elif part.isdigit():
            values.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"{part!r} is no search-thread count (a whole number, 0: no bound)")
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring (not counted)")
    parser.add_argument("--bare-seconds", type=float, default=20.0)
    parser.add_argument("--home", type=Path, default=None, help="default: var/bench-search-<N>")
    parser.add_argument("--reuse", action="store_true", help="use the index of an earlier run in --home")
    parser.add_argument("--py-spy", type=Path, default=None, help="record the service with py-spy into this file")
    parser.add_argument(
        "--search-threads",
        type=_search_threads_list,
        default=None,
        help="bounds on concurrent searches to measure in this run, e.g. 2,0 (0: none; default: the service's); "
        "the first is the headline figure, the others are printed next to it",
    )
    args = parser.parse_args(argv)
    home = args.home or REPO / "var" / f"bench-search-{args.records}"
    built: dict[str, Any] = {"reused": True}
    marker = home / "bench-index.json"
    if not (
        args.reuse
        and marker.exists()
        and orjson.loads(marker.read_bytes()).get("records") == args.records
        and orjson.loads(marker.read_bytes()).get("generator") == GENERATOR
        and orjson.loads(marker.read_bytes()).get("schema_version") == SCHEMA_VERSION
    ):
        if home.exists():
            import shutil

            shutil.rmtree(home)
        print(f"indexing {args.records:,} generated records into {home} …", flush=True)
        built = build_index(home, args.records)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = []
    for threads in args.search_threads or [None]:
        log = RESULTS / f"search-load-{args.records}-{stamp}-threads-{_threads_slug(threads)}.serve.log"
        runs.append(measure_service(home, args, threads, log))
    load, load_before, load_after = runs[0]
    print(f"bare tantivy loop for {args.bare_seconds:g} s …", flush=True)
    bare = bare_tantivy(home, args.bare_seconds)
    print("each query of the mix alone through the embedded backend …", flush=True)
    for row, costs in zip(load["per_query"], engine_per_query(home), strict=True):
        row.update(costs)
    result = {
        "benchmark": "search_load",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "records": args.records,
        "warmup_seconds": args.warmup,
        "index": built,
        "queries": QUERIES,
        "api": load,
        "api_other_search_threads": [other for other, _, _ in runs[1:]],
        "bare_tantivy": bare,
        "target_p95_ms": TARGET_P95_MS,
        "p95_met": load["p95_ms"] < TARGET_P95_MS and load["errors"] == 0,
    }
    out = RESULTS / f"search-load-{args.records}-{stamp}.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print()
    print(f"{'':28} {'requests':>9} {'per s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for run, _, _ in runs:
        name = f"/api/search ({args.clients} clients)"
        print(
            f"{name:28} {run['requests']:>9,} {run['throughput_rps']:>9,.1f} "
            f"{run['p50_ms']:>8.2f} {run['p95_ms']:>8.2f} {run['p99_ms']:>8.2f} {run['errors']:>7}  "
            f"{_threads_label(run['search_threads'])}; service {run['service_cpu_share']:.2f} cores, "
            f"{run['service_cpu_ms_per_request']:.2f} ms CPU/request"
        )
    print(
        f"{'bare tantivy (1 thread)':28} {bare['queries']:>9,} {bare['throughput_qps']:>9,.1f} "
        f"{bare['p50_ms']:>8.3f} {bare['p95_ms']:>8.3f} {bare['p99_ms']:>8.3f} {'-':>7}"
    )
    print(
        f"  {'p50 ms':>8} {'p95 ms':>8} {'engine':>7} {'counted':>8} {'uncounted':>9} {'matches':>9}  query "
        "(CPU ms of the query alone: engine = the whole search; counted/uncounted = tantivy's first page with and "
        "without counting every match)"
    )
    for row in load["per_query"]:
        found = "" if row["matches"] is None else f"{row['matches']:,}"
        shown = urlencode(row["query"], doseq=True)
        print(
            f"  {row['p50_ms']:>8.2f} {row['p95_ms']:>8.2f} {row['engine_cpu_ms']:>7.2f} {row['counted_ms']:>8.2f} "
            f"{row['uncounted_ms']:>9.2f} {found:>9}  {shown}"
        )
    print(
        f"records {args.records:,}; service CPU {load['service_cpu_share']:.2f} cores "
        f"({load['service_cpu_ms_per_request']:.2f} ms/request); client CPU {load['client_cpu_share']:.2f} cores "
        f"({load['client_cpu_us_per_request']:.0f} µs/request); load average before {load_before[0]:.1f}, "
        f"after {load_after[0]:.1f}"
    )
    print(f"bare tantivy: {bare['cpu_ms_per_query']:.2f} ms of CPU per query")
    print(f"p95 target {TARGET_P95_MS:g} ms: {'met' if result['p95_met'] else 'NOT met'}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
