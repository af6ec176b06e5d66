"""The replication policy file: what it means, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ontology.model import Concept, Distribution, Provenance, Record, record_id
from replication.policy import PolicyError, load, parse_duration

POLICY = """
[replication]
account = "dmlake"
scope = "experiment"
staging_rse = "STAGING"
staging_lifetime = "30d"
staging_max_file_bytes = 1000000
tombstone_grace = "2h"
exclude = ["*.zip", "Paper *"]

[replication.scopes]
"COSINE-100" = "cosine100"

[replication.source_rses]
dmdc = "DMDC_PORTAL"

[[replication.rule]]
sources = ["dmdc"]
max_file_bytes = 1000
copies = 2
rse_expression = "SITE_B|SITE_C"
lifetime = "365d"
grouping = "dataset"
stop = true

[[replication.rule]]
copies = 1
rse_expression = "tier=1"
grouping = "NONE"
activity = "User Subscriptions"
"""


def _record(source: str, sizes: list[int], experiment: str | None = None) -> Record:
    return Record(
        id=record_id(source, "r1"),
        source=source,
        native_id="r1",
        title="A release",
        provenance=Provenance(source=source, source_kind="gitlab", raw_sha256="0" * 64, mapping_version="1"),
        distributions=[Distribution(name=f"f{n}.csv", size_bytes=s) for n, s in enumerate(sizes)],
        experiments=[Concept(label=experiment, raw=experiment)] if experiment else [],
    )


def test_a_policy_file_reads_as_written(tmp_path: Path) -> None:
    path = tmp_path / "replication.toml"
    path.write_text(POLICY)
    policy = load(path)
    assert (policy.account, policy.scope, policy.staging_rse) == ("dmlake", "experiment", "STAGING")
    assert (policy.staging_lifetime, policy.tombstone_grace, policy.staging_max_file_bytes) == (2592000, 7200, 1000000)
    assert policy.scopes == {"COSINE-100": "cosine100"} and policy.source_rses == {"dmdc": "DMDC_PORTAL"}
    first, second = policy.rules
    assert (first.copies, first.rse_expression, first.lifetime, first.grouping, first.stop) == (
        2, "SITE_B|SITE_C", 365 * 86400, "DATASET", True)  # fmt: skip
    assert (second.grouping, second.activity, second.lifetime) == ("NONE", "User Subscriptions", None)
    assert not policy.replicates("release.zip") and not policy.replicates("Paper (arXiv:1)")
    assert policy.replicates("data/events.csv")


def test_rules_match_by_source_and_size_in_order_and_stop(tmp_path: Path) -> None:
    path = tmp_path / "replication.toml"
    path.write_text(POLICY)
    policy = load(path)
    small = _record("dmdc", [10, 999])
    assert [r.rse_expression for r in policy.rules_for(small)] == ["SITE_B|SITE_C"]  # the first stops the matching
    large = _record("dmdc", [10, 1001])  # its largest file is above max_file_bytes
    assert [r.rse_expression for r in policy.rules_for(large)] == ["tier=1"]
    other = _record("zenodo", [1])
    assert [r.rse_expression for r in policy.rules_for(other)] == ["tier=1"]


def test_experiment_matchers(tmp_path: Path) -> None:
    path = tmp_path / "replication.toml"
    path.write_text('[replication]\nstaging_rse = "S"\n[[replication.rule]]\nexperiments = ["COSINE-100"]\n'
                    'copies = 1\nrse_expression = "SITE_A"\n')  # fmt: skip
    policy = load(path)
    assert policy.rules_for(_record("dmdc", [1], "COSINE-100"))
    assert not policy.rules_for(_record("dmdc", [1], "ANAIS"))
    assert not policy.rules_for(_record("dmdc", [1]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[replication]\n", r"\[replication\] staging_rse is missing"),
        ('[replication]\nstaging_rse = "site a"\n', r"\[replication\] staging_rse must be a Rucio RSE name"),
        ('[replication]\nstaging_rse = "S"\nscope = "site"\n', r"\[replication\] scope must be \"source\""),
        ('[replication]\nstaging_rse = "S"\ncolour = 1\n', r"unknown key\(s\) in \[replication\]: colour"),
        ('[replication]\nstaging_rse = "S"\ntombstone_grace = "soon"\n', r"tombstone_grace must be a duration"),
        ('[replication]\nstaging_rse = "S"\n[replication.scopes]\ndmdc = "a scope with spaces"\n',
         r"\[replication\] scopes.dmdc must be a Rucio scope name"),
        ('[replication]\nstaging_rse = "S"\n[replication.scopes]\ndmdc = "abcdefghijklmnopqrstuvwxyz"\n',
         r"scopes.dmdc must be a Rucio scope name \(at most 25"),
        ('[replication]\nstaging_rse = "S"\n[[replication.rule]]\ncopies = 2\n',
         r"\[replication\] rule\[0\].rse_expression is missing"),
        ('[replication]\nstaging_rse = "S"\n[[replication.rule]]\ncopies = 0\nrse_expression = "A"\n',
         r"rule\[0\].copies must be a positive integer"),
        ('[replication]\nstaging_rse = "S"\n[[replication.rule]]\ncopies = 1\nrse_expression = "A"\n'
         'grouping = "SOME"\n', r"rule\[0\].grouping must be ALL, DATASET or NONE"),
        ('[replication]\nstaging_rse = "S"\n[[replication.rule]]\ncopies = 1\nrse_expression = "A"\n'
         "min_file_bytes = 10\nmax_file_bytes = 5\n", r"rule\[0\]: min_file_bytes \(10\) is above max_file_bytes"),
        ('[replication]\nstaging_rse = "S"\n[[replication.rule]]\ncopies = 1\nrse_expression = "A"\nsize = 1\n',
         r"rule\[0\]: unknown key\(s\) size"),
        ("[replication\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "replication.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message) as caught:
        load(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no replication policy; write a \\[replication\\] table"):
        load(tmp_path / "replication.toml")


def test_durations() -> None:
    assert [parse_duration(v, "k") for v in (90, "90s", "15m", "12h", "7d", "2w", "1.5h")] == [
        90, 90, 900, 43200, 604800, 1209600, 5400]  # fmt: skip
    for bad in ("7 days", -1, True, "d"):
        with pytest.raises(PolicyError, match="k must be a duration"):
            parse_duration(bad, "k")
