"""A private PostgreSQL cluster for tests: `initdb` + `pg_ctl` from the machine's PostgreSQL 15, on 127.0.0.1.

PostgreSQL refuses to run as root, so when the tests run as root the cluster runs as the `postgres` system user
(the data folder is handed to it). The cluster lives in a temporary folder and is stopped and removed afterwards.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")


def pg_bin(name: str) -> str:
    for folder in PG_BIN_CANDIDATES:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install postgresql-15 (Debian package postgresql-15)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_cluster() -> Iterator[str]:
    """Start a throw-away cluster and yield a SQLAlchemy URL of an empty database in it."""
    workdir = Path(tempfile.mkdtemp(prefix="dmlake-pg-"))
    data = workdir / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    log = workdir / "postgres.log"

    def run(*command: str) -> None:
        subprocess.run([*run_as, *command], check=True, capture_output=True, text=True, timeout=120)

    run(pg_bin("initdb"), "-D", str(data), "-U", "dmlake", "--auth=trust", "-E", "UTF8", "--no-sync")
    run(
        pg_bin("pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-w",
        "-o",
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={workdir} -c fsync=off",
        "start",
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        run(pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dmlake", "catalogue")
        yield f"postgresql+psycopg://dmlake@127.0.0.1:{port}/catalogue"
    finally:
        subprocess.run(
            [*run_as, pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True, check=False
        )
        shutil.rmtree(workdir, ignore_errors=True)
