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
def catalogue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalogue]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    else:
        server: str = request.getfixturevalue("postgres_server")
        name = f"t{next(_numbers)}"
        base, _, _ = server.rpartition("/")
        with psycopg.connect(server.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{base}/{name}"
    catalogue = Catalogue.open(url)
    yield catalogue
    catalogue.close()
