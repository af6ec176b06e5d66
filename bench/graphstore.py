"""`python -m bench.graphstore`: RDF generation and SPARQL-store load at 100k records, with memory, each next to
rdflib parsing the same Turtle in the same run (issue 4, acceptance 5; the measurement behind the store choice).

From a dmlake home holding at least N records (`--home`; by default a fresh one is harvested from the sandbox's
generated Zenodo records, as `python -m bench` does), it measures, each phase in a process of its own so that its
peak RSS is its own:

* RDF generation: N records decoded from the catalogue and turned into N-Triples (triples/s), written as N-Quads
  (one graph per record, what the store loads), the first `--rdflib-records` also as Turtle (the rdflib baseline);
* Oxigraph on disk (dmlake's store) and Oxigraph in memory: bulk load of those N-Quads (triples/s, peak RSS), then
  the README's multi-messenger query and a count, p50 over repeated runs;
* rdflib's memory store parsing the Turtle of the first `--rdflib-records` records (it keeps every triple as Python
  objects: a 100k catalogue would not fit in this machine's memory), its triples/s and MiB per 1,000 records.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_rdf(home: str, count: int, out: str, turtle_records: int) -> dict[str, Any]:
    from dmlake.export import turtle_statements
    from dmlake.lake import Lake
    from ontology import rdf
    from ontology.terms import PREFIXES

    lake = Lake.open(home)
    generate = decode = 0.0
    triples = records = 0
    with open(f"{out}.nq", "w", encoding="utf-8") as quads, open(f"{out}.ttl", "w", encoding="utf-8") as turtle:
        turtle.write("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(PREFIXES.items())))
        started = time.perf_counter()
        stream = iter(lake.catalogue.iter_records())
        while records < count:
            t0 = time.perf_counter()
            stored = next(stream, None)
            t1 = time.perf_counter()
            if stored is None:
                break
            lines = list(rdf.ntriples_lines(stored.record))
            t2 = time.perf_counter()
            decode += t1 - t0
            generate += t2 - t1
            graph = f" <{stored.id}> .\n"
            quads.write("".join(line[:-3] + graph for line in lines))
            if records < turtle_records:
                turtle.write("\n" + turtle_statements(stored.record))
            triples += len(lines)
            records += 1
        wall = time.perf_counter() - started
    lake.close()
    return {"records": records, "triples": triples, "generate_seconds": generate, "decode_seconds": decode,
            "wall_seconds": wall, "peak_rss_mib": _peak_mib()}  # fmt: skip


def _query_latency(store: Any, repeat: int) -> dict[str, float]:
    from graphstore.store import QUERY_PREFIXES

    readme = re.findall(r"```sparql\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    queries = {
        "count datasets": "SELECT (COUNT(?d) AS ?n) WHERE { ?d a dcat:Dataset }",
        "multi-messenger (README)": next(q for q in readme if "neutrino" in q),
    }
    figures = {}
    for name, text in queries.items():
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            list(store.query(text, prefixes=QUERY_PREFIXES, use_default_graph_as_union=True))
            samples.append((time.perf_counter() - started) * 1000)
        figures[name] = statistics.median(samples)
    return figures


def phase_oxigraph(data: str, where: str | None, repeat: int) -> dict[str, Any]:
    import pyoxigraph as ox

    store = ox.Store(where)
    started = time.perf_counter()
    if where is None:
        store.load(path=f"{data}.nq", format=ox.RdfFormat.N_QUADS)
    else:
        store.bulk_load(path=f"{data}.nq", format=ox.RdfFormat.N_QUADS)
    store.flush()
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(where).rglob("*") if p.is_file()) / 2**20 if where else 0.0
    return {"quads": len(store), "load_seconds": seconds, "peak_rss_mib": _peak_mib(), "disk_mib": size,
            "query_p50_ms": _query_latency(store, repeat)}  # fmt: skip


def phase_rdflib(data: str, records: int) -> dict[str, Any]:
    import rdflib

    before = _peak_mib()
    started = time.perf_counter()
    graph = rdflib.Graph().parse(f"{data}.ttl", format="turtle")
    seconds = time.perf_counter() - started
    return {"records": records, "triples": len(graph), "parse_seconds": seconds, "peak_rss_mib": _peak_mib(),
            "rss_before_mib": before}  # fmt: skip


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.graphstore", "--phase", *args], capture_output=True,
                          text=True, cwd=REPO, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def harvested_home(count: int, workdir: Path) -> Path:
    from bench.__main__ import dmlake_harvest, start_sandbox

    sandbox, url = start_sandbox("zenodo", count, workdir)
    try:
        sources = workdir / "sources.toml"
        sources.write_text(f'[sources.zenodo]\nkind = "zenodo"\nurl = "{url}"\n'
                           '[sources.zenodo.limits]\nrequests_per_minute = "unlimited"\nconcurrency = 8\n')  # fmt: skip
        dmlake_harvest(workdir / "home", sources, "zenodo")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    return workdir / "home"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graphstore", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rdflib-records", type=int, default=5_000)
    parser.add_argument("--home", type=Path, default=None, help="a dmlake home with at least --records records")
    parser.add_argument("--repeat", type=int, default=20, help="runs per query latency figure")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        kind, *rest = args.phase
        if kind == "rdf":
            result = phase_rdf(rest[0], int(rest[1]), rest[2], int(rest[3]))
        elif kind == "oxigraph":
            result = phase_oxigraph(rest[0], None if rest[1] == "-" else rest[1], int(rest[2]))
        else:
            result = phase_rdflib(rest[0], int(rest[1]))
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="dmlake-bench-graph-") as tmp:
        work = Path(tmp)
        home = args.home or harvested_home(args.records, work)
        data = str(work / "catalogue")
        rdf = _child("rdf", str(home), str(args.records), data, str(args.rdflib_records))
        disk = _child("oxigraph", data, str(work / "oxigraph"), str(args.repeat))
        memory = _child("oxigraph", data, "-", str(args.repeat))
        baseline = _child("rdflib", data, str(min(args.rdflib_records, rdf["records"])))
    triples, records = rdf["triples"], rdf["records"]
    rows = [
        ("RDF generation (ontology.rdf → N-Triples)", f"{triples / rdf['generate_seconds']:,.0f}",
         f"{rdf['generate_seconds']:.1f} s", f"{rdf['peak_rss_mib']:,.0f} MiB", "-"),
        ("Oxigraph on disk, bulk load (dmlake's store)", f"{disk['quads'] / disk['load_seconds']:,.0f}",
         f"{disk['load_seconds']:.1f} s", f"{disk['peak_rss_mib']:,.0f} MiB ({disk['disk_mib']:,.0f} MiB on disk)",
         " · ".join(f"{k} {v:.0f} ms" for k, v in disk["query_p50_ms"].items())),
        ("Oxigraph in memory, load", f"{memory['quads'] / memory['load_seconds']:,.0f}",
         f"{memory['load_seconds']:.1f} s", f"{memory['peak_rss_mib']:,.0f} MiB",
         " · ".join(f"{k} {v:.0f} ms" for k, v in memory["query_p50_ms"].items())),
        (f"rdflib memory store, Turtle parse ({baseline['records']:,} records)",
         f"{baseline['triples'] / baseline['parse_seconds']:,.0f}", f"{baseline['parse_seconds']:.1f} s",
         f"{baseline['peak_rss_mib'] - baseline['rss_before_mib']:,.0f} MiB "
         f"(≈ {(baseline['peak_rss_mib'] - baseline['rss_before_mib']) / baseline['records'] * 1000:,.0f} MiB "
         "per 1,000 records)", "-"),
    ]  # fmt: skip
    print(f"{records:,} records, {triples:,} triples ({triples / max(records, 1):.0f} per record)\n")
    print("| step | triples/s | time | peak RSS | SPARQL p50 |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
