"""The stack's own PostgreSQL 15 cluster: `initdb` + `pg_ctl` from the machine's PostgreSQL, under the stack directory.

Rucio needs PostgreSQL here, not SQLite: the bittorrent transfer tool stores each file's merkle tree as JSON DID
metadata, and Rucio has no JSON metadata plugin for SQLite. The system cluster (and /etc/postgresql) is never used.
PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user, who then owns the
cluster's folder and must be able to enter the stack directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin")
DATABASE = "rucio"
ROLE = "rucio"
# the role's password; the cluster trusts connections from 127.0.0.1 (a private cluster on loopback only)
PASSWORD = "secret"
# Unix sockets have a path limit of 107 bytes; a longer stack directory gets TCP only
SOCKET_PATH_LIMIT = 100


class PostgresUnavailable(RuntimeError):
    """The machine cannot run the private cluster (no PostgreSQL binaries, no `postgres` user)."""


def pg_bin(name: str) -> Path:
    for folder in PG_BIN_CANDIDATES:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    found = shutil.which(name)
    if found is None:
        raise PostgresUnavailable(
            f"PostgreSQL's {name} was not found (looked in {', '.join(PG_BIN_CANDIDATES)} and on PATH): "
            "install the Debian package postgresql-15"
        )
    return Path(found)


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, PostgreSQL must run as the `postgres` system user, which does not exist "
            "(the Debian package postgresql-15 creates it)"
        ) from None
    return ["runuser", "-u", "postgres", "--"]


def check_available() -> None:
    """Raise PostgresUnavailable naming what is missing."""
    for name in ("initdb", "pg_ctl"):
        pg_bin(name)
    _run_as()


@dataclass(frozen=True)
class Cluster:
    folder: Path  # DIR/pg: the data folder, the log and (when the path is short enough) the socket

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    def url(self, port: int) -> str:
        return f"postgresql+psycopg://{ROLE}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"

    def pid(self) -> int | None:
        """The postmaster's pid while the cluster runs (first line of postmaster.pid)."""
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self, port: int) -> None:
        """initdb on first use, then start on 127.0.0.1:`port` and make sure the role and database exist."""
        run_as = _run_as()
        self.folder.mkdir(parents=True, exist_ok=True)
        if run_as:
            _let_postgres_in(self.folder)
        self.folder.chmod(0o700)
        if not (self.data / "PG_VERSION").exists():
            self._run(
                run_as,
                str(pg_bin("initdb")),
                "-D",
                str(self.data),
                "-U",
                ROLE,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        sockets = str(self.folder) if len(str(self.folder)) <= SOCKET_PATH_LIMIT else ""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{sockets}' "
            # a development catalogue that is thrown away: durability is not worth the disk flushes
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        try:
            self._run(run_as, str(pg_bin("pg_ctl")), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                      "-o", options, "start")  # fmt: skip
        except RuntimeError as error:
            raise RuntimeError(f"{error}\n--- tail of {self.log} ---\n{_tail(self.log)}") from None
        self._create_database(port)

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            [*_run_as(), str(pg_bin("pg_ctl")), "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop"],
            capture_output=True,
            check=False,
            timeout=90,
        )

    @staticmethod
    def _run(run_as: list[str], *command: str) -> None:
        result = subprocess.run([*run_as, *command], capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout}"
            )

    @staticmethod
    def _create_database(port: int) -> None:
        import psycopg  # the server environment's driver; imported late so `down` works without it

        deadline = time.monotonic() + 30
        while True:
            try:
                connection = psycopg.connect(
                    host="127.0.0.1", port=port, user=ROLE, dbname="postgres", autocommit=True, connect_timeout=5
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if exists is None:
                connection.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{ROLE}"')


def _let_postgres_in(folder: Path) -> None:
    """Hand the cluster's folder to `postgres` and check that it can reach it from /."""
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    # the stack directory may come from mkdtemp (0700): let postgres pass through it (o+x lists nothing)
    stack_directory = folder.parent
    if stack_directory.stat().st_uid == os.geteuid():
        stack_directory.chmod(stack_directory.stat().st_mode | stat.S_IXOTH)
    for ancestor in folder.parents:
        mode = ancestor.stat()
        reachable = mode.st_mode & stat.S_IXOTH or (mode.st_uid == user.pw_uid and mode.st_mode & stat.S_IXUSR)
        if not reachable:
            raise RuntimeError(
                f"PostgreSQL runs as the postgres user, who cannot enter {ancestor} "
                f"(mode {stat.filemode(mode.st_mode)}): put the stack under a folder it can traverse, "
                f"or run `chmod o+x {ancestor}`"
            )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
