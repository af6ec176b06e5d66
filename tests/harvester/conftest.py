"""Catalogue fixtures: every harvester rule runs on SQLite and on a real PostgreSQL (a private cluster)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgcluster import private_cluster

from harvester.catalogue import Catalogue

_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with private_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the private PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    server: str = request.getfixturevalue("postgres_server")
    name = f"t{next(_numbers)}"
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server.rpartition('/')[0]}/{name}"


@pytest.fixture
def catalogue(database_url: str) -> Iterator[Catalogue]:
    catalogue = Catalogue.open(database_url)
    yield catalogue
    catalogue.close()
