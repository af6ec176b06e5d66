"""Start and stop dmlake's local development Rucio stack (run with the Rucio server environment's Python).

    .rucio-venv/bin/python deploy/rucio/stack.py up --dir DIR [--sites STAGING,SITE_A,SITE_B,SITE_C]
    .rucio-venv/bin/python deploy/rucio/stack.py status --dir DIR
    .rucio-venv/bin/python deploy/rucio/stack.py down --dir DIR [--remove]

Under DIR: a private PostgreSQL 15 cluster (the Rucio catalogue), the real Rucio 41.5.1 REST server (gunicorn),
one qbittorrent-nox per site (the data mover behind Rucio's upstream `bittorrent` transfer tool), one RSE per site
on a local folder, and the engine running the Rucio daemons. Every port is chosen free at start and every listener
is bound to 127.0.0.1, so several stacks can run on one machine. `up` prints one JSON object describing the running
stack (also written to DIR/stack.json); progress and errors go to stderr. `up` on a running stack says so and
prints the JSON again; `up` after `down` starts the same catalogue and RSE folders again (on new ports). `down`
stops every process by pid and PostgreSQL with `pg_ctl stop`.

Exit status: 0 done; 1 failed (what failed and which log to read is printed; anything started is stopped again);
3 the stack cannot run on this machine (missing qbittorrent-nox, PostgreSQL or the server environment).
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import re
import shutil
import string
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import private_postgres
import processes
import qbittorrent_site

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
DEFAULT_SITES = ("STAGING", "SITE_A", "SITE_B", "SITE_C")
DEFAULT_STAGING = "STAGING"
RUCIO_VERSION = "41.5.1"
ACCOUNT = "root"
USERNAME = "ddmlab"
PASSWORD = "secret"
DATABASE_SCHEMA = "dev"
RSE_NAME = re.compile(r"^[A-Z0-9][A-Z0-9_-]*$")
PORT_ATTEMPTS = 3
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 3


class StackUnavailable(RuntimeError):
    """This machine cannot run the stack; the message says what is missing and how to get it."""


class StackFailed(RuntimeError):
    """A step of `up` failed; the message names the step and the log to read."""


class PortTaken(StackFailed):
    """Another program took one of the ports between choosing it and binding it: `up` tries again on new ports."""


def say(message: str) -> None:
    print(f"[rucio-stack {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Layout:
    """Where everything of one stack lives."""

    root: Path

    @property
    def etc(self) -> Path:  # also $RUCIO_HOME/etc: rse-accounts.cfg is looked up there
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def tmp(self) -> Path:  # TMPDIR of every stack process and client: the Rucio client caches its token there
        return self.root / "tmp"

    @property
    def rses(self) -> Path:
        return self.root / "rses"

    @property
    def server_config(self) -> Path:
        return self.etc / "rucio.cfg"

    @property
    def client_config(self) -> Path:
        return self.etc / "rucio-client.cfg"

    @property
    def stack_json(self) -> Path:
        return self.root / "stack.json"

    @property
    def pids_json(self) -> Path:  # every started process, written as soon as it starts: `down` after a failed `up`
        return self.run / "pids.json"

    @property
    def heartbeat(self) -> Path:
        return self.run / "engine.heartbeat"

    @property
    def marker(self) -> str:
        """Found in the command line of every process of this stack (and of no other stack's)."""
        return f"{self.root}/"

    def postgres(self) -> private_postgres.Cluster:
        return private_postgres.Cluster(self.root / "pg")

    def site(self, rse: str, webui_port: int, bittorrent_port: int) -> qbittorrent_site.QBittorrentSite:
        return qbittorrent_site.QBittorrentSite(rse, self.root / "qbt" / rse, webui_port, bittorrent_port)

    def client_environment(self) -> dict[str, str]:
        return {"RUCIO_CONFIG": str(self.client_config), "TMPDIR": str(self.tmp)}

    def server_environment(self) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if key not in _FOREIGN_RUCIO_VARIABLES}
        environment.update(
            RUCIO_CONFIG=str(self.server_config), RUCIO_HOME=str(self.root), TMPDIR=str(self.tmp), PYTHONUNBUFFERED="1"
        )
        return environment


# Rucio looks for rse-accounts.cfg in $RUCIO_HOME/etc, $VIRTUAL_ENV/etc, $CONDA_PREFIX/etc and takes the last one
# found: the stack's processes see only RUCIO_HOME. RUCIO_CLIENT_MODE would stop the server from being a server.
_FOREIGN_RUCIO_VARIABLES = frozenset({"VIRTUAL_ENV", "CONDA_PREFIX", "RUCIO_CLIENT_MODE", "RUCIO_ACCOUNT"})


# --------------------------------------------------------------------------------------------------- bookkeeping
@contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """One `up` or `down` at a time per stack directory."""
    layout.run.mkdir(parents=True, exist_ok=True)
    with open(layout.run / "stack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)


class Pids:
    """The pids of this stack's processes, saved on every change."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.pids: dict[str, int] = {}

    def add(self, name: str, pid: int) -> int:
        self.pids[name] = pid
        write_json(self.layout.pids_json, self.pids)
        return pid

    def alive(self, name: str) -> bool:
        return processes.is_ours(self.pids[name], self.layout.marker)


# --------------------------------------------------------------------------------------------------- configs
def render(template: str, target: Path, **values: object) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(string.Template((TEMPLATES / template).read_text()).substitute(values))


def write_configs(layout: Layout, rucio_url: str, database_url: str) -> None:
    common = {"rucio_url": rucio_url, "username": USERNAME, "password": PASSWORD, "account": ACCOUNT}
    render(
        "rucio.cfg",
        layout.server_config,
        **common,
        log_dir=layout.log,
        mail_templates=Path(sys.prefix) / "rucio" / "etc" / "mail_templates",
        database_url=database_url,
        database_schema=DATABASE_SCHEMA,
        alembic_ini=layout.etc / "alembic.ini",
    )
    render("alembic.ini", layout.etc / "alembic.ini", database_url=database_url, database_schema=DATABASE_SCHEMA)
    render("rucio-client.cfg", layout.client_config, **common)
    exports = " ".join(f"{key}={value}" for key, value in layout.client_environment().items())
    (layout.root / "env.sh").write_text(
        "# source this to talk to the stack with any environment that has rucio-clients (e.g. dmlake's .venv)\n"
        f"export {exports}\n"
    )


# --------------------------------------------------------------------------------------------------- steps of up
def check_prerequisites() -> None:
    try:
        import rucio.core  # noqa: F401  (the server package, not only rucio-clients)
    except ImportError:
        raise StackUnavailable(
            f"{sys.executable} has no Rucio server package: run this with .rucio-venv/bin/python "
            "(scripts/setup.sh makes .rucio-venv from deploy/rucio/server-requirements.txt)"
        ) from None
    try:
        qbittorrent_site.executable()
        private_postgres.check_available()
    except (qbittorrent_site.QBittorrentUnavailable, private_postgres.PostgresUnavailable) as missing:
        raise StackUnavailable(str(missing)) from None


def start_qbittorrents(
    layout: Layout, pids: Pids, sites: Sequence[str], ports: Iterator[int]
) -> list[qbittorrent_site.QBittorrentSite]:
    started = []
    for rse in sites:
        site = layout.site(rse, next(ports), next(ports))
        site.write_config()
        _claim(site.webui_port, f"qBittorrent WebUI of {rse}")
        _claim(site.bittorrent_port, f"BitTorrent listener of {rse}")
        pids.add(
            f"qbittorrent-{rse}",
            processes.spawn(site.command(), log=site.log, env=site.environment(), cwd=site.profile),
        )
        started.append(site)
    return started


def bootstrap_catalogue() -> str:
    """Create Rucio's schema, the base VO and the root account on first use (Rucio's own bootstrap functions)."""
    from rucio.db.sqla.session import get_engine
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account
    from sqlalchemy import inspect

    if "accounts" in inspect(get_engine()).get_table_names(schema=DATABASE_SCHEMA):
        return "catalogue already bootstrapped"
    build_database()
    create_base_vo()
    create_root_account()
    return "catalogue bootstrapped (schema, base VO, root account)"


def start_server(layout: Layout, pids: Pids, port: int, workers: int) -> None:
    _claim(port, "Rucio server")
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", "4", "--timeout", "300", "--graceful-timeout", "10",
        # gunicorn 27 otherwise opens a control socket in ~/.gunicorn
        "--no-control-socket",
        "--access-logfile", str(layout.log / "server-access.log"),
        "--error-logfile", str(layout.log / "server.log"),
        "rucio.web.rest.flaskapi.v1.main:application",
    ]  # fmt: skip
    pids.add(
        "server",
        processes.spawn(command, log=layout.log / "server.out", env=layout.server_environment(), cwd=layout.root),
    )


def wait_server(layout: Layout, pids: Pids, rucio_url: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pids.alive("server"):
            if "Address already in use" in _tail(layout.log / "server.log"):
                raise PortTaken(f"the Rucio server's port was taken by another program: see {layout.log}")
            raise StackFailed(f"the Rucio server exited at start: see {layout.log / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{rucio_url}/ping", timeout=5) as answer:
                return str(json.loads(answer.read())["version"])
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError, KeyError):
            time.sleep(0.2)
    raise StackFailed(f"the Rucio server did not answer {rucio_url}/ping within {timeout:.0f} s: see {layout.log}")


def set_up_topology(
    layout: Layout, sites: Sequence[qbittorrent_site.QBittorrentSite], staging: str | None
) -> dict[str, str]:
    import topology  # imports the Rucio client: only after RUCIO_CONFIG and TMPDIR are set
    from rucio.client import Client

    specs = [
        topology.SiteSpec(
            rse=site.rse,
            prefix=layout.rses / site.rse,
            bittorrent_port=site.bittorrent_port,
            management_address=site.management_address,
            staging=site.rse == staging,
        )
        for site in sites
    ]
    ids = topology.ensure_topology(Client(), specs, ACCOUNT)
    # the daemons (transfer tool and janitor) read each site's WebUI credentials from $RUCIO_HOME/etc
    credentials = {
        ids[site.rse]: {
            "qbittorrent_username": qbittorrent_site.USERNAME,
            "qbittorrent_password": qbittorrent_site.PASSWORD,
        }
        for site in sites
    }
    accounts = layout.etc / "rse-accounts.cfg"
    previous = read_json(accounts) or {}
    write_json(accounts, {**previous, **credentials})
    accounts.chmod(0o600)
    return ids


def start_engine(layout: Layout, pids: Pids, args: argparse.Namespace) -> None:
    layout.heartbeat.unlink(missing_ok=True)
    command = [
        sys.executable, str(HERE / "engine.py"),
        "--dir", str(layout.root),
        "--heartbeat", str(layout.heartbeat),
        "--interval", str(args.interval),
        "--reaper-every", str(args.reaper_every),
    ]  # fmt: skip
    if args.owner_pid is not None:
        command += ["--owner-pid", str(args.owner_pid)]
        if args.temporary:
            command.append("--remove-with-owner")
    pids.add(
        "engine",
        processes.spawn(command, log=layout.log / "engine.log", env=layout.server_environment(), cwd=layout.root),
    )


def wait_engine(layout: Layout, pids: Pids, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if layout.heartbeat.exists():
            return
        if not pids.alive("engine"):
            raise StackFailed(f"the engine exited at start: see {layout.log / 'engine.log'}")
        time.sleep(0.2)
    raise StackFailed(
        f"the engine did not start its first loop within {timeout:.0f} s: see {layout.log / 'engine.log'}"
    )


def _claim(port: int, what: str) -> None:
    """The ports were free when chosen a moment ago; say so plainly if another program took one meanwhile."""
    if not processes.port_is_free(port):
        raise PortTaken(f"port {port} for the {what} was taken by another program meanwhile")


# --------------------------------------------------------------------------------------------------- commands
def stack_is_running(layout: Layout, info: dict[str, Any]) -> bool:
    pids: dict[str, int] = info.get("pids", {})
    if not pids or not all(processes.is_ours(pid, layout.marker) for name, pid in pids.items() if name != "postgresql"):
        return False
    if layout.postgres().pid() != pids.get("postgresql"):
        return False
    try:
        with urllib.request.urlopen(f"{info['rucio_url']}/ping", timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def up(args: argparse.Namespace) -> int:
    layout = Layout(args.dir)
    sites = _sites(args.sites)
    check_prerequisites()
    for folder in (layout.etc, layout.log, layout.run, layout.tmp, layout.rses):
        folder.mkdir(parents=True, exist_ok=True)
    with locked(layout):
        previous = read_json(layout.stack_json)
        if previous is not None and stack_is_running(layout, previous):
            say(f"the stack in {layout.root} is already running")
            print(json.dumps(previous, indent=2))
            return 0
        if read_json(layout.pids_json):
            say(f"a previous stack in {layout.root} is partly running or was not stopped: stopping it first")
            stop_everything(layout)
        started = time.monotonic()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            pids = Pids(layout)
            try:
                info = start(layout, pids, sites, args, started)
                break
            except PortTaken as taken:
                say(f"{taken}: stopping what was started and trying again on new ports")
                stop_everything(layout)
                if attempt == PORT_ATTEMPTS:
                    raise
            except BaseException:
                say("up failed: stopping what was started")
                stop_everything(layout)
                raise
        write_json(layout.stack_json, info)
        print(json.dumps(info, indent=2))
        say(f"stack up in {info['startup_seconds']} s: {info['rucio_url']}; source {layout.root / 'env.sh'} to use it")
        return 0


def start(layout: Layout, pids: Pids, sites: Sequence[str], args: argparse.Namespace, started: float) -> dict[str, Any]:
    for variable in _FOREIGN_RUCIO_VARIABLES:
        os.environ.pop(variable, None)
    os.environ.update(layout.server_environment())  # before the first Rucio import: the config is read once
    ports = iter(processes.free_ports(2 + 2 * len(sites)))
    postgres_port, server_port = next(ports), next(ports)
    rucio_url = f"http://127.0.0.1:{server_port}"
    cluster = layout.postgres()
    write_configs(layout, rucio_url, cluster.url(postgres_port))

    qbittorrents = start_qbittorrents(layout, pids, sites, ports)  # they start while PostgreSQL does
    _claim(postgres_port, "PostgreSQL")
    try:
        cluster.start(postgres_port)
    except RuntimeError as error:
        if "could not bind" in str(error) or "Address already in use" in str(error):
            raise PortTaken(f"PostgreSQL's port {postgres_port} was taken by another program") from None
        raise StackFailed(f"PostgreSQL did not start: {error}") from None
    postgres_pid = cluster.pid()
    if postgres_pid is None:
        raise StackFailed(f"PostgreSQL started but wrote no postmaster.pid: see {cluster.log}")
    pids.add("postgresql", postgres_pid)
    say(f"PostgreSQL on 127.0.0.1:{postgres_port} ({time.monotonic() - started:.1f} s)")

    # the server imports for a couple of seconds before it touches the catalogue: bootstrap meanwhile
    start_server(layout, pids, server_port, args.server_workers)
    with redirect_stdout(sys.stderr):  # Rucio prints progress on stdout, which is reserved for the JSON
        say(bootstrap_catalogue())
    # the engine imports every daemon for a few seconds: it starts now, while the server and the topology do; until
    # the topology is written its daemons find no work (a restarted stack's transfers wait a loop or two)
    accounts = layout.etc / "rse-accounts.cfg"
    if not accounts.exists():
        write_json(accounts, {})
        accounts.chmod(0o600)
    start_engine(layout, pids, args)
    version = wait_server(layout, pids, rucio_url)
    say(f"Rucio {version} server on {rucio_url} ({time.monotonic() - started:.1f} s)")

    for site in qbittorrents:
        try:
            qbittorrent_version = site.wait_ready(functools.partial(pids.alive, f"qbittorrent-{site.rse}"))
        except RuntimeError as error:
            raise StackFailed(str(error)) from None
    say(f"{len(qbittorrents)} × qbittorrent-nox {qbittorrent_version} up ({time.monotonic() - started:.1f} s)")

    staging = args.staging if args.staging in sites else None
    with redirect_stdout(sys.stderr):
        rse_ids = set_up_topology(layout, qbittorrents, staging)
    say(f"RSEs {', '.join(sites)} ready ({time.monotonic() - started:.1f} s)")

    wait_engine(layout, pids)
    say(f"engine running (loop every {args.interval} s, reaper every {args.reaper_every} loops)")

    return {
        "dir": str(layout.root),
        "rucio_version": version,
        "rucio_url": rucio_url,
        "account": ACCOUNT,
        "username": USERNAME,
        "password": PASSWORD,
        "client_config": str(layout.client_config),
        "server_config": str(layout.server_config),
        "env": layout.client_environment(),
        "staging_rse": staging,
        "postgresql": {"port": postgres_port, "url": cluster.url(postgres_port), "pid": postgres_pid},
        "server": {"port": server_port, "pid": pids.pids["server"], "log": str(layout.log / "server.log")},
        "engine": {
            "pid": pids.pids["engine"],
            "log": str(layout.log / "engine.log"),
            "interval": args.interval,
            "reaper_every": args.reaper_every,
        },
        "sites": {
            site.rse: {
                "rse": site.rse,
                "rse_id": rse_ids[site.rse],
                "prefix": f"{layout.rses / site.rse}/",
                "tier": 0 if site.rse == staging else 1,
                "qbittorrent_webui_port": site.webui_port,
                "qbittorrent_url": site.management_address,
                "bittorrent_port": site.bittorrent_port,
                "postgresql_port": postgres_port,
                "pid": pids.pids[f"qbittorrent-{site.rse}"],
            }
            for site in qbittorrents
        },
        "pids": dict(pids.pids),
        "logs": str(layout.log),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "startup_seconds": round(time.monotonic() - started, 1),
    }


def stop_everything(layout: Layout) -> None:
    """Stop every recorded process, then PostgreSQL.

    The engine and the server first, together (the engine talks to the database and to qBittorrent, never to the
    server): no daemon must find its qBittorrent or the database gone in the middle of a turn."""
    recorded: dict[str, int] = {name: int(pid) for name, pid in (read_json(layout.pids_json) or {}).items()}
    recorded.pop("postgresql", None)  # stopped by pg_ctl, which waits for a clean shutdown
    first: dict[str, int] = {name: recorded.pop(name) for name in ("engine", "server") if name in recorded}
    killed = processes.stop(first, layout.marker, grace=30.0) + processes.stop(recorded, layout.marker)
    if killed:
        say(f"had to kill {', '.join(killed)} (did not stop after SIGTERM)")
    cluster = layout.postgres()
    cluster.stop()
    if cluster.pid() is not None:
        say(f"PostgreSQL in {cluster.data} did not stop: see {cluster.log}")
    layout.pids_json.unlink(missing_ok=True)
    layout.stack_json.unlink(missing_ok=True)


def down(args: argparse.Namespace) -> int:
    layout = Layout(args.dir)
    if not layout.root.is_dir():
        say(f"no stack in {layout.root}")
        return 0
    with locked(layout):
        stop_everything(layout)
    if not args.remove:
        say(f"stack in {layout.root} stopped (its catalogue and RSE folders stay; `up` starts them again)")
        return 0
    if not (layout.run.is_dir() and layout.server_config.is_file()):
        say(f"stack in {layout.root} stopped; not removing the folder: it does not look like a stack directory")
        return EXIT_FAILED
    shutil.rmtree(layout.root, ignore_errors=True)
    say(f"stack in {layout.root} stopped and removed")
    return 0


def status(args: argparse.Namespace) -> int:
    layout = Layout(args.dir)
    info = read_json(layout.stack_json)
    recorded = read_json(layout.pids_json) or {}
    report: dict[str, Any] = {
        "dir": str(layout.root),
        "processes": {
            name: {"pid": pid, "running": processes.is_ours(int(pid), layout.marker) or name == "postgresql"}
            for name, pid in recorded.items()
        },
    }
    if "postgresql" in recorded:
        report["processes"]["postgresql"]["running"] = layout.postgres().pid() == recorded["postgresql"]
    heartbeat = read_json(layout.heartbeat)
    if heartbeat is not None:
        report["engine_loop"] = heartbeat.get("loop")
        report["engine_heartbeat_age_seconds"] = round(time.time() - float(heartbeat.get("time", 0)), 1)
    report["running"] = info is not None and stack_is_running(layout, info)
    print(json.dumps(report, indent=2))
    return 0 if report["running"] else 1


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _sites(raw: str) -> list[str]:
    sites = [name.strip() for name in raw.split(",") if name.strip()]
    bad = [name for name in sites if not RSE_NAME.match(name)]
    if bad or not sites or len(set(sites)) != len(sites):
        raise SystemExit(
            f"--sites {raw!r}: give distinct RSE names of capital letters, digits, '_' and '-', separated by commas"
        )
    return sites


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (("up", "start the stack"), ("down", "stop the stack"), ("status", "is it running?")):
        command = commands.add_parser(name, help=summary)
        command.add_argument("--dir", type=lambda raw: Path(raw).resolve(), required=True, help="the stack directory")
        if name == "up":
            command.add_argument("--sites", default=",".join(DEFAULT_SITES), help="RSE names, comma-separated")
            command.add_argument(
                "--staging", default=DEFAULT_STAGING, help="the RSE that receives files fetched over HTTP (tier=0)"
            )
            command.add_argument("--interval", type=float, default=1.0, help="seconds per engine loop")
            command.add_argument("--reaper-every", type=int, default=3, help="run the reaper every n engine loops")
            command.add_argument("--server-workers", type=int, default=1, help="gunicorn worker processes")
            command.add_argument(
                "--owner-pid", type=int, help="stop the stack by itself when this process is gone (a test session)"
            )
            command.add_argument(
                "--temporary", action="store_true", help="with --owner-pid: then also remove the stack directory"
            )
        if name == "down":
            command.add_argument("--remove", action="store_true", help="then remove the stack directory")
    arguments = parser.parse_args(argv)
    if arguments.command == "up" and arguments.temporary and arguments.owner_pid is None:
        parser.error("--temporary needs --owner-pid")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        if args.command == "up":
            return up(args)
        if args.command == "down":
            return down(args)
        return status(args)
    except StackUnavailable as missing:
        say(f"the Rucio stack cannot run here: {missing}")
        return EXIT_UNAVAILABLE
    except (StackFailed, private_postgres.PostgresUnavailable) as failure:
        say(f"failed: {failure}")
        return EXIT_FAILED
    except Exception as error:
        traceback.print_exc()
        say(f"failed: {type(error).__name__}: {error} (logs in {args.dir / 'log'})")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
