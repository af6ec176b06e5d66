"""The DOI tests' lab: GitLab/DMDC and KCDC corpus replicas harvested into a real lake, and a DataCite replica."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from lakes import harvest_all, sources_of

from dmlake.lake import Lake
from sandbox.replicas.datacite import DEFAULT_ACCOUNT, DataCiteReplica
from sandbox.server import RunningSandbox

REPO = Path(__file__).resolve().parents[2]
PORTALS = ["dmdc", "kcdc-html"]
PUBLIC_URL = "https://lake.example.org"


@dataclass
class DoiLab:
    """A harvested home, the portal replicas it came from, and the DataCite replica its policy points at."""

    home: Path
    portals: RunningSandbox
    datacite: RunningSandbox
    replica: DataCiteReplica

    @property
    def endpoint(self) -> str:
        return self.datacite.urls["datacite"]

    def env(self, **extra: str) -> dict[str, str]:
        return {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "DATACITE_USERNAME": DEFAULT_ACCOUNT[0],
                "DATACITE_PASSWORD": DEFAULT_ACCOUNT[1], "DMLAKE_PUBLIC_URL": PUBLIC_URL, **extra}  # fmt: skip

    def doi(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        """`dmlake --home HOME doi ARGS` in a real process (so a crash hook can kill it)."""
        done = subprocess.run([sys.executable, "-m", "harvester.cli", "--home", str(self.home), "doi", *args],
                              cwd=REPO, capture_output=True, text=True, timeout=300, env=self.env(**env))  # fmt: skip
        if check:
            assert done.returncode == 0, f"dmlake doi {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def harvest(self, **options: Any) -> None:
        lake = Lake.open(self.home)
        try:
            harvest_all(lake, sources_of(self.portals), **options)
        finally:
            lake.close()

    def remote(self) -> dict[str, dict[str, Any]]:
        """Every DOI the replica holds, as stored."""
        answer: dict[str, dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/dois", timeout=30).json()
        return answer

    def bodies(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/bodies", timeout=30).json()
        return answer

    def requests(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = httpx.get(f"{self.endpoint}/_sandbox/requests", timeout=30).json()
        return answer
