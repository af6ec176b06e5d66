"""HEPData record JSON → model, per field group, on the corpus submissions served by the replica.

Expected values come from the submission YAML read here directly: nothing the model can hold may be lost between
the submission, HEPData's record JSON and the mapped record.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from connectors.base import MappingError, RawRecord
from connectors.hepdata import HEPDataConnector
from ontology import IdentifierScheme, Record
from ontology.vocabulary import VOCAB_BASE
from sandbox.replicas.hepdata import HEPDataReplica
from sandbox.replicas.hepdata_generate import PROFILES
from sandbox.server import RunningSandbox, start

SUBMISSIONS = "hepdata/submission_format"
LHCB_DIR = f"{SUBMISSIONS}/ins1396331_LHCb"
BELLE_FILE = f"{SUBMISSIONS}/ins1512299_Belle_single_file/1512299.yaml"


@pytest.fixture(scope="module")
def sandbox(corpus: Path) -> Iterator[RunningSandbox]:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"hepdata": replica, "generated": HEPDataReplica.generated(60, seed=4)}) as running:
        yield running


def fetch(base: str, inspire: int | str, version: int | None = None) -> RawRecord:
    params = {"format": "json"} | ({"version": str(version)} if version else {})
    response = httpx.get(f"{base}/record/ins{inspire}", params=params, timeout=30)
    assert response.status_code == 200, response.text[:200]
    number = response.json()["version"]
    return RawRecord(f"ins{inspire}.v{number}", response.content, "application/json", str(response.url))


def mapped(base: str, inspire: int | str, version: int | None = None) -> Record:
    return HEPDataConnector.map_record(fetch(base, inspire, version), "hepdata")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) if d]


def keyword_values(tables: list[dict[str, Any]], name: str) -> list[str]:
    return list(dict.fromkeys(str(v) for t in tables for k in t.get("keywords", []) if k["name"] == name
                              for v in k["values"]))  # fmt: skip


def cut(text: str) -> str:
    """HEPData's record JSON cuts table descriptions to 20 words (records/utils/common.py truncate_string)."""
    words = text.split()
    return " ".join(words[:20]) + ("..." if len(words) > 20 else "")


@pytest.fixture(scope="module")
def lhcb(sandbox: RunningSandbox) -> Record:
    return mapped(sandbox.urls["hepdata"], 1396331)


@pytest.fixture(scope="module")
def belle(sandbox: RunningSandbox) -> Record:
    return mapped(sandbox.urls["hepdata"], 1512299)


@pytest.fixture(scope="module")
def lhcb_yaml(corpus: Path) -> list[dict[str, Any]]:
    return documents(corpus / LHCB_DIR / "submission.yaml")


@pytest.fixture(scope="module")
def belle_yaml(corpus: Path) -> list[dict[str, Any]]:
    return documents(corpus / BELLE_FILE)


# -- identity --------------------------------------------------------------------------------------------------------
def test_identity_one_record_per_hepdata_version(lhcb: Record, lhcb_yaml: list[dict[str, Any]]) -> None:
    inspire = next(str(r["id"]) for r in lhcb_yaml[0]["record_ids"] if r["type"] == "inspire")
    assert lhcb.native_id == f"ins{inspire}.v1" and lhcb.source == "hepdata"
    assert lhcb.id == "https://w3id.org/dmlake/record/hepdata/ins1396331.v1"
    assert lhcb.doi == "10.17182/hepdata.73066.v1"
    assert lhcb.identifier(IdentifierScheme.HEPDATA) == "73066"
    assert lhcb.identifier(IdentifierScheme.INSPIRE) == inspire
    assert lhcb.version == "1" and lhcb.is_new_version_of == []
    assert [(i.scheme, i.value) for i in lhcb.is_version_of] == [
        (IdentifierScheme.CONCEPT_DOI, "10.17182/hepdata.73066")
    ]
    assert lhcb.landing_page is not None and lhcb.landing_page.endswith("/record/ins1396331?version=1")


def test_the_paper_is_what_the_data_supplement(lhcb: Record, belle: Record) -> None:
    assert {(i.scheme, i.value) for i in lhcb.is_supplement_to} == {
        (IdentifierScheme.INSPIRE, "1396331"),
        (IdentifierScheme.ARXIV, "1510.01707"),
        (IdentifierScheme.DOI, "10.1007/JHEP03(2016)159"),
    }
    # nothing verifiable was found for the Belle paper beyond its INSPIRE id
    assert [(i.scheme, i.value) for i in belle.is_supplement_to] == [(IdentifierScheme.INSPIRE, "1512299")]


# -- description -----------------------------------------------------------------------------------------------------
def test_title_and_description(lhcb: Record, belle: Record, lhcb_yaml: list[dict[str, Any]]) -> None:
    assert lhcb.title.startswith("Measurements of prompt charm production cross-sections in $pp$ collisions")
    # the data abstract is the submission's comment, unescaped back from HEPData's HTML sanitising
    assert lhcb.description == lhcb_yaml[0]["comment"]
    # no INSPIRE title for the Belle record: the data abstract's first sentence names it
    assert belle.title.startswith("Unfolded differential decay rates of four kinematic variables")
    assert belle.title.endswith("are presented.")
    assert belle.description is not None and belle.description.endswith("Florian Bernlochner (Belle).")


def test_collaboration_experiment_and_creators(lhcb: Record, belle: Record) -> None:
    assert [(c.uri, c.raw) for c in lhcb.experiments] == [(f"{VOCAB_BASE}experiment/LHCb", "LHCb")]
    assert lhcb.collaboration == lhcb.experiments
    assert [(a.name, a.kind) for a in lhcb.creators] == [("LHCb Collaboration", "organization")]
    assert lhcb.accelerator is not None and lhcb.accelerator.uri == f"{VOCAB_BASE}accelerator/CERN-LHC"
    assert lhcb.publisher is not None and lhcb.publisher.name == "HEPData"
    assert belle.experiments == [] and belle.creators == []


def test_licence_access_and_dates(lhcb: Record) -> None:
    assert lhcb.license is not None and lhcb.license.uri == "http://spdx.org/licenses/CC0-1.0"
    assert lhcb.access_rights == "open"
    assert (lhcb.issued, lhcb.modified) == ("2020-07-15", "2020-07-15T00:00:00Z")


# -- physics ---------------------------------------------------------------------------------------------------------
def test_reactions_observables_and_energy(lhcb: Record, lhcb_yaml: list[dict[str, Any]]) -> None:
    tables = lhcb_yaml[1:]
    assert lhcb.reactions == keyword_values(tables, "reactions")
    assert [o.label for o in lhcb.observables] == keyword_values(tables, "observables")
    assert all(o.uri is None and o.raw == o.label for o in lhcb.observables)
    energies = {float(v) for v in keyword_values(tables, "energies")}
    assert energies == {13000.0}
    assert lhcb.collision is not None and lhcb.collision.sqrt_s is not None
    assert (lhcb.collision.sqrt_s.value, lhcb.collision.sqrt_s.unit) == (13000.0, "GeV")
    assert lhcb.collision.type is not None and lhcb.collision.type.uri == f"{VOCAB_BASE}collision-type/pp"
    assert lhcb.collision.type.raw == "P P"
    assert [m.uri for m in lhcb.messengers] == [f"{VOCAB_BASE}messenger/collider"]
    assert [t.uri for t in lhcb.detection_technique] == [f"{VOCAB_BASE}technique/collider-detector"]


def test_a_decay_has_no_colliding_beams(belle: Record, belle_yaml: list[dict[str, Any]]) -> None:
    tables = belle_yaml[1:]
    assert belle.reactions == keyword_values(tables, "reactions") == ["BBAR0 --> D*(2010)+ LEPTON- NUBAR"]
    assert [o.label for o in belle.observables] == ["WIDTH"]
    assert belle.keywords == keyword_values(tables, "phrases") == ["Decay", "Charm Production"]
    assert belle.collision is None and belle.energy_range is None
    assert [m.uri for m in belle.messengers] == [f"{VOCAB_BASE}messenger/collider"]


def test_hepdata_constants(lhcb: Record) -> None:
    assert lhcb.data_level is not None and lhcb.data_level.uri == f"{VOCAB_BASE}data-level/1"
    assert [c.uri for c in lhcb.resource_categories] == [f"{VOCAB_BASE}resource-category/data-table"]


# -- files -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["lhcb", "belle"])
def test_every_table_with_its_doi_and_formats(which: str, request: pytest.FixtureRequest) -> None:
    record: Record = request.getfixturevalue(which)
    source: list[dict[str, Any]] = request.getfixturevalue(f"{which}_yaml")[1:]
    tables = [d for d in record.distributions if d.role == "table"]
    recid = record.identifier(IdentifierScheme.HEPDATA)
    assert len(tables) == 7 * len(source)
    for position, table in enumerate(source, 1):
        files = [d for d in tables if d.identifiers[0].value == f"10.17182/hepdata.{recid}.v1/t{position}"]
        assert sorted(d.format or "" for d in files) == ["CSV", "JSON", "ROOT", "YAML", "YODA", "YODA-H5", "YODA1"]
        expected = cut(table["description"])
        if table.get("location"):
            expected = f"{table['location']}: {expected}"
        name = table["name"].replace(" ", "")
        for file in files:
            assert file.description == expected
            assert file.url is not None and f"/download/table/{record.native_id.split('.')[0]}/{name}/1/" in file.url
            assert file.availability.value == "online"
            assert file.access_url is not None and file.access_url.endswith(
                "&table=" + table["name"].replace(" ", "%20")
            )
        yaml_file = next(f for f in files if f.format == "YAML")
        assert yaml_file.name == f"HEPData-{record.native_id.split('.')[0]}-v1-{table['name'].replace(' ', '_')}.yaml"
    assert record.formats == ["CSV", "JSON", "ROOT", "YAML", "YODA", "YODA-H5", "YODA1"]


def test_submission_archives_and_resources(lhcb: Record, lhcb_yaml: list[dict[str, Any]]) -> None:
    archives = [d for d in lhcb.distributions if d.role == "data"]
    assert sorted(d.name for d in archives) == sorted(
        f"HEPData-ins1396331-v1-{f}.tar.gz" for f in ("csv", "root", "yaml", "yoda", "yoda-h5")
    )
    assert all(d.url is not None and "/download/submission/ins1396331/1/" in d.url for d in archives)
    assert lhcb.related_links == [r["location"] for r in lhcb_yaml[0]["additional_resources"]]


# -- versions and purity ---------------------------------------------------------------------------------------------
def test_a_new_version_links_back_and_leaves_the_old_one_as_it_was(corpus: Path) -> None:
    replica = HEPDataReplica.from_corpus(corpus)
    assert replica is not None
    with start({"hepdata": replica}) as running:
        base = running.urls["hepdata"]
        before = mapped(base, 1512299).content_dict()
        httpx.post(f"{base}/_sandbox/edit", json={"ids": ["ins1512299"]}, timeout=30)
        latest = mapped(base, 1512299)
        assert latest.native_id == "ins1512299.v2" and latest.doi == "10.17182/hepdata.9000001.v2"
        assert [i.value for i in latest.is_new_version_of] == ["10.17182/hepdata.9000001.v1"]
        assert [i.value for i in latest.is_version_of] == ["10.17182/hepdata.9000001"]
        assert all("/t" in d.identifiers[0].value and ".v2/" in d.identifiers[0].value
                   for d in latest.distributions if d.role == "table")  # fmt: skip
        after = mapped(base, 1512299, version=1).content_dict()
        after["provenance"]["source_url"] = before["provenance"]["source_url"]
        assert after == before


def test_the_mapper_is_a_pure_function_of_the_bytes(sandbox: RunningSandbox) -> None:
    first = fetch(sandbox.urls["hepdata"], 1396331)
    second = fetch(sandbox.urls["hepdata"], 1396331)
    assert first.payload != second.payload  # HEPData's access counter changes the page...
    one = HEPDataConnector.map_record(first, "hepdata")
    assert HEPDataConnector.map_record(first, "hepdata") == one
    assert HEPDataConnector.map_record(second, "hepdata").content_dict() == one.content_dict()  # ...not the record
    assert one.provenance.raw_sha256 != HEPDataConnector.map_record(second, "hepdata").provenance.raw_sha256


def test_generated_records_map_without_loss(sandbox: RunningSandbox) -> None:
    base = sandbox.urls["generated"]
    beams = {p.beams: p for p in PROFILES}
    expected_types = {"P P": "pp", "PB PB": "PbPb", "P PB": "pPb", "E+ P": "ep", "AU AU": "AuAu", "E+ E-": "ee",
                      "P PBAR": "ppbar"}  # fmt: skip
    seen = set()
    files_with_doi = 0
    for inspire in httpx.get(f"{base}/search/ids", params={"inspire_ids": "true"}, timeout=30).json():
        raw = fetch(base, inspire)
        page = json.loads(raw.payload)
        record = HEPDataConnector.map_record(raw, "generated")
        initial = record.reactions[0].split(" --> ")[0]
        assert initial in beams
        assert record.collision is not None and record.collision.type is not None
        assert record.collision.type.uri == f"{VOCAB_BASE}collision-type/{expected_types[initial]}"
        energies = page["record"]["data_keywords"]["cmenergies"]
        assert record.collision.sqrt_s is not None and record.collision.sqrt_s.value == energies[0]["gte"]
        assert len([d for d in record.distributions if d.role == "table"]) == 7 * len(page["data_tables"])
        assert record.version == str(page["version"]) and record.doi.endswith(f".v{page['version']}")
        auxiliary = [d for d in record.distributions if d.role == "auxiliary"]
        assert [d.identifiers[0].value for d in auxiliary] == [r["doi"] for r in page["resources_with_doi"]]
        seen.add(initial)
        files_with_doi += len(auxiliary)
    assert len(seen) >= 5 and files_with_doi > 0


# -- bad payloads ----------------------------------------------------------------------------------------------------
BAD: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "not a record page": (lambda d: d.pop("record"), "record"),
    "no version": (lambda d: d.pop("version"), "version"),
    "unfinished": (lambda d: d.update(status="todo"), "status"),
    "version past the count": (lambda d: d.update(version=3), "version"),
    "not an INSPIRE id": (lambda d: d["record"].update(inspire_id="abc"), "record.inspire_id"),
    "someone else's DOI": (lambda d: d["record"].update(hepdata_doi="10.17182/hepdata.1.v1"), "record.hepdata_doi"),
    "no DOI": (lambda d: d["record"].pop("hepdata_doi"), "record.hepdata_doi"),
    "bad date": (lambda d: d["record"].update(last_updated="yesterday"), "record.last_updated"),
    "no name at all": (lambda d: d["record"].update(title=None, data_abstract=""), "record.title"),
    "light page": (lambda d: d.pop("data_tables"), "data_tables"),
    "table without DOI": (lambda d: d["data_tables"][0].pop("doi"), "data_tables[0].doi"),
    "table with a bad DOI": (lambda d: d["data_tables"][1].update(doi="hepdata t2"), "data_tables[1].doi"),
    "table without URLs": (lambda d: d["data_tables"][0].update(data={}), "data_tables[0].data"),
    "energy as text": (
        lambda d: d["record"]["data_keywords"].update(cmenergies=[{"gte": "13 TeV", "lte": 13}]),
        "record.data_keywords.cmenergies[0]",
    ),
    "energy range upside down": (
        lambda d: d["record"]["data_keywords"].update(cmenergies=[{"gte": 900.0, "lte": 100.0}]),
        "record.data_keywords.cmenergies[0]",
    ),
    "reactions not a list": (
        lambda d: d["record"]["data_keywords"].update(reactions={"a": 1}),
        "record.data_keywords.reactions",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_payloads_name_the_field(case: str, sandbox: RunningSandbox) -> None:
    raw = fetch(sandbox.urls["hepdata"], 1396331)
    document = orjson.loads(raw.payload)
    change, field = BAD[case]
    broken = copy.deepcopy(document)
    change(broken)
    bad = RawRecord(raw.native_id, orjson.dumps(broken), raw.media_type, raw.url)
    with pytest.raises(MappingError) as caught:
        HEPDataConnector.map_record(bad, "hepdata")
    assert caught.value.field == field, caught.value


def test_not_json_and_wrong_native_id(sandbox: RunningSandbox) -> None:
    raw = fetch(sandbox.urls["hepdata"], 1396331)
    with pytest.raises(MappingError) as caught:
        HEPDataConnector.map_record(RawRecord(raw.native_id, b"<html>", "text/html", raw.url), "hepdata")
    assert caught.value.field == "payload"
    with pytest.raises(MappingError) as caught:
        HEPDataConnector.map_record(RawRecord("ins1396331.v2", raw.payload, raw.media_type, raw.url), "hepdata")
    assert caught.value.field == "native_id" and "ins1396331.v1" in caught.value.message
