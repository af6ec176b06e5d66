"""A home harvested from the sandbox's DMDC GitLab replica (the corpus's COSINE-100 release, its files served with
their checksums) and HEPData replica, shared by the analysis tests (read only: each test opens its own Catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from sandbox import build_replicas, start
from sandbox.server import RunningSandbox


@dataclass
class Harvested:
    home: Path
    running: RunningSandbox


@pytest.fixture(scope="package")
def harvested(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[Harvested]:
    home = tmp_path_factory.mktemp("analysis-home")
    lake = Lake.open(home)
    with start(build_replicas(corpus, kinds=["dmdc", "hepdata"])) as running:
        harvest_all(lake, sources_of(running))
        lake.update_index()
        lake.close()
        yield Harvested(home, running)


@pytest.fixture(scope="package")
def cosine_data(corpus: Path) -> Path:
    return corpus / "dmdc" / "cosine100-publicdata" / "COSINE100-6YearsModulation" / "data"
