"""Local replicas of the portal APIs, fed by corpus records or generated ones, and of the services dmlake writes to
(DataCite).

Used by the demo, the tests and the benchmarks; never by production harvests.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.replica import Replica
from sandbox.replicas import REPLICA_CLASSES, SERVICE_CLASSES, replica_class
from sandbox.server import RunningSandbox, sources_toml, start


def build_replicas(
    corpus: Path | None = None, generate: int | None = None, seed: int = 0, kinds: list[str] | None = None
) -> dict[str, Replica]:
    """Replicas by source name (= kind). From a corpus: every kind with records under it. Generated: every kind."""
    replicas: dict[str, Replica] = {}
    for kind in kinds or list(REPLICA_CLASSES):
        cls = replica_class(kind)
        if corpus is not None:
            replica = cls.from_corpus(corpus)
            if replica is not None:
                replicas[kind] = replica
        else:
            replicas[kind] = cls.generated(generate or 0, seed)
    if not replicas:
        raise ValueError(f"no portal records found under {corpus}: expected the layout of ../shared/corpus")
    return replicas


def build_services(names: list[str]) -> dict[str, Replica]:
    """Replicas of services by name (= kind), e.g. `datacite`: empty at first, they hold what dmlake sends them."""
    unknown = sorted(set(names) - set(SERVICE_CLASSES))
    if unknown:
        raise ValueError(f"no sandbox service {', '.join(map(repr, unknown))}; known: {', '.join(SERVICE_CLASSES)}")
    return {name: replica_class(name).generated(0) for name in names}


__all__ = ["Replica", "RunningSandbox", "build_replicas", "build_services", "sources_toml", "start"]
