"""`python -m bench.oaipmh`: OAI-PMH harvest throughput — Sickle, pyoai, dmlake's protocol layer and, when the OAI
mappers are installed, the whole dmlake pipeline, on the same generated replica in the same run.

The sandbox daemon serves N generated `zenodo-oai` records (a separate process, so the clients are measured alone;
no rate limit, 50 records per page like Zenodo). For each metadata prefix (`oai_dc`, `oai_datacite`) it times:

* Sickle 0.7 (`Sickle(url).ListRecords(...)`, its own `requests` transport, records parsed into its `Record`
  objects, as a Sickle user gets them);
* pyoai 2.5 (`Client(url, registry).listRecords(...)`, urllib transport, the registry's metadata reader);
* dmlake's connector alone (`OaiPmhConnector.pages`: the shared HttpClient, the hardened parser, one standalone
  payload per record, checkpoints), no mapping or storage;
* `dmlake harvest` end to end in a fresh home (harvest + map + catalogue + index), when `connectors.oai_metadata`
  exists.

It prints records/s for each and the pipeline's ratio to the chosen bare client (issue 3 acceptance 8: ≥ 0.8), and
writes the figures under `bench/results/`. It never fails a test run.

Wall-clock rates on a shared machine move by 2-4× with the other jobs' load, so each run also records the CPU it
cost per record (a figure the load hardly moves): the client's own (this process, for the in-process clients; every
process of the harvest's tree, sampled with psutil, for the pipeline: main process, index follower, mapping
workers) and the sandbox's, with the load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from bench.cpu import TreeCpu, own_cpu, process_cpu

REPO = Path(__file__).resolve().parent.parent
DMLAKE = [sys.executable, "-m", "harvester.cli"]
SANDBOX = [sys.executable, "-m", "sandbox"]
SOURCE = "zenodo-oai"
PREFIXES = ("oai_dc", "oai_datacite")


@dataclass
class Run:
    client: str
    prefix: str
    records: int
    seconds: float
    cpu_ms_per_record: float = 0.0
    """CPU the client spent per record: this process for in-process clients, the harvest's process tree for the
    pipeline."""
    sandbox_cpu_ms_per_record: float = 0.0
    processes: dict[str, float] = field(default_factory=dict)
    """The pipeline's CPU ms per record by process role."""
    load: tuple[float, float] = (0.0, 0.0)
    """The 1-minute load average before and after the run."""

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    records: int
    runs: list[Run] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    machine: str = field(default_factory=lambda: f"{platform.machine()} {platform.python_version()}")


def start_sandbox(count: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    state, sources = workdir / "sandbox.json", workdir / "sources.toml"
    log = (workdir / "sandbox.log").open("wb")
    process = subprocess.Popen(
        [*SANDBOX, "--state", str(state), "--generate", str(count), "--kinds", SOURCE, "--sources-out", str(sources)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    deadline = time.monotonic() + 300
    while not state.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox did not start; see {workdir / 'sandbox.log'}")
        time.sleep(0.1)
    url = json.loads(state.read_text())["sources"][SOURCE]["url"] + "/oai2d"
    return process, url, sources


def timed(client: str, prefix: str, harvest: Callable[[str, str], int], url: str, sandbox: psutil.Process) -> Run:
    load = os.getloadavg()[0]
    cpu, sandbox_cpu, started = own_cpu(), process_cpu(sandbox), time.perf_counter()
    records = harvest(url, prefix)
    seconds = time.perf_counter() - started
    per_record = 1000 / records if records else 0.0
    return Run(
        client,
        prefix,
        records,
        seconds,
        cpu_ms_per_record=(own_cpu() - cpu) * per_record,
        sandbox_cpu_ms_per_record=(process_cpu(sandbox) - sandbox_cpu) * per_record,
        load=(load, os.getloadavg()[0]),
    )


def sickle_harvest(url: str, prefix: str) -> int:
    from sickle import Sickle

    return sum(1 for _ in Sickle(url, max_retries=3).ListRecords(metadataPrefix=prefix))


def pyoai_harvest(url: str, prefix: str) -> int:
    from oaipmh.client import Client
    from oaipmh.metadata import MetadataReader, MetadataRegistry, oai_dc_reader

    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    # pyoai ships no oai_datacite reader: the title is what a user would read first
    registry.registerReader(
        "oai_datacite",
        MetadataReader(
            fields={"title": ("textList", "//datacite:title/text()")},
            namespaces={"datacite": "http://datacite.org/schema/kernel-4"},
        ),
    )
    client = Client(url, registry, force_http_get=True)
    return sum(1 for _ in client.listRecords(metadataPrefix=prefix))


def dmlake_connector(url: str, prefix: str) -> int:
    from connectors.base import HarvestState, Limits, SourceSpec
    from connectors.http import HttpClient
    from connectors.oaipmh import OaiPmhConnector

    spec = SourceSpec(SOURCE, "oaipmh", url, {"metadata_prefix": prefix, "profile": "zenodo"})
    with HttpClient(Limits(requests_per_minute=None)) as http:
        pages = OaiPmhConnector(spec, http).pages(HarvestState())
        return sum(len(page.records) for page in pages)


def dmlake_pipeline(sources: Path, prefix: str, workdir: Path, count: int, sandbox: psutil.Process) -> Run | None:
    if importlib.util.find_spec("connectors.oai_metadata") is None:
        return None
    text = sources.read_text()
    text = text.replace('metadata_prefix = "oai_dc"', f'metadata_prefix = "{prefix}"')
    config = workdir / f"sources-{prefix}.toml"
    config.write_text(text)
    home = workdir / f"home-{prefix}"
    load, sandbox_cpu = os.getloadavg()[0], process_cpu(sandbox)
    out, err = (workdir / f"harvest-{prefix}.out").open("w+b"), (workdir / f"harvest-{prefix}.err").open("w+b")
    started = time.perf_counter()
    process = subprocess.Popen(
        [*DMLAKE, "--home", str(home), "--config", str(config), "harvest", SOURCE], stdout=out, stderr=err, cwd=REPO
    )
    tree = TreeCpu(process.pid)
    while process.poll() is None:
        tree.sample()
        time.sleep(0.25)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        out.seek(0)
        err.seek(0)
        print(f"dmlake harvest failed:\n{out.read().decode()}\n{err.read().decode()}", file=sys.stderr)
        return None
    roles = {role: cpu * 1000 / count for role, cpu in sorted(tree.by_role().items())}
    return Run(
        "dmlake pipeline",
        prefix,
        count,
        seconds,
        cpu_ms_per_record=sum(roles.values()),
        sandbox_cpu_ms_per_record=(process_cpu(sandbox) - sandbox_cpu) * 1000 / count,
        processes=roles,
        load=(load, os.getloadavg()[0]),
    )


def _lxml() -> str:
    from lxml import etree

    return ".".join(map(str, etree.LXML_VERSION[:3]))


def table(results: Results, chosen: str) -> str:
    lines = [f"OAI-PMH harvest of {results.records:,} generated zenodo-oai records ({results.machine})", ""]
    lines.append(
        f"{'client':<22}{'prefix':<14}{'records':>10}{'seconds':>10}{'records/s':>12}{'vs ' + chosen:>14}"
        f"{'CPU ms/rec':>12}{'sandbox':>9}{'load':>13}"
    )
    for run in results.runs:
        reference = next((r for r in results.runs if r.client == chosen and r.prefix == run.prefix), None)
        ratio = f"{run.rate / reference.rate:.2f}×" if reference and reference.rate else "-"
        load = f"{run.load[0]:.1f} → {run.load[1]:.1f}"
        lines.append(
            f"{run.client:<22}{run.prefix:<14}{run.records:>10,}{run.seconds:>10.1f}{run.rate:>12,.0f}{ratio:>14}"
            f"{run.cpu_ms_per_record:>12.3f}{run.sandbox_cpu_ms_per_record:>9.3f}{load:>13}"
        )
        if run.processes:
            lines.append("    " + ", ".join(f"{role} {ms:.3f}" for role, ms in run.processes.items()) + " ms/rec")
    lines += [f"  {failure}" for failure in results.failures]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.oaipmh", description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--prefixes", default=",".join(PREFIXES))
    parser.add_argument("--skip", default="", help="clients to leave out: sickle,pyoai,connector,pipeline")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    results = Results(args.records)
    with tempfile.TemporaryDirectory(prefix="dmlake-bench-oai-") as folder:
        workdir = Path(folder)
        sandbox, url, sources = start_sandbox(args.records, workdir)
        served = psutil.Process(sandbox.pid)
        try:
            for prefix in args.prefixes.split(","):
                if "sickle" not in skip:
                    results.runs.append(timed("Sickle", prefix, sickle_harvest, url, served))
                if "pyoai" not in skip:
                    try:
                        results.runs.append(timed("pyoai", prefix, pyoai_harvest, url, served))
                    except AttributeError as error:
                        # pyoai 2.5 calls XPathEvaluator.evaluate, which lxml ≥ 5 no longer has
                        results.failures.append(f"pyoai {prefix}: does not run with lxml {_lxml()}: {error}")
                if "connector" not in skip:
                    results.runs.append(timed("dmlake connector", prefix, dmlake_connector, url, served))
                if "pipeline" not in skip:
                    run = dmlake_pipeline(sources, prefix, workdir, args.records, served)
                    if run is not None:
                        results.runs.append(run)
                print(table(results, "Sickle"), flush=True)
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
    out = REPO / "bench" / "results" / f"oaipmh-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**asdict(results), "rates": [r.rate for r in results.runs]}, indent=2))
    print(f"\nfigures written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
