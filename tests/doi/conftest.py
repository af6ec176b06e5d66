"""DOI fixtures (the lab itself is `tests/support/doi_lab.py`, importable by the test modules)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from doi_lab import PORTALS, PUBLIC_URL, DoiLab

from sandbox import build_replicas
from sandbox.replicas.datacite import DataCiteReplica
from sandbox.server import start


@pytest.fixture
def lab(corpus: Path, tmp_path: Path) -> Iterator[DoiLab]:
    """Fresh replicas (tests tombstone and edit portal records) and a fresh harvest of them."""
    replica = DataCiteReplica()
    with start(build_replicas(corpus=corpus, kinds=PORTALS)) as portals, start({"datacite": replica}) as datacite:
        home = tmp_path / "home"
        the_lab = DoiLab(home, portals, datacite, replica)
        the_lab.harvest()
        (home / "doi.toml").write_text(
            f'[doi]\nendpoint = "{datacite.urls["datacite"]}"\nprefix = "10.80000"\npublic_url = "{PUBLIC_URL}"\n'
            "requests = 6000\nper_seconds = 60\n"
        )
        yield the_lab
