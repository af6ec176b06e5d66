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
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

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


def timed(client: str, prefix: str, harvest: Callable[[str, str], int], url: str) -> Run:
    started = time.perf_counter()
    records = harvest(url, prefix)
    return Run(client, prefix, records, time.perf_counter() - started)


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


def dmlake_pipeline(sources: Path, prefix: str, workdir: Path, count: int) -> Run | None:
    if importlib.util.find_spec("connectors.oai_metadata") is None:
        return None
    text = sources.read_text()
    text = text.replace('metadata_prefix = "oai_dc"', f'metadata_prefix = "{prefix}"')
    config = workdir / f"sources-{prefix}.toml"
    config.write_text(text)
    home = workdir / f"home-{prefix}"
    started = time.perf_counter()
    completed = subprocess.run(
        [*DMLAKE, "--home", str(home), "--config", str(config), "harvest", SOURCE],
        capture_output=True,
        cwd=REPO,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        print(f"dmlake harvest failed:\n{completed.stdout.decode()}\n{completed.stderr.decode()}", file=sys.stderr)
        return None
    return Run("dmlake pipeline", prefix, count, seconds)


def _lxml() -> str:
    from lxml import etree

    return ".".join(map(str, etree.LXML_VERSION[:3]))


def table(results: Results, chosen: str) -> str:
    lines = [f"OAI-PMH harvest of {results.records:,} generated zenodo-oai records ({results.machine})", ""]
    lines.append(f"{'client':<22}{'prefix':<14}{'records':>10}{'seconds':>10}{'records/s':>12}{'vs ' + chosen:>14}")
    for run in results.runs:
        reference = next((r for r in results.runs if r.client == chosen and r.prefix == run.prefix), None)
        ratio = f"{run.rate / reference.rate:.2f}×" if reference and reference.rate else "-"
        lines.append(
            f"{run.client:<22}{run.prefix:<14}{run.records:>10,}{run.seconds:>10.1f}{run.rate:>12,.0f}{ratio:>14}"
        )
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
        try:
            for prefix in args.prefixes.split(","):
                if "sickle" not in skip:
                    results.runs.append(timed("Sickle", prefix, sickle_harvest, url))
                if "pyoai" not in skip:
                    try:
                        results.runs.append(timed("pyoai", prefix, pyoai_harvest, url))
                    except AttributeError as error:
                        # pyoai 2.5 calls XPathEvaluator.evaluate, which lxml ≥ 5 no longer has
                        results.failures.append(f"pyoai {prefix}: does not run with lxml {_lxml()}: {error}")
                if "connector" not in skip:
                    results.runs.append(timed("dmlake connector", prefix, dmlake_connector, url))
                if "pipeline" not in skip:
                    run = dmlake_pipeline(sources, prefix, workdir, args.records)
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
