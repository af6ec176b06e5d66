"""Index test fixtures over `sandbox.generated_records`: deterministic, varied records (many share titles, dates and
values, so ties are common)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.tantivy_backend import TantivyIndex
from ontology.model import Record
from sandbox.generated_records import generated_record, generated_records


@pytest.fixture(scope="session")
def generated() -> Callable[..., Iterator[Record]]:
    return generated_records


@pytest.fixture(scope="session")
def record_factory() -> Callable[..., Record]:
    """`record_factory(i, **overrides)`: a generated record with chosen fields."""

    def factory(i: int = 0, **overrides: Any) -> Record:
        return generated_record(i, random.Random(i), **overrides)

    return factory


@pytest.fixture(scope="session")
def small_records() -> list[Record]:
    return list(generated_records(2_000, seed=11))


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory, small_records: list[Record]) -> Iterator[TantivyIndex]:
    """A read-only index of `small_records` shared by the query tests (tests that write make their own)."""
    index = TantivyIndex(tmp_path_factory.mktemp("small-index"))
    index.index(small_records)
    index.commit()
    index.close()
    yield index


@pytest.fixture
def empty_index(tmp_path: Path) -> Iterator[TantivyIndex]:
    index = TantivyIndex(tmp_path / "index")
    yield index
    index.close()
