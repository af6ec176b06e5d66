"""`OaiClient.list_named_sets` and `list_sets`: every page of ListSets (with the sets' names), or the first pages
only, against the Zenodo OAI-PMH replica (paged sets, and a repository without a set hierarchy)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from connectors.base import Limits
from connectors.http import HttpClient
from connectors.oaipmh_protocol import OaiClient, OaiSet
from sandbox.replicas.oaipmh import RepositoryProfile, revise
from sandbox.replicas.oaipmh_zenodo import ZENODO, GeneratedZenodoBase, ZenodoOaiReplica
from sandbox.server import RunningSandbox, start
from sandbox.store import ReplicaStore


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    def replica(profile: RepositoryProfile) -> ZenodoOaiReplica:
        return ZenodoOaiReplica(ReplicaStore(GeneratedZenodoBase(20, seed=1), revise), profile)

    paged, flat = replace(ZENODO, set_page_size=2), replace(ZENODO, sets=())
    with start({"paged": replica(paged), "flat": replica(flat)}) as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[HttpClient]:
    with HttpClient(Limits(requests_per_minute=None, max_retries=1), max_backoff=0.2) as client:
        yield client


def client(sandbox: RunningSandbox, name: str, http: HttpClient) -> OaiClient:
    return OaiClient(http, sandbox.urls[name] + "/oai2d", name)


def test_every_page_of_sets_with_their_names(sandbox: RunningSandbox, http: HttpClient) -> None:
    sets, complete = client(sandbox, "paged", http).list_named_sets()
    assert complete
    assert sets == [OaiSet(spec, name) for spec, name in ZENODO.sets]  # 9 sets over 5 pages, in the listed order
    assert client(sandbox, "paged", http).list_sets() == ([spec for spec, _ in ZENODO.sets], True)


def test_stopping_after_some_pages_says_the_listing_is_incomplete(sandbox: RunningSandbox, http: HttpClient) -> None:
    sets, complete = client(sandbox, "paged", http).list_named_sets(max_pages=3)
    assert not complete
    assert [s.spec for s in sets] == [spec for spec, _ in ZENODO.sets[:6]]
    everything, complete = client(sandbox, "paged", http).list_named_sets(max_pages=5)
    assert complete and len(everything) == 9  # the last page has no token: the listing was read to its end


def test_a_repository_without_sets_has_none(sandbox: RunningSandbox, http: HttpClient) -> None:
    assert client(sandbox, "flat", http).list_named_sets() == ([], True)
    assert client(sandbox, "flat", http).list_sets() == ([], True)
