"""The policy chooses sources: records of other sources get no DOI and are not even decoded; a record with a DOI of
its own never gets one of ours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from doi_lab import DoiLab, status

from dmlake.lake import Lake
from doi.client import DataCiteClient
from doi.policy import Credentials, load
from doi.registrar import DoiRegistrar
from doi.store import DoiStore
from harvester.catalogue import Catalogue
from ontology.model import Identifier, IdentifierScheme, Record
from sandbox.replicas.datacite import DEFAULT_ACCOUNT


class CountingFeed:
    """The catalogue's feed, noting which records were read; one KCDC record has a DOI of its own."""

    def __init__(self, catalogue: Catalogue, with_doi: str) -> None:
        self.catalogue = catalogue
        self.with_doi = with_doi
        self.read: list[str] = []

    def records(self, ids: Sequence[str]) -> Mapping[str, Record]:
        self.read += ids
        found = self.catalogue.records(ids)
        if self.with_doi in found:
            own = Identifier(scheme=IdentifierScheme.DOI, value="10.17616/kcdc.own")
            found[self.with_doi] = found[self.with_doi].model_copy(
                update={"identifiers": [*found[self.with_doi].identifiers, own]}
            )
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.catalogue, name)


def test_only_chosen_sources_and_never_a_record_with_its_own_doi(lab: DoiLab) -> None:
    (lab.home / "doi.toml").write_text((lab.home / "doi.toml").read_text() + 'kinds = ["kcdc"]\n')
    lake = Lake.open(lab.home)
    try:
        ids = [s.id for s in lake.catalogue.iter_records(source="kcdc-html")]
        policy = load(lab.home / "doi.toml")
        client = DataCiteClient(policy.endpoint, Credentials(*DEFAULT_ACCOUNT), requests_per_minute=None)
        feed = CountingFeed(lake.catalogue, ids[0])
        registrar = DoiRegistrar(feed, DoiStore(lake.catalogue.engine), client, policy,
                                 {"kcdc-html": "kcdc", "dmdc": "gitlab"})  # fmt: skip
        outcome = registrar.reserve()
    finally:
        lake.close()
    assert feed.read and all("/kcdc-html/" in i for i in feed.read), "GitLab records were not decoded"
    assert not outcome.failed
    assert {r["key"] for r in status(lab)} == set(ids[1:])
    assert len(lab.remote()) == len(ids) - 1
