"""One replica module per portal kind; each defines a `Replica` subclass named in `REPLICAS`."""

from __future__ import annotations

import importlib

from sandbox.replica import Replica

REPLICA_CLASSES = {
    "cernopendata": "sandbox.replicas.cernopendata:CernOpenDataReplica",
    "zenodo": "sandbox.replicas.zenodo:ZenodoReplica",
    "hepdata": "sandbox.replicas.hepdata:HEPDataReplica",
    "dmdc": "sandbox.replicas.gitlab:GitLabReplica",
    "kcdc-html": "sandbox.replicas.kcdc_html:KcdcHtmlReplica",
    "zenodo-oai": "sandbox.replicas.oaipmh_zenodo:ZenodoOaiReplica",
    "kcdc-oai": "sandbox.replicas.oaipmh_kcdc:KcdcOaiReplica",
    "cernopendata-oai": "sandbox.replicas.oaipmh_cernopendata:CernOpenDataOaiReplica",
}

SERVICE_CLASSES = {
    "datacite": "sandbox.replicas.datacite:DataCiteReplica",
}
"""Replicas of services dmlake writes to (not harvested sources): never in a sandbox's sources file."""


def replica_class(kind: str) -> type[Replica]:
    try:
        module, _, name = {**REPLICA_CLASSES, **SERVICE_CLASSES}[kind].partition(":")
    except KeyError:
        known = ", ".join([*REPLICA_CLASSES, *SERVICE_CLASSES])
        raise ValueError(f"no sandbox replica for kind {kind!r}; known: {known}") from None
    cls: type[Replica] = getattr(importlib.import_module(module), name)
    return cls
