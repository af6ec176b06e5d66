"""`python -m bench.replication`: replication through a real local Rucio (deploy/rucio), each figure next to a
same-run baseline.

It starts its own stack (`deploy/rucio/stack.py up` in a temporary folder, stopped at the end) and measures:

* registration throughput, files/s, for `--files` files (default 10,000): dmlake's registration calls without the
  bytes (each file's portal copy at an RSE standing for the portal, with size, adler32, md5 and the portal URL as
  PFN, looked up and added in bulk per release as `ReleaseRegistrar` does; per release of 1,000 files its dataset,
  container and attachments; no rules, which would start transfers),
  next to as many DIDs made by Rucio's bulk `add_dids` (one request per 1,000: what the server does when asked in
  bulk);
* the full staging path, files/s, for `--staged-files` small files (default 200): dmlake's `ReleaseRegistrar` fetching
  each from a local HTTP server through the shared HttpClient, verifying its checksum, uploading it to the staging
  RSE with Rucio's UploadClient (BitTorrent metadata included), attaching it and adding the rules;
* replicating one file of `--size-mib` MiB (default 1024): upload to the staging RSE, then a rule for one copy at a
  site until it is OK (qBittorrent moves the bytes), next to a plain copy of the same file on the same disk.

It prints the figures and ratios and writes them as JSON under `bench/results/`. It never fails a test run.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RUCIO_PYTHON = REPO / ".rucio-venv" / "bin" / "python"
CONTROLLER = REPO / "deploy" / "rucio" / "stack.py"
MiB = 1 << 20


@dataclass
class Results:
    files: int
    staged_files: int
    size_mib: int
    figures: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    machine: str = field(default_factory=lambda: f"{platform.machine()} {platform.python_version()}")
    load: tuple[float, ...] = field(default_factory=os.getloadavg)


@contextmanager
def stack() -> Iterator[dict[str, Any]]:
    directory = Path(tempfile.mkdtemp(prefix="dmlake-bench-rucio-"))
    started = subprocess.run([str(RUCIO_PYTHON), str(CONTROLLER), "up", "--dir", str(directory),
                              "--owner-pid", str(os.getpid())], capture_output=True, text=True, cwd=REPO)  # fmt: skip
    if started.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"the local Rucio stack did not start: {started.stderr.strip()[-2000:]}")
    info = json.loads(started.stdout)
    os.environ.update(info["env"])
    try:
        yield info
    finally:
        subprocess.run([str(RUCIO_PYTHON), str(CONTROLLER), "down", "--dir", str(directory)], capture_output=True,
                       cwd=REPO, check=False)  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


def timed(results: Results, key: str, function: Any) -> float:
    """Run `function`, note its wall time under `key`, return it."""
    start = time.perf_counter()
    function()
    results.figures[key] = seconds = time.perf_counter() - start
    return seconds


# -- 1. registration of portal copies (no bytes) -----------------------------------------------------------------
def bench_registration(client: Any, results: Results, account: str, files: int) -> None:
    """dmlake's registration calls without the bytes: per file its portal replica (size, adler32, md5, URL), per
    release of 1,000 files its dataset, container and attachments; next to Rucio's bulk `add_dids`."""
    from replication.gateway import PortalCopy, RucioGateway
    from replication.naming import Did

    run = uuid.uuid4().hex[:8]
    scope = f"bench_{run}"
    rse = "BENCH_PORTAL"
    if rse not in {r["rse"] for r in client.list_rses()}:
        client.add_rse(rse, deterministic=False, rse_type="DISK")
        client.add_protocol(rse, {"scheme": "https", "hostname": "portal.example.org", "port": 443,
                                  "prefix": "/files/", "impl": "rucio.rse.protocols.webdav.Default",
                                  "domains": {"lan": {"read": 1, "write": 1, "delete": None},
                                              "wan": {"read": 1, "write": 1, "delete": None}}})  # fmt: skip
        client.update_rse(rse, {"availability_write": False, "availability_delete": False})
        client.set_local_account_limit(account, rse, -1)
    gateway = RucioGateway(client, account)
    gateway.ensure_scope(scope)

    def register() -> None:
        for start in range(0, files, 1000):
            dataset = Did(scope, f"release-{start // 1000:04d}")
            container = Did(scope, f"cluster__release-{start // 1000:04d}")
            gateway.ensure_collection(dataset, "dataset")
            gateway.ensure_collection(container, "container")
            gateway.attach(container, [dataset])
            copies = []
            for n in range(start, min(start + 1000, files)):
                data = f"{run}:{n}".encode()
                did = Did(scope, f"{dataset.name}__file-{n:06d}.csv")
                url = f"https://portal.example.org/files/{run}/file-{n:06d}.csv"
                copies.append(PortalCopy(did, url, 1000 + n, f"{zlib_adler(data):08x}", hashlib.md5(data).hexdigest()))
            # as ReleaseRegistrar does: the release's existing replicas looked up, the missing added in bulk
            gateway.add_portal_replicas(rse, copies)
            gateway.attach(dataset, [copy.did for copy in copies])

    seconds = timed(results, "registration_seconds", register)
    results.figures["registration_files_per_s"] = files / seconds

    def bulk_dids() -> None:
        for start in range(0, files, 1000):
            client.add_dids([{"scope": scope, "name": f"bare-{n:06d}", "type": "DATASET"}
                             for n in range(start, min(start + 1000, files))])  # fmt: skip

    bare = timed(results, "bare_add_dids_seconds", bulk_dids)
    results.figures["bare_add_dids_per_s"] = files / bare


def zlib_adler(data: bytes) -> int:
    import zlib

    return zlib.adler32(data) & 0xFFFFFFFF


# -- 2. the full staging path ------------------------------------------------------------------------------------
class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def bench_staging(info: dict[str, Any], results: Results, count: int, workdir: Path) -> None:
    from connectors.base import Limits
    from connectors.http import HttpClient
    from ontology.model import Checksum, Distribution, Provenance, Record, record_id
    from replication.gateway import RucioGateway
    from replication.naming import names_for
    from replication.policy import ReplicationPolicy, RulePolicy
    from replication.register import ReleaseRegistrar
    from replication.registry import Registry

    served = workdir / "served"
    served.mkdir()
    distributions = []
    run = uuid.uuid4().hex[:8]
    for n in range(count):
        data = os.urandom(4096)
        (served / f"f{n:05d}.bin").write_bytes(data)
        distributions.append((f"f{n:05d}.bin", len(data), hashlib.sha256(data).hexdigest()))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *a: _Files(*a, directory=str(served)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    records = []
    for start in range(0, count, 100):
        native = f"bench-{run}-{start // 100}"
        records.append(Record(
            id=record_id("bench", native), source="bench", native_id=native, title="benchmark release",
            provenance=Provenance(source="bench", source_kind="gitlab", raw_sha256="0" * 64, mapping_version="1"),
            distributions=[Distribution(name=name, url=f"{base}/{name}", size_bytes=size,
                                        checksum=Checksum(algorithm="sha256", value=digest))
                           for name, size, digest in distributions[start : start + 100]],
        ))  # fmt: skip
    policy = ReplicationPolicy(staging_rse=info["staging_rse"], account=info["account"], scopes={"bench": f"st_{run}"},
                               rules=(RulePolicy(copies=1, rse_expression="SITE_A"),))  # fmt: skip
    registry = Registry(workdir / "registry.sqlite")
    with HttpClient(Limits()) as client:
        registrar = ReleaseRegistrar(RucioGateway.connect(info["account"]), client, policy, registry)

        def register() -> None:
            for record in records:
                report = registrar.register(record, names_for(record, policy))
                results.failures += list(report.failures.values())

        seconds = timed(results, "staging_seconds", register)
    results.figures["staging_files_per_s"] = count / seconds
    server.shutdown()
    registry.close()


# -- 3. one large file ---------------------------------------------------------------------------------------------
def bench_large_file(client: Any, info: dict[str, Any], results: Results, size_mib: int, workdir: Path) -> None:
    from rucio.client.uploadclient import UploadClient

    scope = f"big_{uuid.uuid4().hex[:8]}"
    client.add_scope(info["account"], scope)
    source = workdir / "large.bin"
    with source.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(MiB))
        handle.flush()
        os.fsync(handle.fileno())

    def plain_copy() -> None:
        target = workdir / "plain-copy.bin"
        shutil.copyfile(source, target)
        with target.open("rb+") as handle:
            os.fsync(handle.fileno())
        target.unlink()

    timed(results, "plain_copy_seconds", plain_copy)
    timed(results, "upload_seconds", lambda: UploadClient(client).upload(
        [{"path": str(source), "rse": info["staging_rse"], "did_scope": scope, "did_name": "large.bin"}]))  # fmt: skip

    def replicate() -> None:
        (rule_id,) = client.add_replication_rule([{"scope": scope, "name": "large.bin"}], 1, "SITE_B")
        deadline = time.monotonic() + 1800
        while client.get_replication_rule(rule_id)["state"] != "OK":
            if time.monotonic() > deadline:
                raise TimeoutError(f"rule {rule_id} not OK after 30 min")
            time.sleep(0.5)

    timed(results, "replicate_seconds", replicate)
    figures = results.figures
    figures["replicate_mib_per_s"] = size_mib / figures["replicate_seconds"]
    figures["plain_copy_mib_per_s"] = size_mib / figures["plain_copy_seconds"]
    figures["replicate_over_plain_copy"] = figures["replicate_seconds"] / figures["plain_copy_seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--staged-files", type=int, default=200)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--parts", default="registration,staging,large", help="Which measurements, comma-separated.")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    results = Results(args.files, args.staged_files, args.size_mib)
    if not RUCIO_PYTHON.exists():
        print(f"skipped: {RUCIO_PYTHON} does not exist (scripts/setup.sh makes it)")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="dmlake-bench-replication-"))
    try:
        with stack() as info:
            from rucio.client import Client

            client = Client()
            for name, step in (
                ("registration", lambda: bench_registration(client, results, info["account"], args.files)),
                ("staging", lambda: bench_staging(info, results, args.staged_files, workdir)),
                ("large", lambda: bench_large_file(client, info, results, args.size_mib, workdir)),
            ):
                if name.split()[0] not in parts:
                    continue
                try:
                    step()
                except Exception as error:  # a benchmark reports what failed and goes on
                    results.failures.append(f"{name}: {type(error).__name__}: {error}")
    except Exception as error:
        results.failures.append(f"stack: {error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    return 0


def report(results: Results) -> None:
    f = results.figures
    print(f"machine {results.machine}, load averages {', '.join(f'{v:.1f}' for v in results.load)}")
    if "registration_files_per_s" in f:
        print(f"registration of {results.files} files (portal copies, datasets of 1,000, containers): "
              f"{f['registration_seconds']:.1f} s, {f['registration_files_per_s']:.0f} files/s; "
              f"bare add_dids of as many DIDs: {f['bare_add_dids_per_s']:.0f}/s "
              f"(ratio {f['registration_files_per_s'] / f['bare_add_dids_per_s']:.2f})")  # fmt: skip
    if "staging_files_per_s" in f:
        print(f"full staging path for {results.staged_files} files of 4 KiB (fetch, verify, upload, attach, rules): "
              f"{f['staging_seconds']:.1f} s, {f['staging_files_per_s']:.1f} files/s")  # fmt: skip
    if "replicate_seconds" in f:
        print(f"{results.size_mib} MiB: upload to staging {f['upload_seconds']:.1f} s; replicated to a site in "
              f"{f['replicate_seconds']:.1f} s ({f['replicate_mib_per_s']:.0f} MiB/s); plain copy on the same disk "
              f"{f['plain_copy_seconds']:.1f} s ({f['plain_copy_mib_per_s']:.0f} MiB/s); "
              f"replication takes {f['replicate_over_plain_copy']:.1f}× the plain copy")  # fmt: skip
    for failure in results.failures[:20]:
        print(f"failed: {failure}")
    out = REPO / "bench" / "results" / f"replication-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(asdict(results), indent=2))
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
