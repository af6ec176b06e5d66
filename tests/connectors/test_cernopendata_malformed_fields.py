"""A malformed value of a CERN Open Data record is quarantined by a `MappingError` naming the field as the API
serves it.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"). A fixed sample of corpus records — every experiment, every primary and secondary type, with
and without index files, and records carrying each of the portal's keys — is served as `GET /api/records/<recid>`
bodies (`sandbox.replicas.cernopendata_api.api_record`, as the connector fetches them), and every value of each body
in turn is replaced by a value of another type or an odd string. Each mutant must either map or fail with a
`MappingError` whose field is a path of the mutated body (or, for a missing value, a path whose first missing step
is a key absent from an object or a null). Explicit cases pin the field and message of what used to be misnamed.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Hashable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cern_corpus import cern_records_by_recid
from malformed import ODD_VALUES, Outcomes, mutants, names_a_field

from connectors.base import MappingError, RawRecord
from connectors.cernopendata import CernOpenDataConnector
from ontology import Record
from sandbox.replicas.cernopendata_api import api_record, dumps, fixture_stamps, is_index_file

SEED = 29
PER_KIND = 3
"""Records sampled per kind (experiments × type × index files) and per top-level key of the fixtures."""

MISSING = ("missing", "a file without a URI", "an author without a name")
"""Messages of errors about a value that is absent, which name where the value should have been."""


def _body(fixture: dict[str, Any]) -> dict[str, Any]:
    created, updated = fixture_stamps(fixture)
    # a copy: the API body shares lists with the fixture, which other tests read unchanged
    return copy.deepcopy(api_record(fixture, created=created, updated=updated, base_url="https://opendata.cern.ch"))


def _map(recid: str, body: dict[str, Any]) -> Record:
    raw = RawRecord(recid, dumps(body), "application/json", f"https://opendata.cern.ch/api/records/{recid}")
    return CernOpenDataConnector.map_record(raw, "cern")


def _error(recid: str, body: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        _map(recid, body)
    return caught.value


def _experiments(fixture: dict[str, Any]) -> tuple[str, ...]:
    found = fixture.get("experiment")
    return tuple(found) if isinstance(found, list) else (str(found),)


def _kind(fixture: dict[str, Any]) -> tuple[Hashable, ...]:
    kind = fixture.get("type") or {}
    has_index = any(is_index_file(f) for f in fixture.get("files") or [])
    return _experiments(fixture), kind.get("primary"), tuple(kind.get("secondary") or ()), has_index


@pytest.fixture(scope="module")
def fixtures(corpus: Path) -> dict[str, dict[str, Any]]:
    return cern_records_by_recid(corpus)


@pytest.fixture(scope="module")
def sample(fixtures: dict[str, dict[str, Any]]) -> list[str]:
    """`PER_KIND` records of every kind and of every top-level key, drawn with a fixed seed."""
    rng = random.Random(SEED)
    by_kind: dict[tuple[Hashable, ...], list[str]] = defaultdict(list)
    by_key: dict[str, list[str]] = defaultdict(list)
    for recid in sorted(fixtures, key=int):
        by_kind[_kind(fixtures[recid])].append(recid)
        for key in fixtures[recid]:
            by_key[key].append(recid)
    chosen: set[str] = set()
    for group in [*(by_kind[k] for k in sorted(by_kind, key=repr)), *(by_key[k] for k in sorted(by_key))]:
        chosen.update(rng.sample(group, min(PER_KIND, len(group))))
    return sorted(chosen, key=int)


def test_the_sample_covers_every_experiment_type_and_key(
    fixtures: dict[str, dict[str, Any]], sample: list[str]
) -> None:
    chosen = [fixtures[recid] for recid in sample]
    assert 200 <= len(chosen) <= 300
    assert {_kind(f) for f in chosen} == {_kind(f) for f in fixtures.values()}
    assert {e for f in chosen for e in _experiments(f)} == {"ALICE", "ATLAS", "CMS", "DELPHI", "LHCb"}
    assert {k for f in chosen for k in f} == {k for f in fixtures.values() for k in f}
    served = [_body(f)["metadata"] for f in chosen]
    assert sum(1 for m in served if m["index_files"] and m.get("_file_indices")) >= 50


def test_every_mutated_value_maps_or_names_its_field(fixtures: dict[str, dict[str, Any]], sample: list[str]) -> None:
    rng = random.Random(SEED)
    outcomes = Outcomes()
    for recid in sample:
        body = _body(fixtures[recid])
        for path, odd in mutants(body, lambda: [rng.choice(ODD_VALUES)]):
            outcomes.attempt(
                f"{recid} {path} = {odd!r}", partial(_map, recid, body), partial(names_a_field, body, missing=MISSING)
            )
    outcomes.assert_every_one_named(mapped_over=8000, quarantined_over=6000)


# -- the causes, one by one ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("primary", ["", "  "])
def test_a_blank_primary_type_is_named(fixtures: dict[str, dict[str, Any]], primary: str) -> None:
    """It used to reach the model as a concept without a label and be named by the model's field, `label`."""
    body = _body(fixtures["1"])
    body["metadata"]["type"]["primary"] = primary
    error = _error("1", body)
    assert (error.field, error.message) == (
        "metadata.type.primary",
        "blank: expected the portal's type, such as Dataset or Software",
    )


@pytest.mark.parametrize("title", [None, "", " \n "])
def test_a_missing_or_blank_title_says_it_is_missing(fixtures: dict[str, dict[str, Any]], title: str | None) -> None:
    """Absent, it used to be named without saying the value was missing, so the field named no value at all."""
    body = _body(fixtures["1"])
    if title is None:
        del body["metadata"]["title"]
    else:
        body["metadata"]["title"] = title
    error = _error("1", body)
    assert (error.field, error.message) == ("metadata.title", "missing: record 1 has no title")
    assert names_a_field(body, error, MISSING)


@pytest.mark.parametrize(
    ("date_created", "field"),
    [
        ("sometime", "metadata.date_created"),
        (["", "sometime"], "metadata.date_created[1]"),
        (["2011", " 2011 ", "sometime"], "metadata.date_created[2]"),
        (["2011", "sometime", "sometime"], "metadata.date_created[1]"),
    ],
)
def test_a_date_created_without_a_year_is_named_where_the_body_has_it(
    fixtures: dict[str, dict[str, Any]], date_created: Any, field: str
) -> None:
    """Its position used to be counted among the non-blank, distinct entries: a lone string was named `[0]`, and
    an entry after a blank or a repeated one was named by the wrong index."""
    body = _body(fixtures["80010"])
    body["metadata"]["date_created"] = copy.deepcopy(date_created)
    error = _error("80010", body)
    assert (error.field, error.message) == (field, "'sometime' names no year of data taking")
    assert names_a_field(body, error, MISSING)


def test_absent_values_are_named_where_they_belong(fixtures: dict[str, dict[str, Any]]) -> None:
    """The messages `MISSING` admits: an object without the value the field names."""
    body = _body(fixtures["80010"])
    body["metadata"]["files"] = [{}]
    error = _error("80010", body)
    assert (error.field, error.message) == ("metadata.files[0].uri", "a file without a URI")
    body = _body(fixtures["329"])
    body["metadata"]["authors"][1] = {"orcid": "0000-0002-2634-4958"}
    error = _error("329", body)
    assert (error.field, error.message) == ("metadata.authors[1].name", "an author without a name")


@pytest.mark.parametrize("odd", [["x.root"], {"name": "x.root"}, 42, " "])
def test_a_file_name_that_is_not_text_is_passed_over_for_the_next_name(
    fixtures: dict[str, dict[str, Any]], odd: Any
) -> None:
    """As an absent one is: the file's key, else the last part of its URI — never the value's Python spelling."""
    body = _body(fixtures["80010"])
    entry = body["metadata"]["index_files"][0]
    from_uri = entry["uri"].rsplit("/", 1)[-1]
    entry["filename"] = odd
    assert _map("80010", body).distributions[0].name == from_uri
    entry["key"] = "index.json"
    assert _map("80010", body).distributions[0].name == "index.json"
    entry["filename"] = "named.json"
    assert _map("80010", body).distributions[0].name == "named.json"


@pytest.mark.parametrize("odd", [["isChildOf"], {"id": "isChildOf"}, 7])
def test_a_relation_type_that_is_not_text_makes_a_reference(fixtures: dict[str, dict[str, Any]], odd: Any) -> None:
    body = _body(fixtures["80010"])
    (relation,) = body["metadata"]["relations"]
    assert [i.value for i in _map("80010", body).is_part_of] == ["80020", "10.7483/OPENDATA.ATLAS.9HK7.P5SI"]
    relation["type"] = odd
    record = _map("80010", body)
    assert record.is_part_of == []
    assert {"80020", "10.7483/OPENDATA.ATLAS.9HK7.P5SI"} <= {i.value for i in record.references}
