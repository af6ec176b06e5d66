"""Rucio names: legal, stable across runs, unique per release, within Rucio's length limits."""

from __future__ import annotations

import re

from ontology.model import Concept, Distribution, Provenance, Record, record_id
from replication.naming import NAME_LIMIT, SCOPE_LIMIT, container_name, dataset_name, file_name, names_for, slug
from replication.policy import ReplicationPolicy

RUCIO_NAME = re.compile(r"[/A-Za-z0-9][/A-Za-z0-9.\-_]*")
RUCIO_SCOPE = re.compile(r"[a-zA-Z_\-.0-9]{1,25}")
COSINE = "dmdc/cosine/cosine100-6years-modulation@v1.0"


def _record(source: str, native_id: str, files: list[str], experiment: str | None = None) -> Record:
    return Record(
        id=record_id(source, native_id),
        source=source,
        native_id=native_id,
        title="A release",
        provenance=Provenance(source=source, source_kind="gitlab", raw_sha256="0" * 64, mapping_version="1"),
        distributions=[Distribution(name=name) for name in files],
        experiments=[Concept(label=experiment, raw=experiment)] if experiment else [],
    )


def test_names_of_a_release_are_legal_and_stable() -> None:
    policy = ReplicationPolicy(staging_rse="STAGING")
    record = _record("dmdc", COSINE, ["data/EventRate_erc1-6.csv", "Paper (arXiv:2409.13226)", "README.md"])
    names = names_for(record, policy)
    assert names == names_for(record, policy)  # a pure function: the same on every run
    assert names.dataset.scope == "dmdc"
    assert names.dataset.name.startswith("dmdc.dmdc.cosine.cosine100-6years-modulation_v1.0-")  # @ replaced, digest
    assert names.container.name == f"cluster__{names.dataset.name}"
    assert names.files["README.md"].name == f"{names.dataset.name}__README.md"  # legal as it is: no digest
    for did in [names.dataset, names.container, *names.files.values()]:
        assert RUCIO_NAME.fullmatch(did.name) and len(did.name) <= NAME_LIMIT, did
        assert RUCIO_SCOPE.fullmatch(did.scope)
    assert len(set(names.files.values())) == 3


def test_the_same_file_name_in_two_releases_never_collides() -> None:
    policy = ReplicationPolicy(staging_rse="STAGING")
    first = names_for(_record("dmdc", "proj@v1.0", ["data/events.csv"]), policy)
    second = names_for(_record("dmdc", "proj@v2.0", ["data/events.csv"]), policy)
    assert first.files["data/events.csv"] != second.files["data/events.csv"]
    assert first.dataset != second.dataset


def test_lossy_cleaning_keeps_distinct_originals_distinct() -> None:
    # "/" and "." clean to the same text; the digest of the original keeps them apart
    assert slug("a/b", 50) != slug("a.b", 50)
    assert slug("a.b", 50) == "a.b"
    assert slug("x__y", 50) != slug("x_y", 50) and "__" not in slug("x__y", 50)
    assert slug("_hidden", 50)[0].isalnum()


def test_long_names_are_shortened_within_rucio_limits_and_stay_unique() -> None:
    native = "n" * 400
    a, b = dataset_name("src", native + "a"), dataset_name("src", native + "b")
    assert a != b and len(a) <= 120
    long_files = [file_name(a, "d/" + "x" * 300 + str(n)) for n in range(2)]
    assert long_files[0] != long_files[1] and all(len(f) <= NAME_LIMIT for f in long_files)
    assert len(container_name(a)) <= NAME_LIMIT


def test_scopes_per_source_or_experiment() -> None:
    by_source = ReplicationPolicy(staging_rse="S", scopes={"dmdc": "dmdc_data"})
    record = _record("dmdc", "r", ["f"], "COSINE-100")
    assert names_for(record, by_source).dataset.scope == "dmdc_data"
    by_experiment = ReplicationPolicy(staging_rse="S", scope="experiment", scopes={"COSINE-100": "cosine100"})
    assert names_for(record, by_experiment).dataset.scope == "cosine100"
    derived = names_for(_record("dmdc", "r", ["f"], "Super Long Experiment Name With Spaces"), by_experiment)
    assert RUCIO_SCOPE.fullmatch(derived.dataset.scope) and len(derived.dataset.scope) <= SCOPE_LIMIT
    # a record naming no experiment goes to its source's scope, still replicated
    assert names_for(_record("zenodo", "r", ["f"]), by_experiment).dataset.scope == "zenodo"
    long_source = names_for(_record("a-very-long-source-name-for-a-portal", "r", ["f"]), by_source)
    assert len(long_source.dataset.scope) <= SCOPE_LIMIT and RUCIO_SCOPE.fullmatch(long_source.dataset.scope)


def test_a_cluster_shares_the_container_of_its_first_member() -> None:
    policy = ReplicationPolicy(staging_rse="S")
    head = _record("cernopendata", "1", ["a.root"])
    member = _record("zenodo", "2", ["b.root"])
    alone = names_for(member, policy)
    linked = names_for(member, policy, cluster_first=head)
    assert linked.container == names_for(head, policy).container
    assert linked.dataset == alone.dataset  # the dataset stays: a link only attaches it to another container
    assert linked.container.scope == "cernopendata" and linked.dataset.scope == "zenodo"
