"""One module per source kind. Importing `connectors.registry()` loads and registers every built-in kind."""

from __future__ import annotations

import importlib

from connectors.base import Connector, connector_kinds

BUILTIN_MODULES = (
    "connectors.cernopendata",
    "connectors.zenodo",
    "connectors.hepdata",
    "connectors.kcdc",
    "connectors.gitlab",
    "connectors.oaipmh",
)


def registry() -> dict[str, type[Connector]]:
    """Every connector kind, by name (`cernopendata`, `zenodo`, `hepdata`, ...)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    return connector_kinds()
