"""A dmlake home: the folder holding one catalogue (database and raw store), its index and its sandbox state.

Chosen by `--home DIR`, else `$DMLAKE_HOME`, else `~/.local/share/dmlake`. Several homes live side by side.
The catalogue is SQLite inside the home unless `$DMLAKE_DATABASE_URL` names another database (PostgreSQL).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harvester import db


@dataclass(frozen=True)
class Home:
    path: Path
    database_url: str

    @property
    def index_dir(self) -> Path:
        return self.path / "index"

    @property
    def graph_dir(self) -> Path:
        """The catalogue-wide RDF graph (Oxigraph), for SPARQL."""
        return self.path / "graph"

    @property
    def sandbox_state(self) -> Path:
        return self.path / "sandbox.json"

    @property
    def sources_file(self) -> Path:
        """The home's own sources file, used when no `--config` is given and it exists."""
        return self.path / "sources.toml"

    @property
    def log_dir(self) -> Path:
        return self.path / "logs"


def default_home() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dmlake"


def resolve(home: str | Path | None = None, database_url: str | None = None) -> Home:
    path = Path(home or os.environ.get("DMLAKE_HOME") or default_home()).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    url = database_url or os.environ.get("DMLAKE_DATABASE_URL") or db.sqlite_url(path / "catalogue.sqlite")
    return Home(path, url)
