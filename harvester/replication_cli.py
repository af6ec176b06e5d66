"""`dmlake replication …`: the files of harvested releases replicated across sites with Rucio (replication/).

dmlake replication sync [--once] [--interval S]   consume the change feed (register new and changed files, attach,
                                                 rules; tombstoned releases' rules expire after the grace), then
                                                 read replica states back into the catalogue; again every S seconds
dmlake replication status [--json]               per source and release: files registered, rules and their
                                                 states, bytes, sites, failures
dmlake replication check                         read every readable copy again and compare its checksums

The policy is the `[replication]` table of the home's `replication.toml` (or `--config FILE`). The Rucio client is
configured as Rucio's own clients are: `RUCIO_CONFIG` (else /opt/rucio/etc/rucio.cfg). One sync runs per home at a
time (a lock in HOME/replication/).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from dmlake.lake import Lake
    from replication.consumer import ReplicationConsumer, SyncOutcome
    from replication.policy import ReplicationPolicy
    from replication.registry import Registry
    from replication.state import StateReport, StateSync

replication_app = typer.Typer(
    help="Replicate harvested files across sites with Rucio and show where every file is.", no_args_is_help=True
)
out = Console(soft_wrap=True, markup=False, highlight=False)  # messages hold [brackets] of TOML keys
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
log = logging.getLogger("dmlake.replication")
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Replication policy file (default: HOME/replication.toml).")
]


def _lake(ctx: typer.Context) -> Lake:
    from dmlake.lake import Lake

    home = ctx.find_root().params.get("home")
    return Lake.open(home)


@dataclass
class Replicator:
    lake: Lake
    policy: ReplicationPolicy
    registry: Registry
    consumer: ReplicationConsumer
    states: StateSync

    def close(self) -> None:
        self.registry.close()
        self.lake.close()


def registry_path(lake: Lake) -> Path:
    return lake.home.path / "replication" / "registry.sqlite"


def _policy(lake: Lake, config: Path | None) -> ReplicationPolicy:
    from replication.policy import PolicyError, load

    try:
        return load(config or lake.home.path / "replication.toml")
    except PolicyError as error:
        err.print(f"error: {error}")
        raise typer.Exit(2) from None


def _replicator(lake: Lake, config: Path | None) -> Replicator:
    from connectors.base import Limits
    from connectors.http import HttpClient
    from replication.consumer import ReplicationConsumer
    from replication.gateway import RucioGateway
    from replication.register import ReleaseRegistrar
    from replication.registry import Registry
    from replication.state import StateSync

    policy = _policy(lake, config)
    try:
        gateway = RucioGateway.connect(policy.account)
    except Exception as error:
        where = os.environ.get("RUCIO_CONFIG", "unset")
        err.print(f"error: cannot reach Rucio as account {policy.account!r} (RUCIO_CONFIG={where}): "
                  f"{type(error).__name__}: {error}")  # fmt: skip
        raise typer.Exit(2) from None
    registry = Registry(registry_path(lake))
    registrar = ReleaseRegistrar(gateway, HttpClient(Limits(timeout=300.0)), policy, registry)
    consumer = ReplicationConsumer(lake.catalogue, registrar)
    states = StateSync(gateway, registry, lake.replica_ledger(), policy)
    return Replicator(lake, policy, registry, consumer, states)


@contextmanager
def _sync_lock(lake: Lake) -> Iterator[None]:
    """One sync per home: the kernel drops the lock with its holder, so a killed sync never blocks the next."""
    path = lake.home.path / "replication" / "sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            err.print(f"error: a replication sync already runs for {lake.home.path} (pid {holder})")
            raise typer.Exit(3) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(outcome: SyncOutcome, states: StateReport) -> int:
    for report in outcome.reports:
        if report.registered or report.rules_created:
            out.print(f"{report.record_id}: {len(report.registered)} files registered, "
                      f"{len(report.rules_created)} rules created")  # fmt: skip
        if report.without_checksum:
            out.print(f"  no catalogue checksum (computed at staging): {', '.join(report.without_checksum)}")
    for record_id in outcome.tombstoned:
        out.print(f"{record_id}: tombstoned, its rules expire after the grace period")
    for record_id in outcome.revived:
        out.print(f"{record_id}: back in the catalogue, its rules' lifetimes restored")
    for failures in outcome.failed.values():
        for message in failures.values():
            err.print(f"failed: {message}")
    for mismatch in states.mismatches:
        err.print(f"checksum mismatch: {mismatch}; declared bad to Rucio")
    for record_id in states.retired:
        out.print(f"{record_id}: every copy is gone; retired")
    out.print(f"{outcome.changes} changes read ({outcome.skipped} needed nothing), {len(outcome.reports)} releases "
              f"registered, {len(outcome.failed)} with failures; states of {states.releases} releases read, "
              f"{len(states.changed)} changed, {states.verified} copies verified, "
              f"{len(states.mismatches)} mismatches")  # fmt: skip
    return 1 if outcome.failed or states.mismatches else 0


@replication_app.command("sync")
def sync_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (default: keep going).")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.", min=1.0)] = 30.0,
    config: ConfigOption = None,
) -> None:
    """Register new and changed files, expire tombstoned releases' rules, and read replica states back."""
    lake = _lake(ctx)
    with _sync_lock(lake):
        replicator = _replicator(lake, config)
        try:
            while True:
                outcome = replicator.consumer.run()
                states = replicator.states.run()
                code = _say(outcome, states)
                if once:
                    raise typer.Exit(code)
                time.sleep(interval)
        finally:
            replicator.close()


@replication_app.command("check")
def check_command(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Read every copy readable from here again and compare its adler32 and md5 with the registered values."""
    lake = _lake(ctx)
    with _sync_lock(lake):
        replicator = _replicator(lake, config)
        try:
            report = replicator.states.run(reverify=True)
        finally:
            replicator.close()
    for mismatch in report.mismatches:
        err.print(f"checksum mismatch: {mismatch}; declared bad to Rucio")
    out.print(f"{report.verified} copies read in {report.releases} releases, {len(report.mismatches)} mismatches")
    raise typer.Exit(1 if report.mismatches else 0)


def status_rows(lake: Lake, registry: Registry, config: Path | None = None) -> list[dict[str, Any]]:
    """Per release: its Rucio names, files and bytes, rules and their states, sites with copies, failures."""
    from replication.gateway import RucioGateway
    from replication.naming import Did

    policy = _policy_or_none(lake, config)
    gateway = RucioGateway.connect(policy.account) if policy is not None else None
    replicas = lake.replica_ledger().for_records([r.record_id for r in registry.releases(include_retired=True)])
    failures = registry.failures()
    rows: list[dict[str, Any]] = []
    for release in registry.releases(include_retired=True):
        files = registry.files(release.record_id)
        rules: list[dict[str, Any]] = []
        if gateway is not None and not release.retired:
            for rule in gateway.rules_on(Did(release.scope, release.dataset)):
                rules.append({"id": rule.id, "rse_expression": rule.rse_expression, "copies": rule.copies,
                              "state": rule.state, "expires_at": str(rule.expires_at) if rule.expires_at else None,
                              "locks": {"ok": rule.locks_ok, "replicating": rule.locks_replicating,
                                        "stuck": rule.locks_stuck}})  # fmt: skip
        known = replicas.get(release.record_id, [])
        rows.append({
            "record": release.record_id,
            "source": release.source,
            "dataset": f"{release.scope}:{release.dataset}",
            "container": f"{release.container_scope}:{release.container}",
            "state": "retired" if release.retired else ("live" if release.live else "tombstoned"),
            "files": len(files),
            "bytes": sum(f.bytes for f in files.values()),
            "without_catalogue_checksum": sorted(n for n, f in files.items() if f.catalogue_checksum is None),
            "rules": rules,
            "sites": {site: sum(1 for r in known if r.site == site and r.state == "online" and r.checksum_verified)
                      for site in sorted({r.site for r in known})},
            "failures": failures.get(release.record_id, {}),
        })  # fmt: skip
    return rows


def _policy_or_none(lake: Lake, config: Path | None) -> ReplicationPolicy | None:
    from replication.policy import PolicyError, load

    try:
        return load(config or lake.home.path / "replication.toml")
    except PolicyError:
        return None


@replication_app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Per source and release: files registered, rules and their states, bytes, sites holding verified copies."""
    from replication.registry import Registry

    lake = _lake(ctx)
    registry = Registry(registry_path(lake))
    try:
        rows = status_rows(lake, registry, config)
    finally:
        registry.close()
        lake.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("nothing replicated yet: run `dmlake replication sync`")
        return
    table = Table("source", "release", "state", "files", "bytes", "rules", "verified copies per site")
    for row in rows:
        rules = ", ".join(f"{r['copies']}×{r['rse_expression']} {r['state']}" for r in row["rules"]) or "-"
        sites = ", ".join(f"{site} {count}" for site, count in row["sites"].items()) or "-"
        table.add_row(row["source"], row["dataset"], row["state"], str(row["files"]), str(row["bytes"]), rules, sites)
    out.print(table)
    for row in rows:
        for message in row["failures"].values():
            err.print(f"failed: {message}")


def main() -> None:
    """`python -m harvester.replication_cli …` (DMLAKE_HOME names the home) until the group is in `dmlake`."""
    logging.basicConfig(level=os.environ.get("DMLAKE_LOG_LEVEL", "WARNING"))
    replication_app()


if __name__ == "__main__":
    main()
