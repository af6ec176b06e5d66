"""A malformed field of a Zenodo record is quarantined by a `MappingError` naming the field as the record has it.

The harvest quarantines a record under the field its `MappingError` names; any other exception is reported as a
mapper bug ("(mapper)"). Real and generated records are mutated — every value of a REST payload in turn replaced by
a value of another type or an odd string, elements of OAI-PMH records blanked, dropped, doubled or given children —
and each mutant must either map or fail with a `MappingError`; a REST error must name a path of the mutated
payload (or, for a missing value, a path whose first missing step is a key absent from an object or a null).
Explicit cases pin the field and message of what was found wrong, and how an unusable link is skipped.
"""

from __future__ import annotations

import copy
import random
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from lxml import etree
from malformed import ODD_VALUES, Outcomes, mutants, mutated_elements, names_a_field
from starlette.testclient import TestClient

from connectors.base import MappingError, RawRecord
from connectors.oaipmh import OaiPmhConnector
from connectors.zenodo import ZenodoConnector
from ontology import Record
from sandbox.replicas.oaipmh_zenodo import GeneratedZenodoBase
from sandbox.replicas.zenodo import ZenodoReplica

LEGACY = "application/json"
RDM = "application/vnd.inveniordm.v1+json"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
SEED = 19

MISSING = ("missing", "a creator or contributor without a name", "a file without a name")
"""Messages of errors about a value that is absent, which may name where the value should have been."""


# -- records ---------------------------------------------------------------------------------------------------------


Payload = tuple[str, str, dict[str, Any]]
"""(label, native id, REST JSON)."""


def _served(replica: ZenodoReplica, label: str) -> list[Payload]:
    client = TestClient(replica.app())
    out = []
    for entry in replica.store.entries():
        for accept in (LEGACY, RDM):
            response = client.get(f"/api/records/{entry.native_id}", headers={"Accept": accept})
            assert response.status_code == 200, response.text
            out.append((f"{label}/{entry.native_id}/{accept}", entry.native_id, response.json()))
    return out


@pytest.fixture(scope="module")
def payloads(corpus: Path) -> list[Payload]:
    """Every corpus record and four generated ones, each in both shapes."""
    replica = ZenodoReplica.from_corpus(corpus)
    assert replica is not None
    return _served(replica, "corpus") + _served(ZenodoReplica.generated(4, seed=SEED), "generated")


def _map(native_id: str, data: dict[str, Any]) -> Record:
    return ZenodoConnector.map_record(RawRecord(native_id, orjson.dumps(data), LEGACY, "x"), "zenodo")


def _error(native_id: str, data: dict[str, Any]) -> MappingError:
    with pytest.raises(MappingError) as caught:
        _map(native_id, data)
    return caught.value


def _pick(payloads: list[Payload], accept: str, native_id: str) -> tuple[str, dict[str, Any]]:
    """A deep copy of one corpus record in one shape, to change."""
    (data,) = [d for label, n, d in payloads if label == f"corpus/{native_id}/{accept}"]
    return native_id, copy.deepcopy(data)


# -- every value of a REST payload, mutated ----------------------------------------------------------------------------


def test_every_mutated_value_maps_or_names_its_field(payloads: list[Payload]) -> None:
    rng = random.Random(SEED)
    outcomes = Outcomes()
    for label, native_id, original in payloads:
        data = copy.deepcopy(original)
        for path, odd in mutants(data, lambda: [rng.choice(ODD_VALUES)]):
            outcomes.attempt(
                f"{label} {path} = {odd!r}",
                partial(_map, native_id, data),
                partial(names_a_field, data, missing=MISSING),
            )
    outcomes.assert_every_one_named(mapped_over=1000, quarantined_over=1000)


# -- OAI-PMH records, mutated ----------------------------------------------------------------------------------------


def _oai_record(identifier: str, metadata: str) -> bytes:
    """A metadata body inside an OAI-PMH `<record>` (declaring the `xsi` prefix the bodies use, as the server does)."""
    return (
        f'<record xmlns="{OAI[1:-1]}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><header><identifier>'
        f"{identifier}</identifier><datestamp>2024-01-01T00:00:00Z</datestamp></header><metadata>{metadata}</metadata></record>"
    ).encode()


def _oai_raws(corpus: Path) -> list[RawRecord]:
    """Every tenth Zenodo OAI-PMH record of the corpus and six generated ones (oai_dc and DataCite)."""
    raws = []
    files = sorted((corpus / "zenodo" / "oai" / "extracted").glob("*.xml"))
    records = []
    for path in files:
        try:
            records += etree.parse(str(path)).iter(f"{OAI}record")
        except etree.XMLSyntaxError:
            continue
    for record in records[::10]:
        identifier = record.findtext(f"{OAI}header/{OAI}identifier") or ""
        raws.append(RawRecord(identifier, etree.tostring(record), "application/xml; oai-profile=zenodo", "x"))
    generated = GeneratedZenodoBase(6, seed=SEED)
    for index in range(len(generated)):
        found = generated.record(index)
        for prefix in ("oai_dc", "datacite"):
            payload = _oai_record(found["identifier"], found["bodies"][prefix])
            raws.append(RawRecord(found["identifier"], payload, "application/xml; oai-profile=zenodo", "x"))
    return raws


def test_every_mutated_oai_element_maps_or_names_its_field(corpus: Path) -> None:
    rng = random.Random(SEED)
    outcomes = Outcomes()
    for raw in _oai_raws(corpus):
        for _, element, tree in mutated_elements(raw.payload, etree.fromstring, rng):
            mutant = RawRecord(raw.native_id, etree.tostring(tree), raw.media_type, raw.url)
            outcomes.attempt(
                f"{raw.native_id} <{etree.QName(element).localname}>",
                partial(OaiPmhConnector.map_record, mutant, "zenodo-oai"),
                lambda error: bool(error.field) and error.field != "record",
            )
    outcomes.assert_every_one_named(mapped_over=500, quarantined_over=50)


# -- the causes, one by one ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [LEGACY, RDM])
@pytest.mark.parametrize("scheme", [42, 2.5, True, ["doi"], {"id": "doi"}, []])
def test_a_related_identifier_scheme_that_is_not_text_is_named(
    payloads: list[Payload], accept: str, scheme: Any
) -> None:
    native_id, data = _pick(payloads, accept, "15482")
    data["metadata"]["related_identifiers"][2]["scheme"] = scheme
    error = _error(native_id, data)
    assert error.field == "metadata.related_identifiers[2].scheme"
    assert str(error) == f"metadata.related_identifiers[2].scheme: expected text, got {type(scheme).__name__}"


@pytest.mark.parametrize(("accept", "key"), [(LEGACY, "alternate_identifiers"), (RDM, "identifiers")])
def test_an_alternate_identifier_scheme_that_is_not_text_is_named(
    payloads: list[Payload], accept: str, key: str
) -> None:
    native_id, data = _pick(payloads, accept, "15482")
    data["metadata"][key][1]["scheme"] = 7
    error = _error(native_id, data)
    assert (error.field, error.message) == (f"metadata.{key}[1].scheme", "expected text, got int")


@pytest.mark.parametrize("accept", [LEGACY, RDM])
def test_a_missing_or_blank_scheme_is_still_guessed(payloads: list[Payload], accept: str) -> None:
    native_id, data = _pick(payloads, accept, "15482")
    entry = data["metadata"]["related_identifiers"][0]
    del entry["scheme"]
    guessed = _map(native_id, data).model_dump(exclude={"provenance"})
    for blank in (None, ""):
        entry["scheme"] = blank
        assert _map(native_id, data).model_dump(exclude={"provenance"}) == guessed


@pytest.mark.parametrize("link", [42, 2.5, True, ["https://x"], {"a": 1}])
def test_a_file_link_that_is_not_text_is_skipped_for_the_files_endpoint_url(payloads: list[Payload], link: Any) -> None:
    """As the record's own `links.self_html` and `links.files` are skipped when not strings: the file keeps the URL
    the files endpoint gives it, the record is not lost for it."""
    native_id, data = _pick(payloads, RDM, "5173799")
    (name,) = data["files"]["entries"]
    data["files"]["entries"][name]["links"]["content"] = link
    url = _map(native_id, data).distributions[0].url
    assert url == f"{data['links']['files']}/{name}/content"
    del data["files"]["entries"][name]["links"]["content"]
    assert _map(native_id, data).distributions[0].url == url

    native_id, data = _pick(payloads, LEGACY, "5173799")
    links = data["files"][0]["links"]
    self_link = links["self"]
    links["download"] = link
    assert _map(native_id, data).distributions[0].url == self_link
    links["self"] = link
    name = data["files"][0]["filename"]
    assert _map(native_id, data).distributions[0].url == f"{data['links']['files']}/{name}/content"


def test_errors_name_the_key_the_record_has_the_value_under(payloads: list[Payload]) -> None:
    native_id, data = _pick(payloads, LEGACY, "5173799")
    data["files"][0]["filename"] = 42
    error = _error(native_id, data)
    assert (error.field, error.message) == ("files[0].filename", "a file without a name")

    native_id, data = _pick(payloads, LEGACY, "5173799")
    data["files"][0]["filesize"] = "big"
    assert _error(native_id, data).field == "files[0].filesize"

    native_id, data = _pick(payloads, LEGACY, "5173799")
    data.pop("modified", None)
    data["updated"] = "yesterday"
    assert str(_error(native_id, data)) == "updated: 'yesterday' is not an ISO 8601 date"

    native_id, data = _pick(payloads, RDM, "5173799")
    data["metadata"]["creators"][0]["person_or_org"]["family_name"] = ["Doe"]
    assert str(_error(native_id, data)) == "metadata.creators[0].person_or_org.family_name: expected text, got list"

    native_id, data = _pick(payloads, RDM, "5173799")
    data["metadata"]["creators"][0]["person_or_org"] = {"type": "personal", "name": " "}
    error = _error(native_id, data)
    assert (error.field, error.message) == ("metadata.creators[0].person_or_org.name", MISSING[1])

    native_id, data = _pick(payloads, RDM, "15482")
    data["metadata"]["references"][3]["scheme"] = {"id": "doi"}
    assert str(_error(native_id, data)) == "metadata.references[3].scheme: expected text, got dict"
