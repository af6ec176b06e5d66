"""A malformed field of a HEPData record page is quarantined by a `MappingError` naming the field as the page has it.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"). Every value of the record pages of the corpus and of a few generated records is in turn
replaced by each value of `ODD_VALUES` (another type, an empty container, a string of the wrong kind); each mutant
must either map or fail with a `MappingError` naming a path of the mutated page (or, for a missing value, a path
whose first missing step is a key absent from an object or a null). Explicit cases pin the field and message of
each cause found, and which malformed optional values are skipped rather than quarantining the record.
"""

from __future__ import annotations

import copy
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from malformed import ODD_VALUES, Outcomes, field_steps, mutants, names_a_field
from starlette.testclient import TestClient

from connectors.base import MappingError, RawRecord
from connectors.hepdata import HEPDataConnector
from ontology import Record
from sandbox.replicas.hepdata import HEPDataReplica

SEED = 19
LHCB = "ins1396331.v1"
BELLE = "ins1512299.v1"
RIVET = "https://rivet.hepforge.org/analyses/CMS_2021_I1234567"

Payload = tuple[str, str, dict[str, Any]]
"""(label, native id, record page JSON)."""


# -- record pages ----------------------------------------------------------------------------------------------------


def _served(replica: HEPDataReplica, label: str) -> list[Payload]:
    """Every version of every record the replica holds, as `/record/ins<ID>?format=json&version=<N>` serves it."""
    client = TestClient(replica.app())
    out = []
    for inspire in client.get("/search/ids", params={"inspire_ids": "true"}).json():
        latest = client.get(f"/record/ins{inspire}", params={"format": "json"}).json()
        for version in range(1, latest["version_count"] + 1):
            response = client.get(f"/record/ins{inspire}", params={"format": "json", "version": str(version)})
            assert response.status_code == 200, response.text[:200]
            ident = f"ins{inspire}.v{version}"
            out.append((f"{label}/{ident}", ident, response.json()))
    return out


@pytest.fixture(scope="module")
def payloads(corpus: Path) -> list[Payload]:
    """The corpus records and three generated ones, every version; and the first generated one again without its
    collaboration and with a Rivet analysis, so that the authors and analyses (which no served page has both of)
    are read too."""
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    generated = _served(HEPDataReplica.generated(3, seed=SEED), "generated")
    label, ident, page = generated[0]
    authored = copy.deepcopy(page)
    authored["record"]["collaborations"] = []
    authored["record"]["analyses"] = [{"type": "rivet", "analysis": RIVET}]
    assert authored["record"]["summary_authors"], "the generated record has authors to read"
    return [*_served(replica, "corpus"), *generated, (f"{label}+authors", ident, authored)]


def _map(native_id: str, data: dict[str, Any]) -> Record:
    return HEPDataConnector.map_record(RawRecord(native_id, orjson.dumps(data), "application/json", "x"), "hepdata")


def _error(native_id: str, data: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        _map(native_id, data)
    return caught.value


def _pick(payloads: list[Payload], label: str) -> tuple[str, dict[str, Any]]:
    """A deep copy of one record page, to change."""
    (found,) = [(ident, data) for name, ident, data in payloads if name == label]
    return found[0], copy.deepcopy(found[1])


def _lhcb(payloads: list[Payload]) -> tuple[str, dict[str, Any]]:
    return _pick(payloads, f"corpus/{LHCB}")


def _authored(payloads: list[Payload]) -> tuple[str, dict[str, Any]]:
    (label,) = [name for name, _, _ in payloads if name.endswith("+authors")]
    return _pick(payloads, label)


# -- every value of a record page, mutated ---------------------------------------------------------------------------


def test_every_mutated_value_maps_or_names_its_field(payloads: list[Payload]) -> None:
    outcomes = Outcomes()
    for label, native_id, original in payloads:
        data = copy.deepcopy(original)
        for path, odd in mutants(data, lambda: map(copy.deepcopy, ODD_VALUES)):
            outcomes.attempt(f"{label} {path} = {odd!r}", partial(_map, native_id, data), partial(names_a_field, data))
    outcomes.assert_every_one_named(mapped_over=10000, quarantined_over=5000)


# -- the causes, one by one ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("keywords", 2.5, "float"),
        ("keywords", "not a date", "str"),  # once read as the keywords "n", "o", "t", …
        ("keywords", {"a": 1}, "dict"),
        ("resources", 42, "int"),
        ("resources", "  ", "str"),  # once named `record.resources[0]`, a character of the string
        ("analyses", True, "bool"),
        ("analyses", "x", "str"),
    ],
)
def test_a_record_list_of_another_kind_is_named(payloads: list[Payload], key: str, value: Any, kind: str) -> None:
    native_id, data = _lhcb(payloads)
    data["record"][key] = value
    error = _error(native_id, data)
    assert (error.field, error.message) == (f"record.{key}", f"expected a list, got {kind}")


@pytest.mark.parametrize(("value", "kind"), [(True, "bool"), (42, "int"), ("x", "str"), ({"a": 1}, "dict")])
def test_resources_with_doi_of_another_kind_is_named(payloads: list[Payload], value: Any, kind: str) -> None:
    native_id, data = _lhcb(payloads)
    data["resources_with_doi"] = value
    error = _error(native_id, data)
    assert (error.field, error.message) == ("resources_with_doi", f"expected a list, got {kind}")


@pytest.mark.parametrize(("value", "kind"), [(["x"], "list"), (42, "int"), ("x", "str")])
def test_access_urls_of_another_kind_are_named(payloads: list[Payload], value: Any, kind: str) -> None:
    native_id, data = _lhcb(payloads)
    data["record"]["access_urls"] = value
    error = _error(native_id, data)
    assert (error.field, error.message) == ("record.access_urls", f"expected an object, got {kind}")


def test_empty_or_null_lists_and_objects_are_none(payloads: list[Payload]) -> None:
    """HEPData's own `or []`: an empty value of another kind says nothing rather than something malformed."""
    native_id, data = _lhcb(payloads)
    data["record"]["access_urls"] = []
    data["record"]["resources"] = None
    data["record"]["keywords"] = ""
    record = _map(native_id, data)
    assert [d for d in record.distributions if d.role == "data"] == []
    assert record.related_links == [] and record.keywords == []


def test_authors_of_another_kind_are_named(payloads: list[Payload]) -> None:
    native_id, data = _authored(payloads)
    data["record"]["summary_authors"] = 2.5
    assert str(_error(native_id, data)) == "record.summary_authors: expected a list, got float"

    native_id, data = _authored(payloads)
    data["record"]["summary_authors"] = "A. Author"  # once named `record.summary_authors[0]`, its first letter
    assert _error(native_id, data).field == "record.summary_authors"

    native_id, data = _authored(payloads)
    data["record"]["summary_authors"][1] = ["x"]
    error = _error(native_id, data)
    assert (error.field, error.message) == ("record.summary_authors[1]", "expected {full_name, affiliation}, got list")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (["Doe, J."], "expected text, got list: an author without a name"),  # once the creator "['Doe, J.']"
        (42, "expected text, got int: an author without a name"),
        (None, "missing: an author without a name"),
        ("  ", "blank: an author without a name"),
    ],
)
def test_an_author_name_that_is_not_text_is_named(payloads: list[Payload], name: Any, message: str) -> None:
    native_id, data = _authored(payloads)
    data["record"]["summary_authors"][2]["full_name"] = name
    error = _error(native_id, data)
    assert (error.field, error.message) == ("record.summary_authors[2].full_name", message)


def test_an_affiliation_that_is_not_text_is_skipped(payloads: list[Payload]) -> None:
    """As the other optional texts are (`_text`): the author keeps their name, the record is not lost for it."""
    native_id, data = _authored(payloads)
    author = data["record"]["summary_authors"][0]
    assert isinstance(author["affiliation"], str) and author["affiliation"].strip()
    for affiliation in (42, ["CERN"], {"name": "CERN"}, None):
        author["affiliation"] = affiliation
        creator = _map(native_id, data).creators[0]
        assert (creator.name, creator.affiliations) == (author["full_name"].strip(), [])


@pytest.mark.parametrize(("item", "kind"), [(True, "bool"), ({"a": 1}, "dict"), (None, "NoneType")])
def test_a_collaboration_that_is_not_text_is_named(payloads: list[Payload], item: Any, kind: str) -> None:
    """Once `True` became the collaboration "True"; once the whole list was named for any one item."""
    native_id, data = _lhcb(payloads)
    data["record"]["collaborations"] = ["LHCb", item]
    error = _error(native_id, data)
    assert (error.field, error.message) == ("record.collaborations[1]", f"expected text, got {kind}")


@pytest.mark.parametrize(("table", "kind"), [(None, "NoneType"), ("Table 2", "str"), (["x"], "list")])
def test_a_table_that_is_not_an_object_is_named_not_its_name(payloads: list[Payload], table: Any, kind: str) -> None:
    native_id, data = _lhcb(payloads)
    data["data_tables"][1] = table
    error = _error(native_id, data)
    assert (error.field, error.message) == ("data_tables[1]", f"expected a table {{name, doi, data, …}}, got {kind}")


def test_a_table_name_is_missing_of_another_kind_or_blank(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    del data["data_tables"][0]["name"]
    assert str(_error(native_id, data)) == "data_tables[0].name: missing: every table has a name"
    data["data_tables"][0]["name"] = 7
    assert _error(native_id, data).message == "expected text, got int: every table has a name"
    data["data_tables"][0]["name"] = " "
    assert _error(native_id, data).message == "blank: every table has a name"


def test_a_download_format_with_a_dot_is_one_step_of_the_field(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    data["data_tables"][2]["data"]["yoda.h5"] = 42
    error = _error(native_id, data)
    assert (error.field, error.message) == ("data_tables[2].data['yoda.h5']", "not a URL: 42")
    assert field_steps(error.field) == ["data_tables", 2, "data", "yoda.h5"]

    data["data_tables"][2]["data"]["yaml"] = "ftp://x"
    assert _error(native_id, data).field == "data_tables[2].data.yaml"


def test_a_table_without_urls_by_format_is_named(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    name = data["data_tables"][0]["name"]
    data["data_tables"][0]["data"] = ["https://x"]
    error = _error(native_id, data)
    assert (error.field, error.message) == (
        "data_tables[0].data",
        f"expected an object of URLs by format, got list: table {name!r} lists no download URLs",
    )


def test_a_resource_with_doi_is_named_by_its_doi(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    data["resources_with_doi"] = [{"filename": "code.py", "doi": 42}]
    error = _error(native_id, data)
    assert (error.field, error.message) == (
        "resources_with_doi[0].doi",
        "expected text, got int: a resource HEPData minted a DOI for",
    )
    data["resources_with_doi"] = [{"filename": "code.py"}]
    assert _error(native_id, data).message == "missing: a resource HEPData minted a DOI for"
    data["resources_with_doi"] = ["code.py"]
    error = _error(native_id, data)
    assert (error.field, error.message) == ("resources_with_doi[0]", "expected {filename, description, doi}, got str")


def test_a_resource_file_name_that_is_not_text_is_skipped_for_the_doi(payloads: list[Payload]) -> None:
    """As an absent one is: the file is still listed, under its DOI (once it was named "['code.py']")."""
    native_id, data = _lhcb(payloads)
    doi = "10.17182/hepdata.73066.v1/r1"
    for filename in (["code.py"], 42, None, ""):
        data["resources_with_doi"] = [{"filename": filename, "doi": doi}]
        (resource,) = [d for d in _map(native_id, data).distributions if d.role == "auxiliary"]
        assert (resource.name, resource.identifiers[0].value) == (doi, doi)
    data["resources_with_doi"] = [{"filename": "code.py", "doi": doi}]
    (resource,) = [d for d in _map(native_id, data).distributions if d.role == "auxiliary"]
    assert resource.name == "code.py"


def test_an_analysis_that_is_not_an_object_is_skipped(payloads: list[Payload]) -> None:
    """The mapper's convention for analyses (unlike `resources`, whose items must be objects): keep the links found."""
    native_id, data = _lhcb(payloads)
    data["record"]["analyses"] = ["x", 42, {"analysis": 7}, {"type": "rivet", "analysis": RIVET}]
    assert RIVET in _map(native_id, data).related_links


def test_a_record_type_that_is_not_text_is_skipped(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    expected = _map(native_id, data).resource_type
    assert expected is not None and expected.raw == "publication"
    for odd in (["x"], 42, {"a": 1}):
        data["record_type"] = odd
        assert _map(native_id, data).resource_type == expected


def test_the_inspire_number_that_disagrees_with_the_fetch_is_named(payloads: list[Payload]) -> None:
    native_id, data = _lhcb(payloads)
    data["record"]["inspire_id"] = 42
    error = _error(native_id, data)
    assert (error.field, error.message) == ("record.inspire_id", f"the payload is ins42.v1 but was fetched as {LHCB}")

    native_id, data = _lhcb(payloads)
    data["record"] = {}
    error = _error(native_id, data)
    assert (error.field, error.message) == (
        "record.inspire_id",
        "missing: every HEPData record has an INSPIRE record number",
    )


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_date_out_of_range_in_utc_is_named(payloads: list[Payload], when: str) -> None:
    native_id, data = _lhcb(payloads)
    data["record"]["last_updated"] = when
    assert str(_error(native_id, data)) == f"record.last_updated: {when!r} is out of the range of dates in UTC"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("status"), "status: missing: only finished (published) HEPData versions are records"),
        (lambda d: d.pop("version"), "version: missing: expected an integer"),
        (lambda d: d["record"].pop("last_updated"), "record.last_updated: missing: expected a date"),
        (lambda d: d["record"].update(hepdata_doi=42), "record.hepdata_doi: expected text, got int: every finished "
         "HEPData record has a DOI"),
        (lambda d: d["record"].pop("hepdata_doi"), "record.hepdata_doi: missing: every finished HEPData record has "
         "a DOI"),
    ],
)  # fmt: skip
def test_an_absent_value_is_said_to_be_missing(payloads: list[Payload], change: Any, expected: str) -> None:
    """A field the page does not have is a path only with a message saying it is missing (`names_a_field`)."""
    native_id, data = _lhcb(payloads)
    change(data)
    error = _error(native_id, data)
    assert str(error) == expected
    assert names_a_field(data, error)


def test_an_absent_title_is_said_to_be_missing(payloads: list[Payload]) -> None:
    native_id, data = _pick(payloads, f"corpus/{BELLE}")
    data["record"].pop("title", None)
    data["record"]["data_abstract"] = None
    error = _error(native_id, data)
    assert error.field == "record.title" and error.message.startswith("missing: ")
    assert names_a_field(data, error)
